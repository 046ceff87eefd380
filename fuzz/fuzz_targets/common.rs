//! Invariants every successful evaluation must satisfy (shared by the fuzz targets; the same
//! checks live in tests/extremes.rs for the property tests).

use soft_objectness::{Builder, Config, EvalOptions, Evaluation, Inputs, evaluate};

fn finite(what: &str, v: f64) {
    assert!(v.is_finite(), "{what} is not finite: {v}");
}

/// Every output finite, targets in [0, 1], counts adding up.
pub fn check(e: &Evaluation) {
    finite("loss", e.loss);
    finite("lbox", e.lbox);
    finite("lobj", e.lobj);
    finite("lcls", e.lcls);
    for (l, r) in e.layers.iter().enumerate() {
        for (what, v) in [
            ("hard", r.hard_loss),
            ("soft", r.soft_loss),
            ("box", r.box_loss),
            ("cls", r.cls_loss),
        ] {
            finite(&format!("layer {l} {what}"), v);
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
        finite(&format!("balance[{l}]"), *b);
    }
    for (l, g) in e.grad.to_dense().iter().enumerate() {
        assert!(
            g.iter().all(|v| v.is_finite()),
            "grad[{l}] has a non-finite element"
        );
    }
}

/// Evaluates with both builders; on success checks [`check`] and bit-agreement of the two.
pub fn evaluate_both(config: &Config, inputs: &Inputs) {
    let vec = evaluate(
        config,
        inputs,
        &EvalOptions {
            builder: Builder::Vectorised,
            balance: None,
        },
    );
    let lp = evaluate(
        config,
        inputs,
        &EvalOptions {
            builder: Builder::Loop,
            balance: None,
        },
    );
    match (vec, lp) {
        (Ok(v), Ok(l)) => {
            check(&v);
            for (a, b) in v.layers.iter().zip(&l.layers) {
                assert!(
                    a.tobj
                        .iter()
                        .zip(b.tobj.iter())
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "loop != vectorised tobj"
                );
                assert_eq!(a.rows, b.rows);
            }
            assert_eq!(
                v.loss.to_bits(),
                l.loss.to_bits(),
                "loop != vectorised loss"
            );
            // A second evaluation with the updated balance must stay finite too.
            if config.autobalance
                && let Ok(again) = evaluate(
                    config,
                    inputs,
                    &EvalOptions {
                        builder: Builder::Vectorised,
                        balance: Some(v.balance.clone()),
                    },
                )
            {
                check(&again);
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "the builders fail differently"
            );
        }
        (a, b) => panic!(
            "one builder failed: vectorised {:?}, loop {:?}",
            a.err(),
            b.err()
        ),
    }
}
