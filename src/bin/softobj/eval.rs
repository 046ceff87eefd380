//! `softobj eval CASE`: the oracle's answer to one case.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use soft_objectness::answer::read_json_text;
use soft_objectness::{Answer, Case, EvalOptions, Limits, Result, SoftBuilder, evaluate_case};

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
        let text = read_json_text(std::io::stdin().lock(), "(standard input)", limits)?;
        Case::from_json_str_with(&text, limits, Some(Path::new(".")))?
    } else {
        Case::load_with(path, limits)?
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

/// Which soft builder to run.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum BuilderArg {
    /// The plain loop builder.
    Loop,
    /// The vectorised, parallel builder.
    #[default]
    Vectorised,
}

impl From<BuilderArg> for SoftBuilder {
    fn from(b: BuilderArg) -> SoftBuilder {
        match b {
            BuilderArg::Loop => SoftBuilder::Loop,
            BuilderArg::Vectorised => SoftBuilder::Vectorised,
        }
    }
}

/// Where the case is evaluated.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum BackendArg {
    /// The f64 oracle on the CPU.
    #[default]
    Cpu,
    /// The f32 WGSL shaders through wgpu (cargo feature `gpu`; see docs/gpu.md).
    Gpu,
}

#[derive(clap::Args)]
pub struct Args {
    /// The case file (spec section 10); `-` reads it from standard input.
    #[arg(value_name = "CASE")]
    case: PathBuf,
    /// Soft builder (CPU backend).
    #[arg(long, value_enum, default_value_t)]
    builder: BuilderArg,
    /// Evaluate on the CPU (the f64 oracle) or on the GPU (f32 shaders; WGPU_BACKEND and
    /// WGPU_ADAPTER_NAME choose the adapter).
    #[arg(long, value_enum, default_value_t)]
    backend: BackendArg,
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
    let opts = EvalOptions {
        builder: args.builder.into(),
        balance: None,
    };
    let e = match args.backend {
        BackendArg::Cpu => evaluate_case(&case, &opts)?,
        BackendArg::Gpu => soft_objectness::gpu::evaluate(None, &case.config, &case.inputs, &opts)?,
    };
    if let Some(dir) = &args.out {
        let files = soft_objectness::answer::write_answer_dir(dir, &e, &case.config)?;
        let mut out = std::io::stdout().lock();
        for f in files {
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
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error of the evaluation.
    let _ = writeln!(out, "{text}");
    Ok(ExitCode::SUCCESS)
}
