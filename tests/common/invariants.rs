//! Invariants every successful evaluation satisfies, and the agreement of the loop and
//! vectorised builders. Shared by the test suites and the fuzz targets (fuzz/ includes this
//! file by path), so it uses nothing but the crate and std.

use soft_objectness::{
    Backend, Config, EvalOptions, Evaluation, Grid, Inputs, LayerTargets, Result, SoftBuilder,
    build_targets, evaluate,
};

/// Every layer's targets of `inputs` with `builder` (the public `build_targets` on the grids of
/// the predictions).
pub fn targets_of(
    config: &Config,
    inputs: &Inputs,
    builder: SoftBuilder,
) -> Result<Vec<LayerTargets>> {
    let grids = Grid::of(config, &inputs.view());
    build_targets(config, inputs.targets.view(), &grids, builder)
}

/// Bitwise equality of two f64 slices, with the first difference on failure.
pub fn assert_bits_eq(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}: index {i}: got {g:e}, expected {w:e}"
        );
    }
}

/// Every output finite, targets in [0, 1], counts adding up to the cells, balance finite and
/// non-negative.
pub fn assert_finite(e: &Evaluation) {
    for (name, v) in [
        ("loss", e.loss),
        ("lbox", e.lbox),
        ("lobj", e.lobj),
        ("lcls", e.lcls),
    ] {
        assert!(v.is_finite(), "{name} = {v}");
    }
    for (l, r) in e.layers.iter().enumerate() {
        for (name, v) in [
            ("H", r.hard_loss),
            ("S", r.soft_loss),
            ("box", r.box_loss),
            ("cls", r.cls_loss),
        ] {
            assert!(v.is_finite(), "layer {l}: {name} = {v}");
        }
        assert!(
            r.tobj.iter().all(|t| (0.0..=1.0).contains(t)),
            "layer {l}: tobj outside [0, 1]"
        );
        let c = r.counts;
        assert_eq!(
            c.positive + c.negative + c.soft,
            r.tobj.len() as u64,
            "layer {l}: counts"
        );
    }
    for (l, b) in e.balance.iter().enumerate() {
        assert!(b.is_finite() && *b >= 0.0, "balance[{l}] = {b}");
    }
    for (l, g) in e.grad.to_dense().iter().enumerate() {
        if let Some((i, v)) = g.indexed_iter().find(|(_, v)| !v.is_finite()) {
            panic!("grad[{l}] at {i:?} = {v}");
        }
    }
}

fn with_builder(config: &Config, inputs: &Inputs, builder: SoftBuilder) -> Result<Evaluation> {
    evaluate(
        config,
        inputs,
        &EvalOptions::with_backend(Backend::Cpu(builder)),
    )
}

/// Both builders: both succeed or both fail with the same message; on success every output
/// of the vectorised one is finite ([`assert_finite`]) and the two agree bit for bit (tobj,
/// matched rows, loss, dense gradient).
fn both(config: &Config, inputs: &Inputs) -> Result<Evaluation> {
    let vectorised = with_builder(config, inputs, SoftBuilder::Vectorised);
    let looped = with_builder(config, inputs, SoftBuilder::Loop);
    let (v, l) = match (vectorised, looped) {
        (Ok(v), Ok(l)) => (v, l),
        (Err(a), Err(b)) => {
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "the builders fail differently"
            );
            return Err(a);
        }
        (a, b) => panic!(
            "one builder failed: vectorised {:?}, loop {:?}",
            a.err(),
            b.err()
        ),
    };
    assert_finite(&v);
    for (k, (a, b)) in v.layers.iter().zip(&l.layers).enumerate() {
        let same = a
            .tobj
            .iter()
            .zip(b.tobj.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "layer {k}: loop and vectorised tobj differ");
        assert_eq!(a.rows, b.rows, "layer {k}: rows");
    }
    assert_eq!(
        v.loss.to_bits(),
        l.loss.to_bits(),
        "loss: {} vs {}",
        v.loss,
        l.loss
    );
    for (k, (a, b)) in v.grad.to_dense().iter().zip(l.grad.to_dense()).enumerate() {
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "grad[{k}] differs"
        );
    }
    Ok(v)
}

/// The evaluation that continues from `first`'s updated balance (autobalance).
fn next_step(config: &Config, inputs: &Inputs, first: &Evaluation) -> Result<Evaluation> {
    evaluate(
        config,
        inputs,
        &EvalOptions::with_backend(Backend::Cpu(SoftBuilder::Vectorised))
            .balance(first.balance.clone()),
    )
}

/// Any input: evaluates with both builders (see `both`: same outcome, finite outputs, bit
/// agreement); with autobalance, a second step from the updated balance is finite when it
/// succeeds. Returns the vectorised evaluation or the (common) error.
pub fn evaluate_both(config: &Config, inputs: &Inputs) -> Result<Evaluation> {
    let v = both(config, inputs)?;
    if config.autobalance
        && let Ok(again) = next_step(config, inputs, &v)
    {
        assert_finite(&again);
    }
    Ok(v)
}

/// A legal case: as [`evaluate_both`], but both builders must succeed, and with autobalance
/// the second step must succeed too. Returns the vectorised evaluation.
pub fn evaluate_legal(config: &Config, inputs: &Inputs) -> Evaluation {
    let v = both(config, inputs).unwrap_or_else(|e| panic!("a legal case was refused: {e}"));
    if config.autobalance {
        let again = next_step(config, inputs, &v)
            .unwrap_or_else(|e| panic!("second autobalance step refused: {e}"));
        assert_finite(&again);
    }
    v
}
