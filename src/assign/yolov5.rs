//! The YOLOv5 v6.0 assigner (spec section 3): the centre cell plus up to two
//! neighbour cells per matched row, chosen by which half of its cell the centre lies in.

use ndarray::Array4;

use super::matching::Matched;
use crate::targets::{Grid, LayerTargets, Row};

/// Neighbour offset half-width `g`.
const G: f64 = 0.5;

/// Emits the rows of one layer in the five blocks of spec section 3: every matched row at
/// offset `(0, 0)`, then those with `j` (`(0.5, 0)`), `k` (`(0, 0.5)`), `l` (`(-0.5, 0)`) and
/// `m` (`(0, -0.5)`). `tobj` is left at zero: the YOLOv5 target is the IoU of each row's
/// prediction, written by the loss.
pub fn build_layer(matched: &[Matched], grid: Grid) -> LayerTargets {
    let (nx, ny) = (grid.nx as f64, grid.ny as f64);
    // `frac` is only tested where the value exceeds 1, so `x % 1` equals `x.fract()` there.
    let flags = |m: &Matched| {
        let (gxi, gyi) = (nx - m.gx, ny - m.gy);
        [
            true,
            m.gx % 1.0 < G && m.gx > 1.0,
            m.gy % 1.0 < G && m.gy > 1.0,
            gxi % 1.0 < G && gxi > 1.0,
            gyi % 1.0 < G && gyi > 1.0,
        ]
    };
    const OFFSETS: [(f64, f64); 5] = [(0.0, 0.0), (G, 0.0), (0.0, G), (-G, 0.0), (0.0, -G)];
    let all_flags: Vec<[bool; 5]> = matched.iter().map(flags).collect();
    let mut rows = Vec::with_capacity(matched.len() * 3);
    for (block, &(ox, oy)) in OFFSETS.iter().enumerate() {
        for (m, f) in matched.iter().zip(&all_flags) {
            if !f[block] {
                continue;
            }
            let gi = clamp_trunc(m.gx - ox, grid.nx);
            let gj = clamp_trunc(m.gy - oy, grid.ny);
            rows.push(Row {
                b: m.b,
                a: m.a,
                class: m.class,
                gj,
                gi,
                gxywh: [m.gx, m.gy, m.gw, m.gh],
            });
        }
    }
    LayerTargets {
        grid,
        tobj: Array4::zeros((grid.bs, grid.na, grid.ny, grid.nx)),
        rows,
    }
}

/// `clamp(trunc(v), 0, n - 1)`; `trunc` rounds toward zero.
pub(crate) fn clamp_trunc(v: f64, n: usize) -> usize {
    let t = v.trunc();
    if t <= 0.0 {
        0
    } else if t >= (n - 1) as f64 {
        n - 1
    } else {
        t as usize
    }
}
