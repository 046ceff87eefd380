//! The modules of `src/` stand on floors: each imports only from the floors below it, so no two
//! modules import each other and there is no import cycle anywhere (docs/architecture.md).
//!
//! The check reads the source: every `crate::` path outside comments and `#[cfg(test)]`
//! modules, every root re-export it goes through, and inside a folder every `super::` path.
//! `cargo test --test architecture` is the command that proves the layering.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, bottom first: a module may import only from a lower line.
const FLOORS: &[&[&str]] = &[
    &["error", "prefetch"],
    &["json"],
    &["array", "vocab"],
    &["npy"],
    &["config"],
    &["inputs"],
    &["targets", "grad"],
    &["result"],
    &["totals", "workspace"],
    &["assign", "loss"],
    &["answer", "default_batch"],
    &["case"],
    &["gpu"],
    &["options"],
    &["eval"],
    &["conformance", "casegen"],
    &["plot", "internals", "harness"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable src/") {
        let p = entry.expect("a directory entry").path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The source without comments and without `#[cfg(test)]` items (a test may use any floor).
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    while let Some(at) = code.find("#[cfg(test)]") {
        let Some(open) = code[at..].find('{').map(|i| at + i) else {
            break;
        };
        let semicolon = code[at..].find(';').map(|i| at + i);
        if semicolon.is_some_and(|s| s < open) {
            // `#[cfg(test)] use ...;` or `#[cfg(test)] mod name;`
            code.replace_range(at..=semicolon.unwrap_or(open), "");
            continue;
        }
        let mut depth = 0usize;
        let mut end = code.len();
        for (i, ch) in code[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        code.replace_range(at..end, "");
    }
    code
}

/// The identifiers a `use` tree or path names right after `prefix::` (`crate::{a, b::c}` gives
/// `a` and `b`, `crate::a::b` gives `a`).
fn heads_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut heads = BTreeSet::new();
    let pat = format!("{prefix}::");
    let mut rest = code;
    while let Some(i) = rest.find(&pat) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + pat.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut at_start = true;
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        if !item.is_empty() {
                            heads.insert(std::mem::take(&mut item));
                        }
                        at_start = true;
                        continue;
                    }
                    _ => {}
                }
                if depth == 1 && at_start {
                    if item.is_empty() && ch.is_whitespace() {
                        continue;
                    }
                    if ch.is_alphanumeric() || ch == '_' {
                        item.push(ch);
                        continue;
                    }
                    if !item.is_empty() {
                        heads.insert(std::mem::take(&mut item));
                        at_start = false;
                    }
                }
            }
            if !item.is_empty() {
                heads.insert(item);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                heads.insert(name);
            }
        }
    }
    heads
}

/// Whether `code` has a path starting `name::` (not `other_name::`, not `x::name::`).
fn mentions_path(code: &str, name: &str) -> bool {
    let pat = format!("{name}::");
    code.match_indices(&pat).any(|(i, _)| {
        code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
    })
}

/// Root re-exports: `pub use module::{Name, ...}` in lib.rs, name -> module.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for stmt in code_of(lib).split(';') {
        let stmt = stmt.trim();
        let Some(path) = stmt.strip_prefix("pub use ") else {
            continue;
        };
        let module: String = path
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        for name in heads_after(path, &module) {
            map.insert(name, module.clone());
        }
    }
    // `pub type Alias = Target;`
    for stmt in code_of(lib).split(';') {
        if let Some(def) = stmt.trim().strip_prefix("pub type ")
            && let Some((alias, target)) = def.split_once('=')
            && let Some(m) = map.get(target.trim()).cloned()
        {
            map.insert(alias.trim().to_string(), m);
        }
    }
    map
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`src/assign/score.rs` -> `assign`), or `None` for
/// the crate root and the binary.
fn top_module(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src_dir()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.as_str() {
        "lib.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

#[test]
fn every_module_imports_only_from_lower_floors() {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).expect("lib.rs");
    let reexports = root_reexports(&lib);
    let mut violations = Vec::new();
    let mut unknown = BTreeSet::new();
    for file in rust_files(&src_dir()) {
        let Some(me) = top_module(&file) else {
            continue;
        };
        let Some(my_floor) = floor_of(&me) else {
            unknown.insert(me);
            continue;
        };
        let code = code_of(&std::fs::read_to_string(&file).expect("a source file"));
        for head in heads_after(&code, "crate") {
            let target = if floor_of(&head).is_some() {
                head.clone()
            } else if let Some(m) = reexports.get(&head) {
                m.clone()
            } else {
                continue; // a macro or a name of lib.rs itself
            };
            if target == me {
                continue;
            }
            let floor = floor_of(&target).expect("re-exports name known modules");
            if floor >= my_floor {
                violations.push(format!(
                    "{} imports crate::{head} ({target}, floor {floor}) from floor {my_floor}",
                    file.strip_prefix(src_dir()).unwrap_or(&file).display()
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from FLOORS (and from docs/architecture.md): {unknown:?}"
    );
    assert!(
        violations.is_empty(),
        "imports that do not go down a floor:\n{}",
        violations.join("\n")
    );
}

/// Inside each folder, the files import each other without a cycle (a child does not import
/// from its `mod.rs`, which declares it).
#[test]
fn no_import_cycle_inside_a_folder() {
    let mut folders: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in rust_files(&src_dir()) {
        if file.starts_with(src_dir().join("bin")) {
            continue;
        }
        let dir = file.parent().expect("a folder").to_path_buf();
        if dir != src_dir() {
            folders.entry(dir).or_default().push(file);
        }
    }
    for (dir, files) in folders {
        let name_of = |f: &Path| {
            f.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string()
        };
        let names: BTreeSet<String> = files.iter().map(|f| name_of(f)).collect();
        let folder = dir
            .strip_prefix(src_dir())
            .expect("inside src")
            .to_string_lossy()
            .replace('/', "::");
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &files {
            let me = name_of(f);
            let code = code_of(&std::fs::read_to_string(f).expect("a source file"));
            let mut targets = BTreeSet::new();
            for head in heads_after(&code, &format!("crate::{folder}")) {
                targets.insert(if names.contains(&head) {
                    head
                } else {
                    "mod".into()
                });
            }
            if me == "mod" {
                for head in heads_after(&code, "self") {
                    if names.contains(&head) {
                        targets.insert(head);
                    }
                }
                for n in &names {
                    if n != "mod" && mentions_path(&code, n) {
                        targets.insert(n.clone());
                    }
                }
            } else {
                for head in heads_after(&code, "super") {
                    targets.insert(if names.contains(&head) {
                        head
                    } else {
                        "mod".into()
                    });
                }
            }
            targets.remove(&me);
            edges.insert(me, targets);
        }
        // Depth-first search for a cycle.
        fn visit(
            n: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            state: &mut BTreeMap<String, u8>,
            path: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            match state.get(n) {
                Some(1) => {
                    let start = path.iter().position(|p| p == n).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(n.to_string());
                    return Some(cycle);
                }
                Some(_) => return None,
                None => {}
            }
            state.insert(n.to_string(), 1);
            path.push(n.to_string());
            for m in edges.get(n).into_iter().flatten() {
                if let Some(c) = visit(m, edges, state, path) {
                    return Some(c);
                }
            }
            path.pop();
            state.insert(n.to_string(), 2);
            None
        }
        let mut state = BTreeMap::new();
        for n in edges.keys() {
            if let Some(cycle) = visit(n, &edges, &mut state, &mut Vec::new()) {
                panic!("import cycle in src/{folder}: {}", cycle.join(" -> "));
            }
        }
    }
}

/// The checker itself: it sees `use` groups, plain paths and re-exports, and skips comments
/// and test modules.
#[test]
fn the_checker_reads_paths_groups_and_skips_tests() {
    let code = code_of(
        "use crate::{a, b::{c, d}, e::f};\nlet x = crate::g::h(); // crate::comment\n\
         #[cfg(test)]\nmod tests { use crate::hidden; }\nfn y() -> crate::Z {}",
    );
    let heads = heads_after(&code, "crate");
    let want: BTreeSet<String> = ["a", "b", "e", "g", "Z"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(heads, want);
    let lib = "pub use eval::{evaluate, build_targets};\npub use options::SoftBuilder;\npub type Builder = SoftBuilder;";
    let r = root_reexports(lib);
    assert_eq!(r["evaluate"], "eval");
    assert_eq!(r["Builder"], "options");
}
