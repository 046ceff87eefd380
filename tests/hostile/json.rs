//! Malformed and truncated JSON text.

use super::*;

#[test]
fn malformed_json_names_line_and_column() {
    let text = base().to_string();
    for cut in [1, 10, text.len() / 2, text.len() - 1] {
        let e = Case::from_json_str(&text[..cut], None, &Limits::default()).expect_err("truncated");
        let Error::Json {
            line,
            column,
            message,
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*line, 1);
        assert!(
            *column >= 1 && *column <= cut + 1,
            "column {column} for a cut at {cut}"
        );
        let msg = e.to_string();
        assert!(msg.starts_with("invalid JSON at line 1 column"), "{msg}");
        // serde_json's own " at line L column C" is not repeated at the end.
        assert!(!message.contains(" at line "), "{msg}");
    }
    let e = Case::from_json_str(
        "{\n  \"format\": \"soft-objectness-case/1\",\n  \"config\": {,}\n}",
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Json {
                line: 3,
                column: 14,
                ..
            }
        ),
        "{e:?}"
    );
    let e =
        Case::from_json_str(&format!("{} trailing", base()), None, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("trailing characters"), "{e}");
    let e = Case::from_json_str("", None, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("EOF while parsing"), "{e}");
}

#[test]
fn number_out_of_f64_range_is_invalid_json() {
    let text = base().to_string().replacen("0.25", "1e400", 1);
    let e = Case::from_json_str(&text, None, &Limits::default()).unwrap_err();
    assert!(matches!(e, Error::Json { .. }), "{e:?}");
    assert!(e.to_string().contains("number out of range"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = Case::from_json_str(&deep, None, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
}

#[test]
fn a_top_level_that_is_not_an_object() {
    for text in ["[1, 2]", "3", "null", "\"case\""] {
        let e = Case::from_json_str(text, None, &Limits::default()).unwrap_err();
        assert_error(&e, Some("(case)"), &["expected an object"]);
    }
}
