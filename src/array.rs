//! The case format's arrays: `{"shape": [..], "data": [..]}`, data flat in row-major order.

use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::json;

/// Limits applied while reading a case, checked before anything is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest element count of any one array (default 2^31).
    pub max_elements: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_elements: 1 << 31 }
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
                format!("{} elements for shape {:?}", element_count(&self.shape), self.shape),
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

/// Reads a `{"shape", "data"}` object into an f64 array, checking the element limit before
/// allocating and requiring every element to be a finite number.
pub(crate) fn parse(v: &Value, field: &str, limits: &Limits) -> Result<ArrayD<f64>> {
    let map = json::object(v, field)?;
    let shape_v = map.get("shape").ok_or_else(|| Error::Missing {
        field: json::join(field, "shape"),
    })?;
    let shape_field = json::join(field, "shape");
    let dims = shape_v
        .as_array()
        .ok_or_else(|| json::type_err(&shape_field, "an array of non-negative integers", shape_v))?;
    let mut shape = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        let n = json::count(d, &format!("{shape_field}[{i}]"))?;
        shape.push(usize::try_from(n).map_err(|_| Error::TooLarge {
            field: field.into(),
            elements: n,
            limit: limits.max_elements,
        })?);
    }
    let n = element_count(&shape);
    if n > limits.max_elements {
        return Err(Error::TooLarge {
            field: field.into(),
            elements: n,
            limit: limits.max_elements,
        });
    }
    let data_field = json::join(field, "data");
    let data_v = map.get("data").ok_or_else(|| Error::Missing { field: data_field.clone() })?;
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
        data.push(json::finite(x, &format!("{data_field}[{i}]"))?);
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("length checked above"))
}
