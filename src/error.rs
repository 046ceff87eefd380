//! The crate's one error type.
//!
//! Every variant names the field it is about with a *field path* such as
//! `config.score.sigma`, `inputs.predictions[1]` or `inputs.targets row 3 (class)`, so that a
//! user can find the offending value in their case file.

use std::path::PathBuf;

/// Everything that can go wrong when reading, validating or evaluating a case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value is present and well typed but breaks a rule of the spec (section 8).
    #[error("{field}: {reason} (got {value})")]
    Invalid {
        /// Field path, e.g. `inputs.targets row 3 (class)`.
        field: String,
        /// The offending value as written.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A value has the wrong JSON type or structure.
    #[error("{field}: expected {expected}, got {got}")]
    Type {
        /// Field path.
        field: String,
        /// What was expected, e.g. `a number`.
        expected: String,
        /// A short description of what was found.
        got: String,
    },
    /// An array's shape disagrees with its data or with the rest of the case.
    #[error("{field}: shape mismatch: expected {expected}, got {got}")]
    Shape {
        /// Field path.
        field: String,
        /// The expected shape or length.
        expected: String,
        /// The actual shape or length.
        got: String,
    },
    /// A required field is absent.
    #[error("{field}: missing required field")]
    Missing {
        /// Field path.
        field: String,
    },
    /// A key inside `config` that the format does not know (a misspelt option).
    #[error("{field}: unknown key `{key}` (accepted: {accepted})")]
    UnknownKey {
        /// Path of the object holding the key.
        field: String,
        /// The unknown key.
        key: String,
        /// The accepted keys, comma separated.
        accepted: String,
    },
    /// A string option whose value is not one of the accepted ones.
    #[error("{field}: unknown value `{value}` (accepted: {accepted})")]
    UnknownValue {
        /// Field path.
        field: String,
        /// The unknown value.
        value: String,
        /// The accepted values, comma separated.
        accepted: String,
    },
    /// An array would be larger than an element limit ([`crate::Limits::max_elements`], or the
    /// cells a layer's boxes may cover); refused before allocating.
    #[error("{field}: {elements} elements exceed the limit of {limit}")]
    TooLarge {
        /// Field path.
        field: String,
        /// The requested element count (saturated at `u64::MAX` on overflow).
        elements: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A JSON case text larger than [`crate::Limits::max_json_bytes`]; refused before it is read
    /// or parsed.
    #[error(
        "{what}: {bytes} bytes of JSON exceed the limit of {limit} bytes (Limits::max_json_bytes, `softobj eval --max-json-bytes`)"
    )]
    JsonTooLarge {
        /// The file, or `JSON text` for text in memory.
        what: String,
        /// Its size.
        bytes: u64,
        /// The limit in force.
        limit: u64,
    },
    /// An evaluation result that is not a finite number. Validation bounds every input so that
    /// this cannot happen with the default balance; it guards against an autobalance state
    /// passed in [`crate::EvalOptions::balance`] that scales the loss past the f64 range.
    #[error(
        "{output}: the result is not a finite number ({value}); the inputs scale the loss past the f64 range"
    )]
    NonFinite {
        /// Which output, e.g. `loss` or `grad[0] at [0, 1, 2, 3]`.
        output: String,
        /// The value.
        value: f64,
    },
    /// Malformed JSON.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Malformed `.npy` file.
    #[error("invalid .npy {path}: {message} (at byte {offset})")]
    Npy {
        /// The file.
        path: PathBuf,
        /// Byte offset where reading failed.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The GPU path is unavailable or failed.
    #[error("gpu: {0}")]
    Gpu(#[from] GpuError),
}

/// The message of a missing GPU adapter: what to install and which variables select one.
pub const NO_ADAPTER_HELP: &str = "no GPU adapter found; install a Vulkan driver (on Debian or Ubuntu, Mesa's lavapipe \
     runs on the CPU: `apt-get install mesa-vulkan-drivers libvulkan1`), or choose one with \
     WGPU_BACKEND (vulkan, metal, dx12) and WGPU_ADAPTER_NAME";

/// Why the GPU path ([`crate::gpu`]) could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// The crate was built without the cargo feature `gpu`.
    #[error("not compiled with GPU support: rebuild with `--features gpu` (cargo feature `gpu`)")]
    NotCompiled,
    /// No adapter was found; the message says how to get one.
    #[error("{NO_ADAPTER_HELP} ({cause})")]
    NoAdapter {
        /// What wgpu said.
        cause: String,
    },
    /// `WGPU_ADAPTER_NAME` matches none of the adapters found.
    #[error(
        "WGPU_ADAPTER_NAME={name:?} matches none of the adapters found ({})",
        adapter_list(found)
    )]
    AdapterNotFound {
        /// The name asked for.
        name: String,
        /// The names of the adapters found.
        found: Vec<String>,
    },
    /// The device was lost (a driver reset, or destroyed); the context cannot be used again.
    #[error("device lost ({reason}); create a new GpuContext")]
    DeviceLost {
        /// The reason wgpu gave.
        reason: String,
    },
    /// An input needs more than a limit of the device or of the GPU path allows.
    #[error("{what}: {needed} {} needed, more than the {limit} of {available}; use the CPU path", limit.unit())]
    LimitExceeded {
        /// What needs it, e.g. `layer 0, image 3 (alone in its chunk), predictions`.
        what: String,
        /// Which limit.
        limit: GpuLimit,
        /// How much is needed.
        needed: u64,
        /// How much the limit allows.
        available: u64,
    },
    /// A value the GPU path computes in f32 overflows or underflows f32.
    #[error("{field} = {value} is outside the f32 range of the GPU path")]
    OutOfF32Range {
        /// Field path, e.g. `config.anchors[0][1]` or `inputs.predictions[0] element 17`.
        field: String,
        /// The value.
        value: f64,
    },
    /// Any other error of wgpu or the device, with what was being done.
    #[error("{doing}: {message}")]
    Wgpu {
        /// What the GPU path was doing, e.g. `evaluating on the device`.
        doing: String,
        /// The error's message.
        message: String,
    },
}

/// A limit named by [`GpuError::LimitExceeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuLimit {
    /// The device's largest storage-buffer binding (or the one set by
    /// `GpuContext::set_binding_limit`), in bytes.
    StorageBinding,
    /// The device's largest buffer, in bytes.
    BufferSize,
    /// The 32-bit cell indices of the shaders, in cells.
    CellIndex,
}

impl GpuLimit {
    /// The unit the limit counts in.
    pub fn unit(self) -> &'static str {
        match self {
            GpuLimit::StorageBinding | GpuLimit::BufferSize => "bytes",
            GpuLimit::CellIndex => "cells",
        }
    }
}

impl std::fmt::Display for GpuLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GpuLimit::StorageBinding => "device's storage-buffer binding limit",
            GpuLimit::BufferSize => "device's buffer size limit",
            GpuLimit::CellIndex => "GPU path's 32-bit cell indices",
        })
    }
}

/// The adapters found, or the help text when there are none.
fn adapter_list(found: &[String]) -> String {
    if found.is_empty() {
        format!("none; {NO_ADAPTER_HELP}")
    } else {
        found.join(", ")
    }
}

impl GpuError {
    /// A [`GpuError::Wgpu`] of `message` while `doing`.
    pub fn wgpu(doing: impl Into<String>, message: impl ToString) -> GpuError {
        GpuError::Wgpu {
            doing: doing.into(),
            message: message.to_string(),
        }
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Shape`].
    pub fn shape(
        field: impl Into<String>,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        Error::Shape {
            field: field.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// The field path the error is about, when it has one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. }
            | Error::Type { field, .. }
            | Error::Shape { field, .. }
            | Error::Missing { field }
            | Error::UnknownKey { field, .. }
            | Error::UnknownValue { field, .. }
            | Error::TooLarge { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        let (line, column) = (e.line(), e.column());
        // serde_json's message ends with its own " at line L column C": said once, up front.
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
        Error::Json {
            line,
            column,
            message,
        }
    }
}

/// A number as error messages show it: integers plainly (`3`), others in their shortest
/// round-trip form, with an exponent when very large or small (`0.5`, `1e39`, `1e-300`).
pub(crate) fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v}")
    } else {
        format!("{v:?}")
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_errors_name_what_and_how_much() {
        let e = Error::from(GpuError::LimitExceeded {
            what: "layer 0, image 3 alone in its chunk: its predictions".into(),
            limit: GpuLimit::StorageBinding,
            needed: 153_600,
            available: 256,
        });
        assert_eq!(
            e.to_string(),
            "gpu: layer 0, image 3 alone in its chunk: its predictions: 153600 bytes needed, more \
             than the device's storage-buffer binding limit of 256; use the CPU path"
        );
        let e = Error::from(GpuError::OutOfF32Range {
            field: "config.anchors[0][1]".into(),
            value: 1e39,
        });
        assert_eq!(
            e.to_string(),
            "gpu: config.anchors[0][1] = 1000000000000000000000000000000000000000 is outside the \
             f32 range of the GPU path"
        );
        let e = GpuError::NoAdapter {
            cause: "none".into(),
        };
        assert!(e.to_string().starts_with(NO_ADAPTER_HELP), "{e}");
        let e = GpuError::AdapterNotFound {
            name: "x".into(),
            found: vec![],
        };
        assert!(e.to_string().contains(NO_ADAPTER_HELP), "{e}");
        assert!(
            GpuError::NotCompiled
                .to_string()
                .contains("not compiled with GPU support")
        );
    }
}
