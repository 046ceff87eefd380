//! The comparison itself: [`compare`] dispatches each field of an answer to its own
//! comparison, which records every value into one [`FieldReport`].

use super::options::CheckOptions;
use super::report::{
    CHANNEL_KINDS, ClassChanges, FieldReport, Group, Location, Report, channel_kind, sci, short,
};
use super::tolerance::Tolerances;
use super::{explain, patterns};
use crate::answer::{Answer, MatchedRow};
use crate::array::JsonArray;
use crate::config::{Assigner, Config};
use crate::inputs::InputsView;
use crate::result::{CellClass, Counts, Evaluation};
use crate::targets::Row;

/// Compares `answer` with the oracle's evaluation `oracle` of a case with `config` under
/// `opts` (see [`super::check`]); with the case's `inputs`, each listed `tobj` and `grad`
/// mismatch shows its input logit. Never fails: shape and layer-count disagreements become
/// [`Report::problems`].
pub(crate) fn compare(
    config: &Config,
    oracle: &Evaluation,
    answer: &Answer,
    inputs: Option<&InputsView>,
    opts: &CheckOptions,
) -> Report {
    let mut report = Report::new(opts.tolerances);
    report.only = opts.only.clone();
    let r = &mut report;
    let pick = |name: &str| opts.wants(name);
    for (name, got, want) in [
        ("loss", answer.loss, oracle.loss),
        ("lbox", answer.lbox, oracle.lbox),
        ("lobj", answer.lobj, oracle.lobj),
        ("lcls", answer.lcls, oracle.lcls),
    ] {
        if let Some(g) = picked(&mut r.missing, pick(name), name, got) {
            r.fields.push(scalar(name, g, want, opts));
        }
    }
    if let Some(got) = picked(&mut r.missing, pick("tobj"), "tobj", answer.tobj.as_deref()) {
        let f = tobj(
            got,
            oracle,
            config.assigner,
            opts,
            &mut r.problems,
            &mut r.class_changes,
        );
        r.fields.push(f);
    }
    if let Some(got) = picked(
        &mut r.missing,
        pick("counts"),
        "counts",
        answer.counts.as_deref(),
    ) {
        let f = counts(got, oracle, opts, &mut r.problems);
        r.fields.push(f);
    }
    if let Some(got) = picked(&mut r.missing, pick("grad"), "grad", answer.grad.as_deref()) {
        let f = grad(got, oracle, opts, &mut r.problems);
        r.fields.push(f);
    }
    let hard: Vec<f64> = oracle.layers.iter().map(|l| l.hard_loss).collect();
    let soft: Vec<f64> = oracle.layers.iter().map(|l| l.soft_loss).collect();
    for (name, got, want) in [
        ("hard_loss", &answer.hard_loss, &hard),
        ("soft_loss", &answer.soft_loss, &soft),
        ("balance", &answer.balance, &oracle.balance),
    ] {
        if let Some(g) = picked(&mut r.not_given, pick(name), name, got.as_deref()) {
            let f = per_layer(name, g, want, opts, &mut r.problems);
            r.fields.push(f);
        }
    }
    if let Some(got) = picked(
        &mut r.not_given,
        pick("matched"),
        "matched",
        answer.matched.as_deref(),
    ) {
        let f = matched(got, oracle, config, opts, &mut r.problems);
        r.fields.push(f);
    }
    explain::annotate(&mut report, config, oracle, inputs);
    if !report.conforms() {
        report.patterns = patterns::recognise(&report, oracle, config.assigner, answer);
    }
    report
}

/// `got` when the field is `picked`, noting its absence in `absent` (a required field's in
/// [`Report::missing`], an optional one's in [`Report::not_given`]).
fn picked<T>(absent: &mut Vec<String>, picked: bool, name: &str, got: Option<T>) -> Option<T> {
    if !picked {
        return None;
    }
    if got.is_none() {
        absent.push(name.into());
    }
    got
}

/// The rule of scalar losses, as the report writes it.
fn scalar_rule(tol: &Tolerances) -> String {
    format!(
        "|got - want| <= {} + {} |want|",
        short(tol.atol),
        short(tol.rtol)
    )
}

/// A problem when the answer has `got` layers of `field` and the oracle `nl`.
fn layer_count(problems: &mut Vec<String>, field: &str, got: usize, nl: usize) {
    if got != nl {
        problems.push(format!("{field}: {got} layers, the oracle has {nl}"));
    }
}

/// Whether layer `l` of array field `field` has the oracle's shape; a problem when not.
fn same_shape(
    problems: &mut Vec<String>,
    field: &str,
    l: usize,
    got: &JsonArray,
    want: &[usize],
    want_len: usize,
) -> bool {
    let same = got.shape == want && got.data.len() == want_len;
    if !same {
        problems.push(format!(
            "{field}[{l}]: shape {:?} with {} values, the oracle's is {want:?}",
            got.shape,
            got.data.len(),
        ));
    }
    same
}

/// One scalar loss (`loss`, `lbox`, `lobj`, `lcls`): `|got - want| <= atol + rtol |want|`.
fn scalar(name: &str, got: f64, want: f64, opts: &CheckOptions) -> FieldReport {
    let tol = &opts.tolerances;
    let mut r = FieldReport::new(name, scalar_rule(tol), opts.listed);
    r.record(
        || Location::Scalar,
        got,
        want,
        tol.scalar(want),
        want.abs(),
        None,
    );
    r
}

/// Every `tobj` cell: `|got - want| <= tobj_atol` and the same [`CellClass`]; class changes
/// are counted in `changes`.
fn tobj(
    got: &[JsonArray],
    oracle: &Evaluation,
    assigner: Assigner,
    opts: &CheckOptions,
    problems: &mut Vec<String>,
    changes: &mut ClassChanges,
) -> FieldReport {
    let tol = &opts.tolerances;
    let rule = format!("|got - want| <= {}, class exact", short(tol.tobj_atol));
    let mut r = FieldReport::new("tobj", rule, opts.listed);
    layer_count(problems, "tobj", got.len(), oracle.layers.len());
    for (l, (got, layer)) in got.iter().zip(&oracle.layers).enumerate() {
        let want = &layer.tobj;
        if !same_shape(problems, "tobj", l, got, want.shape(), want.len()) {
            continue;
        }
        let mut group = Group::new(l, None);
        let (_, na, ny, nx) = want.dim();
        for (k, (&g, &w)) in got.data.iter().zip(want.iter()).enumerate() {
            let (cw, cg) = (CellClass::of(w, assigner), CellClass::of(g, assigner));
            changes.count(cw, cg);
            let at = || Location::Cell {
                layer: l,
                image: k / (na * ny * nx),
                anchor: k / (ny * nx) % na,
                y: k / nx % ny,
                x: k % nx,
            };
            group.add(r.record(at, g, w, tol.tobj_atol, w.abs(), Some((cw, cg))));
        }
        r.breakdown.push(group);
    }
    r
}

/// The per layer cell counts, exactly.
fn counts(
    got: &[Counts],
    oracle: &Evaluation,
    opts: &CheckOptions,
    problems: &mut Vec<String>,
) -> FieldReport {
    let mut r = FieldReport::new("counts", "exact".into(), opts.listed);
    layer_count(problems, "counts", got.len(), oracle.layers.len());
    for (l, (g, layer)) in got.iter().zip(&oracle.layers).enumerate() {
        for class in CellClass::ALL {
            let (gv, wv) = (g.get(class), layer.counts.get(class));
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
    r
}

/// Every gradient component: `|got - want| <= grad_rtol * G`, `G` the largest oracle
/// component over every layer.
fn grad(
    got: &[JsonArray],
    oracle: &Evaluation,
    opts: &CheckOptions,
    problems: &mut Vec<String>,
) -> FieldReport {
    let tol = &opts.tolerances;
    let dense = oracle.grad.to_dense();
    let g_max = dense
        .iter()
        .flat_map(|g| g.iter().map(|v| v.abs()))
        .fold(0.0, f64::max);
    let allowed = tol.grad_rtol * g_max;
    let rule = format!(
        "|got - want| <= {} * G, G = {}, the largest |want|; max rel = max |err| / G",
        short(tol.grad_rtol),
        sci(g_max)
    );
    let mut r = FieldReport::new("grad", rule, opts.listed);
    r.relative_to = Some(g_max);
    layer_count(problems, "grad", got.len(), oracle.layers.len());
    for (l, (got, want)) in got.iter().zip(&dense).enumerate() {
        if !same_shape(problems, "grad", l, got, want.shape(), want.len()) {
            continue;
        }
        let (_, na, ny, nx, no) = want.dim();
        let mut groups: Vec<Group> = CHANNEL_KINDS
            .iter()
            .take(no.min(CHANNEL_KINDS.len()))
            .map(|c| Group::new(l, Some(c)))
            .collect();
        for (k, (&g, &w)) in got.data.iter().zip(want.iter()).enumerate() {
            let at = || Location::Channel {
                layer: l,
                image: k / (na * ny * nx * no),
                anchor: k / (ny * nx * no) % na,
                y: k / (nx * no) % ny,
                x: k / no % nx,
                channel: k % no,
            };
            groups[channel_kind(k % no)].add(r.record(at, g, w, allowed, g_max, None));
        }
        r.breakdown.extend(groups);
    }
    r
}

/// One value per layer (`hard_loss`, `soft_loss`, `balance`), each by the scalar rule.
fn per_layer(
    name: &str,
    got: &[f64],
    want: &[f64],
    opts: &CheckOptions,
    problems: &mut Vec<String>,
) -> FieldReport {
    let tol = &opts.tolerances;
    if got.len() != want.len() {
        problems.push(format!(
            "{name}: {} entries, the oracle has {}",
            got.len(),
            want.len()
        ));
    }
    let mut r = FieldReport::new(name, scalar_rule(tol), opts.listed);
    for (l, (&g, &w)) in got.iter().zip(want).enumerate() {
        r.record(
            || Location::Layer { layer: l },
            g,
            w,
            tol.scalar(w),
            w.abs(),
            None,
        );
    }
    r
}

/// The matched rows of every layer, in emission order: see [`matched_row`].
fn matched(
    got: &[Vec<MatchedRow>],
    oracle: &Evaluation,
    config: &Config,
    opts: &CheckOptions,
    problems: &mut Vec<String>,
) -> FieldReport {
    let tol = &opts.tolerances;
    let rule = format!(
        "integers exact; tbox, anchor: |got - want| <= {} + {} |want|",
        short(tol.tobj_atol),
        short(tol.rtol)
    );
    let mut r = FieldReport::new("matched", rule, opts.listed);
    layer_count(problems, "matched", got.len(), oracle.layers.len());
    for (l, (rows, layer)) in got.iter().zip(&oracle.layers).enumerate() {
        if rows.len() != layer.rows.len() {
            problems.push(format!(
                "matched[{l}]: {} rows, the oracle has {}",
                rows.len(),
                layer.rows.len()
            ));
        }
        for (k, (g, w)) in rows.iter().zip(&layer.rows).enumerate() {
            let anchor = [config.anchors[[l, w.a, 0]], config.anchors[[l, w.a, 1]]];
            matched_row(&mut r, l, k, g, w, anchor, tol);
        }
    }
    r
}

/// Row `k` of layer `l`: `b`, `a`, `gj`, `gi`, `class` exactly; `tbox` and the row's anchor
/// `(w, h)` within `tobj_atol + rtol |want|`.
fn matched_row(
    r: &mut FieldReport,
    l: usize,
    k: usize,
    got: &MatchedRow,
    want: &Row,
    anchor: [f64; 2],
    tol: &Tolerances,
) {
    let item = |name: String| {
        move || Location::Row {
            layer: l,
            row: k,
            item: name,
        }
    };
    for (name, gv, wv) in [
        ("b", got.b, want.b),
        ("a", got.a, want.a),
        ("gj", got.gj, want.gj),
        ("gi", got.gi, want.gi),
        ("class", got.class, want.class),
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
    let tbox = got.tbox.iter().zip(want.tbox()).enumerate();
    let tbox = tbox.map(|(c, (&gv, wv))| (format!("tbox[{c}]"), gv, wv));
    let anchors = got.anchor.iter().zip(anchor).enumerate();
    let anchors = anchors.map(|(c, (&gv, wv))| (format!("anchor[{c}]"), gv, wv));
    for (name, gv, wv) in tbox.chain(anchors) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIRED: [&str; 7] = Answer::REQUIRED;
    const OPTIONAL: [&str; 4] = Answer::OPTIONAL;

    /// The comparison without inputs, listing 8 failures per field.
    fn compare_tol(config: &Config, oracle: &Evaluation, a: &Answer, tol: &Tolerances) -> Report {
        let opts = CheckOptions {
            tolerances: *tol,
            ..CheckOptions::default()
        };
        compare(config, oracle, a, None, &opts)
    }

    fn small() -> (Config, Evaluation) {
        crate::default_batch::small_evaluation()
    }

    #[test]
    fn own_answer_conforms_with_zero_error() {
        let (config, e) = small();
        let r = compare_tol(
            &config,
            &e,
            &Answer::from_evaluation(&e, &config),
            &Tolerances::F64,
        );
        assert!(r.conforms(), "{r}");
        assert!(r.fields.iter().all(|f| f.max_abs_err == 0.0));
        assert!(r.missing.is_empty() && r.not_given.is_empty());
        assert_eq!(r.fields.len(), REQUIRED.len() + OPTIONAL.len());
        let names: Vec<&str> = r.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, [&REQUIRED[..], &OPTIONAL[..]].concat());
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
        let r = compare_tol(&config, &e, &a, &loose);
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
        assert!(compare_tol(&config, &e, &a, &Tolerances::F64).conforms());
        let g = &mut a.grad.as_mut().unwrap()[2].data;
        g[k] += 0.2e-10 * g_max;
        let r = compare_tol(&config, &e, &a, &Tolerances::F64);
        assert_eq!(r.failed_fields(), vec!["grad"]);
        assert!(compare_tol(&config, &e, &a, &Tolerances::F32).conforms());
    }

    #[test]
    fn missing_and_structural_problems_fail() {
        let (config, e) = small();
        let full = Answer::from_evaluation(&e, &config);
        let mut a = full.clone();
        a.grad = None;
        a.matched = None;
        let r = compare_tol(&config, &e, &a, &Tolerances::F64);
        assert_eq!(r.missing, vec!["grad"]);
        assert_eq!(r.not_given, vec!["matched"]);
        assert!(!r.conforms());

        let mut a = full.clone();
        a.tobj.as_mut().unwrap().pop();
        let r = compare_tol(&config, &e, &a, &Tolerances::F64);
        assert!(!r.conforms());
        assert!(r.problems[0].contains("tobj: 2 layers"), "{:?}", r.problems);

        let mut a = full;
        a.counts.as_mut().unwrap()[0].soft += 1;
        let r = compare_tol(&config, &e, &a, &Tolerances::F32);
        assert_eq!(r.failed_fields(), vec!["counts"]);
    }

    fn opts(listed: usize) -> CheckOptions {
        CheckOptions {
            listed,
            ..CheckOptions::default()
        }
    }

    #[test]
    fn scalar_field_uses_atol_plus_rtol() {
        let tol = Tolerances {
            rtol: 1e-3,
            atol: 1e-2,
            ..Tolerances::F64
        };
        let o = CheckOptions {
            tolerances: tol,
            ..CheckOptions::default()
        };
        // Allowed: 1e-2 + 1e-3 * 10 = 2e-2.
        assert!(scalar("loss", 10.019, 10.0, &o).passed());
        let r = scalar("loss", 10.021, 10.0, &o);
        assert_eq!((r.compared, r.failed), (1, 1));
        assert_eq!(r.rule, "|got - want| <= 0.01 + 0.001 |want|");
        assert_eq!(r.first_failures[0].at, Location::Scalar);
        assert!((r.first_failures[0].allowed - 2e-2).abs() < 1e-15);
        assert!(!scalar("loss", f64::NAN, 10.0, &o).passed());
    }

    #[test]
    fn tobj_field_counts_classes_and_refuses_other_shapes() {
        let (config, e) = small();
        let a = Answer::from_evaluation(&e, &config);
        let mut t = a.tobj.unwrap();
        let (mut problems, mut changes) = (Vec::new(), ClassChanges::default());
        let r = tobj(
            &t,
            &e,
            config.assigner,
            &opts(8),
            &mut problems,
            &mut changes,
        );
        let cells: usize = e.layers.iter().map(|l| l.tobj.len()).sum();
        assert_eq!((r.compared, r.failed), (cells as u64, 0));
        assert!(problems.is_empty() && changes.total() == 0);

        // A negative cell made soft, and layer 0 given the wrong shape.
        let k = t[2].data.iter().position(|&v| v == 0.0).unwrap();
        t[2].data[k] = 1e-6;
        t[0].shape.reverse();
        let r = tobj(
            &t,
            &e,
            config.assigner,
            &opts(8),
            &mut problems,
            &mut changes,
        );
        assert_eq!(r.compared, (cells - e.layers[0].tobj.len()) as u64);
        assert_eq!(r.failed, 1);
        assert_eq!(changes.get(CellClass::Negative, CellClass::Soft), 1);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("tobj[0]: shape"), "{problems:?}");
        let m = &r.first_failures[0];
        assert_eq!(m.classes, Some((CellClass::Negative, CellClass::Soft)));
    }

    #[test]
    fn counts_field_is_exact_per_class() {
        let (_, e) = small();
        let mut got: Vec<Counts> = e.layers.iter().map(|l| l.counts).collect();
        let mut problems = Vec::new();
        let r = counts(&got, &e, &opts(8), &mut problems);
        assert_eq!((r.compared, r.failed), (3 * e.layers.len() as u64, 0));
        got[1].negative += 1;
        got.pop();
        let r = counts(&got, &e, &opts(8), &mut problems);
        assert_eq!(r.compared, 3 * (e.layers.len() as u64 - 1));
        assert_eq!(r.failed, 1);
        assert_eq!(
            r.first_failures[0].at,
            Location::Count {
                layer: 1,
                class: CellClass::Negative
            }
        );
        assert_eq!(problems, vec!["counts: 2 layers, the oracle has 3"]);
    }

    #[test]
    fn grad_field_locates_the_channel() {
        let (config, e) = small();
        let mut got = Answer::from_evaluation(&e, &config).grad.unwrap();
        let mut problems = Vec::new();
        let r = grad(&got, &e, &opts(8), &mut problems);
        assert!(r.passed() && problems.is_empty());
        assert!(r.rule.starts_with("|got - want| <= 1e-10 * "), "{}", r.rule);
        let dense = e.grad.dense_layer(0);
        let (_, na, ny, nx, no) = dense.dim();
        // Image 1, anchor 2, y 3, x 4, channel 4 (obj).
        let k = (((na + 2) * ny + 3) * nx + 4) * no + 4;
        got[0].data[k] += 1.0;
        let r = grad(&got, &e, &opts(8), &mut problems);
        assert_eq!(r.failed, 1);
        let m = &r.first_failures[0];
        assert_eq!(
            m.at,
            Location::Channel {
                layer: 0,
                image: 1,
                anchor: 2,
                y: 3,
                x: 4,
                channel: 4
            }
        );
        assert!(m.at.to_string().ends_with("channel 4 obj)"), "{}", m.at);
        assert_eq!(m.allowed, 1e-10 * e.grad.max_abs());
        got[2].data.pop();
        let r = grad(&got, &e, &opts(8), &mut problems);
        assert_eq!(
            r.compared as usize,
            dense.len() + e.grad.dense_layer(1).len()
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("grad[2]: shape"), "{problems:?}");
    }

    #[test]
    fn per_layer_field_notes_a_different_length() {
        let mut problems = Vec::new();
        let r = per_layer(
            "balance",
            &[4.0, 1.0],
            &[4.0, 1.0, 0.4],
            &opts(8),
            &mut problems,
        );
        assert_eq!((r.compared, r.failed), (2, 0));
        assert_eq!(problems, vec!["balance: 2 entries, the oracle has 3"]);
        let r = per_layer(
            "hard_loss",
            &[1.0, 2.5],
            &[1.0, 2.0],
            &opts(8),
            &mut problems,
        );
        assert_eq!(r.failed, 1);
        assert_eq!(r.first_failures[0].at, Location::Layer { layer: 1 });
    }

    #[test]
    fn matched_field_checks_integers_exactly_and_rows_per_layer() {
        let (config, e) = small();
        let mut got = Answer::from_evaluation(&e, &config).matched.unwrap();
        let mut problems = Vec::new();
        let r = matched(&got, &e, &config, &opts(8), &mut problems);
        let rows: usize = e.layers.iter().map(|l| l.rows.len()).sum();
        // 5 integers, 4 tbox and 2 anchor values per row.
        assert_eq!((r.compared, r.failed), (11 * rows as u64, 0));
        let l = (0..got.len()).find(|&l| got[l].len() > 1).unwrap();
        got[l][1].gi += 1;
        got[l][1].anchor[1] *= 1.0 + 1e-9;
        let extra = got[l][0].clone();
        got[l].push(extra);
        let r = matched(&got, &e, &config, &opts(8), &mut problems);
        assert_eq!(r.failed, 2);
        let at: Vec<String> = r.first_failures.iter().map(|m| m.at.to_string()).collect();
        assert_eq!(
            at,
            [
                format!("layer {l} row 1 gi"),
                format!("layer {l} row 1 anchor[1]")
            ]
        );
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with(&format!("matched[{l}]: ")),
            "{problems:?}"
        );
    }
}
