//! The passes of one chunk, one method per kernel: each fills the kernel's parameters, binds
//! its buffers in binding order and records its dispatches.

use super::box_cls::BoxParams;
use super::context::Kernels;
use super::kernel::{Binding, Kernel, Pass, Shader};
use super::obj_loss::ObjParams;
use super::plan::{LayerPlan, SoftHost};
use super::pool::Role;
use super::readback::{ChunkLayout, Part};
use super::record::{ChunkAt, ChunkBuffers, Recorder, STORAGE, TOTALS_BYTES, bind};
use super::upload::LayerScalars;
use super::yolov5_assign::Yolov5Params;

impl Recorder<'_> {
    /// The soft targets: claim, write or settle, centres.
    pub(super) fn soft_assign(
        &mut self,
        at: ChunkAt,
        plan: &LayerPlan,
        soft: &SoftHost,
        b: &ChunkBuffers,
        layout: ChunkLayout,
    ) {
        let records = self.soft.chunk(plan, soft, at.b0, at.b1);
        let p = self.soft.params(&records, plan.grid);
        let host = [
            self.params(at.key(Role::SoftParams), &p),
            self.upload(at.key(Role::SoftRows), &records.rows),
            self.upload(at.key(Role::Terms), &records.terms),
            self.upload(at.key(Role::Classes), &records.classes),
        ];
        if p.n_rows == 0 {
            return;
        }
        let cell_bytes = layout.bytes(Part::Tobj);
        let mut bindings: Vec<Binding> = host.iter().map(bind).collect();
        bindings.extend([&b.winner, &b.tobj, &b.tobj_u].map(|buf| Binding::new(buf, cell_bytes)));
        let k = &self.ctx.kernels.soft_assign;
        k.encode(
            &self.ctx.device,
            &mut self.encoder,
            &bindings,
            &p.passes(),
            self.max_dim,
        );
    }

    /// Box and class terms of the rows.
    pub(super) fn box_cls(
        &mut self,
        key: (Role, usize, usize),
        b: &ChunkBuffers,
        layout: ChunkLayout,
        s: &LayerScalars,
    ) {
        let (h, nc) = (&self.scalars, self.config.nc);
        let p = BoxParams {
            n_rows: layout.rows as u32,
            no: (5 + nc) as u32,
            nc: nc as u32,
            pad0: 0,
            cls_pw: h.cls_pw,
            fl_gamma: h.fl_gamma,
            box_scale: s.box_scale,
            cls_scale: s.cls_scale,
            cp: h.cp,
            cn: h.cn,
            pad1: 0,
            pad2: 0,
        };
        let params = self.params(key, &p);
        let bindings = [
            bind(&params),
            bind(&b.pred),
            bind(&b.box_rows),
            Binding::new(&b.row_out, layout.bytes(Part::RowOut)),
            Binding::new(&b.cls_grad, layout.bytes(Part::ClsGrad)),
        ];
        self.encode_nonempty(&bindings, &p.passes(), p.n_rows, |k| &k.box_cls);
    }

    /// The YOLOv5 targets, from box_cls's CIoU.
    pub(super) fn yolov5_assign(
        &mut self,
        key: (Role, usize, usize),
        b: &ChunkBuffers,
        layout: ChunkLayout,
    ) {
        let p = Yolov5Params {
            n_rows: layout.rows as u32,
            pad: [0; 3],
        };
        let params = self.params(key, &p);
        let cell_bytes = layout.bytes(Part::Tobj);
        let bindings = [
            bind(&params),
            bind(&b.box_rows),
            Binding::new(&b.row_out, layout.bytes(Part::RowOut)),
            Binding::new(&b.winner, cell_bytes),
            Binding::new(&b.tobj, cell_bytes),
        ];
        self.encode_nonempty(&bindings, &p.passes(), p.n_rows, |k| &k.yolov5_assign);
    }

    /// Binds and records the passes of a row kernel, unless it has no rows.
    fn encode_nonempty<S: Shader>(
        &mut self,
        bindings: &[Binding],
        passes: &[Pass],
        n_rows: u32,
        kernel: impl Fn(&Kernels) -> &Kernel<S>,
    ) {
        if n_rows > 0 {
            let k = kernel(&self.ctx.kernels);
            k.encode(
                &self.ctx.device,
                &mut self.encoder,
                bindings,
                passes,
                self.max_dim,
            );
        }
    }

    /// Objectness: records the count pass; returns what the loss pass and the copies need.
    pub(super) fn count(
        &mut self,
        at: ChunkAt,
        plan: &LayerPlan,
        b: ChunkBuffers,
        layout: ChunkLayout,
        s: &LayerScalars,
        totals: &wgpu::Buffer,
    ) -> (ObjParams, wgpu::BindGroup, [(Part, wgpu::Buffer); 6]) {
        let h = &self.scalars;
        let obj = ObjParams {
            n_cells: layout.cells as u32,
            no: (5 + self.config.nc) as u32,
            soft_assigner: u32::from(plan.soft.is_some()),
            soft_kind: h.soft_kind,
            layer_cells: plan.grid.cells() as u32,
            pad: [0; 3],
            obj_pw: h.obj_pw,
            fl_gamma: h.fl_gamma,
            obj_scale: s.obj_scale,
            loss1_gamma: h.loss1_gamma,
        };
        let params = self.params(at.key(Role::ObjParams), &obj);
        let grad = self.buffer(at.key(Role::Grad), layout.bytes(Part::Grad), STORAGE);
        let partials = self.buffer(
            at.key(Role::Partials),
            layout.bytes(Part::Partials),
            STORAGE,
        );
        let cell_bytes = layout.bytes(Part::Tobj);
        let k = &self.ctx.kernels.obj_loss;
        let group = k.bind(
            &self.ctx.device,
            &[
                bind(&params),
                bind(&b.pred),
                Binding::new(&b.tobj, cell_bytes),
                Binding::new(&b.tobj_u, cell_bytes),
                Binding::new(totals, TOTALS_BYTES),
                Binding::new(&grad, cell_bytes),
                Binding::new(&partials, layout.bytes(Part::Partials)),
            ],
        );
        k.dispatch(&mut self.encoder, &group, obj.count(), self.max_dim);
        let parts = [
            (Part::Tobj, b.tobj),
            (Part::TobjU, b.tobj_u),
            (Part::Grad, grad),
            (Part::Partials, partials),
            (Part::RowOut, b.row_out),
            (Part::ClsGrad, b.cls_grad),
        ];
        (obj, group, parts)
    }
}
