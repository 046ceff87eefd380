//! The Python exception classes and the one mapping from the core's [`Error`] to them; Rust
//! panics caught at the boundary become [`InternalError`], never an abort.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::{PyErr, create_exception};
use soft_objectness::Error;

create_exception!(
    soft_objectness,
    CaseError,
    PyValueError,
    "A case, an answer or an input that breaks a rule of the case format or of spec section 8.\n\n\
     The message is the command line's (`softobj eval`), naming the field: \
     `inputs.targets row 3 (class): must be an integer class in 0..80 (got 80)`. The field path \
     alone is in `.field` (None when the error has none)."
);
create_exception!(
    soft_objectness,
    TooLargeError,
    CaseError,
    "An array or a JSON text larger than the reader's limits, refused before it is allocated."
);
create_exception!(
    soft_objectness,
    NonFiniteError,
    CaseError,
    "A result of the evaluation would not be finite (only possible with a `balance` that scales \
     the loss past the float64 range)."
);
create_exception!(
    soft_objectness,
    GpuError,
    PyRuntimeError,
    "The GPU backend is unavailable (no adapter, not compiled in) or failed on the device."
);
create_exception!(
    soft_objectness,
    InternalError,
    PyRuntimeError,
    "A panic inside the oracle: a bug, to be reported with the inputs that caused it."
);

/// The Python exception of a core error, with its field path in `.field`.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let msg = e.to_string();
    let field = e.field().map(str::to_string);
    let err = match &e {
        Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            _ => PyOSError::new_err(msg),
        },
        Error::Gpu(_) => GpuError::new_err(msg),
        Error::TooLarge { .. } | Error::JsonTooLarge { .. } => TooLargeError::new_err(msg),
        Error::NonFinite { .. } => NonFiniteError::new_err(msg),
        _ => CaseError::new_err(msg),
    };
    // Best effort: an exception object that refuses the attribute keeps its message.
    let _ = err.value(py).setattr("field", field);
    err
}

/// Runs `f`, turning a panic into [`InternalError`] and a core error into its exception.
/// Safe to call without the GIL: the exceptions are built after `f` returns.
pub fn guarded<T>(f: impl FnOnce() -> soft_objectness::Result<T>) -> Outcome<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Outcome::Ok(v),
        Ok(Err(e)) => Outcome::Err(e),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Outcome::Panic(what)
        }
    }
}

/// What [`guarded`] returns: built without the GIL, turned into a `PyResult` with it.
pub enum Outcome<T> {
    /// The value.
    Ok(T),
    /// A core error.
    Err(Error),
    /// A panic's message.
    Panic(String),
}

impl<T> Outcome<T> {
    /// The value, or the Python exception.
    pub fn into_py(self, py: Python<'_>) -> PyResult<T> {
        match self {
            Outcome::Ok(v) => Ok(v),
            Outcome::Err(e) => Err(to_py(py, e)),
            Outcome::Panic(what) => Err(InternalError::new_err(format!(
                "the oracle panicked ({what}); this is a bug of soft-objectness: please report \
                 it with the inputs that caused it"
            ))),
        }
    }
}

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("CaseError", py.get_type::<CaseError>())?;
    m.add("TooLargeError", py.get_type::<TooLargeError>())?;
    m.add("NonFiniteError", py.get_type::<NonFiniteError>())?;
    m.add("GpuError", py.get_type::<GpuError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}
