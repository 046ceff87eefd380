//! `softobj plot --out DIR`: the method's figures as PNG and SVG.

use std::path::PathBuf;
use std::process::ExitCode;

use soft_objectness::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder (created when missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Draw the objectness targets of this case instead of the embedded default batch.
    #[arg(long, value_name = "CASE.json")]
    case: Option<PathBuf>,
    /// How many images of the batch get a tobj figure.
    #[arg(long, default_value_t = 2, value_name = "N")]
    images: usize,
}

#[cfg(feature = "plot")]
pub fn run(args: &Args) -> Result<ExitCode> {
    use std::io::Write;
    let case = args
        .case
        .as_ref()
        .map(|path| soft_objectness::Case::load(path, &soft_objectness::Limits::default()))
        .transpose()?;
    let files = soft_objectness::plot::write_all(&args.out, case.as_ref(), args.images)?;
    let mut out = std::io::stdout().lock();
    for f in files {
        let _ = writeln!(out, "{}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "plot"))]
pub fn run(args: &Args) -> Result<ExitCode> {
    let _ = (&args.out, &args.case, args.images);
    Err(soft_objectness::Error::invalid(
        "plot",
        "softobj plot",
        "this softobj was built without the `plot` feature (cargo build --features plot)",
    ))
}
