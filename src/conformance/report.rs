//! What a comparison reports: per field the worst error and the first failures ([`FieldReport`],
//! [`Mismatch`] at a [`Location`]), the `tobj` class changes ([`ClassChanges`]), and the whole
//! [`Report`] with the text `softobj check` prints.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tolerance::Tolerances;
pub(crate) use super::tolerance::short;
use crate::result::CellClass;

/// Where a compared value sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
                    0..=4 => CHANNEL_KINDS[*channel].to_string(),
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

/// The kinds of gradient channel a failure breakdown groups by: `tx, ty, tw, th` (box),
/// `obj`, and `cls` (every class channel together).
pub(crate) const CHANNEL_KINDS: [&str; 6] = ["tx", "ty", "tw", "th", "obj", "cls"];

/// The kind of channel `c` ([`CHANNEL_KINDS`] index): `0..4` itself, every class `5`.
pub(crate) fn channel_kind(c: usize) -> usize {
    c.min(5)
}

/// Which row of the oracle wrote a `tobj` cell, and from how far.
///
/// Soft assigner: the centre pass of the last row centred on the cell (spec 4.8), or else the
/// row whose score stands under the overlap rule (spec 4.7: the last write in the order of
/// rules 4.3 and 4.4 for `last_write`, the first largest score for `max`). YOLOv5 assigner:
/// the last row at the cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Writer {
    /// The row, in the emission order of the oracle's (and an answer's) `matched`.
    pub row: usize,
    /// Whether the centre pass wrote the cell (its target is then 1).
    pub centre: bool,
    /// The distance `d` of spec 4.5 from the row's box to the cell (unclamped indices; for
    /// the centre pass, the centre cell's); `None` for the YOLOv5 assigner.
    pub d: Option<f64>,
}

impl fmt::Display for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.centre { "centre of row" } else { "row" };
        write!(f, "written by {how} {}", self.row)?;
        if let Some(d) = self.d {
            write!(f, ", d {}", num(d))?;
        }
        Ok(())
    }
}

/// One compared value that fails its tolerance (or, for `tobj`, changes class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// The input logit there (for a `tobj` cell, its objectness logit), when the comparison
    /// was given the case's inputs (as [`super::check`] always is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit: Option<f64>,
    /// For a `tobj` cell: which oracle row wrote it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<Writer>,
}

impl fmt::Display for Mismatch {
    /// `LOCATION: got G, want W (|err| E, allowed A), logit L, written by row R, d D`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: got {}, want {}",
            self.at,
            num(self.got),
            num(self.want)
        )?;
        match self.classes {
            Some((w, g)) if w != g => write!(f, " ({w} -> {g})")?,
            _ => write!(
                f,
                " (|err| {}, allowed {})",
                sci((self.got - self.want).abs()),
                sci(self.allowed)
            )?,
        }
        if let Some(x) = self.logit {
            write!(f, ", logit {}", num(x))?;
        }
        if let Some(w) = &self.writer {
            write!(f, ", {w}")?;
        }
        Ok(())
    }
}

/// Failures of one group of values: a layer, or a layer and channel kind of the gradient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// The layer.
    pub layer: usize,
    /// For the gradient: the channel kind (`tx`, `ty`, `tw`, `th`, `obj`, `cls`); `None` for a
    /// `tobj` layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Values compared.
    pub compared: u64,
    /// Values that fail.
    pub failed: u64,
    /// Largest `|got - want|` (infinite for a NaN).
    pub max_abs_err: f64,
}

impl Group {
    /// An empty group of layer `layer` (and channel kind `channel`).
    pub(crate) fn new(layer: usize, channel: Option<&str>) -> Group {
        Group {
            layer,
            channel: channel.map(str::to_string),
            compared: 0,
            failed: 0,
            max_abs_err: 0.0,
        }
    }

    /// Adds one comparison, as [`FieldReport::record`] returns it.
    pub(crate) fn add(&mut self, (fails, err): (bool, f64)) {
        self.compared += 1;
        self.failed += u64::from(fails);
        self.max_abs_err = self.max_abs_err.max(err);
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer {}", self.layer)?;
        if let Some(c) = &self.channel {
            write!(f, " {c}")?;
        }
        write!(
            f,
            " {}/{} (max |err| {})",
            self.failed,
            self.compared,
            sci(self.max_abs_err)
        )
    }
}

/// A failure pattern that points at a common bug, recognised by [`super::check`] on a
/// non-conforming answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pattern", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Pattern {
    /// `tobj` of these (square) layers equals the oracle's with `x` and `y` swapped.
    TobjTransposed {
        /// The layers.
        layers: Vec<usize>,
    },
    /// A gradient channel kind equals the oracle's times a constant factor.
    ChannelFactor {
        /// The layers where it holds (every failing layer of that channel kind).
        layers: Vec<usize>,
        /// The channel kind (`tx`, `ty`, `tw`, `th`, `obj`, `cls`).
        channel: String,
        /// `got / want`.
        factor: f64,
    },
    /// The gradient of these layers equals the oracle's with the objectness channel and the
    /// class channels exchanged (`layout`: which arrangement fits).
    ObjClsExchanged {
        /// The layers.
        layers: Vec<usize>,
        /// `obj <-> cls 0` (channels 4 and 5 swapped) or `obj last` (the answer's channels
        /// are `tx, ty, tw, th, cls.., obj`).
        layout: String,
    },
    /// Counts and every cell class are right, but soft `tobj` values are not: the score or
    /// its parameter (`sigma`, `n`) or the distance (spec 4.5, 4.6) is wrong.
    SoftValuesWrong {
        /// Soft cells with a wrong value.
        cells: u64,
    },
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layers = |l: &[usize]| {
            let s: Vec<String> = l.iter().map(usize::to_string).collect();
            let word = if l.len() == 1 { "layer" } else { "layers" };
            format!("{word} {}", s.join(", "))
        };
        match self {
            Pattern::TobjTransposed { layers: l } => write!(
                f,
                "x and y swapped in tobj ({}: the answer equals the oracle's transposed)",
                layers(l)
            ),
            Pattern::ChannelFactor {
                layers: l,
                channel,
                factor,
            } => write!(
                f,
                "grad {channel} off by a constant factor {} ({}: got = {} * want)",
                num(*factor),
                layers(l),
                num(*factor)
            ),
            Pattern::ObjClsExchanged { layers: l, layout } => write!(
                f,
                "obj and class channels exchanged in grad ({}: {layout})",
                layers(l)
            ),
            Pattern::SoftValuesWrong { cells } => write!(
                f,
                "counts and cell classes right but {cells} soft tobj values wrong: a score, \
                 sigma/n or distance bug (spec 4.5, 4.6)"
            ),
        }
    }
}

/// The comparison of one field of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// For `grad`: `G`, the largest `|want|` of the whole gradient, which both the tolerance
    /// and [`FieldReport::max_rel_err`] are relative to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_to: Option<f64>,
    /// Failures by layer (`tobj`) or by layer and channel kind (`grad`), every group compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<Group>,
    /// How many failures [`FieldReport::first_failures`] keeps.
    #[serde(skip)]
    listed: usize,
}

impl FieldReport {
    /// An empty report of `field` under `rule`, keeping the first `listed` failures.
    pub(crate) fn new(field: &str, rule: String, listed: usize) -> FieldReport {
        FieldReport {
            field: field.into(),
            rule,
            compared: 0,
            failed: 0,
            max_abs_err: 0.0,
            max_rel_err: 0.0,
            worst: None,
            first_failures: Vec::new(),
            relative_to: None,
            breakdown: Vec::new(),
            listed,
        }
    }

    /// Every kept mismatch: the first failures and the worst.
    pub(crate) fn kept_mut(&mut self) -> impl Iterator<Item = &mut Mismatch> {
        self.first_failures.iter_mut().chain(self.worst.as_mut())
    }

    /// Whether every compared value passed.
    pub fn passed(&self) -> bool {
        self.failed == 0
    }

    /// Records one comparison and returns whether it fails and its `|got - want|` (infinite
    /// for a NaN). `scale` is the denominator of the relative error (`|want|`, or `G` for the
    /// gradient); `at` is called only for a value that is kept (a failure or the new worst).
    pub(crate) fn record(
        &mut self,
        at: impl FnOnce() -> Location,
        got: f64,
        want: f64,
        allowed: f64,
        scale: f64,
        classes: Option<(CellClass, CellClass)>,
    ) -> (bool, f64) {
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
            return (false, err);
        }
        let m = Mismatch {
            at: at(),
            got,
            want,
            allowed,
            classes,
            logit: None,
            writer: None,
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
        (fails, err)
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

    /// Counts one cell of class `want` (oracle) and `got` (answer), if they differ.
    pub(crate) fn count(&mut self, want: CellClass, got: CellClass) {
        self.0[want.index()][got.index()] += u64::from(want != got);
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
#[non_exhaustive]
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
    /// Failure patterns recognised (empty when the answer conforms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<Pattern>,
    /// The fields checked, when the comparison was limited to some
    /// ([`CheckOptions::only`](super::CheckOptions::only));
    /// the others are neither compared nor missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
}

impl Report {
    /// A report with nothing compared yet.
    pub(crate) fn new(tolerances: Tolerances) -> Report {
        Report {
            tolerances,
            fields: Vec::new(),
            class_changes: ClassChanges::default(),
            missing: Vec::new(),
            not_given: Vec::new(),
            problems: Vec::new(),
            patterns: Vec::new(),
            only: None,
        }
    }

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

/// An error for the report's table: `0`, or 4 significant digits in exponent form.
pub(crate) fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.3e}")
    }
}

impl fmt::Display for Report {
    /// The human-readable report `softobj check` prints: the field table, then the details of
    /// the failures, then the verdict.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_table(f)?;
        self.write_breakdown(f)?;
        self.write_mismatches(f)?;
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        if !self.missing.is_empty() {
            writeln!(f, "missing (required): {}", self.missing.join(", "))?;
        }
        if !self.not_given.is_empty() {
            writeln!(f, "not given (optional): {}", self.not_given.join(", "))?;
        }
        for p in &self.patterns {
            writeln!(f, "looks like: {p}")?;
        }
        write!(f, "result: {}", self.verdict())
    }
}

impl Report {
    /// One line per compared field, the fields checked, the gradient's scale and the `tobj`
    /// class changes.
    fn write_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        if let Some(only) = &self.only {
            writeln!(f, "checked only: {}", only.join(", "))?;
        }
        if let Some(g) = self.fields.iter().find_map(|r| r.relative_to) {
            writeln!(
                f,
                "grad errors are relative to G = {}, the largest |want| of the whole gradient",
                sci(g)
            )?;
        }
        if self.fields.iter().any(|r| r.field == "tobj") {
            writeln!(
                f,
                "tobj class changes (oracle -> answer): {}",
                self.class_changes
            )?;
        }
        Ok(())
    }

    /// The failing groups of each field, and each failing field's worst mismatch.
    fn write_breakdown(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.fields {
            let failing: Vec<String> = r
                .breakdown
                .iter()
                .filter(|g| g.failed > 0)
                .map(Group::to_string)
                .collect();
            if !failing.is_empty() {
                let by = if r.field == "grad" {
                    "layer and channel"
                } else {
                    "layer"
                };
                writeln!(f, "{} failures by {by}: {}", r.field, failing.join(", "))?;
            }
        }
        for r in self.fields.iter().filter(|r| !r.passed()) {
            if let Some(m) = &r.worst {
                writeln!(f, "worst {} {m}", r.field)?;
            }
        }
        Ok(())
    }

    /// The first mismatches of every field, and how many more there are.
    fn write_mismatches(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listed: Vec<&FieldReport> = self
            .fields
            .iter()
            .filter(|r| !r.first_failures.is_empty())
            .collect();
        if listed.is_empty() {
            return Ok(());
        }
        writeln!(f, "first mismatches:")?;
        for r in listed {
            for m in &r.first_failures {
                writeln!(f, "  {} {m}", r.field)?;
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn first_failures_are_capped_but_all_counted() {
        let mut r = FieldReport::new("x", String::new(), 2);
        for k in 0..5 {
            r.record(
                || Location::Layer { layer: k },
                1.0 + k as f64,
                0.0,
                0.5,
                0.0,
                None,
            );
        }
        assert_eq!(r.failed, 5);
        assert_eq!(r.first_failures.len(), 2);
        assert_eq!(r.first_failures[1].at, Location::Layer { layer: 1 });
        assert_eq!(r.worst.as_ref().unwrap().at, Location::Layer { layer: 4 });
        assert_eq!(r.max_abs_err, 5.0);
    }

    #[test]
    fn class_changes_count_only_changes() {
        let mut c = ClassChanges::default();
        c.count(CellClass::Positive, CellClass::Positive);
        c.count(CellClass::Positive, CellClass::Soft);
        c.count(CellClass::Negative, CellClass::Soft);
        c.count(CellClass::Negative, CellClass::Soft);
        assert_eq!(c.total(), 3);
        assert_eq!(c.get(CellClass::Positive, CellClass::Positive), 0);
        assert_eq!(c.to_string(), "positive -> soft 1, negative -> soft 2");
        assert_eq!(ClassChanges::default().to_string(), "none");
    }

    #[test]
    fn numbers_print_readably_and_exactly() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(1e-12), "1e-12");
        assert_eq!(short(2e-5), "2e-5");
        assert_eq!(short(0.5), "0.5");
        assert_eq!(sci(0.0), "0");
        assert_eq!(sci(7.0234e-2), "7.023e-2");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(1e-9), "1e-9");
    }
}
