//! What an assigner produces: the grid of a layer, its objectness targets and the rows handed
//! to the box and class losses (spec sections 2 to 4); which soft builder produces them.

use ndarray::Array4;

use crate::config::Config;
use crate::inputs::InputsView;
use crate::vocab::Named;

/// Which implementation of the soft assigner builds the targets on the CPU; both give the same
/// targets, bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SoftBuilder {
    /// One cell at a time, the formulas as written: the readable reference.
    Loop,
    /// Separable distances, parallel over `(image, anchor)` planes.
    #[default]
    Vectorised,
}

impl Named for SoftBuilder {
    const NAMES: &'static [(Self, &'static str, &'static str)] = &[
        (
            SoftBuilder::Vectorised,
            "vectorised",
            "separable distances, parallel over planes",
        ),
        (
            SoftBuilder::Loop,
            "loop",
            "one cell at a time, the formulas as written",
        ),
    ];
}

/// One row that the assigner hands to the box and class losses.
///
/// `gi`, `gj` are the cell the row is gathered at, already clamped to the grid; the box target
/// is `(gx - gi, gy - gj, gw, gh)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Image index.
    pub b: usize,
    /// Anchor index.
    pub a: usize,
    /// Class index.
    pub class: usize,
    /// Clamped cell row.
    pub gj: usize,
    /// Clamped cell column.
    pub gi: usize,
    /// Box centre and size in grid units.
    pub gxywh: [f64; 4],
}

impl Row {
    /// The box target `(gx - gi, gy - gj, gw, gh)`.
    pub fn tbox(&self) -> [f64; 4] {
        let [gx, gy, gw, gh] = self.gxywh;
        [gx - self.gi as f64, gy - self.gj as f64, gw, gh]
    }
}

/// Grid geometry of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Batch size.
    pub bs: usize,
    /// Anchors per cell.
    pub na: usize,
    /// Rows of the grid.
    pub ny: usize,
    /// Columns of the grid.
    pub nx: usize,
}

impl Grid {
    /// Cells of one `(image, anchor)` plane.
    pub fn plane(&self) -> usize {
        self.ny * self.nx
    }

    /// Every cell of the layer.
    pub fn cells(&self) -> usize {
        self.bs * self.na * self.ny * self.nx
    }

    /// The grid of every layer of `inputs`, from the prediction shapes and `config`'s anchors
    /// per layer: what [`crate::build_targets`] needs from a batch.
    ///
    /// ```
    /// use soft_objectness::{Config, Grid, Inputs, Prediction};
    /// let inputs = Inputs {
    ///     targets: ndarray::Array2::zeros((0, 6)),
    ///     predictions: vec![Prediction::F32(ndarray::Array5::zeros((2, 3, 8, 6, 85)))],
    /// };
    /// let grids = Grid::of(&Config::default(), &inputs.view());
    /// assert_eq!(grids, [Grid { bs: 2, na: 3, ny: 8, nx: 6 }]);
    /// ```
    pub fn of(config: &Config, inputs: &InputsView) -> Vec<Grid> {
        inputs
            .predictions
            .iter()
            .map(|p| {
                let s = p.shape();
                Grid {
                    bs: s[0],
                    na: config.na(),
                    ny: s[2],
                    nx: s[3],
                }
            })
            .collect()
    }
}

/// The targets of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTargets {
    /// Grid geometry.
    pub grid: Grid,
    /// Objectness targets `[bs, na, ny, nx]`. For the YOLOv5 assigner this is filled by the
    /// loss (its target is the IoU of the prediction) and is all zeros until then.
    pub tobj: Array4<f64>,
    /// Rows for the box and class losses, in emission order.
    pub rows: Vec<Row>,
}
