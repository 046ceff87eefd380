//! One evaluation on the device: the host's O(targets) part (matching, ranges, order, rows,
//! separable terms, score classes), the split of each layer into chunks of whole images that
//! fit the device's buffer limits, every pass recorded in one submission, one readback, and the
//! assembly of the [`Evaluation`].

use std::borrow::Cow;
use std::collections::HashMap;

use ndarray::{Array4, ArrayView5};

use super::box_cls::{BoxBuffers, BoxParams, BoxRow, RowOut};
use super::exact::{self, ScoreClasses};
use super::obj_loss::{ObjBuffers, ObjParams};
use super::pool::{Pool, Role};
use super::soft_assign::{GpuClasses, SoftBuffers, SoftParams, SoftRow, Term};
use super::yolo_target::{YoloBuffers, YoloParams};
use super::{ErrorScopes, GpuContext, grid_of};
use crate::assign::matching::{self, Matched};
use crate::assign::score::{self, CellRange};
use crate::assign::{self, Grid, Row, soft_loop, yolov5};
use crate::case::{Inputs, Prediction};
use crate::config::{Assigner, Config, Distance, Overlap, Score, SoftLoss};
use crate::error::{Error, Result};
use crate::eval::{Counts, Evaluation, LayerResult};
use crate::grad::{Gradient, RowGrad};

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);
const UNIFORM: wgpu::BufferUsages = wgpu::BufferUsages::UNIFORM.union(wgpu::BufferUsages::COPY_DST);
const READBACK: wgpu::BufferUsages =
    wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

const SOFT_ROW_BYTES: u64 = std::mem::size_of::<SoftRow>() as u64;
const TERM_BYTES: u64 = std::mem::size_of::<Term>() as u64;
const CLASSES_BYTES: u64 = std::mem::size_of::<GpuClasses>() as u64;
const BOX_ROW_BYTES: u64 = std::mem::size_of::<BoxRow>() as u64;
const ROW_OUT_BYTES: u64 = std::mem::size_of::<RowOut>() as u64;
/// `tobj_u` holds `U_KEY - bits(1 - t)` (`shaders/soft_assign.wgsl`).
const U_KEY: u32 = 0x7f80_0000;

/// The soft assigner's host data of one layer.
struct SoftHost {
    matched: Vec<Matched>,
    ranges: Vec<CellRange>,
    /// Matched-row indices in write order (stable largest first).
    order: Vec<usize>,
}

/// One layer: its rows (exactly the CPU path's) and its chunks of images.
struct LayerPlan {
    grid: Grid,
    rows: Vec<Row>,
    soft: Option<SoftHost>,
    chunks: Vec<(usize, usize)>,
}

/// Per-image counts that size the buffers.
#[derive(Debug, Clone, Copy, Default)]
struct ImageLoad {
    rows: u64,
    soft_rows: u64,
    terms: u64,
}

/// What sizes a layer's buffers besides its per-image loads.
#[derive(Debug, Clone, Copy)]
struct LayerShape {
    grid: Grid,
    no: u64,
    nc: u64,
    max_per_dim: u32,
}

/// The device's limits a chunk must respect, in bytes.
#[derive(Debug, Clone, Copy)]
struct BufferLimits {
    /// Largest storage binding (the context's binding limit).
    storage: u64,
    /// Largest buffer (the readback).
    buffer: u64,
}

/// Buffer sizes of a chunk of images, in bytes, with what each holds and whether it is a
/// storage binding (else the readback buffer).
fn chunk_sizes(s: LayerShape, images: u64, load: ImageLoad) -> [(&'static str, u64, bool); 9] {
    let cells = images * (s.grid.na * s.grid.ny * s.grid.nx) as u64;
    let (x, y) = grid_of(cells, s.max_per_dim);
    let partials = u64::from(x) * u64::from(y) * 8;
    let cls = if s.nc > 1 { load.rows * s.nc * 4 } else { 0 };
    let readback = cells * 12 + partials + load.rows * ROW_OUT_BYTES + cls;
    [
        ("predictions", cells * s.no * 4, true),
        ("per-cell targets", cells * 4, true),
        ("workgroup partial sums", partials, true),
        ("soft rows", load.soft_rows * SOFT_ROW_BYTES, true),
        ("distance terms", load.terms * TERM_BYTES, true),
        ("score classes", (load.soft_rows + 1) * CLASSES_BYTES, true),
        ("rows", load.rows * BOX_ROW_BYTES.max(ROW_OUT_BYTES), true),
        ("class gradients", cls, true),
        ("results to read back", readback, false),
    ]
}

/// Splits a layer's images into consecutive chunks whose buffers fit `limits`, as few as
/// possible.
fn plan_chunks(
    l: usize,
    shape: LayerShape,
    loads: &[ImageLoad],
    limits: BufferLimits,
) -> Result<Vec<(usize, usize)>> {
    let sum = |a: usize, b: usize| {
        loads[a..b]
            .iter()
            .fold(ImageLoad::default(), |s, x| ImageLoad {
                rows: s.rows + x.rows,
                soft_rows: s.soft_rows + x.soft_rows,
                terms: s.terms + x.terms,
            })
    };
    let too_big = |a: usize, b: usize| {
        chunk_sizes(shape, (b - a) as u64, sum(a, b))
            .into_iter()
            .find(|&(_, bytes, storage)| {
                bytes
                    > if storage {
                        limits.storage
                    } else {
                        limits.buffer
                    }
            })
    };
    let mut chunks = Vec::new();
    let mut a = 0;
    while a < loads.len() {
        if let Some((what, bytes, storage)) = too_big(a, a + 1) {
            let (kind, limit) = if storage {
                ("storage-buffer binding limit", limits.storage)
            } else {
                ("buffer size limit", limits.buffer)
            };
            return Err(Error::Gpu(format!(
                "layer {l}, image {a}: its {what} need {bytes} bytes, more than the device's {kind} of \
                 {limit} bytes even with one image per chunk; use the CPU path"
            )));
        }
        let mut b = a + 1;
        while b < loads.len() && too_big(a, b + 1).is_none() {
            b += 1;
        }
        chunks.push((a, b));
        a = b;
    }
    Ok(chunks)
}

/// `v` as f32, refusing values that overflow or underflow (to zero or a subnormal) in f32.
fn f32_of(v: f64, what: &str) -> Result<f32> {
    let f = v as f32;
    if !f.is_finite() || (v != 0.0 && f.abs() < f32::MIN_POSITIVE) {
        return Err(Error::Gpu(format!(
            "{what} = {v} is outside the f32 range of the GPU path"
        )));
    }
    Ok(f)
}

/// The predictions of images `b0..b1` of one layer as f32 (borrowed when already f32).
fn pred_chunk<'a>(p: &'a Prediction, l: usize, b0: usize, b1: usize) -> Result<Cow<'a, [f32]>> {
    fn slice<'b, T: Copy>(a: ArrayView5<'b, T>, b0: usize, b1: usize) -> Cow<'b, [T]>
    where
        [T]: ToOwned<Owned = Vec<T>>,
    {
        let part = a.slice_move(ndarray::s![b0..b1, .., .., .., ..]);
        match part.to_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(part.iter().copied().collect()),
        }
    }
    match p {
        Prediction::F32(a) => Ok(slice(a.view(), b0, b1)),
        Prediction::F64(a) => {
            let part = slice(a.view(), b0, b1);
            let mut out = Vec::with_capacity(part.len());
            for (i, &v) in part.iter().enumerate() {
                let f = v as f32;
                if !f.is_finite() {
                    let field = format!(
                        "inputs.predictions[{l}] element {}",
                        i + b0 * a.len() / a.shape()[0]
                    );
                    return Err(Error::Gpu(format!(
                        "{field} = {v} is outside the f32 range of the GPU path"
                    )));
                }
                out.push(f);
            }
            Ok(Cow::Owned(out))
        }
    }
}

/// Host planning of every layer.
fn plan(
    ctx: &GpuContext,
    config: &Config,
    inputs: &Inputs,
    binding_limit: u64,
    max_dim: u32,
) -> Result<Vec<LayerPlan>> {
    let limits = BufferLimits {
        storage: binding_limit,
        buffer: ctx.limits.max_buffer_size,
    };
    let no = (5 + config.nc) as u64;
    let mut plans = Vec::new();
    for (l, grid) in assign::grids(config, inputs).into_iter().enumerate() {
        if grid.cells() > u32::MAX as usize {
            return Err(Error::Gpu(format!(
                "layer {l} has {} cells, more than the GPU path's 32-bit cell indices allow; use the CPU path",
                grid.cells()
            )));
        }
        let matched = matching::match_layer(config, inputs.targets.view(), l, grid);
        let (rows, soft) = match config.assigner {
            Assigner::Soft => {
                let (ranges, order) = score::ranges_and_order(&matched)?;
                let rows = soft_loop::centre_rows(&matched, &ranges, grid);
                (
                    rows,
                    Some(SoftHost {
                        matched,
                        ranges,
                        order,
                    }),
                )
            }
            Assigner::Yolov5 => (yolov5::build_layer(&matched, grid).rows, None),
        };
        let mut loads = vec![ImageLoad::default(); grid.bs];
        for r in &rows {
            loads[r.b].rows += 1;
        }
        if let Some(s) = &soft {
            for (m, r) in s.matched.iter().zip(&s.ranges) {
                loads[m.b].soft_rows += 1;
                loads[m.b].terms += (r.width + r.height) as u64;
            }
        }
        let shape = LayerShape {
            grid,
            no,
            nc: config.nc as u64,
            max_per_dim: max_dim,
        };
        let chunks = plan_chunks(l, shape, &loads, limits)?;
        plans.push(LayerPlan {
            grid,
            rows,
            soft,
            chunks,
        });
    }
    Ok(plans)
}

/// Where one chunk's results are in its readback buffer, and which rows it holds.
struct ChunkOut {
    layer: usize,
    b0: usize,
    cells: u64,
    partial_pairs: u64,
    row_ids: Vec<usize>,
    readback: wgpu::Buffer,
    readback_bytes: u64,
}

/// Everything recorded for one evaluation.
struct Recorded {
    chunks: Vec<ChunkOut>,
    totals: Vec<wgpu::Buffer>,
}

pub(super) fn evaluate(
    ctx: &GpuContext,
    config: &Config,
    inputs: &Inputs,
    balance: Vec<f64>,
) -> Result<Evaluation> {
    let mut state = ctx.lock()?;
    ctx.health()?;
    let plans = plan(ctx, config, inputs, state.binding_limit, state.max_per_dim)?;
    let scopes = ErrorScopes::push(&ctx.device);
    let max_dim = state.max_per_dim;
    let recorded = record(
        ctx,
        &mut state.pool,
        max_dim,
        config,
        inputs,
        &plans,
        &balance,
    );
    let read = recorded.and_then(|rec| {
        let mut list: Vec<(wgpu::Buffer, u64)> = rec
            .chunks
            .iter()
            .map(|c| (c.readback.clone(), c.readback_bytes))
            .collect();
        list.extend(rec.totals.iter().map(|t| (t.clone(), 16)));
        ctx.read_back(&list).map(|words| (rec, words))
    });
    scopes.pop("evaluating on the device")?;
    ctx.health()?;
    let (rec, words) = read?;
    crate::eval::finite_or_error(assemble(config, inputs, plans, &rec, &words, &balance))
}

/// Fills the buffers and records every pass of every layer; submits.
fn record(
    ctx: &GpuContext,
    pool: &mut Pool,
    max_dim: u32,
    config: &Config,
    inputs: &Inputs,
    plans: &[LayerPlan],
    balance: &[f64],
) -> Result<Recorded> {
    let dev = &ctx.device;
    let queue = &ctx.queue;
    let k = &ctx.kernels;
    let max_buffer = ctx.limits.max_buffer_size;
    let h = &config.hyp;
    let bs = inputs.batch_size() as f64;
    let no = 5 + config.nc;
    let nc = config.nc;
    let mut encoder = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("softobj evaluate"),
    });
    let mut out = Recorded {
        chunks: Vec::new(),
        totals: Vec::new(),
    };
    // The score classes of the non-diagonal modes do not depend on the row.
    let shared_classes = match (config.assigner, config.distance) {
        (Assigner::Soft, Distance::CellIndex | Distance::Continuous) => {
            Some(ScoreClasses::new(config.score, None))
        }
        _ => None,
    };
    let (score_kind, power_n, two_sigma2) = match config.score {
        Score::Power { n } => (0u32, n, 1.0f32),
        Score::Gaussian { sigma } => (
            1,
            0,
            (2.0 * (sigma * sigma)).clamp(f64::from(f32::MIN_POSITIVE), f64::from(f32::MAX)) as f32,
        ),
    };
    let (soft_kind, loss1_gamma) = match config.soft_loss {
        SoftLoss::Loss1 { gamma } => (0u32, f32_of(gamma, "config.soft_loss.gamma")?),
        SoftLoss::Loss2 => (1, 0.0),
        SoftLoss::Loss3 => (2, 0.0),
    };
    let obj_pw = f32_of(h.obj_pw, "config.hyp.obj_pw")?;
    let cls_pw = f32_of(h.cls_pw, "config.hyp.cls_pw")?;
    let fl_gamma = f32_of(h.fl_gamma, "config.hyp.fl_gamma")?;
    let cp = f32_of(
        1.0 - 0.5 * h.label_smoothing,
        "class target 1 - label_smoothing / 2",
    )?;
    let cn = f32_of(0.5 * h.label_smoothing, "class target label_smoothing / 2")?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());

    for (l, plan) in plans.iter().enumerate() {
        let grid = plan.grid;
        let plane_cells = grid.ny * grid.nx;
        let image_cells = (grid.na * plane_cells) as u64;
        let layer_cells = grid.cells() as u64;
        let n_rows = plan.rows.len();
        let box_scale = if n_rows > 0 {
            -h.box_gain * bs / n_rows as f64
        } else {
            0.0
        };
        let cls_scale = if n_rows > 0 {
            h.cls * bs / (n_rows * nc) as f64
        } else {
            0.0
        };
        let box_scale = f32_of(box_scale, "box gradient scale (box * bs / rows)")?;
        let cls_scale = f32_of(cls_scale, "class gradient scale (cls * bs / (rows * nc))")?;
        let obj_scale = f32_of(
            bs * h.obj * balance[l],
            "objectness scale (bs * obj * balance)",
        )?;
        let anchors: Vec<(f32, f32)> = (0..grid.na)
            .map(|a| {
                let field = format!("config.anchors[{l}][{a}]");
                Ok((
                    f32_of(config.anchors[[l, a, 0]], &field)?,
                    f32_of(config.anchors[[l, a, 1]], &field)?,
                ))
            })
            .collect::<Result<_>>()?;
        let totals = pool.get(dev, (Role::Totals, l, 0), 16, STORAGE, max_buffer);
        encoder.clear_buffer(&totals, 0, None);
        let mut obj_groups = Vec::new();

        for (c, &(b0, b1)) in plan.chunks.iter().enumerate() {
            let key = |role| (role, l, c);
            let cells = (b1 - b0) as u64 * image_cells;
            let cell_bytes = cells * 4;
            // Rows of the chunk, in emission order, and their box records.
            let row_ids: Vec<usize> = (0..n_rows)
                .filter(|&i| (b0..b1).contains(&plan.rows[i].b))
                .collect();
            let box_rows: Vec<BoxRow> = row_ids
                .iter()
                .map(|&i| {
                    let r = &plan.rows[i];
                    let tbox = r.tbox();
                    let cell =
                        (((r.b - b0) * grid.na + r.a) * plane_cells + r.gj * grid.nx + r.gi) as u32;
                    Ok(BoxRow {
                        cell,
                        cls: r.class as u32,
                        anchor_w: anchors[r.a].0,
                        anchor_h: anchors[r.a].1,
                        tbox: [
                            tbox[0] as f32,
                            tbox[1] as f32,
                            f32_of(tbox[2], "box width")?,
                            f32_of(tbox[3], "box height")?,
                        ],
                    })
                })
                .collect::<Result<_>>()?;
            let rows_n = box_rows.len() as u64;
            let pred = pred_chunk(&inputs.predictions[l], l, b0, b1)?;
            let pred_bytes = cells * no as u64 * 4;
            let pred_buf = pool.get(dev, key(Role::Pred), pred_bytes, STORAGE, max_buffer);
            queue.write_buffer(&pred_buf, 0, bytemuck::cast_slice(&pred));
            let tobj = pool.get(dev, key(Role::Tobj), cell_bytes, STORAGE, max_buffer);
            let tobj_u = pool.get(dev, key(Role::TobjU), cell_bytes, STORAGE, max_buffer);
            let winner = pool.get(dev, key(Role::Winner), cell_bytes, STORAGE, max_buffer);
            encoder.clear_buffer(&tobj, 0, None);
            encoder.clear_buffer(&tobj_u, 0, None);
            encoder.clear_buffer(&winner, 0, None);
            let row_bytes = rows_n * BOX_ROW_BYTES;
            let box_rows_buf = pool.get(dev, key(Role::BoxRows), row_bytes, STORAGE, max_buffer);
            if !box_rows.is_empty() {
                queue.write_buffer(&box_rows_buf, 0, bytemuck::cast_slice(&box_rows));
            }
            let row_out = pool.get(
                dev,
                key(Role::RowOut),
                rows_n * ROW_OUT_BYTES,
                STORAGE,
                max_buffer,
            );
            let cls_bytes = if nc > 1 { rows_n * nc as u64 * 4 } else { 0 };
            let cls_grad = pool.get(dev, key(Role::ClsGrad), cls_bytes, STORAGE, max_buffer);

            // Soft targets.
            if let Some(soft) = &plan.soft {
                let mut soft_rows = Vec::new();
                let mut terms = Vec::new();
                let mut classes: Vec<GpuClasses> = Vec::new();
                let mut memo: HashMap<u64, u32> = HashMap::new();
                if let Some(sc) = &shared_classes {
                    classes.push(sc.into());
                }
                let mut pair_start = 0u64;
                for &m_i in soft
                    .order
                    .iter()
                    .filter(|&&m_i| (b0..b1).contains(&soft.matched[m_i].b))
                {
                    let (m, r) = (&soft.matched[m_i], &soft.ranges[m_i]);
                    let denom = exact::row_terms(
                        config.distance,
                        m,
                        r,
                        grid.nx as f64,
                        grid.ny as f64,
                        &mut xs,
                        &mut ys,
                    );
                    let x_off = terms.len() as u32;
                    terms.extend(xs.iter().map(|&v| Term::of(v)));
                    let y_off = terms.len() as u32;
                    terms.extend(ys.iter().map(|&v| Term::of(v)));
                    let class_index = match denom {
                        None => 0,
                        Some(q) => *memo.entry(q.to_bits()).or_insert_with(|| {
                            classes.push((&ScoreClasses::new(config.score, Some(q))).into());
                            (classes.len() - 1) as u32
                        }),
                    };
                    let plane = ((m.b - b0) * grid.na + m.a) * plane_cells;
                    let centre = &plan.rows[m_i];
                    // S at d = 2 (4 denom^2) as an f32 pair.
                    let q = denom.map_or(4.0, |q| 4.0 * (q * q));
                    let q_hi = q as f32;
                    soft_rows.push(SoftRow {
                        pair_start: pair_start as u32,
                        width: r.width as u32,
                        height: r.height as u32,
                        plane: plane as u32,
                        gi1: r.gi1.clamp(-(1 << 30), 1 << 30) as i32,
                        gj1: r.gj1.clamp(-(1 << 30), 1 << 30) as i32,
                        x_off,
                        y_off,
                        centre: (plane + centre.gj * grid.nx + centre.gi) as u32,
                        denom: denom.map_or(1.0, |q| q as f32),
                        classes: class_index,
                        q_hi,
                        q_lo: (q - f64::from(q_hi)) as f32,
                        pad: [0; 3],
                    });
                    pair_start += r.cells();
                }
                let p = SoftParams {
                    n_rows: soft_rows.len() as u32,
                    n_pairs: pair_start as u32,
                    nx: grid.nx as u32,
                    ny: grid.ny as u32,
                    overlap_max: u32::from(config.overlap == Overlap::Max),
                    score_kind,
                    power_n,
                    two_sigma2,
                };
                let sr_bytes = soft_rows.len() as u64 * SOFT_ROW_BYTES;
                let t_bytes = terms.len() as u64 * TERM_BYTES;
                let c_bytes = classes.len() as u64 * CLASSES_BYTES;
                let params = pool.get(dev, key(Role::SoftParams), 32, UNIFORM, max_buffer);
                let sr = pool.get(dev, key(Role::SoftRows), sr_bytes, STORAGE, max_buffer);
                let tb = pool.get(dev, key(Role::Terms), t_bytes, STORAGE, max_buffer);
                let cb = pool.get(dev, key(Role::Classes), c_bytes, STORAGE, max_buffer);
                queue.write_buffer(&params, 0, bytemuck::bytes_of(&p));
                if !soft_rows.is_empty() {
                    queue.write_buffer(&sr, 0, bytemuck::cast_slice(&soft_rows));
                    queue.write_buffer(&tb, 0, bytemuck::cast_slice(&terms));
                }
                if !classes.is_empty() {
                    queue.write_buffer(&cb, 0, bytemuck::cast_slice(&classes));
                }
                let b = SoftBuffers {
                    params: (&params, 32),
                    rows: (&sr, sr_bytes),
                    terms: (&tb, t_bytes),
                    classes: (&cb, c_bytes),
                    winner: (&winner, cell_bytes),
                    tobj: (&tobj, cell_bytes),
                    tobj_u: (&tobj_u, cell_bytes),
                };
                k.soft_assign.encode(dev, &mut encoder, &b, &p, max_dim);
            }

            // Box and class terms of the rows (then, for the baseline, its targets).
            let bp = BoxParams {
                n_rows: rows_n as u32,
                no: no as u32,
                nc: nc as u32,
                pad0: 0,
                cls_pw,
                fl_gamma,
                box_scale,
                cls_scale,
                cp,
                cn,
                pad1: 0,
                pad2: 0,
            };
            let box_params = pool.get(dev, key(Role::BoxParams), 48, UNIFORM, max_buffer);
            queue.write_buffer(&box_params, 0, bytemuck::bytes_of(&bp));
            let bb = BoxBuffers {
                params: (&box_params, 48),
                pred: (&pred_buf, pred_bytes),
                rows: (&box_rows_buf, row_bytes),
                row_out: (&row_out, rows_n * ROW_OUT_BYTES),
                cls_grad: (&cls_grad, cls_bytes),
            };
            k.box_cls.encode(dev, &mut encoder, &bb, &bp, max_dim);
            if plan.soft.is_none() {
                let yp = YoloParams {
                    n_rows: rows_n as u32,
                    pad: [0; 3],
                };
                let yolo_params = pool.get(dev, key(Role::YoloParams), 16, UNIFORM, max_buffer);
                queue.write_buffer(&yolo_params, 0, bytemuck::bytes_of(&yp));
                let yb = YoloBuffers {
                    params: (&yolo_params, 16),
                    rows: (&box_rows_buf, row_bytes),
                    row_out: (&row_out, rows_n * ROW_OUT_BYTES),
                    winner: (&winner, cell_bytes),
                    tobj: (&tobj, cell_bytes),
                };
                k.yolo_target.encode(dev, &mut encoder, &yb, &yp, max_dim);
            }

            // Objectness: counts now, losses once every chunk of the layer is counted.
            let op = ObjParams {
                n_cells: cells as u32,
                no: no as u32,
                soft_assigner: u32::from(plan.soft.is_some()),
                soft_kind,
                layer_cells: layer_cells as u32,
                pad: [0; 3],
                obj_pw,
                fl_gamma,
                obj_scale,
                loss1_gamma,
            };
            let (gx, gy) = grid_of(cells, max_dim);
            let partial_pairs = u64::from(gx) * u64::from(gy);
            let obj_params = pool.get(dev, key(Role::ObjParams), 48, UNIFORM, max_buffer);
            queue.write_buffer(&obj_params, 0, bytemuck::bytes_of(&op));
            let grad = pool.get(dev, key(Role::Grad), cell_bytes, STORAGE, max_buffer);
            let partials = pool.get(
                dev,
                key(Role::Partials),
                partial_pairs * 8,
                STORAGE,
                max_buffer,
            );
            let group = k.obj_loss.bind(
                dev,
                &ObjBuffers {
                    params: (&obj_params, 48),
                    pred: (&pred_buf, pred_bytes),
                    tobj: (&tobj, cell_bytes),
                    tobj_u: (&tobj_u, cell_bytes),
                    totals: (&totals, 16),
                    grad: (&grad, cell_bytes),
                    partials: (&partials, partial_pairs * 8),
                },
            );
            k.obj_loss.encode_count(&mut encoder, &group, &op, max_dim);

            // Readback: tobj | tobj_u | grad | partials | row_out | cls_grad.
            let rb_bytes = 3 * cell_bytes + partial_pairs * 8 + rows_n * ROW_OUT_BYTES + cls_bytes;
            let readback = pool.get(dev, key(Role::Readback), rb_bytes, READBACK, max_buffer);
            obj_groups.push((
                [
                    tobj,
                    tobj_u,
                    grad,
                    partials,
                    row_out,
                    cls_grad,
                    readback.clone(),
                ],
                group,
                op,
            ));
            out.chunks.push(ChunkOut {
                layer: l,
                b0,
                cells,
                partial_pairs,
                row_ids,
                readback,
                readback_bytes: rb_bytes,
            });
        }
        let first = out.chunks.len() - plan.chunks.len();
        for (j, ([tobj, tobj_u, grad, partials, row_out, cls_grad, readback], group, op)) in
            obj_groups.iter().enumerate()
        {
            let written = k.obj_loss.encode_loss(&mut encoder, group, op, max_dim);
            let ch = &out.chunks[first + j];
            debug_assert_eq!(written, ch.partial_pairs);
            let cell_bytes = ch.cells * 4;
            let rows_n = ch.row_ids.len() as u64;
            let cls_bytes = if nc > 1 { rows_n * nc as u64 * 4 } else { 0 };
            let mut off = 0;
            for (src, bytes) in [
                (tobj, cell_bytes),
                (tobj_u, cell_bytes),
                (grad, cell_bytes),
                (partials, ch.partial_pairs * 8),
                (row_out, rows_n * ROW_OUT_BYTES),
                (cls_grad, cls_bytes),
            ] {
                if bytes > 0 {
                    encoder.copy_buffer_to_buffer(src, 0, readback, off, bytes);
                }
                off += bytes;
            }
        }
        let totals_rb = pool.get(dev, (Role::TotalsReadback, l, 0), 16, READBACK, max_buffer);
        encoder.copy_buffer_to_buffer(&totals, 0, &totals_rb, 0, 16);
        out.totals.push(totals_rb);
    }
    queue.submit([encoder.finish()]);
    Ok(out)
}

/// Builds the [`Evaluation`] from the words read back.
fn assemble(
    config: &Config,
    inputs: &Inputs,
    plans: Vec<LayerPlan>,
    rec: &Recorded,
    words: &[Vec<u32>],
    balance: &[f64],
) -> Evaluation {
    let bs = inputs.batch_size() as f64;
    let nc = config.nc;
    let n_chunks = rec.chunks.len();
    let mut layers = Vec::with_capacity(plans.len());
    let mut grad = Gradient {
        obj: Vec::with_capacity(plans.len()),
        rows: Vec::with_capacity(plans.len()),
        no: 5 + nc,
    };
    for (l, plan) in plans.into_iter().enumerate() {
        let grid = plan.grid;
        let image_cells = grid.na * grid.ny * grid.nx;
        let mut tobj = vec![0.0f64; grid.cells()];
        let mut gobj = vec![0.0f64; grid.cells()];
        let (mut hard_sum, mut soft_sum) = (0.0f64, 0.0f64);
        let soft_assigner = plan.soft.is_some();
        let mut row_out = vec![
            RowOut {
                ciou: 0.0,
                box_term: 0.0,
                cls_sum: 0.0,
                alpha: 0.0,
                grad: [0.0; 4]
            };
            plan.rows.len()
        ];
        let mut cls_grad = vec![0.0f32; if nc > 1 { plan.rows.len() * nc } else { 0 }];
        for (ch, w) in rec.chunks.iter().zip(words).filter(|(ch, _)| ch.layer == l) {
            let cells = ch.cells as usize;
            let at = ch.b0 * image_cells;
            for ((dst, &bits), &key) in tobj[at..at + cells]
                .iter_mut()
                .zip(&w[..cells])
                .zip(&w[cells..2 * cells])
            {
                let t = f32::from_bits(bits);
                // A soft target close to 1 is reported as 1 - (1 - t), which the shader computed
                // to f32 relative accuracy.
                *dst = if soft_assigner && t > 0.5 && t < 1.0 {
                    1.0 - f64::from(f32::from_bits(U_KEY - key))
                } else {
                    f64::from(t)
                };
            }
            for (dst, &bits) in gobj[at..at + cells]
                .iter_mut()
                .zip(&w[2 * cells..3 * cells])
            {
                *dst = f64::from(f32::from_bits(bits));
            }
            let mut o = 3 * cells;
            for pair in w[o..o + 2 * ch.partial_pairs as usize].chunks_exact(2) {
                hard_sum += f64::from(f32::from_bits(pair[0]));
                soft_sum += f64::from(f32::from_bits(pair[1]));
            }
            o += 2 * ch.partial_pairs as usize;
            let outs: &[RowOut] = bytemuck::cast_slice(&w[o..o + ch.row_ids.len() * 8]);
            o += ch.row_ids.len() * 8;
            for (j, &i) in ch.row_ids.iter().enumerate() {
                row_out[i] = outs[j];
                if nc > 1 {
                    for c in 0..nc {
                        cls_grad[i * nc + c] = f32::from_bits(w[o + j * nc + c]);
                    }
                }
            }
        }
        let t = &words[n_chunks + l];
        let counts = Counts {
            positive: u64::from(t[0]),
            negative: u64::from(t[1]),
            soft: u64::from(t[2]),
        };
        let n_hard = if soft_assigner {
            counts.positive + counts.negative
        } else {
            grid.cells() as u64
        };
        let hard_loss = if n_hard > 0 {
            hard_sum / n_hard as f64
        } else {
            0.0
        };
        let soft_loss = if counts.soft > 0 {
            soft_sum / counts.soft as f64
        } else {
            0.0
        };
        let n = plan.rows.len();
        let box_sum: f64 = row_out.iter().map(|r| f64::from(r.box_term)).sum();
        let cls_sum: f64 = row_out.iter().map(|r| f64::from(r.cls_sum)).sum();
        let box_loss = if n > 0 { box_sum / n as f64 } else { 0.0 };
        let cls_loss = if n > 0 && nc > 1 {
            cls_sum / (n * nc) as f64
        } else {
            0.0
        };
        let row_grads = plan
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| RowGrad {
                b: r.b,
                a: r.a,
                gj: r.gj,
                gi: r.gi,
                xywh: row_out[i].grad.map(f64::from),
                cls: if nc > 1 {
                    cls_grad[i * nc..(i + 1) * nc]
                        .iter()
                        .map(|&g| f64::from(g))
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        let shape = (grid.bs, grid.na, grid.ny, grid.nx);
        layers.push(LayerResult {
            tobj: Array4::from_shape_vec(shape, tobj).expect("sized from the grid"),
            rows: plan.rows,
            counts,
            hard_loss,
            soft_loss,
            box_loss,
            cls_loss,
            ciou_alpha: row_out.iter().map(|r| f64::from(r.alpha)).collect(),
        });
        grad.obj
            .push(Array4::from_shape_vec(shape, gobj).expect("sized from the grid"));
        grad.rows.push(row_grads);
    }
    crate::loss::compute::totals(config, bs, balance, layers, grad)
}
