//! The template set: the templates embedded in the binary, each optionally replaced by a file
//! of the same relative path under `--templates DIR`, and the Handlebars registries.

use super::RenderError;
use super::helpers::{ValueHelper, hcl_escape, json_escape, to_hcl, to_json, to_yaml};
use handlebars::Handlebars;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Every template, by its relative path (the layout `--templates DIR` mirrors).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "cloudformation/stack.yaml.hbs",
        include_str!("../../templates/cloudformation/stack.yaml.hbs"),
    ),
    (
        "cloudformation/bucket.yaml.hbs",
        include_str!("../../templates/cloudformation/bucket.yaml.hbs"),
    ),
    (
        "cloudformation/logging.yaml.hbs",
        include_str!("../../templates/cloudformation/logging.yaml.hbs"),
    ),
    (
        "cloudformation/kms.yaml.hbs",
        include_str!("../../templates/cloudformation/kms.yaml.hbs"),
    ),
    (
        "cloudformation/policies.yaml.hbs",
        include_str!("../../templates/cloudformation/policies.yaml.hbs"),
    ),
    (
        "cloudformation/identities.yaml.hbs",
        include_str!("../../templates/cloudformation/identities.yaml.hbs"),
    ),
    (
        "cloudformation/outputs.yaml.hbs",
        include_str!("../../templates/cloudformation/outputs.yaml.hbs"),
    ),
    (
        "terraform/main.tf.hbs",
        include_str!("../../templates/terraform/main.tf.hbs"),
    ),
    (
        "terraform/kms.tf.hbs",
        include_str!("../../templates/terraform/kms.tf.hbs"),
    ),
    (
        "terraform/variables.tf.hbs",
        include_str!("../../templates/terraform/variables.tf.hbs"),
    ),
    (
        "terraform/terraform.tfvars.hbs",
        include_str!("../../templates/terraform/terraform.tfvars.hbs"),
    ),
    (
        "terraform/outputs.tf.hbs",
        include_str!("../../templates/terraform/outputs.tf.hbs"),
    ),
    (
        "terraform/backend.tf.hbs",
        include_str!("../../templates/terraform/backend.tf.hbs"),
    ),
    (
        "policies/read.json.hbs",
        include_str!("../../policies/read.json.hbs"),
    ),
    (
        "policies/write.json.hbs",
        include_str!("../../policies/write.json.hbs"),
    ),
    (
        "policies/configure.json.hbs",
        include_str!("../../policies/configure.json.hbs"),
    ),
    (
        "policies/manage.json.hbs",
        include_str!("../../policies/manage.json.hbs"),
    ),
    (
        "policies/bucket.json.hbs",
        include_str!("../../policies/bucket.json.hbs"),
    ),
    (
        "policies/key.json.hbs",
        include_str!("../../policies/key.json.hbs"),
    ),
    (
        "policies/log-bucket.json.hbs",
        include_str!("../../policies/log-bucket.json.hbs"),
    ),
];

/// The CloudFormation parts, concatenated in this order into one template per region.
///
/// The key comes before the bucket: emulators such as moto create resources in template
/// order and cannot resolve `!GetAtt Key.Arn` before the key exists (CloudFormation itself
/// orders by dependencies).
pub const CLOUDFORMATION_PARTS: &[&str] = &[
    "cloudformation/stack.yaml.hbs",
    "cloudformation/kms.yaml.hbs",
    "cloudformation/bucket.yaml.hbs",
    "cloudformation/logging.yaml.hbs",
    "cloudformation/policies.yaml.hbs",
    "cloudformation/identities.yaml.hbs",
    "cloudformation/outputs.yaml.hbs",
];

/// The Terraform files, each written as its name without `.hbs`. A file whose template
/// renders nothing but blank lines is left out (`backend.tf` without `terraform.backend`).
pub const TERRAFORM_FILES: &[&str] = &[
    "terraform/main.tf.hbs",
    "terraform/kms.tf.hbs",
    "terraform/variables.tf.hbs",
    "terraform/terraform.tfvars.hbs",
    "terraform/outputs.tf.hbs",
    "terraform/backend.tf.hbs",
];

/// The language a registry renders, which decides its escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// CloudFormation YAML: `{{x}}` is escaped for a double-quoted YAML string.
    Yaml,
    /// Terraform HCL: `{{x}}` is escaped for a quoted HCL string (no interpolation).
    Hcl,
    /// Policy JSON: `{{x}}` is escaped for a JSON string.
    Json,
}

/// The template set: embedded templates, optionally overridden from a directory.
#[derive(Debug, Clone)]
pub struct Templates {
    sources: Vec<Source>,
}

#[derive(Debug, Clone)]
struct Source {
    name: &'static str,
    text: std::borrow::Cow<'static, str>,
    /// The file it was read from, when overridden.
    file: Option<PathBuf>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            sources: EMBEDDED
                .iter()
                .map(|(name, text)| Source {
                    name,
                    text: (*text).into(),
                    file: None,
                })
                .collect(),
        }
    }
}

impl Templates {
    /// The embedded templates, each replaced by `DIR/<relative path>` when that file exists.
    /// A `.hbs` file in DIR that matches no template is refused (it would be silently ignored).
    pub fn load(override_dir: Option<&Path>) -> Result<Self, RenderError> {
        let mut templates = Templates::default();
        let Some(dir) = override_dir else {
            return Ok(templates);
        };
        if !dir.is_dir() {
            return Err(RenderError::TemplateDir {
                path: dir.to_path_buf(),
            });
        }
        for file in hbs_files(dir)? {
            let relative = file
                .strip_prefix(dir)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let Some(source) = templates.sources.iter_mut().find(|s| s.name == relative) else {
                return Err(RenderError::UnknownTemplate {
                    path: file,
                    known: EMBEDDED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            let text = std::fs::read_to_string(&file).map_err(|source| RenderError::Read {
                path: file.clone(),
                source,
            })?;
            source.text = text.into();
            source.file = Some(file);
        }
        Ok(templates)
    }

    /// Names of every template (relative paths).
    pub fn names() -> impl Iterator<Item = &'static str> {
        EMBEDDED.iter().map(|(n, _)| *n)
    }

    /// Where a template comes from, for messages: the override file or `embedded <name>`.
    pub fn origin(&self, name: &str) -> String {
        match self.sources.iter().find(|s| s.name == name) {
            Some(Source {
                file: Some(path), ..
            }) => path.display().to_string(),
            _ => format!("templates/{name} (embedded)").replace("templates/policies/", "policies/"),
        }
    }

    /// Whether a template was overridden (its errors are then the user's input, exit 3).
    pub fn overridden(&self, name: &str) -> bool {
        self.sources
            .iter()
            .any(|s| s.name == name && s.file.is_some())
    }

    /// A strict registry of the templates under `prefix` (`cloudformation/`, `terraform/`,
    /// `policies/`), escaping for `language`.
    pub fn registry(&self, prefix: &str, language: Language) -> Result<Registry<'_>, RenderError> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_helper("json", Box::new(ValueHelper(to_json)));
        hb.register_helper("yaml", Box::new(ValueHelper(to_yaml)));
        hb.register_helper("hcl", Box::new(ValueHelper(to_hcl)));
        match language {
            Language::Yaml | Language::Json => hb.register_escape_fn(json_escape),
            Language::Hcl => hb.register_escape_fn(hcl_escape),
        }
        for s in self.sources.iter().filter(|s| s.name.starts_with(prefix)) {
            hb.register_template_string(s.name, s.text.as_ref())
                .map_err(|e| RenderError::Template {
                    template: self.origin(s.name),
                    overridden: s.file.is_some(),
                    message: template_error_message(&e),
                })?;
        }
        Ok(Registry {
            hb,
            templates: self,
        })
    }
}

/// Every `.hbs` file under `dir`, recursively, in a stable order.
fn hbs_files(dir: &Path) -> Result<Vec<PathBuf>, RenderError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| RenderError::Read {
            path: d.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| RenderError::Read {
                    path: d.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "hbs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A registry bound to its template set, rendering with errors that name the template file.
pub struct Registry<'t> {
    hb: Handlebars<'static>,
    templates: &'t Templates,
}

impl Registry<'_> {
    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<String, RenderError> {
        self.hb
            .render(name, data)
            .map_err(|e| RenderError::Template {
                template: self.templates.origin(name),
                overridden: self.templates.overridden(name),
                message: render_error_message(&e),
            })
    }

    pub fn templates(&self) -> &Templates {
        self.templates
    }
}

/// A template syntax error in one line: position and reason (the caller names the file).
fn template_error_message(e: &handlebars::TemplateError) -> String {
    let reason = e.reason().to_string();
    let reason = reason.lines().next().unwrap_or_default().trim();
    match e.pos() {
        Some((line, col)) => format!("line {line}, column {col}: {reason}"),
        None => reason.to_string(),
    }
}

/// A Handlebars error without the template name (the caller names the file).
fn render_error_message(e: &handlebars::RenderError) -> String {
    let reason = match e.reason() {
        handlebars::RenderErrorReason::MissingVariable(Some(path)) => format!(
            "`{path}` is not a field of this template's context (strict mode; docs/templates.md lists the fields)"
        ),
        other => other.to_string(),
    };
    match (e.line_no, e.column_no) {
        (Some(line), Some(col)) => format!("line {line}, column {col}: {reason}"),
        _ => reason,
    }
}
