//! `softobj eval` and `softobj check` conventions, through the binary: `-` for standard input,
//! compact JSON by default (`--pretty`), `--out` (old spelling `--out-dir`), `--max-json-bytes`
//! for check, answers whose non-finite values fail (exit 1) while type errors name the field
//! (exit 2), warnings on stderr, failure patterns in the text report, `--summary` and `--only`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/soft_default.json");

/// Runs `softobj ARGS`, feeding `stdin` when given.
fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_softobj"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        // A command that refuses its arguments ends without reading: a closed pipe then.
        let _ = input.write_all(bytes);
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `softobj ARGS` must exit with `code`; returns (stdout, stderr).
fn expect(args: &[&str], stdin: Option<&[u8]>, code: i32) -> (String, String) {
    let out = run(args, stdin);
    let (o, e) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout: {o}\nstderr: {e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    (o, e)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The oracle's answer to the fixture, as a JSON value.
fn oracle() -> serde_json::Value {
    serde_json::from_str(&expect(&["eval", FIXTURE], None, 0).0).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn eval_prints_compact_json_by_default_and_indented_with_pretty() {
    let (compact, _) = expect(&["eval", FIXTURE], None, 0);
    let (pretty, _) = expect(&["eval", FIXTURE, "--pretty"], None, 0);
    let (old_flag, _) = expect(&["eval", FIXTURE, "--compact"], None, 0);
    assert_eq!(compact.lines().count(), 1);
    assert!(pretty.lines().count() > 100 && pretty.contains("\n  \"loss\""));
    assert_eq!(old_flag, compact);
    let a: serde_json::Value = serde_json::from_str(&compact).unwrap();
    let b: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    assert_eq!(a, b);
    assert!(pretty.len() > compact.len());
}

#[test]
fn eval_writes_a_folder_with_out_and_its_old_spelling() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--out", "--out-dir"] {
        let out = dir.path().join(flag.trim_start_matches('-'));
        let (listed, _) = expect(&["eval", FIXTURE, flag, p(&out)], None, 0);
        assert!(listed.lines().next().unwrap().ends_with("answer.json"));
        expect(&["check", FIXTURE, p(&out)], None, 0);
    }
    let (help, _) = expect(&["eval", "--help"], None, 0);
    assert!(
        help.contains("--out <DIR>") && help.contains("out-dir"),
        "{help}"
    );
    assert!(
        help.contains("<CASE>") && help.contains("--pretty"),
        "{help}"
    );
    let (help, _) = expect(&["check", "--help"], None, 0);
    assert!(help.contains("<CASE> <ANSWER>"), "{help}");
    assert!(help.contains("--max-json-bytes"), "{help}");
}

#[test]
fn a_dash_reads_the_case_or_the_answer_from_standard_input() {
    let case = std::fs::read(FIXTURE).unwrap();
    let (from_stdin, _) = expect(&["eval", "-"], Some(&case), 0);
    let (from_file, _) = expect(&["eval", FIXTURE], None, 0);
    assert_eq!(from_stdin, from_file);
    // check: the case from stdin, or the answer from stdin.
    let dir = tempfile::tempdir().unwrap();
    let answer = write(dir.path(), "answer.json", &from_file);
    let (o, _) = expect(&["check", "-", p(&answer)], Some(&case), 0);
    assert!(o.contains("result: conforms"), "{o}");
    let (o, _) = expect(&["check", FIXTURE, "-"], Some(from_file.as_bytes()), 0);
    assert!(o.contains("result: conforms"), "{o}");
    // Not both.
    let (_, e) = expect(&["check", "-", "-"], Some(&case), 2);
    assert!(e.contains("standard input"), "{e}");
}

#[test]
fn check_honours_max_json_bytes_for_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let case_size = std::fs::metadata(FIXTURE).unwrap().len() as usize;
    // The answer padded with trailing blanks to outgrow the case.
    let padded = expect(&["eval", FIXTURE], None, 0).0 + &" ".repeat(case_size);
    let answer = write(dir.path(), "a.json", &padded);
    let limit = (case_size + 1).to_string();
    let (o, e) = expect(
        &["check", FIXTURE, p(&answer), "--max-json-bytes", &limit],
        None,
        2,
    );
    assert!(o.is_empty());
    assert!(
        e.starts_with("softobj: error: ") && e.contains("a.json") && e.contains(&limit),
        "{e}"
    );
    let enough = padded.len().to_string();
    expect(
        &["check", FIXTURE, p(&answer), "--max-json-bytes", &enough],
        None,
        0,
    );
    // Through standard input as well.
    let (_, e) = expect(
        &["check", FIXTURE, "-", "--max-json-bytes", &limit],
        Some(padded.as_bytes()),
        2,
    );
    assert!(e.contains("standard input") && e.contains(&limit), "{e}");
}

#[test]
fn a_non_finite_answer_value_does_not_conform_and_a_type_error_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let good = expect(&["eval", FIXTURE], None, 0).0;
    // NaN loss: a value, judged (exit 1), the field named.
    let nan = good.replacen("\"loss\":", "\"loss\":NaN,\"was\":", 1);
    let answer = write(dir.path(), "nan.json", &nan);
    let (o, e) = expect(&["check", FIXTURE, p(&answer)], None, 1);
    assert!(o.contains("does not conform: fails loss"), "{o}");
    // The unknown key `was` earns a warning naming it.
    assert!(
        e.contains("softobj: warning: unknown top-level key `was` of the answer"),
        "{e}"
    );
    // A NaN in the gradient fails grad.
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v["grad"][0]["data"][0] = serde_json::json!("NAN_HERE");
    let with_nan = v.to_string().replace("\"NAN_HERE\"", "NaN");
    let answer = write(dir.path(), "grad_nan.json", &with_nan);
    let (o, _) = expect(&["check", FIXTURE, p(&answer)], None, 1);
    assert!(o.contains("fails grad"), "{o}");
    // A count of the wrong type: unreadable, the field named in the crate's words.
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v["counts"][0]["positive"] = serde_json::json!(31.5);
    let answer = write(dir.path(), "bad.json", &v.to_string());
    let (o, e) = expect(&["check", FIXTURE, p(&answer)], None, 2);
    assert!(o.is_empty());
    assert!(
        e.contains("answer.counts[0].positive: expected a non-negative integer, got 31.5"),
        "{e}"
    );
    v["counts"][0]["positive"] = serde_json::json!(3);
    v["loss"] = serde_json::json!("x");
    let answer = write(dir.path(), "bad2.json", &v.to_string());
    let (_, e) = expect(&["check", FIXTURE, p(&answer)], None, 2);
    assert!(
        e.contains("answer.loss: expected a number, got string \"x\""),
        "{e}"
    );
}

#[test]
fn case_warnings_are_printed_by_eval_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    v["expectd"] = serde_json::json!(null);
    let case = write(dir.path(), "case.json", &v.to_string());
    let (_, e) = expect(&["eval", p(&case)], None, 0);
    assert!(
        e.contains("softobj: warning: ") && e.contains("`expectd`"),
        "{e}"
    );
    let (_, e) = expect(&["check", p(&case), FIXTURE], None, 0);
    assert!(
        e.contains("softobj: warning: ") && e.contains("`expectd`"),
        "{e}"
    );
}

#[test]
fn the_text_report_names_the_pattern_and_shows_the_worst() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = oracle();
    for layer in v["grad"].as_array_mut().unwrap() {
        let no = layer["shape"][4].as_u64().unwrap() as usize;
        for (k, x) in layer["data"].as_array_mut().unwrap().iter_mut().enumerate() {
            if k % no == 4 {
                *x = serde_json::json!(x.as_f64().unwrap() * 2.0);
            }
        }
    }
    let answer = write(dir.path(), "x2.json", &v.to_string());
    let (o, _) = expect(&["check", FIXTURE, p(&answer)], None, 1);
    assert!(
        o.contains("looks like: grad obj off by a constant factor 2"),
        "{o}"
    );
    assert!(o.contains("worst grad layer "), "{o}");
    assert!(
        o.contains("grad failures by layer and channel: layer 0 obj"),
        "{o}"
    );
    assert!(o.contains(", logit "), "{o}");
    assert!(
        o.contains("the largest |want| of the whole gradient"),
        "{o}"
    );
    let (j, _) = expect(&["check", FIXTURE, p(&answer), "--json"], None, 1);
    let j: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(j["report"]["patterns"][0]["channel"], "obj");
    assert!(j["report"]["fields"][6]["relative_to"].as_f64().unwrap() > 0.0);
    assert!(j["report"]["fields"][6]["first_failures"][0]["logit"].is_number());
}

#[test]
fn only_checks_part_of_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = oracle();
    let obj = v.as_object_mut().unwrap();
    for k in ["loss", "lbox", "lobj", "lcls", "grad"] {
        obj.remove(k);
    }
    let answer = write(dir.path(), "partial.json", &v.to_string());
    let (o, _) = expect(&["check", FIXTURE, p(&answer)], None, 1);
    assert!(
        o.contains("missing (required): loss, lbox, lobj, lcls, grad"),
        "{o}"
    );
    let (o, _) = expect(
        &["check", FIXTURE, p(&answer), "--only", "tobj,counts"],
        None,
        0,
    );
    assert!(
        o.contains("checked only: tobj, counts") && o.contains("result: conforms"),
        "{o}"
    );
    let (_, e) = expect(
        &["check", FIXTURE, p(&answer), "--only", "tobj,gradient"],
        None,
        2,
    );
    assert!(e.contains("--only") && e.contains("gradient"), "{e}");
}

#[test]
fn summary_prints_one_line_a_case_and_the_totals() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, answers) = (dir.path().join("cases"), dir.path().join("answers"));
    std::fs::create_dir_all(&answers).unwrap();
    expect(
        &["gen", "--out", p(&cases), "--count", "3", "--seed", "5"],
        None,
        0,
    );
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    for (k, stem) in names.iter().enumerate() {
        let case = cases.join(format!("{stem}.json"));
        let mut answer = expect(&["eval", p(&case)], None, 0).0;
        if k == 1 {
            answer = answer.replacen("\"loss\":", "\"loss\":1e9,\"was_loss\":", 1);
        }
        write(&answers, &format!("{stem}.json"), &answer);
    }
    let (o, _) = expect(&["check", p(&cases), p(&answers), "--summary"], None, 1);
    let lines: Vec<&str> = o.lines().collect();
    // The verdicts, the totals, then the failures grouped (too few cases to attribute).
    assert_eq!(lines[4], "group 1 (1 case): fails loss", "{o}");
    assert_eq!(
        lines[5], "  suspect: none (too few cases to attribute; run more)",
        "{o}"
    );
    assert_eq!(lines[0], format!("{}: conforms", names[0]));
    assert!(
        lines[1].starts_with(&format!("{}: does not conform: fails loss", names[1])),
        "{o}"
    );
    assert_eq!(
        lines[3],
        "checked 3 cases: 2 conform, 1 do not conform, 0 could not be checked"
    );
    // One case: the verdict line alone.
    let one = cases.join(format!("{}.json", names[0]));
    let (o, _) = expect(
        &[
            "check",
            p(&one),
            p(&answers.join(format!("{}.json", names[0]))),
            "--summary",
        ],
        None,
        0,
    );
    assert_eq!(o.trim_end(), format!("{}: conforms", one.display()));
}
