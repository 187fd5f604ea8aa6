//! Reading the sources: which module each file and inline block is, and every path the code
//! names, resolved to the module it designates.

use super::{Crate, ModPath, Origin};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
        i = if c == '/' && next == Some('/') {
            line_end(&b, i)
        } else if c == '/' && next == Some('*') {
            block_comment_end(&b, i)
        } else if let Some(end) = raw_string_end(&b, i) {
            out.push_str("\"\"");
            end
        } else if c == '"' {
            out.push_str("\"\"");
            quoted_end(&b, i, '"')
        } else if c == '\'' && (b.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            out.push_str("' '");
            quoted_end(&b, i, '\'')
        } else {
            out.push(c);
            i + 1
        };
    }
    out
}

fn line_end(b: &[char], mut i: usize) -> usize {
    while i < b.len() && b[i] != '\n' {
        i += 1;
    }
    i
}

/// Past a `/* ... */` comment (they nest).
fn block_comment_end(b: &[char], mut i: usize) -> usize {
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
    i
}

/// Past a raw string (`r"..."`, `r#"..."#`) starting at `i`, if one does.
fn raw_string_end(b: &[char], i: usize) -> Option<usize> {
    if b[i] != 'r' || ident_before(b, i) {
        return None;
    }
    let mut j = i + 1;
    let mut hashes = 0;
    while b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < b.len() {
        if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(j)
}

/// Past a quoted literal (string or char) starting at `i`, escapes included.
fn quoted_end(b: &[char], i: usize, quote: char) -> usize {
    let mut j = i + 1;
    while j < b.len() && b[j] != quote {
        if b[j] == '\\' {
            j += 1;
        }
        j += 1;
    }
    j + 1
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

/// Items a module re-exports (`pub use child::Item`), by (module, name): the module the item
/// comes from.
type Reexports = BTreeMap<(ModPath, String), ModPath>;

/// Resolves a path written in module `at` to the module it names: its longest prefix that is
/// a module, then, through re-exports, the module an item really comes from (so that
/// `super::Error`, re-exported by the parent from `error.rs`, is an edge to `error`).
fn resolve(
    path: &str,
    at: &ModPath,
    modules: &BTreeSet<ModPath>,
    reexports: &Reexports,
) -> Option<ModPath> {
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
            // An item: where it comes from, when the module re-exports it (chains followed,
            // a bounded number of times in case of a cycle of re-exports).
            for _ in 0..8 {
                match reexports.get(&(current.clone(), s.to_string())) {
                    Some(from) if *from != current => current = from.clone(),
                    _ => break,
                }
            }
            break;
        }
    }
    Some(current)
}

/// Every `pub use` (and `pub(…) use`) of a file: (offset, path, the name it exports).
fn reexports_in(code: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    for (start, tree, reexport) in use_statements(code) {
        if !reexport {
            continue;
        }
        for p in expand(tree) {
            let (path, alias) = match p.split_once(" as ") {
                Some((path, alias)) => (path.to_string(), Some(alias.trim().to_string())),
                None => (p.clone(), None),
            };
            let name =
                alias.unwrap_or_else(|| path.rsplit("::").next().unwrap_or_default().to_string());
            if name != "*" && name != "self" {
                found.push((start, path, name));
            }
        }
    }
    found
}

/// Every `use` statement of a file's code: (offset, the tree after `use `, whether it is a
/// re-export).
fn use_statements(code: &str) -> Vec<(usize, &str, bool)> {
    let mut found = Vec::new();
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
        if word_start {
            found.push((start, &code[start + 4..start + end], reexport));
        }
        i = start + 4;
    }
    found
}

pub(super) fn read_crate(src: &Path) -> Crate {
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
    // Re-exports resolved twice, so that one re-exporting another's re-export is followed.
    let mut reexports = Reexports::new();
    for _ in 0..2 {
        let mut next = Reexports::new();
        for ((_, base, code), spans) in sources.iter().zip(&spans) {
            for (offset, p, name) in reexports_in(code) {
                let at = module_at(spans, base, offset);
                if let Some(from) = resolve(&p, &at, &modules, &reexports) {
                    next.insert((at, name), from);
                }
            }
        }
        reexports = next;
    }
    let mut edges = BTreeMap::new();
    for ((file, base, code), spans) in sources.iter().zip(&spans) {
        for (offset, p) in paths_in(code) {
            let at = module_at(spans, base, offset);
            if let Some(to) = resolve(&p, &at, &modules, &reexports) {
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

/// Every path a file's code names, with its offset: the paths of its `use` statements
/// (re-exports left out) and every `crate::`, `super::` and `self::` path elsewhere.
fn paths_in(code: &str) -> Vec<(usize, String)> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for (start, tree, reexport) in use_statements(code) {
        if !reexport {
            for p in expand(tree) {
                let p = p.split(" as ").next().unwrap_or_default().to_string();
                found.push((start, p));
            }
        }
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
    found
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
