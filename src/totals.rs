//! The rules every backend shares once its layers are computed: the layer balance in force,
//! the totals of spec section 5 with YOLOv5's autobalance, and the refusal of a result that is
//! not finite.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::grad::Gradient;
use crate::result::{Evaluation, LayerResult};

/// The balance in force: `balance` (one finite entry `>= 0` per layer) or the default.
/// Shared by every backend.
pub fn balance_in_force(config: &Config, balance: Option<&[f64]>) -> Result<Vec<f64>> {
    let Some(b) = balance else {
        return Ok(config.default_balance());
    };
    if b.len() != config.nl() {
        return Err(Error::shape(
            "balance",
            format!("{} entries", config.nl()),
            format!("{}", b.len()),
        ));
    }
    match b
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        Some((i, v)) => Err(Error::invalid(
            format!("balance[{i}]"),
            v,
            "must be a finite number >= 0",
        )),
        None => Ok(b.to_vec()),
    }
}

/// `e`, or [`Error::NonFinite`] naming its first output that is not finite. Shared by every
/// backend.
pub fn finite_or_error(e: Evaluation) -> Result<Evaluation> {
    match first_non_finite(&e) {
        None => Ok(e),
        Some((output, value)) => Err(Error::NonFinite { output, value }),
    }
}

/// The first output of `e` that is not finite (validated inputs with the default balance never
/// have one; see docs/reliability.md), named like the answer's keys.
fn first_non_finite(e: &Evaluation) -> Option<(String, f64)> {
    let scalars = [
        ("loss", e.loss),
        ("lbox", e.lbox),
        ("lobj", e.lobj),
        ("lcls", e.lcls),
    ];
    if let Some((name, v)) = scalars.iter().find(|(_, v)| !v.is_finite()) {
        return Some((name.to_string(), *v));
    }
    if let Some((i, v)) = e.balance.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Some((format!("balance[{i}]"), *v));
    }
    for (l, r) in e.layers.iter().enumerate() {
        for (name, v) in [
            ("hard_loss", r.hard_loss),
            ("soft_loss", r.soft_loss),
            ("box_loss", r.box_loss),
            ("cls_loss", r.cls_loss),
        ] {
            if !v.is_finite() {
                return Some((format!("{name}[{l}]"), v));
            }
        }
    }
    for (l, g) in e.grad.obj.iter().enumerate() {
        // A branch-free scan first (it vectorises); the index only for a layer that has a hit.
        if !g.iter().fold(false, |bad, v| bad | !v.is_finite()) {
            continue;
        }
        if let Some((idx, v)) = g.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Some((
                format!("grad[{l}] objectness at {:?}", <[usize; 4]>::from(idx)),
                *v,
            ));
        }
    }
    for (l, rows) in e.grad.rows.iter().enumerate() {
        for r in rows {
            if let Some(v) = r.xywh.iter().chain(&r.cls).find(|v| !v.is_finite()) {
                return Some((
                    format!(
                        "grad[{l}] at [{}, {}, {}, {}] (box or class)",
                        r.b, r.a, r.gj, r.gi
                    ),
                    *v,
                ));
            }
        }
    }
    None
}

/// The totals of spec section 5 from the per-layer results, shared by every backend:
/// `lbox`, `lcls` and `lobj = sum (H_i + S_i) balance_i` in layer order, autobalance, the gains
/// and the batch factor.
pub fn totals(
    config: &Config,
    bs: f64,
    balance: &[f64],
    layers: Vec<LayerResult>,
    grad: Gradient,
) -> Evaluation {
    let h = &config.hyp;
    let mut new_balance = balance.to_vec();
    let (mut lbox, mut lobj, mut lcls) = (0.0, 0.0, 0.0);
    for (l, r) in layers.iter().enumerate() {
        lbox += r.box_loss;
        lcls += r.cls_loss;
        let obji = r.hard_loss + r.soft_loss;
        lobj += obji * balance[l];
        if config.autobalance {
            autobalance_update(&mut new_balance[l], obji);
        }
    }
    if config.autobalance {
        autobalance_normalise(&mut new_balance, balance);
    }
    let (lbox, lobj, lcls) = (lbox * h.box_gain, lobj * h.obj, lcls * h.cls);
    Evaluation {
        loss: (lbox + lobj + lcls) * bs,
        lbox,
        lobj,
        lcls,
        layers,
        balance: new_balance,
        grad,
    }
}

/// YOLOv5's autobalance update of one layer's weight after its objectness loss `obji` is added:
/// `b = 0.9999 b + 0.0001 / obji`. Skipped when `obji` is 0 or the update would overflow (a
/// denormal `obji`), so no infinity appears (docs/decisions.md item 14).
fn autobalance_update(b: &mut f64, obji: f64) {
    if obji > 0.0 {
        let updated = *b * 0.9999 + 0.0001 / obji;
        if updated.is_finite() {
            *b = updated;
        }
    }
}

/// Divides every updated weight by the stride-16 layer's (layer 1; layer 0 when `nl == 1`). A
/// normalisation that leaves the f64 range (a zero or extreme balance passed in) keeps the
/// balance in force, `given`, instead of reporting infinity or NaN.
fn autobalance_normalise(updated: &mut Vec<f64>, given: &[f64]) {
    let s = updated[usize::from(updated.len() > 1)];
    for b in updated.iter_mut() {
        *b /= s;
    }
    if updated.iter().any(|b| !b.is_finite()) {
        *updated = given.to_vec();
    }
}
