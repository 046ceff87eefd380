//! Bytes -> a small Config (casegen's one random configuration generator, driven by the bytes,
//! over a space of any numbers) and Inputs built directly (no JSON), with numbers drawn either
//! from a table of extremes or from raw bits -> evaluate (both builders). Finds numeric trouble
//! (NaN, overflow, builder disagreement) faster than the JSON target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndarray::{Array2, Array5};
use rand::RngCore;
use soft_objectness::internals::casegen::{Anchors, ConfigSpace, Draw, SoftLossDraw, random_config};
use soft_objectness::{Assigner, Distance, Inputs, Overlap, Prediction};

#[allow(dead_code)]
#[path = "../../tests/common/invariants.rs"]
mod invariants;

const EXTREMES: [f64; 28] = [
    0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, 5e-324, 1e-6, 1e-3, 1e3, 1e4, -1e4, 1e6, -1e6, 740.0,
    -740.0, 37.0, -37.0, 1e30, -1e30, 3.4e38, -3.4e38, 1e300, 0.999_999, 1.000_001, 4.0, 0.25,
];

/// A number of the configuration: mostly "interesting" (extremes, small fractions), sometimes
/// raw bits.
const NUM: Draw = Draw::Mix(&[
    (1, Draw::Pick(&EXTREMES)),
    (1, Draw::Uniform(-0.5, 1.5)),
    (1, Draw::Uniform(-32.0, 32.0)),
    (1, Draw::Bits),
]);

const ABS: Draw = Draw::Abs(&NUM);

/// Any configuration, legal or not: every number from [`NUM`], mostly the defaults for the
/// positive weights, `anchor_t`, focal and label smoothing.
const ANY: ConfigSpace = ConfigSpace {
    anchors: Anchors::Each(ABS),
    box_gain: Draw::Just(0.05),
    cls: Draw::Just(0.5),
    cls_pw: Draw::Mix(&[(1, NUM), (3, Draw::Just(1.0))]),
    obj: Draw::Just(1.0),
    obj_pw: Draw::Mix(&[(1, NUM), (3, Draw::Just(1.0))]),
    anchor_t: Draw::Mix(&[(1, NUM), (1, Draw::Just(4.0))]),
    fl_gamma: Draw::Mix(&[(1, ABS), (1, Draw::Just(0.0))]),
    label_smoothing: Draw::Mix(&[(1, ABS), (3, Draw::Just(0.0))]),
    assigner: &[
        Assigner::Yolov5,
        Assigner::Soft,
        Assigner::Soft,
        Assigner::Soft,
    ],
    distance: &[
        Distance::CellIndex,
        Distance::Continuous,
        Distance::Diagonal,
    ],
    power: 0.5,
    power_n: ConfigSpace::EXTREME.power_n,
    sigma: ABS,
    soft_loss: &[
        SoftLossDraw::Loss1(ABS),
        SoftLossDraw::Loss2,
        SoftLossDraw::Loss3,
    ],
    overlap: &[Overlap::LastWrite, Overlap::Max],
    autobalance: 0.5,
};

/// The fuzzer's bytes, read in turn (zeros once they run out); also the random source of
/// [`random_config`].
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
    /// A number of the inputs, the byte-level twin of [`NUM`]: one tag byte, then one or eight
    /// bytes.
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

impl RngCore for Bytes<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for x in dst {
            *x = self.byte();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let nl = 1 + b.small(3);
    let na = 1 + b.small(3);
    let nc = 1 + b.small(4);
    let bs = 1 + b.small(2);
    let config = random_config(&mut b, &ANY, nl, na, nc);
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
    let _ = invariants::evaluate_both(&config, &inputs);
});
