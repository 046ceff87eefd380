//! Hostile input: every way a case (JSON text, `.npy` file, command line) can be wrong gives a
//! typed error that names the field path (and, for arrays, the index) and the value, never a
//! panic; `softobj eval` answers it with exit code 2 and nothing on stdout. The last section
//! holds one regression test per crash the fuzzer found (fuzz/, docs/reliability.md).

use std::path::{Path, PathBuf};
use std::process::Command;

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
    Case::from_json_str(&doc.to_string())
}

/// The error of reading `doc`, asserting its field path and that its message mentions `needles`.
fn rejected(doc: &Value, field: &str, needles: &[&str]) -> Error {
    let e = parse(doc).expect_err("must be rejected");
    check(&e, Some(field), needles);
    e
}

fn check(e: &Error, field: Option<&str>, needles: &[&str]) {
    let msg = e.to_string();
    assert_eq!(e.field(), field, "field of {msg:?}");
    for n in needles {
        assert!(msg.contains(n), "{msg:?} should mention {n:?}");
    }
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

/// A `.npy` file's bytes with the given header dictionary text and body.
fn npy_bytes(version: u8, dict: &str, body: &[u8]) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let mut header = dict.to_string();
    while !(prefix + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

fn f8_dict(shape: &str) -> String {
    format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}")
}

fn f64_body(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn npy_err(bytes: &[u8], needles: &[&str]) -> Error {
    let e = npy::decode(bytes, &Limits::default()).expect_err("must be rejected");
    assert!(matches!(e, Error::Npy { .. }), "{e:?}");
    check(&e, None, needles);
    e
}

fn softobj(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_softobj"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run softobj")
}

/// Runs `softobj eval` on `path` (plus `extra` flags): exit code 2, empty stdout, and a stderr
/// message mentioning `needles`.
fn cli_rejects(path: &Path, extra: &[&str], needles: &[&str]) {
    let mut args = vec!["eval", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = softobj(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty, got {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.starts_with("softobj: error: ") || stderr.starts_with("error: "),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{stderr:?} should mention {n:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The base case is valid (so every rejection below is caused by its one change).

#[test]
fn base_case_is_valid_and_evaluates() {
    let case = parse(&base()).unwrap();
    let e = evaluate(&case.config, &case.inputs, &EvalOptions::default()).unwrap();
    assert!(e.loss.is_finite() && e.loss > 0.0);
}

// ---------------------------------------------------------------------------------------------
// Malformed and truncated JSON

#[test]
fn malformed_json_names_line_and_column() {
    let text = base().to_string();
    for cut in [1, 10, text.len() / 2, text.len() - 1] {
        let e = Case::from_json_str(&text[..cut]).expect_err("truncated");
        let Error::Json {
            line,
            column,
            message,
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*line, 1);
        assert!(
            *column >= 1 && *column <= cut + 1,
            "column {column} for a cut at {cut}"
        );
        let msg = e.to_string();
        assert!(msg.starts_with("invalid JSON at line 1 column"), "{msg}");
        // serde_json's own " at line L column C" is not repeated at the end.
        assert!(!message.contains(" at line "), "{msg}");
    }
    let e =
        Case::from_json_str("{\n  \"format\": \"soft-objectness-case/1\",\n  \"config\": {,}\n}")
            .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Json {
                line: 3,
                column: 14,
                ..
            }
        ),
        "{e:?}"
    );
    let e = Case::from_json_str(&format!("{} trailing", base())).unwrap_err();
    assert!(e.to_string().contains("trailing characters"), "{e}");
    let e = Case::from_json_str("").unwrap_err();
    assert!(e.to_string().contains("EOF while parsing"), "{e}");
}

#[test]
fn number_out_of_f64_range_is_invalid_json() {
    let text = base().to_string().replacen("0.25", "1e400", 1);
    let e = Case::from_json_str(&text).unwrap_err();
    assert!(matches!(e, Error::Json { .. }), "{e:?}");
    assert!(e.to_string().contains("number out of range"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = Case::from_json_str(&deep).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
}

#[test]
fn a_top_level_that_is_not_an_object() {
    for text in ["[1, 2]", "3", "null", "\"case\""] {
        let e = Case::from_json_str(text).unwrap_err();
        check(&e, Some("(case)"), &["expected an object"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Format, missing fields, unknown kinds and modes

#[test]
fn unknown_or_missing_format() {
    let e = rejected(
        &with("/format", Some(json!("soft-objectness-case/2"))),
        "format",
        &["soft-objectness-case/2"],
    );
    assert!(
        e.to_string().contains("accepted: soft-objectness-case/1"),
        "{e}"
    );
    rejected(
        &with("/format", None),
        "format",
        &["missing required field"],
    );
    rejected(
        &with("/format", Some(json!(1))),
        "format",
        &["expected a string", "number 1"],
    );
}

#[test]
fn missing_required_fields() {
    rejected(&with("/inputs", None), "inputs", &["missing"]);
    rejected(
        &with("/inputs/targets", None),
        "inputs.targets",
        &["missing"],
    );
    rejected(
        &with("/inputs/predictions", None),
        "inputs.predictions",
        &["missing"],
    );
    rejected(
        &with("/inputs/targets/shape", None),
        "inputs.targets.shape",
        &["missing"],
    );
    rejected(
        &with("/inputs/targets/data", None),
        "inputs.targets.data",
        &["missing"],
    );
    rejected(
        &with("/inputs/predictions/0/data", None),
        "inputs.predictions[0].data",
        &["missing"],
    );
    rejected(
        &with("/config/score", Some(json!({"n": 2}))),
        "config.score.kind",
        &["missing"],
    );
    rejected(
        &with("/config/score", Some(json!({"kind": "power"}))),
        "config.score.n",
        &["missing"],
    );
    rejected(
        &with("/config/soft_loss", Some(json!({}))),
        "config.soft_loss.kind",
        &["missing"],
    );
    // nc may be omitted only when the predictions say it.
    let mut doc = with("/config/nc", None);
    assert_eq!(parse(&doc).unwrap().config.nc, 2);
    doc["inputs"]["predictions"] = json!([]);
    rejected(&doc, "config.nc", &["missing"]);
}

#[test]
fn unknown_kinds_and_modes_echo_the_value_and_list_the_accepted_ones() {
    let cases = [
        (
            "/config/assigner",
            json!("yolov8"),
            "config.assigner",
            "soft, yolov5",
        ),
        (
            "/config/distance",
            json!("euclid"),
            "config.distance",
            "cell_index, continuous, diagonal",
        ),
        (
            "/config/overlap",
            json!("min"),
            "config.overlap",
            "last_write, max",
        ),
        (
            "/config/score",
            json!({"kind": "cosine"}),
            "config.score.kind",
            "power, gaussian",
        ),
        (
            "/config/soft_loss",
            json!({"kind": "loss4"}),
            "config.soft_loss.kind",
            "loss1, loss2, loss3",
        ),
    ];
    for (ptr, v, field, accepted) in cases {
        let shown = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v["kind"].as_str().unwrap().to_string());
        let e = rejected(
            &with(ptr, Some(v)),
            field,
            &[&format!("`{shown}`"), accepted],
        );
        assert!(matches!(e, Error::UnknownValue { .. }), "{e:?}");
    }
    // A value of the wrong type lists the accepted ones too.
    rejected(
        &with("/config/distance", Some(json!(3))),
        "config.distance",
        &["cell_index, continuous, diagonal", "number 3"],
    );
    rejected(
        &with("/config/autobalance", Some(json!("yes"))),
        "config.autobalance",
        &["a boolean", "\"yes\""],
    );
}

#[test]
fn unknown_config_keys_list_the_accepted_ones() {
    let e = rejected(
        &with("/config/sigma", Some(json!(1.0))),
        "config",
        &["`sigma`", "nc, anchors, hyp"],
    );
    assert!(matches!(e, Error::UnknownKey { .. }), "{e:?}");
    rejected(
        &with("/config/hyp", Some(json!({"fl_gama": 1.5}))),
        "config.hyp",
        &["`fl_gama`", "fl_gamma"],
    );
    rejected(
        &with(
            "/config/score",
            Some(json!({"kind": "power", "n": 2, "sigma": 1})),
        ),
        "config.score",
        &["`sigma`", "kind, n"],
    );
    rejected(
        &with(
            "/config/soft_loss",
            Some(json!({"kind": "loss2", "gamma": 1})),
        ),
        "config.soft_loss",
        &["`gamma`"],
    );
}

#[test]
fn hostile_strings_are_shortened_in_messages() {
    let long = "x".repeat(100_000);
    let e = parse(&with("/config/distance", Some(json!(long)))).unwrap_err();
    assert!(e.to_string().len() < 300, "{} bytes", e.to_string().len());
    assert!(e.to_string().contains("xxx..."), "{e}");
    let e = parse(&with(&format!("/config/{long}"), Some(json!(1)))).unwrap_err();
    assert!(e.to_string().len() < 300);
}

// ---------------------------------------------------------------------------------------------
// Arrays: types, lengths, shapes, limits

#[test]
fn data_length_disagrees_with_shape() {
    let e = rejected(
        &with("/inputs/targets/shape", Some(json!([3, 6]))),
        "inputs.targets",
        &["18 data elements for shape [3, 6]", "12 data elements"],
    );
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    rejected(
        &with("/inputs/predictions/0/data", Some(json!(vec![0.0; 111]))),
        "inputs.predictions[0]",
        &["112 data elements", "111 data elements"],
    );
}

#[test]
fn array_fields_of_the_wrong_type_name_their_index() {
    rejected(
        &with("/inputs/targets/shape", Some(json!("2x6"))),
        "inputs.targets.shape",
        &["array of non-negative integers"],
    );
    rejected(
        &with("/inputs/targets/shape/1", Some(json!(-6))),
        "inputs.targets.shape[1]",
        &["non-negative integer", "-6"],
    );
    rejected(
        &with("/inputs/targets/shape/0", Some(json!(1.5))),
        "inputs.targets.shape[0]",
        &["1.5"],
    );
    rejected(
        &with("/inputs/targets/data/3", Some(json!("0.5"))),
        "inputs.targets.data[3]",
        &["a number", "\"0.5\""],
    );
    rejected(
        &with("/inputs/targets/data/7", Some(json!(null))),
        "inputs.targets.data[7]",
        &["null"],
    );
    rejected(
        &with("/inputs/targets/data/2", Some(json!("NaN"))),
        "inputs.targets.data[2]",
        &["finite", "NaN"],
    );
    rejected(
        &with("/inputs/predictions/0/data/5", Some(json!("-Infinity"))),
        "inputs.predictions[0].data[5]",
        &["finite"],
    );
    rejected(
        &with("/inputs/targets", Some(json!([1, 2]))),
        "inputs.targets",
        &["expected an object"],
    );
    rejected(
        &with("/inputs/predictions", Some(json!({"shape": [1]}))),
        "inputs.predictions",
        &["array of layers"],
    );
    rejected(
        &with("/config/anchors/data", Some(json!([1, "a"]))),
        "config.anchors.data[1]",
        &["a number"],
    );
}

#[test]
fn wrong_dimensionality() {
    let mut doc = base();
    doc["inputs"]["targets"] = json!({"shape": [2, 3, 2], "data": vec![0.0; 12]});
    rejected(&doc, "inputs.targets", &["[nt, 6]", "[2, 3, 2]"]);
    let mut doc = base();
    doc["inputs"]["predictions"][0]["shape"] = json!([1, 4, 4, 7]);
    rejected(
        &doc,
        "inputs.predictions[0]",
        &["five dimensions", "[1, 4, 4, 7]"],
    );
    rejected(
        &with("/config/anchors/shape", Some(json!([1, 2]))),
        "config.anchors",
        &["[nl, na, 2]"],
    );
}

#[test]
fn shapes_whose_element_count_overflows_or_exceeds_the_limit() {
    let huge = 1u64 << 32;
    // The product overflows u64.
    let e = rejected(
        &with("/inputs/targets/shape", Some(json!([huge, huge, 6]))),
        "inputs.targets",
        &["exceed the limit of 2147483648"],
    );
    assert!(
        matches!(
            e,
            Error::TooLarge {
                elements: u64::MAX,
                ..
            }
        ),
        "{e:?}"
    );
    // A zero dimension makes the count 0, but ndarray still refuses the other dimensions'
    // product (found by reasoning about the fuzz target; once a panic).
    let e = rejected(
        &with("/inputs/targets/shape", Some(json!([0, huge, huge]))),
        "inputs.targets",
        &["exceed"],
    );
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    // Over the limit: refused from the shape alone, before the data is looked at.
    let tight = Limits {
        max_elements: 100,
        ..Limits::default()
    };
    let doc = with("/inputs/predictions/0/data", Some(json!([])));
    let e = Case::from_json_str_with(&doc.to_string(), &tight, None).unwrap_err();
    check(
        &e,
        Some("inputs.predictions[0]"),
        &["112 elements exceed the limit of 100"],
    );
    let doc = with("/inputs/targets/shape", Some(json!([1_000_000_000u64, 6])));
    let e = Case::from_json_str(&doc.to_string()).unwrap_err();
    check(
        &e,
        Some("inputs.targets"),
        &["6000000000 elements exceed the limit"],
    );
}

#[test]
fn json_text_over_the_byte_limit_is_refused_before_parsing() {
    let text = base().to_string();
    let tight = Limits {
        max_json_bytes: 100,
        ..Limits::default()
    };
    // Refused from its length: even malformed text gets the size error, not a parse error.
    let e = Case::from_json_str_with(&format!("{{{text}"), &tight, None).unwrap_err();
    assert!(matches!(e, Error::JsonTooLarge { limit: 100, .. }), "{e:?}");
    assert!(e.to_string().contains("--max-json-bytes"), "{e}");
    // A file: refused from its size on disk, before it is read.
    let dir = scratch("json_limit");
    let path = dir.join("case.json");
    std::fs::write(&path, &text).unwrap();
    let e = Case::load_with(&path, &tight).unwrap_err();
    assert!(matches!(e, Error::JsonTooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("case.json"), "{e}");
    Case::load_with(&path, &Limits::default()).unwrap();
}

#[test]
fn a_case_file_that_is_not_utf8() {
    let dir = scratch("not_utf8");
    let path = dir.join("case.json");
    let mut bytes = b"{\n  \"name\": \"".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"}");
    std::fs::write(&path, bytes).unwrap();
    let e = Case::load(&path).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Json {
                line: 2,
                column: 12,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Spec section 8, through the case format: each names the field path, row and value.

#[test]
fn section_8_target_rules_name_row_and_column() {
    let row = |r: usize, c: usize, v: Value| {
        with(&format!("/inputs/targets/data/{}", r * 6 + c), Some(v))
    };
    rejected(
        &row(1, 0, json!(1)),
        "inputs.targets row 1 (image)",
        &["0..1", "got 1"],
    );
    rejected(
        &row(0, 0, json!(0.5)),
        "inputs.targets row 0 (image)",
        &["integer image index", "0.5"],
    );
    rejected(
        &row(0, 0, json!(-1)),
        "inputs.targets row 0 (image)",
        &["-1"],
    );
    rejected(
        &row(1, 1, json!(2)),
        "inputs.targets row 1 (class)",
        &["0..2", "got 2"],
    );
    rejected(
        &row(1, 1, json!(0.3)),
        "inputs.targets row 1 (class)",
        &["integer class"],
    );
    rejected(
        &row(0, 4, json!(-0.1)),
        "inputs.targets row 0 (w)",
        &["negative", "-0.1"],
    );
    rejected(
        &row(1, 5, json!(-1e-9)),
        "inputs.targets row 1 (h)",
        &["negative"],
    );
    rejected(
        &row(0, 2, json!(2e6)),
        "inputs.targets row 0 (x)",
        &["[-1e6, 1e6]", "2000000"],
    );
    // Boxes partly (or wholly) outside the image are legal.
    parse(&row(0, 2, json!(-0.3))).unwrap();
    parse(&row(1, 3, json!(1.7))).unwrap();
}

#[test]
fn section_8_prediction_shapes() {
    let mut doc = base();
    doc["inputs"]["predictions"][0] = json!({"shape": [1, 1, 4, 4, 8], "data": vec![0.0; 128]});
    rejected(
        &doc,
        "inputs.predictions[0]",
        &["5 + nc", "[1, 1, 4, 4, 8]"],
    );
    doc["inputs"]["predictions"][0] = json!({"shape": [1, 2, 4, 4, 7], "data": vec![0.0; 224]});
    rejected(&doc, "inputs.predictions[0]", &["[1, 2, 4, 4, 7]"]);
    doc["inputs"]["predictions"][0] = json!({"shape": [1, 1, 0, 4, 7], "data": []});
    rejected(&doc, "inputs.predictions[0]", &["ny >= 1"]);
    // Two layers whose batch sizes disagree.
    let mut doc = base();
    doc["config"]["anchors"] = json!({"shape": [2, 1, 2], "data": [1.5, 1.2, 1.0, 1.0]});
    doc["inputs"]["predictions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"shape": [2, 1, 2, 2, 7], "data": vec![0.0; 56]}));
    rejected(
        &doc,
        "inputs.predictions[1]",
        &["[1, 1, ny >= 1, nx >= 1, 7]", "[2, 1, 2, 2, 7]"],
    );
    // Layer count disagrees with the anchors.
    let mut doc = base();
    doc["config"]["anchors"] = json!({"shape": [2, 1, 2], "data": [1.5, 1.2, 1.0, 1.0]});
    rejected(&doc, "inputs.predictions", &["2 layers", "got 1 layers"]);
}

#[test]
fn section_8_config_rules() {
    let cases: Vec<(&str, Value, &str, &[&str])> = vec![
        (
            "/config/hyp",
            json!({"anchor_t": 1.0}),
            "config.hyp.anchor_t",
            &["greater than 1", "got 1"],
        ),
        (
            "/config/hyp",
            json!({"anchor_t": -4}),
            "config.hyp.anchor_t",
            &["got -4"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": 0}),
            "config.score.sigma",
            &["> 0", "got 0"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": -1}),
            "config.score.sigma",
            &["got -1"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": -2}),
            "config.score.n",
            &["even", "-2"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": 3}),
            "config.score.n",
            &["even", "3"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": 2.5}),
            "config.score.n",
            &["2.5"],
        ),
        (
            "/config/soft_loss",
            json!({"kind": "loss1", "gamma": -1}),
            "config.soft_loss.gamma",
            &[">= 0", "-1"],
        ),
        (
            "/config/hyp",
            json!({"fl_gamma": -0.5}),
            "config.hyp.fl_gamma",
            &[">= 0", "-0.5"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [0, 1]}),
            "config.anchors[0][0][0]",
            &["positive", "got 0"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [1, -2]}),
            "config.anchors[0][0][1]",
            &["positive", "-2"],
        ),
        ("/config/nc", json!(0), "config.nc", &["at least 1"]),
        (
            "/config/nc",
            json!(-1),
            "config.nc",
            &["non-negative integer"],
        ),
        (
            "/config/hyp",
            json!({"box": "big"}),
            "config.hyp.box",
            &["a number"],
        ),
        (
            "/config/hyp",
            json!({"obj": "NaN"}),
            "config.hyp.obj",
            &["finite"],
        ),
    ];
    for (ptr, v, field, needles) in cases {
        rejected(&with(ptr, Some(v)), field, needles);
    }
    let mut doc = base();
    doc["config"]["anchors"] = json!({"shape": [6, 1, 2], "data": vec![1.0; 12]});
    rejected(&doc, "config.anchors", &["1 to 5", "nl = 6"]);
}

#[test]
fn magnitude_bounds_that_keep_the_arithmetic_finite() {
    let cases: Vec<(&str, Value, &str, &[&str])> = vec![
        (
            "/config/hyp",
            json!({"label_smoothing": 1.5}),
            "config.hyp.label_smoothing",
            &["[0, 1]", "1.5"],
        ),
        (
            "/config/hyp",
            json!({"label_smoothing": -0.1}),
            "config.hyp.label_smoothing",
            &["[0, 1]"],
        ),
        (
            "/config/hyp",
            json!({"obj_pw": 2e6}),
            "config.hyp.obj_pw",
            &["[-1e6, 1e6]", "2000000"],
        ),
        (
            "/config/hyp",
            json!({"anchor_t": 1e7}),
            "config.hyp.anchor_t",
            &["[-1e6, 1e6]"],
        ),
        (
            "/config/hyp",
            json!({"fl_gamma": 1e300}),
            "config.hyp.fl_gamma",
            &["[-1e6, 1e6]"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": 1e-7}),
            "config.score.sigma",
            &["[1e-6, 1e6]"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": 1e7}),
            "config.score.sigma",
            &["[1e-6, 1e6]"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": 2_000_002}),
            "config.score.n",
            &["at most 1e6"],
        ),
        (
            "/config/soft_loss",
            json!({"kind": "loss1", "gamma": 1e7}),
            "config.soft_loss.gamma",
            &["at most 1e6"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [1e-300, 1]}),
            "config.anchors[0][0][0]",
            &["[1e-6, 1e6]"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [1, 1e7]}),
            "config.anchors[0][0][1]",
            &["[1e-6, 1e6]"],
        ),
    ];
    for (ptr, v, field, needles) in cases {
        rejected(&with(ptr, Some(v)), field, needles);
    }
    // Logits beyond the f32 range (f64 input only: every finite f32 is legal).
    let doc = with("/inputs/predictions/0/data/9", Some(json!(1e39)));
    rejected(
        &doc,
        "inputs.predictions[0] at [0, 0, 0, 1, 2]",
        &["f32::MAX", "1e39"],
    );
    parse(&with("/inputs/predictions/0/data/9", Some(json!(3.4e38)))).unwrap();
    // The API path checks the same bounds.
    let config = Config {
        nc: usize::MAX,
        ..Config::default()
    };
    let e = config.validate().unwrap_err();
    check(&e, Some("config.nc"), &["at most 4294967295"]);
    let config = Config {
        score: Score::Power { n: 4_000_000 },
        ..Config::default()
    };
    check(
        &config.validate().unwrap_err(),
        Some("config.score.n"),
        &["at most 1e6"],
    );
    let config = Config {
        soft_loss: SoftLoss::Loss1 {
            gamma: f64::INFINITY,
        },
        ..Config::default()
    };
    check(
        &config.validate().unwrap_err(),
        Some("config.soft_loss.gamma"),
        &["finite"],
    );
    let config = Config {
        hyp: Hyp {
            cls: -2e6,
            ..Hyp::default()
        },
        ..Config::default()
    };
    check(
        &config.validate().unwrap_err(),
        Some("config.hyp.cls"),
        &["[-1e6, 1e6]"],
    );
}

#[test]
fn inputs_built_in_code_name_the_element() {
    let config = Config {
        nc: 2,
        anchors: Array3::from_elem((1, 1, 2), 1.5),
        ..Config::default()
    };
    let mut p = Array5::<f32>::zeros((1, 1, 3, 3, 7));
    p[[0, 0, 2, 1, 6]] = f32::NAN;
    let inputs = Inputs {
        targets: Array2::zeros((0, 6)),
        predictions: vec![Prediction::F32(p)],
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
    check(
        &e,
        Some("inputs.predictions[0] at [0, 0, 2, 1, 6]"),
        &["finite", "NaN"],
    );
    let inputs = Inputs {
        targets: array![[0.0, 0.0, 0.5, 0.5, 0.1]],
        predictions: vec![],
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
    check(&e, Some("inputs.predictions"), &["1 layers"]);
    let inputs = Inputs {
        targets: array![[0.0, 0.0, 0.5, 0.5, 0.1]],
        predictions: vec![Prediction::F64(Array5::zeros((1, 1, 3, 3, 7)))],
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
    check(&e, Some("inputs.targets"), &["[nt, 6]", "[1, 5]"]);
}

#[test]
fn balance_state_must_be_finite_and_non_negative() {
    let case = parse(&base()).unwrap();
    for (balance, needle) in [
        (vec![1.0, 1.0], "1 entries"),
        (vec![f64::NAN], "NaN"),
        (vec![f64::INFINITY], "inf"),
        (vec![-4.0], "-4"),
    ] {
        let opts = EvalOptions {
            balance: Some(balance),
            ..EvalOptions::default()
        };
        let e = evaluate(&case.config, &case.inputs, &opts).unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
    }
    // A zero weight turns a layer off; with autobalance, dividing by a zero stride-16 weight
    // would give NaN, so the balance in force is kept.
    let opts = EvalOptions {
        balance: Some(vec![0.0]),
        ..EvalOptions::default()
    };
    let e = evaluate(&case.config, &case.inputs, &opts).unwrap();
    assert_eq!(e.lobj, 0.0);
    let two = Config {
        anchors: Array3::from_elem((2, 1, 2), 1.5),
        autobalance: true,
        ..case.config.clone()
    };
    let inputs = Inputs {
        predictions: vec![case.inputs.predictions[0].clone(); 2],
        ..case.inputs.clone()
    };
    let opts = EvalOptions {
        balance: Some(vec![1.0, 0.0]),
        ..EvalOptions::default()
    };
    let e = evaluate(&two, &inputs, &opts).unwrap();
    assert!(
        e.balance[0].is_finite() && e.balance[1].is_finite(),
        "{:?}",
        e.balance
    );
}

#[test]
fn a_balance_that_scales_the_loss_past_f64_is_an_error_not_infinity() {
    // Logits of 50 make the objectness loss about 50 per cell; times 1e308 it overflows.
    let case = parse(&with(
        "/inputs/predictions/0/data",
        Some(json!(vec![50.0; 112])),
    ))
    .unwrap();
    evaluate(&case.config, &case.inputs, &EvalOptions::default()).unwrap();
    let opts = EvalOptions {
        balance: Some(vec![1e308]),
        ..EvalOptions::default()
    };
    let e = evaluate(&case.config, &case.inputs, &opts).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
    assert!(e.to_string().contains("not a finite number"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// .npy: malformed, truncated, oversized, and references that leave the case's folder

#[test]
fn npy_round_trip_and_every_supported_version() {
    let body = f64_body(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    for v in [1, 2, 3] {
        let a = npy::decode(&npy_bytes(v, &f8_dict("(2, 3)"), &body), &Limits::default()).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(
            a.into_f64().as_slice().unwrap(),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
    }
    let a = npy::decode(
        &npy_bytes(1, &f8_dict("()"), &f64_body(&[7.0])),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(a.shape(), &[] as &[usize]);
    let dir = scratch("npy_round_trip");
    let arr = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.5f32, -2.0, 0.0, 3.25]).unwrap();
    npy::write(&dir.join("a.npy"), &arr).unwrap();
    let back = npy::read(&dir.join("a.npy"), "x", &Limits::default()).unwrap();
    assert_eq!(back, npy::NpyArray::F32(arr));
}

#[test]
fn npy_malformed_headers_name_the_byte_offset() {
    let body = f64_body(&[1.0, 2.0]);
    let good = npy_bytes(1, &f8_dict("(2,)"), &body);
    npy::decode(&good, &Limits::default()).unwrap();
    npy_err(b"", &["magic", "at byte 0"]);
    npy_err(b"PK\x03\x04 a zip file", &["magic"]);
    npy_err(&good[..9], &["magic"]);
    npy_err(
        &[&good[..6], &[4u8, 0, 10, 0][..]].concat(),
        &["version 4", "at byte 6"],
    );
    npy_err(&good[..11], &["truncated header", "at byte 10"]);
    npy_err(
        &good[..good.len() - 3],
        &["data has 13 bytes", "needs 16", "at byte 128"],
    );
    npy_err(
        &[&good[..], &[0u8][..]].concat(),
        &["data has 17 bytes", "needs 16"],
    );
    npy_err(
        &npy_bytes(2, &f8_dict("(2,)"), &body)[..11],
        &["truncated header length", "at byte 10"],
    );
    // A hostile header length is refused before it is allocated.
    let mut long = good.clone();
    long[6] = 2;
    long.splice(8..10, 0xffff_fff0u32.to_le_bytes());
    npy_err(&long, &["header length 4294967280 exceeds"]);
    npy_err(
        &npy_bytes(
            1,
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
            &body,
        ),
        &["'<i8'", "not supported"],
    );
    npy_err(
        &npy_bytes(
            1,
            "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
            &body,
        ),
        &["'>f8'"],
    );
    npy_err(
        &npy_bytes(
            1,
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }",
            &body,
        ),
        &["Fortran"],
    );
    npy_err(
        &npy_bytes(1, "{'descr': '<f8', 'shape': (2,), }", &body),
        &["no 'fortran_order'"],
    );
    npy_err(
        &npy_bytes(1, "{'fortran_order': False, 'shape': (2,), }", &body),
        &["no 'descr'"],
    );
    npy_err(
        &npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, }", &body),
        &["no 'shape'"],
    );
    npy_err(&npy_bytes(1, &f8_dict("[2]"), &body), &["malformed shape"]);
    npy_err(&npy_bytes(1, &f8_dict("(2"), &body), &["malformed shape"]);
    npy_err(
        &npy_bytes(1, &f8_dict("(-2,)"), &body),
        &["malformed shape entry \"-2\""],
    );
    npy_err(&npy_bytes(1, &f8_dict("(2, x)"), &body), &["\"x\""]);
    let mut not_text = good.clone();
    not_text[12] = 0xff;
    npy_err(&not_text, &["not text", "at byte 12"]);
}

#[test]
fn npy_shapes_over_the_limit_are_refused_before_reading_data() {
    // The header claims 2^40 elements and the file holds none: refused from the shape.
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(1048576, 1048576)"), &[]),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                elements: 1_099_511_627_776,
                ..
            }
        ),
        "{e:?}"
    );
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(18446744073709551615, 2)"), &[]),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                elements: u64::MAX,
                ..
            }
        ),
        "{e:?}"
    );
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(0, 4294967296, 4294967296)"), &[]),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    let tight = Limits {
        max_elements: 3,
        ..Limits::default()
    };
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(2, 2)"), &f64_body(&[0.0; 4])),
        &tight,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("4 elements exceed the limit of 3"),
        "{e}"
    );
}

#[test]
fn npy_non_finite_elements_name_their_index() {
    let e = npy::decode(
        &npy_bytes(
            1,
            &f8_dict("(2, 3)"),
            &f64_body(&[0.0, 1.0, 2.0, 3.0, f64::NAN, 5.0]),
        ),
        &Limits::default(),
    )
    .unwrap_err();
    check(&e, Some("(npy) at [1, 1]"), &["NaN", "finite"]);
    let f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    let body: Vec<u8> = [0.0f32, f32::NEG_INFINITY, 1.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let e = npy::decode(&npy_bytes(1, f4, &body), &Limits::default()).unwrap_err();
    check(&e, Some("(npy) at [1]"), &["-inf"]);
}

#[test]
fn npy_references_in_a_case() {
    let dir = scratch("npy_refs");
    let targets = ArrayD::from_shape_vec(
        IxDyn(&[2, 6]),
        vec![
            0.0, 0.0, 0.4, 0.55, 0.43, 0.3, 0.0, 1.0, 0.1, 0.9, 0.2, 0.15,
        ],
    )
    .unwrap();
    npy::write(&dir.join("t.npy"), &targets).unwrap();
    let write_case = |doc: &Value| {
        let path = dir.join("case.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        path
    };
    // Valid: the same case as `base()`.
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "t.npy"}))));
    assert_eq!(
        Case::load(&path).unwrap().inputs.targets,
        parse(&base()).unwrap().inputs.targets
    );
    // Truncated file: an .npy error naming the file and offset.
    let bytes = std::fs::read(dir.join("t.npy")).unwrap();
    std::fs::write(dir.join("short.npy"), &bytes[..bytes.len() - 5]).unwrap();
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "short.npy"}))));
    let e = Case::load(&path).unwrap_err();
    assert!(
        e.to_string().starts_with("invalid .npy ") && e.to_string().contains("short.npy"),
        "{e}"
    );
    assert!(e.to_string().contains("at byte 128"), "{e}");
    // Missing file: an I/O error naming it.
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "absent.npy"}))));
    let e = Case::load(&path).unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("absent.npy"),
        "{e}"
    );
    // A folder, or anything that is not a regular file (a FIFO would block forever).
    std::fs::create_dir_all(dir.join("sub.npy")).unwrap();
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "sub.npy"}))));
    assert!(
        Case::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a regular file")
    );
    // References that leave the case's folder.
    for bad in ["../t.npy", "/etc/passwd", "", "sub/../../t.npy"] {
        let path = write_case(&with("/inputs/targets", Some(json!({"npy": bad}))));
        let e = Case::load(&path).unwrap_err();
        check(
            &e,
            Some("inputs.targets.npy"),
            &["relative path inside the case's directory"],
        );
    }
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": 3}))));
    check(
        &Case::load(&path).unwrap_err(),
        Some("inputs.targets.npy"),
        &["a string"],
    );
}

// ---------------------------------------------------------------------------------------------
// The command line: exit code 2, nothing on stdout, the message on stderr.

#[test]
fn cli_rejects_every_kind_of_bad_case() {
    let dir = scratch("cli");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let text = base().to_string();
    cli_rejects(
        &write("truncated.json", &text[..text.len() / 2]),
        &[],
        &["invalid JSON at line 1 column"],
    );
    cli_rejects(
        &write(
            "format.json",
            &with("/format", Some(json!("v9"))).to_string(),
        ),
        &[],
        &["format", "`v9`"],
    );
    cli_rejects(
        &write(
            "mode.json",
            &with("/config/distance", Some(json!("euclid"))).to_string(),
        ),
        &[],
        &[
            "config.distance",
            "`euclid`",
            "cell_index, continuous, diagonal",
        ],
    );
    cli_rejects(
        &write(
            "row.json",
            &with("/inputs/targets/data/7", Some(json!(5))).to_string(),
        ),
        &[],
        &["inputs.targets row 1 (class)", "got 5"],
    );
    cli_rejects(
        &write(
            "length.json",
            &with("/inputs/targets/shape", Some(json!([3, 6]))).to_string(),
        ),
        &[],
        &["inputs.targets: shape mismatch"],
    );
    cli_rejects(&dir.join("absent.json"), &[], &["absent.json"]);
    cli_rejects(&dir, &[], &[]);
    let ok = write("ok.json", &text);
    cli_rejects(
        &ok,
        &["--max-json-bytes", "100"],
        &["exceed the limit of 100 bytes"],
    );
    cli_rejects(
        &ok,
        &["--max-elements", "50"],
        &["inputs.predictions[0]: 112 elements exceed the limit of 50"],
    );
    cli_rejects(&ok, &["--max-elements", "many"], &["invalid value 'many'"]);
}

#[test]
fn cli_answers_a_valid_case_with_finite_numbers_only() {
    let dir = scratch("cli_ok");
    let path = dir.join("ok.json");
    // Extreme but legal: saturated logits, a tiny sigma, autobalance.
    let mut doc = base();
    doc["config"]["score"] = json!({"kind": "gaussian", "sigma": 1e-6});
    doc["config"]["autobalance"] = json!(true);
    doc["inputs"]["predictions"][0]["data"] = json!(
        (0..112)
            .map(|i| [1e4, -1e4, -740.0, 0.0][i % 4])
            .collect::<Vec<f64>>()
    );
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = softobj(&["eval", path.to_str().unwrap(), "--compact"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // serde_json writes a non-finite f64 as null: there must be none.
    assert!(!text.contains("null"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["loss"].as_f64().unwrap().is_finite());
}

// ---------------------------------------------------------------------------------------------
// Regressions: one per crash the fuzzer found (fuzz/, docs/reliability.md).

/// eval_struct, first run: label_smoothing 17.5 made the class targets -7.75 and 8.75, so
/// focal's `1 - p_t` went negative and `powf(17.5)` gave NaN. Now label_smoothing must lie in
/// [0, 1].
#[test]
fn fuzz_label_smoothing_outside_0_1_made_focal_nan() {
    let config = Config {
        nc: 4,
        anchors: array![[[1.0, 17.5]]],
        hyp: Hyp {
            anchor_t: 17.5,
            fl_gamma: 17.5,
            label_smoothing: 17.5,
            ..Hyp::default()
        },
        distance: soft_objectness::Distance::Continuous,
        score: Score::Power { n: 38 },
        ..Config::default()
    };
    let pattern = [1.1015625, 1.1015625, 1.1015625, 17.5, -0.5, 0.5];
    let p = Array5::from_shape_fn((2, 1, 8, 8, 9), |(i, j, k, l, m)| {
        pattern[(i + j + k + l + m) % 6] as f32
    });
    let inputs = Inputs {
        targets: array![[1.0, 0.0, 1.1015625, 1.1015625, 1.1015625, 1.1015625]],
        predictions: vec![Prediction::F32(p)],
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
    check(&e, Some("config.hyp.label_smoothing"), &["[0, 1]", "17.5"]);
    let config = Config {
        hyp: Hyp {
            label_smoothing: 1.0,
            ..config.hyp
        },
        ..config
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
    assert!(e.loss.is_finite());
}

/// An answer checked by `softobj check` follows the case reader's rule for `.npy` references:
/// relative paths inside the answer's folder only.
#[test]
fn answer_npy_references_stay_inside_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["../outside.npy", "/etc/passwd"] {
        let answer = dir.path().join("answer.json");
        std::fs::write(
            &answer,
            format!(r#"{{"loss": 1.0, "tobj": [{{"npy": "{bad}"}}]}}"#),
        )
        .unwrap();
        let e = soft_objectness::conformance::load_answer(&answer).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("relative path inside"), "{bad}: {msg}");
    }
}
