//! The host's plan of one evaluation: each layer's rows (exactly the CPU path's, with its rules
//! on them), the soft assigner's matched boxes, cell ranges and write order, and the split of
//! the layer into chunks of whole images whose buffers fit the device's limits.

use super::box_cls::BoxRow;
use super::readback::{ChunkLayout, Part, ROW_OUT_BYTES};
use super::soft_assign::{ScoreClasses, SoftRow, Term};
use crate::assign::matching::{self, Matched};
use crate::assign::score::{self, CellRange};
use crate::assign::yolov5;
use crate::config::{Assigner, Config};
use crate::error::{GpuError, GpuLimit, Result};
use crate::inputs::InputsView;
use crate::loss::refuse_empty_boxes;
use crate::targets::{Grid, Row};

const SOFT_ROW_BYTES: u64 = std::mem::size_of::<SoftRow>() as u64;
const TERM_BYTES: u64 = std::mem::size_of::<Term>() as u64;
const CLASSES_BYTES: u64 = std::mem::size_of::<ScoreClasses>() as u64;
const BOX_ROW_BYTES: u64 = std::mem::size_of::<BoxRow>() as u64;

/// The soft assigner's host data of one layer.
pub(crate) struct SoftHost {
    pub matched: Vec<Matched>,
    pub ranges: Vec<CellRange>,
    /// Matched-row indices in write order (stable largest first).
    pub order: Vec<usize>,
}

/// One layer: its rows and its chunks of images `b0..b1`.
pub(crate) struct LayerPlan {
    pub grid: Grid,
    pub rows: Vec<Row>,
    pub soft: Option<SoftHost>,
    pub chunks: Vec<(usize, usize)>,
}

/// Per-image counts that size the buffers.
#[derive(Debug, Clone, Copy, Default)]
struct ImageLoad {
    rows: u64,
    soft_rows: u64,
    terms: u64,
}

impl std::ops::Add for ImageLoad {
    type Output = ImageLoad;
    fn add(self, x: ImageLoad) -> ImageLoad {
        ImageLoad {
            rows: self.rows + x.rows,
            soft_rows: self.soft_rows + x.soft_rows,
            terms: self.terms + x.terms,
        }
    }
}

/// What sizes a layer's buffers besides its per-image loads.
#[derive(Debug, Clone, Copy)]
struct LayerShape {
    grid: Grid,
    no: u64,
    nc: usize,
    max_per_dim: u32,
}

/// The limits a chunk must respect, in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BufferLimits {
    /// Largest storage binding (the context's binding limit).
    pub storage: u64,
    /// Largest buffer (the readback).
    pub buffer: u64,
    /// Workgroups per dispatch dimension (sizes the partial sums).
    pub max_per_dim: u32,
}

/// One buffer of a chunk: what it holds, its bytes, and which limit bounds it.
type Sized = (&'static str, u64, GpuLimit);

/// The buffers of a chunk of `images` images.
fn chunk_sizes(s: LayerShape, images: u64, load: ImageLoad) -> [Sized; 9] {
    let cells = images * (s.grid.na * s.grid.ny * s.grid.nx) as u64;
    let out = ChunkLayout::new(cells, load.rows, s.nc, s.max_per_dim);
    let storage = GpuLimit::StorageBinding;
    [
        ("predictions", cells * s.no * 4, storage),
        ("per-cell targets", out.bytes(Part::Tobj), storage),
        ("workgroup partial sums", out.bytes(Part::Partials), storage),
        ("soft rows", load.soft_rows * SOFT_ROW_BYTES, storage),
        ("distance terms", load.terms * TERM_BYTES, storage),
        (
            "score classes",
            (load.soft_rows + 1) * CLASSES_BYTES,
            storage,
        ),
        (
            "rows",
            load.rows * BOX_ROW_BYTES.max(ROW_OUT_BYTES),
            storage,
        ),
        ("class gradients", out.bytes(Part::ClsGrad), storage),
        ("results to read back", out.total(), GpuLimit::BufferSize),
    ]
}

/// The first buffer of images `a..b` that exceeds its limit.
fn too_big(
    shape: LayerShape,
    loads: &[ImageLoad],
    a: usize,
    b: usize,
    limits: BufferLimits,
) -> Option<Sized> {
    let load = loads[a..b].iter().fold(ImageLoad::default(), |s, &x| s + x);
    let limit = |l: GpuLimit| match l {
        GpuLimit::BufferSize => limits.buffer,
        _ => limits.storage,
    };
    chunk_sizes(shape, (b - a) as u64, load)
        .into_iter()
        .find(|&(_, bytes, l)| bytes > limit(l))
}

/// Splits a layer's images into consecutive chunks whose buffers fit `limits`, as few as
/// possible.
fn plan_chunks(
    l: usize,
    shape: LayerShape,
    loads: &[ImageLoad],
    limits: BufferLimits,
) -> Result<Vec<(usize, usize)>> {
    let mut chunks = Vec::new();
    let mut a = 0;
    while a < loads.len() {
        if let Some((what, needed, limit)) = too_big(shape, loads, a, a + 1, limits) {
            let available = if limit == GpuLimit::BufferSize {
                limits.buffer
            } else {
                limits.storage
            };
            return Err(GpuError::LimitExceeded {
                what: format!("layer {l}, image {a} alone in its chunk: its {what}"),
                limit,
                needed,
                available,
            }
            .into());
        }
        let mut b = a + 1;
        while b < loads.len() && too_big(shape, loads, a, b + 1, limits).is_none() {
            b += 1;
        }
        chunks.push((a, b));
        a = b;
    }
    Ok(chunks)
}

/// The rows of a layer and, for the soft assigner, its host data: the CPU path's functions.
fn rows_of(config: &Config, inputs: &InputsView, l: usize, grid: Grid) -> Result<LayerRows> {
    let matched = matching::match_layer(config, inputs.targets, l, grid);
    Ok(match config.assigner {
        Assigner::Soft => {
            let (ranges, order) = score::ranges_and_order(&matched)?;
            let rows = score::centre_rows(&matched, &ranges, grid);
            let soft = SoftHost {
                matched,
                ranges,
                order,
            };
            (rows, Some(soft))
        }
        Assigner::Yolov5 => (yolov5::build_layer(&matched, grid).rows, None),
    })
}

/// The loads of every image of a layer.
fn loads_of(grid: Grid, rows: &[Row], soft: Option<&SoftHost>) -> Vec<ImageLoad> {
    let mut loads = vec![ImageLoad::default(); grid.bs];
    for r in rows {
        loads[r.b].rows += 1;
    }
    if let Some(s) = soft {
        for (m, r) in s.matched.iter().zip(&s.ranges) {
            loads[m.b].soft_rows += 1;
            loads[m.b].terms += (r.width + r.height) as u64;
        }
    }
    loads
}

/// The plan of layer `l` from its `rows` and soft assigner's host data.
fn plan_layer(
    config: &Config,
    l: usize,
    grid: Grid,
    (rows, soft): LayerRows,
    limits: BufferLimits,
) -> Result<LayerPlan> {
    if grid.cells() > u32::MAX as usize {
        return Err(GpuError::LimitExceeded {
            what: format!("layer {l}"),
            limit: GpuLimit::CellIndex,
            needed: grid.cells() as u64,
            available: u64::from(u32::MAX),
        }
        .into());
    }
    let loads = loads_of(grid, &rows, soft.as_ref());
    let shape = LayerShape {
        grid,
        no: (5 + config.nc) as u64,
        nc: config.nc,
        max_per_dim: limits.max_per_dim,
    };
    let chunks = plan_chunks(l, shape, &loads, limits)?;
    Ok(LayerPlan {
        grid,
        rows,
        soft,
        chunks,
    })
}

/// A layer's rows and the soft assigner's host data ([`rows`]).
pub(crate) type LayerRows = (Vec<Row>, Option<SoftHost>);

/// Every layer's rows, built by the CPU path's functions, and the CPU path's rules on them, in
/// its order (a layer whose boxes cover too many cells, then spec 8's [`refuse_empty_boxes`]):
/// host work alone, run before anything touches the device, so that a refused input gets the
/// CPU path's error whatever the device's state and limits.
pub(crate) fn rows(config: &Config, inputs: &InputsView) -> Result<Vec<LayerRows>> {
    let rows = Grid::of(config, inputs)
        .into_iter()
        .enumerate()
        .map(|(l, grid)| rows_of(config, inputs, l, grid))
        .collect::<Result<Vec<_>>>()?;
    refuse_empty_boxes(config, inputs, rows.iter().map(|(r, _)| r.as_slice()))?;
    Ok(rows)
}

/// The plan of every layer from its [`rows`]: the chunks that fit `limits`.
pub(crate) fn plan(
    config: &Config,
    inputs: &InputsView,
    rows: Vec<LayerRows>,
    limits: BufferLimits,
) -> Result<Vec<LayerPlan>> {
    Grid::of(config, inputs)
        .into_iter()
        .zip(rows)
        .enumerate()
        .map(|(l, (grid, rows))| plan_layer(config, l, grid, rows, limits))
        .collect()
}
