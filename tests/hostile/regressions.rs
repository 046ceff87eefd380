//! Regressions: one per crash the fuzzer found (fuzz/, docs/reliability.md).

use super::*;

/// eval_struct, first run: label_smoothing 17.5 made the class targets -7.75 and 8.75, so
/// focal's `1 - p_t` went negative and `powf(17.5)` gave NaN. Now label_smoothing must lie in
/// [0, 1].
#[test]
fn fuzz_label_smoothing_outside_0_1_made_focal_nan() {
    let config = Config {
        nc: 4,
        anchors: array![[[1.0, 17.5]]],
        hyp: Hyp {
            anchor_t: 17.5,
            fl_gamma: 17.5,
            label_smoothing: 17.5,
            ..Hyp::default()
        },
        distance: soft_objectness::Distance::Continuous,
        score: Score::Power { n: 38 },
        ..Config::default()
    };
    let pattern = [1.1015625, 1.1015625, 1.1015625, 17.5, -0.5, 0.5];
    let p = Array5::from_shape_fn((2, 1, 8, 8, 9), |(i, j, k, l, m)| {
        pattern[(i + j + k + l + m) % 6] as f32
    });
    let inputs = Inputs {
        targets: array![[1.0, 0.0, 1.1015625, 1.1015625, 1.1015625, 1.1015625]],
        predictions: vec![Prediction::F32(p)],
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap_err();
    assert_error(&e, Some("config.hyp.label_smoothing"), &["[0, 1]", "17.5"]);
    let config = Config {
        hyp: Hyp {
            label_smoothing: 1.0,
            ..config.hyp
        },
        ..config
    };
    let e = evaluate(&config, &inputs, &EvalOptions::default()).unwrap();
    assert!(e.loss.is_finite());
}

/// An answer checked by `softobj check` follows the case reader's rule for `.npy` references:
/// relative paths inside the answer's folder only.
#[test]
fn answer_npy_references_stay_inside_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["../outside.npy", "/etc/passwd"] {
        let answer = dir.path().join("answer.json");
        std::fs::write(
            &answer,
            format!(r#"{{"loss": 1.0, "tobj": [{{"npy": "{bad}"}}]}}"#),
        )
        .unwrap();
        let e = soft_objectness::Answer::load(&answer, &Limits::default()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("relative path inside"), "{bad}: {msg}");
    }
}
