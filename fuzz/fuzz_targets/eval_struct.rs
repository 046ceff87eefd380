//! Bytes -> a small Config and Inputs built directly (no JSON), with numbers drawn either from
//! a table of extremes or from raw bits -> evaluate (both builders). Finds numeric trouble
//! (NaN, overflow, builder disagreement) faster than the JSON target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndarray::{Array2, Array3, Array5};
use soft_objectness::{
    Assigner, Config, Distance, Hyp, Inputs, Overlap, Prediction, Score, SoftLoss,
};

#[path = "common.rs"]
mod common;

const EXTREMES: [f64; 28] = [
    0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, 5e-324, 1e-6, 1e-3, 1e3, 1e4, -1e4, 1e6, -1e6, 740.0,
    -740.0, 37.0, -37.0, 1e30, -1e30, 3.4e38, -3.4e38, 1e300, 0.999_999, 1.000_001, 4.0, 0.25,
];

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    /// A number: mostly "interesting" (extremes, small fractions), sometimes raw bits.
    fn num(&mut self) -> f64 {
        let tag = self.byte();
        match tag % 4 {
            0 => EXTREMES[usize::from(self.byte()) % EXTREMES.len()],
            1 => f64::from(self.byte()) / 128.0 - 0.5, // [-0.5, 1.5)
            2 => f64::from(self.byte() as i8) / 4.0,
            _ => {
                let mut b = [0u8; 8];
                for x in &mut b {
                    *x = self.byte();
                }
                f64::from_le_bytes(b)
            }
        }
    }
    fn small(&mut self, n: u8) -> usize {
        usize::from(self.byte() % n)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let nl = 1 + b.small(3);
    let na = 1 + b.small(3);
    let nc = 1 + b.small(4);
    let bs = 1 + b.small(2);
    let mut anchors = Array3::zeros((nl, na, 2));
    for v in anchors.iter_mut() {
        *v = b.num().abs();
    }
    let hyp = Hyp {
        box_gain: 0.05,
        cls: 0.5,
        cls_pw: if b.byte() % 4 == 0 { b.num() } else { 1.0 },
        obj: 1.0,
        obj_pw: if b.byte() % 4 == 0 { b.num() } else { 1.0 },
        anchor_t: if b.byte() % 2 == 0 { b.num() } else { 4.0 },
        fl_gamma: if b.byte() % 2 == 0 {
            b.num().abs()
        } else {
            0.0
        },
        label_smoothing: if b.byte() % 4 == 0 {
            b.num().abs()
        } else {
            0.0
        },
    };
    let score = if b.byte() % 2 == 0 {
        Score::Power {
            n: 2 * u32::from(b.byte() % 51),
        }
    } else {
        Score::Gaussian {
            sigma: b.num().abs(),
        }
    };
    let soft_loss = match b.byte() % 3 {
        0 => SoftLoss::Loss1 {
            gamma: b.num().abs(),
        },
        1 => SoftLoss::Loss2,
        _ => SoftLoss::Loss3,
    };
    let config = Config {
        nc,
        anchors,
        hyp,
        assigner: if b.byte() % 4 == 0 {
            Assigner::Yolov5
        } else {
            Assigner::Soft
        },
        distance: [
            Distance::CellIndex,
            Distance::Continuous,
            Distance::Diagonal,
        ][b.small(3)],
        score,
        soft_loss,
        overlap: if b.byte() % 2 == 0 {
            Overlap::LastWrite
        } else {
            Overlap::Max
        },
        autobalance: b.byte() % 2 == 0,
    };
    let nt = b.small(12);
    let mut targets = Array2::zeros((nt, 6));
    for mut row in targets.outer_iter_mut() {
        row[0] = f64::from(b.byte() % 3);
        row[1] = f64::from(b.byte() % 5);
        for c in 2..6 {
            row[c] = b.num();
        }
    }
    // Logits: a short pattern from the input, repeated over the layer.
    let pattern: Vec<f64> = (0..1 + b.small(8)).map(|_| b.num()).collect();
    let f32_layers = b.byte() % 2 == 0;
    let predictions = (0..nl)
        .map(|_| {
            let (ny, nx) = (1 + b.small(9), 1 + b.small(9));
            let a = Array5::from_shape_fn((bs, na, ny, nx, 5 + nc), |(i, j, k, l, m)| {
                pattern[(i + j + k + l + m) % pattern.len()]
            });
            if f32_layers {
                Prediction::F32(a.mapv(|v| v as f32))
            } else {
                Prediction::F64(a)
            }
        })
        .collect();
    let inputs = Inputs {
        targets,
        predictions,
    };
    if std::env::var_os("FUZZ_SHOW").is_some() {
        // Replaying an artifact: show the case before the checks run.
        eprintln!(
            "{config:?}\ntargets {:?}\nlogit pattern {pattern:?} (f32: {f32_layers})",
            inputs.targets
        );
        for p in &inputs.predictions {
            eprintln!("layer shape {:?}", p.shape());
        }
        eprintln!(
            "{:?}",
            soft_objectness::evaluate(&config, &inputs, &Default::default())
                .map(|e| (e.loss, e.lbox, e.lobj, e.lcls, e.balance))
        );
    }
    common::evaluate_both(&config, &inputs);
});
