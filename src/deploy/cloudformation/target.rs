//! What one region's stack should be: the rendered template, its parameters and tags.

use crate::deploy::model::{Principals, StackFailure};
use crate::render::{self, PRINCIPALS_PARAMETER};
use crate::runner::Failure;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What one region's stack should be: the rendered template and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTarget {
    pub region: String,
    pub stack_name: String,
    pub template: String,
    /// SHA-256 of `template` (hex), recorded in plan files.
    pub template_sha256: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// The existing bucket adopted in this region (`adopted.buckets`), imported into the stack
    /// when the stack does not manage it yet.
    pub adopted_bucket: Option<String>,
}

impl StackTarget {
    pub fn new(
        region: &str,
        stack_name: &str,
        template: &str,
        parameters: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Self {
        StackTarget {
            region: region.to_string(),
            stack_name: stack_name.to_string(),
            template: template.to_string(),
            template_sha256: sha256_hex(template),
            parameters,
            tags,
            adopted_bucket: None,
        }
    }

    /// The stack's tags as CloudFormation takes them.
    pub fn sdk_tags(&self) -> Vec<aws_sdk_cloudformation::types::Tag> {
        self.tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_cloudformation::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect()
    }

    /// A failure of this region's stack: `failure` is an error, its text or a [`Failure`].
    pub fn failure(&self, failure: impl Into<Failure>) -> StackFailure {
        StackFailure::new(&self.stack_name, failure)
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Attaches the parameters to rendered templates: the allowed principals (when the template
/// asks for them) and the configuration's tags.
pub fn stack_targets(
    stack_name: &str,
    tags: &BTreeMap<String, String>,
    rendered: Vec<render::StackTemplate>,
    principals: Option<&Principals>,
) -> Vec<StackTarget> {
    rendered
        .into_iter()
        .map(|t| {
            let mut parameters = BTreeMap::new();
            if t.needs_principals
                && let Some(p) = principals
            {
                parameters.insert(PRINCIPALS_PARAMETER.to_string(), p.parameter_value());
            }
            StackTarget::new(&t.region, stack_name, &t.body, parameters, tags.clone())
        })
        .collect()
}
