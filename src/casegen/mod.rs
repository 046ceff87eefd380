//! Seeded case generation (`softobj gen`, Python's `gen_cases`): random cases over every
//! option and shape, and the *edge mix*, a fixed list of small cases that together exercise
//! every rule of the spec. [`generate`] makes them, named and optionally with the oracle's
//! answer; [`write_case`] writes one to disk.
//!
//! The random space varies the configuration (both assigners, the three distances, power and
//! Gaussian scores, the three soft losses, both overlap rules, focal loss, label smoothing,
//! positive weights, `anchor_t`, autobalance, both CIoU releases) and the shape of the problem:
//! 1 to 5 layers of 1 to 4 anchors (0.75 to 6 cells), 1 to 4 images of 32 to 128 pixels a side
//! (non-square too; the finest layer has `W/8 x H/8` cells, each further layer half that,
//! rounded up), 1 to 8 classes, 0 to 8 boxes per image (images without boxes, boxes leaving
//! the image, centres on its borders and corners). A [`CaseSpace`] narrows it to what a port
//! supports.
//!
//! Everything is a function of the seed (and the case's index): the same request gives the
//! same cases, bit for bit, and the same files byte for byte.
//!
//! Generated inputs are friendly to single-precision implementations: prediction logits are
//! multiples of `2^-10` and target coordinates multiples of `2^-12`, so they are exact in
//! f32, and `x * nx`, `gw / 2`, `gx - gw / 2` are exact in f32 too for grids up to 2048 cells:
//! an f32 port sees the oracle's cell ranges.
//!
//! The parts: `space` (the restrictions, [`CaseSpace`]), `random` (the seeded streams, the one random configuration generator over a
//! space of options, random targets, predictions and whole cases), `edge` (the edge mix, a
//! table of rows turned into cases), `write` (case files).
//!
//! ```
//! use soft_objectness::casegen::{CaseSpace, Cases, Generate, generate};
//! let space = CaseSpace::parse("assigner=yolov5,nl=1|2").unwrap();
//! let request = Generate::new(Cases::Random { count: 2, space: space.clone() }, 3);
//! let cases = generate(&request).unwrap();
//! assert_eq!(cases[1].stem, "case-001");
//! assert!(cases.iter().all(|g| space.contains(&g.case) && g.case.config.nl() <= 2));
//! assert_eq!(cases, generate(&request).unwrap()); // deterministic
//!
//! let mut edge = Generate::new(Cases::Edge, 3);
//! edge.with_expected = true; // the oracle's answer in each case's `expected`
//! let edges = generate(&edge).unwrap();
//! assert!(edges.iter().any(|g| g.stem.ends_with("-empty-targets")));
//! assert!(edges.iter().all(|g| g.case.expected.is_some()));
//! ```

pub(crate) mod edge;
pub(crate) mod random;
pub(crate) mod space;
pub(crate) mod write;

pub use space::CaseSpace;
pub use write::{WriteOptions, write_case};

use edge::edge_cases;
use random::random_case;

use crate::answer::Answer;
use crate::case::Case;
use crate::error::Result;
use crate::eval::evaluate;
use crate::options::EvalOptions;

/// Which cases to generate.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Cases {
    /// `count` random cases within `space`.
    Random {
        /// How many.
        count: u64,
        /// The options and shapes they may take ([`CaseSpace::default`]: every one).
        space: CaseSpace,
    },
    /// The edge mix: a fixed list of small cases (names stable, predictions drawn from the
    /// seed) covering every rule of the spec, each on its own grids.
    Edge,
}

/// A request for cases: which, under which seed, with or without the oracle's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Generate {
    /// Which cases.
    pub cases: Cases,
    /// Seed of every random choice; the same seed gives the same cases.
    pub seed: u64,
    /// Attach the oracle's answer as each case's `expected` (fixtures instead of queries).
    pub with_expected: bool,
}

impl Generate {
    /// A request for `cases` under `seed`, without answers.
    pub fn new(cases: Cases, seed: u64) -> Generate {
        Generate {
            cases,
            seed,
            with_expected: false,
        }
    }
}

/// One generated case with the stem of its file names (`case-000`, `edge-00-KEY`).
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The file stem: `case-NNN` for random case `NNN`, `edge-NN-KEY` for edge case `NN`.
    pub stem: String,
    /// The case.
    pub case: Case,
}

/// The cases of `request`, in order. Every case is validated, and with `with_expected`
/// evaluated once on the CPU (the default soft builder) for its `expected`: a case the oracle
/// refuses is a bug of the generator.
///
/// # Errors
/// [`Error::TooLarge`](crate::Error::TooLarge) for a space whose shapes exceed the element
/// limit; an evaluation error (a bug) otherwise.
pub fn generate(request: &Generate) -> Result<Vec<Generated>> {
    let mut out: Vec<Generated> = match &request.cases {
        Cases::Edge => edge_cases(request.seed)
            .into_iter()
            .enumerate()
            .map(|(k, case)| Generated {
                stem: format!("edge-{k:02}-{}", write::stem(&case)),
                case,
            })
            .collect(),
        Cases::Random { count, space } => (0..*count)
            .map(|k| {
                random_case(space, request.seed, k).map(|case| Generated {
                    stem: format!("case-{k:03}"),
                    case,
                })
            })
            .collect::<Result<_>>()?,
    };
    for g in &mut out {
        let case = &mut g.case;
        if request.with_expected {
            let e = evaluate(&case.config, &case.inputs, &EvalOptions::default())?;
            case.expected = Some(Answer::from_evaluation(&e, &case.config));
        } else {
            case.config.validate()?;
            case.inputs.validate(&case.config)?;
        }
    }
    Ok(out)
}
