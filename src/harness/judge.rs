//! Judging one case: the oracle's evaluation, the port's call (timed, a late answer recorded
//! as timed out, a panic as raised), the comparison under the run's tolerances and, when the
//! port's precision is in question, under the `f32` preset too.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use super::features::Facts;
use super::options::HarnessOptions;
use super::port::{Port, PortFailure};
use super::precision;
use crate::answer::Answer;
use crate::case::Case;
use crate::conformance::{Report, Tolerances, compare};
use crate::error::Result;
use crate::eval::evaluate_cpu;
use crate::result::Evaluation;
use crate::targets::SoftBuilder;
use crate::workspace::Workspace;

/// What a case came to.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// The port answered; its answer judged.
    Answered {
        /// The report under the run's tolerances.
        report: Box<Report>,
        /// The report under the `f32` preset, when the run's tolerances are tighter and the
        /// answer does not conform under them.
        report_f32: Option<Box<Report>>,
        /// Every value of the answer is a float32 value (and some is not an integer).
        exact_f32: bool,
        /// The compared fields that hold a NaN or an infinity.
        non_finite: Vec<String>,
    },
    /// The port gave no answer.
    Failed(PortFailure),
}

impl Outcome {
    /// The report the attribution reads: under the `f32` preset when `f32` and there is one.
    pub(crate) fn report(&self, f32: bool) -> Option<&Report> {
        match self {
            Outcome::Answered {
                report, report_f32, ..
            } => Some(report_f32.as_deref().filter(|_| f32).unwrap_or(report)),
            Outcome::Failed(_) => None,
        }
    }

    /// Whether the case conforms under the run's tolerances, or under the `f32` preset.
    pub(crate) fn conforms(&self, f32: bool) -> bool {
        self.report(f32).is_some_and(Report::conforms)
    }
}

/// One judged case.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    /// Its name: a file stem (`edge-03-leave-top`, `case-007`).
    pub name: String,
    /// The case.
    pub case: Case,
    /// What attribution reads besides its options.
    pub facts: Facts,
    /// What it came to.
    pub outcome: Outcome,
    /// Seconds the port took.
    pub seconds: f64,
}

/// The judge of a run: its options, the oracle's buffers, and the port's tally.
pub(crate) struct Judge<'o> {
    pub opts: &'o HarnessOptions,
    ws: Workspace,
    /// The tolerances of the `f32` re-judgement, when the run's are tighter than the preset.
    pub f32_tolerances: Option<Tolerances>,
    /// Port calls so far.
    pub calls: usize,
    /// Seconds spent in the port so far.
    pub port_seconds: f64,
}

impl<'o> Judge<'o> {
    pub(crate) fn new(opts: &'o HarnessOptions) -> Judge<'o> {
        Judge {
            opts,
            ws: Workspace::new(),
            f32_tolerances: precision::rejudging(&opts.tolerances),
            calls: 0,
            port_seconds: 0.0,
        }
    }

    /// The oracle's evaluation of `case` (the CPU, the default soft builder).
    pub(crate) fn oracle(&mut self, case: &Case) -> Result<Evaluation> {
        let view = case.inputs.view();
        evaluate_cpu(
            &case.config,
            &view,
            SoftBuilder::default(),
            None,
            &mut self.ws,
        )
    }

    /// Gives an evaluation's buffers back to the judge's workspace.
    pub(crate) fn recycle(&mut self, e: Evaluation) {
        self.ws.recycle(e);
    }

    /// The port's answer to `case` and the seconds it took; a panic is a
    /// [`PortFailure::Raised`] of kind `panic`, an answer later than the timeout a
    /// [`PortFailure::TimedOut`].
    pub(crate) fn call(
        &mut self,
        port: &mut dyn Port,
        case: &Case,
    ) -> (std::result::Result<Answer, PortFailure>, f64) {
        let timeout = self.opts.timeout;
        let t0 = Instant::now();
        let got = catch_unwind(AssertUnwindSafe(|| port.answer(case, timeout)))
            .unwrap_or_else(|p| Err(PortFailure::raised("panic", panic_message(p.as_ref()))));
        let took = t0.elapsed();
        self.calls += 1;
        self.port_seconds += took.as_secs_f64();
        let got = match (got, timeout) {
            (Ok(_), Some(t)) if took > t + Duration::from_millis(1) => Err(PortFailure::TimedOut {
                seconds: t.as_secs_f64(),
            }),
            (other, _) => other,
        };
        (got, took.as_secs_f64())
    }

    /// Judges what the port gave for `case` against the oracle's evaluation `oracle`.
    pub(crate) fn judge(
        &self,
        name: String,
        case: Case,
        oracle: &Evaluation,
        got: std::result::Result<Answer, PortFailure>,
        seconds: f64,
    ) -> Judged {
        let facts = Facts::of(&case, oracle);
        let outcome = match got {
            Err(f) => Outcome::Failed(f),
            Ok(answer) => self.outcome(&case, oracle, &answer),
        };
        Judged {
            name,
            case,
            facts,
            outcome,
            seconds,
        }
    }

    /// The reports of `answer` to `case`.
    fn outcome(&self, case: &Case, oracle: &Evaluation, answer: &Answer) -> Outcome {
        let view = case.inputs.view();
        let judge = |t: Tolerances| {
            let opts = self.opts.check_options(t);
            compare(&case.config, oracle, answer, Some(&view), &opts)
        };
        let report = Box::new(judge(self.opts.tolerances));
        let report_f32 = match self.f32_tolerances {
            Some(t) if !report.conforms() => Some(Box::new(judge(t))),
            _ => None,
        };
        let only = self.opts.only.as_deref();
        Outcome::Answered {
            report,
            report_f32,
            exact_f32: precision::exact_f32(answer, only),
            non_finite: precision::non_finite(answer, only),
        }
    }
}

/// A panic's message, when it has one.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
