//! Splitting into chunks, the two-dimensional dispatch and repeated runs change no bit.

use rand::SeedableRng;
use rand::rngs::StdRng;
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::gpu::GpuContext;
use soft_objectness::internals::gpu as testing;
use soft_objectness::{Assigner, Config, Error, EvalOptions, Overlap, evaluate};
use soft_objectness::{GpuError, GpuLimit};

use crate::common::on_gpu;
use crate::common::{Tolerance, compare, own_ctx};
use crate::random::random_case;

pub(crate) fn splitting_by_image_changes_no_target_or_gradient(ctx: &GpuContext) {
    let small = own_ctx();
    let (config, inputs) = DefaultBatch {
        batch: 6,
        width: 320,
        height: 256,
        nc: 5,
        boxes_per_image: 12,
        seed: 9,
    }
    .build()
    .unwrap();
    // 200 KiB: one image of the 40x32 layer per chunk (150 KiB of predictions each), five of
    // the 20x16 layer, all six of the 10x8 layer.
    small.set_binding_limit(200 * 1024);
    let opts = EvalOptions::default();
    for assigner in [Assigner::Soft, Assigner::Yolov5] {
        let config = Config {
            assigner,
            ..config.clone()
        };
        let whole = on_gpu(ctx, &config, &inputs, &opts).unwrap();
        let split = on_gpu(&small, &config, &inputs, &opts).unwrap();
        let cpu = evaluate(&config, &inputs, &opts).unwrap();
        compare("split", &config, &split, &cpu, Tolerance::GPU_F32, true).unwrap();
        for (a, b) in whole.layers.iter().zip(&split.layers) {
            assert_eq!(a.tobj, b.tobj);
            assert_eq!(a.counts, b.counts);
        }
        assert_eq!(whole.grad, split.grad);
    }
    // One image that cannot fit: a clear error, nothing dispatched.
    small.set_binding_limit(256);
    let e = on_gpu(&small, &config, &inputs, &opts).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Gpu(GpuError::LimitExceeded {
                limit: GpuLimit::StorageBinding,
                available: 256,
                ..
            })
        ) && e.to_string().contains("binding limit"),
        "{e}"
    );
}

pub(crate) fn two_dimensional_dispatch_changes_nothing(ctx: &GpuContext) {
    let narrow = own_ctx();
    // Two workgroups per dimension: every dispatch of more than 128 invocations is 2-D.
    testing::set_dispatch_limit(&narrow, 2);
    let mut rng = StdRng::seed_from_u64(0x2d);
    for _ in 0..20 {
        let (config, inputs, opts) = random_case(&mut rng);
        let a = on_gpu(ctx, &config, &inputs, &opts).unwrap();
        let b = on_gpu(&narrow, &config, &inputs, &opts).unwrap();
        assert_eq!(a, b, "{config:?}");
    }
}

pub(crate) fn the_same_case_twice_is_bit_identical(ctx: &GpuContext) {
    let (config, inputs) = DefaultBatch {
        batch: 4,
        width: 256,
        height: 256,
        nc: 10,
        boxes_per_image: 16,
        seed: 3,
    }
    .build()
    .unwrap();
    for overlap in [Overlap::LastWrite, Overlap::Max] {
        let config = Config {
            overlap,
            ..config.clone()
        };
        let a = on_gpu(ctx, &config, &inputs, &EvalOptions::default()).unwrap();
        let b = on_gpu(ctx, &config, &inputs, &EvalOptions::default()).unwrap();
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
        for (x, y) in a.layers.iter().zip(&b.layers) {
            assert_eq!(x.hard_loss.to_bits(), y.hard_loss.to_bits());
            assert_eq!(x.soft_loss.to_bits(), y.soft_loss.to_bits());
            assert!(
                x.tobj
                    .iter()
                    .zip(y.tobj.iter())
                    .all(|(p, q)| p.to_bits() == q.to_bits())
            );
        }
        let (ga, gb) = (a.grad.to_dense(), b.grad.to_dense());
        assert!(ga.iter().zip(&gb).all(|(p, q)| {
            p.iter()
                .zip(q.iter())
                .all(|(u, v)| u.to_bits() == v.to_bits())
        }));
        assert_eq!(a, b);
    }
}
