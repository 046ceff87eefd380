//! The answer of an evaluation in the case format (spec section 10, `expected`), plus the
//! extra keys of docs/decisions.md item 10, and all of its I/O. Every field is optional when
//! reading, so that a partial answer from another implementation can be checked field by field.
//!
//! One reader takes every form an answer comes in: a bare answer object (what `softobj eval`
//! prints), a case file whose `expected` holds it, or a folder written by `softobj eval
//! --out-dir` ([`write_answer_dir`]). Its `tobj` and `grad` arrays may be inline
//! `{"shape", "data"}` objects or `{"npy": FILE}` references, resolved relative to the folder
//! of the answer's file (never outside it).
//!
//! ```
//! use soft_objectness::{Answer, EvalOptions, evaluate, default_batch::{Workload, build}};
//! use soft_objectness::answer::{load_answer, write_answer_dir};
//!
//! let (config, inputs) = build(&Workload { batch: 1, width: 64, height: 64, nc: 3, boxes_per_image: 3, seed: 7 });
//! let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
//! let dir = std::env::temp_dir().join(format!("answer-doc-{}", std::process::id()));
//! write_answer_dir(&dir, &e, &config).unwrap();
//! assert_eq!(load_answer(&dir).unwrap(), Answer::from_evaluation(&e, &config));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::array::{JsonArray, Limits};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::result::{Counts, Evaluation};

/// The fields spec section 10 requires of an answer.
pub const REQUIRED: [&str; 7] = ["loss", "lbox", "lobj", "lcls", "tobj", "counts", "grad"];

/// The optional fields of docs/decisions.md item 10.
pub const OPTIONAL: [&str; 4] = ["hard_loss", "soft_loss", "balance", "matched"];

/// One matched row as reported in an answer (`gj`, `gi` clamped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedRow {
    /// Image.
    pub b: usize,
    /// Anchor.
    pub a: usize,
    /// Cell row.
    pub gj: usize,
    /// Cell column.
    pub gi: usize,
    /// Box target `(gx - gi, gy - gj, gw, gh)`.
    pub tbox: [f64; 4],
    /// The anchor `(w, h)` in grid units.
    pub anchor: [f64; 2],
    /// Class.
    pub class: usize,
}

/// An answer: what `softobj eval` prints and what a fixture's `expected` holds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Answer {
    /// Total loss `(lbox + lobj + lcls) * bs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Box loss after its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lbox: Option<f64>,
    /// Objectness loss after its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lobj: Option<f64>,
    /// Class loss after its gain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lcls: Option<f64>,
    /// Per layer objectness targets `[bs, na, ny, nx]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tobj: Option<Vec<JsonArray>>,
    /// Per layer cell counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<Counts>>,
    /// Per layer dense gradient `[bs, na, ny, nx, no]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad: Option<Vec<JsonArray>>,
    /// Per layer hard objectness loss `H_i` (before balance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_loss: Option<Vec<f64>>,
    /// Per layer soft objectness loss `S_i` (before balance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_loss: Option<Vec<f64>>,
    /// The balance after this evaluation's autobalance update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Vec<f64>>,
    /// Per layer matched rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<Vec<Vec<MatchedRow>>>,
}

impl Answer {
    /// Reads an answer (or a fixture's `expected`) from JSON; unknown keys are ignored.
    /// `{"npy": FILE}` arrays are resolved relative to the current directory: a case's
    /// `expected` is read with [`Answer::from_json_with`] and the case's folder.
    ///
    /// # Errors
    /// As [`Answer::from_json_with`].
    pub fn from_json(v: &Value) -> Result<Answer> {
        Self::from_json_with(v, &Limits::default(), None)
    }

    /// Reads an answer object (or a fixture's `expected`) from JSON, with explicit limits,
    /// resolving `{"npy": FILE}` array references relative to `base_dir` (the current
    /// directory when `None`); unknown keys are ignored.
    ///
    /// # Errors
    /// [`Error::Type`] naming `expected` and the serde message when a field has the wrong type;
    /// for `tobj` and `grad`, the array reader's errors naming `expected.tobj[L]` or
    /// `expected.grad[L]` ([`Error::Npy`], [`Error::Io`] for a bad or missing array file).
    pub fn from_json_with(v: &Value, limits: &Limits, base_dir: Option<&Path>) -> Result<Answer> {
        read(v, "expected", base_dir, limits)
    }

    /// The full answer of an evaluation, with the dense gradient.
    pub fn from_evaluation(e: &Evaluation, config: &Config) -> Answer {
        let mut a = Answer::without_grad(e, config);
        a.grad = Some(
            e.grad
                .to_dense()
                .iter()
                .map(|g| JsonArray::from_array(&g.clone().into_dyn()))
                .collect(),
        );
        a
    }

    /// The answer without the gradient (for large inputs, written separately).
    pub fn without_grad(e: &Evaluation, config: &Config) -> Answer {
        Answer {
            loss: Some(e.loss),
            lbox: Some(e.lbox),
            lobj: Some(e.lobj),
            lcls: Some(e.lcls),
            tobj: Some(
                e.layers
                    .iter()
                    .map(|l| JsonArray::from_array(&l.tobj.clone().into_dyn()))
                    .collect(),
            ),
            counts: Some(e.layers.iter().map(|l| l.counts).collect()),
            grad: None,
            hard_loss: Some(e.layers.iter().map(|l| l.hard_loss).collect()),
            soft_loss: Some(e.layers.iter().map(|l| l.soft_loss).collect()),
            balance: Some(e.balance.clone()),
            matched: Some(
                e.layers
                    .iter()
                    .enumerate()
                    .map(|(l, layer)| {
                        layer
                            .rows
                            .iter()
                            .map(|r| MatchedRow {
                                b: r.b,
                                a: r.a,
                                gj: r.gj,
                                gi: r.gi,
                                tbox: r.tbox(),
                                anchor: [config.anchors[[l, r.a, 0]], config.anchors[[l, r.a, 1]]],
                                class: r.class,
                            })
                            .collect()
                    })
                    .collect(),
            ),
        }
    }
}

/// Writes an evaluation as an answer folder: `tobj_{l}.npy` and `grad_{l}.npy` (f64, C order)
/// per layer, and `answer.json` with the scalars, counts, per layer `hard_loss`, `soft_loss`,
/// `balance`, `matched`, and `{"npy": FILE}` references for `tobj` and `grad`. This is what
/// `softobj eval --out-dir` writes and what [`load_answer`] reads back. Returns the files
/// written, `answer.json` first.
///
/// # Errors
/// [`Error::Io`] when the folder or a file cannot be written.
pub fn write_answer_dir(dir: &Path, eval: &Evaluation, config: &Config) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut answer = Answer::without_grad(eval, config);
    answer.tobj = None;
    let mut v = serde_json::to_value(&answer)?;
    let mut files = vec![dir.join("answer.json")];
    let (mut tobj, mut grad) = (Vec::new(), Vec::new());
    for (l, layer) in eval.layers.iter().enumerate() {
        let t = format!("tobj_{l}.npy");
        crate::npy::write(&dir.join(&t), &layer.tobj.clone().into_dyn())?;
        files.push(dir.join(&t));
        tobj.push(serde_json::json!({ "npy": t }));
        let g = format!("grad_{l}.npy");
        crate::npy::write(&dir.join(&g), &eval.grad.dense_layer(l).into_dyn())?;
        files.push(dir.join(&g));
        grad.push(serde_json::json!({ "npy": g }));
    }
    v["tobj"] = Value::Array(tobj);
    v["grad"] = Value::Array(grad);
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    std::fs::write(&files[0], text).map_err(io(&files[0]))?;
    Ok(files)
}

/// Where an answer lives: the JSON file, given a file or a folder holding `answer.json`.
pub fn answer_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("answer.json")
    } else {
        path.to_path_buf()
    }
}

/// Reads an answer: a bare answer object (what `softobj eval` prints), a case file whose
/// `expected` holds it, or a folder written by `softobj eval --out-dir` (its `answer.json`).
/// Arrays of `tobj` and `grad` may be `{"shape", "data"}` objects or `{"npy": FILE}`
/// references resolved beside the JSON file.
///
/// # Errors
/// [`Error::Io`] when unreadable, [`Error::Json`] when malformed, [`Error::Type`] or
/// [`Error::Shape`] naming the field when it is not an answer, [`Error::Npy`] for a bad array
/// file.
pub fn load_answer(path: &Path) -> Result<Answer> {
    let file = answer_file(path);
    let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
        path: file.clone(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text)?;
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    answer_from_value(&v, Some(&dir), &Limits::default())
}

/// Like [`load_answer`], from a parsed JSON value (a bare answer or a case with `expected`);
/// `{"npy": FILE}` references are resolved relative to `base_dir` (the current directory when
/// `None`).
///
/// # Errors
/// As [`load_answer`].
pub fn answer_from_value(v: &Value, base_dir: Option<&Path>, limits: &Limits) -> Result<Answer> {
    let top = v.as_object().ok_or_else(|| Error::Type {
        field: "(answer)".into(),
        expected: "an answer object (spec section 10) or a case with `expected`".into(),
        got: crate::json::kind(v),
    })?;
    if !top.contains_key("format") {
        return read(v, "answer", base_dir, limits);
    }
    match top.get("expected") {
        Some(e @ Value::Object(_)) => read(e, "expected", base_dir, limits),
        Some(other) => Err(Error::Type {
            field: "expected".into(),
            expected: "an answer object".into(),
            got: crate::json::kind(other),
        }),
        None => Err(Error::Missing {
            field: "expected".into(),
        }),
    }
}

/// The one answer reader: `tobj` and `grad` through the array reader (inline or `.npy`, in
/// `base_dir`), every other key through serde. `prefix` names the answer in errors. A value
/// that is not an object goes to serde whole, whose message then says what it is.
fn read(v: &Value, prefix: &str, base_dir: Option<&Path>, limits: &Limits) -> Result<Answer> {
    let (rest, tobj, grad) = match v.as_object() {
        Some(obj) => split_arrays(obj, prefix, base_dir, limits)?,
        None => (v.clone(), None, None),
    };
    let mut answer: Answer = serde_json::from_value(rest).map_err(|e| Error::Type {
        field: prefix.into(),
        expected: "an answer object (spec section 10)".into(),
        got: e.to_string(),
    })?;
    if tobj.is_some() {
        answer.tobj = tobj;
    }
    if grad.is_some() {
        answer.grad = grad;
    }
    Ok(answer)
}

/// The layer arrays of `tobj` and `grad` read from `obj`, and the object without them.
type Split = (Value, Option<Vec<JsonArray>>, Option<Vec<JsonArray>>);

fn split_arrays(
    obj: &Map<String, Value>,
    prefix: &str,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<Split> {
    let mut rest = Map::new();
    let (mut tobj, mut grad) = (None, None);
    for (k, val) in obj {
        match k.as_str() {
            "tobj" => {
                tobj = Some(read_layers(
                    val,
                    &format!("{prefix}.{k}"),
                    base_dir,
                    limits,
                )?)
            }
            "grad" => {
                grad = Some(read_layers(
                    val,
                    &format!("{prefix}.{k}"),
                    base_dir,
                    limits,
                )?)
            }
            _ => {
                rest.insert(k.clone(), val.clone());
            }
        }
    }
    Ok((Value::Object(rest), tobj, grad))
}

/// An array of per layer arrays, each inline or a `.npy` reference.
fn read_layers(
    v: &Value,
    field: &str,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<Vec<JsonArray>> {
    let items = v
        .as_array()
        .ok_or_else(|| crate::json::type_err(field, "an array of layers", v))?;
    items
        .iter()
        .enumerate()
        .map(|(i, a)| {
            // The case reader's rule: inline arrays, or `.npy` references confined to the folder.
            let a =
                crate::npy::read_value(a, &format!("{field}[{i}]"), limits, base_dir)?.into_f64();
            Ok(JsonArray {
                shape: a.shape().to_vec(),
                data: a.into_raw_vec_and_offset().0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_batch::{Workload, build};
    use crate::{EvalOptions, evaluate};

    fn small() -> (Config, Evaluation) {
        let (config, inputs) = build(&Workload {
            batch: 2,
            width: 64,
            height: 64,
            nc: 3,
            boxes_per_image: 4,
            seed: 3,
        });
        let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
        (config, e)
    }

    #[test]
    fn answers_load_bare_and_as_expected() {
        let (config, e) = small();
        let a = Answer::from_evaluation(&e, &config);
        let bare = serde_json::to_value(&a).unwrap();
        assert_eq!(
            answer_from_value(&bare, None, &Limits::default()).unwrap(),
            a
        );
        let case = serde_json::json!({"format": "soft-objectness-case/1", "expected": bare});
        assert_eq!(
            answer_from_value(&case, None, &Limits::default()).unwrap(),
            a
        );
        let bad = serde_json::json!({"loss": "high"});
        let err = answer_from_value(&bad, None, &Limits::default()).unwrap_err();
        assert_eq!(err.field(), Some("answer"));
        let bad = serde_json::json!({"tobj": [{"shape": [2], "data": [1.0]}]});
        let err = answer_from_value(&bad, None, &Limits::default()).unwrap_err();
        assert_eq!(err.field(), Some("answer.tobj[0]"));
        let no_expected = serde_json::json!({"format": "soft-objectness-case/1"});
        assert!(matches!(
            answer_from_value(&no_expected, None, &Limits::default()),
            Err(Error::Missing { .. })
        ));
    }

    #[test]
    fn from_json_reads_what_answer_from_value_reads() {
        let (config, e) = small();
        let a = Answer::from_evaluation(&e, &config);
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(Answer::from_json(&v).unwrap(), a);
        let err = Answer::from_json(&serde_json::json!({"loss": "high"})).unwrap_err();
        assert_eq!(err.field(), Some("expected"));
        let err = Answer::from_json(&serde_json::json!(3)).unwrap_err();
        assert_eq!(err.field(), Some("expected"));
        let bad = serde_json::json!({"grad": [{"shape": [2], "data": [1.0]}]});
        let err = Answer::from_json(&bad).unwrap_err();
        assert_eq!(err.field(), Some("expected.grad[0]"));
    }

    /// `Answer::from_json_with` (the reader of a case's `expected`) resolves `.npy` references
    /// in the folder it is given, as `load_answer` does beside the answer's file.
    #[test]
    fn expected_resolves_npy_references() {
        let (config, e) = small();
        let dir = tempfile::tempdir().unwrap();
        write_answer_dir(dir.path(), &e, &config).unwrap();
        let text = std::fs::read_to_string(dir.path().join("answer.json")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["tobj"][0], serde_json::json!({"npy": "tobj_0.npy"}));
        let a = Answer::from_json_with(&v, &Limits::default(), Some(dir.path())).unwrap();
        assert_eq!(a, Answer::from_evaluation(&e, &config));
        // The same references through a case's `expected`, and through the folder itself.
        let case = serde_json::json!({"format": "soft-objectness-case/1", "expected": v});
        let b = answer_from_value(&case, Some(dir.path()), &Limits::default()).unwrap();
        assert_eq!(b, a);
        assert_eq!(load_answer(dir.path()).unwrap(), a);
        // Resolved in the folder given, so elsewhere the file is missing.
        let empty = tempfile::tempdir().unwrap();
        let err = Answer::from_json_with(&v, &Limits::default(), Some(empty.path())).unwrap_err();
        assert!(err.field().is_some_and(|f| f.ends_with("].npy")), "{err}");
        assert!(err.to_string().contains("no such file in"), "{err}");
        // Never outside the folder.
        let out = serde_json::json!({"tobj": [{"npy": "../tobj_0.npy"}]});
        let err = Answer::from_json_with(&out, &Limits::default(), Some(dir.path())).unwrap_err();
        assert_eq!(err.field(), Some("expected.tobj[0].npy"));
    }

    #[test]
    fn limits_apply_to_answer_arrays() {
        let tight = Limits {
            max_elements: 1,
            ..Limits::default()
        };
        let v = serde_json::json!({"tobj": [{"shape": [2], "data": [0.0, 1.0]}]});
        let err = Answer::from_json_with(&v, &tight, None).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    }
}
