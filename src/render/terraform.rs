//! Terraform: one root module (cStore's layout: `main.tf`, `kms.tf`, `variables.tf`,
//! `terraform.tfvars`, `outputs.tf`) with a provider alias per region. Each file is parsed
//! back with hcl-rs before it is returned.

use super::context::{Common, IdentitiesContext, RegionContext, region_context};
use super::placeholders::{Dialect, bucket_name};
use super::policy::PolicySet;
use super::templates::{Language, TERRAFORM_FILES, Templates};
use super::{RenderError, RenderedFile};
use crate::config::Config;
use serde::Serialize;
use serde_json::Value;

/// What every Terraform template receives.
#[derive(Serialize)]
struct ModuleContext<'a> {
    #[serde(flatten)]
    common: &'a Common,
    regions: Vec<RegionModule>,
    /// The home region's provider alias (`eu_west_1`): account-global resources and the IAM
    /// look-ups use it.
    home_suffix: String,
    identities: Option<IdentitiesContext>,
    /// Whether the configuration has a customer-managed key (kms.tf has resources).
    kms: bool,
    /// The S3 state backend (`terraform.backend`), defaults filled in, or null.
    backend: Option<BackendContext>,
}

#[derive(Serialize)]
struct BackendContext {
    bucket: String,
    key: String,
    region: String,
    encrypt: bool,
    kms_key_id: Option<String>,
}

impl BackendContext {
    fn new(cfg: &Config) -> Option<Self> {
        let b = cfg.terraform_backend()?;
        Some(BackendContext {
            bucket: b.bucket.clone(),
            key: b.key_for(&cfg.stack_name),
            region: b
                .region
                .clone()
                .unwrap_or_else(|| cfg.home_region().to_string()),
            encrypt: b.encrypt,
            kms_key_id: b.kms_key_id.clone(),
        })
    }
}

#[derive(Serialize)]
struct RegionModule {
    #[serde(flatten)]
    region: RegionContext,
    /// Policy documents as HCL-ready values (`{{hcl policies.read}}`).
    policies: Value,
    /// The bucket name as an HCL-ready value, or null.
    bucket_name: Value,
}

pub fn render(cfg: &Config, templates: &Templates) -> Result<Vec<RenderedFile>, RenderError> {
    let policies = PolicySet::render(cfg, templates)?;
    let registry = templates.registry("terraform/", Language::Hcl)?;
    let common = Common::new(cfg);
    let mut regions = Vec::with_capacity(cfg.regions.len());
    for region in &cfg.regions {
        let region_ctx = region_context(cfg, region);
        let dialect = Dialect::Terraform {
            region,
            resource_suffix: &region_ctx.suffix,
        };
        let bucket_name = bucket_name(region_ctx.bucket.name.as_deref(), &dialect)?;
        regions.push(RegionModule {
            policies: policies.resolved_map(&dialect),
            bucket_name,
            region: region_ctx,
        });
    }
    let home = regions.iter().find(|r| r.region.home);
    let ctx = ModuleContext {
        common: &common,
        home_suffix: home.map(|r| r.region.suffix.clone()).unwrap_or_default(),
        identities: home.and_then(|r| r.region.identities.clone()),
        kms: cfg.kms.is_some(),
        backend: BackendContext::new(cfg),
        regions,
    };
    let mut files = Vec::with_capacity(TERRAFORM_FILES.len());
    for name in TERRAFORM_FILES {
        let content = registry.render(name, &ctx)?;
        if content.trim().is_empty() {
            continue;
        }
        let content = tidy(&content);
        hcl::parse(&content).map_err(|e| RenderError::Parse {
            template: templates.origin(name),
            overridden: templates.overridden(name),
            language: "HCL",
            message: e.to_string(),
        })?;
        files.push(RenderedFile {
            name: name
                .trim_start_matches("terraform/")
                .trim_end_matches(".hbs")
                .to_string(),
            content,
        });
    }
    Ok(files)
}

/// Collapses runs of blank lines (left by sections a configuration does not use) into one,
/// and ends the file with exactly one newline.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim_start_matches('\n').lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    format!("{}\n", out.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_config::config;

    #[test]
    fn a_root_module_with_a_provider_alias_per_region() {
        let cfg = config(
            "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\nkms: {alias: alias/acme}\naccess: {roles: [ci]}\n",
        );
        let files = render(&cfg, &Templates::default()).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "main.tf",
                "kms.tf",
                "variables.tf",
                "terraform.tfvars",
                "outputs.tf"
            ]
        );
        let main = &files[0].content;
        assert!(main.contains("alias  = \"eu_west_1\""), "{main}");
        assert!(main.contains("alias  = \"us_east_1\""), "{main}");
        assert!(
            main.contains("resource \"aws_s3_bucket\" \"artifacts_us_east_1\""),
            "{main}"
        );
        assert!(
            main.contains("\"aws:userId\" = local.allowed_user_ids"),
            "{main}"
        );
        assert!(
            files[1]
                .content
                .contains("resource \"aws_kms_key\" \"artifacts_eu_west_1\"")
        );
        assert!(
            files[3].content.contains("roles      = [\"ci\"]"),
            "{}",
            files[3].content
        );
        for f in &files {
            assert!(!f.content.contains("\n\n\n"), "{}", f.name);
            assert!(!f.content.contains("arn:aws:"), "{}", f.name);
        }
    }

    #[test]
    fn a_backend_renders_only_when_configured() {
        let base = "version: 1\norganisation: acme\nregions: [eu-north-1, us-east-1]\nstack_name: acme-store\n";
        let files = render(&config(base), &Templates::default()).unwrap();
        assert!(files.iter().all(|f| f.name != "backend.tf"));
        let cfg = config(&format!(
            "{base}terraform:\n  backend:\n    bucket: acme-state\n    kms_key_id: alias/state\n"
        ));
        let files = render(&cfg, &Templates::default()).unwrap();
        let backend = &files
            .iter()
            .find(|f| f.name == "backend.tf")
            .unwrap()
            .content;
        for line in [
            "backend \"s3\" {",
            "bucket       = \"acme-state\"",
            "key          = \"acme-store/terraform.tfstate\"",
            "region       = \"eu-north-1\"",
            "encrypt      = true",
            "kms_key_id   = \"alias/state\"",
            "use_lockfile = true",
            "required_version = \">= 1.10.0\"",
        ] {
            assert!(backend.contains(line), "{line} in\n{backend}");
        }
        assert!(!backend.contains("dynamodb"), "{backend}");
    }

    #[test]
    fn tidy_collapses_blank_lines() {
        assert_eq!(tidy("\n\na\n\n\n\nb  \n\n"), "a\n\nb\n");
    }
}

#[cfg(test)]
mod quoting_tests {
    use super::*;
    use crate::render::test_config::with_hostile_strings;
    use hcl::eval::Evaluate;

    const HOSTILE: &str = "x\", evil = [1] # ${var.secret} %{if true}y%{endif} {{x}}\n\t\\ ünï";

    #[test]
    fn user_strings_cannot_break_or_interpolate_in_the_module() {
        let cfg = with_hostile_strings(HOSTILE);
        let files = render(&cfg, &Templates::default()).unwrap();
        let main = hcl::parse(&files[0].content).unwrap();
        let cors = main
            .blocks()
            .find(|b| {
                b.identifier() == "resource"
                    && b.labels()
                        .first()
                        .is_some_and(|l| l.as_str() == "aws_s3_bucket_cors_configuration")
            })
            .expect("a CORS resource");
        let rule = cors
            .body()
            .blocks()
            .find(|b| b.identifier() == "cors_rule")
            .unwrap();
        let headers = rule
            .body()
            .attributes()
            .find(|a| a.key() == "allowed_headers")
            .unwrap();
        let value = headers.expr().evaluate(&hcl::eval::Context::new()).unwrap();
        assert_eq!(value, hcl::Value::from(vec![HOSTILE]));

        let tfvars = hcl::parse(&files[3].content).unwrap();
        let tags = tfvars.attributes().find(|a| a.key() == "tags").unwrap();
        let value = tags.expr().evaluate(&hcl::eval::Context::new()).unwrap();
        let expected: hcl::Map<String, hcl::Value> =
            [("team: x".to_string(), hcl::Value::from("a: b @=+- /x"))]
                .into_iter()
                .collect();
        assert_eq!(value, hcl::Value::Object(expected));
    }
}
