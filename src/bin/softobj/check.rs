//! `softobj check CASE ANSWER`: does another implementation's answer conform to the oracle's?
//!
//! Exit codes: 0 the answer conforms, 1 it does not, 2 bad input (nothing on stdout then, in
//! the one-case form). With two folders, every `*.json` case of the first is checked against
//! the answer of the same name in the second (`NAME.json`, or a folder `NAME/` written by
//! `softobj eval --out`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use soft_objectness::answer::{
    ANSWER_KEYS, ReadAnswer, answer_file, answer_from_str, load_answer_with, read_json_text,
};
use soft_objectness::conformance::{
    CompareOptions, Report, Scope, Tolerances, compare_scoped, short,
};
use soft_objectness::{Case, Error, EvalOptions, Limits, Result, evaluate_case};

use crate::eval::{is_stdin, load_case, warn};

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
    /// Use the tolerances of a float32 implementation (losses 2e-5 relative, tobj 2e-5,
    /// gradients 1e-4 of the largest component; counts and cell classes still exact).
    #[arg(long)]
    f32: bool,
    /// Relative tolerance of the losses (default 1e-12, or 2e-5 with --f32).
    #[arg(long, value_name = "R")]
    rtol: Option<f64>,
    /// Absolute tolerance of the losses (default 0).
    #[arg(long, value_name = "A")]
    atol: Option<f64>,
    /// Absolute tolerance of every tobj cell (default 0, or 2e-5 with --f32).
    #[arg(long, value_name = "T")]
    tobj_atol: Option<f64>,
    /// Gradient tolerance relative to the largest component (default 1e-10, or 1e-4 with --f32).
    #[arg(long, value_name = "G")]
    grad_rtol: Option<f64>,
    /// How many mismatches to list per field.
    #[arg(long, default_value_t = 8, value_name = "N")]
    listed: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// One line per case (its verdict) and the totals, instead of full reports.
    #[arg(long)]
    summary: bool,
    /// Check only these fields (comma-separated: loss, lbox, lobj, lcls, tobj, counts, grad,
    /// hard_loss, soft_loss, balance, matched); the others are not compared, nor missing.
    #[arg(long, value_name = "FIELD,...", value_delimiter = ',')]
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
    fn tolerances(&self) -> Result<Tolerances> {
        let base = if self.f32 {
            Tolerances::F32
        } else {
            Tolerances::F64
        };
        let t = Tolerances {
            rtol: self.rtol.unwrap_or(base.rtol),
            atol: self.atol.unwrap_or(base.atol),
            tobj_atol: self.tobj_atol.unwrap_or(base.tobj_atol),
            grad_rtol: self.grad_rtol.unwrap_or(base.grad_rtol),
        };
        t.validate()?;
        Ok(t)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_elements: self.max_elements,
            max_json_bytes: self.max_json_bytes,
        }
    }

    /// The fields of `--only`, each checked against the answer's keys.
    fn only(&self) -> Result<Option<&[String]>> {
        let Some(only) = &self.only else {
            return Ok(None);
        };
        for f in only {
            if !ANSWER_KEYS.contains(&f.as_str()) {
                return Err(Error::UnknownValue {
                    field: "--only".into(),
                    value: f.clone(),
                    accepted: ANSWER_KEYS.join(", "),
                });
            }
        }
        Ok(Some(only))
    }

    fn preset_name(&self, t: &Tolerances) -> &'static str {
        match (*t == Tolerances::F64, *t == Tolerances::F32) {
            (true, _) => "f64 preset",
            (_, true) => "f32 preset",
            _ => "custom",
        }
    }
}

/// Reads an answer from a file or folder, or from standard input for `-` (`{"npy": FILE}`
/// references then resolve in the current directory), and prints its warnings on stderr.
fn load_answer(path: &Path, limits: &Limits) -> Result<ReadAnswer> {
    let read = if is_stdin(path) {
        let text = read_json_text(std::io::stdin().lock(), "(standard input)", limits)?;
        answer_from_str(&text, Some(Path::new(".")), limits)?
    } else {
        load_answer_with(path, limits)?
    };
    warn(&read.warnings);
    Ok(read)
}

/// Loads, evaluates and compares one case with one answer.
fn check_one(
    case_path: &Path,
    answer_path: &Path,
    args: &Args,
    opts: &CompareOptions,
) -> Result<(Case, Report)> {
    let limits = args.limits();
    let case = load_case(case_path, &limits)?;
    let answer = load_answer(answer_path, &limits)?.answer;
    let oracle = evaluate_case(&case, &EvalOptions::default())?;
    let scope = Scope {
        inputs: Some(&case.inputs),
        only: args.only()?,
    };
    let report = compare_scoped(&case.config, &oracle, &answer, opts, &scope);
    Ok((case, report))
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let tolerances = args.tolerances()?;
    args.only()?;
    let opts = CompareOptions {
        tolerances,
        listed: args.listed,
    };
    if is_stdin(&args.case) && is_stdin(&args.answer) {
        return Err(Error::invalid(
            "CASE, ANSWER",
            "- -",
            "only one of them can be read from standard input",
        ));
    }
    if args.case.is_dir() {
        return run_folder(args, &opts);
    }
    let (case, report) = check_one(&args.case, &args.answer, args, &opts)?;
    let mut out = std::io::stdout().lock();
    if args.summary && !args.json {
        let _ = writeln!(out, "{}: {}", args.case.display(), report.verdict());
    } else if args.json {
        let v = json!({
            "case": args.case,
            "answer": answer_file(&args.answer),
            "conforms": report.conforms(),
            "report": report,
        });
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v)?);
    } else {
        let t = &report.tolerances;
        let _ = writeln!(out, "case:       {} ({})", args.case.display(), case.name);
        let _ = writeln!(out, "answer:     {}", answer_file(&args.answer).display());
        let _ = writeln!(
            out,
            "tolerances: {} (rtol {}, atol {}, tobj_atol {}, grad_rtol {})",
            args.preset_name(t),
            short(t.rtol),
            short(t.atol),
            short(t.tobj_atol),
            short(t.grad_rtol)
        );
        let _ = writeln!(out, "{report}");
    }
    Ok(if report.conforms() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The answer of case `stem` in `dir`: `stem.json`, or the folder `stem/`.
fn find_answer(dir: &Path, stem: &str) -> Option<PathBuf> {
    let file = dir.join(format!("{stem}.json"));
    if file.is_file() {
        return Some(file);
    }
    let folder = dir.join(stem);
    folder.join("answer.json").is_file().then_some(folder)
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            on: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: usize, what: &str) {
        if !self.on {
            return;
        }
        let width = 30;
        let filled = (done * width).checked_div(self.total).unwrap_or(width);
        let name: String = what.chars().take(40).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K[{}{}] {done}/{} {name}",
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.total
        );
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.on {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

fn run_folder(args: &Args, opts: &CompareOptions) -> Result<ExitCode> {
    if !args.answer.is_dir() {
        return Err(Error::invalid(
            "ANSWER",
            args.answer.display(),
            "with a folder of cases, the answers must be a folder too",
        ));
    }
    let read = std::fs::read_dir(&args.case).map_err(|source| Error::Io {
        path: args.case.clone(),
        source,
    })?;
    let mut cases: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    cases.sort();
    if cases.is_empty() {
        return Err(Error::invalid(
            "CASE",
            args.case.display(),
            "the folder holds no .json case",
        ));
    }
    let progress = Progress::new(cases.len());
    let (mut conform, mut fail, mut errors) = (0usize, 0usize, 0usize);
    let mut results = Vec::new();
    let mut out = std::io::stdout().lock();
    for (k, path) in cases.iter().enumerate() {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        progress.show(k, &stem);
        let outcome = match find_answer(&args.answer, &stem) {
            None => Err(format!(
                "no answer {stem}.json or {stem}/answer.json in {}",
                args.answer.display()
            )),
            Some(answer) => check_one(path, &answer, args, opts).map_err(|e| e.to_string()),
        };
        match outcome {
            Ok((_, report)) => {
                if report.conforms() {
                    conform += 1;
                } else {
                    fail += 1;
                }
                if args.json {
                    results.push(
                        json!({"case": path, "conforms": report.conforms(), "report": report}),
                    );
                } else if report.conforms() || args.summary {
                    progress.clear();
                    let _ = writeln!(out, "{stem}: {}", report.verdict());
                } else {
                    progress.clear();
                    let _ = writeln!(out, "{stem}: {}\n{report}\n", report.verdict());
                }
            }
            Err(message) => {
                errors += 1;
                if args.json {
                    results.push(json!({"case": path, "error": message}));
                } else {
                    progress.clear();
                    let _ = writeln!(out, "{stem}: error: {message}");
                }
            }
        }
    }
    progress.clear();
    let summary = format!(
        "checked {} cases: {conform} conform, {fail} do not conform, {errors} could not be checked",
        cases.len()
    );
    if args.json {
        let v = json!({"summary": summary, "conform": conform, "fail": fail, "errors": errors, "cases": results});
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v)?);
    } else {
        let _ = writeln!(out, "{summary}");
    }
    Ok(ExitCode::from(if errors > 0 {
        2
    } else if fail > 0 {
        1
    } else {
        0
    }))
}
