//! What every GPU test shares: the device, the tolerances, the comparison with the oracle.

use std::sync::OnceLock;

use libtest_mimic::{Completion, Trial};
use ndarray::{Array3, Array5};
use soft_objectness::gpu::{GpuContext, NO_ADAPTER_HELP};
use soft_objectness::{
    Backend, CellClass, Config, Distance, Error, EvalOptions, Evaluation, GpuError, Inputs,
    Prediction, Result, Score, evaluate,
};

/// [`evaluate`] on the GPU device `ctx` with the balance of `opts`.
pub(crate) fn on_gpu(
    ctx: &GpuContext,
    config: &Config,
    inputs: &Inputs,
    opts: &EvalOptions,
) -> Result<Evaluation> {
    let mut opts = opts.clone();
    opts.backend = Backend::Gpu(ctx.clone());
    evaluate(config, inputs, &opts)
}

/// The device every GPU test shares, opened once (by the first test that runs).
enum Device {
    Ready(GpuContext),
    /// No adapter: the test is ignored with the reason, or fails under `SOFTOBJ_REQUIRE_GPU=1`.
    Missing(String),
    /// Any other failure to start (a kernel that does not compile, a device that cannot be
    /// opened): the test fails.
    Broken(String),
}

fn device() -> &'static Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE.get_or_init(|| match GpuContext::new() {
        Ok(ctx) => Device::Ready(ctx),
        Err(Error::Gpu(GpuError::NoAdapter { cause })) => Device::Missing(cause),
        Err(e) => Device::Broken(e.to_string()),
    })
}

/// Whether a missing adapter fails the GPU tests instead of ignoring them (`.ci/run` sets it).
fn gpu_required() -> bool {
    std::env::var("SOFTOBJ_REQUIRE_GPU").as_deref() == Ok("1")
}

/// One GPU test as a trial of the harness: `test` runs on the shared device and fails by
/// panicking. Without an adapter the trial is reported as ignored, with the reason, unless
/// `SOFTOBJ_REQUIRE_GPU=1`, which makes it fail; any other failure to start fails it.
pub(crate) fn gpu_trial(name: &str, test: fn(&GpuContext)) -> Trial {
    Trial::ignorable_test(name, move || match device() {
        Device::Ready(ctx) => {
            test(ctx);
            Ok(Completion::Completed)
        }
        Device::Missing(cause) if gpu_required() => Err(format!(
            "SOFTOBJ_REQUIRE_GPU=1 but no GPU adapter: {NO_ADAPTER_HELP} ({cause})"
        )
        .into()),
        Device::Missing(_) => Ok(Completion::ignored_with(
            "no GPU adapter; SOFTOBJ_REQUIRE_GPU=1 makes this a failure",
        )),
        Device::Broken(e) => Err(format!("the GPU path failed to start: {e}").into()),
    })
}

/// Why the GPU tests are ignored, to print once before they run: `None` when a device opened
/// or when a missing adapter fails the tests (each failure then says why).
pub(crate) fn why_ignored() -> Option<String> {
    match device() {
        Device::Missing(cause) if !gpu_required() => {
            Some(format!("GPU tests ignored: {NO_ADAPTER_HELP} ({cause})"))
        }
        _ => None,
    }
}

/// A second device of the same adapter, for tests that change a context's settings or
/// destroy it.
pub(crate) fn own_ctx() -> GpuContext {
    GpuContext::new().expect("a second device on the adapter that opened the first")
}

/// Tolerances of the GPU path against the f64 oracle (docs/gpu.md, "error budget").
///
/// * a loss `g` (total, `lbox`, `lobj`, `lcls`, and per layer `H_i`, `S_i`, box and class
///   means) against the oracle's `c`: `|g - c| <= loss_rel * max(|g|, |c|)`;
/// * a target: `|g - c| <= tobj_abs`;
/// * a gradient component: `|g - c| <= grad_rel_max * max |c|` over every layer and channel;
/// * counts, the class of every cell and the matched rows: identical.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tolerance {
    pub(crate) loss_rel: f64,
    pub(crate) tobj_abs: f64,
    pub(crate) grad_rel_max: f64,
}

impl Tolerance {
    /// What the GPU path promises of its f32 results (docs/gpu.md).
    pub(crate) const GPU_F32: Tolerance = Tolerance {
        loss_rel: 2e-5,
        tobj_abs: 2e-5,
        grad_rel_max: 1e-4,
    };
}

/// The largest errors measured, in the units of [`Tolerance`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Worst {
    cases: usize,
    loss_rel: f64,
    /// Which loss, in which case, had the largest relative error.
    loss_where: String,
    tobj_abs: f64,
    grad_rel_max: f64,
}

impl Worst {
    pub(crate) fn merge(&mut self, o: Worst) {
        self.cases += o.cases;
        if o.loss_rel > self.loss_rel {
            self.loss_rel = o.loss_rel;
            self.loss_where = o.loss_where;
        }
        self.tobj_abs = self.tobj_abs.max(o.tobj_abs);
        self.grad_rel_max = self.grad_rel_max.max(o.grad_rel_max);
    }

    pub(crate) fn print(&self, what: &str) {
        println!(
            "GPU worst case over {} {what}: loss rel {:.3e} ({}), tobj abs {:.3e}, grad rel-to-max {:.3e}",
            self.cases, self.loss_rel, self.loss_where, self.tobj_abs, self.grad_rel_max
        );
    }
}

/// Compares a GPU evaluation with the oracle's; `values = false` checks only what must be
/// identical (classes, counts, rows), for cases outside the documented f32 domain.
pub(crate) fn compare(
    name: &str,
    config: &Config,
    g: &Evaluation,
    c: &Evaluation,
    tol: Tolerance,
    values: bool,
) -> Result<Worst, String> {
    let mut w = Worst {
        cases: 1,
        ..Worst::default()
    };
    if g.layers.len() != c.layers.len() {
        return Err(format!(
            "{name}: {} layers, expected {}",
            g.layers.len(),
            c.layers.len()
        ));
    }
    for (l, (gl, cl)) in g.layers.iter().zip(&c.layers).enumerate() {
        if gl.counts != cl.counts {
            return Err(format!(
                "{name}: layer {l} counts {:?}, expected {:?}",
                gl.counts, cl.counts
            ));
        }
        let key = |r: &soft_objectness::Row| (r.b, r.a, r.gj, r.gi, r.class);
        if gl.rows.iter().map(key).ne(cl.rows.iter().map(key)) {
            return Err(format!("{name}: layer {l} rows differ"));
        }
        for ((idx, &gt), &ct) in gl.tobj.indexed_iter().zip(cl.tobj.iter()) {
            if CellClass::of(gt, config.assigner) != CellClass::of(ct, config.assigner) {
                return Err(format!(
                    "{name}: layer {l} tobj at {idx:?}: class of {gt:e} differs from the oracle's {ct:e}"
                ));
            }
            let d = (gt - ct).abs();
            if values && d > tol.tobj_abs {
                return Err(format!(
                    "{name}: layer {l} tobj at {idx:?}: got {gt}, expected {ct}, tolerance {}",
                    tol.tobj_abs
                ));
            }
            w.tobj_abs = w.tobj_abs.max(d);
        }
    }
    if !values {
        return Ok(w);
    }
    let mut losses = vec![
        ("loss".to_string(), g.loss, c.loss),
        ("lbox".into(), g.lbox, c.lbox),
        ("lobj".into(), g.lobj, c.lobj),
        ("lcls".into(), g.lcls, c.lcls),
    ];
    for (l, (gl, cl)) in g.layers.iter().zip(&c.layers).enumerate() {
        losses.push((format!("hard_loss[{l}]"), gl.hard_loss, cl.hard_loss));
        losses.push((format!("soft_loss[{l}]"), gl.soft_loss, cl.soft_loss));
        losses.push((format!("box_loss[{l}]"), gl.box_loss, cl.box_loss));
        losses.push((format!("cls_loss[{l}]"), gl.cls_loss, cl.cls_loss));
    }
    for (i, (gb, cb)) in g.balance.iter().zip(&c.balance).enumerate() {
        losses.push((format!("balance[{i}]"), *gb, *cb));
    }
    for (what, gv, cv) in losses {
        let scale = gv.abs().max(cv.abs());
        let rel = if scale > 0.0 {
            (gv - cv).abs() / scale
        } else {
            0.0
        };
        if rel > tol.loss_rel {
            return Err(format!(
                "{name}: {what}: got {gv}, expected {cv}, relative error {rel:.3e} > {}",
                tol.loss_rel
            ));
        }
        if rel > w.loss_rel {
            w.loss_rel = rel;
            w.loss_where = format!("{what} of {}", name.split(" (").next().unwrap_or(name));
        }
    }
    let (gd, cd) = (g.grad.to_dense(), c.grad.to_dense());
    let max = cd
        .iter()
        .flat_map(|a| a.iter())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (l, (ga, ca)) in gd.iter().zip(&cd).enumerate() {
        for ((idx, &gv), &cv) in ga.indexed_iter().zip(ca.iter()) {
            let e = if max > 0.0 {
                (gv - cv).abs() / max
            } else {
                (gv - cv).abs()
            };
            if e > tol.grad_rel_max {
                return Err(format!(
                    "{name}: grad[{l}] at {idx:?}: got {gv}, expected {cv}, error {e:.3e} of the largest component {max:e} > {}",
                    tol.grad_rel_max
                ));
            }
            w.grad_rel_max = w.grad_rel_max.max(e);
        }
    }
    Ok(w)
}

/// Evaluates on both paths and compares; panics with the first difference.
pub(crate) fn check(
    ctx: &GpuContext,
    name: &str,
    config: &Config,
    inputs: &Inputs,
    opts: &EvalOptions,
    values: bool,
) -> Worst {
    let c = evaluate(config, inputs, opts).unwrap_or_else(|e| panic!("{name}: oracle: {e}"));
    let g = on_gpu(ctx, config, inputs, opts).unwrap_or_else(|e| panic!("{name}: gpu: {e}"));
    compare(name, config, &g, &c, Tolerance::GPU_F32, values).unwrap_or_else(|e| panic!("{e}"))
}

/// One box of spec section 4's worked example on an 8x8 layer, with the given score and
/// distance mode.
pub(crate) fn one_box(score: Score, distance: Distance, xywh: [f64; 4]) -> (Config, Inputs) {
    let config = Config {
        nc: 1,
        anchors: Array3::from_elem((1, 1, 2), 3.0),
        score,
        distance,
        ..Config::default()
    };
    let [x, y, w, h] = xywh;
    let inputs = Inputs {
        targets: ndarray::array![[0.0, 0.0, x, y, w, h]],
        predictions: vec![Prediction::F32(Array5::zeros((1, 1, 8, 8, 6)))],
    };
    (config, inputs)
}
