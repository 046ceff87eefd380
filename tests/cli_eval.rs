//! `softobj eval` end to end: the answer of a fixture, byte-identical whatever the number of
//! rayon threads and whichever builder; errors on stderr with exit code 2 and nothing on stdout.

mod common;

use common::cli::{softobj, softobj_env};
use common::fixtures::fixture;

#[test]
fn eval_output_is_identical_for_1_and_2_threads_and_both_builders() {
    for name in ["soft_default.json", "baseline_default.json"] {
        let path = fixture(name);
        let path = path.to_str().unwrap();
        let one = softobj_env(&["eval", path], &[("RAYON_NUM_THREADS", "1")]);
        let two = softobj_env(&["eval", path], &[("RAYON_NUM_THREADS", "2")]);
        let looped = softobj_env(
            &["eval", path, "--builder", "loop"],
            &[("RAYON_NUM_THREADS", "2")],
        );
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
    let out = softobj_env(
        &["eval", bad.to_str().unwrap()],
        &[("RAYON_NUM_THREADS", "2")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.score.sigma") && err.contains("-1"),
        "{err}"
    );
    let missing = softobj_env(
        &["eval", "/nonexistent/case.json"],
        &[("RAYON_NUM_THREADS", "2")],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(missing.stdout.is_empty());
}

#[test]
fn default_run_prints_the_summary() {
    let out = softobj(&["summary", "--reps", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "soft assigner",
        "yolov5 assigner",
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
