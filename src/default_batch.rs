//! The default batch: a seeded, realistic batch (YOLOv5s anchors, COCO-like box sizes, f32
//! logits) that `softobj` runs with no arguments, `softobj bench` and the benchmarks measure,
//! and Python's `default_batch` returns.
//!
//! ```
//! use soft_objectness::default_batch::DefaultBatch;
//! use soft_objectness::{EvalOptions, evaluate};
//! let small = DefaultBatch { batch: 2, width: 64, height: 64, nc: 3, ..DefaultBatch::standard(4) };
//! let (config, inputs) = small.build().unwrap();
//! assert_eq!(inputs.predictions[0].shape(), [2, 3, 8, 8, 8]);
//! assert_eq!(inputs.targets.nrows(), 8);
//! assert!(evaluate(&config, &inputs, &EvalOptions::default()).is_ok());
//! let odd = DefaultBatch { width: 100, ..small };
//! assert_eq!(odd.validate().unwrap_err().field(), Some("default_batch.width"));
//! ```

use ndarray::{Array2, Array5};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::array::Limits;
use crate::config::{Config, YOLOV5S_STRIDES};
use crate::error::{Error, Result};
use crate::inputs::{Inputs, Prediction};

/// The shape and seed of a default batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultBatch {
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

impl DefaultBatch {
    /// The seed of [`DefaultBatch::standard`].
    pub const SEED: u64 = 0x5eed;

    /// The batch the benchmarks measure: 16 images of 640x640, 80 classes, seed
    /// [`DefaultBatch::SEED`].
    pub fn standard(boxes_per_image: usize) -> DefaultBatch {
        DefaultBatch {
            batch: 16,
            width: 640,
            height: 640,
            nc: 80,
            boxes_per_image,
            seed: DefaultBatch::SEED,
        }
    }

    /// Checks the shape: width and height positive multiples of 32 (the strides 8, 16, 32) up
    /// to 65536, 1 to 4096 images, 1 to 100000 classes, and the predictions and the targets
    /// within [`Limits::max_elements`].
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `default_batch.width`, `.height`, `.batch` or `.nc`;
    /// [`Error::TooLarge`] for a batch whose arrays exceed the element limit.
    pub fn validate(&self) -> Result<()> {
        validate_shape(
            "default_batch",
            self.width,
            self.height,
            self.batch,
            self.nc,
        )?;
        let rows = (self.batch as u64).saturating_mul(self.boxes_per_image as u64);
        let limit = Limits::default().max_elements;
        if rows.saturating_mul(6) > limit {
            return Err(Error::TooLarge {
                field: "default_batch.boxes_per_image".into(),
                elements: rows.saturating_mul(6),
                limit,
            });
        }
        Ok(())
    }

    /// The batch's configuration (YOLOv5s anchors, soft assigner defaults) and inputs (f32
    /// logits: objectness around -4.5 as in a partly trained detector, the rest standard
    /// normal).
    ///
    /// # Errors
    /// As [`DefaultBatch::validate`].
    pub fn build(&self) -> Result<(Config, Inputs)> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let config = Config {
            nc: self.nc,
            ..Config::default()
        };
        let targets = random_targets(&mut rng, self.batch, self.nc, self.boxes_per_image);
        let normal = Normal::new(0.0f32, 1.0).expect("valid normal");
        let predictions = YOLOV5S_STRIDES
            .iter()
            .map(|&s| {
                let (ny, nx) = (self.height / s as usize, self.width / s as usize);
                let mut p = Array5::<f32>::zeros((self.batch, 3, ny, nx, 5 + self.nc));
                for (i, v) in p.iter_mut().enumerate() {
                    let z = normal.sample(&mut rng);
                    *v = if i % (5 + self.nc) == 4 { z - 4.5 } else { z };
                }
                Prediction::F32(p)
            })
            .collect();
        let inputs = Inputs {
            targets,
            predictions,
        };
        Ok((config, inputs))
    }
}

/// The shape rules of a generated batch of three YOLOv5s layers (the default batch, random
/// cases), each error naming `{what}.FIELD`: width and height positive multiples of 32 (the
/// strides 8, 16, 32) up to 65536, 1 to 4096 images, 1 to 100000 classes, and the stride-8
/// layer's predictions within [`Limits::max_elements`].
pub(crate) fn validate_shape(
    what: &str,
    width: usize,
    height: usize,
    batch: usize,
    nc: usize,
) -> Result<()> {
    for (name, v) in [("width", width), ("height", height)] {
        if v == 0 || v % 32 != 0 || v > 65536 {
            return Err(Error::invalid(
                format!("{what}.{name}"),
                v,
                "must be a positive multiple of 32, at most 65536",
            ));
        }
    }
    if batch == 0 || batch > 4096 {
        return Err(Error::invalid(
            format!("{what}.batch"),
            batch,
            "must be 1 to 4096",
        ));
    }
    if nc == 0 || nc > 100_000 {
        return Err(Error::invalid(
            format!("{what}.nc"),
            nc,
            "must be 1 to 100000",
        ));
    }
    let elements = (batch as u64 * 3)
        .saturating_mul((width / 8) as u64 * (height / 8) as u64)
        .saturating_mul(5 + nc as u64);
    let limit = Limits::default().max_elements;
    if elements > limit {
        return Err(Error::TooLarge {
            field: format!("{what} (predictions of the stride-8 layer)"),
            elements,
            limit,
        });
    }
    Ok(())
}

/// COCO-like boxes: log-normal sizes around 12% of the image (small objects common, large ones
/// rare), log-normal aspect ratios, centres uniform, boxes clipped to the image.
pub(crate) fn random_targets(
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

/// A small evaluated batch (2 images of 64x64, 3 classes, 4 boxes each) for unit tests.
#[cfg(test)]
pub(crate) fn small_evaluation() -> (Config, crate::result::Evaluation) {
    let (config, inputs) = small(3);
    let e = crate::eval::evaluate(&config, &inputs, &crate::options::EvalOptions::default())
        .expect("the default batch is valid");
    (config, e)
}

/// A small default batch (2 images of 64x64, 3 classes, 4 boxes each) with seed `seed`.
#[cfg(test)]
pub(crate) fn small(seed: u64) -> (Config, Inputs) {
    DefaultBatch {
        batch: 2,
        width: 64,
        height: 64,
        nc: 3,
        boxes_per_image: 4,
        seed,
    }
    .build()
    .expect("a valid default batch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_its_field() {
        let ok = DefaultBatch::standard(8);
        assert!(ok.validate().is_ok());
        for (bad, field) in [
            (DefaultBatch { width: 0, ..ok }, "default_batch.width"),
            (DefaultBatch { height: 48, ..ok }, "default_batch.height"),
            (DefaultBatch { batch: 0, ..ok }, "default_batch.batch"),
            (DefaultBatch { nc: 0, ..ok }, "default_batch.nc"),
        ] {
            assert_eq!(bad.validate().unwrap_err().field(), Some(field));
            assert_eq!(bad.build().unwrap_err().field(), Some(field));
        }
        let huge = DefaultBatch {
            width: 65536,
            height: 65536,
            ..ok
        };
        assert!(matches!(huge.validate(), Err(Error::TooLarge { .. })));
        let many = DefaultBatch {
            boxes_per_image: usize::MAX,
            ..ok
        };
        assert!(matches!(many.validate(), Err(Error::TooLarge { .. })));
    }
}
