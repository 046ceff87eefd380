//! The gradient of the total loss with respect to the predictions (spec section 6).

use ndarray::{Array4, Array5};

/// Gradient of one row's box and class channels at its cell.
#[derive(Debug, Clone, PartialEq)]
pub struct RowGrad {
    /// Image.
    pub b: usize,
    /// Anchor.
    pub a: usize,
    /// Cell row (clamped).
    pub gj: usize,
    /// Cell column (clamped).
    pub gi: usize,
    /// `d loss / d channel` for channels `tx, ty, tw, th`.
    pub xywh: [f64; 4],
    /// `d loss / d channel` for the class channels (empty when `nc == 1`).
    pub cls: Vec<f64>,
}

/// The gradient in sparse form: the objectness channel of every cell, plus the box and class
/// channels of the rows' cells. Rows that share a cell add up in [`Gradient::to_dense`].
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// Per layer, `d loss / d x_obj` over `[bs, na, ny, nx]`.
    pub obj: Vec<Array4<f64>>,
    /// Per layer, the rows' contributions, in row order.
    pub rows: Vec<Vec<RowGrad>>,
    /// Channels per prediction (`5 + nc`).
    pub no: usize,
}

impl Gradient {
    /// One layer in dense form `[bs, na, ny, nx, no]`: every channel of every cell.
    pub fn dense_layer(&self, l: usize) -> Array5<f64> {
        let obj = &self.obj[l];
        let (bs, na, ny, nx) = obj.dim();
        let mut g = Array5::<f64>::zeros((bs, na, ny, nx, self.no));
        for ((b, a, j, i), &v) in obj.indexed_iter() {
            g[[b, a, j, i, 4]] = v;
        }
        for r in &self.rows[l] {
            for (c, &v) in r.xywh.iter().enumerate() {
                g[[r.b, r.a, r.gj, r.gi, c]] += v;
            }
            for (c, &v) in r.cls.iter().enumerate() {
                g[[r.b, r.a, r.gj, r.gi, 5 + c]] += v;
            }
        }
        g
    }

    /// Every layer in dense form.
    pub fn to_dense(&self) -> Vec<Array5<f64>> {
        (0..self.obj.len()).map(|l| self.dense_layer(l)).collect()
    }

    /// The largest absolute component over every layer and channel.
    pub fn max_abs(&self) -> f64 {
        self.to_dense()
            .iter()
            .flat_map(|g| g.iter().map(|v| v.abs()))
            .fold(0.0, f64::max)
    }
}
