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
    load_noting(path).map(|(config, _)| config)
}

/// [`load`], with what is accepted but worth a warning (positioned like problems).
pub fn load_noting(path: &Path) -> Result<(Config, Vec<Problem>), ConfigError> {
    if path == Path::new("-") {
        let text =
            stdin_text().map_err(|message| invalid(Path::new(STDIN), None, None, message))?;
        return parse_noting(Path::new(STDIN), &text);
    }
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
    parse_noting(path, &text)
}

/// How errors name the configuration read from standard input (`-f -`).
pub const STDIN: &str = "<stdin>";

/// Standard input, read once (a command may load its configuration more than once), at
/// most [`MAX_FILE_BYTES`].
fn stdin_text() -> Result<String, String> {
    use std::io::Read;
    static TEXT: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "standard input holds more than {MAX_FILE_BYTES} bytes; a configuration file has at most {MAX_FILE_BYTES}"
            ));
        }
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "standard input is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })
    })
    .clone()
}

/// Parses and validates configuration text; `path` only names the source in errors.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    parse_noting(path, text).map(|(config, _)| config)
}

/// [`parse`], with what is accepted but worth a warning.
pub fn parse_noting(path: &Path, text: &str) -> Result<(Config, Vec<Problem>), ConfigError> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(invalid(path, None, None,
            "the file is empty; a configuration needs at least `version: 1`, `organisation` and `regions` (see `provision schema`)".into()));
    }
    let config: Config = match serde_saphyr::from_str_with_options(text, options()) {
        Ok(config) => config,
        Err(e) => return Err(syntax_problem(path, &e, &PositionIndex::build(text))),
    };
    let index = PositionIndex::build(text);
    let positioned = |found: Vec<(String, String)>| -> Vec<Problem> {
        found
            .into_iter()
            .map(|(field, message)| Problem {
                position: index.position(&field),
                field: Some(field),
                message,
            })
            .collect()
    };
    let problems = validate::check(&config);
    if problems.is_empty() {
        let notes = positioned(validate::notes(&config));
        return Ok((config, notes));
    }
    Err(ConfigError::Invalid {
        path: path.to_path_buf(),
        problems: positioned(problems),
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
        max_events: 10_000,
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

fn syntax_problem(path: &Path, e: &serde_saphyr::Error, index: &PositionIndex) -> ConfigError {
    let position = e.location().map(|l| Position {
        line: l.line() as u32,
        column: l.column() as u32,
    });
    let mut message = e.to_string();
    // The library appends its own location; ours is in front already.
    if let Some(idx) = message.find(" at line ") {
        message.truncate(idx);
    }
    let field = position.and_then(|p| index.field_at(p));
    invalid(path, position, field, improve(&message))
}

/// Rewrites the parser's terse or library-specific messages into what the user can act on:
/// what was expected, what is allowed.
fn improve(message: &str) -> String {
    let m = message.trim();
    if m.starts_with("invalid u32")
        || m.starts_with("invalid u64")
        || m.starts_with("invalid integer")
    {
        "expected a whole number (0 or more)".to_string()
    } else if m.starts_with("invalid boolean") {
        "expected `true` or `false` (YAML 1.2: `yes`, `no`, `on` and `off` are text)".to_string()
    } else if m.starts_with("expected sequence start") {
        "expected a list, e.g. `[eu-west-1, us-east-1]` or one `- item` per line".to_string()
    } else if m.starts_with("expected mapping start") {
        "expected a mapping of `field: value` lines here".to_string()
    } else if m.starts_with("expected string scalar") {
        "expected text here".to_string()
    } else if m.starts_with("multiple YAML documents") {
        "a configuration is one YAML document; remove the `---` separator and what follows"
            .to_string()
    } else if let Some(rest) = m.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest);
        format!("`{key}` is given twice; each field once")
    } else if m.contains("unknown field") && !m.contains("expected") {
        format!("{m} (see `provision schema` for the fields allowed here)")
    } else if m.contains("budget") || m.contains("alias") && m.contains("limit") {
        format!(
            "{m}: the file expands beyond what a configuration needs (too many aliases or nodes); refused"
        )
    } else {
        m.to_string()
    }
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

impl PositionIndex {
    /// The field whose value (or key) starts at `position`, for type errors.
    fn field_at(&self, position: Position) -> Option<String> {
        self.0
            .iter()
            .filter(|(path, p)| **p == position && !path.is_empty())
            .map(|(path, _)| path.clone())
            .max_by_key(|path| path.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "version: 1\norganisation: acme\nregions: [eu-west-1]\n";

    #[test]
    fn defaults_are_startifacts() {
        let c = parse(Path::new("p.yaml"), MINIMAL).expect("valid");
        assert_eq!(c.parameters.configuration, "/startifact");
        assert_eq!(c.parameters.bucket_name, "/buckets/staging");
        assert_eq!(c.parameters.artifact_prefix, "/artifacts");
        assert_eq!(c.bucket.key_prefix, "");
        assert_eq!(c.home_region(), "eu-west-1");
        assert!(c.bucket.versioning && c.bucket.access_logging && c.bucket.retain_on_delete);
        assert_eq!(c.stack_name, "artifact-storage");
    }

    #[test]
    fn an_empty_artifact_prefix_is_accepted_with_a_positioned_warning() {
        let text = format!("{MINIMAL}parameters:\n  artifact_prefix: \"\"\n");
        let (c, notes) = parse_noting(Path::new("p.yaml"), &text).expect("valid");
        assert_eq!(c.parameters.artifact_prefix, "");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(
            notes[0].position,
            Some(Position {
                line: 5,
                column: 20
            })
        );
        assert!(
            notes[0].message.contains("`/<project>/latest`"),
            "{notes:?}"
        );
        // A prefix given but not starting with `/` is still refused.
        let text = format!("{MINIMAL}parameters:\n  artifact_prefix: artifacts\n");
        assert!(parse(Path::new("p.yaml"), &text).is_err());
    }

    #[test]
    fn an_alias_bomb_is_refused_by_the_budget_not_expanded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..20 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = serde_saphyr::from_str_with_options::<Spanned<Node>>(&text, options())
            .err()
            .expect("refused");
        let msg = err.to_string();
        assert!(msg.contains("alias") || msg.contains("budget"), "{msg}");
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let text = "version: 1\norganisation: acme\nregions:\n  - eu-west-1\n  - mars-1\n";
        let err = parse(Path::new("p.yaml"), text).expect_err("invalid");
        let p = &err.problems()[0];
        assert_eq!(p.position, Some(Position { line: 5, column: 5 }));
        assert_eq!(p.field.as_deref(), Some("regions[1]"));
    }

    #[test]
    fn a_defaulted_field_points_at_its_nearest_parent() {
        let text = "version: 1\norganisation: acme\nregions: [eu-west-1]\nkms:\n  alias: alias/a\n  deletion_window_days: 1\n";
        let err = parse(Path::new("p.yaml"), text).expect_err("invalid");
        assert_eq!(
            err.problems()[0].position,
            Some(Position {
                line: 6,
                column: 25
            })
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let text =
            "version: 1\norganisation: acme\nregions: [eu-west-1]\nbucket:\n  versioning: on\n";
        let err = parse(Path::new("p.yaml"), text).expect_err("invalid");
        let p = &err.problems()[0];
        assert_eq!(p.field.as_deref(), Some("bucket.versioning"));
        assert!(p.message.contains("`true` or `false`"), "{}", p.message);
    }
}
