//! Losses of spec section 5 and their analytic gradients (spec section 6).
//!
//! * [`bce`]: stable BCE-with-logits with `pos_weight`, and the focal wrapper.
//! * [`soft`]: loss1 / loss2 / loss3 on soft cells.
//! * [`iou`]: IoU, GIoU, DIoU, CIoU with gradients.
//! * [`norm`]: means over a layer's sets and the gradient scales.
//! * `rows` (box and class terms of the rows) and `objectness` (every cell's objectness term):
//!   the two passes over a layer; [`refuse_empty_boxes`], spec 8's rule on the rows' predicted
//!   boxes under `ciou: v7.0`, which every backend applies before its loss.
//! * [`compute`]: the whole loss of a batch with balance, gains and gradients.

pub mod bce;
pub mod compute;
pub mod iou;
pub mod norm;
mod objectness;
mod real;
mod rows;
pub mod soft;
mod vmath;

pub(crate) use rows::refuse_empty_boxes;
