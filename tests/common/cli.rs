//! Running the `softobj` binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `softobj` with `args`, with the extra environment variables `env`.
pub fn softobj_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_softobj"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run softobj")
}

/// Runs `softobj` with `args`.
pub fn softobj(args: &[&str]) -> Output {
    softobj_env(args, &[])
}

/// Bytes of an output stream as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A path as an argument.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Runs softobj, expects exit code `code`, returns stdout.
pub fn expect(args: &[&str], code: i32) -> String {
    let out = softobj(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "softobj {args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A refusal: exit code 2, empty stdout, and one error message on stderr (no panic) that
/// mentions each of `needles`.
pub fn assert_refused(out: &Output, needles: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty, got {:?}",
        text(&out.stdout)
    );
    assert!(
        stderr.starts_with("softobj: error: ") || stderr.starts_with("error: "),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{stderr:?} should mention {n:?}");
    }
}
