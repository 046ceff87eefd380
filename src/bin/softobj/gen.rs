//! `softobj gen --out DIR`: seeded random cases, or the edge mix, as case files.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use soft_objectness::Result;
use soft_objectness::casegen::{Cases, GenOptions, Generate, WriteOptions, generate, write_case};

/// `WxH`, e.g. `640x640`.
fn parse_image(s: &str) -> std::result::Result<(usize, usize), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WxH, e.g. 64x64, got {s:?}"))?;
    let p = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("expected WxH, e.g. 64x64, got {s:?}"))
    };
    Ok((p(w)?, p(h)?))
}

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
    #[arg(long, conflicts_with_all = ["count", "image", "batch", "nc"])]
    edge: bool,
    /// Image size in pixels, multiples of 32 (grids at strides 8, 16, 32).
    #[arg(long, default_value = "64x64", value_parser = parse_image, value_name = "WxH")]
    image: (usize, usize),
    /// Images per case.
    #[arg(long, default_value_t = 2, value_name = "B")]
    batch: usize,
    /// Classes.
    #[arg(long, default_value_t = 3, value_name = "C")]
    nc: usize,
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

pub fn run(args: &Args) -> Result<ExitCode> {
    let cases = if args.edge {
        Cases::Edge
    } else {
        Cases::Random {
            count: args.count,
            shape: GenOptions {
                width: args.image.0,
                height: args.image.1,
                batch: args.batch,
                nc: args.nc,
            },
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
