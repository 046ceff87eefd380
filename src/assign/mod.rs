//! Target assignment: which cells of which layer are objects, and how much.
//!
//! * [`matching`]: anchor matching shared by every assigner (spec section 2).
//! * [`yolov5`]: the baseline YOLOv5 v6.0 assigner with neighbour cells (spec section 3).
//! * [`score`]: the soft assigner's cell ranges, distance modes and scores (spec 4.1 to 4.6).
//! * [`soft_loop`]: the soft assigner as a plain loop, the readable reference.
//! * [`soft_vec`]: the same rules, vectorised and parallel over `(image, anchor)` planes.
//!
//! Both soft builders produce bit-identical targets for every input.

pub mod matching;
pub mod score;
pub mod soft_loop;
pub mod soft_vec;
pub mod yolov5;

use ndarray::Array4;
use rayon::prelude::*;

use crate::case::Inputs;
use crate::config::{Assigner, Config};
use crate::error::Result;
use crate::workspace::Workspace;

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
}

/// The targets of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTargets {
    /// Grid geometry.
    pub grid: Grid,
    /// Objectness targets `[bs, na, ny, nx]`. For the baseline assigner this is filled by the
    /// loss (its target is the IoU of the prediction) and is all zeros until then.
    pub tobj: Array4<f64>,
    /// Rows for the box and class losses, in emission order.
    pub rows: Vec<Row>,
}

/// Which implementation of the soft assigner to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Builder {
    /// [`soft_loop`]: one cell at a time, the formulas as written.
    Loop,
    /// [`soft_vec`]: separable distances, parallel over planes.
    #[default]
    Vectorised,
}

/// The grid of every layer, from the prediction shapes.
pub fn grids(config: &Config, inputs: &Inputs) -> Vec<Grid> {
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

/// Builds every layer's targets with the configured assigner. The soft assigner's layers are
/// built concurrently (rayon); the result does not depend on the number of threads.
///
/// Inputs must have been validated ([`Inputs::validate`]); [`crate::evaluate`] does that.
///
/// # Errors
/// [`crate::Error::TooLarge`] when the boxes of one layer enumerate more cells than
/// [`score::MAX_PAIRS`].
pub fn build(config: &Config, inputs: &Inputs, builder: Builder) -> Result<Vec<LayerTargets>> {
    build_in(config, inputs, builder, &mut Workspace::new())
}

/// [`build`] with the vectorised builder's `tobj` buffers taken from `ws`
/// ([`Workspace::build`]); the result is bit for bit that of [`build`].
pub(crate) fn build_in(
    config: &Config,
    inputs: &Inputs,
    builder: Builder,
    ws: &mut Workspace,
) -> Result<Vec<LayerTargets>> {
    let grids = grids(config, inputs);
    if config.assigner == Assigner::Soft {
        // Layers are independent: they are built concurrently (the vectorised builder is also
        // parallel over each layer's planes; the loop builder stays one plain loop per layer),
        // so that one layer's serial steps overlap another's work. Smallest grid first: a
        // small grid's boxes cover more of its cells, so its serial part (matching, ranges,
        // score tables) is the longest and its planes the lightest, while the large grids'
        // planes, started last, keep every thread busy to the end (at 32 boxes per image on
        // two threads: 0.166 instead of 0.20 ms). Results and errors come back in layer order,
        // as from a serial loop over the layers.
        let mut by_size: Vec<_> = grids
            .iter()
            .enumerate()
            .map(|(l, &g)| {
                let buffer = match builder {
                    Builder::Vectorised => ws.take(g.cells()),
                    Builder::Loop => None,
                };
                (l, g, buffer, ws.take_table_scores(l))
            })
            .collect();
        by_size.sort_by_key(|&(_, g, _, _)| g.cells());
        let mut built: Vec<(usize, Result<LayerTargets>, _)> = by_size
            .into_par_iter()
            .map(|(l, grid, buffer, mut scores)| {
                let matched = matching::match_layer(config, inputs.targets.view(), l, grid);
                let layer = match builder {
                    Builder::Loop => soft_loop::build_layer(config, &matched, grid),
                    Builder::Vectorised => soft_vec::build_layer_in(
                        config,
                        &matched,
                        grid,
                        buffer.unwrap_or_default(),
                        &mut scores,
                    ),
                };
                (l, layer, scores)
            })
            .collect();
        built.sort_by_key(|&(l, _, _)| l);
        return built
            .into_iter()
            .map(|(l, layer, scores)| {
                ws.put_table_scores(l, scores);
                layer
            })
            .collect();
    }
    // The baseline assigner: a few rows per layer, cheaper in one thread.
    Ok(grids
        .into_iter()
        .enumerate()
        .map(|(l, grid)| {
            yolov5::build_layer(
                &matching::match_layer(config, inputs.targets.view(), l, grid),
                grid,
            )
        })
        .collect())
}
