//! `softobj conform` end to end on a small external port (`tests/conform/port.sh`: the oracle
//! with one bug planted by name), and `softobj check CASES/ ANSWERS/ --summary`'s attribution.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::cli::{assert_refused, expect, p, softobj, text};
use serde_json::Value;
use soft_objectness::{Case, Limits};

/// The port command for `bug`.
fn port(bug: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conform/port.sh");
    format!(
        "sh '{}' '{}' {bug} {{case}} {{answer}}",
        script.display(),
        env!("CARGO_BIN_EXE_softobj")
    )
}

/// `softobj conform --port PORT(bug) --count 8` with `extra`; (exit code, stdout).
fn conform(bug: &str, extra: &[&str]) -> (Option<i32>, String) {
    conform_n(bug, 8, extra)
}

/// `softobj conform --port PORT(bug) --count COUNT` with `extra`; (exit code, stdout).
fn conform_n(bug: &str, count: u64, extra: &[&str]) -> (Option<i32>, String) {
    let port = port(bug);
    let count = count.to_string();
    let mut args = vec!["conform", "--port", &port, "--count", &count, "--seed", "3"];
    args.extend(extra);
    let out = softobj(&args);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code(), text(&out.stdout))
}

#[test]
fn a_correct_port_conforms() {
    let (code, out) = conform("none", &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("all 58 cases conform (f64 preset)\n"),
        "{out}"
    );
}

#[test]
fn a_planted_bug_is_named_and_its_smallest_case_written() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("minimal");
    let (code, out) = conform("focal", &["--out", p(&out_dir)]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("  suspect: fails on 4/4 cases with hyp.fl_gamma > 0 and on 0/54 without\n"),
        "{out}"
    );
    assert!(
        out.contains("smallest: 1 image, 0 boxes, 1 layer of 1x1 cells"),
        "{out}"
    );
    let file = out_dir.join("minimal-1.json");
    assert!(out.contains(&format!("wrote {}", file.display())), "{out}");
    let case = Case::load(&file, &Limits::default()).unwrap();
    assert_eq!(case.config.hyp.fl_gamma, 1.5);
    assert_eq!(case.inputs.batch_size(), 1);
    // The minimal case still fails, by `softobj check` too.
    let answer = dir.path().join("answer.json");
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            port("focal")
                .replace("{case}", p(&file))
                .replace("{answer}", p(&answer)),
        )
        .status()
        .unwrap();
    assert!(run.success());
    expect(&["check", p(&file), p(&answer), "--summary"], 1);
    // Without --force, an existing minimal case stops the run before it starts.
    let refused = softobj(&["conform", "--port", &port("focal"), "--out", p(&out_dir)]);
    assert_refused(&refused, &["minimal-1.json", "--force"]);
}

#[test]
fn crashes_garbage_and_hangs_are_failing_cases() {
    let (code, out) = conform_n("crash", 40, &["--shrink"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("): the port raised IndexError\n"), "{out}");
    assert!(
        out.contains("the port raised IndexError: index 1 is out of bounds"),
        "{out}"
    );
    assert!(out.contains("with nc = 1 and on 0/"), "{out}");
    assert!(
        out.contains("; the port raised IndexError (shrunk from"),
        "{out}"
    );
    let (code, out) = conform("garbage", &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("): the port's answer is malformed\n"), "{out}");
    assert!(out.contains("with ciou = v7.0 and on 0/"), "{out}");
    let t0 = Instant::now();
    let (code, out) = conform("hang", &["--timeout", "0.3", "--shrink"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("): the port timed out\n"), "{out}");
    assert!(out.contains("with autobalance = true and on 0/"), "{out}");
    assert!(
        !out.contains("smallest:"),
        "timed-out groups are not shrunk: {out}"
    );
    // 6 autobalance cases of 0.3 s each, not 30 s each: the sleeping child was killed.
    assert!(t0.elapsed().as_secs() < 20, "{:?}", t0.elapsed());
}

#[test]
fn json_and_partial_ports() {
    let (code, out) = conform("focal", &["--json", "--only", "lbox,lobj", "--f32"]);
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["only"], serde_json::json!(["lbox", "lobj"]));
    assert_eq!(v["tolerances"]["rtol"], 2e-5);
    assert_eq!(
        v["suspects"][0]["keys"],
        serde_json::json!(["hyp.fl_gamma"])
    );
    assert_eq!(v["cases"].as_array().unwrap().len(), 58);
}

#[test]
fn bad_input_is_refused() {
    let port = port("none");
    for (args, needle) in [
        (vec!["--where", "assigner=soft,nl=9"], "space.nl"),
        (vec!["--timeout", "0"], "--timeout"),
        (vec!["--only", "gradient"], "gradient"),
        (vec!["--rtol=-1"], "tolerances.rtol"),
    ] {
        let mut all = vec!["conform", "--port", &port];
        all.extend(args);
        assert_refused(&softobj(&all), &[needle]);
    }
}

/// Writes the answers of `bug`'s port to every case of `cases` into `answers`.
fn answers(bug: &str, cases: &Path, answers: &Path) {
    std::fs::create_dir_all(answers).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let a = answers.join(f.file_name().unwrap());
        let cmd = port(bug)
            .replace("{case}", p(&f))
            .replace("{answer}", p(&a));
        let ok = std::process::Command::new("sh").arg("-c").arg(cmd).status();
        assert!(ok.unwrap().success());
    }
}

#[test]
fn check_summary_attributes_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (cases, ans) = (dir.path().join("cases"), dir.path().join("answers"));
    expect(&["gen", "--out", p(&cases), "--edge", "--seed", "2"], 0);
    answers("focal", &cases, &ans);
    let out = expect(&["check", p(&cases), p(&ans), "--summary"], 1);
    assert!(
        out.contains("checked 50 cases: 48 conform, 2 do not conform, 0 could not be checked\n"),
        "{out}"
    );
    assert!(
        out.contains("suspect: fails on 2/2 cases with hyp.fl_gamma > 0 and on 0/48 without"),
        "{out}"
    );
    assert!(
        out.contains("edge-33-focal: does not conform: fails lobj"),
        "{out}"
    );
    let json = expect(&["check", p(&cases), p(&ans), "--summary", "--json"], 1);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["attribution"]["suspects"][0]["feature"],
        "hyp.fl_gamma > 0"
    );
}
