//! Conformance: how far another implementation's answer is from the oracle's (the
//! `softobj check` command).
//!
//! An implementation under test evaluates a case and writes an answer in the shape of spec
//! section 10 (`loss`, `lbox`, `lobj`, `lcls`, `tobj`, `counts`, `grad`, optionally the extra
//! keys of docs/decisions.md item 10). [`load_answer`] reads it (a bare answer, a case file with
//! `expected`, or a folder written by `softobj eval --out-dir` with `.npy` arrays) and
//! [`compare`] measures it against an [`Evaluation`] of the oracle under [`Tolerances`].
//!
//! ```
//! use soft_objectness::conformance::{Tolerances, compare};
//! use soft_objectness::{Answer, EvalOptions, evaluate, default_batch::{Workload, build}};
//!
//! let (config, inputs) = build(&Workload { batch: 1, width: 64, height: 64, nc: 3, boxes_per_image: 3, seed: 7 });
//! let oracle = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
//! let mut answer = Answer::from_evaluation(&oracle, &config);
//! assert!(compare(&config, &oracle, &answer, &Tolerances::F64).conforms());
//!
//! // One gradient component 1% off: no longer conforming.
//! let g = &mut answer.grad.as_mut().unwrap()[0].data;
//! let k = (0..g.len()).max_by(|&i, &j| g[i].abs().total_cmp(&g[j].abs())).unwrap();
//! g[k] *= 1.01;
//! let report = compare(&config, &oracle, &answer, &Tolerances::F64);
//! assert!(!report.conforms());
//! println!("{report}");
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::answer::Answer;
use crate::array::{JsonArray, Limits};
use crate::config::{Assigner, Config};
use crate::error::{Error, Result};
use crate::eval::{Counts, Evaluation};

/// How close an answer must be to the oracle's.
///
/// With `got` the answer's value and `want` the oracle's:
///
/// * scalars (`loss`, `lbox`, `lobj`, `lcls`, and per layer `hard_loss`, `soft_loss`,
///   `balance`): `|got - want| <= atol + rtol * |want|`;
/// * every `tobj` cell: `|got - want| <= tobj_atol`, **and** the cell's class (positive,
///   negative, soft; spec 4.9, exact comparisons) must be the same in both;
/// * every gradient component: `|got - want| <= grad_rtol * G`, where `G` is the largest
///   `|want|` over every layer and channel of the oracle's gradient;
/// * `counts` and the integer fields of `matched` (`b`, `a`, `gj`, `gi`, `class`) exactly;
///   `matched[..].tbox` and `.anchor`: `|got - want| <= tobj_atol + rtol * |want|`.
///
/// A NaN never passes. The presets: [`Tolerances::F64`] for an implementation in double
/// precision, [`Tolerances::F32`] for one in single precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    /// Relative tolerance of the scalar losses.
    pub rtol: f64,
    /// Absolute tolerance of the scalar losses.
    pub atol: f64,
    /// Absolute tolerance of every `tobj` cell.
    pub tobj_atol: f64,
    /// Gradient tolerance, relative to the largest gradient component.
    pub grad_rtol: f64,
}

impl Tolerances {
    /// An f64 implementation: losses within `1e-12` relative, `tobj` bit-exact, gradients within
    /// `1e-10` of the largest component.
    pub const F64: Tolerances = Tolerances {
        rtol: 1e-12,
        atol: 0.0,
        tobj_atol: 0.0,
        grad_rtol: 1e-10,
    };

    /// An f32 implementation: losses within `2e-5` relative, `tobj` within `2e-5`, gradients
    /// within `1e-4` of the largest component; counts and cell classes still exact.
    pub const F32: Tolerances = Tolerances {
        rtol: 2e-5,
        atol: 0.0,
        tobj_atol: 2e-5,
        grad_rtol: 1e-4,
    };

    /// Checks that every tolerance is a finite, non-negative number.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the tolerance.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("rtol", self.rtol),
            ("atol", self.atol),
            ("tobj_atol", self.tobj_atol),
            ("grad_rtol", self.grad_rtol),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    format!("tolerances.{name}"),
                    v,
                    "must be a finite number >= 0",
                ));
            }
        }
        Ok(())
    }
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances::F64
    }
}

/// The class of a `tobj` cell (spec 4.9; baseline assigner: positive = `tobj > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellClass {
    /// `tobj == 1` (baseline: `tobj > 0`).
    Positive,
    /// `tobj == 0`.
    Negative,
    /// Every other value.
    Soft,
}

impl CellClass {
    /// The class of target `t` under `assigner`, by exact comparison.
    ///
    /// ```
    /// use soft_objectness::{Assigner, conformance::CellClass};
    /// assert_eq!(CellClass::of(1.0, Assigner::Soft), CellClass::Positive);
    /// assert_eq!(CellClass::of(0.999_999_9, Assigner::Soft), CellClass::Soft);
    /// assert_eq!(CellClass::of(0.3, Assigner::Yolov5), CellClass::Positive);
    /// ```
    pub fn of(t: f64, assigner: Assigner) -> CellClass {
        match assigner {
            Assigner::Soft if t == 1.0 => CellClass::Positive,
            Assigner::Yolov5 if t > 0.0 => CellClass::Positive,
            _ if t == 0.0 => CellClass::Negative,
            _ => CellClass::Soft,
        }
    }

    fn index(self) -> usize {
        match self {
            CellClass::Positive => 0,
            CellClass::Negative => 1,
            CellClass::Soft => 2,
        }
    }

    const ALL: [CellClass; 3] = [CellClass::Positive, CellClass::Negative, CellClass::Soft];
}

impl fmt::Display for CellClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CellClass::Positive => "positive",
            CellClass::Negative => "negative",
            CellClass::Soft => "soft",
        })
    }
}

/// Where a compared value sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// A scalar field.
    Scalar,
    /// A per layer value.
    Layer {
        /// Layer.
        layer: usize,
    },
    /// A `tobj` cell.
    Cell {
        /// Layer.
        layer: usize,
        /// Image.
        image: usize,
        /// Anchor.
        anchor: usize,
        /// Grid row.
        y: usize,
        /// Grid column.
        x: usize,
    },
    /// A gradient component.
    Channel {
        /// Layer.
        layer: usize,
        /// Image.
        image: usize,
        /// Anchor.
        anchor: usize,
        /// Grid row.
        y: usize,
        /// Grid column.
        x: usize,
        /// Channel (`0..4` box, `4` objectness, `5..` classes).
        channel: usize,
    },
    /// One count of a layer.
    Count {
        /// Layer.
        layer: usize,
        /// Which count.
        class: CellClass,
    },
    /// One item of a matched row.
    Row {
        /// Layer.
        layer: usize,
        /// Row number in emission order.
        row: usize,
        /// `b`, `a`, `gj`, `gi`, `class`, `tbox[k]` or `anchor[k]`.
        item: String,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Scalar => Ok(()),
            Location::Layer { layer } => write!(f, "layer {layer}"),
            Location::Cell {
                layer,
                image,
                anchor,
                y,
                x,
            } => {
                write!(
                    f,
                    "layer {layer} (image {image}, anchor {anchor}, y {y}, x {x})"
                )
            }
            Location::Channel {
                layer,
                image,
                anchor,
                y,
                x,
                channel,
            } => {
                let name = match channel {
                    0 => "tx".to_string(),
                    1 => "ty".to_string(),
                    2 => "tw".to_string(),
                    3 => "th".to_string(),
                    4 => "obj".to_string(),
                    c => format!("cls {}", c - 5),
                };
                write!(
                    f,
                    "layer {layer} (image {image}, anchor {anchor}, y {y}, x {x}, channel {channel} {name})"
                )
            }
            Location::Count { layer, class } => write!(f, "layer {layer} {class}"),
            Location::Row { layer, row, item } => write!(f, "layer {layer} row {row} {item}"),
        }
    }
}

/// One compared value that fails its tolerance (or, for `tobj`, changes class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    /// Where.
    pub at: Location,
    /// The answer's value.
    pub got: f64,
    /// The oracle's value.
    pub want: f64,
    /// The largest `|got - want|` the tolerance allows here.
    pub allowed: f64,
    /// For `tobj` cells: the oracle's class and the answer's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<(CellClass, CellClass)>,
}

/// The comparison of one field of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldReport {
    /// The field (`loss`, `tobj`, `grad`, `counts`, ...).
    pub field: String,
    /// The rule applied, as a formula.
    pub rule: String,
    /// Values compared.
    pub compared: u64,
    /// Values outside the tolerance (for `tobj`: or whose class changed).
    pub failed: u64,
    /// Largest `|got - want|`.
    pub max_abs_err: f64,
    /// Largest relative error: `|got - want| / |want|` (infinite where `want == 0 != got`);
    /// for `grad`, `|got - want| / G` with `G` the largest oracle component.
    pub max_rel_err: f64,
    /// The value with the largest `|got - want|`, whether or not it fails.
    pub worst: Option<Mismatch>,
    /// The first failures, in storage order (at most the report's listing limit).
    pub first_failures: Vec<Mismatch>,
    /// How many failures [`FieldReport::first_failures`] keeps.
    #[serde(skip)]
    listed: usize,
}

impl FieldReport {
    fn new(field: &str, rule: String, listed: usize) -> FieldReport {
        FieldReport {
            field: field.into(),
            rule,
            compared: 0,
            failed: 0,
            max_abs_err: 0.0,
            max_rel_err: 0.0,
            worst: None,
            first_failures: Vec::new(),
            listed,
        }
    }

    /// Whether every compared value passed.
    pub fn passed(&self) -> bool {
        self.failed == 0
    }

    /// Records one comparison. `scale` is the denominator of the relative error (`|want|`, or
    /// `G` for the gradient).
    fn record(
        &mut self,
        at: impl FnOnce() -> Location,
        got: f64,
        want: f64,
        allowed: f64,
        scale: f64,
        classes: Option<(CellClass, CellClass)>,
    ) {
        self.compared += 1;
        let diff = (got - want).abs();
        // A NaN answer is infinitely wrong.
        let err = if diff.is_nan() { f64::INFINITY } else { diff };
        let rel = if err == 0.0 {
            0.0
        } else if scale > 0.0 {
            err / scale
        } else {
            f64::INFINITY
        };
        let class_changed = classes.is_some_and(|(w, g)| w != g);
        let fails = err > allowed || allowed.is_nan() || class_changed;
        if rel > self.max_rel_err {
            self.max_rel_err = rel;
        }
        // A failure always has a positive error (equal values have equal classes).
        let is_worst = err > self.max_abs_err;
        if !fails && !is_worst {
            return;
        }
        let m = Mismatch {
            at: at(),
            got,
            want,
            allowed,
            classes,
        };
        if is_worst {
            self.max_abs_err = err;
            self.worst = Some(m.clone());
        }
        if fails {
            self.failed += 1;
            if self.first_failures.len() < self.listed {
                self.first_failures.push(m);
            }
        }
    }
}

/// How many `tobj` cells moved from one class to another: `[oracle class][answer class]`,
/// indexed positive, negative, soft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClassChanges(pub [[u64; 3]; 3]);

impl ClassChanges {
    /// Cells whose class differs.
    pub fn total(&self) -> u64 {
        let mut n = 0;
        for (w, row) in self.0.iter().enumerate() {
            for (g, &c) in row.iter().enumerate() {
                if w != g {
                    n += c;
                }
            }
        }
        n
    }

    /// Cells that moved from class `want` (oracle) to `got` (answer).
    pub fn get(&self, want: CellClass, got: CellClass) -> u64 {
        self.0[want.index()][got.index()]
    }
}

impl fmt::Display for ClassChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for w in CellClass::ALL {
            for g in CellClass::ALL {
                let n = self.get(w, g);
                if w != g && n > 0 {
                    if !first {
                        f.write_str(", ")?;
                    }
                    write!(f, "{w} -> {g} {n}")?;
                    first = false;
                }
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// The conformance report of one answer: per field the worst errors and the first failures,
/// the `tobj` class changes, missing fields and structural problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The tolerances applied.
    pub tolerances: Tolerances,
    /// One entry per compared field, in the order of spec section 10.
    pub fields: Vec<FieldReport>,
    /// `tobj` cells whose class changed (all layers).
    pub class_changes: ClassChanges,
    /// Required fields (spec section 10) the answer lacks.
    pub missing: Vec<String>,
    /// Optional fields (docs/decisions.md item 10) the answer lacks; not a failure.
    pub not_given: Vec<String>,
    /// Structural problems: wrong layer counts, shapes, row counts. Any is a failure.
    pub problems: Vec<String>,
}

/// The fields spec section 10 requires of an answer.
pub const REQUIRED: [&str; 7] = ["loss", "lbox", "lobj", "lcls", "tobj", "counts", "grad"];

/// The optional fields of docs/decisions.md item 10.
pub const OPTIONAL: [&str; 4] = ["hard_loss", "soft_loss", "balance", "matched"];

impl Report {
    /// Whether the answer conforms: every required field present, no structural problem,
    /// every compared value within tolerance and no `tobj` cell changing class.
    pub fn conforms(&self) -> bool {
        self.missing.is_empty()
            && self.problems.is_empty()
            && self.class_changes.total() == 0
            && self.fields.iter().all(FieldReport::passed)
    }

    /// The fields that fail.
    pub fn failed_fields(&self) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|f| !f.passed())
            .map(|f| f.field.as_str())
            .collect()
    }

    /// One line: `conforms` or what fails.
    pub fn verdict(&self) -> String {
        if self.conforms() {
            return "conforms".into();
        }
        let mut parts = Vec::new();
        let failed = self.failed_fields();
        if !failed.is_empty() {
            parts.push(format!("fails {}", failed.join(", ")));
        }
        let changes = self.class_changes.total();
        if changes > 0 {
            parts.push(format!("{changes} tobj cells change class"));
        }
        if !self.missing.is_empty() {
            parts.push(format!("missing {}", self.missing.join(", ")));
        }
        if !self.problems.is_empty() {
            parts.push(format!("{} structural problems", self.problems.len()));
        }
        format!("does not conform: {}", parts.join("; "))
    }
}

/// A value in full precision, readable: integers as integers, mid-range values in plain
/// decimal, the rest in exponent form (all round-trip exactly).
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if (1e-4..1e6).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// A tolerance as written by a person: `0`, `1e-12`, `2e-5`, `0.5`.
pub fn short(x: f64) -> String {
    if x == 0.0 || (1e-3..1e3).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.3e}")
    }
}

impl fmt::Display for Report {
    /// The human-readable report `softobj check` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>10} {:>8} {:>11} {:>11}  rule",
            "field", "compared", "failed", "max |err|", "max rel"
        )?;
        for r in &self.fields {
            writeln!(
                f,
                "{:<10} {:>10} {:>8} {:>11} {:>11}  {}",
                r.field,
                r.compared,
                r.failed,
                sci(r.max_abs_err),
                sci(r.max_rel_err),
                r.rule
            )?;
        }
        if self.fields.iter().any(|r| r.field == "tobj") {
            writeln!(
                f,
                "tobj class changes (oracle -> answer): {}",
                self.class_changes
            )?;
        }
        let listed: Vec<&FieldReport> = self
            .fields
            .iter()
            .filter(|r| !r.first_failures.is_empty())
            .collect();
        if !listed.is_empty() {
            writeln!(f, "first mismatches:")?;
            for r in listed {
                for m in &r.first_failures {
                    write!(
                        f,
                        "  {} {}: got {}, want {}",
                        r.field,
                        m.at,
                        num(m.got),
                        num(m.want)
                    )?;
                    match m.classes {
                        Some((w, g)) if w != g => writeln!(f, " ({w} -> {g})")?,
                        _ => writeln!(
                            f,
                            " (|err| {}, allowed {})",
                            sci((m.got - m.want).abs()),
                            sci(m.allowed)
                        )?,
                    }
                }
                if r.failed > r.first_failures.len() as u64 {
                    writeln!(
                        f,
                        "  {} ... {} more",
                        r.field,
                        r.failed - r.first_failures.len() as u64
                    )?;
                }
            }
        }
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        if !self.missing.is_empty() {
            writeln!(f, "missing (required): {}", self.missing.join(", "))?;
        }
        if !self.not_given.is_empty() {
            writeln!(f, "not given (optional): {}", self.not_given.join(", "))?;
        }
        write!(f, "result: {}", self.verdict())
    }
}

/// Options of [`compare_with`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    /// Tolerances.
    pub tolerances: Tolerances,
    /// How many failures to list per field.
    pub listed: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            tolerances: Tolerances::F64,
            listed: 8,
        }
    }
}

/// Compares `answer` with the oracle's evaluation `oracle` of a case with `config`, listing
/// the first 8 failures per field. See [`compare_with`].
pub fn compare(config: &Config, oracle: &Evaluation, answer: &Answer, tol: &Tolerances) -> Report {
    compare_with(
        config,
        oracle,
        answer,
        &CompareOptions {
            tolerances: *tol,
            ..CompareOptions::default()
        },
    )
}

/// Compares `answer` with the oracle's evaluation `oracle` under the rules of [`Tolerances`].
///
/// Never fails: shape and layer-count disagreements become [`Report::problems`].
pub fn compare_with(
    config: &Config,
    oracle: &Evaluation,
    answer: &Answer,
    opts: &CompareOptions,
) -> Report {
    let tol = opts.tolerances;
    let limit = opts.listed;
    let nl = oracle.layers.len();
    let mut report = Report {
        tolerances: tol,
        fields: Vec::new(),
        class_changes: ClassChanges::default(),
        missing: Vec::new(),
        not_given: Vec::new(),
        problems: Vec::new(),
    };
    let scalar_rule = format!(
        "|got - want| <= {} + {} |want|",
        short(tol.atol),
        short(tol.rtol)
    );

    // Scalars.
    for (name, got, want) in [
        ("loss", answer.loss, oracle.loss),
        ("lbox", answer.lbox, oracle.lbox),
        ("lobj", answer.lobj, oracle.lobj),
        ("lcls", answer.lcls, oracle.lcls),
    ] {
        match got {
            None => report.missing.push(name.into()),
            Some(g) => {
                let mut r = FieldReport::new(name, scalar_rule.clone(), limit);
                r.record(
                    || Location::Scalar,
                    g,
                    want,
                    tol.atol + tol.rtol * want.abs(),
                    want.abs(),
                    None,
                );
                report.fields.push(r);
            }
        }
    }

    // tobj.
    match &answer.tobj {
        None => report.missing.push("tobj".into()),
        Some(layers) => {
            let rule = format!("|got - want| <= {}, class exact", short(tol.tobj_atol));
            let mut r = FieldReport::new("tobj", rule, limit);
            if layers.len() != nl {
                report.problems.push(format!(
                    "tobj: {} layers, the oracle has {nl}",
                    layers.len()
                ));
            }
            for (l, (got, layer)) in layers.iter().zip(&oracle.layers).enumerate() {
                let want = &layer.tobj;
                if got.shape != want.shape() || got.data.len() != want.len() {
                    report.problems.push(format!(
                        "tobj[{l}]: shape {:?} with {} values, the oracle's is {:?}",
                        got.shape,
                        got.data.len(),
                        want.shape()
                    ));
                    continue;
                }
                let (_, na, ny, nx) = want.dim();
                for (k, (&g, &w)) in got.data.iter().zip(want.iter()).enumerate() {
                    let (cw, cg) = (
                        CellClass::of(w, config.assigner),
                        CellClass::of(g, config.assigner),
                    );
                    report.class_changes.0[cw.index()][cg.index()] += u64::from(cw != cg);
                    let at = || Location::Cell {
                        layer: l,
                        image: k / (na * ny * nx),
                        anchor: k / (ny * nx) % na,
                        y: k / nx % ny,
                        x: k % nx,
                    };
                    r.record(at, g, w, tol.tobj_atol, w.abs(), Some((cw, cg)));
                }
            }
            report.fields.push(r);
        }
    }

    // counts.
    match &answer.counts {
        None => report.missing.push("counts".into()),
        Some(counts) => {
            let mut r = FieldReport::new("counts", "exact".into(), limit);
            if counts.len() != nl {
                report.problems.push(format!(
                    "counts: {} layers, the oracle has {nl}",
                    counts.len()
                ));
            }
            for (l, (g, layer)) in counts.iter().zip(&oracle.layers).enumerate() {
                let w: &Counts = &layer.counts;
                for (class, gv, wv) in [
                    (CellClass::Positive, g.positive, w.positive),
                    (CellClass::Negative, g.negative, w.negative),
                    (CellClass::Soft, g.soft, w.soft),
                ] {
                    r.record(
                        || Location::Count { layer: l, class },
                        gv as f64,
                        wv as f64,
                        0.0,
                        wv as f64,
                        None,
                    );
                }
            }
            report.fields.push(r);
        }
    }

    // grad.
    match &answer.grad {
        None => report.missing.push("grad".into()),
        Some(layers) => {
            let dense = oracle.grad.to_dense();
            let g_max = dense
                .iter()
                .flat_map(|g| g.iter().map(|v| v.abs()))
                .fold(0.0, f64::max);
            let allowed = tol.grad_rtol * g_max;
            let rule = format!(
                "|got - want| <= {} * {} (largest component)",
                short(tol.grad_rtol),
                sci(g_max)
            );
            let mut r = FieldReport::new("grad", rule, limit);
            if layers.len() != nl {
                report.problems.push(format!(
                    "grad: {} layers, the oracle has {nl}",
                    layers.len()
                ));
            }
            for (l, (got, want)) in layers.iter().zip(&dense).enumerate() {
                if got.shape != want.shape() || got.data.len() != want.len() {
                    report.problems.push(format!(
                        "grad[{l}]: shape {:?} with {} values, the oracle's is {:?}",
                        got.shape,
                        got.data.len(),
                        want.shape()
                    ));
                    continue;
                }
                let (_, na, ny, nx, no) = want.dim();
                for (k, (&g, &w)) in got.data.iter().zip(want.iter()).enumerate() {
                    let at = || Location::Channel {
                        layer: l,
                        image: k / (na * ny * nx * no),
                        anchor: k / (ny * nx * no) % na,
                        y: k / (nx * no) % ny,
                        x: k / no % nx,
                        channel: k % no,
                    };
                    r.record(at, g, w, allowed, g_max, None);
                }
            }
            report.fields.push(r);
        }
    }

    // Optional per layer scalars.
    for (name, got, want) in [
        (
            "hard_loss",
            &answer.hard_loss,
            oracle
                .layers
                .iter()
                .map(|l| l.hard_loss)
                .collect::<Vec<_>>(),
        ),
        (
            "soft_loss",
            &answer.soft_loss,
            oracle.layers.iter().map(|l| l.soft_loss).collect(),
        ),
        ("balance", &answer.balance, oracle.balance.clone()),
    ] {
        match got {
            None => report.not_given.push(name.into()),
            Some(g) => {
                if g.len() != want.len() {
                    report.problems.push(format!(
                        "{name}: {} entries, the oracle has {}",
                        g.len(),
                        want.len()
                    ));
                }
                let mut r = FieldReport::new(name, scalar_rule.clone(), limit);
                for (l, (&gv, &wv)) in g.iter().zip(&want).enumerate() {
                    r.record(
                        || Location::Layer { layer: l },
                        gv,
                        wv,
                        tol.atol + tol.rtol * wv.abs(),
                        wv.abs(),
                        None,
                    );
                }
                report.fields.push(r);
            }
        }
    }

    // Matched rows.
    match &answer.matched {
        None => report.not_given.push("matched".into()),
        Some(layers) => {
            let rule = format!(
                "integers exact; tbox, anchor: |got - want| <= {} + {} |want|",
                short(tol.tobj_atol),
                short(tol.rtol)
            );
            let mut r = FieldReport::new("matched", rule, limit);
            if layers.len() != nl {
                report.problems.push(format!(
                    "matched: {} layers, the oracle has {nl}",
                    layers.len()
                ));
            }
            for (l, (rows, layer)) in layers.iter().zip(&oracle.layers).enumerate() {
                if rows.len() != layer.rows.len() {
                    report.problems.push(format!(
                        "matched[{l}]: {} rows, the oracle has {}",
                        rows.len(),
                        layer.rows.len()
                    ));
                }
                for (k, (g, w)) in rows.iter().zip(&layer.rows).enumerate() {
                    let item = |name: String| {
                        move || Location::Row {
                            layer: l,
                            row: k,
                            item: name,
                        }
                    };
                    for (name, gv, wv) in [
                        ("b", g.b, w.b),
                        ("a", g.a, w.a),
                        ("gj", g.gj, w.gj),
                        ("gi", g.gi, w.gi),
                        ("class", g.class, w.class),
                    ] {
                        r.record(
                            item(name.into()),
                            gv as f64,
                            wv as f64,
                            0.0,
                            wv as f64,
                            None,
                        );
                    }
                    let anchor = [config.anchors[[l, w.a, 0]], config.anchors[[l, w.a, 1]]];
                    let pairs = g
                        .tbox
                        .iter()
                        .zip(w.tbox())
                        .enumerate()
                        .map(|(c, (&gv, wv))| (format!("tbox[{c}]"), gv, wv))
                        .chain(
                            g.anchor
                                .iter()
                                .zip(anchor)
                                .enumerate()
                                .map(|(c, (&gv, wv))| (format!("anchor[{c}]"), gv, wv)),
                        );
                    for (name, gv, wv) in pairs {
                        r.record(
                            item(name),
                            gv,
                            wv,
                            tol.tobj_atol + tol.rtol * wv.abs(),
                            wv.abs(),
                            None,
                        );
                    }
                }
            }
            report.fields.push(r);
        }
    }
    report
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

/// Like [`load_answer`], from a parsed JSON value; `{"npy": FILE}` references are resolved
/// relative to `base_dir` (the current directory when `None`).
///
/// # Errors
/// As [`load_answer`].
pub fn answer_from_value(v: &Value, base_dir: Option<&Path>, limits: &Limits) -> Result<Answer> {
    let top = v.as_object().ok_or_else(|| Error::Type {
        field: "(answer)".into(),
        expected: "an answer object (spec section 10) or a case with `expected`".into(),
        got: kind(v),
    })?;
    let (obj, prefix) = if top.contains_key("format") {
        match top.get("expected") {
            Some(Value::Object(e)) => (e, "expected"),
            Some(other) => {
                return Err(Error::Type {
                    field: "expected".into(),
                    expected: "an answer object".into(),
                    got: kind(other),
                });
            }
            None => {
                return Err(Error::Missing {
                    field: "expected".into(),
                });
            }
        }
    } else {
        (top, "answer")
    };
    let mut rest = serde_json::Map::new();
    let mut tobj = None;
    let mut grad = None;
    for (k, val) in obj {
        match k.as_str() {
            "tobj" | "grad" => {
                let field = format!("{prefix}.{k}");
                let items = val.as_array().ok_or_else(|| Error::Type {
                    field: field.clone(),
                    expected: "an array of layers".into(),
                    got: kind(val),
                })?;
                let arrays = items
                    .iter()
                    .enumerate()
                    .map(|(i, a)| read_array(a, &format!("{field}[{i}]"), base_dir, limits))
                    .collect::<Result<Vec<_>>>()?;
                if k == "tobj" {
                    tobj = Some(arrays);
                } else {
                    grad = Some(arrays);
                }
            }
            _ => {
                rest.insert(k.clone(), val.clone());
            }
        }
    }
    let mut answer: Answer =
        serde_json::from_value(Value::Object(rest)).map_err(|e| Error::Type {
            field: prefix.into(),
            expected: "an answer object (spec section 10)".into(),
            got: e.to_string(),
        })?;
    answer.tobj = tobj;
    answer.grad = grad;
    Ok(answer)
}

fn kind(v: &Value) -> String {
    crate::json::kind(v)
}

fn read_array(
    v: &Value,
    field: &str,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<JsonArray> {
    // The case reader's rule: inline arrays, or `.npy` references confined to the folder.
    let a: ArrayD<f64> = crate::case::read_array(v, field, limits, base_dir)?.into_f64();
    Ok(JsonArray {
        shape: a.shape().to_vec(),
        data: a.into_raw_vec_and_offset().0,
    })
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
    fn own_answer_conforms_with_zero_error() {
        let (config, e) = small();
        let r = compare(
            &config,
            &e,
            &Answer::from_evaluation(&e, &config),
            &Tolerances::F64,
        );
        assert!(r.conforms(), "{r}");
        assert!(r.fields.iter().all(|f| f.max_abs_err == 0.0));
        assert!(r.missing.is_empty() && r.not_given.is_empty());
        assert_eq!(r.fields.len(), REQUIRED.len() + OPTIONAL.len());
    }

    #[test]
    fn tobj_class_flip_is_reported_with_its_cell() {
        let (config, e) = small();
        let mut a = Answer::from_evaluation(&e, &config);
        let t = &mut a.tobj.as_mut().unwrap()[1];
        let k = t.data.iter().position(|&v| v == 1.0).unwrap();
        t.data[k] = 1.0 - 1e-9;
        // Even a loose absolute tolerance does not excuse a class change.
        let loose = Tolerances {
            tobj_atol: 1e-3,
            ..Tolerances::F32
        };
        let r = compare(&config, &e, &a, &loose);
        assert!(!r.conforms());
        assert_eq!(r.class_changes.total(), 1);
        assert_eq!(r.class_changes.get(CellClass::Positive, CellClass::Soft), 1);
        let tobj = r.fields.iter().find(|f| f.field == "tobj").unwrap();
        assert_eq!(tobj.failed, 1);
        let m = &tobj.first_failures[0];
        let (_, na, ny, nx) = e.layers[1].tobj.dim();
        assert_eq!(
            m.at,
            Location::Cell {
                layer: 1,
                image: k / (na * ny * nx),
                anchor: k / (ny * nx) % na,
                y: k / nx % ny,
                x: k % nx
            }
        );
        assert!(r.to_string().contains("positive -> soft 1"), "{r}");
    }

    #[test]
    fn gradient_tolerance_is_relative_to_the_largest_component() {
        let (config, e) = small();
        let g_max = e.grad.max_abs();
        let mut a = Answer::from_evaluation(&e, &config);
        let g = &mut a.grad.as_mut().unwrap()[2].data;
        let k = g.iter().position(|&v| v != 0.0).unwrap();
        g[k] += 0.9e-10 * g_max;
        assert!(compare(&config, &e, &a, &Tolerances::F64).conforms());
        let g = &mut a.grad.as_mut().unwrap()[2].data;
        g[k] += 0.2e-10 * g_max;
        let r = compare(&config, &e, &a, &Tolerances::F64);
        assert_eq!(r.failed_fields(), vec!["grad"]);
        assert!(compare(&config, &e, &a, &Tolerances::F32).conforms());
    }

    #[test]
    fn missing_and_structural_problems_fail() {
        let (config, e) = small();
        let full = Answer::from_evaluation(&e, &config);
        let mut a = full.clone();
        a.grad = None;
        a.matched = None;
        let r = compare(&config, &e, &a, &Tolerances::F64);
        assert_eq!(r.missing, vec!["grad"]);
        assert_eq!(r.not_given, vec!["matched"]);
        assert!(!r.conforms());

        let mut a = full.clone();
        a.tobj.as_mut().unwrap().pop();
        let r = compare(&config, &e, &a, &Tolerances::F64);
        assert!(!r.conforms());
        assert!(r.problems[0].contains("tobj: 2 layers"), "{:?}", r.problems);

        let mut a = full;
        a.counts.as_mut().unwrap()[0].soft += 1;
        let r = compare(&config, &e, &a, &Tolerances::F32);
        assert_eq!(r.failed_fields(), vec!["counts"]);
    }

    #[test]
    fn scalar_rule_and_nan() {
        let mut r = FieldReport::new("x", String::new(), 4);
        r.record(|| Location::Scalar, 1.0 + 1e-13, 1.0, 1e-12, 1.0, None);
        assert!(r.passed());
        r.record(|| Location::Scalar, f64::NAN, 1.0, 1e-12, 1.0, None);
        assert!(!r.passed());
        assert_eq!(r.max_abs_err, f64::INFINITY);
        let mut z = FieldReport::new("z", String::new(), 4);
        z.record(|| Location::Scalar, 1e-300, 0.0, 0.0, 0.0, None);
        assert_eq!(z.max_rel_err, f64::INFINITY);
        assert_eq!(z.failed, 1);
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
}
