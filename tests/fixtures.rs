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
use soft_objectness::conformance::{CheckOptions, check};
use soft_objectness::{
    Answer, Backend, Case, Config, EvalOptions, Evaluation, Limits, SoftBuilder, evaluate,
};

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

/// The fixture's expected answer `want` checked against the oracle by the crate's own f64
/// conformance rules ([`CheckOptions::default`], `Tolerances::F64`: losses within 1e-12
/// relative, tobj exact with its cell classes, counts exact, gradients within 1e-10 of the
/// largest component, matched rows exact and their `tbox` within 1e-12 relative).
fn conforms(fixture: &str, case: &Case, want: &Answer) -> Vec<String> {
    let report = check(&case.config, &case.inputs, want, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{fixture}: {e}"));
    if report.conforms() {
        Vec::new()
    } else {
        vec![format!("{fixture}:\n{report}")]
    }
}

/// Two checks of an evaluation `e` stricter than any preset: tobj bit for bit (the preset
/// takes -0 for +0) and matched anchors exactly (the preset allows 1e-12 relative).
fn bit_exact(fixture: &str, config: &Config, e: &Evaluation, want: &Answer) -> Vec<String> {
    let mut failures = Vec::new();
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

/// Every fixture conforms to the oracle, and both soft builders give the fixture's tobj and
/// matched rows exactly and the same evaluation as each other.
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
        let case = Case::load(path, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = case
            .expected
            .clone()
            .unwrap_or_else(|| panic!("{name}: no expected answer"));
        failures.extend(conforms(&name, &case, &want));
        let mut evaluations = Vec::new();
        for builder in [SoftBuilder::Loop, SoftBuilder::Vectorised] {
            let opts = EvalOptions::with_backend(Backend::Cpu(builder));
            let e = evaluate(&case.config, &case.inputs, &opts)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let fixture = format!("{name} ({builder:?})");
            failures.extend(bit_exact(&fixture, &case.config, &e, &want));
            evaluations.push(e);
        }
        assert_eq!(
            evaluations[0], evaluations[1],
            "{name}: the builders differ"
        );
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
