//! The gradient of the total loss with respect to the predictions (spec section 6).

use ndarray::{Array4, Array5};
use rayon::prelude::*;

use crate::error::{Error, Result};

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

/// An element type a dense gradient can be written in: `f32` or `f64`.
///
/// The gradient is computed in `f64`; writing it as `f32` rounds each finished component once.
pub trait GradElement: Copy + Send + Sync + sealed::Sealed {
    /// `v` rounded to this type.
    fn from_f64(v: f64) -> Self;
}

impl GradElement for f32 {
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl GradElement for f64 {
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// Cells per parallel task of [`Gradient::write_dense_into`].
const WRITE_CHUNK: usize = 4096;

impl Gradient {
    /// Writes layer `l`'s dense gradient times `scale` into a caller's buffer: `out` must have
    /// the layer's shape `[bs, na, ny, nx, no]`, in standard (C) layout, and every element is
    /// overwritten. Each component is the value of [`Gradient::dense_layer`] multiplied by
    /// `scale` in `f64` and then rounded once to `T`, so with `scale == 1.0` and `T = f64` the
    /// buffer holds exactly `dense_layer(l)`.
    ///
    /// This is the memory-speed form for training loops (the PyTorch drop-in's backward): one
    /// streaming write of the buffer, in parallel, plus the rows' few cells.
    ///
    /// ```
    /// use soft_objectness::{evaluate, Config, EvalOptions, Inputs, Prediction};
    /// use ndarray::{array, Array3, Array5};
    ///
    /// let config = Config { nc: 2, anchors: Array3::from_elem((1, 1, 2), 3.0), ..Config::default() };
    /// let inputs = Inputs {
    ///     targets: array![[0.0, 1.0, 0.40, 0.55, 0.43, 0.30]],
    ///     predictions: vec![Prediction::F32(Array5::from_elem((1, 1, 8, 8, 7), 0.25))],
    /// };
    /// let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
    /// let dense = e.grad.dense_layer(0);
    /// let mut out = vec![1.0_f32; dense.len()]; // any contents: all overwritten
    /// e.grad.write_dense_into(0, 2.0, &mut out).unwrap();
    /// assert!(dense.iter().zip(&out).all(|(&d, &o)| o == (d * 2.0) as f32));
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when `l` is not a layer or `out`'s length is not the layer's element
    /// count.
    pub fn write_dense_into<T: GradElement>(
        &self,
        l: usize,
        scale: f64,
        out: &mut [T],
    ) -> Result<()> {
        let field = || format!("grad[{l}]");
        let obj = self.obj.get(l).ok_or_else(|| Error::Shape {
            field: "grad".into(),
            expected: format!("a layer index below {}", self.obj.len()),
            got: l.to_string(),
        })?;
        let no = self.no;
        let cells = obj.len();
        if out.len() != cells * no {
            return Err(Error::Shape {
                field: field(),
                expected: format!("{} elements ({cells} cells x {no} channels)", cells * no),
                got: format!("{} elements", out.len()),
            });
        }
        let obj = obj.as_slice().ok_or_else(|| Error::Shape {
            field: field(),
            expected: "a gradient in standard layout".into(),
            got: "a strided one".into(),
        })?;
        let zero = T::from_f64(0.0 * scale); // -0.0 for a negative scale, as 0.0 * scale is
        out.par_chunks_mut(WRITE_CHUNK * no)
            .zip(obj.par_chunks(WRITE_CHUNK))
            .for_each(|(o, g)| {
                for (cell, &v) in o.chunks_exact_mut(no).zip(g) {
                    cell.fill(zero);
                    cell[4] = T::from_f64(v * scale);
                }
            });
        self.write_rows_into(l, scale, out);
        Ok(())
    }

    /// The rows' box and class channels of layer `l`, summed per cell in row order in `f64`
    /// (as [`Gradient::dense_layer`] adds them), then scaled and rounded once.
    fn write_rows_into<T: GradElement>(&self, l: usize, scale: f64, out: &mut [T]) {
        let (_, na, ny, nx) = self.obj[l].dim();
        let no = self.no;
        let rows = &self.rows[l];
        let cell_of = |r: &RowGrad| ((r.b * na + r.a) * ny + r.gj) * nx + r.gi;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&k| cell_of(&rows[k])); // stable: row order within a cell
        let mut sum = vec![0.0_f64; no];
        let mut k = 0;
        while k < order.len() {
            let cell = cell_of(&rows[order[k]]);
            sum.fill(0.0);
            while k < order.len() && cell_of(&rows[order[k]]) == cell {
                let r = &rows[order[k]];
                for (s, &v) in sum.iter_mut().zip(&r.xywh) {
                    *s += v;
                }
                for (s, &v) in sum[5..].iter_mut().zip(&r.cls) {
                    *s += v;
                }
                k += 1;
            }
            let dst = &mut out[cell * no..(cell + 1) * no];
            for c in (0..no).filter(|&c| c != 4) {
                dst[c] = T::from_f64(sum[c] * scale);
            }
        }
    }
}
