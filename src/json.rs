//! Path-aware reading of `serde_json::Value`s: every failure names the field path.
//!
//! JSON has no non-finite numbers, but Python's `json` module writes `NaN`, `Infinity` and
//! `-Infinity`. [`parse`] accepts exactly these three tokens where a number may stand (spec
//! section 10) and keeps them as values; the number readers below hand them on as NaN and
//! infinities, so validation refuses them in a case (naming field, index and value) and an
//! answer holding one is judged, not refused as unreadable.

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
        Value::String(s) => match non_finite_token(s) {
            Some(x) => format!("number {x}"),
            None => format!("string {:?}", shorten(s)),
        },
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

/// One warning per key of `map` not in `accepted` (where unknown keys are allowed but probably
/// a mistake: the top level of a case or an answer, spec section 10).
pub(crate) fn unknown_keys(map: &Map<String, Value>, what: &str, accepted: &[&str]) -> Vec<String> {
    map.keys()
        .filter(|k| !accepted.contains(&k.as_str()))
        .map(|k| {
            format!(
                "unknown top-level key `{}` of the {what} is ignored (known: {})",
                shorten(k),
                accepted.join(", ")
            )
        })
        .collect()
}

pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The three non-finite tokens a reader accepts, with their values.
const NON_FINITE: [(&str, f64); 3] = [
    ("NaN", f64::NAN),
    ("Infinity", f64::INFINITY),
    ("-Infinity", f64::NEG_INFINITY),
];

/// A non-finite token is kept in the parsed value as a string with this prefix, which no JSON
/// number or ordinary string starts with.
const TOKEN_MARK: char = '\u{0}';

/// Parses JSON text, accepting the tokens `NaN`, `Infinity` and `-Infinity` wherever a number
/// may stand. Text without them takes the plain parser's path (no extra pass).
///
/// # Errors
/// [`Error::Json`] with the line and column of the first syntax error.
pub(crate) fn parse(text: &str) -> Result<Value> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(first) => match mark_non_finite(text) {
            Some(marked) => serde_json::from_str(&marked).map_err(Error::from),
            None => Err(first.into()),
        },
    }
}

/// `text` with every non-finite token outside strings replaced by a marked string, or `None`
/// when it has none.
fn mark_non_finite(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let (mut copied, mut i, mut in_string, mut found) = (0, 0, false, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = NON_FINITE
            .iter()
            .map(|(t, _)| *t)
            .find(|t| text[i..].starts_with(t) && !ident_byte(bytes.get(i + t.len())));
        match token {
            Some(t) if !ident_byte(i.checked_sub(1).and_then(|p| bytes.get(p))) => {
                out.push_str(&text[copied..i]);
                out.push_str(&format!("\"\\u0000{t}\""));
                i += t.len();
                copied = i;
                found = true;
            }
            _ => i += 1,
        }
    }
    found.then(|| out + &text[copied..])
}

/// Whether `b` continues an identifier or a number (so `NaNx` or `2Infinity` is no token).
fn ident_byte(b: Option<&u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
}

/// The value of a non-finite token kept by [`parse`].
fn non_finite_token(s: &str) -> Option<f64> {
    let t = s.strip_prefix(TOKEN_MARK)?;
    NON_FINITE.iter().find(|(n, _)| *n == t).map(|(_, v)| *v)
}

/// A number, or a non-finite token kept by [`parse`], or `None`.
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => non_finite_token(s),
        _ => None,
    }
}

pub(crate) fn f64_of(v: &Value, field: &str) -> Result<f64> {
    if let Some(x) = number(v) {
        return Ok(x);
    }
    match v {
        Value::Number(_) => Err(type_err(field, "a finite number", v)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_tokens_are_numbers_outside_strings_only() {
        let v =
            parse(r#"{"a": [NaN, Infinity, -Infinity, 1.5], "s": "NaN Infinity", "t": "\"NaN"}"#)
                .unwrap();
        let a: Vec<f64> = v["a"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(number)
            .collect();
        assert!(a[0].is_nan());
        assert_eq!(&a[1..], &[f64::INFINITY, f64::NEG_INFINITY, 1.5]);
        assert_eq!(v["s"], "NaN Infinity");
        assert_eq!(v["t"], "\"NaN");
        assert_eq!(number(&v["s"]), None);
        let e = f64_of(&v["a"][0], "x").map(f64::is_nan);
        assert_eq!(e.ok(), Some(true));
        let err = finite(&v["a"][1], "inputs.targets.data[1]").unwrap_err();
        assert!(err.to_string().contains("inputs.targets.data[1]"), "{err}");
        assert!(err.to_string().contains("inf"), "{err}");
    }

    #[test]
    fn other_words_stay_errors() {
        for text in [
            "[nan]",
            "[NaNa]",
            "[inf]",
            "[-NaN]",
            "[Infinityx]",
            "[1Infinity]",
        ] {
            let e = parse(text).unwrap_err();
            assert!(matches!(e, Error::Json { .. }), "{text}: {e}");
        }
        // Line numbers survive the marking.
        let e = parse("[NaN,\n 1,\n x]").unwrap_err();
        assert!(matches!(e, Error::Json { line: 3, .. }), "{e}");
    }
}
