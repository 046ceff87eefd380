//! The embedded default workload: a seeded, realistic batch (YOLOv5s anchors, COCO-like box
//! sizes) that `softobj` runs with no arguments and the benchmarks measure.

use ndarray::{Array2, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::config::{Config, YOLOV5S_STRIDES};
use crate::inputs::{Inputs, Prediction};

/// Shape of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Images in the batch.
    pub batch: usize,
    /// Image width in pixels (a multiple of 32).
    pub width: usize,
    /// Image height in pixels (a multiple of 32).
    pub height: usize,
    /// Classes.
    pub nc: usize,
    /// Boxes per image.
    pub boxes_per_image: usize,
    /// Random seed.
    pub seed: u64,
}

impl Workload {
    /// The standard workload of the benchmarks: batch 16, 640x640, 80 classes.
    pub fn standard(boxes_per_image: usize) -> Workload {
        Workload {
            batch: 16,
            width: 640,
            height: 640,
            nc: 80,
            boxes_per_image,
            seed: 0x5eed,
        }
    }
}

/// COCO-like boxes: log-normal sizes around 12% of the image (small objects common, large ones
/// rare), log-normal aspect ratios, centres uniform, boxes clipped to the image.
pub fn random_targets(
    rng: &mut impl Rng,
    batch: usize,
    nc: usize,
    boxes_per_image: usize,
) -> Array2<f64> {
    let size = Normal::new((0.12f64).ln(), 0.9).expect("valid normal");
    let aspect = Normal::new(0.0f64, 0.45).expect("valid normal");
    let mut t = Array2::zeros((batch * boxes_per_image, 6));
    for (k, mut row) in t.outer_iter_mut().enumerate() {
        let s = size.sample(rng).exp().clamp(0.008, 0.95);
        let r = aspect.sample(rng).exp();
        let (w, h) = ((s * r.sqrt()).min(1.0), (s / r.sqrt()).min(1.0));
        let x = w / 2.0 + rng.random::<f64>() * (1.0 - w);
        let y = h / 2.0 + rng.random::<f64>() * (1.0 - h);
        let c = rng.random_range(0..nc) as f64;
        row.assign(&ndarray::arr1(&[
            (k / boxes_per_image) as f64,
            c,
            x,
            y,
            w,
            h,
        ]));
    }
    t
}

/// Builds the workload's configuration (YOLOv5s anchors, soft assigner defaults) and inputs
/// (f32 logits: objectness around -4.5 as in a partly trained detector, the rest standard normal).
///
/// ```
/// use soft_objectness::default_batch::{Workload, build};
/// let (config, inputs) = build(&Workload { batch: 2, width: 64, height: 64, nc: 3, boxes_per_image: 4, seed: 1 });
/// assert_eq!(inputs.predictions[0].shape(), [2, 3, 8, 8, 8]);
/// assert_eq!(inputs.targets.nrows(), 8);
/// assert!(soft_objectness::evaluate(&config, &inputs, &Default::default()).is_ok());
/// ```
pub fn build(w: &Workload) -> (Config, Inputs) {
    let mut rng = StdRng::seed_from_u64(w.seed);
    let config = Config {
        nc: w.nc,
        ..Config::default()
    };
    let targets = random_targets(&mut rng, w.batch, w.nc, w.boxes_per_image);
    let normal = Normal::new(0.0f32, 1.0).expect("valid normal");
    let predictions = YOLOV5S_STRIDES
        .iter()
        .map(|&s| {
            let (ny, nx) = (w.height / s as usize, w.width / s as usize);
            let mut p = Array5::<f32>::zeros((w.batch, 3, ny, nx, 5 + w.nc));
            for (i, v) in p.iter_mut().enumerate() {
                let z = normal.sample(&mut rng);
                *v = if i % (5 + w.nc) == 4 { z - 4.5 } else { z };
            }
            Prediction::F32(p)
        })
        .collect();
    (
        config,
        Inputs {
            targets,
            predictions,
        },
    )
}

/// A small evaluated batch (2 images of 64x64, 3 classes, 4 boxes each) for unit tests.
#[cfg(test)]
pub(crate) fn small_evaluation() -> (Config, crate::result::Evaluation) {
    let (config, inputs) = build(&Workload {
        batch: 2,
        width: 64,
        height: 64,
        nc: 3,
        boxes_per_image: 4,
        seed: 3,
    });
    let e = crate::eval::evaluate(&config, &inputs, &crate::options::EvalOptions::default())
        .expect("the standard workload is valid");
    (config, e)
}
