//! Every WGSL source of the GPU path, included at compile time, and the assembly of a kernel's
//! full source (the shared preludes first).

/// f32 helpers shared by every kernel (transcendentals, BCE, focal, dispatch indexing).
pub const MATH: &str = include_str!("../../shaders/math.wgsl");
/// Emulated f64 addition of non-negative doubles.
pub const F64: &str = include_str!("../../shaders/f64.wgsl");
/// The row records shared by the box and baseline-target kernels.
pub const ROWS: &str = include_str!("../../shaders/rows.wgsl");
/// The soft assigner: claim, write, centre.
pub const SOFT_ASSIGN: &str = include_str!("../../shaders/soft_assign.wgsl");
/// The baseline assigner's objectness target: claim, write.
pub const YOLO_TARGET: &str = include_str!("../../shaders/yolo_target.wgsl");
/// Objectness classes, loss and gradient: count, loss.
pub const OBJ_LOSS: &str = include_str!("../../shaders/obj_loss.wgsl");
/// Box and class losses and gradients of the rows: main.
pub const BOX_CLS: &str = include_str!("../../shaders/box_cls.wgsl");
/// The f64 addition check used by the tests: add.
pub const F64_CHECK: &str = include_str!("../../shaders/f64_check.wgsl");

/// One kernel file and the preludes it needs.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    /// Name used for labels and error messages (the file's stem).
    pub name: &'static str,
    /// The kernel's own source.
    pub source: &'static str,
    /// Whether it needs the emulated f64 addition.
    pub needs_f64: bool,
    /// Whether it needs the row records.
    pub needs_rows: bool,
}

/// The table of kernels.
pub const KERNELS: [Kernel; 5] = [
    kernel("soft_assign", SOFT_ASSIGN, true, false),
    kernel("yolo_target", YOLO_TARGET, false, true),
    kernel("obj_loss", OBJ_LOSS, false, false),
    kernel("box_cls", BOX_CLS, false, true),
    kernel("f64_check", F64_CHECK, true, false),
];

const fn kernel(
    name: &'static str,
    source: &'static str,
    needs_f64: bool,
    needs_rows: bool,
) -> Kernel {
    Kernel {
        name,
        source,
        needs_f64,
        needs_rows,
    }
}

impl Kernel {
    /// The complete WGSL module: `math.wgsl`, then `f64.wgsl` and `rows.wgsl` where needed,
    /// then the kernel.
    pub fn full_source(&self) -> String {
        let parts = [
            (MATH, true),
            (F64, self.needs_f64),
            (ROWS, self.needs_rows),
            (self.source, true),
        ];
        let mut s = String::new();
        for (part, _) in parts.iter().filter(|(_, wanted)| *wanted) {
            s.push_str(part);
            s.push('\n');
        }
        s
    }

    /// The kernel of the table with this name.
    pub fn named(name: &str) -> Option<Kernel> {
        KERNELS.iter().copied().find(|k| k.name == name)
    }
}
