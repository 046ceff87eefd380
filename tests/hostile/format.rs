//! The case format: `format`, missing fields, unknown kinds, modes and keys, hostile strings.

use super::*;

#[test]
fn unknown_or_missing_format() {
    let e = rejected(
        &with("/format", Some(json!("soft-objectness-case/2"))),
        "format",
        &["soft-objectness-case/2"],
    );
    assert!(
        e.to_string().contains("accepted: soft-objectness-case/1"),
        "{e}"
    );
    rejected(
        &with("/format", None),
        "format",
        &["missing required field"],
    );
    rejected(
        &with("/format", Some(json!(1))),
        "format",
        &["expected a string", "number 1"],
    );
}

#[test]
fn missing_required_fields() {
    rejected(&with("/inputs", None), "inputs", &["missing"]);
    rejected(
        &with("/inputs/targets", None),
        "inputs.targets",
        &["missing"],
    );
    rejected(
        &with("/inputs/predictions", None),
        "inputs.predictions",
        &["missing"],
    );
    rejected(
        &with("/inputs/targets/shape", None),
        "inputs.targets.shape",
        &["missing"],
    );
    rejected(
        &with("/inputs/targets/data", None),
        "inputs.targets.data",
        &["missing"],
    );
    rejected(
        &with("/inputs/predictions/0/data", None),
        "inputs.predictions[0].data",
        &["missing"],
    );
    rejected(
        &with("/config/score", Some(json!({"n": 2}))),
        "config.score.kind",
        &["missing"],
    );
    rejected(
        &with("/config/score", Some(json!({"kind": "power"}))),
        "config.score.n",
        &["missing"],
    );
    rejected(
        &with("/config/soft_loss", Some(json!({}))),
        "config.soft_loss.kind",
        &["missing"],
    );
    // nc may be omitted only when the predictions say it.
    let mut doc = with("/config/nc", None);
    assert_eq!(parse(&doc).unwrap().config.nc, 2);
    doc["inputs"]["predictions"] = json!([]);
    rejected(&doc, "config.nc", &["missing"]);
}

#[test]
fn unknown_kinds_and_modes_echo_the_value_and_list_the_accepted_ones() {
    let cases = [
        (
            "/config/assigner",
            json!("yolov8"),
            "config.assigner",
            "soft, yolov5",
        ),
        (
            "/config/distance",
            json!("euclid"),
            "config.distance",
            "cell_index, continuous, diagonal",
        ),
        (
            "/config/overlap",
            json!("min"),
            "config.overlap",
            "last_write, max",
        ),
        (
            "/config/score",
            json!({"kind": "cosine"}),
            "config.score.kind",
            "power, gaussian",
        ),
        (
            "/config/soft_loss",
            json!({"kind": "loss4"}),
            "config.soft_loss.kind",
            "loss1, loss2, loss3",
        ),
    ];
    for (ptr, v, field, accepted) in cases {
        let shown = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v["kind"].as_str().unwrap().to_string());
        let e = rejected(
            &with(ptr, Some(v)),
            field,
            &[&format!("`{shown}`"), accepted],
        );
        assert!(matches!(e, Error::UnknownValue { .. }), "{e:?}");
    }
    // A value of the wrong type lists the accepted ones too.
    rejected(
        &with("/config/distance", Some(json!(3))),
        "config.distance",
        &["cell_index, continuous, diagonal", "number 3"],
    );
    rejected(
        &with("/config/autobalance", Some(json!("yes"))),
        "config.autobalance",
        &["a boolean", "\"yes\""],
    );
}

#[test]
fn unknown_config_keys_list_the_accepted_ones() {
    let e = rejected(
        &with("/config/sigma", Some(json!(1.0))),
        "config",
        &["`sigma`", "nc, anchors, hyp"],
    );
    assert!(matches!(e, Error::UnknownKey { .. }), "{e:?}");
    rejected(
        &with("/config/hyp", Some(json!({"fl_gama": 1.5}))),
        "config.hyp",
        &["`fl_gama`", "fl_gamma"],
    );
    rejected(
        &with(
            "/config/score",
            Some(json!({"kind": "power", "n": 2, "sigma": 1})),
        ),
        "config.score",
        &["`sigma`", "kind, n"],
    );
    rejected(
        &with(
            "/config/soft_loss",
            Some(json!({"kind": "loss2", "gamma": 1})),
        ),
        "config.soft_loss",
        &["`gamma`"],
    );
}

#[test]
fn hostile_strings_are_shortened_in_messages() {
    let long = "x".repeat(100_000);
    let e = parse(&with("/config/distance", Some(json!(long)))).unwrap_err();
    assert!(e.to_string().len() < 300, "{} bytes", e.to_string().len());
    assert!(e.to_string().contains("xxx..."), "{e}");
    let e = parse(&with(&format!("/config/{long}"), Some(json!(1)))).unwrap_err();
    assert!(e.to_string().len() < 300);
}
