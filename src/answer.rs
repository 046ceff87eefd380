//! The answer of an evaluation in the case format (spec section 10, `expected`), plus the
//! extra keys of docs/decisions.md item 10, and all of its I/O. Every field is optional when
//! reading, so that a partial answer from another implementation can be checked field by field.
//!
//! One reader takes every form an answer comes in: a bare answer object (what `softobj eval`
//! prints), a case file whose `expected` holds it, or a folder written by `softobj eval
//! --out` ([`Answer::write_dir`]). Its `tobj` and `grad` arrays may be inline
//! `{"shape", "data"}` objects or `{"npy": FILE}` references, resolved relative to the folder
//! of the answer's file (never outside it: [`crate::npy::read_value`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::array::{JsonArray, Limits};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::result::{Counts, Evaluation};

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
///
/// ```
/// use soft_objectness::{Answer, EvalOptions, Limits, evaluate, default_batch::DefaultBatch};
///
/// let (config, inputs) = DefaultBatch { batch: 1, width: 64, height: 64, ..DefaultBatch::standard(3) }.build().unwrap();
/// let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
/// let dir = std::env::temp_dir().join(format!("answer-doc-{}", std::process::id()));
/// Answer::write_dir(&dir, &e, &config).unwrap();
/// let back = Answer::load(&dir, &Limits::default()).unwrap();
/// assert_eq!(back, Answer::from_evaluation(&e, &config));
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
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
    /// What the reader noticed without refusing the answer (spec section 10): its unknown
    /// top-level keys, each named. Never written, never compared; empty for an answer built
    /// in memory.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Answer {
    /// The fields spec section 10 requires of an answer.
    pub const REQUIRED: [&'static str; 7] =
        ["loss", "lbox", "lobj", "lcls", "tobj", "counts", "grad"];

    /// The optional fields of docs/decisions.md item 10.
    pub const OPTIONAL: [&'static str; 4] = ["hard_loss", "soft_loss", "balance", "matched"];

    /// Every top-level key of an answer (spec section 7): [`Answer::REQUIRED`], then
    /// [`Answer::OPTIONAL`]. Any other earns a warning.
    pub const KEYS: [&'static str; 11] = [
        "loss",
        "lbox",
        "lobj",
        "lcls",
        "tobj",
        "counts",
        "grad",
        "hard_loss",
        "soft_loss",
        "balance",
        "matched",
    ];

    /// Reads an answer: a bare answer object (what `softobj eval` prints), a case file whose
    /// `expected` holds it, or a folder written by `softobj eval --out` (its `answer.json`).
    /// `{"npy": FILE}` arrays are resolved beside the JSON file. The file's size is checked
    /// against [`Limits::max_json_bytes`] before it is read.
    ///
    /// ```
    /// use soft_objectness::{Answer, Limits};
    /// let dir = std::env::temp_dir().join(format!("answer-warn-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("answer.json"), r#"{"loss": NaN, "los": 1.0}"#).unwrap();
    /// let a = Answer::load(&dir, &Limits::default()).unwrap();
    /// assert!(a.loss.unwrap().is_nan()); // a value, judged by the comparison
    /// assert!(a.warnings[0].contains("`los`"));
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::JsonTooLarge`] over the limit, then as
    /// [`Answer::from_json_str`].
    pub fn load(path: impl AsRef<Path>, limits: &Limits) -> Result<Answer> {
        let file = Answer::json_file(path.as_ref());
        let text = crate::array::read_json_file(&file, limits)?;
        let dir = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Answer::from_json_str(&text, Some(&dir), limits)
    }

    /// Reads an answer from JSON text (a bare answer or a case with `expected`), accepting the
    /// tokens `NaN`, `Infinity` and `-Infinity` as values; `{"npy": FILE}` references are
    /// resolved relative to `base_dir` (the current directory when `None`).
    ///
    /// ```
    /// use soft_objectness::{Answer, Limits};
    /// let err = Answer::from_json_str(r#"{"counts": [{"positive": 31.5}]}"#, None, &Limits::default());
    /// assert_eq!(
    ///     err.unwrap_err().to_string(),
    ///     "answer.counts[0].positive: expected a non-negative integer, got 31.5"
    /// );
    /// ```
    ///
    /// # Errors
    /// [`Error::JsonTooLarge`] when the text is longer than [`Limits::max_json_bytes`]
    /// (checked before parsing), [`Error::Json`] when malformed, then as
    /// [`Answer::from_value`].
    pub fn from_json_str(text: &str, base_dir: Option<&Path>, limits: &Limits) -> Result<Answer> {
        let v = crate::array::parse_json(text, limits)?;
        Answer::from_value(&v, base_dir, limits)
    }

    /// Reads an answer from a parsed JSON value (a bare answer or a case with `expected`);
    /// `{"npy": FILE}` references are resolved relative to `base_dir` (the current directory
    /// when `None`). Unknown top-level keys of the answer go to [`Answer::warnings`].
    ///
    /// # Errors
    /// [`Error::Type`] or [`Error::Missing`] naming the field (`answer.counts[0].soft`) when
    /// the value is not an answer (a case without `expected` included), [`Error::Shape`] for
    /// an array whose data disagrees with its shape, [`Error::Npy`] or [`Error::Io`] for a
    /// bad or missing array file.
    pub fn from_value(v: &Value, base_dir: Option<&Path>, limits: &Limits) -> Result<Answer> {
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

    /// Where an answer lives: `path` itself, or for a folder its `answer.json`.
    pub fn json_file(path: &Path) -> PathBuf {
        if path.is_dir() {
            path.join("answer.json")
        } else {
            path.to_path_buf()
        }
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
    fn without_grad(e: &Evaluation, config: &Config) -> Answer {
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
            warnings: Vec::new(),
        }
    }

    /// Writes an evaluation as an answer folder: `tobj_{l}.npy` and `grad_{l}.npy` (f64, C
    /// order) per layer, and `answer.json` with the scalars, counts, per layer `hard_loss`,
    /// `soft_loss`, `balance`, `matched`, and `{"npy": FILE}` references for `tobj` and
    /// `grad`. This is what `softobj eval --out` writes and what [`Answer::load`] reads back.
    /// Returns the files written, `answer.json` first.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder or a file cannot be written.
    pub fn write_dir(dir: &Path, eval: &Evaluation, config: &Config) -> Result<Vec<PathBuf>> {
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
}

/// The answer of a case's `expected` (errors name `expected.FIELD`).
pub(crate) fn read_expected(v: &Value, base_dir: Option<&Path>, limits: &Limits) -> Result<Answer> {
    read(v, "expected", base_dir, limits)
}

/// The one answer reader, field by field, every error naming its path under `prefix`
/// (`answer` or `expected`). A key whose value is `null` counts as absent. Numbers may be the
/// non-finite tokens (values to be judged); `tobj` and `grad` arrays are inline (non-finite
/// tokens kept) or `.npy` references in `base_dir`.
fn read(v: &Value, prefix: &str, base_dir: Option<&Path>, limits: &Limits) -> Result<Answer> {
    let obj = v
        .as_object()
        .ok_or_else(|| crate::json::type_err(prefix, "an answer object (spec section 10)", v))?;
    let field = |k: &str| crate::json::join(prefix, k);
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let scalar = |k: &str| get(k).map(|v| number(v, &field(k))).transpose();
    let numbers = |k: &str| {
        get(k)
            .map(|v| items(v, &field(k), "an array of numbers", number))
            .transpose()
    };
    let layers = |k: &str| {
        get(k)
            .map(|v| read_layers(v, &field(k), base_dir, limits))
            .transpose()
    };
    Ok(Answer {
        loss: scalar("loss")?,
        lbox: scalar("lbox")?,
        lobj: scalar("lobj")?,
        lcls: scalar("lcls")?,
        tobj: layers("tobj")?,
        counts: get("counts")
            .map(|v| items(v, &field("counts"), "an array of counts", counts))
            .transpose()?,
        grad: layers("grad")?,
        hard_loss: numbers("hard_loss")?,
        soft_loss: numbers("soft_loss")?,
        balance: numbers("balance")?,
        matched: get("matched")
            .map(|v| {
                items(v, &field("matched"), "an array of layers", |rows, f| {
                    items(rows, f, "an array of rows", matched_row)
                })
            })
            .transpose()?,
        warnings: crate::json::unknown_keys(obj, "answer", &Answer::KEYS),
    })
}

/// A number of an answer: a JSON number or one of the non-finite tokens.
fn number(v: &Value, field: &str) -> Result<f64> {
    crate::json::number(v).ok_or_else(|| crate::json::type_err(field, "a number", v))
}

/// A non-negative integer of an answer (the integer rule of spec section 10: `2.0` is 2).
fn integer(v: &Value, field: &str) -> Result<u64> {
    if let Some(u) = v.as_u64() {
        return Ok(u);
    }
    const EXPECTED: &str = "a non-negative integer";
    match crate::json::number(v) {
        Some(x) if x.fract() == 0.0 && (0.0..=9.007_199_254_740_992e15).contains(&x) => {
            Ok(x as u64)
        }
        Some(x) => Err(Error::Type {
            field: field.into(),
            expected: EXPECTED.into(),
            got: crate::error::num(x),
        }),
        None => Err(crate::json::type_err(field, EXPECTED, v)),
    }
}

/// An index of an answer (`b`, `a`, `gj`, `gi`, `class`).
fn index(v: &Value, field: &str) -> Result<usize> {
    let n = integer(v, field)?;
    usize::try_from(n).map_err(|_| Error::invalid(field, n, "is too large for an index"))
}

/// Every item of the JSON array `v`, read by `each` with its path `field[i]`.
fn items<T>(
    v: &Value,
    field: &str,
    expected: &str,
    each: impl Fn(&Value, &str) -> Result<T>,
) -> Result<Vec<T>> {
    let list = v
        .as_array()
        .ok_or_else(|| crate::json::type_err(field, expected, v))?;
    list.iter()
        .enumerate()
        .map(|(i, x)| each(x, &format!("{field}[{i}]")))
        .collect()
}

/// The value of required key `key` of object `obj` (at path `field`).
fn key<'a>(obj: &'a Map<String, Value>, field: &str, key: &str) -> Result<&'a Value> {
    obj.get(key).ok_or_else(|| Error::Missing {
        field: crate::json::join(field, key),
    })
}

/// One layer's counts `{"positive", "negative", "soft"}`.
fn counts(v: &Value, field: &str) -> Result<Counts> {
    let obj = crate::json::object(v, field)?;
    let get = |k: &str| integer(key(obj, field, k)?, &crate::json::join(field, k));
    Ok(Counts {
        positive: get("positive")?,
        negative: get("negative")?,
        soft: get("soft")?,
    })
}

/// `N` numbers at `field`.
fn fixed<const N: usize>(v: &Value, field: &str) -> Result<[f64; N]> {
    let list = items(v, field, &format!("an array of {N} numbers"), number)?;
    let n = list.len();
    list.try_into()
        .map_err(|_| Error::shape(field, format!("{N} numbers"), format!("{n} numbers")))
}

/// One matched row `{"b", "a", "gj", "gi", "tbox": [4], "anchor": [2], "class"}`.
fn matched_row(v: &Value, field: &str) -> Result<MatchedRow> {
    let obj = crate::json::object(v, field)?;
    let at = |k: &str| crate::json::join(field, k);
    let idx = |k: &str| index(key(obj, field, k)?, &at(k));
    Ok(MatchedRow {
        b: idx("b")?,
        a: idx("a")?,
        gj: idx("gj")?,
        gi: idx("gi")?,
        tbox: fixed(key(obj, field, "tbox")?, &at("tbox"))?,
        anchor: fixed(key(obj, field, "anchor")?, &at("anchor"))?,
        class: idx("class")?,
    })
}

/// An array of per layer arrays, each inline (non-finite tokens kept as values) or a `.npy`
/// reference confined to `base_dir` (the case reader's rule).
fn read_layers(
    v: &Value,
    field: &str,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<Vec<JsonArray>> {
    items(v, field, "an array of layers", |a, f| {
        let a = if a.get("npy").is_some() {
            crate::npy::read_value(a, f, base_dir, limits)?.into_f64()
        } else {
            crate::array::parse_any_number(a, f, limits)?
        };
        Ok(JsonArray {
            shape: a.shape().to_vec(),
            data: a.into_raw_vec_and_offset().0,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> (Config, Evaluation) {
        crate::default_batch::small_evaluation()
    }

    #[test]
    fn answers_load_bare_and_as_expected() {
        let (config, e) = small();
        let a = Answer::from_evaluation(&e, &config);
        let bare = serde_json::to_value(&a).unwrap();
        assert_eq!(
            Answer::from_value(&bare, None, &Limits::default()).unwrap(),
            a
        );
        let case = serde_json::json!({"format": "soft-objectness-case/1", "expected": bare});
        assert_eq!(
            Answer::from_value(&case, None, &Limits::default()).unwrap(),
            a
        );
        let bad = serde_json::json!({"loss": "high"});
        let err = Answer::from_value(&bad, None, &Limits::default()).unwrap_err();
        assert_eq!(err.field(), Some("answer.loss"));
        assert_eq!(
            err.to_string(),
            "answer.loss: expected a number, got string \"high\""
        );
        let bad = serde_json::json!({"tobj": [{"shape": [2], "data": [1.0]}]});
        let err = Answer::from_value(&bad, None, &Limits::default()).unwrap_err();
        assert_eq!(err.field(), Some("answer.tobj[0]"));
        let no_expected = serde_json::json!({"format": "soft-objectness-case/1"});
        assert!(matches!(
            Answer::from_value(&no_expected, None, &Limits::default()),
            Err(Error::Missing { .. })
        ));
    }

    #[test]
    fn expected_reads_what_from_value_reads() {
        let (config, e) = small();
        let a = Answer::from_evaluation(&e, &config);
        let v = serde_json::to_value(&a).unwrap();
        let l = Limits::default();
        assert_eq!(read_expected(&v, None, &l).unwrap(), a);
        let err = read_expected(&serde_json::json!({"loss": "high"}), None, &l).unwrap_err();
        assert_eq!(err.field(), Some("expected.loss"));
        let err = read_expected(&serde_json::json!(3), None, &l).unwrap_err();
        assert_eq!(err.field(), Some("expected"));
        let bad = serde_json::json!({"grad": [{"shape": [2], "data": [1.0]}]});
        let err = read_expected(&bad, None, &l).unwrap_err();
        assert_eq!(err.field(), Some("expected.grad[0]"));
    }

    /// The reader of a case's `expected` resolves `.npy` references in the folder it is given,
    /// as `Answer::load` does beside the answer's file.
    #[test]
    fn expected_resolves_npy_references() {
        let (config, e) = small();
        let dir = tempfile::tempdir().unwrap();
        Answer::write_dir(dir.path(), &e, &config).unwrap();
        let text = std::fs::read_to_string(dir.path().join("answer.json")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["tobj"][0], serde_json::json!({"npy": "tobj_0.npy"}));
        let a = read_expected(&v, Some(dir.path()), &Limits::default()).unwrap();
        assert_eq!(a, Answer::from_evaluation(&e, &config));
        // The same references through a case's `expected`, and through the folder itself.
        let case = serde_json::json!({"format": "soft-objectness-case/1", "expected": v});
        let b = Answer::from_value(&case, Some(dir.path()), &Limits::default()).unwrap();
        assert_eq!(b, a);
        assert_eq!(Answer::load(dir.path(), &Limits::default()).unwrap(), a);
        // Resolved in the folder given, so elsewhere the file is missing.
        let empty = tempfile::tempdir().unwrap();
        let err = read_expected(&v, Some(empty.path()), &Limits::default()).unwrap_err();
        assert!(err.field().is_some_and(|f| f.ends_with("].npy")), "{err}");
        assert!(err.to_string().contains("no such file in"), "{err}");
        // Never outside the folder.
        let out = serde_json::json!({"tobj": [{"npy": "../tobj_0.npy"}]});
        let err = read_expected(&out, Some(dir.path()), &Limits::default()).unwrap_err();
        assert_eq!(err.field(), Some("expected.tobj[0].npy"));
    }

    #[test]
    fn limits_apply_to_answer_arrays() {
        let tight = Limits {
            max_elements: 1,
            ..Limits::default()
        };
        let v = serde_json::json!({"tobj": [{"shape": [2], "data": [0.0, 1.0]}]});
        let err = read_expected(&v, None, &tight).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    }

    /// Type errors name the field and say what was expected, in the crate's words.
    #[test]
    fn type_errors_name_the_field() {
        let l = Limits::default();
        for (text, message) in [
            (
                r#"{"counts": [{"positive": 31.5, "negative": 0, "soft": 0}]}"#,
                "answer.counts[0].positive: expected a non-negative integer, got 31.5",
            ),
            (
                r#"{"counts": [{"positive": 1, "negative": -2, "soft": 0}]}"#,
                "answer.counts[0].negative: expected a non-negative integer, got -2",
            ),
            (
                r#"{"counts": [{"positive": 1, "negative": 2}]}"#,
                "answer.counts[0].soft: missing required field",
            ),
            (
                r#"{"loss": "x"}"#,
                "answer.loss: expected a number, got string \"x\"",
            ),
            (
                r#"{"balance": [1.0, true]}"#,
                "answer.balance[1]: expected a number, got boolean true",
            ),
            (
                r#"{"matched": [[{"b": 0, "a": 0, "gj": 1, "gi": 2, "class": 0, "tbox": [0.5, 0.5, 1.0], "anchor": [1, 2]}]]}"#,
                "answer.matched[0][0].tbox: shape mismatch: expected 4 numbers, got 3 numbers",
            ),
            (
                r#"{"format": "soft-objectness-case/1", "expected": {"grad": 3}}"#,
                "expected.grad: expected an array of layers, got number 3",
            ),
        ] {
            let err = Answer::from_json_str(text, None, &l).unwrap_err();
            assert_eq!(err.to_string(), message, "{text}");
        }
        // The integer rule of spec section 10: `31.0` is 31; `null` is an absent key.
        let read = Answer::from_json_str(
            r#"{"counts": [{"positive": 31.0, "negative": 2, "soft": 0}], "loss": null}"#,
            None,
            &l,
        )
        .unwrap();
        assert_eq!(read.counts.unwrap()[0].positive, 31);
        assert_eq!(read.loss, None);
    }

    /// Non-finite tokens in an answer are values (compared, and failing), not unreadable input.
    #[test]
    fn non_finite_tokens_are_values() {
        let text = r#"{"loss": NaN, "lbox": Infinity, "lcls": -Infinity,
            "tobj": [{"shape": [2], "data": [NaN, 0.5]}],
            "grad": [{"shape": [1, 2], "data": [Infinity, 1.0]}],
            "balance": [NaN]}"#;
        let a = Answer::from_json_str(text, None, &Limits::default()).unwrap();
        assert!(a.loss.unwrap().is_nan());
        assert_eq!(a.lbox, Some(f64::INFINITY));
        assert_eq!(a.lcls, Some(f64::NEG_INFINITY));
        assert!(a.tobj.unwrap()[0].data[0].is_nan());
        assert_eq!(a.grad.unwrap()[0].data, vec![f64::INFINITY, 1.0]);
        assert!(a.balance.unwrap()[0].is_nan());
    }

    #[test]
    fn unknown_top_level_keys_earn_warnings() {
        let (config, e) = small();
        let mut v = serde_json::to_value(Answer::from_evaluation(&e, &config)).unwrap();
        assert!(
            Answer::from_value(&v, None, &Limits::default())
                .unwrap()
                .warnings
                .is_empty()
        );
        v["gradient"] = serde_json::json!(1);
        let read = Answer::from_value(&v, None, &Limits::default()).unwrap();
        assert_eq!(read.warnings.len(), 1);
        assert!(
            read.warnings[0].contains("`gradient`") && read.warnings[0].contains("answer"),
            "{:?}",
            read.warnings
        );
    }

    #[test]
    fn the_json_limit_applies_to_answer_text_and_files() {
        let tight = Limits {
            max_json_bytes: 8,
            ..Limits::default()
        };
        let err = Answer::from_json_str(r#"{"loss": 1.0}"#, None, &tight).unwrap_err();
        assert!(matches!(err, Error::JsonTooLarge { .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.json");
        std::fs::write(&file, r#"{"loss": 1.0}"#).unwrap();
        let err = Answer::load(&file, &tight).unwrap_err();
        assert!(matches!(err, Error::JsonTooLarge { .. }), "{err}");
        let err = tight
            .read_json(&b"{\"loss\": 1.0}"[..], "(stdin)")
            .unwrap_err();
        assert!(matches!(err, Error::JsonTooLarge { .. }), "{err}");
        assert_eq!(
            Answer::load(&file, &Limits::default()).unwrap().loss,
            Some(1.0)
        );
    }
}
