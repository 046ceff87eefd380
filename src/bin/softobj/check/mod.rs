//! `softobj check CASE ANSWER`: does another implementation's answer conform to the oracle's?
//!
//! Exit codes: 0 the answer conforms, 1 it does not, 2 bad input (nothing on stdout then, in
//! the one-case form). With two folders, every `*.json` case of the first is checked against
//! the answer of the same name in the second (`NAME.json`, or a folder `NAME/` written by
//! `softobj eval --out`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use serde_json::json;
use soft_objectness::conformance::{CheckOptions, Report, Tolerances, check};
use soft_objectness::{Answer, Case, Limits, Result};

use crate::eval::{is_stdin, load_case, warn};
use crate::tolerances::ToleranceArgs;

mod folder;

#[derive(clap::Args)]
pub struct Args {
    /// The case (spec section 10), or a folder of cases; `-` reads it from standard input.
    #[arg(value_name = "CASE")]
    case: PathBuf,
    /// The answer to check: a JSON answer, a case file with `expected`, or a folder written by
    /// `softobj eval --out`; with a folder of cases, the folder of answers; `-` reads it from
    /// standard input.
    #[arg(value_name = "ANSWER")]
    answer: PathBuf,
    #[command(flatten)]
    tolerances: ToleranceArgs,
    /// How many mismatches to list per field.
    #[arg(long, default_value_t = 8, value_name = "N")]
    listed: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// One line per case (its verdict) and the totals, instead of full reports; with folders,
    /// then the failures grouped and attributed to the options they follow (as `softobj
    /// conform` does).
    #[arg(long)]
    summary: bool,
    /// Check only these fields (comma-separated); the others are not compared, nor missing.
    #[arg(long, value_name = "FIELD,...", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(Answer::KEYS))]
    only: Option<Vec<String>>,
    /// Refuse any array (JSON or .npy) of the case or the answer whose shape has more elements
    /// than this, before allocating it.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_ELEMENTS)]
    max_elements: u64,
    /// Refuse a case or an answer whose JSON text is larger than this many bytes, before
    /// reading it.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT_MAX_JSON_BYTES)]
    max_json_bytes: u64,
}

impl Args {
    /// The options of the comparison, validated.
    fn options(&self) -> Result<CheckOptions> {
        let mut opts = CheckOptions::default();
        opts.tolerances = self.tolerances.tolerances();
        opts.listed = self.listed;
        opts.only = self.only.clone();
        opts.validate()?;
        Ok(opts)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_elements: self.max_elements,
            max_json_bytes: self.max_json_bytes,
        }
    }
}

/// Which preset the tolerances are, in the report's words.
fn preset_name(t: &Tolerances) -> &'static str {
    match (*t == Tolerances::F64, *t == Tolerances::F32) {
        (true, _) => "f64 preset",
        (_, true) => "f32 preset",
        _ => "custom",
    }
}

/// Reads an answer from a file or folder, or from standard input for `-` (`{"npy": FILE}`
/// references then resolve in the current directory), and prints its warnings on stderr.
fn load_answer(path: &Path, limits: &Limits) -> Result<Answer> {
    let answer = if is_stdin(path) {
        let text = limits.read_json(std::io::stdin().lock(), "(standard input)")?;
        Answer::from_json_str(&text, Some(Path::new(".")), limits)?
    } else {
        Answer::load(path, limits)?
    };
    warn(&answer.warnings);
    Ok(answer)
}

/// Loads one case and one answer and checks the answer.
fn check_one(
    case_path: &Path,
    answer_path: &Path,
    args: &Args,
    opts: &CheckOptions,
) -> Result<(Case, Report)> {
    let limits = args.limits();
    let case = load_case(case_path, &limits)?;
    let answer = load_answer(answer_path, &limits)?;
    let report = check(&case.config, &case.inputs, &answer, opts)?;
    Ok((case, report))
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let opts = args.options()?;
    if is_stdin(&args.case) && is_stdin(&args.answer) {
        return Err(soft_objectness::Error::invalid(
            "CASE, ANSWER",
            "- -",
            "only one of them can be read from standard input",
        ));
    }
    if args.case.is_dir() {
        return folder::run(args, &opts);
    }
    let (case, report) = check_one(&args.case, &args.answer, args, &opts)?;
    let mut out = std::io::stdout().lock();
    if args.summary && !args.json {
        let _ = writeln!(out, "{}: {}", args.case.display(), report.verdict());
    } else if args.json {
        let v = json!({
            "case": args.case,
            "answer": Answer::json_file(&args.answer),
            "conforms": report.conforms(),
            "report": report,
        });
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v)?);
    } else {
        let t = &report.tolerances;
        let _ = writeln!(out, "case:       {} ({})", args.case.display(), case.name);
        let _ = writeln!(
            out,
            "answer:     {}",
            Answer::json_file(&args.answer).display()
        );
        let _ = writeln!(out, "tolerances: {} ({t})", preset_name(t));
        let _ = writeln!(out, "{report}");
    }
    Ok(if report.conforms() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
