//! The golden fixtures exported from PyTorch (fixtures/, see docs/fixtures.md) through both
//! soft builders: losses within 1e-12 relative, tobj exact, counts exact, gradients within
//! 1e-10 of the fixture's largest gradient component, matched rows exact.
//!
//! fixtures/MANIFEST lists every fixture with its SHA-256: a fixture missing from the manifest,
//! a listed one missing from the folder, or a changed file fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use soft_objectness::{Answer, Builder, Case, EvalOptions, evaluate_case};

const LOSS_RTOL: f64 = 1e-12;
const GRAD_TOL: f64 = 1e-10;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

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

struct Report {
    fixture: String,
    failures: Vec<String>,
}

impl Report {
    fn rel(&mut self, field: &str, got: f64, want: f64) {
        if got != want && (got - want).abs() > LOSS_RTOL * want.abs() {
            self.failures.push(format!(
                "{}: {field}: got {got:e}, expected {want:e} (relative error {:e} > {LOSS_RTOL:e})",
                self.fixture,
                ((got - want) / want).abs()
            ));
        }
    }
}

fn compare(fixture: &str, got: &Answer, want: &Answer) -> Vec<String> {
    let mut r = Report {
        fixture: fixture.to_string(),
        failures: Vec::new(),
    };
    for (field, g, w) in [
        ("loss", got.loss, want.loss),
        ("lbox", got.lbox, want.lbox),
        ("lobj", got.lobj, want.lobj),
        ("lcls", got.lcls, want.lcls),
    ] {
        r.rel(
            field,
            g.unwrap(),
            w.unwrap_or_else(|| panic!("{fixture}: expected.{field} missing")),
        );
    }
    for (field, g, w) in [
        ("hard_loss", &got.hard_loss, &want.hard_loss),
        ("soft_loss", &got.soft_loss, &want.soft_loss),
        ("balance", &got.balance, &want.balance),
    ] {
        if let (Some(g), Some(w)) = (g, w) {
            assert_eq!(g.len(), w.len(), "{fixture}: {field} length");
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                r.rel(&format!("{field}[{i}]"), *a, *b);
            }
        }
    }
    assert_eq!(got.counts, want.counts, "{fixture}: counts");
    let (gt, wt) = (
        got.tobj.as_ref().unwrap(),
        want.tobj.as_ref().expect("expected.tobj"),
    );
    assert_eq!(gt.len(), wt.len(), "{fixture}: tobj layers");
    for (l, (g, w)) in gt.iter().zip(wt).enumerate() {
        assert_eq!(g.shape, w.shape, "{fixture}: tobj[{l}] shape");
        let bad: Vec<_> = g
            .data
            .iter()
            .zip(&w.data)
            .enumerate()
            .filter(|(_, (a, b))| a.to_bits() != b.to_bits())
            .collect();
        if let Some((i, (a, b))) = bad.first() {
            r.failures.push(format!(
                "{fixture}: tobj[{l}] differs in {} cells; first at flat index {i}: got {a:e}, expected {b:e}",
                bad.len()
            ));
        }
    }
    let (gg, wg) = (
        got.grad.as_ref().unwrap(),
        want.grad.as_ref().expect("expected.grad"),
    );
    let scale = wg
        .iter()
        .flat_map(|a| a.data.iter())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (l, (g, w)) in gg.iter().zip(wg).enumerate() {
        assert_eq!(g.shape, w.shape, "{fixture}: grad[{l}] shape");
        let worst = g
            .data
            .iter()
            .zip(&w.data)
            .enumerate()
            .map(|(i, (a, b))| (i, (a - b).abs(), *a, *b))
            .fold((0, 0.0, 0.0, 0.0), |m, x| if x.1 > m.1 { x } else { m });
        if worst.1 > GRAD_TOL * scale {
            r.failures.push(format!(
                "{fixture}: grad[{l}] flat index {}: got {:e}, expected {:e} (error {:e} > {GRAD_TOL:e} x max|grad| {scale:e})",
                worst.0, worst.2, worst.3, worst.1
            ));
        }
    }
    if let (Some(g), Some(w)) = (&got.matched, &want.matched) {
        assert_eq!(g.len(), w.len(), "{fixture}: matched layers");
        for (l, (gr, wr)) in g.iter().zip(w).enumerate() {
            assert_eq!(gr.len(), wr.len(), "{fixture}: matched[{l}] rows");
            for (k, (a, b)) in gr.iter().zip(wr).enumerate() {
                assert_eq!(
                    (a.b, a.a, a.gj, a.gi, a.class),
                    (b.b, b.a, b.gj, b.gi, b.class),
                    "{fixture}: matched[{l}][{k}]"
                );
                assert_eq!(a.anchor, b.anchor, "{fixture}: matched[{l}][{k}].anchor");
                for c in 0..4 {
                    assert!(
                        (a.tbox[c] - b.tbox[c]).abs() <= 1e-12 * b.tbox[c].abs().max(1.0),
                        "{fixture}: matched[{l}][{k}].tbox[{c}]: got {}, expected {}",
                        a.tbox[c],
                        b.tbox[c]
                    );
                }
            }
        }
    }
    r.failures
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
        for builder in [Builder::Loop, Builder::Vectorised] {
            let e = evaluate_case(
                &case,
                &EvalOptions {
                    builder,
                    balance: None,
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = Answer::from_evaluation(&e, &case.config);
            failures.extend(compare(&format!("{name} ({builder:?})"), &got, &want));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
