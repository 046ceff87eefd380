//! The inputs of one evaluation (spec section 1) and their validation (spec section 8).
//!
//! [`Inputs`] owns its arrays; [`InputsView`] borrows them (from a caller's buffers, a NumPy
//! array, a memory map) so that an evaluation reads the predictions where they lie. Every
//! evaluation runs on a view: [`Inputs::view`] is free.

use ndarray::{Array2, Array5, ArrayView2, ArrayView5};

use crate::config::Config;
use crate::error::{Error, Result, num};

/// Largest legal logit magnitude: `f32::MAX` (see [`PredictionView::first_illegal_logit`]).
pub const MAX_LOGIT: f64 = f32::MAX as f64;

/// Largest legal magnitude of a target's `x`, `y`, `w`, `h` (normalised units; defined here so
/// that grid coordinates stay far from the range of `i64` and of f64 squares).
pub const MAX_COORD: f64 = 1e6;

/// Whether `x` is not a legal logit (spec section 8): NaN, or larger in magnitude than
/// [`MAX_LOGIT`] (infinities included). The rule of [`PredictionView::first_illegal_logit`].
#[inline(always)]
pub(crate) fn illegal_logit(x: f64) -> bool {
    // `|`, not `||`: branch-free, so scans vectorise; inf is caught by the comparison.
    x.is_nan() | (x.abs() > MAX_LOGIT)
}

/// A prediction element, checked against [`illegal_logit`] in its own precision.
pub(crate) trait Logit: Copy {
    /// [`illegal_logit`] of the value widened to f64.
    fn illegal(self) -> bool;
}

impl Logit for f32 {
    /// Every finite f32 is within [`MAX_LOGIT`], so this is [`illegal_logit`] of the widened
    /// value (an integer test on the bits, which vectorises well; `illegal_is_the_rule` checks
    /// it on every exponent).
    #[inline(always)]
    fn illegal(self) -> bool {
        !self.is_finite()
    }
}

impl Logit for f64 {
    #[inline(always)]
    fn illegal(self) -> bool {
        illegal_logit(self)
    }
}

/// Whether any element of `values` is not a legal logit (a branch-free scan that vectorises).
#[inline]
pub(crate) fn any_illegal<T: Logit>(values: &[T]) -> bool {
    values.iter().fold(false, |hit, &x| hit | x.illegal())
}

/// One detection layer's raw predictions `[bs, na, ny, nx, 5 + nc]`, kept in the precision
/// they arrived in (f32 predictions are widened element by element, never copied).
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// Single precision.
    F32(Array5<f32>),
    /// Double precision.
    F64(Array5<f64>),
}

impl Prediction {
    /// A borrowed view of the same array.
    pub fn view(&self) -> PredictionView<'_> {
        match self {
            Prediction::F32(a) => PredictionView::F32(a.view()),
            Prediction::F64(a) => PredictionView::F64(a.view()),
        }
    }

    /// The shape `[bs, na, ny, nx, no]`.
    pub fn shape(&self) -> [usize; 5] {
        self.view().shape()
    }

    /// The first non-finite element, as `(index, value)`.
    pub fn first_non_finite(&self) -> Option<([usize; 5], f64)> {
        self.view().first_non_finite()
    }

    /// The first element that is not a legal logit ([`PredictionView::first_illegal_logit`]).
    pub fn first_illegal_logit(&self) -> Option<([usize; 5], f64)> {
        self.view().first_illegal_logit()
    }

    /// A copy in f64.
    pub fn to_f64(&self) -> Array5<f64> {
        self.view().to_f64()
    }
}

/// One detection layer's raw predictions, borrowed: the element type of the caller's buffer,
/// any strides (a C-contiguous buffer is scanned fastest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PredictionView<'a> {
    /// Single precision.
    F32(ArrayView5<'a, f32>),
    /// Double precision.
    F64(ArrayView5<'a, f64>),
}

impl PredictionView<'_> {
    /// The shape `[bs, na, ny, nx, no]`.
    pub fn shape(&self) -> [usize; 5] {
        let s = match self {
            PredictionView::F32(a) => a.shape(),
            PredictionView::F64(a) => a.shape(),
        };
        [s[0], s[1], s[2], s[3], s[4]]
    }

    /// The first non-finite element, as `(index, value)`.
    pub fn first_non_finite(&self) -> Option<([usize; 5], f64)> {
        self.first_where(|x| !x.is_finite())
    }

    /// The first element that is not a legal logit, as `(index, value)`: legal logits are
    /// finite and no larger in magnitude than `f32::MAX` (every finite f32 is legal; the bound
    /// keeps sums of losses over a layer finite).
    pub fn first_illegal_logit(&self) -> Option<([usize; 5], f64)> {
        self.first_where(illegal_logit)
    }

    fn first_where(&self, bad: impl Fn(f64) -> bool + Copy + Sync) -> Option<([usize; 5], f64)> {
        fn find<T: Copy + Into<f64> + Send + Sync>(
            a: &ArrayView5<T>,
            bad: impl Fn(f64) -> bool + Copy + Sync,
        ) -> Option<([usize; 5], f64)> {
            use rayon::prelude::*;
            let Some(flat) = a.as_slice() else {
                return a
                    .indexed_iter()
                    .find(|(_, x)| bad((**x).into()))
                    .map(|((i, j, k, l, m), x)| ([i, j, k, l, m], (*x).into()));
            };
            // Fixed chunks searched in parallel; the first chunk with a hit gives the first index.
            let pos = flat
                .par_chunks(1 << 16)
                .enumerate()
                .find_map_first(|(c, chunk)| {
                    // A branch-free scan first (it vectorises, unlike `position`), the exact
                    // position only in a chunk that has a hit.
                    if !chunk.iter().fold(false, |hit, x| hit | bad((*x).into())) {
                        return None;
                    }
                    chunk
                        .iter()
                        .position(|x| bad((*x).into()))
                        .map(|p| c * (1 << 16) + p)
                })?;
            let s = a.shape();
            let mut idx = [0usize; 5];
            let mut rest = pos;
            for d in (0..5).rev() {
                idx[d] = rest % s[d];
                rest /= s[d];
            }
            Some((idx, flat[pos].into()))
        }
        match self {
            PredictionView::F32(a) => find(a, bad),
            PredictionView::F64(a) => find(a, bad),
        }
    }

    /// A copy in f64.
    pub fn to_f64(&self) -> Array5<f64> {
        match self {
            PredictionView::F32(a) => a.mapv(f64::from),
            PredictionView::F64(a) => a.to_owned(),
        }
    }
}

/// The inputs of one evaluation (spec section 1), owning their arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// `[nt, 6]` rows `(image, class, x, y, w, h)`, normalised.
    pub targets: Array2<f64>,
    /// One array per layer.
    pub predictions: Vec<Prediction>,
}

impl Inputs {
    /// A borrowed view of the same arrays.
    pub fn view(&self) -> InputsView<'_> {
        InputsView {
            targets: self.targets.view(),
            predictions: self.predictions.iter().map(Prediction::view).collect(),
        }
    }

    /// Batch size (first dimension of the predictions).
    pub fn batch_size(&self) -> usize {
        self.view().batch_size()
    }

    /// Checks the inputs against spec section 8 and the configuration
    /// ([`InputsView::validate`]).
    ///
    /// # Errors
    /// The first rule broken, naming the field, row and value.
    pub fn validate(&self, config: &Config) -> Result<()> {
        self.view().validate(config)
    }
}

/// The inputs of one evaluation, borrowed.
///
/// ```
/// use ndarray::{Array2, Array5};
/// use soft_objectness::{evaluate, Config, EvalOptions, InputsView, PredictionView};
/// let config = Config { nc: 1, anchors: ndarray::Array3::from_elem((1, 1, 2), 2.0), ..Config::default() };
/// let targets = Array2::from_shape_vec((1, 6), vec![0.0, 0.0, 0.5, 0.5, 0.5, 0.5]).unwrap();
/// let logits = vec![0.0f32; 4 * 4 * 6]; // a caller's buffer, [1, 1, 4, 4, 6]
/// let p = ndarray::ArrayView5::from_shape((1, 1, 4, 4, 6), &logits).unwrap();
/// let inputs = InputsView { targets: targets.view(), predictions: vec![PredictionView::F32(p)] };
/// let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
/// assert_eq!(e.layers[0].counts.positive, 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InputsView<'a> {
    /// `[nt, 6]` rows `(image, class, x, y, w, h)`, normalised.
    pub targets: ArrayView2<'a, f64>,
    /// One array per layer.
    pub predictions: Vec<PredictionView<'a>>,
}

impl<'a> From<&'a Inputs> for InputsView<'a> {
    /// [`Inputs::view`].
    fn from(inputs: &'a Inputs) -> InputsView<'a> {
        inputs.view()
    }
}

impl<'a> From<&InputsView<'a>> for InputsView<'a> {
    /// A copy of the view (the arrays stay where they are).
    fn from(view: &InputsView<'a>) -> InputsView<'a> {
        view.clone()
    }
}

impl InputsView<'_> {
    /// Batch size (first dimension of the predictions).
    pub fn batch_size(&self) -> usize {
        self.predictions.first().map_or(0, |p| p.shape()[0])
    }

    /// Checks the inputs against spec section 8 and the configuration: one prediction layer
    /// per anchor layer, each `[bs, na, ny >= 1, nx >= 1, 5 + nc]` with legal logits, then the
    /// targets (finite, integer image and class indices in range, sizes not negative,
    /// coordinates within `[-1e6, 1e6]`).
    ///
    /// # Errors
    /// The first rule broken, naming the field, row and value.
    pub fn validate(&self, config: &Config) -> Result<()> {
        self.validate_layer_count(config)?;
        for (i, p) in self.predictions.iter().enumerate() {
            self.validate_shape(config, i)?;
            let field = format!("inputs.predictions[{i}]");
            if let Some((idx, v)) = p.first_illegal_logit() {
                let reason = if v.is_finite() {
                    "a logit must not exceed f32::MAX (3.4028235e38) in magnitude"
                } else {
                    "must be a finite number"
                };
                return Err(Error::invalid(
                    format!("{field} at {idx:?}"),
                    num(v),
                    reason,
                ));
            }
        }
        validate_targets(self.targets, self.batch_size(), config.nc)
    }

    /// [`InputsView::validate`] without the values of the predictions: the number of layers,
    /// every layer's shape, then the targets. When this passes, `validate` can only fail on a
    /// prediction value that is not a legal logit, which the CPU evaluation's loss pass
    /// detects as it reads every value ([`crate::evaluate`]); when it fails, `validate` fails
    /// too, with the error it names first.
    ///
    /// # Errors
    /// The first shape or target rule broken.
    pub(crate) fn validate_structure(&self, config: &Config) -> Result<()> {
        self.validate_layer_count(config)?;
        for i in 0..self.predictions.len() {
            self.validate_shape(config, i)?;
        }
        validate_targets(self.targets, self.batch_size(), config.nc)
    }

    /// One prediction layer per anchor layer.
    fn validate_layer_count(&self, config: &Config) -> Result<()> {
        let nl = config.nl();
        if self.predictions.len() != nl {
            return Err(Error::shape(
                "inputs.predictions",
                format!("{nl} layers (config.anchors has {nl})"),
                format!("{} layers", self.predictions.len()),
            ));
        }
        Ok(())
    }

    /// The shape rule of prediction layer `i`: `[bs, na, ny >= 1, nx >= 1, 5 + nc]`, `bs >= 1`,
    /// grids within `i32::MAX / 2`.
    fn validate_shape(&self, config: &Config, i: usize) -> Result<()> {
        let (na, nc) = (config.na(), config.nc);
        let bs = self.batch_size();
        let s = self.predictions[i].shape();
        let field = format!("inputs.predictions[{i}]");
        let no = nc.saturating_add(5);
        let want = format!("[{bs}, {na}, ny >= 1, nx >= 1, {no}] (batch, na, grid, 5 + nc)");
        if s[0] != bs || s[1] != na || s[2] == 0 || s[3] == 0 || s[4] != no || bs == 0 {
            return Err(Error::shape(field, want, format!("{s:?}")));
        }
        if s[2] > i32::MAX as usize / 2 || s[3] > i32::MAX as usize / 2 {
            return Err(Error::invalid(field, format!("{s:?}"), "grid too large"));
        }
        Ok(())
    }
}

/// Checks the targets `[nt, 6]` of a batch of `bs` images with `nc` classes (spec section 8):
/// finite values, integer image and class indices in range, sizes not negative, coordinates
/// within [`MAX_COORD`].
///
/// # Errors
/// The first rule broken, naming the row, the column and the value.
pub fn validate_targets(targets: ArrayView2<f64>, bs: usize, nc: usize) -> Result<()> {
    if targets.ncols() != 6 {
        return Err(Error::shape(
            "inputs.targets",
            "[nt, 6]",
            format!("{:?}", targets.shape()),
        ));
    }
    const COLS: [&str; 6] = ["image", "class", "x", "y", "w", "h"];
    for (r, row) in targets.outer_iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let field = || format!("inputs.targets row {r} ({})", COLS[c]);
            if !v.is_finite() {
                return Err(Error::invalid(field(), num(v), "must be a finite number"));
            }
            match c {
                0 if !(v.fract() == 0.0 && v >= 0.0 && v < bs as f64) => {
                    return Err(Error::invalid(
                        field(),
                        num(v),
                        format!("must be an integer image index in 0..{bs}"),
                    ));
                }
                1 if !(v.fract() == 0.0 && v >= 0.0 && v < nc as f64) => {
                    return Err(Error::invalid(
                        field(),
                        num(v),
                        format!("must be an integer class in 0..{nc}"),
                    ));
                }
                4 | 5 if v < 0.0 => {
                    return Err(Error::invalid(field(), num(v), "must not be negative"));
                }
                2..=5 if v.abs() > MAX_COORD => {
                    return Err(Error::invalid(
                        field(),
                        num(v),
                        "must lie within [-1e6, 1e6] (normalised coordinates)",
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Coordinates above this earn [`target_warning`]: boxes may leave the image a little (their
/// centre outside 0..1 is legal), but not by several image sizes.
pub const PIXEL_LIKE: f64 = 4.0;

/// A warning when the targets look like pixel coordinates: some `x`, `y`, `w` or `h` above
/// [`PIXEL_LIKE`] (legal, but a box several images wide is almost always a unit mistake).
///
pub(crate) fn target_warning(targets: ArrayView2<f64>) -> Option<String> {
    const COLS: [&str; 4] = ["x", "y", "w", "h"];
    let mut worst: Option<(usize, usize, f64)> = None;
    for (r, row) in targets.outer_iter().enumerate() {
        for (c, &v) in row.iter().enumerate().skip(2).take(4) {
            if v.abs() > PIXEL_LIKE && worst.is_none_or(|(_, _, w)| v.abs() > w.abs()) {
                worst = Some((r, c, v));
            }
        }
    }
    let (r, c, v) = worst?;
    Some(format!(
        "inputs.targets row {r} ({}) is {}, the largest coordinate: targets are normalised to \
         the image (x, y, w, h in 0..1); pixel coordinates must be divided by the image size",
        COLS[c - 2],
        num(v)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-precision check is [`illegal_logit`] of the widened value: every f32 exponent
    /// with several mantissas, the f64 boundary at `MAX_LOGIT`, the special values.
    #[test]
    fn pixel_targets_earn_a_warning() {
        let pixels = ndarray::array![[0.0, 1.0, 320.0, 240.0, 64.0, 48.0]];
        let w = target_warning(pixels.view()).unwrap();
        assert!(w.contains("row 0 (x)") && w.contains("320"), "{w}");
        assert!(target_warning(ndarray::array![[0.0, 1.0, 0.5, 0.5, 0.2, 0.1]].view()).is_none());
    }

    #[test]
    fn illegal_is_the_rule() {
        for e in 0u32..256 {
            for m in [0u32, 1, 0x40_0000, 0x7f_ffff, 0x12_3456] {
                for sign in [0u32, 1 << 31] {
                    let x = f32::from_bits(sign | (e << 23) | m);
                    assert_eq!(x.illegal(), illegal_logit(f64::from(x)), "{x:e}");
                }
            }
        }
        let m = MAX_LOGIT;
        for x in [
            m,
            -m,
            m.next_up(),
            -m.next_up(),
            1e300,
            f64::INFINITY,
            f64::NAN,
            0.0,
            -0.0,
        ] {
            assert_eq!(x.illegal(), illegal_logit(x), "{x:e}");
        }
        assert!(!any_illegal(&[0.0f32, f32::MAX, f32::MIN]));
        assert!(any_illegal(&[0.0f32, f32::NAN]) && any_illegal(&[m.next_up(), 0.0]));
    }
}
