//! Large inputs and outputs as `.npy`: cases referencing arrays stored beside them give the
//! same answer as their JSON form, f32 and f64 round trip bit for bit, and answer folders
//! (`eval --out-dir`) read back exactly; the realistic batch goes through both ways.

mod common;

use std::path::Path;
use std::time::Instant;

use common::assert_bits_eq;
use ndarray::{ArrayD, IxDyn};
use soft_objectness::casegen::{CaseSpace, Cases, Generate, WriteOptions, generate, write_case};
use soft_objectness::conformance::{CheckOptions, Tolerances, check};
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::{Answer, Case, EvalOptions, Inputs, Limits, Prediction, evaluate, npy};

/// Random case `k` of seed 0, anywhere in the random space.
fn random_case(k: u64) -> Case {
    let request = Generate::new(
        Cases::Random {
            count: k + 1,
            space: CaseSpace::default(),
        },
        0,
    );
    generate(&request).unwrap().remove(k as usize).case
}

/// The edge mix of seed `seed`.
fn edge_cases(seed: u64) -> Vec<Case> {
    let request = Generate::new(Cases::Edge, seed);
    generate(&request)
        .unwrap()
        .into_iter()
        .map(|g| g.case)
        .collect()
}

/// Writes `c` as `DIR/STEM.json`, its predictions inline or as `.npy` files.
fn write(c: &Case, dir: &Path, stem: &str, npy: bool) -> Vec<std::path::PathBuf> {
    write_case(c, dir, stem, &WriteOptions { npy, force: false }).unwrap()
}

/// Checks `a` against the oracle's evaluation of `c` under `tolerances`.
fn check_with(
    c: &Case,
    a: &Answer,
    tolerances: Tolerances,
) -> soft_objectness::conformance::Report {
    let mut opts = CheckOptions::default();
    opts.tolerances = tolerances;
    check(&c.config, &c.inputs, a, &opts).unwrap()
}

fn with_f64_predictions(c: &Case) -> Case {
    Case {
        inputs: Inputs {
            targets: c.inputs.targets.clone(),
            predictions: c
                .inputs
                .predictions
                .iter()
                .map(|p| Prediction::F64(p.to_f64()))
                .collect(),
        },
        ..c.clone()
    }
}

fn answer_json(c: &Case) -> String {
    let e = evaluate(&c.config, &c.inputs, &EvalOptions::default()).unwrap();
    serde_json::to_string(&Answer::from_evaluation(&e, &c.config)).unwrap()
}

#[test]
fn npy_predictions_in_f32_and_f64_give_the_answer_of_the_json_form() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut cases: Vec<Case> = (0..6).map(random_case).collect();
    cases.extend(edge_cases(9).into_iter().step_by(7));
    for (k, c) in cases.iter().enumerate() {
        let inline = write(c, d, &format!("inline{k}"), false);
        let inline = Case::load(&inline[0], &Limits::default()).unwrap();
        let f32_files = write(c, d, &format!("f32-{k}"), true);
        let f64_files = write(&with_f64_predictions(c), d, &format!("f64-{k}"), true);
        assert_eq!(f32_files.len(), 1 + c.config.nl());
        let from_f32 = Case::load(&f32_files[0], &Limits::default()).unwrap();
        let from_f64 = Case::load(&f64_files[0], &Limits::default()).unwrap();
        // The .npy files keep their precision; JSON is read as f64.
        assert!(
            from_f32
                .inputs
                .predictions
                .iter()
                .all(|p| matches!(p, Prediction::F32(_)))
        );
        assert!(
            from_f64
                .inputs
                .predictions
                .iter()
                .all(|p| matches!(p, Prediction::F64(_)))
        );
        assert_eq!(
            from_f32.inputs.predictions, c.inputs.predictions,
            "{}",
            c.name
        );
        for other in [&from_f32, &from_f64] {
            assert_eq!(other.config, inline.config);
            assert_eq!(other.inputs.targets, inline.inputs.targets);
            for (x, y) in other
                .inputs
                .predictions
                .iter()
                .zip(&inline.inputs.predictions)
            {
                assert_eq!(x.to_f64(), y.to_f64());
            }
        }
        // Byte-identical answers.
        let want = answer_json(&inline);
        assert_eq!(answer_json(&from_f32), want, "{}", c.name);
        assert_eq!(answer_json(&from_f64), want, "{}", c.name);
    }
}

#[test]
fn targets_may_be_npy_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = random_case(4);
    let files = write(&c, d, "c", true);
    npy::write(&d.join("t.npy"), &c.inputs.targets.clone().into_dyn()).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    v["inputs"]["targets"] = serde_json::json!({"npy": "t.npy"});
    std::fs::write(d.join("t.json"), v.to_string()).unwrap();
    let back = Case::load(d.join("t.json"), &Limits::default()).unwrap();
    assert_eq!(back.inputs.targets, c.inputs.targets);
    assert_eq!(answer_json(&back), answer_json(&c));
}

/// Every element widened to f64 (exact for f32, and distinct f32 bits stay distinct: no NaN
/// here), for [`assert_bits_eq`].
fn widened<T: Copy + Into<f64>>(a: &ArrayD<T>) -> Vec<f64> {
    a.iter().map(|&x| x.into()).collect()
}

#[test]
fn npy_round_trips_f32_and_f64_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let specials64 = [
        0.0,
        -0.0,
        1.0,
        -1.5,
        f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
        -f64::MAX,
        0.1,
        1.0 / 3.0,
    ];
    let specials32 = [
        0.0f32,
        -0.0,
        1.0,
        -1.5,
        f32::MIN_POSITIVE,
        1e-45,
        f32::MAX,
        -f32::MAX,
        0.1,
        1.0 / 3.0,
    ];
    for shape in [
        vec![10],
        vec![2, 5],
        vec![1, 2, 1, 5, 1],
        vec![0, 6],
        vec![2, 0, 3],
    ] {
        let n: usize = shape.iter().product();
        let a64 =
            ArrayD::from_shape_vec(IxDyn(&shape), (0..n).map(|i| specials64[i % 10]).collect())
                .unwrap();
        let a32 =
            ArrayD::from_shape_vec(IxDyn(&shape), (0..n).map(|i| specials32[i % 10]).collect())
                .unwrap();
        let (p64, p32) = (d.join("a64.npy"), d.join("a32.npy"));
        npy::write(&p64, &a64).unwrap();
        npy::write(&p32, &a32).unwrap();
        match npy::read(&p64, "a64", &Limits::default()).unwrap() {
            npy::NpyArray::F64(b) => {
                assert_eq!(b.shape(), &shape[..]);
                assert_bits_eq(&widened(&b), &widened(&a64), "f64 round trip");
            }
            other => panic!("f64 came back as {other:?}"),
        }
        match npy::read(&p32, "a32", &Limits::default()).unwrap() {
            npy::NpyArray::F32(b) => {
                assert_eq!(b.shape(), &shape[..]);
                assert_bits_eq(&widened(&b), &widened(&a32), "f32 round trip");
            }
            other => panic!("f32 came back as {other:?}"),
        }
        // The header is what NumPy writes: version 1.0, 64-byte aligned data.
        let bytes = std::fs::read(&p64).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(bytes.len(), 10 + hlen + 8 * n);
    }
}

fn assert_answers_equal(a: &Answer, b: &Answer) {
    // Field by field first, for a readable failure.
    assert_eq!(a.loss, b.loss);
    assert_eq!(a.counts, b.counts);
    assert_eq!(a.matched, b.matched);
    assert_eq!(a.tobj, b.tobj);
    assert_eq!(a.grad, b.grad);
    assert_eq!(a, b);
}

#[test]
fn answer_folders_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for (k, c) in edge_cases(2).iter().enumerate().step_by(5) {
        let e = evaluate(&c.config, &c.inputs, &EvalOptions::default()).unwrap();
        let out = dir.path().join(format!("a{k}"));
        let files = Answer::write_dir(&out, &e, &c.config).unwrap();
        assert_eq!(files.len(), 1 + 2 * c.config.nl());
        assert_eq!(files[0], out.join("answer.json"));
        let back = Answer::load(&out, &Limits::default()).unwrap();
        assert_answers_equal(&back, &Answer::from_evaluation(&e, &c.config));
        assert!(check_with(c, &back, Tolerances::F64).conforms());
        // The file itself works too.
        assert_eq!(
            Answer::load(out.join("answer.json"), &Limits::default()).unwrap(),
            back
        );
    }
}

#[test]
fn answer_folders_with_f32_arrays_are_widened() {
    // Another implementation may store its tobj and grad as float32.
    let dir = tempfile::tempdir().unwrap();
    let c = random_case(1);
    let e = evaluate(&c.config, &c.inputs, &EvalOptions::default()).unwrap();
    let out = dir.path().join("a");
    Answer::write_dir(&out, &e, &c.config).unwrap();
    for l in 0..c.config.nl() {
        let g = e.grad.dense_layer(l).mapv(|x| x as f32).into_dyn();
        npy::write(&out.join(format!("grad_{l}.npy")), &g).unwrap();
    }
    let back = Answer::load(&out, &Limits::default()).unwrap();
    let r = check_with(&c, &back, Tolerances::F32);
    assert!(r.conforms(), "{r}");
    let grad = r.fields.iter().find(|f| f.field == "grad").unwrap();
    assert!(
        grad.max_abs_err > 0.0 && grad.max_rel_err < 1e-7,
        "{grad:?}"
    );
}

fn size_of_dir(d: &Path) -> u64 {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn the_realistic_batch_goes_through_npy() {
    // The default batch: 16 images of 640x640, 80 classes, YOLOv5s anchors (34 million
    // prediction values). JSON would take gigabytes; .npy keeps it at the size of the data.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = DefaultBatch::standard(8);
    let (config, inputs) = w.build().unwrap();
    let case = Case {
        name: "default batch".into(),
        config,
        inputs,
        expected: None,
        warnings: Vec::new(),
    };
    let t0 = Instant::now();
    let files = write(&case, &d.join("case"), "batch", true);
    let t_write = t0.elapsed();
    let t1 = Instant::now();
    let loaded = Case::load(&files[0], &Limits::default()).unwrap();
    let t_load = t1.elapsed();
    assert_eq!(loaded.inputs, case.inputs);
    let t2 = Instant::now();
    let e = evaluate(&loaded.config, &loaded.inputs, &EvalOptions::default()).unwrap();
    let t_eval = t2.elapsed();
    let t3 = Instant::now();
    Answer::write_dir(&d.join("answer"), &e, &loaded.config).unwrap();
    let t_answer = t3.elapsed();
    let t4 = Instant::now();
    let back = Answer::load(d.join("answer"), &Limits::default()).unwrap();
    let report = check_with(&loaded, &back, Tolerances::F64);
    let t_check = t4.elapsed();
    assert!(report.conforms(), "{report}");
    assert!(report.fields.iter().all(|f| f.max_abs_err == 0.0));
    let values: usize = case
        .inputs
        .predictions
        .iter()
        .map(|p| p.shape().iter().product::<usize>())
        .sum();
    assert_eq!(values, 16 * 3 * (80 * 80 + 40 * 40 + 20 * 20) * 85);
    eprintln!(
        "default batch: {values} values; case {} MB written in {t_write:.2?}, loaded in {t_load:.2?}; \
         evaluated in {t_eval:.2?}; answer {} MB written in {t_answer:.2?}; read back and compared in {t_check:.2?}",
        size_of_dir(&d.join("case")) / 1_000_000,
        size_of_dir(&d.join("answer")) / 1_000_000,
    );
}
