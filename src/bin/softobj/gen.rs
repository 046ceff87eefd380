//! `softobj gen --out DIR`: seeded random cases, or the edge mix, as case files.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use soft_objectness::casegen::{GenOptions, edge_cases, random_case, stem, write_case};
use soft_objectness::{Answer, Error, EvalOptions, Result, evaluate_case};

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
    /// Overwrite files that already exist (without it, an existing file is an error and
    /// nothing is written).
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let opts = GenOptions {
        seed: args.seed,
        width: args.image.0,
        height: args.image.1,
        batch: args.batch,
        nc: args.nc,
    };
    let cases: Vec<(String, soft_objectness::Case)> = if args.edge {
        edge_cases(args.seed)
            .into_iter()
            .enumerate()
            .map(|(k, c)| (format!("edge-{k:02}-{}", stem(&c)), c))
            .collect()
    } else {
        opts.validate()?;
        (0..args.count)
            .map(|k| random_case(&opts, k).map(|c| (format!("case-{k:03}"), c)))
            .collect::<Result<_>>()?
    };
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    if !args.force {
        refuse_existing(&args.out, cases.iter().map(|(s, _)| s.as_str()))?;
    }
    let mut out = std::io::stdout().lock();
    for (file_stem, case) in &cases {
        // Every generated case is evaluated once: a case the oracle refuses is a bug here.
        let expected = if args.with_expected {
            let e = evaluate_case(case, &EvalOptions::default())?;
            Some(Answer::from_evaluation(&e, &case.config))
        } else {
            case.config.validate()?;
            case.inputs.validate(&case.config)?;
            None
        };
        let files = write_case(case, &args.out, file_stem, args.npy, expected.as_ref())?;
        let _ = writeln!(out, "{}  {}", files[0].display(), case.name);
    }
    let _ = writeln!(out, "wrote {} cases to {}", cases.len(), args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// An error naming the first file of `stems` already in `dir` (`STEM.json`, or `STEM.pL.npy`
/// for the `.npy` layers), before anything is written.
fn refuse_existing<'a>(dir: &std::path::Path, stems: impl Iterator<Item = &'a str>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // a new folder
    };
    let existing: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    for stem in stems {
        let json = format!("{stem}.json");
        let npy = format!("{stem}.p");
        if let Some(f) = existing
            .iter()
            .find(|f| **f == json || (f.starts_with(&npy) && f.ends_with(".npy")))
        {
            return Err(Error::invalid(
                "--out",
                dir.join(f).display(),
                "already exists; pass --force to overwrite, or choose another folder",
            ));
        }
    }
    Ok(())
}
