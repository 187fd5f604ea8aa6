//! CloudFormation: one template per region, assembled from the parts in
//! `templates/cloudformation/` and parsed back as YAML (part by part, then whole).

use super::context::{Common, RegionContext, region_context};
use super::placeholders::{Dialect, bucket_name};
use super::policy::PolicySet;
use super::templates::{CLOUDFORMATION_PARTS, Language, Registry, Templates};
use super::{RenderError, StackTemplate};
use crate::config::Config;
use serde::Serialize;
use serde_json::Value;

/// What each CloudFormation part receives: the common fields, the region's fields, the
/// policy documents (resolved to intrinsics), the bucket name (a string, a `!Sub`, or
/// null), and whether the template is the stack-set variant (one template for every region:
/// see `stackset.rs`).
#[derive(Serialize)]
pub(super) struct StackContext<'a> {
    #[serde(flatten)]
    pub common: &'a Common,
    #[serde(flatten)]
    pub region: &'a RegionContext,
    pub policies: Value,
    pub bucket_name: Value,
    pub stack_set: bool,
}

pub fn render(cfg: &Config, templates: &Templates) -> Result<Vec<StackTemplate>, RenderError> {
    let policies = PolicySet::render(cfg, templates)?;
    let registry = templates.registry("cloudformation/", Language::Yaml)?;
    let common = Common::new(cfg);
    let mut documents = policies.resolved_map(&Dialect::CloudFormation);
    rename_bucket(&mut documents, &common.ids.bucket);
    let mut stacks = Vec::with_capacity(cfg.regions.len());
    for region in &cfg.regions {
        let region_ctx = region_context(cfg, region);
        let bucket_name = bucket_name(region_ctx.bucket.name.as_deref(), &Dialect::CloudFormation)?;
        let ctx = StackContext {
            common: &common,
            region: &region_ctx,
            policies: documents.clone(),
            bucket_name,
            stack_set: false,
        };
        let (body, needs_principals) = assemble(&registry, templates, &ctx, region)?;
        stacks.push(StackTemplate {
            region: region.clone(),
            body,
            needs_principals,
        });
    }
    Ok(stacks)
}

/// Renders every part for `ctx`, joins them, and parses the template back once. `label`
/// names the template in errors (a region, or the stack set). Returns the body and whether
/// it declares the principals parameter.
pub(super) fn assemble(
    registry: &Registry<'_>,
    templates: &Templates,
    ctx: &StackContext<'_>,
    label: &str,
) -> Result<(String, bool), RenderError> {
    let mut body = String::new();
    let mut parts = Vec::with_capacity(CLOUDFORMATION_PARTS.len());
    for part in CLOUDFORMATION_PARTS {
        let text = registry.render(part, ctx)?;
        // Parts are separated by one blank line; the head (`Resources:`) and the
        // resources directly after it are not.
        let text = text.trim_start_matches('\n').trim_end().to_string();
        if text.is_empty() {
            continue;
        }
        if !body.is_empty() {
            body.push_str(if body.ends_with("Resources:\n") {
                ""
            } else {
                "\n"
            });
        }
        body.push_str(&text);
        body.push('\n');
        parts.push((*part, text));
    }
    // One parse of the whole template; only when it fails are the parts parsed one by
    // one, to name the template that broke it (parsing is most of the render time).
    let parsed = parse_yaml(&body).map_err(|whole| {
        for (part, text) in &parts {
            if let Err(message) = parse_yaml(text) {
                return RenderError::Parse {
                    template: templates.origin(part),
                    overridden: templates.overridden(part),
                    language: "YAML",
                    message: format!("(as rendered for {label}) {message}"),
                };
            }
        }
        RenderError::Parse {
            template: format!(
                "the assembled template of {label} ({})",
                CLOUDFORMATION_PARTS.join(", ")
            ),
            overridden: CLOUDFORMATION_PARTS.iter().any(|p| templates.overridden(p)),
            language: "YAML",
            message: whole,
        }
    })?;
    if !parsed.get("Resources").is_some_and(Value::is_object) {
        return Err(RenderError::Parse {
            template: templates.origin(CLOUDFORMATION_PARTS[0]),
            overridden: templates.overridden(CLOUDFORMATION_PARTS[0]),
            language: "YAML",
            message: format!("the template of {label} has no `Resources` mapping"),
        });
    }
    let needs_principals = parsed
        .get("Parameters")
        .and_then(|p| p.get(super::PRINCIPALS_PARAMETER))
        .is_some();
    Ok((body, needs_principals))
}

/// Parses YAML text into a value. Blank or comment-only text (a part with nothing to add
/// for this configuration) is accepted as null. CloudFormation short-form tags (`!Sub`)
/// are read as their plain values.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Value::Null);
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_config::config;

    const BASE: &str = "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\n";

    #[test]
    fn one_template_per_region_in_order_and_parsed_back() {
        let cfg = config(BASE);
        let stacks = render(&cfg, &Templates::default()).unwrap();
        assert_eq!(
            stacks.iter().map(|s| s.region.as_str()).collect::<Vec<_>>(),
            ["eu-west-1", "us-east-1"]
        );
        for s in &stacks {
            let doc = parse_yaml(&s.body).unwrap();
            assert!(!s.needs_principals);
            assert!(doc.get("Parameters").is_none());
            assert_eq!(doc["Resources"]["Bucket"]["DeletionPolicy"], "Retain");
            assert!(
                doc["Resources"]["Bucket"]["Properties"]
                    .get("BucketName")
                    .is_none()
            );
            assert_eq!(
                doc["Resources"]["BucketNameParameter"]["Properties"]["Name"],
                "/buckets/staging"
            );
            // Version stays a string for YAML 1.1 readers (moto): it is quoted.
            assert!(s.body.contains("Version: \"2012-10-17\""));
            assert!(
                !s.body.contains("arn:aws:"),
                "partition must be ${{AWS::Partition}}"
            );
        }
    }

    #[test]
    fn access_lists_declare_the_principals_parameter() {
        let cfg = config(&format!(
            "{BASE}kms: {{alias: alias/acme}}\naccess: {{roles: [ci], role_users: [DevOps/me@example.com]}}\n"
        ));
        let stacks = render(&cfg, &Templates::default()).unwrap();
        for s in &stacks {
            assert!(s.needs_principals);
            let doc = parse_yaml(&s.body).unwrap();
            assert_eq!(
                doc["Parameters"][crate::render::PRINCIPALS_PARAMETER]["Type"],
                "CommaDelimitedList"
            );
            assert!(
                s.body.contains("aws:userId: !Ref AllowedUserIds"),
                "{}",
                s.body
            );
            assert!(
                s.body.contains("aws:userId: \"*:me@example.com\""),
                "{}",
                s.body
            );
            assert!(s.body.contains("role/ci\""));
            assert_eq!(
                doc["Resources"]["Key"]["Properties"]["EnableKeyRotation"],
                true
            );
        }
    }

    #[test]
    fn identities_only_in_the_home_region_and_named_buckets_substituted() {
        let cfg = config(&format!(
            "{BASE}home_region: us-east-1\nbucket: {{name: \"acme-{{account_id}}-{{region}}\"}}\nidentities: {{group: Apps, users: [acme-app], policy: write}}\n"
        ));
        let stacks = render(&cfg, &Templates::default()).unwrap();
        let eu = parse_yaml(&stacks[0].body).unwrap();
        let us = parse_yaml(&stacks[1].body).unwrap();
        assert!(eu["Resources"].get("IdentityGroup").is_none());
        assert_eq!(
            us["Resources"]["IdentityGroup"]["Properties"]["GroupName"],
            "Apps"
        );
        assert_eq!(
            us["Resources"]["UserAcmeApp"]["Properties"]["UserName"],
            "acme-app"
        );
        assert!(!stacks[1].body.contains("AccessKey"));
        assert!(
            stacks[0]
                .body
                .contains("BucketName: !Sub \"acme-${AWS::AccountId}-eu-west-1\""),
            "{}",
            stacks[0].body
        );
    }
}

#[cfg(test)]
mod quoting_tests {
    use super::*;
    use crate::render::test_config::with_hostile_strings;

    /// A value that would break an unquoted YAML, JSON or HCL document if pasted verbatim.
    pub const HOSTILE: &str = "x\", \"evil\": [1] #c: d ${AWS::Region} %{if} {{x}}\n\t\\ ünï";

    #[test]
    fn user_strings_cannot_break_the_template() {
        let cfg = with_hostile_strings(HOSTILE);
        let stacks = render(&cfg, &Templates::default()).unwrap();
        let doc = parse_yaml(&stacks[0].body).unwrap();
        let bucket = &doc["Resources"]["Bucket"]["Properties"];
        assert_eq!(
            bucket["CorsConfiguration"]["CorsRules"][0]["AllowedHeaders"][0],
            HOSTILE
        );
        assert_eq!(bucket["Tags"][0]["Key"], "team: x");
        assert_eq!(bucket["Tags"][0]["Value"], "a: b @=+- /x");
    }
}

/// The policy documents name the bucket `Bucket` (`!Ref Bucket`, `${Bucket}` in `!Sub`); an
/// adopted stack calls it otherwise (`logical_ids.bucket`).
fn rename_bucket(documents: &mut Value, id: &str) {
    if id == "Bucket" {
        return;
    }
    match documents {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match (key.as_str(), value) {
                    ("Ref", Value::String(s)) if s == "Bucket" => *s = id.to_string(),
                    ("Fn::Sub", Value::String(s)) => {
                        *s = s.replace("${Bucket}", &format!("${{{id}}}"))
                    }
                    ("Fn::GetAtt", Value::Array(a)) if a.first().is_some_and(|f| f == "Bucket") => {
                        a[0] = Value::String(id.to_string())
                    }
                    (_, v) => rename_bucket(v, id),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_bucket(v, id)),
        _ => {}
    }
}
