//! What users of Unix tools expect of `softobj` (docs/oracle-guide.md): a closed pipe ends it
//! quietly, bad option values are refused with a message, `gen` does not overwrite files
//! silently, and every subcommand's help lists the exit codes.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::cli::{p, text};

fn softobj() -> Command {
    Command::new(env!("CARGO_BIN_EXE_softobj"))
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/soft_default.json");
    let gen_dir = dir.path().join("g");
    let gen_out = gen_dir.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec![],
        vec!["eval", fixture],
        vec!["gen", "--out", gen_out, "--count", "30"],
    ];
    for args in commands {
        let mut child = softobj()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then close the pipe as `head -c 1` does.
        let mut stdout = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        stdout.read_exact(&mut one).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            // Either it finished writing before the pipe closed, or SIGPIPE ended it.
            assert!(
                out.status.success() || out.status.signal() == Some(13),
                "{args:?}: {:?} {stderr}",
                out.status
            );
        }
    }
}

#[test]
fn zero_threads_is_refused_with_a_message() {
    let out = softobj()
        .args(["bench", "--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--threads") && err.contains("at least 1"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn gen_does_not_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = p(dir.path());
    let first = softobj()
        .args(["gen", "--out", d, "--count", "2"])
        .output()
        .unwrap();
    assert!(first.status.success());
    let case = dir.path().join("case-000.json");
    std::fs::write(&case, "mine").unwrap();
    let again = softobj()
        .args(["gen", "--out", d, "--count", "2"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    let err = text(&again.stderr);
    assert!(
        err.contains("case-000.json") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&case).unwrap(), "mine");
    let forced = softobj()
        .args(["gen", "--out", d, "--count", "2", "--force"])
        .output()
        .unwrap();
    assert!(forced.status.success());
    assert_ne!(std::fs::read_to_string(&case).unwrap(), "mine");
}

#[test]
fn every_help_lists_the_exit_codes() {
    for sub in [
        None,
        Some("eval"),
        Some("check"),
        Some("gen"),
        Some("plot"),
        Some("bench"),
        Some("summary"),
    ] {
        let mut cmd = softobj();
        if let Some(s) = sub {
            cmd.arg(s);
        }
        let out = cmd.arg("--help").output().unwrap();
        assert!(out.status.success(), "{sub:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Exit codes: 0 success"), "{sub:?}: {help}");
    }
}

/// Without a display session (no `XDG_RUNTIME_DIR`), the GPU path prints nothing about one:
/// Mesa's device-select layer would print `XDG_RUNTIME_DIR is invalid or not set` twice.
#[cfg(feature = "gpu")]
#[test]
fn the_gpu_path_needs_no_display_session() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/soft_default.json");
    let out = softobj()
        .args(["eval", fixture, "--backend", "gpu"])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
    if std::env::var("SOFTOBJ_REQUIRE_GPU").as_deref() == Ok("1") {
        assert!(out.status.success(), "{err}");
        assert!(err.is_empty(), "{err}");
    }
}
