//! One test per validation rule of spec section 8: each bad input is an error that names the
//! field (and row, for targets) and the value, never a panic.

mod common;

use common::assert_error;
use ndarray::{Array2, Array3, Array5, array};
use soft_objectness::{
    Case, Config, Error, EvalOptions, Hyp, Inputs, Limits, Prediction, Score, SoftLoss, evaluate,
};

fn config() -> Config {
    Config {
        nc: 3,
        anchors: Array3::from_elem((1, 2, 2), 2.0),
        ..Config::default()
    }
}

fn inputs(targets: Array2<f64>) -> Inputs {
    Inputs {
        targets,
        predictions: vec![Prediction::F64(Array5::zeros((2, 2, 4, 4, 8)))],
    }
}

fn good_targets() -> Array2<f64> {
    array![
        [0.0, 1.0, 0.5, 0.5, 0.3, 0.3],
        [1.0, 2.0, 0.2, 0.7, 0.4, 0.1]
    ]
}

/// Evaluates and returns the error's message and field, asserting both mention `needles`.
fn err(config: &Config, inputs: &Inputs, field: &str, needles: &[&str]) -> Error {
    let e = evaluate(config, inputs, &EvalOptions::default()).expect_err("must be rejected");
    assert_error(&e, Some(field), needles);
    e
}

#[test]
fn good_input_is_accepted() {
    evaluate(&config(), &inputs(good_targets()), &EvalOptions::default()).unwrap();
}

#[test]
fn non_finite_target() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut t = good_targets();
        t[[1, 3]] = bad;
        err(
            &config(),
            &inputs(t),
            "inputs.targets row 1 (y)",
            &["finite"],
        );
    }
}

#[test]
fn non_finite_prediction() {
    let mut i = inputs(good_targets());
    if let Prediction::F64(p) = &mut i.predictions[0] {
        p[[1, 0, 2, 3, 4]] = f64::NAN;
    }
    err(
        &config(),
        &i,
        "inputs.predictions[0] at [1, 0, 2, 3, 4]",
        &["NaN", "finite"],
    );
    let mut i = Inputs {
        predictions: vec![Prediction::F32(Array5::zeros((2, 2, 4, 4, 8)))],
        ..inputs(good_targets())
    };
    if let Prediction::F32(p) = &mut i.predictions[0] {
        p[[0, 1, 0, 0, 7]] = f32::INFINITY;
    }
    err(
        &config(),
        &i,
        "inputs.predictions[0] at [0, 1, 0, 0, 7]",
        &["inf"],
    );
}

#[test]
fn non_finite_hyper_parameter_and_anchor() {
    let c = Config {
        hyp: Hyp {
            obj_pw: f64::NAN,
            ..Hyp::default()
        },
        ..config()
    };
    err(
        &c,
        &inputs(good_targets()),
        "config.hyp.obj_pw",
        &["finite"],
    );
    let mut c = config();
    c.anchors[[0, 1, 0]] = f64::INFINITY;
    err(
        &c,
        &inputs(good_targets()),
        "config.anchors[0][1][0]",
        &["finite"],
    );
}

#[test]
fn image_out_of_range_or_fractional() {
    for bad in [2.0, -1.0, 0.5] {
        let mut t = good_targets();
        t[[0, 0]] = bad;
        err(
            &config(),
            &inputs(t),
            "inputs.targets row 0 (image)",
            &["image", "0..2"],
        );
    }
}

#[test]
fn class_out_of_range_or_fractional() {
    for bad in [3.0, -1.0, 1.5] {
        let mut t = good_targets();
        t[[1, 1]] = bad;
        err(
            &config(),
            &inputs(t),
            "inputs.targets row 1 (class)",
            &["class", "0..3"],
        );
    }
}

#[test]
fn negative_width_or_height() {
    let mut t = good_targets();
    t[[1, 4]] = -0.1;
    err(
        &config(),
        &inputs(t),
        "inputs.targets row 1 (w)",
        &["-0.1", "negative"],
    );
    let mut t = good_targets();
    t[[0, 5]] = -1e-9;
    err(
        &config(),
        &inputs(t),
        "inputs.targets row 0 (h)",
        &["negative"],
    );
}

#[test]
fn prediction_shape_disagrees_with_nc_na_or_batch() {
    let t = good_targets();
    // nc: 5 + 3 = 8 channels expected.
    let i = Inputs {
        targets: t.clone(),
        predictions: vec![Prediction::F64(Array5::zeros((2, 2, 4, 4, 7)))],
    };
    err(
        &config(),
        &i,
        "inputs.predictions[0]",
        &["[2, 2, 4, 4, 7]", "5 + nc"],
    );
    // na: 2 anchors in the config.
    let i = Inputs {
        targets: t.clone(),
        predictions: vec![Prediction::F64(Array5::zeros((2, 3, 4, 4, 8)))],
    };
    err(&config(), &i, "inputs.predictions[0]", &["[2, 3, 4, 4, 8]"]);
    // batch: layers disagree.
    let c = Config {
        anchors: Array3::from_elem((2, 2, 2), 2.0),
        ..config()
    };
    let i = Inputs {
        targets: t.clone(),
        predictions: vec![
            Prediction::F64(Array5::zeros((2, 2, 4, 4, 8))),
            Prediction::F64(Array5::zeros((3, 2, 2, 2, 8))),
        ],
    };
    err(&c, &i, "inputs.predictions[1]", &["[3, 2, 2, 2, 8]"]);
    // layer count disagrees with the anchors.
    let i = Inputs {
        targets: t,
        predictions: vec![],
    };
    err(&config(), &i, "inputs.predictions", &["1 layers"]);
}

#[test]
fn anchor_t_at_most_one() {
    for bad in [1.0, 0.5, -3.0] {
        let c = Config {
            hyp: Hyp {
                anchor_t: bad,
                ..Hyp::default()
            },
            ..config()
        };
        err(
            &c,
            &inputs(good_targets()),
            "config.hyp.anchor_t",
            &["greater than 1"],
        );
    }
}

#[test]
fn sigma_not_positive() {
    for bad in [0.0, -1.0] {
        let c = Config {
            score: Score::Gaussian { sigma: bad },
            ..config()
        };
        err(&c, &inputs(good_targets()), "config.score.sigma", &["> 0"]);
    }
}

#[test]
fn power_n_negative_odd_or_fractional() {
    let c = Config {
        score: Score::Power { n: 3 },
        ..config()
    };
    err(
        &c,
        &inputs(good_targets()),
        "config.score.n",
        &["3", "even"],
    );
    // From JSON, negative and fractional values are caught before they become a u32.
    for bad in ["-2", "2.5", "3"] {
        let text = case_json(&format!(r#""score": {{"kind": "power", "n": {bad}}}"#));
        let e = Case::from_json_str(&text, None, &Limits::default()).unwrap_err();
        assert_eq!(e.field(), Some("config.score.n"), "{e}");
        assert!(e.to_string().contains(bad), "{e}");
    }
}

#[test]
fn gamma_negative() {
    let c = Config {
        soft_loss: SoftLoss::Loss1 { gamma: -0.5 },
        ..config()
    };
    err(
        &c,
        &inputs(good_targets()),
        "config.soft_loss.gamma",
        &["-0.5"],
    );
    let c = Config {
        hyp: Hyp {
            fl_gamma: -1.0,
            ..Hyp::default()
        },
        ..config()
    };
    err(&c, &inputs(good_targets()), "config.hyp.fl_gamma", &["-1"]);
}

#[test]
fn non_positive_anchors() {
    for bad in [0.0, -2.0] {
        let mut c = config();
        c.anchors[[0, 0, 1]] = bad;
        err(
            &c,
            &inputs(good_targets()),
            "config.anchors[0][0][1]",
            &["positive"],
        );
    }
}

#[test]
fn boxes_partly_outside_are_legal() {
    let t = array![
        [0.0, 0.0, -0.1, 1.05, 0.5, 0.5],
        [1.0, 1.0, 1.0, 0.0, 0.9, 0.9]
    ];
    evaluate(&config(), &inputs(t), &EvalOptions::default()).unwrap();
}

fn case_json(config_extra: &str) -> String {
    format!(
        r#"{{"format": "soft-objectness-case/1", "config": {{"nc": 1, "anchors": {{"shape": [1, 1, 2], "data": [1, 1]}}, {config_extra}}},
        "inputs": {{"targets": {{"shape": [1, 6], "data": [0, 0, 0.5, 0.5, 0.5, 0.5]}},
        "predictions": [{{"shape": [1, 1, 1, 1, 6], "data": [0, 0, 0, 0, 0, 0]}}]}}}}"#
    )
}

#[test]
fn unknown_config_keys_are_errors() {
    let e = Case::from_json_str(
        &case_json(r#""autobalanse": true"#),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("config"));
    assert!(e.to_string().contains("autobalanse"));
    let e = Case::from_json_str(
        &case_json(r#""hyp": {"fl_gama": 1.0}"#),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("config.hyp"));
    let e = Case::from_json_str(
        &case_json(r#""score": {"kind": "gaussian", "sigma": 1, "n": 2}"#),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("config.score"));
    let e = Case::from_json_str(
        &case_json(r#""distance": "manhattan""#),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("manhattan") && e.to_string().contains("cell_index"),
        "{e}"
    );
    // Unknown keys outside config are ignored (fixtures carry metadata).
    let text =
        case_json(r#""overlap": "max""#).replacen('{', r#"{"generator": {"torch": "x"}, "#, 1);
    Case::from_json_str(&text, None, &Limits::default()).unwrap();
}
