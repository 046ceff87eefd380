//! Every WGSL source of the GPU path, included at compile time, and the assembly of a kernel's
//! full source (the shared preludes first).

/// f32 helpers shared by every kernel (transcendentals, BCE, focal, dispatch indexing).
const MATH: &str = include_str!("../../shaders/math.wgsl");
/// Emulated f64 addition of non-negative doubles.
const F64: &str = include_str!("../../shaders/f64.wgsl");
/// The row records shared by the box and YOLOv5-target kernels.
const ROWS: &str = include_str!("../../shaders/rows.wgsl");

/// One kernel file and the preludes it needs.
#[derive(Debug, Clone, Copy)]
struct KernelFile {
    /// The file's stem, used for labels and error messages.
    name: &'static str,
    /// The kernel's own source.
    source: &'static str,
    /// Whether it needs the emulated f64 addition.
    needs_f64: bool,
    /// Whether it needs the row records.
    needs_rows: bool,
}

/// The table of kernels.
const KERNELS: [KernelFile; 5] = [
    file(
        "soft_assign",
        include_str!("../../shaders/soft_assign.wgsl"),
        true,
        false,
    ),
    file(
        "yolov5_assign",
        include_str!("../../shaders/yolov5_assign.wgsl"),
        false,
        true,
    ),
    file(
        "obj_loss",
        include_str!("../../shaders/obj_loss.wgsl"),
        false,
        false,
    ),
    file(
        "box_cls",
        include_str!("../../shaders/box_cls.wgsl"),
        false,
        true,
    ),
    file(
        "f64_check",
        include_str!("../../shaders/f64_check.wgsl"),
        true,
        false,
    ),
];

const fn file(
    name: &'static str,
    source: &'static str,
    needs_f64: bool,
    needs_rows: bool,
) -> KernelFile {
    KernelFile {
        name,
        source,
        needs_f64,
        needs_rows,
    }
}

fn named(name: &str) -> KernelFile {
    *KERNELS
        .iter()
        .find(|k| k.name == name)
        .expect("every kernel is in the table")
}

/// The kernel's own source (without preludes).
#[cfg(test)]
pub(crate) fn source(name: &str) -> &'static str {
    named(name).source
}

/// The complete WGSL module of kernel `name`: `math.wgsl`, then `f64.wgsl` and `rows.wgsl`
/// where needed, then the kernel.
pub(crate) fn full_source(name: &str) -> String {
    let k = named(name);
    let parts = [
        (MATH, true),
        (F64, k.needs_f64),
        (ROWS, k.needs_rows),
        (k.source, true),
    ];
    let mut s = String::new();
    for (part, _) in parts.iter().filter(|(_, wanted)| *wanted) {
        s.push_str(part);
        s.push('\n');
    }
    s
}

/// The WGSL constants that name a value the host also names agree with the host's value.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::CellClass;

    /// The literal of `const NAME: TYPE = LITERAL;` in `source`.
    fn literal<'a>(source: &'a str, name: &str, ty: &str) -> &'a str {
        let head = format!("const {name}: {ty} = ");
        let at = source
            .find(&head)
            .unwrap_or_else(|| panic!("no `{head}...;` in the WGSL"));
        let rest = &source[at + head.len()..];
        rest[..rest.find(';').expect("a `;` ends the constant")].trim()
    }

    fn f32_const(source: &str, name: &str) -> f32 {
        literal(source, name, "f32")
            .parse()
            .expect("an f32 literal")
    }

    fn u32_const(source: &str, name: &str) -> u32 {
        let lit = literal(source, name, "u32").trim_end_matches('u');
        match lit.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16).expect("a hex literal"),
            None => lit.parse().expect("a u32 literal"),
        }
    }

    #[test]
    fn math_constants_are_the_hosts() {
        assert_eq!(
            f32_const(MATH, "FOCAL_ALPHA"),
            crate::loss::bce::FOCAL_ALPHA as f32
        );
        assert_eq!(f32_const(MATH, "MIN_NORMAL"), f32::MIN_POSITIVE);
        assert_eq!(f32_const(MATH, "BELOW_ONE"), 1.0 - f32::EPSILON / 2.0);
        assert_eq!(u32_const(MATH, "ONE_BITS"), 1f32.to_bits());
        assert_eq!(u32_const(MATH, "U_KEY"), crate::gpu::readback::U_KEY);
        assert_eq!(
            u32_const(MATH, "CLASS_POSITIVE") as usize,
            CellClass::Positive.index()
        );
        assert_eq!(
            u32_const(MATH, "CLASS_NEGATIVE") as usize,
            CellClass::Negative.index()
        );
        assert_eq!(
            u32_const(MATH, "CLASS_SOFT") as usize,
            CellClass::Soft.index()
        );
    }

    #[test]
    fn kernel_constants_are_the_hosts() {
        use crate::gpu::{obj_loss, soft_assign};
        let box_cls = source("box_cls");
        assert_eq!(f32_const(box_cls, "CIOU_EPS"), crate::loss::iou::EPS as f32);
        let obj = source("obj_loss");
        // The soft losses' guard (`loss::soft`, spec section 5).
        assert_eq!(f32_const(obj, "SOFT_EPS"), crate::loss::soft::EPS as f32);
        assert_eq!(u32_const(obj, "SOFT_LOSS1"), obj_loss::SOFT_LOSS1);
        assert_eq!(u32_const(obj, "SOFT_LOSS2"), obj_loss::SOFT_LOSS2);
        assert_eq!(u32_const(obj, "SOFT_LOSS3"), obj_loss::SOFT_LOSS3);
        let soft = source("soft_assign");
        assert_eq!(u32_const(soft, "SCORE_POWER"), soft_assign::SCORE_POWER);
        assert_eq!(
            u32_const(soft, "SCORE_GAUSSIAN"),
            soft_assign::SCORE_GAUSSIAN
        );
        assert_eq!(
            u32_const(soft, "OVERLAP_LAST_WRITE"),
            soft_assign::OVERLAP_LAST_WRITE
        );
        assert_eq!(u32_const(soft, "OVERLAP_MAX"), soft_assign::OVERLAP_MAX);
    }

    #[test]
    fn every_kernel_has_its_preludes() {
        for k in KERNELS {
            let s = full_source(k.name);
            assert!(s.starts_with(MATH), "{}", k.name);
            assert_eq!(s.contains(F64), k.needs_f64, "{}", k.name);
            assert_eq!(s.contains(ROWS), k.needs_rows, "{}", k.name);
        }
    }
}
