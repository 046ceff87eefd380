//! The Python exception classes and the binding's one error type, [`Error`]: the core's errors,
//! Python's own and caught panics convert into it through `From`, so `?` works everywhere, and
//! it converts into the Python exception (`From<Error> for PyErr`) where a function returns.

use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyOSError, PyPermissionError, PyRuntimeError,
    PyUserWarning, PyValueError,
};
use pyo3::prelude::*;
use pyo3::{CastError, CastIntoError, PyErr, create_exception};

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
create_exception!(
    soft_objectness,
    CaseWarning,
    PyUserWarning,
    "What the case reader notices without refusing a case: an unknown top-level key, targets \
     that look like pixel coordinates (the messages of `softobj eval`)."
);

/// Why a call of the binding failed: the core refused something, Python raised, or the core
/// panicked. Built with or without the GIL; the Python exception is made where the call returns.
#[derive(Debug)]
pub enum Error {
    /// A core error: becomes [`CaseError`] (or a subclass), [`GpuError`] or an `OSError`, with
    /// the field path in `.field`.
    Core(soft_objectness::Error),
    /// A Python exception, as it is.
    Py(PyErr),
    /// A panic's message: becomes [`InternalError`].
    Panic(String),
}

/// The result of a call of the binding.
pub type Result<T> = std::result::Result<T, Error>;

impl std::fmt::Display for Error {
    /// The message the Python exception will carry (a Python exception with its type's name).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Core(e) => write!(f, "{e}"),
            Error::Py(e) => write!(f, "{e}"),
            Error::Panic(what) => write!(f, "the oracle panicked ({what})"),
        }
    }
}

impl From<soft_objectness::Error> for Error {
    fn from(e: soft_objectness::Error) -> Self {
        Error::Core(e)
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error::Py(e)
    }
}

impl From<CastError<'_, '_>> for Error {
    fn from(e: CastError<'_, '_>) -> Self {
        Error::Py(e.into())
    }
}

impl From<CastIntoError<'_>> for Error {
    fn from(e: CastIntoError<'_>) -> Self {
        Error::Py(e.into())
    }
}

impl From<pythonize::PythonizeError> for Error {
    fn from(e: pythonize::PythonizeError) -> Self {
        Error::Py(e.into())
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Core(e) => Python::attach(|py| core_exception(py, &e)),
            Error::Py(e) => e,
            Error::Panic(what) => InternalError::new_err(format!(
                "the oracle panicked ({what}); this is a bug of soft-objectness: please report \
                 it with the inputs that caused it"
            )),
        }
    }
}

/// The Python exception of a core error, with its field path in `.field`.
fn core_exception(py: Python<'_>, e: &soft_objectness::Error) -> PyErr {
    use soft_objectness::Error as E;
    let msg = e.to_string();
    let err = match e {
        E::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            std::io::ErrorKind::AlreadyExists => PyFileExistsError::new_err(msg),
            _ => PyOSError::new_err(msg),
        },
        E::Gpu(_) => GpuError::new_err(msg),
        E::TooLarge { .. } | E::JsonTooLarge { .. } => TooLargeError::new_err(msg),
        E::NonFinite { .. } => NonFiniteError::new_err(msg),
        _ => CaseError::new_err(msg),
    };
    // Best effort: an exception object that refuses the attribute keeps its message.
    let _ = err.value(py).setattr("field", e.field());
    err
}

/// Runs `f`, a panic caught as [`Error::Panic`]. Safe to call without the GIL: no Python
/// object is made here.
pub fn guarded<T>(f: impl FnOnce() -> soft_objectness::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(Error::Core),
        Err(payload) => Err(Error::Panic(
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into()),
        )),
    }
}

/// Runs `f` without the GIL, a panic caught as [`guarded`] catches it.
pub fn detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> soft_objectness::Result<T> + Send,
) -> Result<T> {
    py.detach(|| guarded(f))
}

/// Runs `f` without the GIL as one job on rayon's pool, a panic caught as [`guarded`] catches
/// it. The core's parallel loops then start inside the pool: the calling thread hands the work
/// over once and is woken once, instead of once per loop (docs/performance.md).
pub fn pooled<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> soft_objectness::Result<T> + Send,
) -> Result<T> {
    py.detach(|| guarded(|| rayon::scope(|_| f())))
}

/// Each of the reader's `messages` as a [`CaseWarning`] attributed to the caller's line.
pub fn warn(py: Python<'_>, messages: &[String]) -> Result<()> {
    let category = py.get_type::<CaseWarning>();
    for m in messages {
        let text = CString::new(m.replace('\0', " ")).expect("no NUL left in the message");
        PyErr::warn(py, category.as_any(), &text, 1)?;
    }
    Ok(())
}
