//! What the host uploads, in f32 and in the shaders' record layouts: the parameters, the
//! predictions of a chunk, its box rows and the soft assigner's rows, terms and score classes.
//! Every value that would overflow or underflow f32 is refused here, naming its field.

use std::borrow::Cow;
use std::collections::HashMap;

use ndarray::ArrayView5;

use super::box_cls::BoxRow;
use super::exact::ClassIntervals;
use super::obj_loss;
use super::plan::{LayerPlan, SoftHost};
use super::soft_assign::{ScoreClasses, SoftParams, SoftRow, Term};
use crate::assign::score::Separable;
use crate::config::{Config, Distance, SoftLoss};
use crate::error::{GpuError, Result};
use crate::inputs::PredictionView;
use crate::loss::norm::{class_targets, obj_scale, row_scales};
use crate::targets::Grid;

/// `v` as f32, refusing values that overflow or underflow (to zero or a subnormal) in f32.
pub(crate) fn f32_of(v: f64, field: &str) -> Result<f32> {
    let f = v as f32;
    if !f.is_finite() || (v != 0.0 && f.abs() < f32::MIN_POSITIVE) {
        return Err(out_of_range(field.to_string(), v));
    }
    Ok(f)
}

fn out_of_range(field: String, value: f64) -> crate::Error {
    GpuError::OutOfF32Range { field, value }.into()
}

/// Images `b0..b1` of a prediction array, contiguous (borrowed when already so).
fn images<T: Copy>(a: ArrayView5<'_, T>, b0: usize, b1: usize) -> Cow<'_, [T]>
where
    [T]: ToOwned<Owned = Vec<T>>,
{
    let part = a.slice_move(ndarray::s![b0..b1, .., .., .., ..]);
    match part.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(part.iter().copied().collect()),
    }
}

/// The predictions of images `b0..b1` of layer `l` as f32: borrowed from the caller's array
/// when it is f32 and contiguous there, else copied (f64 values converted, refusing those that
/// overflow f32).
pub(crate) fn pred_chunk<'a>(
    p: &PredictionView<'a>,
    l: usize,
    b0: usize,
    b1: usize,
) -> Result<Cow<'a, [f32]>> {
    let a = match *p {
        PredictionView::F32(a) => return Ok(images(a, b0, b1)),
        PredictionView::F64(a) => a,
    };
    let first = b0 * a.len() / a.shape()[0];
    let part = images(a, b0, b1);
    let mut out = Vec::with_capacity(part.len());
    for (i, &v) in part.iter().enumerate() {
        let f = v as f32;
        if !f.is_finite() {
            return Err(out_of_range(
                format!("inputs.predictions[{l}] element {}", first + i),
                v,
            ));
        }
        out.push(f);
    }
    Ok(Cow::Owned(out))
}

/// The configuration's values the kernels take in f32, and its kind codes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scalars {
    pub obj_pw: f32,
    pub cls_pw: f32,
    pub fl_gamma: f32,
    /// Class target at the row's class: `1 - label_smoothing / 2`.
    pub cp: f32,
    /// Class target elsewhere: `label_smoothing / 2`.
    pub cn: f32,
    pub soft_kind: u32,
    pub loss1_gamma: f32,
}

impl Scalars {
    pub(crate) fn of(config: &Config) -> Result<Scalars> {
        let h = &config.hyp;
        let (cp, cn) = class_targets(h.label_smoothing);
        let loss1_gamma = match config.soft_loss {
            SoftLoss::Loss1 { gamma } => f32_of(gamma, "config.soft_loss.gamma")?,
            SoftLoss::Loss2 | SoftLoss::Loss3 => 0.0,
        };
        Ok(Scalars {
            obj_pw: f32_of(h.obj_pw, "config.hyp.obj_pw")?,
            cls_pw: f32_of(h.cls_pw, "config.hyp.cls_pw")?,
            fl_gamma: f32_of(h.fl_gamma, "config.hyp.fl_gamma")?,
            cp: f32_of(cp, "class target 1 - label_smoothing / 2")?,
            cn: f32_of(cn, "class target label_smoothing / 2")?,
            soft_kind: obj_loss::soft_kind(config.soft_loss),
            loss1_gamma,
        })
    }
}

/// One layer's gradient scales and anchors in f32.
#[derive(Debug, Clone)]
pub(crate) struct LayerScalars {
    /// `-box * bs / rows`.
    pub box_scale: f32,
    /// `cls * bs / (rows * nc)`.
    pub cls_scale: f32,
    /// `bs * obj * balance`.
    pub obj_scale: f32,
    /// Anchor `(w, h)` per anchor, grid units.
    pub anchors: Vec<(f32, f32)>,
}

impl LayerScalars {
    pub(crate) fn of(
        config: &Config,
        l: usize,
        plan: &LayerPlan,
        bs: f64,
        balance: f64,
    ) -> Result<LayerScalars> {
        let h = &config.hyp;
        let (box_scale, cls_scale) = row_scales(h, bs, plan.rows.len(), config.nc);
        let anchor = |a: usize, k: usize| {
            f32_of(
                config.anchors[[l, a, k]],
                &format!("config.anchors[{l}][{a}]"),
            )
        };
        Ok(LayerScalars {
            box_scale: f32_of(box_scale, "box gradient scale (box * bs / rows)")?,
            cls_scale: f32_of(cls_scale, "class gradient scale (cls * bs / (rows * nc))")?,
            obj_scale: f32_of(
                obj_scale(h, bs, balance),
                "objectness scale (bs * obj * balance)",
            )?,
            anchors: (0..plan.grid.na)
                .map(|a| Ok((anchor(a, 0)?, anchor(a, 1)?)))
                .collect::<Result<_>>()?,
        })
    }
}

/// The rows of images `b0..b1` (indices into the layer's rows, in emission order) and their
/// box records, cells counted from the chunk's first cell.
pub(crate) fn box_rows(
    plan: &LayerPlan,
    anchors: &[(f32, f32)],
    b0: usize,
    b1: usize,
) -> Result<(Vec<usize>, Vec<BoxRow>)> {
    let grid = plan.grid;
    let ids: Vec<usize> = (0..plan.rows.len())
        .filter(|&i| (b0..b1).contains(&plan.rows[i].b))
        .collect();
    let records = ids
        .iter()
        .map(|&i| {
            let r = &plan.rows[i];
            let tbox = r.tbox();
            Ok(BoxRow {
                cell: cell_of(grid, r.b - b0, r.a, r.gj, r.gi) as u32,
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
    Ok((ids, records))
}

/// Cell `(b, a, gj, gi)` counted from the chunk's first cell.
fn cell_of(grid: Grid, b: usize, a: usize, gj: usize, gi: usize) -> usize {
    ((b * grid.na + a) * grid.ny + gj) * grid.nx + gi
}

/// The soft assigner's records of one chunk.
#[derive(Debug, Default)]
pub(crate) struct SoftRecords {
    pub rows: Vec<SoftRow>,
    pub terms: Vec<Term>,
    pub classes: Vec<ScoreClasses>,
    /// The chunk's (row, cell) pairs.
    pub pairs: u64,
}

/// Builds a chunk's soft records; keeps the score classes already computed (by denominator
/// bits) and the term buffers between chunks.
pub(crate) struct SoftRecorder<'a> {
    config: &'a Config,
    /// The classes of the non-diagonal modes, which do not depend on the row.
    shared: Option<ClassIntervals>,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl<'a> SoftRecorder<'a> {
    pub(crate) fn new(config: &'a Config) -> SoftRecorder<'a> {
        let shared = match config.distance {
            Distance::CellIndex | Distance::Continuous => {
                Some(ClassIntervals::new(config.score, None))
            }
            Distance::Diagonal => None,
        };
        SoftRecorder {
            config,
            shared,
            xs: Vec::new(),
            ys: Vec::new(),
        }
    }

    /// The records of images `b0..b1`: the rows in write order with their first pair.
    pub(crate) fn chunk(
        &mut self,
        plan: &LayerPlan,
        soft: &SoftHost,
        b0: usize,
        b1: usize,
    ) -> SoftRecords {
        let mut out = SoftRecords::default();
        let mut memo: HashMap<u64, u32> = HashMap::new();
        if let Some(sc) = &self.shared {
            out.classes.push(sc.into());
        }
        for &m_i in soft
            .order
            .iter()
            .filter(|&&m_i| (b0..b1).contains(&soft.matched[m_i].b))
        {
            let row = self.row(plan, soft, m_i, b0, &mut out, &mut memo);
            out.rows.push(row);
            out.pairs += soft.ranges[m_i].cells();
        }
        out
    }

    /// The record of matched row `m_i`, its terms appended to `out.terms`.
    fn row(
        &mut self,
        plan: &LayerPlan,
        soft: &SoftHost,
        m_i: usize,
        b0: usize,
        out: &mut SoftRecords,
        memo: &mut HashMap<u64, u32>,
    ) -> SoftRow {
        let grid = plan.grid;
        let (m, r) = (&soft.matched[m_i], &soft.ranges[m_i]);
        let distance = Separable::of(self.config.distance, m, r, grid);
        distance.range_terms(r, &mut self.xs, &mut self.ys);
        let denom = distance.denom;
        let x_off = out.terms.len() as u32;
        out.terms.extend(self.xs.iter().map(|&v| Term::of(v)));
        let y_off = out.terms.len() as u32;
        out.terms.extend(self.ys.iter().map(|&v| Term::of(v)));
        let classes = match denom {
            None => 0,
            Some(q) => *memo.entry(q.to_bits()).or_insert_with(|| {
                out.classes
                    .push((&ClassIntervals::new(self.config.score, Some(q))).into());
                (out.classes.len() - 1) as u32
            }),
        };
        let plane = cell_of(grid, m.b - b0, m.a, 0, 0);
        let centre = &plan.rows[m_i];
        // S at d = 2 (4 denom^2) as an f32 pair.
        let q = denom.map_or(4.0, |q| 4.0 * (q * q));
        let q_hi = q as f32;
        SoftRow {
            pair_start: out.pairs as u32,
            width: r.width as u32,
            height: r.height as u32,
            plane: plane as u32,
            gi1: r.gi1.clamp(-(1 << 30), 1 << 30) as i32,
            gj1: r.gj1.clamp(-(1 << 30), 1 << 30) as i32,
            x_off,
            y_off,
            centre: (plane + centre.gj * grid.nx + centre.gi) as u32,
            denom: denom.map_or(1.0, |q| q as f32),
            classes,
            q_hi,
            q_lo: (q - f64::from(q_hi)) as f32,
            pad: [0; 3],
        }
    }

    /// The shader's parameters of a chunk's records.
    pub(crate) fn params(&self, records: &SoftRecords, grid: Grid) -> SoftParams {
        let (score_kind, power_n, two_sigma2) = SoftParams::score_fields(self.config.score);
        SoftParams {
            n_rows: records.rows.len() as u32,
            n_pairs: records.pairs as u32,
            nx: grid.nx as u32,
            ny: grid.ny as u32,
            overlap: SoftParams::overlap_code(self.config.overlap),
            score_kind,
            power_n,
            two_sigma2,
        }
    }
}
