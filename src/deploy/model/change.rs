//! One resource change of a plan, engine-neutral: what happens to it (`ChangeKind`) and why.
//! A leaf of the model: the plan, the guard and the prediction read it.

use schemars::JsonSchema;
use serde::Serialize;

/// One resource change, as `plan` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ResourceChange {
    pub action: ChangeKind,
    pub resource_type: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    /// Why it is replaced: the create-only properties that force it, as `provision` predicts
    /// them (`BucketName changed`; see [`super::predicted`]). For an import: what is imported
    /// (`import: bucket hand-made-bucket`).
    pub cause: Option<String>,
    /// What the engine itself answered about replacing it, where it answers (CloudFormation's
    /// change set: `True`, `Conditional`, `False`), shown beside the prediction.
    pub engine_replacement: Option<String>,
}

impl ResourceChange {
    pub fn new(action: ChangeKind, resource_type: &str, logical_id: &str) -> Self {
        ResourceChange {
            action,
            resource_type: resource_type.to_string(),
            logical_id: logical_id.to_string(),
            physical_id: None,
            cause: None,
            engine_replacement: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Add,
    Modify,
    /// Modified, and may be replaced depending on a value known only when applied.
    MayReplace,
    Replace,
    Remove,
    /// An existing resource brought under management as it is (CloudFormation's IMPORT,
    /// Terraform's `import {}`): nothing is created.
    Import,
    /// Dynamic, SyncWithActual: shown as modifications.
    Other,
}

impl ChangeKind {
    pub fn symbol(self) -> &'static str {
        match self {
            ChangeKind::Add => "+",
            ChangeKind::Modify | ChangeKind::Other => "~",
            ChangeKind::MayReplace => "±?",
            ChangeKind::Replace => "±",
            ChangeKind::Remove => "-",
            ChangeKind::Import => "<=",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Modify | ChangeKind::Other => "modify",
            ChangeKind::MayReplace => "may replace",
            ChangeKind::Replace => "replace",
            ChangeKind::Remove => "remove",
            ChangeKind::Import => "import",
        }
    }

    pub fn replaces(self) -> bool {
        matches!(self, ChangeKind::Replace | ChangeKind::MayReplace)
    }
}
