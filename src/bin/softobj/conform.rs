//! `softobj conform --port 'CMD {case} {answer}'`: the porter's harness over an external
//! program. Each case goes to a file in a temporary folder, the command runs through the
//! shell with `{case}` and `{answer}` replaced by the two paths (quoted), and the answer file
//! it writes is judged. A command that runs past `--timeout` is killed with its whole process
//! group.
//!
//! Exit codes: 0 every case conforms, 1 some do not, 2 bad input.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::builder::PossibleValuesParser;
use soft_objectness::casegen::{CaseSpace, WriteOptions, write_case};
use soft_objectness::harness::{Conformance, HarnessOptions, Port, PortFailure, run as harness};
use soft_objectness::{Answer, Case, Error, Limits, Result};

use crate::generate::parse_space;
use crate::tolerances::ToleranceArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The port: a shell command with `{case}` (the case file to read) and `{answer}` (the
    /// answer file to write), e.g. `python my_port.py {case} {answer}`.
    #[arg(long, value_name = "CMD")]
    port: String,
    /// How many random cases besides the edge mix.
    #[arg(long, default_value_t = 100, value_name = "N")]
    count: u64,
    /// Seed of the random cases and of the edge mix's predictions.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// What the port supports, as `softobj gen --where` takes it (KEY=VALUE or KEY=V1|V2,
    /// comma-separated); edge cases outside it are left out.
    #[arg(long = "where", value_name = "KEY=VALUE,...", value_parser = parse_space)]
    space: Option<CaseSpace>,
    /// The fields the port writes (comma-separated); the others are neither compared nor
    /// missing.
    #[arg(long, value_name = "FIELD,...", value_delimiter = ',',
          value_parser = PossibleValuesParser::new(Answer::KEYS))]
    only: Option<Vec<String>>,
    #[command(flatten)]
    tolerances: ToleranceArgs,
    /// Shrink each failure group to its smallest failing case.
    #[arg(long)]
    shrink: bool,
    /// The most port calls spent shrinking one group.
    #[arg(long, default_value_t = 200, value_name = "N")]
    shrink_calls: usize,
    /// Write the smallest failing case of each group to DIR as `minimal-G.json` (implies
    /// --shrink).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Overwrite minimal cases already in DIR.
    #[arg(long, requires = "out")]
    force: bool,
    /// Seconds the port may take per case; past them its process group is killed.
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    timeout: f64,
    /// Print the whole conformance (every case's report) as JSON instead of the diagnosis.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// The harness's options, validated.
    fn options(&self) -> Result<HarnessOptions> {
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(Error::invalid(
                "--timeout",
                self.timeout,
                "must be a number of seconds > 0",
            ));
        }
        let mut o = HarnessOptions::default();
        o.count = self.count;
        o.seed = self.seed;
        o.space = self.space.clone().unwrap_or_default();
        o.tolerances = self.tolerances.tolerances();
        o.only.clone_from(&self.only);
        o.shrink = self.shrink || self.out.is_some();
        o.shrink_calls = self.shrink_calls;
        o.timeout = Some(Duration::from_secs_f64(self.timeout));
        o.validate()?;
        Ok(o)
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let opts = args.options()?;
    if let Some(dir) = &args.out
        && !args.force
    {
        refuse_minimal_cases_in(dir)?;
    }
    let mut port = CommandPort::new(&args.port)?;
    let c = harness(&mut port, &opts);
    port.progress_done();
    let c = c?;
    let written = match &args.out {
        Some(dir) => write_minimal(&c, dir, args.force)?,
        None => Vec::new(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&c)?);
    } else {
        let _ = write!(out, "{c}");
        for f in &written {
            let _ = writeln!(out, "wrote {}", f.display());
        }
        let _ = writeln!(
            out,
            "{} port calls, {:.1} s in the port, {:.1} s in all",
            c.port_calls, c.port_seconds, c.seconds
        );
    }
    Ok(ExitCode::from(if c.ok { 0 } else { 1 }))
}

/// An error naming the first `minimal-*.json` already in `dir`.
fn refuse_minimal_cases_in(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // not there yet
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("minimal-") && name.ends_with(".json")
        })
        .collect();
    found.sort();
    match found.into_iter().next() {
        None => Ok(()),
        Some(path) => Err(Error::Io {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; overwrite with --force, or choose another --out folder",
            ),
        }),
    }
}

/// Writes each group's minimal case as `DIR/minimal-G.json`; returns the files.
fn write_minimal(c: &Conformance, dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
    let opts = WriteOptions { npy: false, force };
    let mut files = Vec::new();
    for m in &c.minimal {
        let stem = format!("minimal-{}", m.group + 1);
        files.extend(write_case(&m.case, dir, &stem, &opts)?.into_iter().take(1));
    }
    Ok(files)
}

/// A port that is an external command, run once per case in a folder of its own.
struct CommandPort {
    template: String,
    dir: PathBuf,
    calls: usize,
    progress: bool,
}

impl CommandPort {
    /// A port running `template`, with a fresh temporary folder for its files.
    fn new(template: &str) -> Result<CommandPort> {
        let base = std::env::temp_dir();
        for k in 0..1000 {
            let dir = base.join(format!("softobj-conform-{}-{k}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    return Ok(CommandPort {
                        template: template.to_string(),
                        dir,
                        calls: 0,
                        progress: std::io::stderr().is_terminal(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(Error::Io { path: dir, source }),
            }
        }
        Err(Error::invalid(
            "--port",
            base.display(),
            "no temporary folder could be made there",
        ))
    }

    /// The shell command for one case.
    fn command(&self, case: &Path, answer: &Path) -> String {
        self.template
            .replace("{case}", &quoted(case))
            .replace("{answer}", &quoted(answer))
    }

    /// Shows the call on stderr (a terminal only).
    fn progress(&self, case: &Case) {
        if self.progress {
            let name: String = case.name.chars().take(50).collect();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{} port calls: {name}", self.calls);
            let _ = err.flush();
        }
    }

    /// Clears the progress line.
    fn progress_done(&self) {
        if self.progress {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

impl Drop for CommandPort {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `p` in single quotes for the shell (a `'` inside written `'\''`).
fn quoted(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

impl Port for CommandPort {
    fn answer(
        &mut self,
        case: &Case,
        timeout: Option<Duration>,
    ) -> std::result::Result<Answer, PortFailure> {
        self.calls += 1;
        self.progress(case);
        let answer = self.dir.join("answer.json");
        let _ = std::fs::remove_file(&answer);
        let opts = WriteOptions {
            npy: false,
            force: true,
        };
        let case_file = write_case(case, &self.dir, "case", &opts)
            .map_err(|e| PortFailure::raised("softobj", format!("writing the case: {e}")))?
            .remove(0);
        let cmd = self.command(&case_file, &answer);
        let status = run_command(&cmd, &self.dir, timeout)?;
        if !status.success() {
            let stderr = std::fs::read_to_string(self.dir.join("stderr.txt")).unwrap_or_default();
            let (kind, message) = match exception(&stderr) {
                Some((kind, line)) => (kind, line),
                None => (exit_kind(&status), tail(&stderr, 400)),
            };
            return Err(PortFailure::raised(kind, message));
        }
        if !answer.is_file() {
            return Err(PortFailure::Malformed {
                what: "the command wrote no answer file".into(),
            });
        }
        Answer::load(&answer, &Limits::default()).map_err(|e| PortFailure::Malformed {
            what: e.to_string(),
        })
    }
}

/// Runs `cmd` through the shell in `dir` (stdout and stderr to files there), killing its
/// process group past `timeout`.
fn run_command(
    cmd: &str,
    dir: &Path,
    timeout: Option<Duration>,
) -> std::result::Result<std::process::ExitStatus, PortFailure> {
    let file = |name: &str| {
        std::fs::File::create(dir.join(name))
            .map(Stdio::from)
            .map_err(|e| PortFailure::raised("softobj", format!("{name}: {e}")))
    };
    let mut command = shell(cmd);
    command
        .stdin(Stdio::null())
        .stdout(file("stdout.txt")?)
        .stderr(file("stderr.txt")?);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| PortFailure::raised("spawn", format!("{cmd}: {e}")))?;
    let t0 = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(PortFailure::raised("wait", e.to_string())),
        }
        if let Some(t) = timeout.filter(|&t| t0.elapsed() > t) {
            kill_group(&mut child);
            return Err(PortFailure::TimedOut {
                seconds: t.as_secs_f64(),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The shell running `cmd`.
fn shell(cmd: &str) -> Command {
    if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(cmd);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(cmd);
        c
    }
}

/// Kills `child` and, on Linux, every process of its group (the shell's children too).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(target_os = "linux")]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: `kill` with a negative pid signals the process group the child leads
        // (`process_group(0)` made it a leader); it touches no memory of this process.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// How a command ended, as a kind of failure: `exit status 1`, `signal 9`.
fn exit_kind(status: &std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(status) {
        return format!("signal {sig}");
    }
    "an abnormal exit".into()
}

/// The exception a program died of and its message, when its last line of stderr names one
/// the way Python's traceback and many runtimes do: `IndexError: ...`,
/// `numpy.linalg.LinAlgError: ...`.
fn exception(stderr: &str) -> Option<(String, String)> {
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let (name, message) = last.split_once(':').unwrap_or((last, ""));
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let named = name.chars().all(word) && (name.contains("Error") || name.contains("Exception"));
    named.then(|| (name.to_string(), message.trim().to_string()))
}

/// The last `n` characters of `s`, trimmed, its lines joined by ` | `.
fn tail(s: &str, n: usize) -> String {
    let s = s.trim();
    let skip = s.chars().count().saturating_sub(n);
    let t: String = s.chars().skip(skip).collect();
    t.lines().collect::<Vec<_>>().join(" | ")
}
