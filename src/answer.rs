//! The answer of an evaluation in the case format (spec section 10, `expected`), plus the
//! extra keys of docs/decisions.md item 10. Every field is optional when reading, so that a
//! partial answer from another implementation can be checked field by field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::array::JsonArray;
use crate::error::{Error, Result};
use crate::result::{Counts, Evaluation};

/// One matched row as reported in an answer (`gj`, `gi` clamped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedRow {
    /// Image.
    pub b: usize,
    /// Anchor.
    pub a: usize,
    /// Cell row.
    pub gj: usize,
    /// Cell column.
    pub gi: usize,
    /// Box target `(gx - gi, gy - gj, gw, gh)`.
    pub tbox: [f64; 4],
    /// The anchor `(w, h)` in grid units.
    pub anchor: [f64; 2],
    /// Class.
    pub class: usize,
}

/// An answer: what `softobj eval` prints and what a fixture's `expected` holds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Answer {
    /// Total loss `(lbox + lobj + lcls) * bs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Box loss after its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lbox: Option<f64>,
    /// Objectness loss after its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lobj: Option<f64>,
    /// Class loss after its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lcls: Option<f64>,
    /// Per layer objectness targets `[bs, na, ny, nx]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tobj: Option<Vec<JsonArray>>,
    /// Per layer cell counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<Counts>>,
    /// Per layer dense gradient `[bs, na, ny, nx, no]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad: Option<Vec<JsonArray>>,
    /// Per layer hard objectness loss `H_i` (before balance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_loss: Option<Vec<f64>>,
    /// Per layer soft objectness loss `S_i` (before balance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_loss: Option<Vec<f64>>,
    /// The balance after this evaluation's autobalance update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Vec<f64>>,
    /// Per layer matched rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<Vec<Vec<MatchedRow>>>,
}

impl Answer {
    /// Reads an answer (or a fixture's `expected`) from JSON; unknown keys are ignored.
    ///
    /// # Errors
    /// [`Error::Type`] naming `expected` and the serde message when a field has the wrong type.
    pub fn from_json(v: &Value) -> Result<Answer> {
        serde_json::from_value(v.clone()).map_err(|e| Error::Type {
            field: "expected".into(),
            expected: "an answer object (spec section 10)".into(),
            got: e.to_string(),
        })
    }

    /// The full answer of an evaluation, with the dense gradient.
    pub fn from_evaluation(e: &Evaluation, config: &crate::Config) -> Answer {
        let mut a = Answer::without_grad(e, config);
        a.grad = Some(
            e.grad
                .to_dense()
                .iter()
                .map(|g| JsonArray::from_array(&g.clone().into_dyn()))
                .collect(),
        );
        a
    }

    /// The answer without the gradient (for large inputs, written separately).
    pub fn without_grad(e: &Evaluation, config: &crate::Config) -> Answer {
        Answer {
            loss: Some(e.loss),
            lbox: Some(e.lbox),
            lobj: Some(e.lobj),
            lcls: Some(e.lcls),
            tobj: Some(
                e.layers
                    .iter()
                    .map(|l| JsonArray::from_array(&l.tobj.clone().into_dyn()))
                    .collect(),
            ),
            counts: Some(e.layers.iter().map(|l| l.counts).collect()),
            grad: None,
            hard_loss: Some(e.layers.iter().map(|l| l.hard_loss).collect()),
            soft_loss: Some(e.layers.iter().map(|l| l.soft_loss).collect()),
            balance: Some(e.balance.clone()),
            matched: Some(
                e.layers
                    .iter()
                    .enumerate()
                    .map(|(l, layer)| {
                        layer
                            .rows
                            .iter()
                            .map(|r| MatchedRow {
                                b: r.b,
                                a: r.a,
                                gj: r.gj,
                                gi: r.gi,
                                tbox: r.tbox(),
                                anchor: [config.anchors[[l, r.a, 0]], config.anchors[[l, r.a, 1]]],
                                class: r.class,
                            })
                            .collect()
                    })
                    .collect(),
            ),
        }
    }
}
