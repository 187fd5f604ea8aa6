//! The module graph has no cycles: between the top-level modules, and between the submodules
//! of any directory module (`deploy/`, `stage/`, ...). A directory's `mod.rs` counts as a
//! node of its own. Its re-exports (`pub use child::Item`) are not dependencies of its own
//! code, so they make no edge, and a path through a re-export (`super::Item`) is an edge to
//! the module the item comes from; any other use of a child does, and a child that uses the
//! parent's own items then closes a cycle.
//!
//! Modules compiled only for tests (`#[cfg(test)] mod ...`, the test support `testing`
//! included) are left out: tests may use any layer, and no other code can use them.
//!
//! The check reads the sources as text: every `use` statement and every `crate::`, `super::`
//! and `self::` path outside comments and string literals, resolved against the module the
//! text is in (inline `mod tests { ... }` blocks included).

mod source;

use source::read_crate;
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

    // Through a re-export: x names `super::Y`, which the parent re-exports from y, and y uses
    // x. Without following the re-export the edge would end at the parent and the cycle
    // between x and y would go unseen.
    write("b.rs", "pub struct Thing;\n");
    write("d/mod.rs", "pub mod x;\npub mod y;\npub use y::Y;\n");
    write("d/x.rs", "pub struct X;\nfn f(_: super::Y) {}\n");
    write("d/y.rs", "pub struct Y;\nuse super::x::X;\n");
    let found = cycles(&read_crate(src));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("submodules of d") && found[0].contains("x -> y"),
        "{found:?}"
    );
}
