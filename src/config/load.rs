//! Reading and parsing the configuration with source positions.
//!
//! Two passes over the same text: serde deserialises the model (with positions for syntax,
//! type and unknown-field errors), then a position index of every node lets a semantic
//! error (an invalid bucket name) point at the line and column of the offending value.
//! Both passes run under the same budget, so an alias bomb is refused, not expanded.

use super::{Config, ConfigError, Position, Problem, validate};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Options, Spanned};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// The largest configuration file accepted (a real one is a few KiB).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return Err(ConfigError::Directory {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(invalid(
            path,
            None,
            None,
            format!(
                "the file is {} bytes; a configuration file has at most {MAX_FILE_BYTES}",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        invalid(
            path,
            None,
            None,
            format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    parse(path, &text)
}

/// Parses and validates configuration text; `path` only names the source in errors.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(invalid(path, None, None,
            "the file is empty; a configuration needs at least `version: 1`, `organisation` and `regions` (see `provision schema`)".into()));
    }
    let config: Config = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| syntax_problem(path, &e))?;
    let index = PositionIndex::build(text);
    let problems = validate::check(&config);
    if problems.is_empty() {
        return Ok(config);
    }
    Err(ConfigError::Invalid {
        path: path.to_path_buf(),
        problems: problems
            .into_iter()
            .map(|(field, message)| Problem {
                position: index.position(&field),
                field: Some(field),
                message,
            })
            .collect(),
    })
}

fn options() -> Options {
    let mut options = Options::default();
    options.with_snippet = false;
    // YAML 1.2 booleans only: `yes`/`no`/`on`/`off` stay strings and fail as booleans.
    options.strict_booleans = true;
    options.budget = serde_saphyr::budget! {
        max_aliases: 100,
        max_anchors: 100,
        max_events: 100_000,
        max_depth: 64,
    };
    options
}

fn invalid(
    path: &Path,
    position: Option<Position>,
    field: Option<String>,
    message: String,
) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        problems: vec![Problem {
            position,
            field,
            message,
        }],
    }
}

fn syntax_problem(path: &Path, e: &serde_saphyr::Error) -> ConfigError {
    let position = e.location().map(|l| Position {
        line: l.line() as u32,
        column: l.column() as u32,
    });
    let mut message = e.to_string();
    // The library appends its own location; ours is in front already.
    if let Some(idx) = message.find(" at line ") {
        message.truncate(idx);
    }
    invalid(path, position, None, improve(&message))
}

/// Adds what is allowed to the library's terse messages where it helps.
fn improve(message: &str) -> String {
    if message.contains("unknown field") && !message.contains("expected") {
        return format!("{message} (see `provision schema` for the fields allowed here)");
    }
    message.to_string()
}

/// Positions of every node of the document, by path (`bucket.name`, `regions[1]`).
struct PositionIndex(HashMap<String, Position>);

impl PositionIndex {
    fn build(text: &str) -> Self {
        let mut map = HashMap::new();
        if let Ok(root) = serde_saphyr::from_str_with_options::<Spanned<Node>>(text, options()) {
            collect(&root, String::new(), &mut map);
        }
        PositionIndex(map)
    }

    /// The position of `path`, or of its nearest ancestor present in the file (a
    /// defaulted field has no position of its own).
    fn position(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.0.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn collect(node: &Spanned<Node>, path: String, map: &mut HashMap<String, Position>) {
    let loc = node.referenced;
    map.insert(
        path.clone(),
        Position {
            line: loc.line() as u32,
            column: loc.column() as u32,
        },
    );
    match &node.value {
        Node::Map(entries) => {
            for (k, v) in entries {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect(v, child, map);
            }
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, format!("{path}[{i}]"), map);
            }
        }
        Node::Scalar => {}
    }
}

/// A YAML node whose children carry their positions.
enum Node {
    Map(Vec<(String, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<KeyText>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key.0, value));
        }
        Ok(Node::Map(entries))
    }
}

/// A mapping key as text, whatever scalar type YAML gave it.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}
