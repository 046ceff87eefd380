//! `softobj`: the soft-objectness oracle on the command line.
//!
//! With no arguments it runs the embedded default batch and prints a summary. Subcommands
//! answer cases in the spec's format; errors go to stderr with exit code 2.

mod bench;
mod check;
mod conform;
mod eval;
// `gen` is a reserved word in edition 2024.
#[path = "gen.rs"]
mod generate;
mod pin;
mod pipe;
mod plot;
mod summary;
mod tolerances;
mod vocab;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "softobj",
    version,
    about = "Soft-objectness loss: reference oracle (targets, losses, gradients)",
    after_help = EXIT_CODES,
    subcommand_help_heading = "Commands",
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a case and print the answer (spec section 10) as compact JSON on stdout (`--pretty` indents it).
    #[command(after_help = EXIT_CODES)]
    Eval(eval::Args),
    /// Run the embedded default batch and print a readable summary (the default command).
    #[command(after_help = EXIT_CODES)]
    Summary(summary::Args),
    /// Check another implementation's answer against the oracle (exit 0 conforms, 1 not, 2 bad input).
    #[command(after_help = EXIT_CODES)]
    Check(check::Args),
    /// Run a port (an external program) over many cases: which option its failures follow, and the smallest failing case (exit 0 conforms, 1 not, 2 bad input).
    #[command(after_help = EXIT_CODES)]
    Conform(conform::Args),
    /// Write seeded random cases, or the edge mix covering every rule (--edge).
    #[command(after_help = EXIT_CODES)]
    Gen(generate::Args),
    /// Draw the method's figures (score, soft losses, tobj heatmaps) as PNG and SVG.
    #[command(after_help = EXIT_CODES)]
    Plot(plot::Args),
    /// Time every stage of the Rust side (per-stage table; `--json`, `--dump DIR` for bench/vs_pytorch.py).
    #[command(after_help = EXIT_CODES)]
    Bench(bench::Args),
}

/// Exit codes, shown in every subcommand's help.
const EXIT_CODES: &str = "Exit codes: 0 success; 1 an answer does not conform (check, conform); 2 bad \
input or an error (named on stderr); 141 standard output closed early (e.g. piped into `head`).";

/// Mesa's Vulkan device-select layer (an implicit layer of its drivers) connects to a Wayland
/// display to choose a default GPU, and libwayland prints `error: XDG_RUNTIME_DIR is invalid or
/// not set in the environment.` on a headless machine, twice per run. softobj needs no display
/// and chooses its adapter itself (wgpu; `WGPU_ADAPTER_NAME`), so without a display session it
/// switches the layer off (`NODEVICE_SELECT=1`); a user's own setting is kept, and every other
/// driver message still reaches stderr.
fn quiet_device_select() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // SAFETY: the first thing `main` does, before any other thread of this process exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

fn main() -> ExitCode {
    pipe::die_quietly_on_closed_stdout();
    quiet_device_select();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        None => summary::run(&summary::Args::default()),
        Some(Command::Summary(a)) => summary::run(&a),
        Some(Command::Eval(a)) => eval::run(&a),
        Some(Command::Check(a)) => check::run(&a),
        Some(Command::Conform(a)) => conform::run(&a),
        Some(Command::Gen(a)) => generate::run(&a),
        Some(Command::Plot(a)) => plot::run(&a),
        Some(Command::Bench(a)) => bench::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("softobj: error: {e}");
            ExitCode::from(2)
        }
    }
}
