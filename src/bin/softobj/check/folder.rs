//! `softobj check CASES/ ANSWERS/`: every case of a folder against the answer of the same name.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use soft_objectness::conformance::{CheckOptions, Report};
use soft_objectness::harness::{Conformance, HarnessOptions, PortFailure, summarise};
use soft_objectness::{Answer, Case, Error, Result};

use super::{Args, check_one, load_answer};
use crate::eval::load_case;

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

/// Every `*.json` file of the folder of cases, sorted.
fn case_files(args: &Args) -> Result<Vec<PathBuf>> {
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
    Ok(cases)
}

/// The tally of a folder: cases that conform, that do not, that could not be checked; and
/// with `--json` each case's result.
#[derive(Default)]
struct Tally {
    conform: usize,
    fail: usize,
    errors: usize,
    results: Vec<Value>,
    /// With `--summary`: the groups, suspects and precision finding, for the JSON.
    attribution: Option<Value>,
}

impl Tally {
    /// Counts one case's outcome and prints it (or keeps it for the JSON).
    fn add(
        &mut self,
        path: &Path,
        stem: &str,
        outcome: std::result::Result<Report, String>,
        args: &Args,
    ) {
        let mut out = std::io::stdout().lock();
        match outcome {
            Ok(report) => {
                let conforms = report.conforms();
                if conforms {
                    self.conform += 1;
                } else {
                    self.fail += 1;
                }
                if args.json {
                    self.results
                        .push(json!({"case": path, "conforms": conforms, "report": report}));
                } else if conforms || args.summary {
                    let _ = writeln!(out, "{stem}: {}", report.verdict());
                } else {
                    let _ = writeln!(out, "{stem}: {}\n{report}\n", report.verdict());
                }
            }
            Err(message) => {
                self.errors += 1;
                if args.json {
                    self.results.push(json!({"case": path, "error": message}));
                } else {
                    let _ = writeln!(out, "{stem}: error: {message}");
                }
            }
        }
    }

    /// The totals line (or the JSON of every case), and the exit code: 2 when a case could not
    /// be checked, 1 when one does not conform.
    fn finish(self, cases: usize, args: &Args) -> Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        let summary = format!(
            "checked {cases} cases: {} conform, {} do not conform, {} could not be checked",
            self.conform, self.fail, self.errors
        );
        if args.json {
            let mut v = json!({"summary": summary, "conform": self.conform, "fail": self.fail,
                           "errors": self.errors, "cases": self.results});
            if let Some(a) = self.attribution {
                v["attribution"] = a;
            }
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v)?);
        } else {
            let _ = writeln!(out, "{summary}");
        }
        Ok(ExitCode::from(if self.errors > 0 {
            2
        } else if self.fail > 0 {
            1
        } else {
            0
        }))
    }
}

pub fn run(args: &Args, opts: &CheckOptions) -> Result<ExitCode> {
    if args.summary {
        return summary(args, opts);
    }
    let cases = case_files(args)?;
    let progress = Progress::new(cases.len());
    let mut tally = Tally::default();
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
            Some(answer) => check_one(path, &answer, args, opts)
                .map(|(_, report)| report)
                .map_err(|e| e.to_string()),
        };
        progress.clear();
        tally.add(path, &stem, outcome, args);
    }
    tally.finish(cases.len(), args)
}

/// The stem of a case file.
fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `--summary` over folders: every case's verdict and the totals, then the failures grouped
/// and attributed ([`summarise`]). A case that cannot be read is counted as not checked; an
/// answer that cannot be read is a failing case (its reader's error the reason).
fn summary(args: &Args, opts: &CheckOptions) -> Result<ExitCode> {
    let files = case_files(args)?;
    let progress = Progress::new(files.len());
    let mut tally = Tally::default();
    let mut answers: Vec<(String, Case, std::result::Result<Answer, PortFailure>)> = Vec::new();
    let limits = args.limits();
    for (k, path) in files.iter().enumerate() {
        let stem = stem_of(path);
        progress.show(k, &stem);
        let case = load_case(path, &limits);
        progress.clear();
        let case = match case {
            Ok(c) => c,
            Err(e) => {
                tally.add(path, &stem, Err(e.to_string()), args);
                continue;
            }
        };
        let answer = match find_answer(&args.answer, &stem) {
            None => Err(format!("no answer {stem}.json or {stem}/answer.json")),
            Some(a) => load_answer(&a, &limits).map_err(|e| e.to_string()),
        };
        let answer = answer.map_err(|what| PortFailure::Malformed { what });
        answers.push((stem, case, answer));
    }
    let mut h = HarnessOptions::default();
    h.tolerances = opts.tolerances;
    h.only.clone_from(&opts.only);
    h.shrink = false;
    let c = summarise(answers, &h)?;
    for r in &c.cases {
        match &r.report {
            Some(report) => tally.add(Path::new(&r.name), &r.name, Ok(report.clone()), args),
            None => {
                let verdict = Err(r.verdict.clone());
                tally.add(Path::new(&r.name), &r.name, verdict, args);
            }
        }
    }
    tally.attribution = Some(json!({"groups": c.groups, "suspects": c.suspects,
                                    "precision": c.precision}));
    let code = tally.finish(files.len(), args)?;
    if !args.json {
        attribution(&c);
    }
    Ok(code)
}

/// The groups and suspects of a folder, after the totals.
fn attribution(c: &Conformance) {
    let text = c.to_string();
    // The diagnosis without its first line (the tally, said by the totals already).
    let groups = text.split_once('\n').map_or("", |(_, rest)| rest);
    let _ = write!(std::io::stdout().lock(), "{groups}");
}
