//! A closed standard output (`softobj | head -1`) ends the process quietly, as it ends `cat`
//! or `grep`: killed by SIGPIPE (exit status 141 in a shell), with nothing on stderr.
//!
//! Rust ignores SIGPIPE in every program, so a write to a closed pipe returns an error and
//! `println!` panics on it ("failed printing to stdout: Broken pipe"). A command-line tool
//! whose output is meant for pipes restores the default disposition once, before any output.

/// Restores the default SIGPIPE disposition (Unix); elsewhere nothing to do.
pub fn die_quietly_on_closed_stdout() {
    #[cfg(target_os = "linux")]
    // SAFETY: `signal` with `SIG_DFL` only changes this process's disposition of SIGPIPE; it
    // runs first thing in `main`, before any other thread exists, and no handler is installed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
