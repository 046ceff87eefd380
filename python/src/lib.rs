//! `soft_objectness._core`: the compiled module of the Python package `soft_objectness`,
//! declared here in one place.
//!
//! Every function is a thin front of the core crate: arguments are converted once
//! (`arrays`: predictions borrowed from their numpy arrays, never copied), configurations read
//! by the core's reader (`config`), cases and answers by the core's readers (`cases`,
//! `answers`: the `.npy` path rule holds everywhere), inputs evaluated (`evaluation`) and
//! answers checked (`report`) by the core on the `Backend` the caller names, ports judged by the
//! core's harness (`harness`, a Python callable as its port in `port`). The GIL is
//! released while the core works; errors convert through `errors::Error` and a panic becomes
//! `InternalError`. The package (`python/py_src/soft_objectness`) re-exports this module and
//! adds `assert_conforms` and `assert_port_conforms`.

mod answers;
mod arrays;
mod cases;
mod config;
mod errors;
mod evaluation;
mod harness;
mod outputs;
mod port;
mod report;
mod testing;

use pyo3::prelude::*;

/// The compiled half of `soft_objectness`; the package re-exports it (see its docstring).
#[pymodule]
mod _core {
    use pyo3::prelude::*;
    use soft_objectness::{Answer, Case};

    #[pymodule_export]
    use super::answers::{load_answer, write_answer};
    #[pymodule_export]
    use super::cases::{default_batch, evaluate_case, gen_cases, load_case, write_case};
    #[pymodule_export]
    use super::config::PyConfig;
    #[pymodule_export]
    use super::errors::{
        CaseError, CaseWarning, GpuError, InternalError, NonFiniteError, TooLargeError,
    };
    #[pymodule_export]
    use super::evaluation::{PyEvaluation, build_targets, evaluate};
    #[pymodule_export]
    use super::harness::{PyConformance, conformance};
    #[pymodule_export]
    use super::report::{PyReport, check};

    /// The format tag of every case (`soft-objectness-case/1`).
    #[pymodule_export]
    const FORMAT: &str = Case::FORMAT;

    /// Test hooks, not API (see `testing.rs`).
    #[pymodule]
    mod _testing {
        #[pymodule_export]
        use crate::testing::{prediction_addresses, time_build_targets};
    }

    /// `__version__`, `PRESETS` (the tolerance presets by name), `ANSWER_KEYS` (the fields of
    /// an answer, what `check(only=...)` takes), and `_testing` importable as
    /// `soft_objectness._core._testing`, out of `__all__`.
    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.setattr("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("PRESETS", super::report::presets(m.py())?)?;
        m.add("ANSWER_KEYS", Answer::KEYS.to_vec())?;
        // The hooks stay out of `__all__`: `from soft_objectness._core import *` is the API.
        m.index()?.call_method1("remove", ("_testing",))?;
        let testing = m.getattr("_testing")?;
        testing.setattr("__name__", "soft_objectness._core._testing")?;
        let sys_modules = m.py().import("sys")?.getattr("modules")?;
        sys_modules.set_item("soft_objectness._core._testing", testing)?;
        Ok(())
    }
}
