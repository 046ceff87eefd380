//! The docs against the code: every number a page quotes from the code (fixtures, edge cases,
//! test counts, sizes, versions) is the code's, every file a page names exists, the README's
//! Rust example is the crate's doc example (which `cargo test` runs) and its test command is
//! the one CI runs, and no page tells the project's history (that is CHANGELOG.md's).
//!
//! To check a new number, add a row to [`FACTS`]: what it counts, one or more regular
//! expressions whose first group is the number as a page writes it, and the function that
//! computes it from the repository or the library. Every user-facing page is searched for
//! every pattern, so a number restated on another page is checked too; a row whose patterns
//! match nowhere fails, since it would check nothing.

use std::path::{Path, PathBuf};

use regex::Regex;
use soft_objectness::casegen::{Cases, Generate, generate};
use soft_objectness::default_batch::DefaultBatch;

/// The pages a user reads (CHANGELOG.md, which tells history, is not among them). A `*` stands
/// for any file name in its folder.
const PAGES: &[&str] = &[
    "README.md",
    "docs/*.md",
    "python/README.md",
    "python/tests/ports/README.md",
    "Cargo.toml",
];

/// Stale words on pages that other work is rewriting at the moment: a finding inside this text
/// of this page is skipped while the page still says it, and the text's absence is an error
/// (remove the entry then, so that the page is checked in full again).
const KNOWN_STALE: &[(&str, &str)] = &[];

/// A number the docs quote, and its truth.
struct Fact {
    /// What the number counts, for the failure message.
    what: &'static str,
    /// Regular expressions whose first group is the number (digits, `1,000`, or a word up to
    /// twenty).
    patterns: &'static [&'static str],
    /// The truth, from the repository or the library.
    truth: fn() -> Truth,
}

/// What a stated number must be.
#[derive(Debug)]
enum Truth {
    /// Exactly this count.
    Count(u64),
    /// A measure stated roughly ("about 11.2 MB"): within 5% of this value.
    About(f64),
    /// A version, as written (`1.88`).
    Version(String),
}

impl std::fmt::Display for Truth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Truth::Count(n) => write!(f, "{n}"),
            Truth::About(x) => write!(f, "{x:.3}"),
            Truth::Version(v) => write!(f, "{v}"),
        }
    }
}

const FACTS: &[Fact] = &[
    Fact {
        what: "golden fixtures (fixtures/*.json)",
        patterns: &[
            r"\b(\d+) (?:golden )?fixtures\b",
            r"`fixtures/\*\.json` \((\d+)",
            r"\| fixtures \(`fixtures/\*\.json`\) \| (\d+) \|",
        ],
        truth: || Truth::Count(fixture_files().len() as u64),
    },
    Fact {
        what: "megabytes of golden fixtures",
        patterns: &[
            r"fixtures, about (\d+(?:\.\d+)?) MB",
            r"fixtures \((\d+(?:\.\d+)?) MB\)",
        ],
        truth: || Truth::About(fixture_files().iter().map(file_size).sum::<u64>() as f64 / 1e6),
    },
    Fact {
        what: "cases in the edge mix",
        patterns: &[r"\b(\d+) small cases", r"edge mix \((\d+) cases"],
        truth: || Truth::Count(generate(&Generate::new(Cases::Edge, 0)).unwrap().len() as u64),
    },
    Fact {
        what: "planted bugs (python/tests/ports/bugs.py)",
        patterns: &[r"\b(\d+) planted bugs"],
        truth: || Truth::Count(planted_bugs()),
    },
    Fact {
        what: "GPU tests (tests/gpu)",
        patterns: &[r"--test gpu -- --nocapture`, (\d+) tests"],
        truth: || Truth::Count(gpu_tests()),
    },
    Fact {
        what: "random cases of the GPU tests (tests/gpu/random.rs)",
        patterns: &[r"\| random cases \| (\d+) \|", r"the (\d+) random cases"],
        truth: || Truth::Count(number_in("tests/gpu/random.rs", r"for i in 0\.\.(\d+)")),
    },
    Fact {
        what: "adversarial cases of the GPU tests (tests/gpu/exact.rs)",
        patterns: &[
            r"\| adversarial exactness cases \| (\d+) \|",
            r"(\d+) adversarial cases",
        ],
        truth: || Truth::Count(number_in("tests/gpu/exact.rs", r"for i in 0\.\.(\d+)")),
    },
    Fact {
        what: "cases compared with YOLOv5's own loss (tests/yolov5/test_yolov5_parity.py)",
        patterns: &[r"float64 logits, (\d+) cases"],
        truth: || Truth::Count(yolov5_parity_cases()),
    },
    Fact {
        what: "fixtures checked against finite differences (fd=True in fixtures/export/export.py)",
        patterns: &[r"the (\d+) cases marked `fd`"],
        truth: || Truth::Count(read("fixtures/export/export.py").matches("fd=True").count() as u64),
    },
    Fact {
        what: "seeded cases of the builders' agreement test (tests/builders.rs)",
        patterns: &[r"\b(\d+) seeded cases"],
        truth: || {
            Truth::Count(number_in(
                "tests/builders.rs",
                r"ProptestConfig \{ cases: (\d+)",
            ))
        },
    },
    Fact {
        what: "cases of each property test of tests/extremes.rs",
        patterns: &[r"fixed seed, (\d+) cases each"],
        truth: || {
            Truth::Count(number_in(
                "tests/extremes.rs",
                r"ProptestConfig \{ cases: (\d+)",
            ))
        },
    },
    Fact {
        what: "deviations from the original (docs/spec.md section 9)",
        patterns: &[
            r"the (\w+) deliberate departures",
            r"differs from it in (\w+) places",
        ],
        truth: || Truth::Count(spec_deviations()),
    },
    Fact {
        what: "hand-written case_json fuzz seeds (fuzz/seeds/case_json)",
        patterns: &[r"\((\d+) hand-written cases"],
        truth: || Truth::Count(files_in("fuzz/seeds/case_json", |n| !n.starts_with("min-"))),
    },
    Fact {
        what: "hand-written npy fuzz seeds (fuzz/seeds/npy)",
        patterns: &[r"`fuzz/seeds/npy` \((\d+) files"],
        truth: || Truth::Count(files_in("fuzz/seeds/npy", |n| !n.starts_with("min-"))),
    },
    Fact {
        what: "minimised case_json fuzz inputs kept (fuzz/seeds/case_json/min-*)",
        patterns: &[r"\b(\d+) of the \d+ valid cases"],
        truth: || Truth::Count(files_in("fuzz/seeds/case_json", |n| n.starts_with("min-"))),
    },
    Fact {
        what: "minimised npy fuzz inputs kept (fuzz/seeds/npy/min-*)",
        patterns: &[r"\b(\d+) `\.npy` and \d+ `eval_struct` inputs"],
        truth: || Truth::Count(files_in("fuzz/seeds/npy", |n| n.starts_with("min-"))),
    },
    Fact {
        what: "minimised eval_struct fuzz inputs kept (fuzz/seeds/eval_struct/min-*)",
        patterns: &[r"\b\d+ `\.npy` and (\d+) `eval_struct` inputs"],
        truth: || {
            Truth::Count(files_in("fuzz/seeds/eval_struct", |n| {
                n.starts_with("min-")
            }))
        },
    },
    Fact {
        what: "kilobytes of fuzz seeds (fuzz/seeds)",
        patterns: &[r"\b(\d+) KB in all"],
        truth: || Truth::About(tree_size(&root().join("fuzz/seeds")) as f64 / 1e3),
    },
    Fact {
        what: "the oldest Rust that builds the crate (Cargo.toml rust-version)",
        patterns: &[r"Rust[^.\n]*?\b(1\.\d+) or newer"],
        truth: || Truth::Version(env!("CARGO_PKG_RUST_VERSION").to_string()),
    },
    Fact {
        what: "the oldest Python of the package (python/pyproject.toml requires-python)",
        patterns: &[r"Python (3\.\d+) or newer"],
        truth: || Truth::Version(pyproject_requires_python()),
    },
    Fact {
        what: "the Python version CI tests (python/pyproject.toml's classifier)",
        patterns: &[r"CI tests (3\.\d+)"],
        truth: || Truth::Version(pyproject_tested_python()),
    },
    Fact {
        what: "images in the default batch",
        patterns: &[r"\b(\d+) images of \d+x\d+, \d+ classes"],
        truth: || Truth::Count(DefaultBatch::standard(8).batch as u64),
    },
    Fact {
        what: "the default batch's image width",
        patterns: &[r"\bimages of (\d+)x\d+, \d+ classes"],
        truth: || Truth::Count(DefaultBatch::standard(8).width as u64),
    },
    Fact {
        what: "the default batch's image height",
        patterns: &[r"\bimages of \d+x(\d+), \d+ classes"],
        truth: || Truth::Count(DefaultBatch::standard(8).height as u64),
    },
    Fact {
        what: "classes in the default batch",
        patterns: &[r"\bimages of \d+x\d+, (\d+) classes"],
        truth: || Truth::Count(DefaultBatch::standard(8).nc as u64),
    },
    Fact {
        what: "megabytes of the default batch's float32 predictions",
        patterns: &[r"\b(\d+) MB of float32\b"],
        truth: || Truth::About(default_batch_values() as f64 * 4.0 / 1e6),
    },
    Fact {
        what: "cells of the default batch (images x anchors x grid cells of every layer)",
        patterns: &[r"\bthe ([\d,]+) (?:cells|logits)\b"],
        truth: || {
            Truth::Count((default_batch_values() / (5 + DefaultBatch::standard(8).nc)) as u64)
        },
    },
    Fact {
        what: "megabytes of the default batch's predictions as f64",
        patterns: &[r"\b(\d+) MB as f64"],
        truth: || Truth::About(default_batch_values() as f64 * 8.0 / 1e6),
    },
];

#[test]
fn the_numbers_the_docs_quote_are_the_codes() {
    let pages = pages();
    let mut stale = Stale::default();
    let mut wrong = Vec::new();
    for fact in FACTS {
        let truth = (fact.truth)();
        let mut found = 0;
        for pattern in fact.patterns {
            let re = Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            for page in &pages {
                for caps in re.captures_iter(&page.text) {
                    found += 1;
                    let (stated, at) = (&caps[1], caps.get(0).unwrap().range());
                    if !stale.skips(page, at.clone()) && !agrees(stated, &truth) {
                        wrong.push(format!(
                            "{}: says {stated} {}, the code says {truth}\n    {}",
                            page.place(at.start),
                            fact.what,
                            &caps[0]
                        ));
                    }
                }
            }
        }
        if found == 0 {
            wrong.push(format!(
                "no page states the {} any more: update the row's patterns {:?} or remove it",
                fact.what, fact.patterns
            ));
        }
    }
    wrong.extend(stale.unused(&pages));
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn every_file_a_page_names_exists() {
    // A path in backticks, from the repository root, or a Markdown link, from the page.
    let quoted = Regex::new(
        r"`((?:src|tests|shaders|fixtures|python|bench|benches|examples|docs|assets|fuzz|\.ci)/[^`\s]*)`",
    )
    .unwrap();
    let link = Regex::new(r"\]\(([^)\s#]+)(?:#[^)]*)?\)").unwrap();
    let mut stale = Stale::default();
    let mut missing = Vec::new();
    for page in &pages() {
        let dir = root().join(&page.path).parent().unwrap().to_path_buf();
        let named = quoted
            .captures_iter(&page.text)
            .map(|c| (c.get(1).unwrap(), root()))
            .chain(
                link.captures_iter(&page.text)
                    .filter(|c| !c[1].contains("://"))
                    .map(|c| (c.get(1).unwrap(), dir.clone())),
            );
        for (path, base) in named {
            if !names_a_file(path.as_str(), &base) && !stale.skips(page, path.range()) {
                missing.push(format!("{}: {}", page.place(path.start()), path.as_str()));
            }
        }
    }
    missing.extend(stale.unused(&pages()));
    assert!(missing.is_empty(), "no such file:\n{}", missing.join("\n"));
}

#[test]
fn the_readme_rust_example_is_the_crates_doc_example() {
    let readme = read("README.md");
    let start = readme
        .find("```rust\n")
        .expect("README.md: a ```rust block")
        + 8;
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let lib = read("src/lib.rs");
    let doc: String = lib
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .skip_while(|l| *l != "```")
        .skip(1)
        .take_while(|l| *l != "```")
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!doc.is_empty(), "src/lib.rs: no doc example");
    assert_eq!(
        block, doc,
        "README.md's Rust example is not src/lib.rs's doc example (the one `cargo test` runs)"
    );
}

#[test]
fn the_readme_test_command_is_what_ci_runs() {
    let ci = read(".ci/run");
    let command = ci
        .lines()
        .rev()
        .find(|l| l.starts_with("cargo test"))
        .expect(".ci/run: a `cargo test` line");
    assert!(
        read("README.md").lines().any(|l| l.trim_end() == command),
        "README.md's test command is not .ci/run's: {command}"
    );
}

#[test]
fn no_page_tells_the_projects_history() {
    let history = Regex::new(
        r"(?i)\bissue \d+|\b(?:first|second|third|fourth|fifth|this|that|earlier|later|previous) session\b|\bround \d\b|\b(?:first|second|third|fourth) round\b",
    )
    .unwrap();
    let mut found = Vec::new();
    for page in pages() {
        for m in history.find_iter(&page.text) {
            found.push(format!("{}: {:?}", page.place(m.start()), m.as_str()));
        }
    }
    assert!(
        found.is_empty(),
        "history belongs in CHANGELOG.md:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_stated_number_that_disagrees_is_caught() {
    // The check itself: numbers, digit groups and words are read, and compared by kind.
    assert!(agrees("102", &Truth::Count(102)));
    assert!(agrees("1,000", &Truth::Count(1000)));
    assert!(agrees("six", &Truth::Count(6)));
    assert!(!agrees("48", &Truth::Count(50)));
    assert!(!agrees("many", &Truth::Count(6)));
    assert!(agrees("11.2", &Truth::About(11.15)));
    assert!(!agrees("4.8", &Truth::About(11.15)));
    assert!(agrees("1.88", &Truth::Version("1.88".into())));
    assert!(!agrees("1.80", &Truth::Version("1.88".into())));
}

/// Whether `stated` (as a page writes it) is `truth`.
fn agrees(stated: &str, truth: &Truth) -> bool {
    match truth {
        Truth::Count(n) => parse_number(stated) == Some(*n as f64),
        Truth::About(x) => parse_number(stated).is_some_and(|v| (v - x).abs() <= 0.05 * x.abs()),
        Truth::Version(v) => stated == v,
    }
}

/// `102`, `1,000`, `11.2` or a number word up to twenty.
fn parse_number(s: &str) -> Option<f64> {
    const WORDS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    let lower = s.to_ascii_lowercase();
    if let Some(i) = WORDS.iter().position(|w| *w == lower) {
        return Some(i as f64);
    }
    s.replace(',', "").parse().ok()
}

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the repository, as text.
fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A page, its lines joined by single spaces (so that a phrase wrapped over two lines reads as
/// one), and where each line starts in that text.
struct Page {
    path: String,
    text: String,
    line_starts: Vec<usize>,
}

impl Page {
    fn read(path: String) -> Page {
        let mut text = String::new();
        let mut line_starts = Vec::new();
        for line in read(&path).lines() {
            if !line_starts.is_empty() {
                text.push(' ');
            }
            line_starts.push(text.len());
            text.push_str(line.trim());
        }
        Page {
            path,
            text,
            line_starts,
        }
    }

    /// `PATH:LINE` of an offset into the joined text.
    fn place(&self, offset: usize) -> String {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        format!("{}:{line}", self.path)
    }
}

/// The entries of [`KNOWN_STALE`] that skipped a finding.
#[derive(Default)]
struct Stale {
    used: Vec<bool>,
}

impl Stale {
    /// Whether a finding at `at` on `page` lies inside one of its known stale texts.
    fn skips(&mut self, page: &Page, at: std::ops::Range<usize>) -> bool {
        self.used.resize(KNOWN_STALE.len(), false);
        for (i, &(path, stale)) in KNOWN_STALE.iter().enumerate() {
            let inside = path == page.path
                && page
                    .text
                    .match_indices(stale)
                    .any(|(s, t)| s <= at.start && at.end <= s + t.len());
            if inside {
                self.used[i] = true;
                return true;
            }
        }
        false
    }

    /// The known stale texts that no page says any more.
    fn unused(&self, pages: &[Page]) -> Vec<String> {
        KNOWN_STALE
            .iter()
            .filter(|(path, stale)| {
                !pages
                    .iter()
                    .any(|p| p.path == *path && p.text.contains(stale))
            })
            .map(|(path, stale)| {
                format!("{path} no longer says {stale:?}: remove it from KNOWN_STALE")
            })
            .collect()
    }
}

/// The pages of [`PAGES`], by path from the root.
fn pages() -> Vec<Page> {
    let mut out = Vec::new();
    for pattern in PAGES {
        match pattern.split_once("*") {
            Some((dir, ext)) => {
                let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
                    .unwrap_or_else(|e| panic!("{dir}: {e}"))
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(ext))
                    .collect();
                names.sort();
                out.extend(names.into_iter().map(|n| format!("{dir}{n}")));
            }
            None => out.push(pattern.to_string()),
        }
    }
    out.into_iter().map(Page::read).collect()
}

/// Whether `path` (from `base`) names a file or folder of the repository: up to its first
/// wildcard or placeholder (`fixtures/*.json` names `fixtures/`), or one that git ignores
/// because a tool makes it (`fuzz/corpus/`).
fn names_a_file(path: &str, base: &Path) -> bool {
    let wild = path.find(['*', '{', '<']);
    let fixed = match wild {
        Some(i) => path[..i].rsplit_once('/').map_or("", |(head, _)| head),
        None => path,
    };
    base.join(fixed).exists() || (base == root() && ignored_by_git(fixed))
}

/// Whether a path from the root is one a `.gitignore` (the root's, or its top folder's) lists
/// from that folder.
fn ignored_by_git(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    let top = path.split('/').next().unwrap();
    [
        ("", ".gitignore".to_string()),
        (top, format!("{top}/.gitignore")),
    ]
    .iter()
    .filter_map(|(dir, file)| Some((dir, std::fs::read_to_string(root().join(file)).ok()?)))
    .any(|(dir, text)| {
        text.lines().filter_map(|l| l.strip_prefix('/')).any(|l| {
            let listed = l.trim_end_matches('/');
            path == if dir.is_empty() {
                listed.to_string()
            } else {
                format!("{dir}/{listed}")
            }
        })
    })
}

/// `fixtures/*.json`.
fn fixture_files() -> Vec<PathBuf> {
    let files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(!files.is_empty(), "fixtures/: no .json files");
    files
}

fn file_size(p: &PathBuf) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// Bytes of every file under `dir`.
fn tree_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                tree_size(&p)
            } else {
                file_size(&p)
            }
        })
        .sum()
}

/// Files in `dir` whose names pass `keep`.
fn files_in(dir: &str, keep: fn(&str) -> bool) -> u64 {
    std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter(|e| keep(&e.as_ref().unwrap().file_name().to_string_lossy()))
        .count() as u64
}

/// The first group of the first match of `pattern` in the file at `path`.
fn number_in(path: &str, pattern: &str) -> u64 {
    let text = read(path);
    let caps = Regex::new(pattern).unwrap().captures(&text);
    let caps = caps.unwrap_or_else(|| panic!("{path}: nothing matches {pattern}"));
    caps[1].parse().unwrap()
}

/// The planted bugs of the harness's reference port: the entries of `_LIST` in
/// `python/tests/ports/bugs.py`, one `_bug(` call at the start of a line each.
fn planted_bugs() -> u64 {
    let text = read("python/tests/ports/bugs.py");
    text.lines().filter(|l| l.starts_with("    _bug(")).count() as u64
}

/// The GPU tests that run with the `gpu` feature: the trials `tests/gpu/main.rs` registers
/// (its own harness, libtest-mimic): each `module::test` of a `gpu_trials!` list and the
/// reporting trial; the memory probe, ignored unless called by its test, is not counted.
fn gpu_tests() -> u64 {
    let text = read("tests/gpu/main.rs");
    let entry = Regex::new(r"^[a-z0-9_]+::[a-z0-9_]+,$").unwrap();
    let listed = text.lines().filter(|l| entry.is_match(l.trim())).count();
    let reporting = text.matches("\"reporting::").count();
    (listed + reporting) as u64
}

/// The entries of `CASES` in the YOLOv5 comparison: one `("name", ...` line each.
fn yolov5_parity_cases() -> u64 {
    let text = read("tests/yolov5/test_yolov5_parity.py");
    let start = text.find("\nCASES = [").expect("CASES") + 1;
    let end = start + text[start..].find("\n]").expect("the end of CASES");
    text[start..end]
        .lines()
        .filter(|l| l.trim_start().starts_with("(\""))
        .count() as u64
}

/// The numbered items of docs/spec.md section 9.
fn spec_deviations() -> u64 {
    let spec = read("docs/spec.md");
    let start = spec.find("\n## 9.").expect("docs/spec.md: section 9") + 1;
    let end = start + spec[start..].find("\n## ").expect("the section after 9");
    let item = Regex::new(r"^\d+\. ").unwrap();
    spec[start..end]
        .lines()
        .filter(|l| item.is_match(l))
        .count() as u64
}

/// `requires-python = ">=3.9"` of python/pyproject.toml: `3.9`.
fn pyproject_requires_python() -> String {
    let text = read("python/pyproject.toml");
    let caps = Regex::new(r#"requires-python = ">=(3\.\d+)""#)
        .unwrap()
        .captures(&text)
        .expect("python/pyproject.toml: requires-python");
    caps[1].to_string()
}

/// The one `Programming Language :: Python :: 3.N` classifier: the version CI tests.
fn pyproject_tested_python() -> String {
    let text = read("python/pyproject.toml");
    let re = Regex::new(r#""Programming Language :: Python :: (3\.\d+)""#).unwrap();
    let versions: Vec<String> = re.captures_iter(&text).map(|c| c[1].to_string()).collect();
    assert_eq!(versions.len(), 1, "python/pyproject.toml: {versions:?}");
    versions[0].clone()
}

/// Prediction values of the default batch (any number of boxes: the shapes do not depend on
/// it).
fn default_batch_values() -> usize {
    let (_, inputs) = DefaultBatch::standard(1).build().unwrap();
    inputs
        .predictions
        .iter()
        .map(|p| p.shape().iter().product::<usize>())
        .sum()
}
