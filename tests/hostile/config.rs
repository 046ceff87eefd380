//! Spec section 8 on the configuration, and the magnitude bounds that keep the arithmetic finite.

use super::*;

#[test]
fn section_8_config_rules() {
    let cases: Vec<(&str, Value, &str, &[&str])> = vec![
        (
            "/config/hyp",
            json!({"anchor_t": 1.0}),
            "config.hyp.anchor_t",
            &["greater than 1", "got 1"],
        ),
        (
            "/config/hyp",
            json!({"anchor_t": -4}),
            "config.hyp.anchor_t",
            &["got -4"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": 0}),
            "config.score.sigma",
            &["> 0", "got 0"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": -1}),
            "config.score.sigma",
            &["got -1"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": -2}),
            "config.score.n",
            &["even", "-2"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": 3}),
            "config.score.n",
            &["even", "3"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": 2.5}),
            "config.score.n",
            &["2.5"],
        ),
        (
            "/config/soft_loss",
            json!({"kind": "loss1", "gamma": -1}),
            "config.soft_loss.gamma",
            &[">= 0", "-1"],
        ),
        (
            "/config/hyp",
            json!({"fl_gamma": -0.5}),
            "config.hyp.fl_gamma",
            &[">= 0", "-0.5"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [0, 1]}),
            "config.anchors[0][0][0]",
            &["positive", "got 0"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [1, -2]}),
            "config.anchors[0][0][1]",
            &["positive", "-2"],
        ),
        ("/config/nc", json!(0), "config.nc", &["at least 1"]),
        (
            "/config/nc",
            json!(-1),
            "config.nc",
            &["non-negative integer"],
        ),
        (
            "/config/hyp",
            json!({"box": "big"}),
            "config.hyp.box",
            &["a number"],
        ),
        (
            "/config/hyp",
            json!({"obj": "NaN"}),
            "config.hyp.obj",
            &["finite"],
        ),
    ];
    for (ptr, v, field, needles) in cases {
        rejected(&with(ptr, Some(v)), field, needles);
    }
    let mut doc = base();
    doc["config"]["anchors"] = json!({"shape": [6, 1, 2], "data": vec![1.0; 12]});
    rejected(&doc, "config.anchors", &["1 to 5", "nl = 6"]);
}

#[test]
fn magnitude_bounds_that_keep_the_arithmetic_finite() {
    let cases: Vec<(&str, Value, &str, &[&str])> = vec![
        (
            "/config/hyp",
            json!({"label_smoothing": 1.5}),
            "config.hyp.label_smoothing",
            &["[0, 1]", "1.5"],
        ),
        (
            "/config/hyp",
            json!({"label_smoothing": -0.1}),
            "config.hyp.label_smoothing",
            &["[0, 1]"],
        ),
        (
            "/config/hyp",
            json!({"obj_pw": 2e6}),
            "config.hyp.obj_pw",
            &["[-1e6, 1e6]", "2000000"],
        ),
        (
            "/config/hyp",
            json!({"anchor_t": 1e7}),
            "config.hyp.anchor_t",
            &["[-1e6, 1e6]"],
        ),
        (
            "/config/hyp",
            json!({"fl_gamma": 1e300}),
            "config.hyp.fl_gamma",
            &["[-1e6, 1e6]"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": 1e-7}),
            "config.score.sigma",
            &["[1e-6, 1e6]"],
        ),
        (
            "/config/score",
            json!({"kind": "gaussian", "sigma": 1e7}),
            "config.score.sigma",
            &["[1e-6, 1e6]"],
        ),
        (
            "/config/score",
            json!({"kind": "power", "n": 2_000_002}),
            "config.score.n",
            &["at most 1e6"],
        ),
        (
            "/config/soft_loss",
            json!({"kind": "loss1", "gamma": 1e7}),
            "config.soft_loss.gamma",
            &["at most 1e6"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [1e-300, 1]}),
            "config.anchors[0][0][0]",
            &["[1e-6, 1e6]"],
        ),
        (
            "/config/anchors",
            json!({"shape": [1, 1, 2], "data": [1, 1e7]}),
            "config.anchors[0][0][1]",
            &["[1e-6, 1e6]"],
        ),
    ];
    for (ptr, v, field, needles) in cases {
        rejected(&with(ptr, Some(v)), field, needles);
    }
    // Logits beyond the f32 range (f64 input only: every finite f32 is legal).
    let doc = with("/inputs/predictions/0/data/9", Some(json!(1e39)));
    rejected(
        &doc,
        "inputs.predictions[0] at [0, 0, 0, 1, 2]",
        &["f32::MAX", "1e39"],
    );
    parse(&with("/inputs/predictions/0/data/9", Some(json!(3.4e38)))).unwrap();
    // The API path checks the same bounds.
    let config = Config {
        nc: usize::MAX,
        ..Config::default()
    };
    let e = config.validate().unwrap_err();
    assert_error(&e, Some("config.nc"), &["at most 4294967295"]);
    let config = Config {
        score: Score::Power { n: 4_000_000 },
        ..Config::default()
    };
    assert_error(
        &config.validate().unwrap_err(),
        Some("config.score.n"),
        &["at most 1e6"],
    );
    let config = Config {
        soft_loss: SoftLoss::Loss1 {
            gamma: f64::INFINITY,
        },
        ..Config::default()
    };
    assert_error(
        &config.validate().unwrap_err(),
        Some("config.soft_loss.gamma"),
        &["finite"],
    );
    let config = Config {
        hyp: Hyp {
            cls: -2e6,
            ..Hyp::default()
        },
        ..Config::default()
    };
    assert_error(
        &config.validate().unwrap_err(),
        Some("config.hyp.cls"),
        &["[-1e6, 1e6]"],
    );
}
