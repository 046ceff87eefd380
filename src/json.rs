//! Path-aware reading of `serde_json::Value`s: every failure names the field path.

use serde_json::{Map, Value};

use crate::error::{Error, Result, num};

/// `s` cut to at most 64 characters (with `...`), so that a hostile value cannot flood an
/// error message.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}...", &s[..cut]),
    }
}

/// Short description of a JSON value's type, for error messages.
pub(crate) fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {:?}", shorten(s)),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

pub(crate) fn type_err(field: &str, expected: &str, got: &Value) -> Error {
    Error::Type {
        field: field.into(),
        expected: expected.into(),
        got: kind(got),
    }
}

pub(crate) fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| type_err(field, "an object", v))
}

/// Rejects keys not in `accepted` (used inside `config`, where a misspelt option must not
/// fall back to a default silently).
pub(crate) fn deny_unknown(map: &Map<String, Value>, field: &str, accepted: &[&str]) -> Result<()> {
    for key in map.keys() {
        if !accepted.contains(&key.as_str()) {
            return Err(Error::UnknownKey {
                field: field.into(),
                key: shorten(key),
                accepted: accepted.join(", "),
            });
        }
    }
    Ok(())
}

pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub(crate) fn f64_of(v: &Value, field: &str) -> Result<f64> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| type_err(field, "a finite number", v)),
        // serde_json cannot represent NaN or infinity; accept the usual spellings so that the
        // error says what is wrong with the value rather than with its type.
        Value::String(s)
            if matches!(
                s.as_str(),
                "NaN" | "nan" | "Infinity" | "inf" | "-Infinity" | "-inf"
            ) =>
        {
            Err(Error::invalid(field, s, "must be a finite number"))
        }
        _ => Err(type_err(field, "a number", v)),
    }
}

pub(crate) fn finite(v: &Value, field: &str) -> Result<f64> {
    let x = f64_of(v, field)?;
    if !x.is_finite() {
        return Err(Error::invalid(field, num(x), "must be a finite number"));
    }
    Ok(x)
}

pub(crate) fn opt_finite(
    map: &Map<String, Value>,
    parent: &str,
    key: &str,
    default: f64,
) -> Result<f64> {
    match map.get(key) {
        None => Ok(default),
        Some(v) => finite(v, &join(parent, key)),
    }
}

pub(crate) fn string<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v.as_str().ok_or_else(|| type_err(field, "a string", v))
}

pub(crate) fn boolean(v: &Value, field: &str) -> Result<bool> {
    v.as_bool().ok_or_else(|| type_err(field, "a boolean", v))
}

/// A non-negative integer (a JSON integer, or a float with no fractional part).
pub(crate) fn count(v: &Value, field: &str) -> Result<u64> {
    if let Some(u) = v.as_u64() {
        return Ok(u);
    }
    let x = f64_of(v, field)?;
    if x.fract() != 0.0 || !(0.0..=9.007_199_254_740_992e15).contains(&x) {
        return Err(Error::invalid(
            field,
            num(x),
            "must be a non-negative integer",
        ));
    }
    Ok(x as u64)
}

/// Picks one of `accepted`, echoing the value and listing the accepted ones on failure.
pub(crate) fn choice<'a>(v: &Value, field: &str, accepted: &[&'a str]) -> Result<&'a str> {
    let s = v.as_str().ok_or_else(|| {
        type_err(
            field,
            &format!("a string, one of: {}", accepted.join(", ")),
            v,
        )
    })?;
    accepted
        .iter()
        .copied()
        .find(|a| *a == s)
        .ok_or_else(|| Error::UnknownValue {
            field: field.into(),
            value: shorten(s),
            accepted: accepted.join(", "),
        })
}
