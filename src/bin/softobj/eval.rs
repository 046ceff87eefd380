//! `softobj eval CASE.json`: the oracle's answer to one case.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use soft_objectness::{Answer, Builder, Case, EvalOptions, Result, evaluate_case};

/// Which soft builder to run.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum BuilderArg {
    /// The plain loop builder.
    Loop,
    /// The vectorised, parallel builder.
    #[default]
    Vectorised,
}

impl From<BuilderArg> for Builder {
    fn from(b: BuilderArg) -> Builder {
        match b {
            BuilderArg::Loop => Builder::Loop,
            BuilderArg::Vectorised => Builder::Vectorised,
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// The case file (spec section 10).
    case: PathBuf,
    /// Soft builder.
    #[arg(long, value_enum, default_value_t)]
    builder: BuilderArg,
    /// Compact JSON instead of pretty-printed.
    #[arg(long)]
    compact: bool,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let case = Case::load(&args.case)?;
    let opts = EvalOptions {
        builder: args.builder.into(),
        balance: None,
    };
    let e = evaluate_case(&case, &opts)?;
    let answer = Answer::from_evaluation(&e, &case.config);
    let text = if args.compact {
        serde_json::to_string(&answer)
    } else {
        serde_json::to_string_pretty(&answer)
    }
    .map_err(soft_objectness::Error::from)?;
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error of the evaluation.
    let _ = writeln!(out, "{text}");
    Ok(ExitCode::SUCCESS)
}
