//! One version across the manifests that state it: the crate (`Cargo.toml`), the Python binding
//! (`python/Cargo.toml`) and the Python package (`python/pyproject.toml`, the version PyPI
//! shows), with `Cargo.lock` agreeing (the wheel is built `--locked`) and a CHANGELOG section
//! for it. A release bumps them together (docs/releasing.md); this test fails on any that lags.

use std::path::Path;

/// The `version = "..."` line of `table` in the TOML file at `path` (relative to the
/// repository root).
fn version_in(path: &str, table: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == table;
        } else if let Some(value) = line.strip_prefix("version = ").filter(|_| inside) {
            return value.trim_matches('"').to_string();
        }
    }
    panic!("{path}: no `version` in {table}")
}

/// The version `Cargo.lock` records for the workspace package `name`.
fn locked_version(name: &str) -> String {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .expect("Cargo.lock");
    let entry = format!("name = \"{name}\"\nversion = \"");
    let start = lock.find(&entry).map(|i| i + entry.len());
    let start = start.unwrap_or_else(|| panic!("Cargo.lock: no package {name}"));
    lock[start..].split('"').next().unwrap().to_string()
}

#[test]
fn every_manifest_states_the_crates_version() {
    let stated = [
        ("Cargo.toml", version_in("Cargo.toml", "[package]")),
        (
            "python/Cargo.toml",
            version_in("python/Cargo.toml", "[package]"),
        ),
        (
            "python/pyproject.toml",
            version_in("python/pyproject.toml", "[project]"),
        ),
        (
            "Cargo.lock: soft-objectness",
            locked_version("soft-objectness"),
        ),
        (
            "Cargo.lock: soft-objectness-python",
            locked_version("soft-objectness-python"),
        ),
    ];
    for (place, version) in stated {
        assert_eq!(version, env!("CARGO_PKG_VERSION"), "{place}");
    }
}

#[test]
fn the_changelog_has_a_section_for_the_version() {
    let changelog =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("CHANGELOG.md"))
            .expect("CHANGELOG.md");
    let heading = format!("## {} ", env!("CARGO_PKG_VERSION"));
    let found = changelog
        .lines()
        .any(|l| format!("{l} ").starts_with(&heading));
    assert!(found, "CHANGELOG.md: no `{}` section", heading.trim_end());
}
