//! Every WGSL source of the GPU path, included at compile time, and the assembly of a kernel's
//! full source (the shared preludes first).

/// f32 helpers shared by every kernel (transcendentals, BCE, focal, dispatch indexing).
pub const MATH: &str = include_str!("../../shaders/math.wgsl");
/// Emulated f64 addition of non-negative doubles.
pub const F64: &str = include_str!("../../shaders/f64.wgsl");
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
}

/// The table of kernels.
pub const KERNELS: [Kernel; 5] = [
    Kernel {
        name: "soft_assign",
        source: SOFT_ASSIGN,
        needs_f64: true,
    },
    Kernel {
        name: "yolo_target",
        source: YOLO_TARGET,
        needs_f64: false,
    },
    Kernel {
        name: "obj_loss",
        source: OBJ_LOSS,
        needs_f64: false,
    },
    Kernel {
        name: "box_cls",
        source: BOX_CLS,
        needs_f64: false,
    },
    Kernel {
        name: "f64_check",
        source: F64_CHECK,
        needs_f64: true,
    },
];

impl Kernel {
    /// The complete WGSL module: `math.wgsl`, then `f64.wgsl` where needed, then the kernel.
    pub fn full_source(&self) -> String {
        let mut s = String::with_capacity(MATH.len() + F64.len() + self.source.len() + 2);
        s.push_str(MATH);
        s.push('\n');
        if self.needs_f64 {
            s.push_str(F64);
            s.push('\n');
        }
        s.push_str(self.source);
        s
    }

    /// The kernel of the table with this name.
    pub fn named(name: &str) -> Option<Kernel> {
        KERNELS.iter().copied().find(|k| k.name == name)
    }
}
