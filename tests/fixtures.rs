//! The golden fixtures exported from PyTorch (fixtures/, see docs/fixtures.md) through both
//! soft builders, by the crate's own f64 conformance rules (losses within 1e-12 relative, tobj
//! exact, counts exact, gradients within 1e-10 of the largest gradient component, matched rows
//! exact).
//!
//! fixtures/MANIFEST lists every fixture with its SHA-256: a fixture missing from the manifest,
//! a listed one missing from the folder, or a changed file fails.

use std::collections::BTreeSet;
mod common;

use common::fixtures::{fixture_files, fixtures_dir};
use sha2::{Digest, Sha256};
use soft_objectness::conformance::{self, Tolerances};
use soft_objectness::{Answer, Case, Config, EvalOptions, Evaluation, SoftBuilder, evaluate_case};

#[test]
fn manifest_lists_every_fixture_with_its_checksum() {
    let text = std::fs::read_to_string(fixtures_dir().join("MANIFEST")).expect("fixtures/MANIFEST");
    let mut listed = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert!(
            fields.len() >= 3,
            "MANIFEST line {}: expected 3 tab-separated fields: {line:?}",
            n + 1
        );
        let (sum, name) = (fields[0], fields[1]);
        let path = fixtures_dir().join(name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|_| panic!("MANIFEST lists {name}, which is missing"));
        let got = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(
            got, sum,
            "{name}: checksum differs from MANIFEST (regenerate with fixtures/export)"
        );
        listed.insert(name.to_string());
    }
    for f in fixture_files() {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            listed.contains(&name),
            "{name} is not listed in fixtures/MANIFEST"
        );
    }
    assert!(
        listed.len() >= 60,
        "at least 60 fixtures, found {}",
        listed.len()
    );
}

/// Our evaluation `e` against the fixture's expected answer `want`, by the crate's own f64
/// conformance rules ([`Tolerances::F64`]: losses within 1e-12 relative, tobj exact with its
/// cell classes, counts exact, gradients within 1e-10 of the largest component, matched rows
/// exact and their `tbox` within 1e-12 relative), plus two checks stricter than any preset:
/// tobj bit for bit (the preset takes -0 for +0) and matched anchors exactly (the preset allows
/// 1e-12 relative).
fn compare(fixture: &str, config: &Config, e: &Evaluation, want: &Answer) -> Vec<String> {
    let mut failures = Vec::new();
    let report = conformance::compare(config, e, want, &Tolerances::F64);
    if !report.conforms() {
        failures.push(format!("{fixture}:\n{report}"));
    }
    let got = Answer::from_evaluation(e, config);
    if let (Some(gt), Some(wt)) = (&got.tobj, &want.tobj) {
        for (l, (g, w)) in gt.iter().zip(wt).enumerate() {
            let bad: Vec<_> = g
                .data
                .iter()
                .zip(&w.data)
                .enumerate()
                .filter(|(_, (a, b))| a.to_bits() != b.to_bits())
                .collect();
            if let Some((i, (a, b))) = bad.first() {
                failures.push(format!(
                    "{fixture}: tobj[{l}] differs in {} cells; first at flat index {i}: got {a:e}, expected {b:e}",
                    bad.len()
                ));
            }
        }
    }
    if let (Some(g), Some(w)) = (&got.matched, &want.matched) {
        for (l, (gr, wr)) in g.iter().zip(w).enumerate() {
            for (k, (a, b)) in gr.iter().zip(wr).enumerate() {
                assert_eq!(a.anchor, b.anchor, "{fixture}: matched[{l}][{k}].anchor");
            }
        }
    }
    failures
}

#[test]
fn every_fixture_through_both_builders() {
    let files = fixture_files();
    assert!(
        !files.is_empty(),
        "no fixtures found in {}",
        fixtures_dir().display()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let case = Case::load(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = case
            .expected
            .clone()
            .unwrap_or_else(|| panic!("{name}: no expected answer"));
        for builder in [SoftBuilder::Loop, SoftBuilder::Vectorised] {
            let e = evaluate_case(
                &case,
                &EvalOptions {
                    builder,
                    balance: None,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            failures.extend(compare(
                &format!("{name} ({builder:?})"),
                &case.config,
                &e,
                &want,
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
