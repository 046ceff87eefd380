//! One evaluation on the CPU: validate, assign targets, compute the loss and its gradient;
//! and the targets alone.

use ndarray::ArrayView2;

use crate::array::Limits;
use crate::assign;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::inputs::{InputsView, validate_targets};
use crate::loss::{compute, refuse_empty_boxes};
use crate::options::{Backend, EvalOptions};
use crate::result::Evaluation;
use crate::targets::{Grid, LayerTargets, SoftBuilder};
use crate::totals::{balance_in_force, finite_or_error};
use crate::workspace::Workspace;

/// Validates the inputs, builds the targets and computes the loss and gradient, on the
/// backend of `opts` (the CPU by default).
///
/// `inputs` is borrowed: `&Inputs` or an [`InputsView`] of the caller's own buffers (the
/// predictions are read where they lie, in their own precision, never copied).
///
/// ```
/// use soft_objectness::{evaluate, Config, EvalOptions, Inputs, Prediction};
/// use ndarray::{array, Array5};
/// let config = Config { nc: 2, anchors: ndarray::Array3::from_elem((1, 1, 2), 2.0), ..Config::default() };
/// let inputs = Inputs {
///     targets: array![[0.0, 1.0, 0.5, 0.5, 0.5, 0.5]],
///     predictions: vec![Prediction::F64(Array5::zeros((1, 1, 4, 4, 7)))],
/// };
/// let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
/// assert_eq!(e.layers[0].counts.positive, 1);
/// assert!(e.layers[0].counts.soft > 0);
/// assert!(e.loss > 0.0);
/// ```
///
/// # Errors
/// Any rule of spec section 8 ([`Config::validate`], [`InputsView::validate`]), a balance of
/// the wrong length or with an entry that is not a finite number >= 0, a layer whose boxes
/// cover too many cells, with `ciou: v7.0` a matched row whose predicted width or height is
/// exactly 0 (its box-size logit underflows; [`Error::Invalid`] naming the layer, the row and
/// the logit), or [`Error::NonFinite`] when a result would not be finite (only
/// possible with a balance passed in `opts` that scales the loss past the f64 range). On the
/// GPU, after the same validation, [`Error::Gpu`] when the device fails or an input exceeds
/// its limits.
pub fn evaluate<'a>(
    config: &Config,
    inputs: impl Into<InputsView<'a>>,
    opts: &EvalOptions,
) -> Result<Evaluation> {
    Workspace::new().evaluate(config, inputs, opts)
}

impl Workspace {
    /// [`evaluate`] with this workspace's buffers; bit for bit the same result.
    ///
    /// # Errors
    /// As [`evaluate`].
    pub fn evaluate<'a>(
        &mut self,
        config: &Config,
        inputs: impl Into<InputsView<'a>>,
        opts: &EvalOptions,
    ) -> Result<Evaluation> {
        let inputs = inputs.into();
        let balance = opts.balance.as_deref();
        match &opts.backend {
            Backend::Cpu(builder) => evaluate_cpu(config, &inputs, *builder, balance, self),
            Backend::Gpu(ctx) => evaluate_gpu(ctx, config, &inputs, balance),
        }
    }

    /// [`build_targets`] with this workspace's buffers (the vectorised builder's `tobj`).
    ///
    /// # Errors
    /// As [`build_targets`].
    pub fn build_targets(
        &mut self,
        config: &Config,
        targets: ArrayView2<f64>,
        grids: &[Grid],
        builder: SoftBuilder,
    ) -> Result<Vec<LayerTargets>> {
        config.validate()?;
        validate_grids(config, grids)?;
        let bs = grids.first().map_or(0, |g| g.bs);
        validate_targets(targets, bs, config.nc)?;
        assign::build_in(config, targets, grids, builder, self)
    }
}

/// [`evaluate`] on the CPU with soft builder `builder` and the layer balance `balance` (the
/// default when `None`), its large buffers taken from `ws`.
pub(crate) fn evaluate_cpu(
    config: &Config,
    inputs: &InputsView,
    builder: SoftBuilder,
    balance: Option<&[f64]>,
    ws: &mut Workspace,
) -> Result<Evaluation> {
    config.validate()?;
    // Spec 8 without the prediction values; those are checked by the loss pass as it streams
    // through them (one read of the predictions instead of two). Whenever anything fails,
    // the full validation runs first, so every error is the one it names (the first rule
    // broken, in its order), as if it had run before everything else.
    let validated = || inputs.validate(config);
    if inputs.validate_structure(config).is_err() {
        validated()?;
    }
    let first_error = |e: Error| validated().err().unwrap_or(e);
    let balance = balance_in_force(config, balance).map_err(first_error)?;
    // The targets depend on the targets and the grids' shapes alone, never on prediction
    // values, so building them before the values are checked changes nothing.
    let grids = Grid::of(config, inputs);
    let targets =
        assign::build_in(config, inputs.targets, &grids, builder, ws).map_err(first_error)?;
    // Spec 8's last rule, on the matched rows' predicted boxes (`ciou: v7.0`): it reads their
    // box logits alone, so an earlier rule broken anywhere (an illegal logit included) is the
    // one named.
    refuse_empty_boxes(config, inputs, targets.iter().map(|t| t.rows.as_slice()))
        .map_err(first_error)?;
    let checked = compute::compute_checked(config, inputs, targets, &balance, ws);
    if checked.illegal {
        // The loss pass met an illegal logit: the validation names the first one.
        validated()?;
    }
    finite_or_error(checked.evaluation)
}

/// [`evaluate`] on the GPU device `ctx`: the CPU path's validation in full, then the shaders
/// on the borrowed inputs.
fn evaluate_gpu(
    ctx: &GpuContext,
    config: &Config,
    inputs: &InputsView,
    balance: Option<&[f64]>,
) -> Result<Evaluation> {
    config.validate()?;
    inputs.validate(config)?;
    let balance = balance_in_force(config, balance)?;
    crate::gpu::run(ctx, config, inputs, balance)
}

/// The targets of every layer from the `[nt, 6]` `targets` and the layers' grids alone (no
/// predictions; [`Grid::of`] gives a batch's): what a training loop needs before its own
/// loss. The same targets as an evaluation's ([`crate::LayerResult::tobj`],
/// [`crate::LayerResult::rows`]); for the YOLOv5 assigner `tobj` is all zeros (its targets
/// are the IoUs of the predictions, spec section 3).
///
/// ```
/// use soft_objectness::{build_targets, Config, Grid, SoftBuilder};
/// let config = Config { nc: 1, anchors: ndarray::Array3::from_elem((1, 1, 2), 2.0), ..Config::default() };
/// let targets = ndarray::array![[0.0, 0.0, 0.5, 0.5, 0.5, 0.5]];
/// let grid = Grid { bs: 1, na: 1, ny: 4, nx: 4 };
/// let t = build_targets(&config, targets.view(), &[grid], SoftBuilder::default()).unwrap();
/// assert_eq!(t[0].tobj[[0, 0, 2, 2]], 1.0);
/// assert_eq!(t[0].rows.len(), 1);
/// ```
///
/// # Errors
/// [`Config::validate`]; one grid per anchor layer, each with the configured `na`, the same
/// batch size and at least one cell; the targets' rules of spec section 8; a layer whose
/// boxes cover too many cells.
pub fn build_targets(
    config: &Config,
    targets: ArrayView2<f64>,
    grids: &[Grid],
    builder: SoftBuilder,
) -> Result<Vec<LayerTargets>> {
    Workspace::new().build_targets(config, targets, grids, builder)
}

/// One grid per anchor layer, each `[bs, na, ny >= 1, nx >= 1]` with one batch size `bs >= 1`.
fn validate_grids(config: &Config, grids: &[Grid]) -> Result<()> {
    let (nl, na) = (config.nl(), config.na());
    if grids.len() != nl {
        return Err(Error::shape(
            "shapes",
            format!("{nl} layers (config.anchors has {nl})"),
            format!("{} layers", grids.len()),
        ));
    }
    let bs = grids[0].bs;
    for (i, g) in grids.iter().enumerate() {
        let s = [g.bs, g.na, g.ny, g.nx];
        if g.bs != bs || g.na != na || g.ny == 0 || g.nx == 0 || bs == 0 {
            return Err(Error::shape(
                format!("shapes[{i}]"),
                format!("[{bs}, {na}, ny >= 1, nx >= 1] (batch, na, grid)"),
                format!("{s:?}"),
            ));
        }
        if g.ny > i32::MAX as usize / 2 || g.nx > i32::MAX as usize / 2 {
            return Err(Error::invalid(
                format!("shapes[{i}]"),
                format!("{s:?}"),
                "grid too large",
            ));
        }
        // The targets of a layer are one f64 per cell: refused before they are allocated.
        let cells = [g.na, g.ny, g.nx]
            .iter()
            .fold(g.bs as u64, |n, &d| n.saturating_mul(d as u64));
        let limit = Limits::default().max_elements;
        if cells > limit {
            return Err(Error::TooLarge {
                field: format!("shapes[{i}]"),
                elements: cells,
                limit,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Assigner;
    use crate::default_batch::DefaultBatch;
    use crate::inputs::{Inputs, Prediction};

    fn build(b: &DefaultBatch) -> (Config, Inputs) {
        b.build().unwrap()
    }

    /// Two images of 96x64 pixels, 3 classes, 5 boxes each: the validation-order tests' batch.
    fn small_batch() -> (Config, Inputs) {
        build(&DefaultBatch {
            batch: 2,
            width: 96,
            height: 64,
            nc: 3,
            boxes_per_image: 5,
            seed: 9,
        })
    }

    /// Buffers left over from a larger, different batch (stale values everywhere) change no
    /// bit of any later result, for both assigners and both builders.
    #[test]
    fn recycled_buffers_change_nothing() {
        let big = DefaultBatch {
            batch: 3,
            width: 128,
            height: 96,
            nc: 4,
            boxes_per_image: 9,
            seed: 7,
        };
        let small = DefaultBatch {
            batch: 2,
            width: 96,
            height: 64,
            nc: 3,
            boxes_per_image: 5,
            seed: 8,
        };
        let mut ws = Workspace::new();
        let (c, i) = build(&big);
        let e = ws.evaluate(&c, &i, &EvalOptions::default()).unwrap();
        ws.recycle(e);
        let held = ws.spare_bytes();
        assert!(held >= 2 * 8 * 3 * 3 * (16 * 12 + 8 * 6 + 4 * 3));
        for assigner in [Assigner::Soft, Assigner::Yolov5] {
            for builder in [SoftBuilder::Vectorised, SoftBuilder::Loop] {
                let (c, i) = build(&small);
                let c = Config { assigner, ..c };
                let opts = EvalOptions::with_backend(Backend::Cpu(builder));
                let fresh = evaluate(&c, &i, &opts).unwrap();
                let reused = ws.evaluate(&c, &i, &opts).unwrap();
                assert_eq!(fresh, reused, "{assigner:?} {builder:?}");
                for (a, b) in fresh.grad.obj.iter().zip(&reused.grad.obj) {
                    assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
                }
                ws.recycle(reused);
            }
        }
        // Targets alone come back too.
        let (c, i) = build(&small);
        let grids = Grid::of(&c, &i.view());
        let t = ws
            .build_targets(&c, i.targets.view(), &grids, SoftBuilder::Vectorised)
            .unwrap();
        let fresh = build_targets(&c, i.targets.view(), &grids, SoftBuilder::Vectorised);
        assert_eq!(t, fresh.unwrap());
        ws.recycle_targets(t);
    }

    /// The logit check inside the loss pass changes no error: with bad values anywhere (one
    /// or several, every layer, f32 and f64, last channel and objectness channel), and with a
    /// bad value together with a bad shape or target later in validation's order,
    /// `evaluate` names exactly what `Inputs::validate` names.
    #[test]
    fn fused_check_gives_the_validation_error() {
        let (c, base) = small_batch();
        let same = |i: &Inputs, what: &str| {
            let want = i.validate(&c).unwrap_err().to_string();
            let got = evaluate(&c, i, &EvalOptions::default()).unwrap_err();
            assert_eq!(got.to_string(), want, "{what}");
            let mut ws = Workspace::new();
            let got = ws.evaluate(&c, i, &EvalOptions::default()).unwrap_err();
            assert_eq!(got.to_string(), want, "{what} (workspace)");
        };
        let bad = [f64::NAN, f64::INFINITY, -f64::INFINITY, 1e39];
        for f64s in [false, true] {
            let mut inputs = base.clone();
            if f64s {
                for p in &mut inputs.predictions {
                    *p = Prediction::F64(p.to_f64());
                }
            }
            for (l, v) in [(0, 0), (1, 1), (2, 2), (2, 3), (0, 1)] {
                let mut i = inputs.clone();
                let set = |p: &mut Prediction, at: [usize; 5], x: f64| match p {
                    Prediction::F32(a) => a[at] = x as f32,
                    Prediction::F64(a) => a[at] = x,
                };
                let s = i.predictions[l].shape();
                let last = [s[0] - 1, s[1] - 1, s[2] - 1, s[3] - 1, s[4] - 1];
                set(&mut i.predictions[l], last, bad[v]);
                set(&mut i.predictions[l], [1, 0, 0, 0, 4], bad[(v + 1) % 4]);
                if l < 2 {
                    set(&mut i.predictions[2], [0, 0, 0, 0, 0], f64::NAN);
                }
                if !f64s && v == 3 {
                    continue; // 1e39 is inf in f32, already covered
                }
                same(&i, &format!("layer {l} value {v} f64 {f64s}"));
                // A later shape error and a later target error: the value still comes first.
                let mut j = i.clone();
                j.targets[[0, 0]] = 99.0;
                same(&j, "bad value then bad target");
                if l == 0 {
                    let mut k = i.clone();
                    k.predictions[1] = Prediction::F32(ndarray::Array5::zeros((2, 3, 1, 1, 7)));
                    same(&k, "bad value then bad shape");
                }
            }
        }
        // A bad target alone, a bad shape alone: the validation's errors.
        let mut j = base.clone();
        j.targets[[1, 2]] = f64::NAN;
        same(&j, "bad target");
    }

    /// Spec 8's rule on v7.0's empty predicted boxes comes after every other rule: with every
    /// box-size logit underflowing, the first matched row of layer 0 is named alone, and an
    /// illegal logit anywhere, a bad target or a bad balance is named instead, as validation
    /// (or the balance check) names it.
    #[test]
    fn an_empty_box_is_named_after_every_earlier_rule() {
        let (c, mut base) = small_batch();
        let c = Config {
            ciou: crate::config::Ciou::V7,
            ..c
        };
        for p in &mut base.predictions {
            if let Prediction::F32(a) = p {
                a.slice_mut(ndarray::s![.., .., .., .., 2..4]).fill(-400.0);
            }
        }
        let opts = EvalOptions::default();
        let e = evaluate(&c, &base, &opts).unwrap_err().to_string();
        let rows = build_targets(
            &c,
            base.targets.view(),
            &Grid::of(&c, &base.view()),
            SoftBuilder::Loop,
        )
        .unwrap();
        let r = rows[0].rows[0];
        let field = format!("inputs.predictions[0] at {:?}: ", [r.b, r.a, r.gj, r.gi, 2]);
        assert!(
            e.starts_with(&field) && e.contains(" matched row 0 "),
            "{e}"
        );
        assert!(base.validate(&c).is_ok());
        let mut nan = base.clone();
        if let Prediction::F32(a) = &mut nan.predictions[2] {
            a[[1, 2, 1, 1, 7]] = f32::NAN;
        }
        let mut target = base.clone();
        target.targets[[0, 1]] = 9.0;
        for i in [nan, target] {
            let want = i.validate(&c).unwrap_err().to_string();
            assert_eq!(evaluate(&c, &i, &opts).unwrap_err().to_string(), want);
        }
        let balance = EvalOptions {
            balance: Some(vec![1.0]),
            ..EvalOptions::default()
        };
        let e = evaluate(&c, &base, &balance).unwrap_err().to_string();
        assert!(e.contains("balance"), "{e}");
    }

    #[test]
    fn build_targets_equals_the_evaluation_targets() {
        let (c, i) = build(&DefaultBatch {
            batch: 2,
            width: 96,
            height: 64,
            nc: 3,
            boxes_per_image: 5,
            seed: 8,
        });
        let view = i.view();
        let t = build_targets(&c, view.targets, &Grid::of(&c, &view), SoftBuilder::Loop).unwrap();
        let e = evaluate(&c, &i, &EvalOptions::default()).unwrap();
        for (t, r) in t.iter().zip(&e.layers) {
            assert_eq!(t.tobj, r.tobj);
            assert_eq!(t.rows, r.rows);
        }
        let mut bad = Grid::of(&c, &view);
        bad[1].na = 2;
        let err = build_targets(&c, view.targets, &bad, SoftBuilder::Loop).unwrap_err();
        assert!(err.to_string().contains("shapes[1]"), "{err}");
        let err = build_targets(&c, view.targets, &bad[..2], SoftBuilder::Loop).unwrap_err();
        assert!(err.to_string().contains("shapes"), "{err}");
        let mut huge = Grid::of(&c, &view);
        huge[0].ny = 1 << 20;
        huge[0].nx = 1 << 20;
        let err = build_targets(&c, view.targets, &huge, SoftBuilder::Loop).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    }
}
