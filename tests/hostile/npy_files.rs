//! `.npy` files: malformed, truncated, oversized, and references that leave the case's folder.

use super::*;

/// A `.npy` file's bytes with the given header dictionary text and body.
fn npy_bytes(version: u8, dict: &str, body: &[u8]) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let mut header = dict.to_string();
    while !(prefix + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

fn f8_dict(shape: &str) -> String {
    format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}")
}

fn f64_body(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn npy_err(bytes: &[u8], needles: &[&str]) -> Error {
    let e = npy::decode(bytes, &Limits::default()).expect_err("must be rejected");
    assert!(matches!(e, Error::Npy { .. }), "{e:?}");
    assert_error(&e, None, needles);
    e
}

#[test]
fn npy_round_trip_and_every_supported_version() {
    let body = f64_body(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    for v in [1, 2, 3] {
        let a = npy::decode(&npy_bytes(v, &f8_dict("(2, 3)"), &body), &Limits::default()).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(
            a.into_f64().as_slice().unwrap(),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
    }
    let a = npy::decode(
        &npy_bytes(1, &f8_dict("()"), &f64_body(&[7.0])),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(a.shape(), &[] as &[usize]);
    let dir = scratch("npy_round_trip");
    let arr = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.5f32, -2.0, 0.0, 3.25]).unwrap();
    npy::write(&dir.join("a.npy"), &arr).unwrap();
    let back = npy::read(&dir.join("a.npy"), "x", &Limits::default()).unwrap();
    assert_eq!(back, npy::NpyArray::F32(arr));
}

#[test]
fn npy_malformed_headers_name_the_byte_offset() {
    let body = f64_body(&[1.0, 2.0]);
    let good = npy_bytes(1, &f8_dict("(2,)"), &body);
    npy::decode(&good, &Limits::default()).unwrap();
    npy_err(b"", &["magic", "at byte 0"]);
    npy_err(b"PK\x03\x04 a zip file", &["magic"]);
    npy_err(&good[..9], &["magic"]);
    npy_err(
        &[&good[..6], &[4u8, 0, 10, 0][..]].concat(),
        &["version 4", "at byte 6"],
    );
    npy_err(&good[..11], &["truncated header", "at byte 10"]);
    npy_err(
        &good[..good.len() - 3],
        &["data has 13 bytes", "needs 16", "at byte 128"],
    );
    npy_err(
        &[&good[..], &[0u8][..]].concat(),
        &["data has 17 bytes", "needs 16"],
    );
    npy_err(
        &npy_bytes(2, &f8_dict("(2,)"), &body)[..11],
        &["truncated header length", "at byte 10"],
    );
    // A hostile header length is refused before it is allocated.
    let mut long = good.clone();
    long[6] = 2;
    long.splice(8..10, 0xffff_fff0u32.to_le_bytes());
    npy_err(&long, &["header length 4294967280 exceeds"]);
    npy_err(
        &npy_bytes(
            1,
            "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
            &body,
        ),
        &["'<i8'", "not supported"],
    );
    npy_err(
        &npy_bytes(
            1,
            "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
            &body,
        ),
        &["'>f8'"],
    );
    npy_err(
        &npy_bytes(
            1,
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }",
            &body,
        ),
        &["Fortran"],
    );
    npy_err(
        &npy_bytes(1, "{'descr': '<f8', 'shape': (2,), }", &body),
        &["no 'fortran_order'"],
    );
    npy_err(
        &npy_bytes(1, "{'fortran_order': False, 'shape': (2,), }", &body),
        &["no 'descr'"],
    );
    npy_err(
        &npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, }", &body),
        &["no 'shape'"],
    );
    npy_err(&npy_bytes(1, &f8_dict("[2]"), &body), &["malformed shape"]);
    npy_err(&npy_bytes(1, &f8_dict("(2"), &body), &["malformed shape"]);
    npy_err(
        &npy_bytes(1, &f8_dict("(-2,)"), &body),
        &["malformed shape entry \"-2\""],
    );
    npy_err(&npy_bytes(1, &f8_dict("(2, x)"), &body), &["\"x\""]);
    let mut not_text = good.clone();
    not_text[12] = 0xff;
    npy_err(&not_text, &["not text", "at byte 12"]);
}

#[test]
fn npy_shapes_over_the_limit_are_refused_before_reading_data() {
    // The header claims 2^40 elements and the file holds none: refused from the shape.
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(1048576, 1048576)"), &[]),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                elements: 1_099_511_627_776,
                ..
            }
        ),
        "{e:?}"
    );
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(18446744073709551615, 2)"), &[]),
        &Limits::default(),
    )
    .unwrap_err();
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
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(0, 4294967296, 4294967296)"), &[]),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    let tight = Limits {
        max_elements: 3,
        ..Limits::default()
    };
    let e = npy::decode(
        &npy_bytes(1, &f8_dict("(2, 2)"), &f64_body(&[0.0; 4])),
        &tight,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("4 elements exceed the limit of 3"),
        "{e}"
    );
}

#[test]
fn npy_non_finite_elements_name_their_index() {
    let e = npy::decode(
        &npy_bytes(
            1,
            &f8_dict("(2, 3)"),
            &f64_body(&[0.0, 1.0, 2.0, 3.0, f64::NAN, 5.0]),
        ),
        &Limits::default(),
    )
    .unwrap_err();
    assert_error(&e, Some("(npy) at [1, 1]"), &["NaN", "finite"]);
    let f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    let body: Vec<u8> = [0.0f32, f32::NEG_INFINITY, 1.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let e = npy::decode(&npy_bytes(1, f4, &body), &Limits::default()).unwrap_err();
    assert_error(&e, Some("(npy) at [1]"), &["-inf"]);
}

#[test]
fn npy_references_in_a_case() {
    let dir = scratch("npy_refs");
    let targets = ArrayD::from_shape_vec(
        IxDyn(&[2, 6]),
        vec![
            0.0, 0.0, 0.4, 0.55, 0.43, 0.3, 0.0, 1.0, 0.1, 0.9, 0.2, 0.15,
        ],
    )
    .unwrap();
    npy::write(&dir.join("t.npy"), &targets).unwrap();
    let write_case = |doc: &Value| {
        let path = dir.join("case.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        path
    };
    // Valid: the same case as `base()`.
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "t.npy"}))));
    assert_eq!(
        Case::load(&path, &Limits::default())
            .unwrap()
            .inputs
            .targets,
        parse(&base()).unwrap().inputs.targets
    );
    // Truncated file: an .npy error naming the file and offset.
    let bytes = std::fs::read(dir.join("t.npy")).unwrap();
    std::fs::write(dir.join("short.npy"), &bytes[..bytes.len() - 5]).unwrap();
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "short.npy"}))));
    let e = Case::load(&path, &Limits::default()).unwrap_err();
    assert!(
        e.to_string().starts_with("invalid .npy ") && e.to_string().contains("short.npy"),
        "{e}"
    );
    assert!(e.to_string().contains("at byte 128"), "{e}");
    // Missing file: an error naming the field that referenced it, the file and the folder rule.
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "absent.npy"}))));
    let e = Case::load(&path, &Limits::default()).unwrap_err();
    assert_eq!(e.field(), Some("inputs.targets.npy"), "{e}");
    assert!(
        e.to_string().contains("absent.npy") && e.to_string().contains("no such file in"),
        "{e}"
    );
    // A folder, or anything that is not a regular file (a FIFO would block forever).
    std::fs::create_dir_all(dir.join("sub.npy")).unwrap();
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": "sub.npy"}))));
    assert!(
        Case::load(&path, &Limits::default())
            .unwrap_err()
            .to_string()
            .contains("not a regular file")
    );
    // References that leave the case's folder.
    for bad in ["../t.npy", "/etc/passwd", "", "sub/../../t.npy"] {
        let path = write_case(&with("/inputs/targets", Some(json!({"npy": bad}))));
        let e = Case::load(&path, &Limits::default()).unwrap_err();
        assert_error(
            &e,
            Some("inputs.targets.npy"),
            &["relative path inside the case's directory"],
        );
    }
    let path = write_case(&with("/inputs/targets", Some(json!({"npy": 3}))));
    assert_error(
        &Case::load(&path, &Limits::default()).unwrap_err(),
        Some("inputs.targets.npy"),
        &["a string"],
    );
}
