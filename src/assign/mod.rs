//! Target assignment: which cells of which layer are objects, and how much.
//!
//! * [`matching`]: anchor matching shared by every assigner (spec section 2).
//! * [`yolov5`]: the baseline YOLOv5 v6.0 assigner with neighbour cells (spec section 3).
//! * [`score`]: the soft assigner's cell ranges, distance modes and scores (spec 4.1 to 4.6).
//! * [`soft_loop`]: the soft assigner as a plain loop, the readable reference.
//! * [`soft_vec`]: the same rules, vectorised and parallel over `(image, anchor)` planes.
//!
//! Both soft builders produce bit-identical targets for every input. What they produce
//! ([`Grid`], [`LayerTargets`], [`crate::targets::Row`]) lives in [`crate::targets`].

pub mod matching;
pub mod score;
pub mod soft_loop;
pub mod soft_vec;
pub mod yolov5;

pub use crate::targets::{Grid, LayerTargets};

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::config::{Assigner, Config};
use crate::error::Result;
use crate::targets::SoftBuilder;
use crate::workspace::Workspace;

/// Every layer's targets for the `[nt, 6]` `targets` on the grids `grids`, with the configured
/// assigner and the vectorised builder's `tobj` buffers taken from `ws`. The soft assigner's
/// layers are built concurrently (rayon); the result does not depend on the number of threads.
/// Inputs must have been validated ([`crate::build_targets`] and [`crate::evaluate`] do that).
///
/// # Errors
/// [`crate::Error::TooLarge`] when the boxes of one layer enumerate more cells than
/// [`score::MAX_PAIRS`].
pub fn build_in(
    config: &Config,
    targets: ArrayView2<f64>,
    grids: &[Grid],
    builder: SoftBuilder,
    ws: &mut Workspace,
) -> Result<Vec<LayerTargets>> {
    if config.assigner == Assigner::Soft {
        // Layers are independent: they are built concurrently (the vectorised builder is also
        // parallel over each layer's planes; the loop builder stays one plain loop per layer),
        // so that one layer's serial steps overlap another's work. Smallest grid first: a
        // small grid's boxes cover more of its cells, so its serial part (matching, ranges,
        // score tables) is the longest and its planes the lightest, while the large grids'
        // planes, started last, keep every thread busy to the end (docs/performance.md).
        // Results and errors come back in layer order, as from a serial loop over the layers.
        let mut by_size: Vec<_> = grids
            .iter()
            .enumerate()
            .map(|(l, &g)| {
                let buffer = match builder {
                    SoftBuilder::Vectorised => ws.take(g.cells()),
                    SoftBuilder::Loop => None,
                };
                (l, g, buffer, ws.take_table_scores(l))
            })
            .collect();
        by_size.sort_by_key(|&(_, g, _, _)| g.cells());
        let mut built: Vec<(usize, Result<LayerTargets>, _)> = by_size
            .into_par_iter()
            .map(|(l, grid, buffer, mut scores)| {
                let matched = matching::match_layer(config, targets, l, grid);
                let layer = match builder {
                    SoftBuilder::Loop => soft_loop::build_layer(config, &matched, grid),
                    SoftBuilder::Vectorised => soft_vec::build_layer_in(
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
        .iter()
        .copied()
        .enumerate()
        .map(|(l, grid)| {
            yolov5::build_layer(&matching::match_layer(config, targets, l, grid), grid)
        })
        .collect())
}
