//! Hostile input: every way a case (JSON text, `.npy` file, command line) can be wrong gives a
//! typed error that names the field path (and, for arrays, the index) and the value, never a
//! panic; `softobj eval` answers it with exit code 2 and nothing on stdout. One module per
//! subject: JSON text, the case format, arrays, the inputs, the configuration, `.npy` files,
//! the command line, and one regression test per crash the fuzzer found (fuzz/,
//! docs/reliability.md). The shared helpers below build the base case and its variants.

#[path = "../common/mod.rs"]
mod common;

use common::assert_error;

mod arrays;
#[cfg(feature = "cli")]
mod command_line;
mod config;
mod format;
mod inputs;
mod json;
mod npy_files;
mod regressions;

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, Array5, ArrayD, IxDyn, array};
use serde_json::{Value, json};
use soft_objectness::{
    Case, Config, Error, EvalOptions, Hyp, Inputs, Limits, Prediction, Score, SoftLoss, evaluate,
    npy,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A small valid case: 2 classes, one layer of 4x4 cells with one anchor, two targets.
fn base() -> Value {
    json!({
        "format": "soft-objectness-case/1",
        "name": "hostile base",
        "config": {"nc": 2, "anchors": {"shape": [1, 1, 2], "data": [1.5, 1.2]}},
        "inputs": {
            "targets": {"shape": [2, 6], "data": [0, 0, 0.4, 0.55, 0.43, 0.3, 0, 1, 0.1, 0.9, 0.2, 0.15]},
            "predictions": [{"shape": [1, 1, 4, 4, 7], "data": vec![0.25; 112]}]
        }
    })
}

/// `base()` with the value at JSON pointer `ptr` replaced (or removed when `v` is `None`).
fn with(ptr: &str, v: Option<Value>) -> Value {
    let mut doc = base();
    let (parent, key) = ptr.rsplit_once('/').expect("a pointer");
    let holder = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match (holder, v) {
        (Value::Object(m), Some(v)) => {
            m.insert(key.to_string(), v);
        }
        (Value::Object(m), None) => {
            m.remove(key);
        }
        (Value::Array(a), Some(v)) => a[key.parse::<usize>().unwrap()] = v,
        (Value::Array(a), None) => {
            a.remove(key.parse::<usize>().unwrap());
        }
        _ => panic!("{parent} holds no key"),
    }
    doc
}

fn parse(doc: &Value) -> Result<Case, Error> {
    Case::from_json_str(&doc.to_string(), None, &Limits::default())
}

/// The error of reading `doc`, asserting its field path and that its message mentions `needles`.
fn rejected(doc: &Value, field: &str, needles: &[&str]) -> Error {
    let e = parse(doc).expect_err("must be rejected");
    assert_error(&e, Some(field), needles);
    e
}

/// A fresh, empty folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hostile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// The base case is valid (so every rejection below is caused by its one change).

#[test]
fn base_case_is_valid_and_evaluates() {
    let case = parse(&base()).unwrap();
    let e = evaluate(&case.config, &case.inputs, &EvalOptions::default()).unwrap();
    assert!(e.loss.is_finite() && e.loss > 0.0);
}
