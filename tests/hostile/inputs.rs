//! Spec section 8 on the inputs, through the case format and built in code: target rows and columns, prediction shapes, the balance state.

use super::*;

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
    assert_error(
        &e,
        Some("inputs.predictions[0] at [0, 0, 2, 1, 6]"),
        &["finite", "NaN"],
    );
    let inputs = Inputs {
        targets: array![[0.0, 0.0, 0.5, 0.5, 0.1]],
        predictions: vec![],
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
    assert_error(&e, Some("inputs.predictions"), &["1 layers"]);
    let inputs = Inputs {
        targets: array![[0.0, 0.0, 0.5, 0.5, 0.1]],
        predictions: vec![Prediction::F64(Array5::zeros((1, 1, 3, 3, 7)))],
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
    assert_error(&e, Some("inputs.targets"), &["[nt, 6]", "[1, 5]"]);
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
        let opts = EvalOptions::default().balance(balance);
        let e = evaluate(&case.config, &case.inputs, &opts).unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
    }
    // A zero weight turns a layer off; with autobalance, dividing by a zero stride-16 weight
    // would give NaN, so the balance in force is kept.
    let opts = EvalOptions::default().balance(vec![0.0]);
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
    let opts = EvalOptions::default().balance(vec![1.0, 0.0]);
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
    let opts = EvalOptions::default().balance(vec![1e308]);
    let e = evaluate(&case.config, &case.inputs, &opts).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
    assert!(e.to_string().contains("not a finite number"), "{e}");
}
