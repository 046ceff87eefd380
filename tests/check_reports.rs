//! Conformance reports that point at the bug: failures by layer and channel kind, the input
//! logit and the writing row at each listed mismatch, the worst mismatch in the text, and the
//! failure patterns, each recognised on an oracle answer mutated the way a buggy port would
//! get it wrong (and none named on a correct answer).

use soft_objectness::conformance::{CheckOptions, Pattern, Report, check};
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::{Answer, Config, EvalOptions, Evaluation, Inputs, Score, evaluate};

fn case() -> (Config, Inputs, Evaluation) {
    // 64x64 pixels: square grids 8x8, 4x4, 2x2; three classes.
    let (config, inputs) = DefaultBatch {
        batch: 2,
        width: 64,
        height: 64,
        nc: 3,
        boxes_per_image: 4,
        seed: 11,
    }
    .build()
    .unwrap();
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
    (config, inputs, e)
}

fn report(config: &Config, inputs: &Inputs, a: &Answer) -> Report {
    check(config, inputs, a, &CheckOptions::default()).unwrap()
}

/// Applies `f(channel, value)` to every gradient component of every layer.
fn map_grad(a: &mut Answer, f: impl Fn(usize, &[f64]) -> Vec<f64>) {
    for g in a.grad.as_mut().unwrap() {
        let no = *g.shape.last().unwrap();
        let data: Vec<f64> = g.data.chunks(no).flat_map(|c| f(no, c)).collect();
        g.data = data;
    }
}

#[test]
fn a_correct_answer_names_no_pattern() {
    let (config, inputs, e) = case();
    let a = Answer::from_evaluation(&e, &config);
    let r = report(&config, &inputs, &a);
    assert!(r.conforms(), "{r}");
    assert!(r.patterns.is_empty());
    assert!(!r.to_string().contains("looks like"));
    // One wrong value is a failure without a pattern.
    let mut a = a;
    let g = &mut a.grad.as_mut().unwrap()[0].data;
    let k = g.iter().position(|&v| v != 0.0).unwrap();
    g[k] += 1.0;
    let r = report(&config, &inputs, &a);
    assert!(!r.conforms());
    assert!(r.patterns.is_empty(), "{:?}", r.patterns);
}

#[test]
fn tobj_with_x_and_y_swapped_is_named() {
    let (config, inputs, e) = case();
    let mut a = Answer::from_evaluation(&e, &config);
    for (t, layer) in a.tobj.as_mut().unwrap().iter_mut().zip(&e.layers) {
        let swapped = layer.tobj.clone().permuted_axes([0, 1, 3, 2]);
        t.data = swapped.iter().copied().collect();
    }
    let r = report(&config, &inputs, &a);
    assert!(!r.conforms());
    let Some(Pattern::TobjTransposed { layers }) = r.patterns.first() else {
        panic!("{:?}", r.patterns);
    };
    assert!(!layers.is_empty());
    let tobj = r.fields.iter().find(|f| f.field == "tobj").unwrap();
    let failing: Vec<usize> = tobj
        .breakdown
        .iter()
        .filter(|g| g.failed > 0)
        .map(|g| g.layer)
        .collect();
    assert_eq!(layers, &failing);
    assert!(
        r.to_string()
            .contains("looks like: x and y swapped in tobj"),
        "{r}"
    );
}

#[test]
fn a_channel_off_by_a_constant_factor_is_named_with_its_breakdown() {
    let (config, inputs, e) = case();
    let mut a = Answer::from_evaluation(&e, &config);
    map_grad(&mut a, |_, c| {
        let mut c = c.to_vec();
        c[4] *= 2.0;
        c
    });
    let r = report(&config, &inputs, &a);
    assert!(!r.conforms());
    assert_eq!(r.patterns.len(), 1, "{:?}", r.patterns);
    let Pattern::ChannelFactor {
        layers,
        channel,
        factor,
    } = &r.patterns[0]
    else {
        panic!("{:?}", r.patterns);
    };
    assert_eq!((channel.as_str(), *factor), ("obj", 2.0));
    assert_eq!(layers, &[0, 1, 2]);
    // The breakdown: only obj groups fail, in every layer.
    let grad = r.fields.iter().find(|f| f.field == "grad").unwrap();
    assert_eq!(grad.breakdown.len(), 3 * 6);
    for g in &grad.breakdown {
        assert_eq!(g.failed > 0, g.channel.as_deref() == Some("obj"), "{g}");
    }
    let failed: u64 = grad.breakdown.iter().map(|g| g.failed).sum();
    assert_eq!(failed, grad.failed);
    let text = r.to_string();
    assert!(
        text.contains("grad failures by layer and channel: layer 0 obj "),
        "{text}"
    );
    assert!(
        text.contains("looks like: grad obj off by a constant factor 2 (layers 0, 1, 2"),
        "{text}"
    );
    // The relative error's denominator is said in the text and the JSON.
    assert!(text.contains("relative to G = "), "{text}");
    assert_eq!(grad.relative_to, Some(e.grad.max_abs()));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["fields"][6]["field"], "grad");
    assert_eq!(v["fields"][6]["relative_to"], e.grad.max_abs());
    assert_eq!(v["patterns"][0]["pattern"], "channel_factor");
}

#[test]
fn obj_and_class_channels_exchanged_are_named() {
    let (config, inputs, e) = case();
    for (layout, permute) in [
        ("obj <-> cls 0", [0, 1, 2, 3, 5, 4, 6, 7]),
        ("obj last", [0, 1, 2, 3, 5, 6, 7, 4]),
    ] {
        let mut a = Answer::from_evaluation(&e, &config);
        map_grad(&mut a, |_, c| permute.iter().map(|&p| c[p]).collect());
        let r = report(&config, &inputs, &a);
        assert!(!r.conforms());
        assert_eq!(
            r.patterns,
            vec![Pattern::ObjClsExchanged {
                layers: vec![0, 1, 2],
                layout: layout.into()
            }],
            "{layout}"
        );
        assert!(
            r.to_string()
                .contains("looks like: obj and class channels exchanged"),
            "{r}"
        );
    }
}

#[test]
fn counts_right_but_soft_values_wrong_is_named() {
    let (config, inputs, e) = case();
    // A port with sigma 1.1 instead of 1.0: the same cells are soft, with other values.
    let wrong = Config {
        score: Score::Gaussian { sigma: 1.1 },
        ..config.clone()
    };
    let e_wrong = evaluate(&wrong, &inputs, &EvalOptions::default()).unwrap();
    let mut a = Answer::from_evaluation(&e, &config);
    a.tobj = Answer::from_evaluation(&e_wrong, &wrong).tobj;
    let r = report(&config, &inputs, &a);
    assert!(!r.conforms());
    assert_eq!(r.class_changes.total(), 0);
    let tobj = r.fields.iter().find(|f| f.field == "tobj").unwrap();
    assert_eq!(
        r.patterns,
        vec![Pattern::SoftValuesWrong { cells: tobj.failed }]
    );
    assert!(
        r.to_string()
            .contains("looks like: counts and cell classes right but"),
        "{r}"
    );
    // Each listed tobj mismatch names the row that wrote the cell, its distance and the
    // cell's objectness logit.
    for m in &tobj.first_failures {
        let w = m.writer.expect("a soft cell has a writer");
        assert!(!w.centre && w.d.is_some_and(|d| d > 0.0), "{w:?}");
        let soft_loc = match m.at {
            soft_objectness::conformance::Location::Cell {
                layer,
                image,
                anchor,
                y,
                x,
            } => inputs.predictions[layer].to_f64()[[image, anchor, y, x, 4]],
            _ => unreachable!(),
        };
        assert_eq!(m.logit, Some(soft_loc));
    }
    let text = r.to_string();
    assert!(text.contains(", written by row "), "{text}");
    assert!(text.contains("tobj failures by layer: layer 0 "), "{text}");
}

#[test]
fn listed_grad_mismatches_show_the_logit_and_the_worst_is_in_the_text() {
    let (config, inputs, e) = case();
    let mut a = Answer::from_evaluation(&e, &config);
    let g = &mut a.grad.as_mut().unwrap()[1];
    let (k1, k2) = (8 * 3 + 1, 8 * 17 + 6);
    g.data[k1] += 1e-3;
    g.data[k2] += 5e-3;
    let r = report(&config, &inputs, &a);
    let grad = r.fields.iter().find(|f| f.field == "grad").unwrap();
    assert_eq!(grad.failed, 2);
    let p = inputs.predictions[1].to_f64();
    let flat: Vec<f64> = p.iter().copied().collect();
    assert_eq!(grad.first_failures[0].logit, Some(flat[k1]));
    assert_eq!(grad.first_failures[1].logit, Some(flat[k2]));
    let worst = grad.worst.as_ref().unwrap();
    assert_eq!(worst.logit, Some(flat[k2]));
    let text = r.to_string();
    assert!(text.contains(&format!("worst grad {worst}")), "{text}");
    assert!(text.contains(", logit "), "{text}");
}

#[test]
fn a_nan_in_an_answer_fails_its_field() {
    let (config, inputs, e) = case();
    let mut a = Answer::from_evaluation(&e, &config);
    a.loss = Some(f64::NAN);
    a.grad.as_mut().unwrap()[2].data[0] = f64::INFINITY;
    let r = report(&config, &inputs, &a);
    assert_eq!(r.failed_fields(), vec!["loss", "grad"]);
}

#[test]
fn only_checks_the_fields_named() {
    let (config, inputs, e) = case();
    let mut a = Answer::from_evaluation(&e, &config);
    a.loss = None;
    a.grad = None;
    a.matched = None;
    let mut opts = CheckOptions::default();
    opts.only = Some(vec!["tobj".to_string(), "counts".to_string()]);
    let r = check(&config, &inputs, &a, &opts).unwrap();
    assert!(r.conforms(), "{r}");
    assert!(r.missing.is_empty() && r.not_given.is_empty());
    let names: Vec<&str> = r.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["tobj", "counts"]);
    assert!(r.to_string().contains("checked only: tobj, counts"));
    // Without `only`, the same answer misses fields.
    let full = report(&config, &inputs, &a);
    assert_eq!(full.missing, vec!["loss", "grad"]);
}
