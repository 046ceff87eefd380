//! What the test suites share: seeded random cases (configurations from
//! `soft_objectness::casegen`), the invariants every evaluation satisfies, the runner of the
//! `softobj` binary, the check of refused input, and the list of fixtures.
//!
//! Each test binary includes this module with `mod common;` and uses a part of it.
#![allow(dead_code, unused_imports)]

pub mod cases;
#[cfg(feature = "cli")]
pub mod cli;
pub mod errors;
pub mod fixtures;
pub mod invariants;

pub use cases::{random_case, random_predictions, random_targets, rng};
pub use errors::assert_error;
pub use invariants::{assert_bits_eq, assert_finite, evaluate_both, evaluate_legal, targets_of};
