//! The module graph has no cycles: between the top-level modules, and between the submodules
//! of any directory module (`deploy/`, `stage/`, ...). A directory's `mod.rs` counts as a
//! node of its own. Its re-exports (`pub use child::Item`) are not dependencies of its own
//! code, so they make no edge; any other use of a child does, and a child that uses the
//! parent's items then closes a cycle.
//!
//! Modules compiled only for tests (`#[cfg(test)] mod ...`, the test support `testing`
//! included) are left out: tests may use any layer, and no other code can use them.
//!
//! The check reads the sources as text: every `use` statement and every `crate::`, `super::`
//! and `self::` path outside comments and string literals, resolved against the module the
//! text is in (inline `mod tests { ... }` blocks included).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path below the crate root, e.g. `["deploy", "plan"]`.
type ModPath = Vec<String>;

/// Where an edge comes from, to explain a cycle.
#[derive(Debug, Clone)]
struct Origin {
    file: PathBuf,
    path: String,
}

struct Crate {
    /// Every module that has a file, and every inline module found.
    modules: BTreeSet<ModPath>,
    /// Modules declared under `#[cfg(test)]` (their submodules are test code too).
    test_only: BTreeSet<ModPath>,
    /// (from, to) module paths with the first place that makes the edge.
    edges: BTreeMap<(ModPath, ModPath), Origin>,
}

fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).expect("under src/");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable source directory")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments and without the contents of string and char literals.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&b, i) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                if b[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1;
        } else if c == '\'' && (b.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            let mut j = i + 1;
            while j < b.len() && b[j] != '\'' {
                if b[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// The module stack at each byte offset: the file's module plus the inline `mod x {` blocks.
fn inline_modules(code: &str, base: &ModPath) -> Vec<(usize, usize, ModPath)> {
    let mut spans = Vec::new();
    let bytes = code.as_bytes();
    let mut stack: Vec<(usize, ModPath, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let at_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if at_word && rest.starts_with("mod ") {
            let name: String = rest[4..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = rest[4 + name.len()..].trim_start();
            if !name.is_empty() && after.starts_with('{') {
                let mut path = stack.last().map_or(base.clone(), |s| s.1.clone());
                path.push(name.clone());
                let open = i + 4 + name.len() + (rest[4 + name.len()..].len() - after.len());
                depth += 1;
                stack.push((open, path, depth));
                i = open + 1;
                continue;
            }
        }
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                if stack.last().is_some_and(|s| s.2 == depth) {
                    let (open, path, _) = stack.pop().expect("an open module");
                    spans.push((open, i, path));
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    spans
}

fn module_at(spans: &[(usize, usize, ModPath)], base: &ModPath, offset: usize) -> ModPath {
    spans
        .iter()
        .filter(|(open, close, _)| *open <= offset && offset <= *close)
        .max_by_key(|(_, _, p)| p.len())
        .map_or(base.clone(), |s| s.2.clone())
}

/// Resolves a path written in module `at` to the module it names (its longest prefix that is
/// a module; an item's path resolves to the module defining or re-exporting it).
fn resolve(path: &str, at: &ModPath, modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let (mut current, rest): (ModPath, &[&str]) = match segments.first().copied()? {
        "crate" => (Vec::new(), &segments[1..]),
        "self" => (at.clone(), &segments[1..]),
        "super" => {
            let mut m = at.clone();
            let mut k = 0;
            while segments.get(k) == Some(&"super") {
                m.pop();
                k += 1;
            }
            (m, &segments[k..])
        }
        first => {
            // A relative path: only when it names a child module of `at`.
            let mut child = at.clone();
            child.push(first.to_string());
            if !modules.contains(&child) {
                return None;
            }
            (at.clone(), &segments[..])
        }
    };
    for s in rest {
        if *s == "self" || *s == "*" {
            continue;
        }
        let mut next = current.clone();
        next.push(s.to_string());
        if modules.contains(&next) {
            current = next;
        } else {
            break;
        }
    }
    Some(current)
}

fn read_crate(src: &Path) -> Crate {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let sources: Vec<(PathBuf, ModPath, String)> = files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).expect("readable source");
            let m = module_of(src, &f);
            (f, m, code_only(&text))
        })
        .collect();
    let mut modules: BTreeSet<ModPath> = sources.iter().map(|s| s.1.clone()).collect();
    let spans: Vec<_> = sources
        .iter()
        .map(|(_, m, code)| inline_modules(code, m))
        .collect();
    for s in &spans {
        modules.extend(s.iter().map(|x| x.2.clone()));
    }
    let test_only = sources
        .iter()
        .zip(&spans)
        .flat_map(|((_, base, code), spans)| test_modules(code, base, spans))
        .collect();
    let mut edges = BTreeMap::new();
    for ((file, base, code), spans) in sources.iter().zip(&spans) {
        let mut found: Vec<(usize, String)> = Vec::new();
        let mut i = 0;
        while let Some(k) = code[i..].find("use ") {
            let start = i + k;
            let word_start = start == 0
                || !code.as_bytes()[start - 1].is_ascii_alphanumeric()
                    && code.as_bytes()[start - 1] != b'_';
            let Some(end) = code[start..].find(';') else {
                break;
            };
            let before = code[..start].trim_end();
            let reexport = before.ends_with("pub")
                || before.ends_with(')') && {
                    let open = before.rfind("pub(").unwrap_or(0);
                    before[open..].starts_with("pub(")
                };
            if word_start && !reexport {
                for p in expand(&code[start + 4..start + end]) {
                    let p = p.split(" as ").next().unwrap_or_default().to_string();
                    found.push((start, p));
                }
            }
            i = start + 4;
        }
        for root in ["crate::", "super::", "self::"] {
            for (k, _) in code.match_indices(root) {
                if k > 0 {
                    let before = code.as_bytes()[k - 1];
                    if before.is_ascii_alphanumeric() || before == b'_' || before == b':' {
                        continue;
                    }
                }
                let p: String = code[k..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // `super::{a, b}` is a `use` tree, read above.
                if !p.ends_with("::") {
                    found.push((k, p));
                }
            }
        }
        for (offset, p) in found {
            let at = module_at(spans, base, offset);
            if let Some(to) = resolve(&p, &at, &modules) {
                edges.entry((at, to)).or_insert_with(|| Origin {
                    file: file.clone(),
                    path: p.clone(),
                });
            }
        }
    }
    Crate {
        modules,
        test_only,
        edges,
    }
}

/// The modules a file declares under `#[cfg(test)]` (`mod x;` or `mod x { ... }`).
fn test_modules(code: &str, base: &ModPath, spans: &[(usize, usize, ModPath)]) -> Vec<ModPath> {
    let mut found = Vec::new();
    for (k, _) in code.match_indices("#[cfg(test)]") {
        let rest = code[k + "#[cfg(test)]".len()..].trim_start();
        let rest = rest.strip_prefix("pub ").unwrap_or(rest);
        if let Some(decl) = rest.strip_prefix("mod ") {
            let name: String = decl
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let mut m = module_at(spans, base, k);
            m.push(name);
            found.push(m);
        }
    }
    found
}

/// The graph between the children of `parent` (and `parent` itself, for its own items).
fn graph_under(krate: &Crate, parent: &ModPath) -> BTreeMap<String, BTreeMap<String, Origin>> {
    let node = |m: &ModPath| -> Option<String> {
        if !m.starts_with(parent) {
            return None;
        }
        Some(
            m.get(parent.len())
                .cloned()
                .unwrap_or_else(|| "(mod.rs)".to_string()),
        )
    };
    let mut g: BTreeMap<String, BTreeMap<String, Origin>> = BTreeMap::new();
    let support = |m: &ModPath| krate.test_only.iter().any(|t| m.starts_with(t));
    for ((from, to), origin) in &krate.edges {
        // The crate root (lib.rs) is not a module of the graph.
        if parent.is_empty() && (from.is_empty() || to.is_empty()) || support(from) || support(to) {
            continue;
        }
        if let (Some(a), Some(b)) = (node(from), node(to))
            && a != b
        {
            g.entry(a).or_default().entry(b).or_insert(origin.clone());
        }
    }
    g
}

/// The first cycle found, as the list of nodes with the edges' origins.
fn find_cycle(g: &BTreeMap<String, BTreeMap<String, Origin>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeMap<String, Origin>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|s| s == n) {
            let mut cycle: Vec<String> = stack[pos..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for next in g.get(n).into_iter().flat_map(|m| m.keys()) {
            if let Some(c) = visit(next, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn explain(g: &BTreeMap<String, BTreeMap<String, Origin>>, cycle: &[String]) -> String {
    cycle
        .windows(2)
        .map(|w| {
            let o = &g[&w[0]][&w[1]];
            format!(
                "  {} -> {} ({}: `{}`)",
                w[0],
                w[1],
                o.file.display(),
                o.path
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn cycles(krate: &Crate) -> Vec<String> {
    let parents: BTreeSet<ModPath> = krate
        .modules
        .iter()
        .filter(|m| !m.is_empty())
        .map(|m| m[..m.len() - 1].to_vec())
        .collect();
    let mut found = Vec::new();
    for parent in parents {
        let g = graph_under(krate, &parent);
        if let Some(cycle) = find_cycle(&g) {
            let name = if parent.is_empty() {
                "the top-level modules".to_string()
            } else {
                format!("the submodules of {}", parent.join("::"))
            };
            found.push(format!("a cycle between {name}:\n{}", explain(&g, &cycle)));
        }
    }
    found
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let krate = read_crate(&src);
    let found = cycles(&krate);
    assert!(found.is_empty(), "{}", found.join("\n\n"));
}

#[test]
fn the_checker_sees_cycles_through_use_paths_and_inline_modules() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let src = dir.path();
    let write = |name: &str, text: &str| {
        let p = src.join(name);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("directory");
        std::fs::write(p, text).expect("write");
    };
    write("lib.rs", "pub mod a;\npub mod b;\npub mod d;\n");
    write(
        "a.rs",
        "// crate::b in a comment does not count\nuse crate::b::{self, Thing};\n",
    );
    write(
        "b.rs",
        "pub struct Thing;\nfn f() -> &'static str { \"crate::a\" }\n#[cfg(test)]\nmod tests { use super::*; }\n",
    );
    write(
        "d/mod.rs",
        "pub mod x;\npub mod y;\npub use x::X;\npub(crate) use y::Y;\n",
    );
    write("d/x.rs", "pub struct X;\nuse super::y::Y;\n");
    write("d/y.rs", "pub struct Y;\n");
    assert!(cycles(&read_crate(src)).is_empty());

    write("b.rs", "pub struct Thing;\nfn f() { crate::a::g(); }\n");
    write("d/y.rs", "pub struct Y;\n");
    write(
        "d/mod.rs",
        "pub mod x;\npub mod y;\nuse x::X;\nfn f(_: X) {}\n",
    );
    write("d/x.rs", "pub struct X;\nuse super::f;\n");
    let found = cycles(&read_crate(src));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("top-level") && found[0].contains("a -> b"),
        "{found:?}"
    );
    assert!(found[1].contains("submodules of d"), "{found:?}");
}
