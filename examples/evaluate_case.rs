//! Evaluate a case file with the oracle and print what it reports.
//!
//! ```sh
//! cargo run --release --example evaluate_case -- fixtures/soft_default.json
//! ```
//!
//! A case is the JSON format of docs/spec.md section 10 (arrays inline or as `.npy` files
//! beside it); `softobj gen` writes such cases, and every file of `fixtures/` is one.

use std::process::ExitCode;

use soft_objectness::{Case, EvalOptions, Limits, evaluate};

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fixtures/soft_default.json".to_string());
    // Every error names the field and the value at fault, e.g.
    // `inputs.targets row 3 (class): must be an integer class in 0..80 (got 80)`.
    let case = match Case::load(&path, &Limits::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let e = match evaluate(&case.config, &case.inputs, &EvalOptions::default()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{path}: {}", case.name);
    println!(
        "loss {:.9} = (lbox {:.9} + lobj {:.9} + lcls {:.9}) * bs",
        e.loss, e.lbox, e.lobj, e.lcls
    );
    for (l, layer) in e.layers.iter().enumerate() {
        let c = layer.counts;
        println!(
            "layer {l}: {} rows, cells positive {} soft {} negative {}, H {:.6} S {:.6}",
            layer.rows.len(),
            c.positive,
            c.soft,
            c.negative,
            layer.hard_loss,
            layer.soft_loss
        );
    }
    // The gradient is sparse (objectness of every cell, box and class channels of the rows);
    // `to_dense` gives one array shaped like each prediction layer.
    let dense = e.grad.to_dense();
    let largest = dense
        .iter()
        .flat_map(|g| g.iter())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    println!("largest |d loss / d prediction|: {largest:.6e}");
    ExitCode::SUCCESS
}
