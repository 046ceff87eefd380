//! The command line: exit code 2, nothing on stdout, the message on stderr.

use super::*;
use crate::common::cli::{assert_refused, softobj_env};

/// Runs `softobj` on one thread.
fn softobj(args: &[&str]) -> std::process::Output {
    softobj_env(args, &[("RAYON_NUM_THREADS", "1")])
}

/// Runs `softobj eval` on `path` (plus `extra` flags): refused (exit code 2, empty stdout) with
/// a stderr message mentioning `needles`.
fn cli_rejects(path: &Path, extra: &[&str], needles: &[&str]) {
    let mut args = vec!["eval", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    assert_refused(&softobj(&args), needles);
}

#[test]
fn cli_rejects_every_kind_of_bad_case() {
    let dir = scratch("cli");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let text = base().to_string();
    cli_rejects(
        &write("truncated.json", &text[..text.len() / 2]),
        &[],
        &["invalid JSON at line 1 column"],
    );
    cli_rejects(
        &write(
            "format.json",
            &with("/format", Some(json!("v9"))).to_string(),
        ),
        &[],
        &["format", "`v9`"],
    );
    cli_rejects(
        &write(
            "mode.json",
            &with("/config/distance", Some(json!("euclid"))).to_string(),
        ),
        &[],
        &[
            "config.distance",
            "`euclid`",
            "cell_index, continuous, diagonal",
        ],
    );
    cli_rejects(
        &write(
            "row.json",
            &with("/inputs/targets/data/7", Some(json!(5))).to_string(),
        ),
        &[],
        &["inputs.targets row 1 (class)", "got 5"],
    );
    cli_rejects(
        &write(
            "length.json",
            &with("/inputs/targets/shape", Some(json!([3, 6]))).to_string(),
        ),
        &[],
        &["inputs.targets: shape mismatch"],
    );
    cli_rejects(&dir.join("absent.json"), &[], &["absent.json"]);
    cli_rejects(&dir, &[], &[]);
    let ok = write("ok.json", &text);
    cli_rejects(
        &ok,
        &["--max-json-bytes", "100"],
        &["exceed the limit of 100 bytes"],
    );
    cli_rejects(
        &ok,
        &["--max-elements", "50"],
        &["inputs.predictions[0]: 112 elements exceed the limit of 50"],
    );
    cli_rejects(&ok, &["--max-elements", "many"], &["invalid value 'many'"]);
}

#[test]
fn cli_answers_a_valid_case_with_finite_numbers_only() {
    let dir = scratch("cli_ok");
    let path = dir.join("ok.json");
    // Extreme but legal: saturated logits, a tiny sigma, autobalance.
    let mut doc = base();
    doc["config"]["score"] = json!({"kind": "gaussian", "sigma": 1e-6});
    doc["config"]["autobalance"] = json!(true);
    doc["inputs"]["predictions"][0]["data"] = json!(
        (0..112)
            .map(|i| [1e4, -1e4, -740.0, 0.0][i % 4])
            .collect::<Vec<f64>>()
    );
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = softobj(&["eval", path.to_str().unwrap(), "--compact"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // serde_json writes a non-finite f64 as null: there must be none.
    assert!(!text.contains("null"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["loss"].as_f64().unwrap().is_finite());
}
