//! The structure guards itself: no two folders (or files of one folder) import each other, and
//! the pure crates depend, even indirectly, on no platform, SQL, template, HTTP or async crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates the pure layer must never reach (ARCHITECTURE.md, Invariants).
const FORBIDDEN: [&str; 6] = [
    "sqlx",
    "serenity",
    "teloxide",
    "handlebars",
    "reqwest",
    "tokio",
];

/// The crates whose manifests may not reach `FORBIDDEN`.
const PURE: [&str; 2] = ["canvass-core", "canvass-config"];

/// Every source root of the workspace: each is checked on its own.
const ROOTS: [&str; 3] = [
    "src",
    "crates/canvass-core/src",
    "crates/canvass-config/src",
];

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A module path from the crate root: `src/platform/telegram/send.rs` is
/// `["platform", "telegram", "send"]`; `mod.rs`, `lib.rs` and `main.rs` name their folder.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (line comments only; the code base has no block
/// comments holding paths).
fn code(src: &str) -> String {
    src.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a use tree (`a::{b, c::d}`) into its paths, each as a list of segments.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        return vec![path.split("::").map(|s| s.trim().to_string()).collect()];
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    // Split on the commas at depth 0.
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|rest| prefix.iter().cloned().chain(rest).collect())
        .collect()
}

/// Every `crate::`, `super::` and `self::` path a file names, in `use` lines and inline.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let boundary = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric();
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if boundary {
            out.extend(expand(&after[..end]));
        }
        rest = &after[if boundary { end } else { 0 }..];
    }
    let bytes = code.as_bytes();
    for head in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(head) {
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            let path: String = code[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.split("::").map(str::to_string).collect());
        }
    }
    out
}

/// Resolves a path named in module `me` to an absolute module path, keeping only the leading
/// lowercase segments (modules, or a function: a function is never a module node below).
fn resolve(me: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut abs: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super" | "self") => me.to_vec(),
        _ => return None,
    };
    let mut segs = path.iter().peekable();
    if path.first().is_some_and(|s| s == "crate") {
        segs.next();
    }
    while let Some(s) = segs.next_if(|s| *s == "super" || *s == "self") {
        if s == "super" {
            abs.pop()?;
        }
    }
    for s in segs {
        if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            break;
        }
        abs.push(s.clone());
    }
    Some(abs)
}

/// The cycles among the children of each folder of a source root, as "folder: a -> b -> a".
fn cycles(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(root, f)).collect();
    // folder -> child -> children it imports
    let mut graph: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let me = module_of(root, f);
        let src = std::fs::read_to_string(f).unwrap_or_default();
        for p in paths(&code(&src)) {
            let Some(target) = resolve(&me, &p) else {
                continue;
            };
            let common = me.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common >= me.len() || common >= target.len() {
                continue; // a module and its own ancestors or descendants
            }
            let folder = me[..common].to_vec();
            let to = target[..=common].to_vec();
            if !modules.contains(&to) {
                continue; // an item of the folder's own module, not a child module
            }
            graph
                .entry(folder)
                .or_default()
                .entry(me[common].clone())
                .or_default()
                .insert(target[common].clone());
        }
    }
    let mut found = Vec::new();
    for (folder, edges) in &graph {
        for start in edges.keys() {
            // Depth-first search for a path back to `start`; report each cycle from its
            // smallest member only.
            let mut stack = vec![vec![start.clone()]];
            let mut seen = BTreeSet::new();
            while let Some(path) = stack.pop() {
                let last = path.last().cloned().unwrap_or_default();
                for next in edges.get(&last).into_iter().flatten() {
                    if next == start {
                        if path.iter().all(|m| m >= start) {
                            let name = if folder.is_empty() {
                                "src".to_string()
                            } else {
                                folder.join("/")
                            };
                            found.push(format!("{name}: {} -> {start}", path.join(" -> ")));
                        }
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push(longer);
                    }
                }
            }
        }
    }
    found
}

#[test]
fn no_folder_imports_in_a_cycle() {
    let mut found = Vec::new();
    for r in ROOTS {
        for c in cycles(&root(r)) {
            found.push(format!("{r}: {c}"));
        }
    }
    assert!(
        found.is_empty(),
        "modules that import each other:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_planted_cycle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).expect("mkdir");
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").expect("write");
    std::fs::write(src.join("a/mod.rs"), "pub mod x;\npub mod y;\n").expect("write");
    // Files of one folder importing each other, through `super` and through braces.
    std::fs::write(src.join("a/x.rs"), "use super::{y::Y, z};\n").expect("write");
    std::fs::write(src.join("a/y.rs"), "fn f() { crate::a::x::g(); }\n").expect("write");
    // Folders importing each other, one of them only in an inline path.
    std::fs::write(src.join("a/z.rs"), "use crate::b::B;\n").expect("write");
    std::fs::write(
        src.join("b.rs"),
        "// use crate::c;\nfn f() -> crate::a::z::Z { todo!() }\n",
    )
    .expect("write");
    let found = cycles(src);
    assert_eq!(found, ["src: a -> b -> a", "a: x -> y -> x"], "{found:?}");
}

/// How much of the store a folder may name.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    /// Nothing: not the module, its types, or a handle (the adapters).
    None,
    /// Its row types and the read-only `Reader`, but no handle that writes: `Store`, `Tx`, a
    /// `.store` field or method, `.begin(` (the digest).
    ReadOnly,
}

/// Where the files under `dir` name more of the store than `reach` allows: the `Store` or `Tx`
/// types, a `.store` field or method, a transaction begun, or (`Reach::None`) the
/// `crate::store` module at all. Adapters report what they posted to the service and the digest
/// asks it to record its deliveries; its writer writes, they hold no handle to write with.
fn store_handles(dir: &Path, reach: Reach) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    files.sort();
    let mut found = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in code(&src).lines().enumerate() {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .collect();
            let handle = words.iter().any(|w| *w == "Store" || *w == "Tx")
                || line.contains(".store")
                || line.contains(".begin(");
            let module = line.contains("crate::store")
                || line.contains("canvass::store")
                || line.contains("store::");
            let named = handle || (reach == Reach::None && module);
            if named {
                let rel = f.strip_prefix(dir).unwrap_or(&f).display().to_string();
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn adapters_have_no_handle_to_the_store() {
    let found = store_handles(&root("src/platform"), Reach::None);
    assert!(
        found.is_empty(),
        "adapters reaching the store (write through the service instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_digest_has_no_handle_to_write_with() {
    let found = store_handles(&root("src/digest"), Reach::ReadOnly);
    assert!(
        found.is_empty(),
        "the digest holding a writable store handle (write through the service instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_store_check_finds_a_planted_handle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::write(
        src.join("a.rs"),
        "// service.store() in a comment is fine\nfn f(s: &Service) { s.store().record_posting(); }\n",
    )
    .expect("write");
    std::fs::write(src.join("b.rs"), "use crate::store::Store;\n").expect("write");
    std::fs::write(
        src.join("c.rs"),
        "fn g(t: &mut Tx) {}\nfn h(r: StoredSurvey) {}\n",
    )
    .expect("write");
    let found = store_handles(src, Reach::None);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("a.rs:2:"), "{found:?}");
    assert!(found[2].starts_with("c.rs:1:"), "{found:?}");
    // Read-only: the row types and `Reader` pass; a handle that can write does not.
    std::fs::write(
        src.join("d.rs"),
        "use crate::store::{Delivery, Reader};\nfn k(r: &Reader) {}\nasync fn m(s: &S) { s.pool().begin().await; }\n",
    )
    .expect("write");
    let found = store_handles(src, Reach::ReadOnly);
    let names: Vec<&str> = found.iter().map(|f| &f[..6]).collect();
    assert_eq!(names, ["a.rs:2", "b.rs:1", "c.rs:1", "d.rs:3"], "{found:?}");
}

/// The `Cargo.lock` packages `name` reaches through its dependencies (normal, build, dev).
fn reached(lock: &toml::Table, name: &str) -> BTreeSet<String> {
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in lock
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let Some(n) = p.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let list = p.get("dependencies").and_then(|d| d.as_array());
        let names = list.into_iter().flatten().filter_map(|d| d.as_str());
        deps.entry(n.to_string())
            .or_default()
            .extend(names.map(|d| d.split(' ').next().unwrap_or(d).to_string()));
    }
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone()) {
            todo.extend(deps.get(&n).into_iter().flatten().cloned());
        }
    }
    seen
}

#[test]
fn pure_crates_reach_no_platform_sql_template_http_or_async_crate() {
    let lock: toml::Table = std::fs::read_to_string(root("Cargo.lock"))
        .expect("Cargo.lock")
        .parse()
        .expect("Cargo.lock is TOML");
    // The check itself sees the main crate reach them all.
    let main = reached(&lock, "canvass");
    assert!(FORBIDDEN.iter().all(|f| main.contains(*f)), "{main:?}");
    for krate in PURE {
        let reach = reached(&lock, krate);
        assert!(
            reach.contains("serde"),
            "{krate} is not in Cargo.lock: {reach:?}"
        );
        let bad: Vec<_> = FORBIDDEN.iter().filter(|f| reach.contains(**f)).collect();
        assert!(bad.is_empty(), "{krate} reaches {bad:?}");
    }
}

/// The source roots whose files the code map must name and whose files are held to a size.
fn source_files(repo: &Path) -> Vec<String> {
    let mut roots = vec![repo.join("src")];
    if let Ok(crates) = std::fs::read_dir(repo.join("crates")) {
        roots.extend(crates.flatten().map(|c| c.path().join("src")));
    }
    let mut files = Vec::new();
    for r in roots {
        rust_files(&r, &mut files);
    }
    let mut out: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(repo).ok())
        .map(|f| f.to_string_lossy().replace('\\', "/"))
        .collect();
    out.sort();
    out
}

/// The rows of ARCHITECTURE.md's code map: the backticked names of the first cell, and of the
/// whole row.
fn code_map_rows(doc: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let ticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let start = doc.find("## Code map").unwrap_or(doc.len());
    let section = &doc[start..];
    let end = section[2..].find("\n## ").map_or(section.len(), |i| i + 2);
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let first = l[1..].split('|').next().unwrap_or("");
            (ticked(first), ticked(l))
        })
        .collect()
}

/// Whether `path` is `dir` + something, where `dir` may be written from any folder boundary
/// (`canvass-core/src/insight/` for `crates/canvass-core/src/insight/`).
fn under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    let full = format!("/{path}");
    full.match_indices(&format!("/{dir}/")).next().is_some()
}

/// The source files the code map does not name. A file is named by its path (from any folder
/// boundary: `core/ids.rs`, `src/platform/console.rs`), or by its name (or its path below the
/// folder, `stats/monte_carlo.rs`) in the row of a folder it is in; a folder's `mod.rs` or
/// `lib.rs` is named by that folder's row.
fn unmapped(repo: &Path, doc: &str) -> Vec<String> {
    let rows = code_map_rows(doc);
    source_files(repo)
        .into_iter()
        .filter(|f| {
            let full = format!("/{f}");
            let name = f.rsplit('/').next().unwrap_or(f);
            !rows.iter().any(|(first, all)| {
                // The folders this row is about: its own folder paths, and those of its files.
                let dirs: Vec<&str> = first
                    .iter()
                    .map(|t| match t.rfind('/') {
                        Some(i) if !t.ends_with('/') => &t[..=i],
                        _ => t.as_str(),
                    })
                    .filter(|d| d.ends_with('/'))
                    .collect();
                let by_path = all.iter().any(|t| {
                    t.ends_with(".rs") && t.contains('/') && full.ends_with(&format!("/{t}"))
                });
                let in_row_folder = dirs.iter().any(|d| under(f, d));
                let by_name = in_row_folder
                    && all
                        .iter()
                        .any(|t| t.ends_with(".rs") && full.ends_with(&format!("/{t}")));
                let folder_module = matches!(name, "mod.rs" | "lib.rs")
                    && first.iter().any(|d| {
                        d.ends_with('/')
                            && (full.ends_with(&format!("/{d}{name}"))
                                || full.ends_with(&format!("/{d}src/{name}")))
                    });
                by_path || by_name || folder_module
            })
        })
        .collect()
}

#[test]
fn the_code_map_names_every_source_file() {
    let doc = std::fs::read_to_string(root("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let missing = unmapped(&root(""), &doc);
    assert!(
        missing.is_empty(),
        "files ARCHITECTURE.md's code map does not name:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_code_map_check_finds_a_planted_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path();
    for f in [
        "src/main.rs",
        "src/a/mod.rs",
        "src/a/x.rs",
        "src/a/deep/y.rs",
        "src/a/unnamed.rs",
        "crates/k/src/lib.rs",
        "crates/k/src/core/z.rs",
        "crates/k/src/other.rs",
    ] {
        let p = repo.join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, "//! planted\n").expect("write");
    }
    let doc = "# A\n\n## Code map\n\n| path | what |\n|---|---|\n\
        | `src/main.rs` | main |\n\
        | `src/a/` | `x.rs`, `deep/y.rs`; not `other.rs` |\n\
        | `crates/k/` | the crate |\n\
        | `core/z.rs` | z |\n\n## Invariants\n\n| `src/a/unnamed.rs` | not the map |\n";
    let missing = unmapped(repo, doc);
    assert_eq!(
        missing,
        ["crates/k/src/other.rs", "src/a/unnamed.rs"],
        "{missing:?}"
    );
}

/// Longest a source file may be, counting its code before a trailing `#[cfg(test)] mod tests`
/// block (test files, `*_tests.rs` and `tests.rs`, are not counted).
const MAX_CODE_LINES: usize = 800;

/// Lines of non-test code in `src`: everything before a `#[cfg(test)]` line that opens a
/// `mod tests` block running to the end of the file.
fn code_lines(src: &str) -> usize {
    let lines: Vec<&str> = src.lines().collect();
    let tests_at = lines.iter().enumerate().position(|(i, l)| {
        l.trim() == "#[cfg(test)]"
            && lines
                .get(i + 1)
                .is_some_and(|n| n.trim_start().starts_with("mod tests"))
            && lines[i + 1].trim_end().ends_with('{')
    });
    tests_at.unwrap_or(lines.len())
}

/// The source files over `MAX_CODE_LINES` of non-test code, with their count.
fn oversized(repo: &Path) -> Vec<String> {
    source_files(repo)
        .into_iter()
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            !(name.ends_with("_tests.rs") || name == "tests.rs")
        })
        .filter_map(|f| {
            let src = std::fs::read_to_string(repo.join(&f)).unwrap_or_default();
            let n = code_lines(&src);
            (n > MAX_CODE_LINES).then(|| format!("{f}: {n} lines"))
        })
        .collect()
}

#[test]
fn no_source_file_has_more_than_800_lines_of_code() {
    let found = oversized(&root(""));
    assert!(
        found.is_empty(),
        "files over {MAX_CODE_LINES} lines of non-test code (split them):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_size_check_finds_a_planted_long_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let code = |n: usize| "fn f() {}\n".repeat(n);
    let tests = format!("#[cfg(test)]\nmod tests {{\n{}}}\n", code(900));
    // 800 lines of code and a long test block: fine; 801: too long; test files: not counted.
    std::fs::write(src.join("ok.rs"), format!("{}{tests}", code(800))).expect("write");
    std::fs::write(src.join("long.rs"), format!("{}{tests}", code(801))).expect("write");
    std::fs::write(src.join("long_tests.rs"), code(2000)).expect("write");
    // A `#[cfg(test)]` item that is not the trailing tests module still counts as code.
    std::fs::write(
        src.join("gated.rs"),
        format!(
            "{}#[cfg(test)]\nfn only_in_tests() {{}}\n{}",
            code(400),
            code(401)
        ),
    )
    .expect("write");
    let found = oversized(dir.path());
    assert_eq!(
        found,
        ["src/gated.rs: 803 lines", "src/long.rs: 801 lines"],
        "{found:?}"
    );
}
