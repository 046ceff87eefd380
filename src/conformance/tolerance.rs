//! How close an answer must be: [`Tolerances`] and its presets.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How close an answer must be to the oracle's.
///
/// With `got` the answer's value and `want` the oracle's:
///
/// * scalars (`loss`, `lbox`, `lobj`, `lcls`, and per layer `hard_loss`, `soft_loss`,
///   `balance`): `|got - want| <= atol + rtol * |want|`;
/// * every `tobj` cell: `|got - want| <= tobj_atol`, **and** the cell's class (positive,
///   negative, soft; spec 4.9, exact comparisons) must be the same in both;
/// * every gradient component: `|got - want| <= grad_rtol * G`, where `G` is the largest
///   `|want|` over every layer and channel of the oracle's gradient;
/// * `counts` and the integer fields of `matched` (`b`, `a`, `gj`, `gi`, `class`) exactly;
///   `matched[..].tbox` and `.anchor`: `|got - want| <= tobj_atol + rtol * |want|`.
///
/// A NaN never passes. The presets: [`Tolerances::F64`] for an implementation in double
/// precision, [`Tolerances::F32`] for one in single precision.
///
/// ```
/// use soft_objectness::conformance::Tolerances;
///
/// assert_eq!(Tolerances::default(), Tolerances::F64);
/// let loose = Tolerances { rtol: 1e-3, ..Tolerances::F32 };
/// assert!(loose.validate().is_ok());
/// let bad = Tolerances { grad_rtol: f64::NAN, ..Tolerances::F64 };
/// assert_eq!(bad.validate().unwrap_err().field(), Some("tolerances.grad_rtol"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    /// Relative tolerance of the scalar losses.
    pub rtol: f64,
    /// Absolute tolerance of the scalar losses.
    pub atol: f64,
    /// Absolute tolerance of every `tobj` cell.
    pub tobj_atol: f64,
    /// Gradient tolerance, relative to the largest gradient component.
    pub grad_rtol: f64,
}

impl Tolerances {
    /// An f64 implementation: losses within `1e-12` relative, `tobj` bit-exact, gradients within
    /// `1e-10` of the largest component.
    pub const F64: Tolerances = Tolerances {
        rtol: 1e-12,
        atol: 0.0,
        tobj_atol: 0.0,
        grad_rtol: 1e-10,
    };

    /// An f32 implementation: losses within `2e-5` relative, `tobj` within `2e-5`, gradients
    /// within `1e-4` of the largest component; counts and cell classes still exact.
    pub const F32: Tolerances = Tolerances {
        rtol: 2e-5,
        atol: 0.0,
        tobj_atol: 2e-5,
        grad_rtol: 1e-4,
    };

    /// Checks that every tolerance is a finite, non-negative number.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the tolerance.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("rtol", self.rtol),
            ("atol", self.atol),
            ("tobj_atol", self.tobj_atol),
            ("grad_rtol", self.grad_rtol),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    format!("tolerances.{name}"),
                    v,
                    "must be a finite number >= 0",
                ));
            }
        }
        Ok(())
    }

    /// The largest `|got - want|` a scalar loss may be off by: `atol + rtol * |want|`.
    pub(crate) fn scalar(&self, want: f64) -> f64 {
        self.atol + self.rtol * want.abs()
    }
}

impl std::fmt::Display for Tolerances {
    /// `rtol 1e-12, atol 0, tobj_atol 0, grad_rtol 1e-10`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rtol {}, atol {}, tobj_atol {}, grad_rtol {}",
            short(self.rtol),
            short(self.atol),
            short(self.tobj_atol),
            short(self.grad_rtol)
        )
    }
}

/// A tolerance as written by a person: `0`, `1e-12`, `2e-5`, `0.5`.
pub(crate) fn short(x: f64) -> String {
    if x == 0.0 || (1e-3..1e3).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances::F64
    }
}
