//! `softobj check`, `gen`, `plot` and `eval --out-dir` end to end, through the binary.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::cli::{expect, p, softobj, text};
use serde_json::Value;
use soft_objectness::{Assigner, Case, Limits};

/// Generates `count` small random cases with `seed` into `dir`, all of one shape (3 layers of
/// 3 anchors, 2 images of 64x64, 3 classes); returns their paths.
fn gen_cases(dir: &Path, count: u64, seed: u64) -> Vec<PathBuf> {
    expect(
        &[
            "gen",
            "--out",
            p(dir),
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
            "--where",
            "nl=3,na=3,batch=2,image=64x64,nc=3",
        ],
        0,
    );
    (0..count)
        .map(|k| dir.join(format!("case-{k:03}.json")))
        .collect()
}

/// The oracle's JSON answer to a case.
fn oracle(case: &Path) -> Value {
    serde_json::from_str(&expect(&["eval", p(case), "--compact"], 0)).unwrap()
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string(v).unwrap()).unwrap();
}

/// The flat index of the largest |value| of a layer array.
fn argmax_abs(data: &[Value]) -> usize {
    (0..data.len())
        .max_by(|&i, &j| {
            data[i]
                .as_f64()
                .unwrap()
                .abs()
                .total_cmp(&data[j].as_f64().unwrap().abs())
        })
        .unwrap()
}

#[test]
fn check_accepts_the_oracles_own_answer() {
    let dir = tempfile::tempdir().unwrap();
    let case = &gen_cases(dir.path(), 1, 11)[0];
    let answer = dir.path().join("answer.json");
    write_json(&answer, &oracle(case));
    let out = expect(&["check", p(case), p(&answer)], 0);
    assert!(out.contains("result: conforms"), "{out}");
    assert!(out.contains("f64 preset"), "{out}");
    // Also as a folder written by eval --out-dir, and with --f32 and --json.
    let folder = dir.path().join("out");
    expect(&["eval", p(case), "--out-dir", p(&folder)], 0);
    expect(&["check", p(case), p(&folder)], 0);
    expect(&["check", p(case), p(&folder), "--f32"], 0);
    let v: Value =
        serde_json::from_str(&expect(&["check", p(case), p(&answer), "--json"], 0)).unwrap();
    assert_eq!(v["conforms"], true);
    assert_eq!(v["report"]["fields"].as_array().unwrap().len(), 11);
}

#[test]
fn check_accepts_a_case_with_expected_as_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    expect(
        &[
            "gen",
            "--out",
            p(dir.path()),
            "--count",
            "2",
            "--with-expected",
        ],
        0,
    );
    let case = dir.path().join("case-001.json");
    expect(&["check", p(&case), p(&case)], 0);
}

#[test]
fn check_rejects_one_gradient_component_off_by_one_percent() {
    let dir = tempfile::tempdir().unwrap();
    let case = &gen_cases(dir.path(), 1, 12)[0];
    let mut v = oracle(case);
    // Any component, not only the largest: the tolerance is 1e-10 of the largest.
    for layer in [0usize, 2] {
        let mut bad = v.clone();
        let data = bad["grad"][layer]["data"].as_array_mut().unwrap();
        let k = if layer == 0 {
            argmax_abs(data)
        } else {
            data.iter()
                .position(|x| x.as_f64().unwrap() != 0.0)
                .unwrap()
        };
        let x = data[k].as_f64().unwrap();
        data[k] = Value::from(x * 1.01);
        let answer = dir.path().join(format!("bad{layer}.json"));
        write_json(&answer, &bad);
        let out = expect(&["check", p(case), p(&answer)], 1);
        assert!(
            out.contains("result: does not conform: fails grad"),
            "{out}"
        );
        assert!(out.contains(&format!("grad layer {layer} (image")), "{out}");
    }
    // A relative change of 1e-6 is within the f32 budget but not the f64 one.
    let data = v["grad"][1]["data"].as_array_mut().unwrap();
    let k = argmax_abs(data);
    let x = data[k].as_f64().unwrap();
    data[k] = Value::from(x * (1.0 + 1e-6));
    let answer = dir.path().join("noisy.json");
    write_json(&answer, &v);
    expect(&["check", p(case), p(&answer)], 1);
    expect(&["check", p(case), p(&answer), "--f32"], 0);
    expect(&["check", p(case), p(&answer), "--grad-rtol", "1e-5"], 0);
}

#[test]
fn check_rejects_one_tobj_cell_changing_class() {
    let dir = tempfile::tempdir().unwrap();
    let case = &gen_cases(dir.path(), 1, 13)[0];
    let v = oracle(case);
    let layers = v["tobj"].as_array().unwrap().len();
    let (l, k) = (0..layers)
        .find_map(|l| {
            let d = v["tobj"][l]["data"].as_array().unwrap();
            d.iter()
                .position(|x| x.as_f64() == Some(1.0))
                .map(|k| (l, k))
        })
        .expect("a positive cell");
    let mut bad = v.clone();
    bad["tobj"][l]["data"][k] = Value::from(1.0 - 1e-7);
    let answer = dir.path().join("flip.json");
    write_json(&answer, &bad);
    // Within the f32 absolute tolerance, but the cell became soft: still a failure.
    let out = expect(&["check", p(case), p(&answer), "--f32"], 1);
    assert!(
        out.contains("tobj class changes (oracle -> answer): positive -> soft 1"),
        "{out}"
    );
    assert!(out.contains(&format!("tobj layer {l} (image")), "{out}");
    assert!(out.contains("(positive -> soft)"), "{out}");
}

#[test]
fn check_reports_missing_fields() {
    let dir = tempfile::tempdir().unwrap();
    let case = &gen_cases(dir.path(), 1, 14)[0];
    let mut v = oracle(case);
    v.as_object_mut().unwrap().remove("grad");
    v.as_object_mut().unwrap().remove("matched");
    let answer = dir.path().join("partial.json");
    write_json(&answer, &v);
    let out = expect(&["check", p(case), p(&answer)], 1);
    assert!(out.contains("missing (required): grad"), "{out}");
    assert!(out.contains("not given (optional): matched"), "{out}");
}

#[test]
fn check_exits_2_on_bad_input_with_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let case = &gen_cases(dir.path(), 1, 15)[0];
    let good = dir.path().join("good.json");
    write_json(&good, &oracle(case));
    let d = dir.path();
    std::fs::write(d.join("malformed.json"), "{\"loss\": 1.0,").unwrap();
    std::fs::write(d.join("array.json"), "[1, 2]").unwrap();
    std::fs::write(d.join("wrong-type.json"), "{\"loss\": \"high\"}").unwrap();
    std::fs::write(
        d.join("bad-tobj.json"),
        "{\"tobj\": [{\"shape\": [2], \"data\": [1]}]}",
    )
    .unwrap();
    std::fs::write(
        d.join("missing-npy.json"),
        "{\"grad\": [{\"npy\": \"nope.npy\"}]}",
    )
    .unwrap();
    std::fs::write(
        d.join("bad-case.json"),
        "{\"format\": \"soft-objectness-case/1\"}",
    )
    .unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec![p(case).into(), p(&d.join("malformed.json")).into()],
        vec![p(case).into(), p(&d.join("array.json")).into()],
        vec![p(case).into(), p(&d.join("wrong-type.json")).into()],
        vec![p(case).into(), p(&d.join("bad-tobj.json")).into()],
        vec![p(case).into(), p(&d.join("missing-npy.json")).into()],
        vec![p(case).into(), p(&d.join("no-such-file.json")).into()],
        vec![p(&d.join("bad-case.json")).into(), p(&good).into()],
        vec![p(&d.join("malformed.json")).into(), p(&good).into()],
        vec![
            p(case).into(),
            p(&good).into(),
            "--rtol".into(),
            "-1".into(),
        ],
        vec![
            p(case).into(),
            p(&good).into(),
            "--grad-rtol".into(),
            "nan".into(),
        ],
        vec![p(case).into()],
    ];
    for args in cases {
        let mut full = vec!["check"];
        full.extend(args.iter().map(String::as_str));
        let out = softobj(&full);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{full:?}: {}",
            text(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "{full:?} printed {}",
            text(&out.stdout)
        );
        assert!(!out.stderr.is_empty(), "{full:?}: no message");
    }
    // The message names the field.
    let out = softobj(&["check", p(case), p(&d.join("bad-tobj.json"))]);
    assert!(
        text(&out.stderr).contains("answer.tobj[0]"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_folders_of_cases_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    let answers = dir.path().join("answers");
    std::fs::create_dir_all(&answers).unwrap();
    expect(&["gen", "--out", p(&cases), "--edge", "--seed", "3"], 0);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 40, "{} edge cases", names.len());
    // Half the answers as JSON files, half as --out-dir folders.
    for (k, case) in names.iter().enumerate() {
        let stem = case.file_stem().unwrap().to_str().unwrap();
        if k % 2 == 0 {
            write_json(&answers.join(format!("{stem}.json")), &oracle(case));
        } else {
            expect(&["eval", p(case), "--out-dir", p(&answers.join(stem))], 0);
        }
    }
    let out = expect(&["check", p(&cases), p(&answers)], 0);
    let last = out.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "checked {n} cases: {n} conform, 0 do not conform, 0 could not be checked",
            n = names.len()
        )
    );
    // One wrong answer: exit 1 and its report; a missing answer: exit 2.
    let first = names[0].file_stem().unwrap().to_str().unwrap().to_string();
    let mut v = oracle(&names[0]);
    v["loss"] = Value::from(v["loss"].as_f64().unwrap() * (1.0 + 1e-9));
    write_json(&answers.join(format!("{first}.json")), &v);
    let out = expect(&["check", p(&cases), p(&answers)], 1);
    assert!(
        out.contains(&format!("{first}: does not conform: fails loss")),
        "{out}"
    );
    std::fs::remove_file(answers.join(format!("{first}.json"))).unwrap();
    let out = expect(&["check", p(&cases), p(&answers)], 2);
    assert!(out.contains("1 could not be checked"), "{out}");
}

fn read_dir_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn gen_is_deterministic_and_its_cases_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [
        vec![],
        vec!["--edge"],
        vec!["--npy", "--with-expected", "--count", "3"],
    ] {
        let runs: Vec<Vec<(String, Vec<u8>)>> = ["a", "b"]
            .iter()
            .map(|r| {
                let out = dir.path().join(format!("{r}{}", extra.len()));
                let mut args = vec!["gen", "--out", p(&out), "--seed", "42"];
                args.extend(extra.iter().copied());
                expect(&args, 0);
                read_dir_bytes(&out)
            })
            .collect();
        assert!(!runs[0].is_empty());
        assert_eq!(runs[0], runs[1], "gen {extra:?} is not byte-identical");
        let out = dir.path().join(format!("a{}", extra.len()));
        for (name, _) in &runs[0] {
            if name.ends_with(".json") {
                let case = out.join(name);
                let answer = expect(&["eval", p(&case), "--compact"], 0);
                assert!(answer.contains("\"loss\""));
                if extra.contains(&"--with-expected") {
                    expect(&["check", p(&case), p(&case)], 0);
                }
            }
        }
    }
    // Another seed gives other cases.
    let a = dir.path().join("s1");
    let b = dir.path().join("s2");
    expect(&["gen", "--out", p(&a), "--count", "2", "--seed", "1"], 0);
    expect(&["gen", "--out", p(&b), "--count", "2", "--seed", "2"], 0);
    assert_ne!(read_dir_bytes(&a), read_dir_bytes(&b));
    // Bad options: exit 2, nothing on stdout.
    for args in [
        vec!["gen", "--out", p(&a), "--where", "image=100x64"],
        vec!["gen", "--out", p(&a), "--where", "image=64"],
        vec!["gen", "--out", p(&a), "--edge", "--count", "3"],
        vec!["gen", "--out", p(&a), "--edge", "--where", "nl=1"],
        vec!["gen", "--out", p(&a), "--where", "batch=0"],
        vec!["gen", "--out", p(&a), "--where", "hyp.gamma=1"],
        vec!["gen", "--out", p(&a), "--where", "distance=manhattan"],
    ] {
        let out = softobj(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // The error names the key, its value and what it accepts.
    let out = softobj(&["gen", "--out", p(&a), "--where", "distance=manhattan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "space.distance: unknown value `manhattan` (accepted: cell_index, continuous, diagonal)"
        ),
        "{err}"
    );
    // Restricted: every case in the space.
    let w = dir.path().join("where");
    expect(
        &[
            "gen",
            "--out",
            p(&w),
            "--count",
            "6",
            "--where",
            "assigner=yolov5,nl=2,na=1|3,batch=1",
        ],
        0,
    );
    for (name, _) in read_dir_bytes(&w) {
        let case = Case::load(w.join(&name), &Limits::default()).unwrap();
        assert_eq!(case.config.assigner, Assigner::Yolov5, "{name}");
        assert_eq!(case.config.nl(), 2, "{name}");
        assert!([1, 3].contains(&case.config.na()), "{name}");
        assert_eq!(case.inputs.batch_size(), 1, "{name}");
    }
}

#[test]
fn eval_out_dir_on_a_large_case() {
    // 4 images of 640x640 with 80 classes: 8.5 million prediction values, 8.5 million gradient
    // values (a quarter of the default batch), through .npy both ways.
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    let t0 = Instant::now();
    expect(
        &[
            "gen",
            "--out",
            p(&cases),
            "--count",
            "1",
            "--where",
            "image=640x640,batch=4,nc=80,nl=3,na=3",
            "--npy",
            "--seed",
            "5",
        ],
        0,
    );
    let t_gen = t0.elapsed();
    let case = cases.join("case-000.json");
    assert!(
        std::fs::metadata(&case).unwrap().len() < 64 * 1024,
        "the JSON holds only references"
    );
    let out = dir.path().join("answer");
    let t1 = Instant::now();
    let listed = expect(&["eval", p(&case), "--out-dir", p(&out)], 0);
    let t_eval = t1.elapsed();
    assert_eq!(listed.lines().count(), 7, "{listed}");
    let grad0 = std::fs::metadata(out.join("grad_0.npy")).unwrap().len();
    let data = 4 * 3 * 80 * 80 * 85 * 8;
    assert!(
        grad0 > data && grad0 - data <= 4096,
        "grad_0.npy: header + f64 data, {grad0} bytes"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("answer.json")).unwrap()).unwrap();
    assert_eq!(v["grad"][0]["npy"], "grad_0.npy");
    assert_eq!(v["tobj"][2]["npy"], "tobj_2.npy");
    for key in [
        "loss",
        "lbox",
        "lobj",
        "lcls",
        "counts",
        "hard_loss",
        "soft_loss",
        "balance",
        "matched",
    ] {
        assert!(v.get(key).is_some(), "answer.json lacks {key}");
    }
    let t2 = Instant::now();
    let report = expect(&["check", p(&case), p(&out)], 0);
    let t_check = t2.elapsed();
    assert!(report.contains("result: conforms"), "{report}");
    eprintln!("gen {t_gen:.2?}, eval --out-dir {t_eval:.2?}, check {t_check:.2?}");
    // Generous bounds for a 2-core CI machine (measured locally: well under a second each).
    assert!(t_eval.as_secs() < 60 && t_check.as_secs() < 60);
}

#[cfg(feature = "plot")]
mod plot {
    use super::*;

    /// Decodes a PNG: (width, height, distinct colours).
    fn decode(path: &Path) -> (u32, u32, usize) {
        let file = std::fs::File::open(path).unwrap();
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let bytes = &buf[..info.buffer_size()];
        let px = info.color_type.samples();
        let mut colours: Vec<&[u8]> = bytes.chunks(px).collect();
        colours.sort();
        colours.dedup();
        (info.width, info.height, colours.len())
    }

    #[test]
    fn plot_writes_readable_pngs_and_svgs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fig");
        let listed = expect(&["plot", "--out", p(&out)], 0);
        let expected = [
            ("score", 1400, 560),
            ("soft-losses", 1500, 540),
            ("tobj-image0", 3 * 350 + 300, 3 * 350 + 56),
            ("tobj-image1", 3 * 350 + 300, 3 * 350 + 56),
        ];
        assert_eq!(listed.lines().count(), 2 * expected.len(), "{listed}");
        for (stem, w, h) in expected {
            let (pw, ph, colours) = decode(&out.join(format!("{stem}.png")));
            assert_eq!((pw, ph), (w, h), "{stem}.png size");
            // Lines, text (anti-aliased glyphs) and heatmaps use many colours.
            assert!(colours > 50, "{stem}.png uses only {colours} colours");
            let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{stem}.svg"
            );
            assert!(svg.contains("<text"), "{stem}.svg has no text");
        }
        // The committed figures are current (regenerate: softobj plot --out docs/figures --images 1).
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/figures");
        for name in [
            "score.png",
            "score.svg",
            "soft-losses.png",
            "soft-losses.svg",
        ] {
            let fresh = std::fs::read(out.join(name)).unwrap();
            let old = std::fs::read(committed.join(name)).unwrap();
            assert!(
                fresh == old,
                "docs/figures/{name} is stale: run `softobj plot --out docs/figures --images 1` and commit"
            );
        }
        // With a case: one figure per image (here a one-layer case of the edge mix).
        let cases = dir.path().join("cases");
        expect(&["gen", "--out", p(&cases), "--edge"], 0);
        let case = cases.join("edge-01-leave-left.json");
        let out2 = dir.path().join("fig2");
        expect(
            &[
                "plot",
                "--out",
                p(&out2),
                "--case",
                p(&case),
                "--images",
                "5",
            ],
            0,
        );
        let (w, h, colours) = decode(&out2.join("tobj-image1.png"));
        assert_eq!((w, h), (350 + 300, 3 * 350 + 56));
        assert!(colours > 20, "{colours}");
        assert!(
            !out2.join("tobj-image2.png").exists(),
            "the case has 2 images"
        );
        // A bad case: exit 2, nothing on stdout.
        let out = softobj(&[
            "plot",
            "--out",
            p(&out2),
            "--case",
            p(&dir.path().join("none.json")),
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
    }
}

/// `softobj bench` on a small workload: JSON with every stage asked for, and `--pin` puts one
/// worker per CPU (more workers than CPUs is refused, naming the flag).
#[test]
fn bench_times_the_stages_asked_for() {
    let out = expect(
        &[
            "bench",
            "--size",
            "64",
            "--boxes",
            "3",
            "--reps",
            "2",
            "--threads",
            "1",
            "--only",
            "match,soft-vec,soft-vec-ws",
            "--json",
        ],
        0,
    );
    let v: Value = serde_json::from_str(&out).expect("bench --json prints JSON");
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["stage"].as_str().expect("stage name"))
        .collect();
    assert_eq!(stages, ["match", "soft-vec", "soft-vec-ws"]);
    assert!(v["stages"][1]["median_s"].as_f64().expect("median") > 0.0);
    assert_eq!(v["pinned"], Value::Bool(false));
    if cfg!(target_os = "linux") {
        let out = expect(
            &[
                "bench",
                "--size",
                "64",
                "--reps",
                "1",
                "--threads",
                "1",
                "--pin",
                "--only",
                "match",
                "--json",
            ],
            0,
        );
        let v: Value = serde_json::from_str(&out).expect("bench --json prints JSON");
        assert_eq!(v["pinned"], Value::Bool(true));
        let out = softobj(&[
            "bench",
            "--size",
            "64",
            "--threads",
            "4096",
            "--pin",
            "--only",
            "match",
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("--threads"),
            "{}",
            text(&out.stderr)
        );
    }
}
