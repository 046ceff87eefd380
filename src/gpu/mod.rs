//! The GPU path: the oracle's per-cell work as f32 WGSL compute shaders run through wgpu
//! (Vulkan, Metal, DX12), returning the same [`Evaluation`](crate::Evaluation) as the CPU path.
//!
//! Anchor matching, cell ranges, the stable largest-first sort and row emission run on the host
//! (they are O(targets)); every per-cell and per-(row, cell) step runs in a shader:
//!
//! | shader (`shaders/`) | wrapper | work |
//! |---|---|---|
//! | `soft_assign.wgsl` | `soft_assign.rs` | soft targets: score, last-write / max overlap, centres |
//! | `yolov5_assign.wgsl` | `yolov5_assign.rs` | YOLOv5 target: CIoU at the rows' cells, later rows win |
//! | `box_cls.wgsl` | `box_cls.rs` | CIoU box loss and class BCE of the rows, with gradients |
//! | `obj_loss.wgsl` | `obj_loss.rs` | cell classes and counts, objectness loss and gradient |
//! | `math.wgsl`, `f64.wgsl`, `rows.wgsl` | `shaders.rs` (the table) | preludes: f32 maths, emulated f64 addition, row records |
//! | `f64_check.wgsl` | `f64_check.rs` | the emulated addition on demand, for the tests |
//!
//! The host side, bottom up: `kernel.rs` (one compiled kernel: its binding table, pipelines,
//! dispatch), `context.rs` (adapter, device, queue, the kernels, the buffer pool of `pool.rs`),
//! `scopes.rs` (device error scopes), `plan.rs` (rows and chunks of images per layer),
//! `upload.rs` (the f32 records and parameters), `readback.rs` (the layout of a chunk's results
//! and the mapping), `record.rs` (every pass of an evaluation in one command buffer) with
//! `passes.rs` (a chunk's passes, one method per kernel), `assemble.rs` (the [`Evaluation`](crate::Evaluation) from
//! the words read back) and `run.rs` (one evaluation start to end: plan, record, submit, read
//! back, assemble). No file imports a file above it.
//!
//! The cell classes (positive, negative, soft) are those of the f64 oracle, decided exactly
//! (`exact.rs`, docs/gpu.md); values agree to f32 accuracy. Inputs are validated exactly
//! as on the CPU path before anything is dispatched.
//!
//! Everything here needs the cargo feature `gpu`. Without it the same API exists and every
//! entry point answers [`GpuError::NotCompiled`](crate::GpuError::NotCompiled).
//!
//! An evaluation runs here when its options name a [`GpuContext`] as the backend
//! ([`Backend::Gpu`](crate::Backend::Gpu)); [`Backend::gpu`](crate::Backend::gpu) takes the
//! process-wide one.
//!
//! ```
//! use soft_objectness::{evaluate, Backend, Config, EvalOptions, Inputs, Prediction, Error};
//! use ndarray::{array, Array5};
//! let config = Config { nc: 2, anchors: ndarray::Array3::from_elem((1, 1, 2), 3.0), ..Config::default() };
//! let inputs = Inputs {
//!     targets: array![[0.0, 1.0, 0.40, 0.55, 0.43, 0.30]],
//!     predictions: vec![Prediction::F32(Array5::zeros((1, 1, 8, 8, 7)))],
//! };
//! match Backend::gpu() {
//!     Ok(gpu) => {
//!         let e = evaluate(&config, &inputs, &EvalOptions::with_backend(gpu)).unwrap();
//!         let cpu = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
//!         assert_eq!(e.layers[0].counts, cpu.layers[0].counts);
//!         assert!((e.loss - cpu.loss).abs() <= 2e-5 * cpu.loss);
//!     }
//!     // No GPU adapter here, or built without the `gpu` feature.
//!     Err(Error::Gpu(reason)) => eprintln!("skipped: {reason}"),
//!     Err(e) => panic!("{e}"),
//! }
//! ```

pub use crate::error::NO_ADAPTER_HELP;

#[cfg(feature = "gpu")]
mod assemble;
#[cfg(feature = "gpu")]
mod box_cls;
#[cfg(feature = "gpu")]
mod context;
#[cfg(feature = "gpu")]
mod exact;
#[cfg(feature = "gpu")]
mod f64_check;
#[cfg(feature = "gpu")]
mod kernel;
#[cfg(feature = "gpu")]
mod obj_loss;
#[cfg(feature = "gpu")]
mod passes;
#[cfg(feature = "gpu")]
mod plan;
#[cfg(feature = "gpu")]
mod pool;
#[cfg(feature = "gpu")]
mod readback;
#[cfg(feature = "gpu")]
mod record;
#[cfg(feature = "gpu")]
mod run;
#[cfg(feature = "gpu")]
mod scopes;
#[cfg(feature = "gpu")]
mod shaders;
#[cfg(feature = "gpu")]
mod soft_assign;
#[cfg(not(feature = "gpu"))]
mod standin;
#[cfg(feature = "gpu")]
pub(crate) mod testing;
#[cfg(feature = "gpu")]
mod upload;
#[cfg(feature = "gpu")]
mod yolov5_assign;

#[cfg(feature = "gpu")]
pub use context::GpuContext;
#[cfg(feature = "gpu")]
pub(crate) use run::run;
#[cfg(not(feature = "gpu"))]
pub use standin::GpuContext;
#[cfg(not(feature = "gpu"))]
pub(crate) use standin::run;
