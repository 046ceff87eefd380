//! Test hooks, not API: the internals that the integration tests, the benchmarks, the fuzz
//! targets and the timings of `softobj bench` and `softobj summary` reach (the builders and
//! losses on their own, the random case generator, the GPU's fault injection). Hidden from the
//! documentation; any release may change them.

/// The assigners' parts: anchor matching, cell ranges and scores, both soft builders.
pub mod assign {
    pub use crate::assign::{build_in, matching, score, soft_loop, soft_vec, yolov5};
}

/// The losses' parts: the whole loss from built targets, the IoU family.
pub mod loss {
    pub use crate::loss::{bce, compute, iou, norm, soft};
}

/// The random case generator: its streams, configuration spaces and case builders.
pub mod casegen {
    pub use crate::casegen::edge::edge_cases;
    pub use crate::casegen::random::{
        Anchors, ConfigSpace, Draw, SoftLossDraw, quantize_coord, quantize_logit, random_case,
        random_config, random_predictions, random_targets, rng_for,
    };
}

/// The GPU tests' hooks (a small dispatch limit, a lost device, the emulated f64 addition).
#[cfg(feature = "gpu")]
pub mod gpu {
    pub use crate::gpu::testing::*;
}
