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
    Anchors, ConfigSpace, Draw, GenOptions, SoftLossDraw, describe, quantize_coord, quantize_logit,
    random_case, random_config, random_predictions, random_targets, rng_for,
};
pub use write::{case_json, stem, write_case};
