//! Test a port of the loss inside `cargo test`, against the oracle, with the crate's own
//! comparison (`conformance::check`) and tolerance presets (`Tolerances::F64`,
//! `Tolerances::F32`).
//!
//! ```sh
//! cargo test --release --example test_a_port     # the tests below
//! cargo run --release --example test_a_port      # the same checks, with the reports printed
//! ```
//!
//! Replace `my_port` with a call into your implementation (a kernel, another framework through
//! FFI, a file your test harness wrote). Here it stands in for an f32 port: it evaluates the
//! predictions rounded to f32, which is what a correct single-precision implementation sees.
//! `buggy_port` swaps x and y of every objectness target, a classic porting bug, and the report
//! says where to look.

use ndarray::Axis;
use soft_objectness::conformance::{CheckOptions, Report, Tolerances};
use soft_objectness::{Answer, Case, EvalOptions, Limits, Prediction, evaluate};

/// Your implementation goes here: the answer it computes for `case`.
fn my_port(case: &Case) -> Answer {
    let mut f32_case = case.clone();
    for p in &mut f32_case.inputs.predictions {
        *p = Prediction::F32(p.to_f64().mapv(|v| v as f32));
    }
    let e = evaluate(&f32_case.config, &f32_case.inputs, &EvalOptions::default())
        .expect("a valid case");
    Answer::from_evaluation(&e, &case.config)
}

/// A port with a bug: every tobj layer transposed in its last two axes (x and y swapped).
fn buggy_port(case: &Case) -> Answer {
    let mut e =
        evaluate(&case.config, &case.inputs, &EvalOptions::default()).expect("a valid case");
    for layer in &mut e.layers {
        let (ny, nx) = (layer.tobj.len_of(Axis(2)), layer.tobj.len_of(Axis(3)));
        if ny == nx {
            layer.tobj = layer
                .tobj
                .clone()
                .permuted_axes([0, 1, 3, 2])
                .as_standard_layout()
                .to_owned();
        }
    }
    Answer::from_evaluation(&e, &case.config)
}

/// The oracle's judgement of `answer` for `case`.
fn check(case: &Case, answer: &Answer, tol: &Tolerances) -> Report {
    let mut opts = CheckOptions::default();
    opts.tolerances = *tol;
    soft_objectness::conformance::check(&case.config, &case.inputs, answer, &opts)
        .expect("a valid case")
}

fn fixture(name: &str) -> Case {
    let path = format!("{}/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    Case::load(&path, &Limits::default()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let case = fixture("soft_default");
    let good = check(&case, &my_port(&case), &Tolerances::F32);
    println!("my_port:    {}", good.verdict());
    let bad = check(&case, &buggy_port(&case), &Tolerances::F32);
    println!("buggy_port: {}\n{bad}", bad.verdict());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_f32_port_conforms_with_the_f32_preset() {
        for name in ["soft_default", "baseline_default"] {
            let case = fixture(name);
            let report = check(&case, &my_port(&case), &Tolerances::F32);
            assert!(report.conforms(), "{name}: {report}");
        }
    }

    #[test]
    fn the_f32_port_does_not_pass_the_f64_preset() {
        let case = fixture("soft_default");
        let report = check(&case, &my_port(&case), &Tolerances::F64);
        assert!(!report.conforms());
    }

    #[test]
    fn the_swapped_port_fails_on_tobj() {
        let case = fixture("soft_default");
        let report = check(&case, &buggy_port(&case), &Tolerances::F32);
        assert!(!report.conforms());
        assert!(report.failed_fields().contains(&"tobj"), "{report}");
    }
}
