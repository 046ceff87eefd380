//! The ways a case fails ([`Atom`]s), and where in the answer a group of cases fails: fields,
//! layers, gradient channel kinds and named patterns, counted over its cases.

use std::collections::BTreeMap;

use serde::Serialize;

use super::judge::{Judged, Outcome};
use super::port::PortFailure;
use crate::answer::Answer;
use crate::conformance::{Location, Pattern, Report};

/// One way a case fails; a case may fail several ways (a field missing, another wrong).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Atom {
    /// The port raised an error of this kind.
    Raised(String),
    /// The port took longer than the timeout.
    TimedOut,
    /// The port's answer could not be read.
    Malformed,
    /// A required field is missing.
    Missing(String),
    /// A field has a wrong layer count, shape or row count.
    Structure(String),
    /// A field holds a NaN or an infinity.
    NonFinite(String),
    /// A field's values fail their tolerance.
    Wrong(String),
    /// Some `tobj` cell changes class.
    ClassChanges,
}

impl Atom {
    /// Whether the port answered (the failure is in its answer).
    pub(crate) fn answered(&self) -> bool {
        !matches!(self, Atom::Raised(_) | Atom::TimedOut | Atom::Malformed)
    }

    /// Its place in a description: the kind, then the field in the answer's order.
    fn order(&self) -> (usize, usize) {
        let field = |f: &str| Answer::KEYS.iter().position(|k| *k == f).unwrap_or(99);
        match self {
            Atom::Raised(_) => (0, 0),
            Atom::TimedOut => (1, 0),
            Atom::Malformed => (2, 0),
            Atom::Missing(f) => (3, field(f)),
            Atom::Structure(f) => (4, field(f)),
            Atom::NonFinite(f) => (5, field(f)),
            Atom::Wrong(f) => (6, field(f)),
            Atom::ClassChanges => (7, 0),
        }
    }
}

/// The ways `outcome` fails (under the `f32` preset when `f32` and it has that report); none
/// when it conforms.
pub(crate) fn atoms(outcome: &Outcome, f32: bool) -> Vec<Atom> {
    let (report, non_finite) = match outcome {
        Outcome::Failed(PortFailure::Raised { kind, .. }) => {
            return vec![Atom::Raised(kind.clone())];
        }
        Outcome::Failed(PortFailure::TimedOut { .. }) => return vec![Atom::TimedOut],
        Outcome::Failed(_) => return vec![Atom::Malformed],
        Outcome::Answered { non_finite, .. } => match outcome.report(f32) {
            Some(r) => (r, non_finite),
            None => return Vec::new(),
        },
    };
    if report.conforms() {
        return Vec::new();
    }
    let mut out: Vec<Atom> = report.missing.iter().cloned().map(Atom::Missing).collect();
    for p in &report.problems {
        let field = p.split([':', '[']).next().unwrap_or(p).to_string();
        out.push(Atom::Structure(field));
    }
    out.extend(non_finite.iter().cloned().map(Atom::NonFinite));
    for f in report.failed_fields() {
        if !non_finite.iter().any(|n| n == f) {
            out.push(Atom::Wrong(f.to_string()));
        }
    }
    if report.class_changes.total() > 0 {
        out.push(Atom::ClassChanges);
    }
    out.sort_by_key(Atom::order);
    out.dedup();
    out
}

/// Ways of failing in words: `the port raised IndexError`, `missing tobj; non-finite lbox;
/// fails loss, lobj, grad`.
pub(crate) fn describe(atoms: &[Atom]) -> String {
    let mut sorted = atoms.to_vec();
    sorted.sort_by_key(Atom::order);
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut kind = None;
    fn flush(kind: Option<&str>, fields: &mut Vec<String>, parts: &mut Vec<String>) {
        if let Some(k) = kind.filter(|_| !fields.is_empty()) {
            parts.push(format!("{k} {}", fields.join(", ")));
        }
        fields.clear();
    }
    for a in &sorted {
        let (k, field) = match a {
            Atom::Raised(kind) => (None, format!("the port raised {kind}")),
            Atom::TimedOut => (None, "the port timed out".into()),
            Atom::Malformed => (None, "the port's answer is malformed".into()),
            Atom::Missing(f) => (Some("missing"), f.clone()),
            Atom::Structure(f) => (Some("wrong layers or shape of"), f.clone()),
            Atom::NonFinite(f) => (Some("non-finite"), f.clone()),
            Atom::Wrong(f) => (Some("fails"), f.clone()),
            Atom::ClassChanges => (None, "tobj cells change class".into()),
        };
        if k != kind {
            flush(kind, &mut fields, &mut parts);
            kind = k;
        }
        match k {
            Some(_) => fields.push(field),
            None => parts.push(field),
        }
    }
    flush(kind, &mut fields, &mut parts);
    parts.join("; ")
}

/// The gradient's channel kinds with a failure, in channel order.
fn grad_kinds(report: &Report) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    let grad = report.fields.iter().filter(|f| f.field == "grad");
    for g in grad.flat_map(|f| &f.breakdown).filter(|g| g.failed > 0) {
        if let Some(c) = &g.channel
            && !kinds.contains(c)
        {
            kinds.push(c.clone());
        }
    }
    let order = ["tx", "ty", "tw", "th", "obj", "cls"];
    kinds.sort_by_key(|k| order.iter().position(|o| o == k));
    kinds
}

/// A thing counted over cases: a field, a layer, a channel kind, a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Count {
    /// What (`lobj`, `0` for layer 0, `obj`, `x and y swapped in tobj`).
    pub what: String,
    /// In how many cases.
    pub cases: usize,
}

/// Where the cases `cases` fail, counted over them: fields, layers, gradient channel kinds,
/// patterns, and how many have `tobj` cells changing class.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Where {
    pub fields: Vec<Count>,
    pub layers: Vec<Count>,
    pub channels: Vec<Count>,
    pub patterns: Vec<Count>,
    pub class_changes: usize,
}

impl Where {
    /// Where `cases` of `judged` fail, by their reports (the `f32` ones when `f32`).
    pub(crate) fn of(judged: &[Judged], cases: &[usize], f32: bool) -> Where {
        let mut tally: [BTreeMap<String, usize>; 4] = Default::default();
        let mut class_changes = 0;
        for &i in cases {
            let Some(r) = judged[i].outcome.report(f32) else {
                continue;
            };
            class_changes += usize::from(r.class_changes.total() > 0);
            let layers: Vec<String> = failing_layers(r).iter().map(|l| l.to_string()).collect();
            let fields: Vec<String> = r.failed_fields().iter().map(|s| s.to_string()).collect();
            let patterns: Vec<String> = r.patterns.iter().map(pattern_name).collect();
            for (t, items) in tally
                .iter_mut()
                .zip([fields, layers, grad_kinds(r), patterns])
            {
                let mut items = items;
                items.dedup();
                for item in items {
                    *t.entry(item).or_default() += 1;
                }
            }
        }
        let [fields, layers, channels, patterns] = tally.map(counted);
        Where {
            fields,
            layers,
            channels,
            patterns,
            class_changes,
        }
    }
}

/// A tally as counts, the most frequent first (ties in name order).
fn counted(t: BTreeMap<String, usize>) -> Vec<Count> {
    let mut v: Vec<Count> = t
        .into_iter()
        .map(|(what, cases)| Count { what, cases })
        .collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.cases));
    v
}

/// The layers with a failing value in `r`, in order.
fn failing_layers(r: &Report) -> Vec<usize> {
    let mut layers: Vec<usize> = Vec::new();
    for f in r.fields.iter().filter(|f| !f.passed()) {
        layers.extend(f.breakdown.iter().filter(|g| g.failed > 0).map(|g| g.layer));
        layers.extend(f.first_failures.iter().filter_map(|m| match m.at {
            Location::Layer { layer } | Location::Count { layer, .. } => Some(layer),
            _ => None,
        }));
    }
    layers.sort_unstable();
    layers.dedup();
    layers
}

/// A pattern's name without its numbers, so that cases count together.
fn pattern_name(p: &Pattern) -> String {
    match p {
        Pattern::TobjTransposed { .. } => "x and y swapped in tobj".into(),
        Pattern::ChannelFactor { channel, .. } => {
            format!("grad {channel} off by a constant factor")
        }
        Pattern::ObjClsExchanged { .. } => "obj and class channels exchanged in grad".into(),
        Pattern::SoftValuesWrong { .. } => {
            "counts and cell classes right but soft tobj values wrong".into()
        }
    }
}
