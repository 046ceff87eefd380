//! `softobj eval CASE`: the oracle's answer to one case.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use soft_objectness::{
    Answer, Backend, BackendKind, Case, EvalOptions, Limits, Named, Result, SoftBuilder, evaluate,
};

use crate::vocab::{named, names};

/// The path that names standard input.
pub const STDIN: &str = "-";

/// Whether `path` is `-`, standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Reads a case from a file, or from standard input for `-` (`{"npy": FILE}` references then
/// resolve in the current directory), under `limits`, and prints its warnings on stderr.
pub fn load_case(path: &Path, limits: &Limits) -> Result<Case> {
    let case = if is_stdin(path) {
        let text = limits.read_json(std::io::stdin().lock(), "(standard input)")?;
        Case::from_json_str(&text, Some(Path::new(".")), limits)?
    } else {
        Case::load(path, limits)?
    };
    warn(&case.warnings);
    Ok(case)
}

/// Prints each warning on stderr as `softobj: warning: ...`.
pub fn warn(warnings: &[String]) {
    let mut err = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(err, "softobj: warning: {w}");
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// The case file (spec section 10); `-` reads it from standard input.
    #[arg(value_name = "CASE")]
    case: PathBuf,
    /// Soft builder (CPU backend).
    #[arg(long, value_parser = named::<SoftBuilder>(), default_value = SoftBuilder::default().name())]
    builder: SoftBuilder,
    /// Where to evaluate: the CPU (the f64 oracle) or the GPU (f32 shaders; WGPU_BACKEND and
    /// WGPU_ADAPTER_NAME choose the adapter).
    #[arg(long, value_parser = names::<BackendKind>(), default_value = BackendKind::Cpu.name())]
    backend: String,
    /// Indented JSON (about three times the bytes) instead of the compact default.
    #[arg(long, conflicts_with = "compact")]
    pretty: bool,
    /// Compact JSON: the default, accepted for scripts written when it was not.
    #[arg(long, hide = true)]
    compact: bool,
    /// Write the answer into this folder instead of stdout: `answer.json` (scalars, counts,
    /// per layer losses, balance, matched rows) and `tobj_L.npy`, `grad_L.npy` (f64) per layer.
    /// `softobj check` reads the folder back. Prints the files written. (`--out-dir` is the
    /// old spelling.)
    #[arg(long = "out", visible_alias = "out-dir", value_name = "DIR")]
    out: Option<PathBuf>,
    /// Refuse any array (JSON or .npy) whose shape has more elements than this, before
    /// allocating it.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_ELEMENTS)]
    max_elements: u64,
    /// Refuse a case larger than this many bytes, before reading it (large arrays belong in
    /// .npy files referenced as {"npy": "FILE"}).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT_MAX_JSON_BYTES)]
    max_json_bytes: u64,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let limits = Limits {
        max_elements: args.max_elements,
        max_json_bytes: args.max_json_bytes,
    };
    let case = load_case(&args.case, &limits)?;
    let backend = Backend::parse("--backend", &args.backend, args.builder)?;
    let e = evaluate(
        &case.config,
        &case.inputs,
        &EvalOptions::with_backend(backend),
    )?;
    let mut out = std::io::stdout().lock();
    if let Some(dir) = &args.out {
        for f in Answer::write_dir(dir, &e, &case.config)? {
            let _ = writeln!(out, "{}", f.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let answer = Answer::from_evaluation(&e, &case.config);
    let text = if args.pretty {
        serde_json::to_string_pretty(&answer)
    } else {
        serde_json::to_string(&answer)
    }
    .map_err(soft_objectness::Error::from)?;
    // A closed pipe (e.g. `| head`) is not an error of the evaluation.
    let _ = writeln!(out, "{text}");
    Ok(ExitCode::SUCCESS)
}
