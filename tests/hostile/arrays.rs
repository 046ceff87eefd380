//! Arrays: types, lengths, shapes, element and byte limits, text that is not UTF-8.

use super::*;

#[test]
fn data_length_disagrees_with_shape() {
    let e = rejected(
        &with("/inputs/targets/shape", Some(json!([3, 6]))),
        "inputs.targets",
        &["18 data elements for shape [3, 6]", "12 data elements"],
    );
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    rejected(
        &with("/inputs/predictions/0/data", Some(json!(vec![0.0; 111]))),
        "inputs.predictions[0]",
        &["112 data elements", "111 data elements"],
    );
}

#[test]
fn array_fields_of_the_wrong_type_name_their_index() {
    rejected(
        &with("/inputs/targets/shape", Some(json!("2x6"))),
        "inputs.targets.shape",
        &["array of non-negative integers"],
    );
    rejected(
        &with("/inputs/targets/shape/1", Some(json!(-6))),
        "inputs.targets.shape[1]",
        &["non-negative integer", "-6"],
    );
    rejected(
        &with("/inputs/targets/shape/0", Some(json!(1.5))),
        "inputs.targets.shape[0]",
        &["1.5"],
    );
    rejected(
        &with("/inputs/targets/data/3", Some(json!("0.5"))),
        "inputs.targets.data[3]",
        &["a number", "\"0.5\""],
    );
    rejected(
        &with("/inputs/targets/data/7", Some(json!(null))),
        "inputs.targets.data[7]",
        &["null"],
    );
    rejected(
        &with("/inputs/targets/data/2", Some(json!("NaN"))),
        "inputs.targets.data[2]",
        &["finite", "NaN"],
    );
    rejected(
        &with("/inputs/predictions/0/data/5", Some(json!("-Infinity"))),
        "inputs.predictions[0].data[5]",
        &["finite"],
    );
    rejected(
        &with("/inputs/targets", Some(json!([1, 2]))),
        "inputs.targets",
        &["expected an object"],
    );
    rejected(
        &with("/inputs/predictions", Some(json!({"shape": [1]}))),
        "inputs.predictions",
        &["array of layers"],
    );
    rejected(
        &with("/config/anchors/data", Some(json!([1, "a"]))),
        "config.anchors.data[1]",
        &["a number"],
    );
}

#[test]
fn wrong_dimensionality() {
    let mut doc = base();
    doc["inputs"]["targets"] = json!({"shape": [2, 3, 2], "data": vec![0.0; 12]});
    rejected(&doc, "inputs.targets", &["[nt, 6]", "[2, 3, 2]"]);
    let mut doc = base();
    doc["inputs"]["predictions"][0]["shape"] = json!([1, 4, 4, 7]);
    rejected(
        &doc,
        "inputs.predictions[0]",
        &["five dimensions", "[1, 4, 4, 7]"],
    );
    rejected(
        &with("/config/anchors/shape", Some(json!([1, 2]))),
        "config.anchors",
        &["[nl, na, 2]"],
    );
}

#[test]
fn shapes_whose_element_count_overflows_or_exceeds_the_limit() {
    let huge = 1u64 << 32;
    // The product overflows u64.
    let e = rejected(
        &with("/inputs/targets/shape", Some(json!([huge, huge, 6]))),
        "inputs.targets",
        &["exceed the limit of 2147483648"],
    );
    assert!(
        matches!(
            e,
            Error::TooLarge {
                elements: u64::MAX,
                ..
            }
        ),
        "{e:?}"
    );
    // A zero dimension makes the count 0, but ndarray still refuses the other dimensions'
    // product (found by reasoning about the fuzz target; once a panic).
    let e = rejected(
        &with("/inputs/targets/shape", Some(json!([0, huge, huge]))),
        "inputs.targets",
        &["exceed"],
    );
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    // Over the limit: refused from the shape alone, before the data is looked at.
    let tight = Limits {
        max_elements: 100,
        ..Limits::default()
    };
    let doc = with("/inputs/predictions/0/data", Some(json!([])));
    let e = Case::from_json_str(&doc.to_string(), None, &tight).unwrap_err();
    assert_error(
        &e,
        Some("inputs.predictions[0]"),
        &["112 elements exceed the limit of 100"],
    );
    let doc = with("/inputs/targets/shape", Some(json!([1_000_000_000u64, 6])));
    let e = Case::from_json_str(&doc.to_string(), None, &Limits::default()).unwrap_err();
    assert_error(
        &e,
        Some("inputs.targets"),
        &["6000000000 elements exceed the limit"],
    );
}

#[test]
fn json_text_over_the_byte_limit_is_refused_before_parsing() {
    let text = base().to_string();
    let tight = Limits {
        max_json_bytes: 100,
        ..Limits::default()
    };
    // Refused from its length: even malformed text gets the size error, not a parse error.
    let e = Case::from_json_str(&format!("{{{text}"), None, &tight).unwrap_err();
    assert!(matches!(e, Error::JsonTooLarge { limit: 100, .. }), "{e:?}");
    assert!(e.to_string().contains("--max-json-bytes"), "{e}");
    // A file: refused from its size on disk, before it is read.
    let dir = scratch("json_limit");
    let path = dir.join("case.json");
    std::fs::write(&path, &text).unwrap();
    let e = Case::load(&path, &tight).unwrap_err();
    assert!(matches!(e, Error::JsonTooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("case.json"), "{e}");
    Case::load(&path, &Limits::default()).unwrap();
}

#[test]
fn a_case_file_that_is_not_utf8() {
    let dir = scratch("not_utf8");
    let path = dir.join("case.json");
    let mut bytes = b"{\n  \"name\": \"".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"}");
    std::fs::write(&path, bytes).unwrap();
    let e = Case::load(&path, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Json {
                line: 2,
                column: 12,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}
