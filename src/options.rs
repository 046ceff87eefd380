//! How to run an evaluation: which soft builder, which layer balance.

/// Which implementation of the soft assigner to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SoftBuilder {
    /// [`crate::assign::soft_loop`]: one cell at a time, the formulas as written.
    Loop,
    /// [`crate::assign::soft_vec`]: separable distances, parallel over planes.
    #[default]
    Vectorised,
}

/// Options of an evaluation ([`crate::evaluate`], [`crate::gpu::evaluate`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalOptions {
    /// Which soft builder to run.
    pub builder: SoftBuilder,
    /// The layer balance in force (autobalance state from an earlier evaluation); `None` uses
    /// [`crate::Config::default_balance`].
    pub balance: Option<Vec<f64>>,
}

impl EvalOptions {
    /// The default options with soft builder `builder`.
    ///
    /// ```
    /// use soft_objectness::{EvalOptions, SoftBuilder};
    /// let opts = EvalOptions::with_builder(SoftBuilder::Loop).balance(vec![4.0, 1.0, 0.4]);
    /// assert_eq!(opts.builder, SoftBuilder::Loop);
    /// assert_eq!(opts.balance.as_deref(), Some(&[4.0, 1.0, 0.4][..]));
    /// ```
    pub fn with_builder(builder: SoftBuilder) -> EvalOptions {
        EvalOptions {
            builder,
            ..EvalOptions::default()
        }
    }

    /// The same options with the layer balance in force set to `balance`.
    pub fn balance(self, balance: Vec<f64>) -> EvalOptions {
        EvalOptions {
            balance: Some(balance),
            ..self
        }
    }
}
