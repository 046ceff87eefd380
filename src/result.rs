//! What an evaluation reports (spec section 7): per layer the targets, rows, cell classes and
//! losses, and the totals with the gradient. Every backend returns these types.

use std::fmt;

use ndarray::Array4;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Assigner;
use crate::grad::Gradient;
use crate::targets::Row;
use crate::vocab::Named;

/// The class of a `tobj` cell (spec 4.9), decided by exact comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellClass {
    /// `tobj == 1` (YOLOv5 assigner: `tobj > 0`).
    Positive,
    /// `tobj == 0`.
    Negative,
    /// Every other value (soft assigner only).
    Soft,
}

impl CellClass {
    /// Every class, in the order of [`CellClass::index`].
    pub const ALL: [CellClass; 3] = [CellClass::Positive, CellClass::Negative, CellClass::Soft];

    /// The class of target `t` under `assigner`, by exact comparison.
    ///
    /// ```
    /// use soft_objectness::{Assigner, CellClass};
    /// assert_eq!(CellClass::of(1.0, Assigner::Soft), CellClass::Positive);
    /// assert_eq!(CellClass::of(0.999_999_9, Assigner::Soft), CellClass::Soft);
    /// assert_eq!(CellClass::of(0.3, Assigner::Yolov5), CellClass::Positive);
    /// ```
    pub fn of(t: f64, assigner: Assigner) -> CellClass {
        match assigner {
            Assigner::Soft if t == 1.0 => CellClass::Positive,
            Assigner::Yolov5 if t > 0.0 => CellClass::Positive,
            _ if t == 0.0 => CellClass::Negative,
            _ => CellClass::Soft,
        }
    }

    /// 0, 1, 2 for positive, negative, soft.
    pub fn index(self) -> usize {
        match self {
            CellClass::Positive => 0,
            CellClass::Negative => 1,
            CellClass::Soft => 2,
        }
    }
}

impl Named for CellClass {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            CellClass::Positive,
            "positive",
            "tobj == 1 (YOLOv5 assigner: tobj > 0)",
        ),
        (CellClass::Negative, "negative", "tobj == 0"),
        (CellClass::Soft, "soft", "0 < tobj < 1 (soft assigner only)"),
    ];
}

impl fmt::Display for CellClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for CellClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for CellClass {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        CellClass::parse("cell class", &name).map_err(serde::de::Error::custom)
    }
}

/// Cells of one layer by [`CellClass`] (spec 4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Cells with `tobj == 1` (YOLOv5 assigner: `tobj > 0`).
    pub positive: u64,
    /// Cells with `tobj == 0`.
    pub negative: u64,
    /// Cells with `0 < tobj < 1` (soft assigner only).
    pub soft: u64,
}

impl Counts {
    /// The classes of `cells` under `assigner`: the count of [`CellClass::of`] over every cell,
    /// computed without branches in fixed chunks (integer sums: any order gives the same).
    ///
    /// ```
    /// use soft_objectness::{Assigner, Counts};
    /// let c = Counts::of_cells(&[0.0, 1.0, 0.5, -0.0, 1e-300], Assigner::Soft);
    /// assert_eq!((c.positive, c.negative, c.soft), (1, 2, 2));
    /// let c = Counts::of_cells(&[0.0, 1.0, 0.5], Assigner::Yolov5);
    /// assert_eq!((c.positive, c.negative, c.soft), (2, 1, 0));
    /// ```
    pub fn of_cells(cells: &[f64], assigner: Assigner) -> Counts {
        match assigner {
            Assigner::Soft => count_chunks(cells, |t| t == 1.0),
            // The YOLOv5 assigner's targets are IoUs: positive means `t > 0`.
            Assigner::Yolov5 => count_chunks(cells, |t| t > 0.0),
        }
    }

    /// The count of one class.
    pub fn get(&self, class: CellClass) -> u64 {
        match class {
            CellClass::Positive => self.positive,
            CellClass::Negative => self.negative,
            CellClass::Soft => self.soft,
        }
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;

    /// The cell count of each class added up.
    fn add(self, o: Counts) -> Counts {
        Counts {
            positive: self.positive + o.positive,
            negative: self.negative + o.negative,
            soft: self.soft + o.soft,
        }
    }
}

/// Cells per chunk of [`Counts::of_cells`].
const COUNT_CHUNK: usize = 4096;

/// [`Counts`] of `cells` whose positive cells satisfy `positive` (negative: `== 0`, soft: the
/// rest), in fixed chunks counted without branches (so the loops vectorise).
fn count_chunks(cells: &[f64], positive: impl Fn(f64) -> bool + Sync) -> Counts {
    cells
        .par_chunks(COUNT_CHUNK)
        .map(|c| {
            let (mut p, mut n) = (0u64, 0u64);
            for &v in c {
                p += u64::from(positive(v));
                n += u64::from(v == 0.0);
            }
            Counts {
                positive: p,
                negative: n,
                soft: c.len() as u64 - p - n,
            }
        })
        .reduce(Counts::default, |a, b| a + b)
}
/// Everything one layer reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LayerResult {
    /// Objectness targets `[bs, na, ny, nx]`.
    pub tobj: Array4<f64>,
    /// Rows of the box and class losses.
    pub rows: Vec<Row>,
    /// Cell classes.
    pub counts: Counts,
    /// `H_i`: mean hard objectness loss (YOLOv5 assigner: mean over every cell).
    pub hard_loss: f64,
    /// `S_i`: mean soft objectness loss (0 for the YOLOv5 assigner).
    pub soft_loss: f64,
    /// Mean `1 - CIoU` over the rows (before the box gain).
    pub box_loss: f64,
    /// Mean class BCE over rows and classes (before the class gain).
    pub cls_loss: f64,
    /// CIoU's `alpha` per row (a constant for gradients).
    pub ciou_alpha: Vec<f64>,
}

/// The result of an evaluation (spec section 7), on every backend ([`crate::evaluate`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Evaluation {
    /// `(lbox + lobj + lcls) * bs`.
    pub loss: f64,
    /// Box loss after its gain.
    pub lbox: f64,
    /// Objectness loss after its gain.
    pub lobj: f64,
    /// Class loss after its gain.
    pub lcls: f64,
    /// Per layer details.
    pub layers: Vec<LayerResult>,
    /// The balance after the autobalance update (unchanged without autobalance).
    pub balance: Vec<f64>,
    /// `d loss / d predictions`, sparse; see [`Gradient::to_dense`].
    pub grad: Gradient,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_the_count_of_cell_classes() {
        let cells = [0.0, 1.0, 0.5, -0.0, 1.0, 1e-300, 0.999, 2.0, -0.5];
        for assigner in [Assigner::Soft, Assigner::Yolov5] {
            let c = Counts::of_cells(&cells, assigner);
            for class in CellClass::ALL {
                let n = cells
                    .iter()
                    .filter(|&&t| CellClass::of(t, assigner) == class)
                    .count();
                assert_eq!(c.get(class), n as u64, "{class} under {assigner:?}");
            }
        }
        let many: Vec<f64> = (0..10_000).map(|i| f64::from(i % 3) / 2.0).collect();
        let c = Counts::of_cells(&many, Assigner::Soft);
        assert_eq!((c.positive, c.negative, c.soft), (3333, 3334, 3333));
    }
}
