//! `softobj gen --out DIR`: seeded random cases, or the edge mix, as case files.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use soft_objectness::Result;
use soft_objectness::casegen::{CaseSpace, Cases, Generate, WriteOptions, generate, write_case};

#[derive(clap::Args)]
pub struct Args {
    /// Output folder (created when missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How many random cases.
    #[arg(long, default_value_t = 10, value_name = "N")]
    count: u64,
    /// Seed of every random choice; the same seed writes the same bytes.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Write the edge mix instead: a fixed list of small cases covering every rule of the spec
    /// (its own grids; predictions drawn from the seed).
    #[arg(long, conflicts_with_all = ["count", "space"])]
    edge: bool,
    /// Restrict the random cases to these values of the case format's keys: KEY=VALUE or
    /// KEY=V1|V2, comma-separated (e.g. `assigner=yolov5,hyp.fl_gamma=0,nl=3,image=640x640`).
    /// Keys: the options assigner, score.kind, score.sigma, score.n, distance, soft_loss.kind,
    /// soft_loss.gamma, overlap, ciou, autobalance, hyp.KEY, nc; the shapes nl, na, batch,
    /// image (WxH pixels, multiples of 32).
    #[arg(long = "where", value_name = "KEY=VALUE,...", value_parser = parse_space)]
    space: Option<CaseSpace>,
    /// Add the oracle's answer as `expected` (fixtures instead of queries).
    #[arg(long)]
    with_expected: bool,
    /// Write each prediction layer as `.npy` (f32) beside the case, referenced from its JSON.
    #[arg(long)]
    npy: bool,
    /// Overwrite files that already exist (without it, an existing file is an error, and
    /// nothing of its case is written).
    #[arg(long)]
    force: bool,
}

/// `--where`'s value: a [`CaseSpace`], or the library's error naming the key.
pub fn parse_space(text: &str) -> std::result::Result<CaseSpace, String> {
    CaseSpace::parse(text).map_err(|e| e.to_string())
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let cases = if args.edge {
        Cases::Edge
    } else {
        Cases::Random {
            count: args.count,
            space: args.space.clone().unwrap_or_default(),
        }
    };
    let mut request = Generate::new(cases, args.seed);
    request.with_expected = args.with_expected;
    let generated = generate(&request)?;
    let opts = WriteOptions {
        npy: args.npy,
        force: args.force,
    };
    let mut out = std::io::stdout().lock();
    for g in &generated {
        let files = write_case(&g.case, &args.out, &g.stem, &opts)?;
        let _ = writeln!(out, "{}  {}", files[0].display(), g.case.name);
    }
    let _ = writeln!(
        out,
        "wrote {} cases to {}",
        generated.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
