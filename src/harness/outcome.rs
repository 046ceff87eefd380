//! What a run of the harness finds ([`Conformance`] and its parts), how the judged cases
//! become groups, suspects and a precision finding ([`analyse`]), and the diagnosis a person
//! reads first (its `Display`).

use std::fmt;

use serde::{Serialize, Serializer};

use std::collections::BTreeMap;

use super::attribution::{MIN_CASES, MIN_GROUP, Scored, WELL, suspects};
use super::features::{Feature, features};
use super::groups::{Atom, Count, Where, atoms, describe};
use super::judge::{Judged, Outcome};
use super::options::HarnessOptions;
use super::port::PortFailure;
use super::precision::{self, Precision};
use crate::case::Case;
use crate::conformance::{Report, Tolerances};

/// Suspects kept per group.
const KEPT: usize = 5;
/// Suspects the diagnosis shows per group.
const SHOWN: usize = 3;

/// One case of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CaseResult {
    /// Its name: a file stem (`edge-03-leave-top`, `case-007`).
    pub name: String,
    /// The case's own name (what it exercises, its options).
    pub description: String,
    /// Whether the answer conforms under the run's tolerances.
    pub conforms: bool,
    /// One line: `conforms`, what fails, or why there is no answer.
    pub verdict: String,
    /// The fields that fail or are missing (under the run's tolerances).
    pub failing: Vec<String>,
    /// The report under the run's tolerances, when the port answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// Why the port gave no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<PortFailure>,
    /// Its failure groups (indices of [`Conformance::groups`]): more than one when it fails
    /// several ways that follow different options.
    pub groups: Vec<usize>,
    /// Every value of its answer is a float32 value.
    pub float32_values: bool,
    /// Seconds the port took.
    pub seconds: f64,
}

/// Cases that fail a way, or several ways that follow the same option (a bug that fails
/// `loss`, `lobj` and `grad` together, and `balance` too where autobalance is on).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FailureGroup {
    /// How they fail, in words: `the port raised IndexError`, `missing tobj; fails loss, lobj,
    /// grad`.
    pub how: String,
    /// The ways every case of the group fails (the ones shrinking keeps), in words.
    pub core: String,
    /// The cases (indices of [`Conformance::cases`]).
    pub cases: Vec<usize>,
    /// One of them: its name and verdict.
    pub example: String,
    /// The failing fields, counted over the cases.
    pub fields: Vec<Count>,
    /// The layers with a failing value, counted over the cases.
    pub layers: Vec<Count>,
    /// The gradient's failing channel kinds, counted over the cases.
    pub channels: Vec<Count>,
    /// The named failure patterns, counted over the cases.
    pub patterns: Vec<Count>,
    /// Cases with `tobj` cells changing class.
    pub class_changes: usize,
    /// Judged under the `f32` preset (after a precision finding).
    pub f32: bool,
}

/// A feature of the cases that separates a group's failures from the conforming cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Suspect {
    /// The group it explains (an index of [`Conformance::groups`]).
    pub group: usize,
    /// The feature: `hyp.fl_gamma > 0`, `score.kind = power and distance != cell_index`.
    pub feature: String,
    /// The config keys it names, as the case format spells them (`nl`, `na` for the anchors'
    /// shape); empty for a fact of the boxes (`an image without boxes`).
    pub keys: Vec<String>,
    /// The group's cases with the feature, and all cases with it (among the conforming cases
    /// and the group's).
    pub with: [usize; 2],
    /// The group's cases without the feature, and all cases without it.
    pub without: [usize; 2],
    /// How well it separates, 0 to 1 (1: it holds on exactly the group's cases).
    pub score: f64,
    /// The finding in one sentence: `fails on 14/14 cases with hyp.fl_gamma > 0 and on 0/36
    /// without`.
    pub sentence: String,
}

/// The smallest case found that fails as a group fails.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MinimalCase {
    /// The group (an index of [`Conformance::groups`]).
    pub group: usize,
    /// The case it was shrunk from.
    pub from: String,
    /// Its size and how it fails: `1 image, 1 box, 1 layer of 4x4 cells, 1 anchor, nc 2,
    /// hyp.fl_gamma = 1.5; lobj fails`.
    pub size: String,
    /// The case (write it with [`write_case`](crate::casegen::write_case)).
    #[serde(serialize_with = "case_json")]
    pub case: Case,
    /// Port calls spent shrinking it.
    pub port_calls: usize,
}

fn case_json<S: Serializer>(case: &Case, s: S) -> Result<S::Ok, S::Error> {
    case.to_json(false)
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}

/// What a run of the harness finds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Conformance {
    /// Every case conforms under the run's tolerances.
    pub ok: bool,
    /// The run's tolerances.
    pub tolerances: Tolerances,
    /// The fields judged, when limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// The random space (`KEY=VALUE,...`; empty: every case).
    pub space: String,
    /// Edge cases outside the space, left out.
    pub left_out: usize,
    /// Every case, in the order run.
    pub cases: Vec<CaseResult>,
    /// The failing cases grouped, the largest group first.
    pub groups: Vec<FailureGroup>,
    /// The suspects, best first: every group's best, then every group's second, ...
    pub suspects: Vec<Suspect>,
    /// Per group shrunk, its smallest failing case.
    pub minimal: Vec<MinimalCase>,
    /// The float32 finding, when the answers look computed in float32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// Calls of the port, shrinking included.
    pub port_calls: usize,
    /// Seconds spent in the port.
    pub port_seconds: f64,
    /// Seconds of the whole run.
    pub seconds: f64,
}

/// The conformance of `judged` under `opts` (without minimal cases): the precision finding,
/// the failure groups with their suspects and where they fail, each case's result; and the
/// groups' drafts, which shrinking reads.
pub(crate) fn analyse(
    judged: &[Judged],
    opts: &HarnessOptions,
    left_out: usize,
) -> (Conformance, Vec<Draft>) {
    let precision = precision_finding(judged, precision::rejudging(&opts.tolerances));
    let f32 = precision.is_some();
    let ways: Vec<Vec<Atom>> = judged.iter().map(|j| atoms(&j.outcome, f32)).collect();
    let facts: Vec<(&Case, _)> = judged.iter().map(|j| (&j.case, j.facts)).collect();
    let features = features(&facts);
    let drafts = grouped(&features, &ways);
    let mut cases: Vec<CaseResult> = judged.iter().map(case_result).collect();
    let mut suspects_of: Vec<Vec<Suspect>> = Vec::new();
    let mut groups = Vec::new();
    for (g, d) in drafts.iter().enumerate() {
        d.cases.iter().for_each(|&i| cases[i].groups.push(g));
        groups.push(group(judged, d, f32));
        suspects_of.push(d.scored.iter().map(|s| suspect(g, s)).collect());
    }
    let c = Conformance {
        ok: cases.iter().all(|c| c.conforms),
        tolerances: opts.tolerances,
        only: opts.only.clone(),
        space: opts.space.to_string(),
        left_out,
        cases,
        groups,
        suspects: interleaved(suspects_of),
        minimal: Vec::new(),
        precision,
        port_calls: 0,
        port_seconds: 0.0,
        seconds: 0.0,
    };
    (c, drafts)
}

/// The precision finding of a run, when its answers look computed in float32: at least half
/// of the answers that fail hold only float32 values, or nine answers in ten fail and at
/// least half of those conform under the `f32` preset. `tolerances` are the re-judgement's
/// (`None`: the run's are as loose as the preset, and there is no finding).
fn precision_finding(judged: &[Judged], tolerances: Option<Tolerances>) -> Option<Precision> {
    let tolerances = tolerances?;
    let (mut answered, mut failing, mut exact, mut within, mut still) = (0, 0, 0, 0, 0);
    for j in judged {
        let Outcome::Answered {
            report,
            report_f32,
            exact_f32,
            ..
        } = &j.outcome
        else {
            continue;
        };
        answered += 1;
        if report.conforms() {
            continue;
        }
        failing += 1;
        exact += usize::from(*exact_f32);
        let conforms_f32 = report_f32.as_ref().is_some_and(|r| r.conforms());
        within += usize::from(conforms_f32);
        still += usize::from(!conforms_f32);
    }
    let exact_rule = exact > 0 && 2 * exact >= failing;
    let nearly_all = failing > 0 && 10 * failing >= 9 * answered && 2 * within >= failing;
    (exact_rule || nearly_all).then_some(Precision {
        answered,
        failing,
        exact_f32: exact,
        within_f32: within,
        still_failing: still,
        tolerances,
    })
}

/// A group in the making: its ways, the ways all its cases share, its cases, its suspects.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub ways: Vec<Atom>,
    pub core: Vec<Atom>,
    pub cases: Vec<usize>,
    scored: Vec<Scored>,
}

/// The groups of the cases failing `ways`: the ways with the same cases together, then ways
/// whose best suspect is the same feature (or, for a way on part of a group's cases, a pair
/// made with the group's best) merged into one group. The port's own failures (raised, timed
/// out, malformed) never merge with failures of its answers. The largest group first.
pub(crate) fn grouped(features: &[Feature], ways: &[Vec<Atom>]) -> Vec<Draft> {
    let n = ways.len();
    let mut by_atom: BTreeMap<&Atom, Vec<usize>> = BTreeMap::new();
    for (i, w) in ways.iter().enumerate() {
        w.iter().for_each(|a| by_atom.entry(a).or_default().push(i));
    }
    let mut by_cases: BTreeMap<Vec<usize>, Vec<Atom>> = BTreeMap::new();
    for (a, cases) in by_atom {
        by_cases.entry(cases).or_default().push(a.clone());
    }
    let mut clusters: Vec<(Vec<Atom>, Vec<usize>)> =
        by_cases.into_iter().map(|(c, a)| (a, c)).collect();
    clusters.sort_by_key(|(_, c)| std::cmp::Reverse(c.len()));
    let mut out: Vec<Draft> = Vec::new();
    for (atoms, cases) in clusters {
        let scored = suspects(features, &cases, n, KEPT);
        match out.iter_mut().find(|d| joins(d, &atoms, &cases, &scored)) {
            Some(d) => {
                d.ways.extend(atoms);
                let mut all: Vec<usize> = d.cases.iter().chain(&cases).copied().collect();
                all.sort_unstable();
                all.dedup();
                d.cases = all;
                d.scored = suspects(features, &d.cases, n, KEPT);
            }
            None => out.push(Draft {
                ways: atoms.clone(),
                core: atoms,
                cases,
                scored,
            }),
        }
    }
    out.sort_by_key(|d| std::cmp::Reverse(d.cases.len()));
    out
}

/// Whether ways `atoms` on `cases`, best explained by `scored[0]`, join group `d`: when both
/// are the port's answers' failures and the same feature explains both best; or their best
/// features share a part and the cases are mostly the group's; or the cases are all the
/// group's and nothing explains them well on their own (a side effect of the group's bug).
fn joins(d: &Draft, atoms: &[Atom], cases: &[usize], scored: &[Scored]) -> bool {
    if atoms[0].answered() != d.ways[0].answered() {
        return false;
    }
    let shared = cases
        .iter()
        .filter(|i| d.cases.binary_search(i).is_ok())
        .count();
    let within = shared == cases.len();
    let mostly = 2 * shared >= cases.len().min(d.cases.len());
    let (Some(mine), Some(theirs)) = (scored.first(), d.scored.first()) else {
        return within;
    };
    let share = mine
        .feature
        .parts
        .iter()
        .any(|p| theirs.feature.parts.contains(p));
    mine.feature.text == theirs.feature.text || (share && mostly) || (within && mine.score < WELL)
}

/// The public form of a group.
fn group(judged: &[Judged], d: &Draft, f32: bool) -> FailureGroup {
    let w = Where::of(judged, &d.cases, f32);
    let first = &judged[d.cases[0]];
    FailureGroup {
        how: describe(&d.ways),
        core: describe(&d.core),
        cases: d.cases.clone(),
        example: format!("{}: {}", first.name, verdict(&first.outcome, f32)),
        fields: w.fields,
        layers: w.layers,
        channels: w.channels,
        patterns: w.patterns,
        class_changes: w.class_changes,
        f32,
    }
}

/// The public form of a suspect of group `g`.
fn suspect(g: usize, s: &Scored) -> Suspect {
    Suspect {
        group: g,
        feature: s.feature.text.clone(),
        keys: s.feature.keys.clone(),
        with: [s.with.0, s.with.1],
        without: [s.without.0, s.without.1],
        score: s.score,
        sentence: s.sentence(),
    }
}

/// Every group's first suspect, then every group's second, ...
fn interleaved(per_group: Vec<Vec<Suspect>>) -> Vec<Suspect> {
    let depth = per_group.iter().map(Vec::len).max().unwrap_or(0);
    (0..depth)
        .flat_map(|r| per_group.iter().filter_map(move |s| s.get(r).cloned()))
        .collect()
}

/// The verdict of an outcome: its report's, or why there is no answer.
fn verdict(o: &Outcome, f32: bool) -> String {
    match o {
        Outcome::Failed(f) => f.to_string(),
        Outcome::Answered { .. } => o.report(f32).map(Report::verdict).unwrap_or_default(),
    }
}

/// The public form of a judged case (its group set afterwards).
fn case_result(j: &Judged) -> CaseResult {
    let (report, failure, exact) = match &j.outcome {
        Outcome::Answered {
            report, exact_f32, ..
        } => (Some((**report).clone()), None, *exact_f32),
        Outcome::Failed(f) => (None, Some(f.clone()), false),
    };
    let mut failing: Vec<String> = Vec::new();
    if let Some(r) = &report {
        failing.extend(r.failed_fields().into_iter().map(str::to_string));
        failing.extend(r.missing.iter().cloned());
    }
    CaseResult {
        name: j.name.clone(),
        description: j.case.name.clone(),
        conforms: j.outcome.conforms(false),
        verdict: verdict(&j.outcome, false),
        failing,
        report,
        failure,
        groups: Vec::new(),
        float32_values: exact,
        seconds: j.seconds,
    }
}

/// The tolerances in a few words: `f64 preset`, `f32 preset`, or the numbers.
fn tolerance_words(t: &Tolerances) -> String {
    if *t == Tolerances::F64 {
        "f64 preset".into()
    } else if *t == Tolerances::F32 {
        "f32 preset".into()
    } else {
        format!("tolerances {t}")
    }
}

/// `name 36, other 12` of the first few counts.
fn counts(v: &[Count], prefix: &str) -> String {
    let items: Vec<String> = v
        .iter()
        .take(8)
        .map(|c| format!("{prefix}{} ({})", c.what, c.cases))
        .collect();
    items.join(", ")
}

impl Conformance {
    /// The first lines: the tally, the tolerances, the space, the precision finding.
    fn write_head(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.cases.len();
        let failing = self.cases.iter().filter(|c| !c.conforms).count();
        let mut how = tolerance_words(&self.tolerances);
        if let Some(only) = &self.only {
            how.push_str(&format!(", only {}", only.join(", ")));
        }
        if failing == 0 {
            writeln!(f, "all {n} cases conform ({how})")?;
        } else {
            writeln!(f, "{failing} of {n} cases do not conform ({how})")?;
        }
        if !self.space.is_empty() {
            write!(f, "space: {}", self.space)?;
            if self.left_out > 0 {
                write!(f, " ({} edge cases outside it left out)", self.left_out)?;
            }
            writeln!(f)?;
        }
        if let Some(p) = &self.precision {
            writeln!(f, "precision: {p}")?;
        }
        Ok(())
    }

    /// Group `g`: how it fails, its suspects, where, its patterns and its smallest case.
    fn write_group(&self, f: &mut fmt::Formatter<'_>, g: usize) -> fmt::Result {
        let group = &self.groups[g];
        let n = group.cases.len();
        let plural = if n == 1 { "" } else { "s" };
        writeln!(f, "group {} ({n} case{plural}): {}", g + 1, group.how)?;
        let mine: Vec<&Suspect> = self.suspects.iter().filter(|s| s.group == g).collect();
        for s in mine.iter().take(SHOWN) {
            writeln!(f, "  suspect: {}", s.sentence)?;
        }
        if mine.is_empty() {
            let why = if self.cases.len() < MIN_CASES {
                "too few cases to attribute; run more"
            } else if n < MIN_GROUP {
                "one case: too few to attribute"
            } else if n == self.cases.len() {
                "every case fails this way: nothing to compare with"
            } else {
                "no option or feature separates these cases from the others"
            };
            writeln!(f, "  suspect: none ({why})")?;
        }
        self.write_where(f, group)?;
        writeln!(f, "  example: {}", group.example)?;
        for m in self.minimal.iter().filter(|m| m.group == g) {
            writeln!(
                f,
                "  smallest: {} (shrunk from {} in {} port calls)",
                m.size, m.from, m.port_calls
            )?;
        }
        Ok(())
    }

    /// Where a group fails.
    fn write_where(&self, f: &mut fmt::Formatter<'_>, group: &FailureGroup) -> fmt::Result {
        let mut parts = Vec::new();
        for (what, v, prefix) in [
            ("fields", &group.fields, ""),
            ("layers", &group.layers, "layer "),
            ("grad channels", &group.channels, ""),
        ] {
            if !v.is_empty() {
                parts.push(format!("{what}: {}", counts(v, prefix)));
            }
        }
        if group.class_changes > 0 {
            parts.push(format!(
                "tobj cells change class in {} cases",
                group.class_changes
            ));
        }
        if !parts.is_empty() {
            writeln!(f, "  where (cases): {}", parts.join("; "))?;
        }
        if !group.patterns.is_empty() {
            let p: Vec<String> = group
                .patterns
                .iter()
                .map(|c| format!("{} ({} cases)", c.what, c.cases))
                .collect();
            writeln!(f, "  looks like: {}", p.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Conformance {
    /// The diagnosis: the tally, the precision finding, then per group how it fails, its
    /// suspects, where, and its smallest case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_head(f)?;
        for g in 0..self.groups.len() {
            self.write_group(f, g)?;
        }
        Ok(())
    }
}
