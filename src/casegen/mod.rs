//! Seeded case generation (`softobj gen`): random cases over every option, and the *edge mix*,
//! a fixed list of small cases that together exercise every rule of the spec.
//!
//! Everything is a function of the seed (and the case's index): the same seed gives the same
//! cases, bit for bit, and the same files byte for byte ([`case_json`]).
//!
//! Generated inputs are friendly to single-precision implementations: prediction logits are
//! multiples of `2^-10` and target coordinates multiples of `2^-12` (see [`quantize_logit`],
//! [`quantize_coord`]), so they are exact in f32, and `x * nx`, `gw / 2`, `gx - gw / 2` are
//! exact in f32 too for grids up to 2048 cells: an f32 port sees the oracle's cell ranges.
//!
//! The parts:
//! * `random`: the seeded streams ([`rng_for`]), the one random configuration generator
//!   ([`random_config`] over a [`ConfigSpace`], shared by `softobj gen`, the tests and the
//!   fuzz targets), random targets, predictions and whole cases ([`random_case`]);
//! * `edge`: the edge mix, a table of rows turned into cases ([`edge_cases`]);
//! * `write`: file names and case files ([`stem`], [`case_json`], [`write_case`]).
//!
//! ```
//! use soft_objectness::casegen::{GenOptions, edge_cases, random_case};
//! let opts = GenOptions::default();
//! let a = random_case(&opts, 3).unwrap();
//! assert_eq!(a, random_case(&opts, 3).unwrap()); // deterministic
//! assert!(soft_objectness::evaluate_case(&a, &Default::default()).is_ok());
//! let edges = edge_cases(opts.seed);
//! assert!(edges.iter().any(|c| c.name.starts_with("empty-targets")));
//! ```

mod edge;
mod random;
mod write;

pub use edge::edge_cases;
pub use random::{
    Anchors, ConfigSpace, Draw, SoftLossDraw, describe, quantize_coord, quantize_logit,
    random_case, random_config, random_predictions, random_targets, rng_for,
};
pub use write::{case_json, stem, write_case};

use crate::error::{Error, Result};
/// The shape of generated random cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Image width in pixels, a multiple of 32 (the three YOLOv5s strides 8, 16, 32).
    pub width: usize,
    /// Image height in pixels, a multiple of 32.
    pub height: usize,
    /// Images per batch.
    pub batch: usize,
    /// Classes.
    pub nc: usize,
}

impl Default for GenOptions {
    /// Small cases: seed 0, 64x64 images (grids 8x8, 4x4, 2x2), batch 2, 3 classes.
    fn default() -> Self {
        GenOptions {
            seed: 0,
            width: 64,
            height: 64,
            batch: 2,
            nc: 3,
        }
    }
}

impl GenOptions {
    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `gen.image`, `gen.batch` or `gen.nc`.
    pub fn validate(&self) -> Result<()> {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 || w % 32 != 0 || h % 32 != 0 || w > 65536 || h > 65536 {
            return Err(Error::invalid(
                "gen.image",
                format!("{w}x{h}"),
                "width and height must be positive multiples of 32, at most 65536",
            ));
        }
        if self.batch == 0 || self.batch > 4096 {
            return Err(Error::invalid("gen.batch", self.batch, "must be 1 to 4096"));
        }
        if self.nc == 0 || self.nc > 100_000 {
            return Err(Error::invalid("gen.nc", self.nc, "must be 1 to 100000"));
        }
        // The stride-8 layer is the largest; refuse what a case could not hold.
        let elements = (self.batch as u64 * 3)
            .saturating_mul((w / 8) as u64 * (h / 8) as u64)
            .saturating_mul(5 + self.nc as u64);
        let limit = crate::Limits::default().max_elements;
        if elements > limit {
            return Err(Error::TooLarge {
                field: "gen (predictions of the stride-8 layer)".into(),
                elements,
                limit,
            });
        }
        Ok(())
    }
}
