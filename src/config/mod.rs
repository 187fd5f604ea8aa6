//! The configuration file: model, loading with positions, semantic validation, JSON Schema.

mod adopted;
mod load;
mod model;
pub mod rules;
pub mod stacksets;
mod validate;

pub use load::{load, load_noting, parse, parse_noting};
pub use model::*;

use std::fmt;
use std::path::PathBuf;

/// A position in the configuration file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, when the YAML gives a position.
    pub position: Option<Position>,
    /// The field concerned, as a path (`bucket.name`, `regions[2]`), when known.
    pub field: Option<String>,
    /// What is wrong, and what is allowed.
    pub message: String,
}

/// A configuration file that cannot be used. Exit code 3.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the configuration file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: is a directory; pass the configuration file itself (e.g. {path}/provision.yaml)"
    )]
    Directory { path: PathBuf },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl crate::exit::Classify for ConfigError {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Invalid
    }

    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } => Some(
                "pass the configuration with -f FILE (default: ./provision.yaml); `provision schema` describes it".into(),
            ),
            _ => None,
        }
    }
}

impl ConfigError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn render_problems(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&p.display_with(path).to_string());
    }
    out
}

impl Problem {
    pub fn display_with<'a>(&'a self, path: &'a std::path::Path) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Problem, &'a std::path::Path);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.1.display())?;
                if let Some(p) = self.0.position {
                    write!(f, ":{}:{}", p.line, p.column)?;
                }
                write!(f, ": ")?;
                if let Some(field) = &self.0.field {
                    write!(f, "{field}: ")?;
                }
                write!(f, "{}", self.0.message)
            }
        }
        D(self, path)
    }
}

/// The JSON Schema of the configuration file, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Config);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
