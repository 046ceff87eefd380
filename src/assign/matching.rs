//! Anchor matching (spec section 2), shared by every assigner.

use ndarray::ArrayView2;

use super::Grid;
use crate::config::Config;

/// A (anchor, target) pair kept by the ratio test, in grid units of its layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matched {
    /// Image index.
    pub b: usize,
    /// Class index.
    pub class: usize,
    /// Anchor index.
    pub a: usize,
    /// Box centre x in grid units.
    pub gx: f64,
    /// Box centre y in grid units.
    pub gy: f64,
    /// Box width in grid units.
    pub gw: f64,
    /// Box height in grid units.
    pub gh: f64,
}

/// The matched rows of layer `l`, anchor-major (all targets for anchor 0, then anchor 1, ...).
///
/// A pair is kept when `max(rw, 1/rw, rh, 1/rh) < anchor_t` with `rw = gw / anchor_w`,
/// `rh = gh / anchor_h`; a zero width or height is never kept. `targets` has the six columns
/// `(image, class, x, y, w, h)` of validated inputs ([`crate::Inputs::validate`]); with any
/// other number of columns nothing matches.
///
/// ```
/// use soft_objectness::{Config, assign::{Grid, matching::match_layer}};
/// let config = Config::default();
/// let targets = ndarray::array![[0.0, 3.0, 0.5, 0.5, 0.05, 0.05]];
/// let grid = Grid { bs: 1, na: 3, ny: 80, nx: 80 };
/// let m = match_layer(&config, targets.view(), 0, grid);
/// assert_eq!(m.len(), 3); // a 4x4-cell box fits all three small anchors
/// assert_eq!((m[0].gx, m[0].class), (40.0, 3));
/// ```
pub fn match_layer(
    config: &Config,
    targets: ArrayView2<f64>,
    l: usize,
    grid: Grid,
) -> Vec<Matched> {
    let (nx, ny) = (grid.nx as f64, grid.ny as f64);
    let anchor_t = config.hyp.anchor_t;
    let targets = targets.as_standard_layout();
    let rows = targets
        .as_slice()
        .expect("a standard-layout array is contiguous");
    if targets.ncols() != 6 {
        return Vec::new(); // validation refuses these: nothing matches
    }
    // Box sizes in grid units, then the ratio test for every target at once (a loop without
    // branches over contiguous values, which the compiler vectorises), then the kept rows.
    let gw: Vec<f64> = rows.chunks_exact(6).map(|t| t[4] * nx).collect();
    let gh: Vec<f64> = rows.chunks_exact(6).map(|t| t[5] * ny).collect();
    let mut keep = vec![false; gw.len()];
    let mut out = Vec::with_capacity(config.na() * targets.nrows());
    for a in 0..config.na() {
        let (aw, ah) = (config.anchors[[l, a, 0]], config.anchors[[l, a, 1]]);
        for ((k, &w), &h) in keep.iter_mut().zip(&gw).zip(&gh) {
            let (rw, rh) = (w / aw, h / ah);
            let r = (rw.max(1.0 / rw)).max(rh.max(1.0 / rh));
            *k = r < anchor_t;
        }
        for ((t, _), (&gw, &gh)) in rows
            .chunks_exact(6)
            .zip(&keep)
            .zip(gw.iter().zip(&gh))
            .filter(|((_, k), _)| **k)
        {
            out.push(Matched {
                b: t[0] as usize,
                class: t[1] as usize,
                a,
                gx: t[2] * nx,
                gy: t[3] * ny,
                gw,
                gh,
            });
        }
    }
    out
}
