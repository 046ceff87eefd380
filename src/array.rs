//! The case format's arrays: `{"shape": [..], "data": [..]}`, data flat in row-major order.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::json;

/// Limits applied while reading a case, each checked before the memory it guards is allocated.
///
/// * `max_elements` bounds every array (JSON or `.npy`) by the element count of its `shape`,
///   checked before its data is converted (JSON) or read (`.npy`).
/// * `max_json_bytes` bounds the JSON text itself, checked before it is read from disk and
///   before it is parsed. The JSON parser builds a document tree before any shape can be
///   checked, and that tree costs up to 32 bytes per number (a number may take 2 bytes of
///   text), so this is the limit that protects memory from a huge `data` array; arrays larger
///   than the JSON limit belong in `.npy` files (`{"npy": "FILE"}`), which are read in
///   bounded chunks after their header has been checked against `max_elements`.
///
/// ```
/// use soft_objectness::{Case, Error, Limits};
/// let tight = Limits { max_json_bytes: 16, ..Limits::default() };
/// let err = Case::from_json_str("{\"format\": \"soft-objectness-case/1\"}", None, &tight).unwrap_err();
/// assert!(matches!(err, Error::JsonTooLarge { .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest element count of any one array (default 2^31).
    pub max_elements: u64,
    /// Largest JSON case text in bytes (default 256 MiB).
    pub max_json_bytes: u64,
}

impl Limits {
    /// Default of [`Limits::max_elements`].
    pub const DEFAULT_MAX_ELEMENTS: u64 = 1 << 31;
    /// Default of [`Limits::max_json_bytes`].
    pub const DEFAULT_MAX_JSON_BYTES: u64 = 256 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_elements: Self::DEFAULT_MAX_ELEMENTS,
            max_json_bytes: Self::DEFAULT_MAX_JSON_BYTES,
        }
    }
}

/// An array as it appears in JSON: a shape and row-major data.
///
/// ```
/// use soft_objectness::JsonArray;
/// let a = JsonArray::from_array(&ndarray::array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
/// assert_eq!(a.shape, vec![2, 2]);
/// assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonArray {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Elements in row-major (C) order.
    pub data: Vec<f64>,
}

impl JsonArray {
    /// Copies an ndarray of any layout into row-major JSON form.
    pub fn from_array<T: Copy + Into<f64>>(a: &ArrayD<T>) -> Self {
        JsonArray {
            shape: a.shape().to_vec(),
            data: a.iter().map(|&x| x.into()).collect(),
        }
    }

    /// Converts to an ndarray; errors when the data length disagrees with the shape.
    pub fn to_array(&self, field: &str) -> Result<ArrayD<f64>> {
        ArrayD::from_shape_vec(IxDyn(&self.shape), self.data.clone()).map_err(|_| {
            Error::shape(
                field,
                format!(
                    "{} elements for shape {:?}",
                    element_count(&self.shape),
                    self.shape
                ),
                format!("{} elements", self.data.len()),
            )
        })
    }
}

/// Product of the dimensions, saturating at `u64::MAX` on overflow.
pub(crate) fn element_count(shape: &[usize]) -> u64 {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .unwrap_or(u64::MAX)
}

/// Refuses a shape whose element count exceeds `limits`, or whose non-zero dimensions
/// multiply past `isize::MAX` (ndarray refuses such a shape even when another dimension is 0,
/// e.g. `[0, 2^32, 2^32]`): the count reported is then the product of the non-zero dimensions.
pub(crate) fn check_shape(shape: &[usize], field: &str, limits: &Limits) -> Result<u64> {
    let n = element_count(shape);
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    if n > limits.max_elements || nonzero > isize::MAX as u64 {
        return Err(Error::TooLarge {
            field: field.into(),
            elements: if n > limits.max_elements { n } else { nonzero },
            limit: limits.max_elements,
        });
    }
    Ok(n)
}

/// Reads a `{"shape", "data"}` object into an f64 array, checking the element limit before
/// allocating and requiring every element to be a finite number (the rule for a case).
pub(crate) fn parse(v: &Value, field: &str, limits: &Limits) -> Result<ArrayD<f64>> {
    parse_elements(v, field, limits, json::finite)
}

/// Like [`parse`], but keeps the non-finite tokens `NaN`, `Infinity`, `-Infinity` as values:
/// the rule for an answer, where a NaN is a wrong value to be judged, not unreadable input
/// (spec section 10).
pub(crate) fn parse_any_number(v: &Value, field: &str, limits: &Limits) -> Result<ArrayD<f64>> {
    parse_elements(v, field, limits, json::f64_of)
}

/// The reader of [`parse`] and [`parse_any_number`]; `element` reads one item of `data`.
fn parse_elements(
    v: &Value,
    field: &str,
    limits: &Limits,
    element: fn(&Value, &str) -> Result<f64>,
) -> Result<ArrayD<f64>> {
    let map = json::object(v, field)?;
    let shape_v = map.get("shape").ok_or_else(|| Error::Missing {
        field: json::join(field, "shape"),
    })?;
    let shape_field = json::join(field, "shape");
    let dims = shape_v.as_array().ok_or_else(|| {
        json::type_err(&shape_field, "an array of non-negative integers", shape_v)
    })?;
    let mut shape = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        let n = json::count(d, &format!("{shape_field}[{i}]"))?;
        shape.push(usize::try_from(n).map_err(|_| Error::TooLarge {
            field: field.into(),
            elements: n,
            limit: limits.max_elements,
        })?);
    }
    let n = check_shape(&shape, field, limits)?;
    let data_field = json::join(field, "data");
    let data_v = map.get("data").ok_or_else(|| Error::Missing {
        field: data_field.clone(),
    })?;
    let items = data_v
        .as_array()
        .ok_or_else(|| json::type_err(&data_field, "an array of numbers", data_v))?;
    if items.len() as u64 != n {
        return Err(Error::shape(
            field,
            format!("{n} data elements for shape {shape:?}"),
            format!("{} data elements", items.len()),
        ));
    }
    let mut data = Vec::with_capacity(items.len());
    for (i, x) in items.iter().enumerate() {
        data.push(element(x, &format!("{data_field}[{i}]"))?);
    }
    ArrayD::from_shape_vec(IxDyn(&shape), data)
        .map_err(|e| Error::shape(field, format!("a valid shape ({e})"), format!("{shape:?}")))
}
impl Limits {
    /// Reads JSON text from `reader` (a file, standard input), at most
    /// [`Limits::max_json_bytes`] bytes: one byte more is refused before the text is parsed,
    /// so a pipe or a device cannot exhaust memory. `what` names the source in errors.
    ///
    /// ```
    /// use soft_objectness::Limits;
    /// let limits = Limits { max_json_bytes: 4, ..Limits::default() };
    /// assert!(limits.read_json(&b"{}"[..], "(standard input)").is_ok());
    /// assert!(limits.read_json(&b"{\"a\": 1}"[..], "(standard input)").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] (with `what` as the path) when reading fails, [`Error::JsonTooLarge`] over
    /// the limit, [`Error::Json`] (with line and column) for text that is not UTF-8.
    pub fn read_json(&self, reader: impl std::io::Read, what: &str) -> Result<String> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut reader.take(self.max_json_bytes.saturating_add(1)),
            &mut bytes,
        )
        .map_err(|source| Error::Io {
            path: PathBuf::from(what),
            source,
        })?;
        if bytes.len() as u64 > self.max_json_bytes {
            return Err(Error::JsonTooLarge {
                what: what.into(),
                bytes: bytes.len() as u64,
                limit: self.max_json_bytes,
            });
        }
        String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            let column = 1 + valid.iter().rev().take_while(|&&b| b != b'\n').count();
            Error::Json {
                line,
                column,
                message: format!("not UTF-8 text (byte {})", valid.len()),
            }
        })
    }
}

/// The text of the JSON file `path`, its size checked against [`Limits::max_json_bytes`]
/// before it is read (the one file reader of cases and answers).
pub(crate) fn read_json_file(path: &Path, limits: &Limits) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() && meta.len() > limits.max_json_bytes {
        return Err(Error::JsonTooLarge {
            what: path.display().to_string(),
            bytes: meta.len(),
            limit: limits.max_json_bytes,
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    limits.read_json(file, &path.display().to_string())
}

/// JSON text parsed with the non-finite tokens ([`json::parse`]), its length checked against
/// [`Limits::max_json_bytes`] before parsing (the one text reader of cases and answers).
pub(crate) fn parse_json(text: &str, limits: &Limits) -> Result<Value> {
    if text.len() as u64 > limits.max_json_bytes {
        return Err(Error::JsonTooLarge {
            what: "JSON text".into(),
            bytes: text.len() as u64,
            limit: limits.max_json_bytes,
        });
    }
    json::parse(text)
}

/// Writes zeros into every element of `values` and returns them initialised (a buffer's
/// spare capacity, written where it is about to be used instead of zeroed in a pass of its
/// own).
pub(crate) fn zeroed(values: &mut [std::mem::MaybeUninit<f64>]) -> &mut [f64] {
    values.fill(std::mem::MaybeUninit::new(0.0));
    // SAFETY: every element was initialised on the line above, and `MaybeUninit<f64>` has the
    // layout of `f64`.
    unsafe { &mut *(values as *mut [std::mem::MaybeUninit<f64>] as *mut [f64]) }
}
