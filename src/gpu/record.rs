//! Recording one evaluation: fill the buffers and record every pass of every layer in one
//! command buffer ([`super::run`] plans, submits, reads back and assembles).
//!
//! Per layer: clear the totals; per chunk of images upload its records, clear its targets and
//! record soft_assign (soft assigner), box_cls, yolov5_assign (YOLOv5 assigner: after box_cls,
//! whose CIoU it reads) and obj_loss's count (`passes.rs`); then per chunk obj_loss's loss (it
//! needs the whole layer's counts) and the copy of the chunk's results into its readback
//! buffer; then the copy of the totals.

use bytemuck::Pod;

use super::box_cls::BoxRow;
use super::context::Inner;
use super::kernel::Binding;
use super::obj_loss::ObjParams;
use super::plan::LayerPlan;
use super::pool::{Pool, Role};
use super::readback::{ChunkLayout, Part};
use super::upload::{self, LayerScalars, Scalars, SoftRecorder};
use crate::config::Config;
use crate::error::Result;
use crate::inputs::InputsView;

pub(super) const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);
const UNIFORM: wgpu::BufferUsages = wgpu::BufferUsages::UNIFORM.union(wgpu::BufferUsages::COPY_DST);
const READBACK: wgpu::BufferUsages =
    wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);
/// Bytes of the layer totals: positive, negative, soft (and one word of padding).
pub(super) const TOTALS_BYTES: u64 = 16;

/// One chunk's results: where they are, and which of the layer's rows they hold.
pub(crate) struct ChunkOut {
    pub layer: usize,
    pub b0: usize,
    pub layout: ChunkLayout,
    pub row_ids: Vec<usize>,
    pub readback: wgpu::Buffer,
}

/// Everything recorded for one evaluation: the chunks' readback buffers and the layers' totals.
pub(crate) struct Recorded {
    pub chunks: Vec<ChunkOut>,
    pub totals: Vec<wgpu::Buffer>,
}

/// A chunk whose count pass is recorded and whose loss pass waits for the layer's counts.
struct Pending {
    out: ChunkOut,
    obj: ObjParams,
    group: wgpu::BindGroup,
    /// The device buffer of each part of the readback, in [`Part`] order.
    parts: [(Part, wgpu::Buffer); 6],
}

/// Where a chunk is: layer `l`, chunk `c` of it, images `b0..b1`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkAt {
    pub l: usize,
    pub c: usize,
    pub b0: usize,
    pub b1: usize,
}

impl ChunkAt {
    /// The pool slot of the chunk's buffer of `role`.
    pub(super) fn key(&self, role: Role) -> (Role, usize, usize) {
        (role, self.l, self.c)
    }
}

/// The device buffers of one chunk that more than one kernel binds.
pub(super) struct ChunkBuffers {
    pub pred: Owned,
    pub tobj: wgpu::Buffer,
    pub tobj_u: wgpu::Buffer,
    pub winner: wgpu::Buffer,
    pub box_rows: Owned,
    pub row_out: wgpu::Buffer,
    pub cls_grad: wgpu::Buffer,
}

/// An owned buffer with the bytes a binding covers.
pub(super) type Owned = (wgpu::Buffer, u64);

pub(super) fn bind((buffer, bytes): &Owned) -> Binding<'_> {
    Binding::new(buffer, *bytes)
}

/// Records one evaluation into one command encoder.
pub(super) struct Recorder<'a> {
    pub ctx: &'a Inner,
    pool: &'a mut Pool,
    pub encoder: wgpu::CommandEncoder,
    pub max_dim: u32,
    pub config: &'a Config,
    pub scalars: Scalars,
    pub soft: SoftRecorder<'a>,
    out: Recorded,
}

impl<'a> Recorder<'a> {
    pub(super) fn new(
        ctx: &'a Inner,
        pool: &'a mut Pool,
        max_dim: u32,
        config: &'a Config,
    ) -> Result<Recorder<'a>> {
        let scalars = Scalars::of(config)?;
        let encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("softobj evaluate"),
            });
        Ok(Recorder {
            ctx,
            pool,
            encoder,
            max_dim,
            config,
            scalars,
            soft: SoftRecorder::new(config),
            out: Recorded {
                chunks: Vec::new(),
                totals: Vec::new(),
            },
        })
    }

    /// Records every layer and submits.
    pub(super) fn record(
        mut self,
        inputs: &InputsView,
        plans: &[LayerPlan],
        balance: &[f64],
    ) -> Result<Recorded> {
        let bs = inputs.batch_size() as f64;
        for (l, plan) in plans.iter().enumerate() {
            let scalars = LayerScalars::of(self.config, l, plan, bs, balance[l])?;
            self.layer(inputs, l, plan, &scalars)?;
        }
        self.ctx.queue.submit([self.encoder.finish()]);
        Ok(self.out)
    }

    /// A pooled buffer of slot `(role, layer, chunk)`.
    pub(super) fn buffer(
        &mut self,
        key: (Role, usize, usize),
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let max = self.ctx.limits.max_buffer_size;
        self.pool.get(&self.ctx.device, key, bytes, usage, max)
    }

    /// A pooled storage buffer holding `data` (nothing written when empty), with its bytes.
    pub(super) fn upload<T: Pod>(&mut self, key: (Role, usize, usize), data: &[T]) -> Owned {
        let bytes = std::mem::size_of_val(data) as u64;
        let b = self.buffer(key, bytes, STORAGE);
        if !data.is_empty() {
            self.ctx
                .queue
                .write_buffer(&b, 0, bytemuck::cast_slice(data));
        }
        (b, bytes)
    }

    /// A pooled uniform buffer holding a kernel's parameters.
    pub(super) fn params<P: Pod>(&mut self, key: (Role, usize, usize), p: &P) -> Owned {
        let bytes = std::mem::size_of::<P>() as u64;
        let b = self.buffer(key, bytes, UNIFORM);
        self.ctx.queue.write_buffer(&b, 0, bytemuck::bytes_of(p));
        (b, bytes)
    }

    /// A pooled storage buffer cleared to zero by the encoder.
    pub(super) fn cleared(&mut self, key: (Role, usize, usize), bytes: u64) -> wgpu::Buffer {
        let b = self.buffer(key, bytes, STORAGE);
        self.encoder.clear_buffer(&b, 0, None);
        b
    }

    /// The buffers of a chunk that more than one kernel binds: uploaded, cleared or sized.
    fn chunk_buffers(
        &mut self,
        at: ChunkAt,
        layout: ChunkLayout,
        pred: &[f32],
        box_rows: &[BoxRow],
    ) -> ChunkBuffers {
        let key = |role| at.key(role);
        ChunkBuffers {
            pred: self.upload(key(Role::Pred), pred),
            tobj: self.cleared(key(Role::Tobj), layout.bytes(Part::Tobj)),
            tobj_u: self.cleared(key(Role::TobjU), layout.bytes(Part::TobjU)),
            winner: self.cleared(key(Role::Winner), layout.bytes(Part::Tobj)),
            box_rows: self.upload(key(Role::BoxRows), box_rows),
            row_out: self.buffer(key(Role::RowOut), layout.bytes(Part::RowOut), STORAGE),
            cls_grad: self.buffer(key(Role::ClsGrad), layout.bytes(Part::ClsGrad), STORAGE),
        }
    }

    /// One layer: every chunk's passes up to the counts, then every chunk's loss and copies.
    fn layer(
        &mut self,
        inputs: &InputsView,
        l: usize,
        plan: &LayerPlan,
        scalars: &LayerScalars,
    ) -> Result<()> {
        let totals = self.cleared((Role::Totals, l, 0), TOTALS_BYTES);
        let mut pending = Vec::with_capacity(plan.chunks.len());
        for (c, &(b0, b1)) in plan.chunks.iter().enumerate() {
            let at = ChunkAt { l, c, b0, b1 };
            pending.push(self.chunk(inputs, at, plan, scalars, &totals)?);
        }
        for p in pending {
            self.finish(p);
        }
        let totals_rb = self.buffer((Role::TotalsReadback, l, 0), TOTALS_BYTES, READBACK);
        self.encoder
            .copy_buffer_to_buffer(&totals, 0, &totals_rb, 0, TOTALS_BYTES);
        self.out.totals.push(totals_rb);
        Ok(())
    }

    /// Uploads a chunk and records its passes up to the count.
    fn chunk(
        &mut self,
        inputs: &InputsView,
        at: ChunkAt,
        plan: &LayerPlan,
        scalars: &LayerScalars,
        totals: &wgpu::Buffer,
    ) -> Result<Pending> {
        let ChunkAt { l, b0, b1, .. } = at;
        let grid = plan.grid;
        let cells = (b1 - b0) as u64 * (grid.na * grid.ny * grid.nx) as u64;
        let (row_ids, box_rows) = upload::box_rows(plan, &scalars.anchors, b0, b1)?;
        let layout = ChunkLayout::new(cells, row_ids.len() as u64, self.config.nc, self.max_dim);
        let pred = upload::pred_chunk(&inputs.predictions[l], l, b0, b1)?;
        let key = |role| at.key(role);
        let b = self.chunk_buffers(at, layout, &pred, &box_rows);
        if let Some(soft) = &plan.soft {
            self.soft_assign(at, plan, soft, &b, layout);
        }
        self.box_cls(key(Role::BoxParams), &b, layout, scalars);
        if plan.soft.is_none() {
            self.yolov5_assign(key(Role::Yolov5Params), &b, layout);
        }
        let (obj, group, parts) = self.count(at, plan, b, layout, scalars, totals);
        let readback = self.buffer(key(Role::Readback), layout.total(), READBACK);
        let out = ChunkOut {
            layer: l,
            b0,
            layout,
            row_ids,
            readback,
        };
        Ok(Pending {
            out,
            obj,
            group,
            parts,
        })
    }

    /// Records a chunk's loss pass and the copy of its results to its readback buffer.
    fn finish(&mut self, p: Pending) {
        let k = &self.ctx.kernels.obj_loss;
        let written = k.dispatch(&mut self.encoder, &p.group, p.obj.loss(), self.max_dim);
        let layout = p.out.layout;
        debug_assert_eq!(written, layout.partial_pairs);
        for (part, src) in &p.parts {
            let bytes = layout.bytes(*part);
            if bytes > 0 {
                let offset = layout.offset(*part);
                self.encoder
                    .copy_buffer_to_buffer(src, 0, &p.out.readback, offset, bytes);
            }
        }
        self.out.chunks.push(p.out);
    }
}
