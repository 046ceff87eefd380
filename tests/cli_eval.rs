//! `softobj eval` end to end: the answer of a fixture, byte-identical whatever the number of
//! rayon threads and whichever builder; errors on stderr with exit code 2 and nothing on stdout.

use std::process::Command;

fn softobj(args: &[&str], threads: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_softobj"))
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("run softobj")
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn eval_output_is_identical_for_1_and_2_threads_and_both_builders() {
    for name in ["soft_default.json", "baseline_default.json"] {
        let path = fixture(name);
        let one = softobj(&["eval", &path], "1");
        let two = softobj(&["eval", &path], "2");
        let looped = softobj(&["eval", &path, "--builder", "loop"], "2");
        assert!(
            one.status.success(),
            "{}",
            String::from_utf8_lossy(&one.stderr)
        );
        assert!(!one.stdout.is_empty());
        assert_eq!(one.stdout, two.stdout, "{name}: 1 vs 2 threads");
        assert_eq!(one.stdout, looped.stdout, "{name}: vectorised vs loop");
        let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
        for key in [
            "loss",
            "lbox",
            "lobj",
            "lcls",
            "tobj",
            "counts",
            "grad",
            "matched",
            "hard_loss",
            "soft_loss",
            "balance",
        ] {
            assert!(v.get(key).is_some(), "{name}: answer lacks {key}");
        }
    }
}

#[test]
fn eval_errors_go_to_stderr_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    let text = std::fs::read_to_string(fixture("soft_default.json")).unwrap();
    std::fs::write(&bad, text.replacen("\"sigma\": 1.0", "\"sigma\": -1.0", 1)).unwrap();
    let out = softobj(&["eval", bad.to_str().unwrap()], "2");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.score.sigma") && err.contains("-1"),
        "{err}"
    );
    let missing = softobj(&["eval", "/nonexistent/case.json"], "2");
    assert_eq!(missing.status.code(), Some(2));
    assert!(missing.stdout.is_empty());
}

#[test]
fn default_run_prints_the_summary() {
    let out = Command::new(env!("CARGO_BIN_EXE_softobj"))
        .args(["summary", "--reps", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "soft assigner",
        "baseline YOLOv5 assigner",
        "positive",
        "soft",
        "negative",
        "loss + gradient",
        "P3",
        "P5",
    ] {
        assert!(text.contains(needle), "summary lacks {needle:?}:\n{text}");
    }
}
