//! The stack set's template: one CloudFormation template for every account and region of a
//! stack set (`engine: stacksets`), from the same parts as the per-region stacks.
//!
//! A stack set deploys one template everywhere; what differs per region must be resolved by
//! CloudFormation in each stack instance, not by `provision` when rendering:
//! - the region in names and descriptions is `${AWS::Region}` (a `!Sub`);
//! - the account-global IAM resources (identities: group and users) carry
//!   `Condition: InHomeRegion`, `!Equals [!Ref "AWS::Region", "<home region>"]`, so each
//!   account gets them once, in its home region;
//! - a fixed bucket name carries `${AWS::AccountId}` and `${AWS::Region}` (validation makes
//!   sure it has both placeholders).

use super::cloudformation::{StackContext, assemble};
use super::context::{Common, region_context};
use super::placeholders::{Dialect, bucket_name};
use super::policy::PolicySet;
use super::templates::{Language, Templates};
use super::{RenderError, StackSetTemplate};
use crate::config::Config;

/// What the templates see as the region in the stack set's template (inside a `!Sub`).
const EVERY_REGION: &str = "${AWS::Region}";

pub fn render(cfg: &Config, templates: &Templates) -> Result<StackSetTemplate, RenderError> {
    let policies = PolicySet::render(cfg, templates)?;
    let registry = templates.registry("cloudformation/", Language::Yaml)?;
    let common = Common::new(cfg);
    // The home region's context carries the identities; the condition keeps them there.
    let mut region = region_context(cfg, cfg.home_region());
    region.region = EVERY_REGION.to_string();
    region.description = format!(
        "{} artifact storage, one stack per account and region of a stack set (rendered by provision; Startifact-compatible)",
        cfg.organisation
    );
    region.bucket.name = cfg.bucket_name_in("${Region}", "${AccountId}");
    if let Some(kms) = region.kms.as_mut() {
        kms.description = format!("{} artifact bucket key ({EVERY_REGION})", cfg.organisation);
    }
    let bucket_name = bucket_name(region.bucket.name.as_deref(), &Dialect::CloudFormation)?;
    let ctx = StackContext {
        common: &common,
        region: &region,
        policies: policies.resolved_map(&Dialect::CloudFormation),
        bucket_name,
        stack_set: true,
    };
    let (body, needs_principals) = assemble(&registry, templates, &ctx, "the stack set")?;
    Ok(StackSetTemplate {
        body,
        needs_principals,
        home_region: cfg.home_region().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::cloudformation::parse_yaml;
    use crate::render::test_config::config;
    use serde_json::Value;

    const BASE: &str = "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1, eu-north-1]\nhome_region: us-east-1\nengine: stacksets\nstacksets: {targets: {organizational_units: [ou-ab12-cd34ef56]}}\n";

    fn template(extra: &str) -> (String, Value) {
        let cfg = config(&format!("{BASE}{extra}"));
        let t = render(&cfg, &Templates::default()).expect("renders");
        assert_eq!(t.home_region, "us-east-1");
        let doc = parse_yaml(&t.body).expect("parses");
        (t.body, doc)
    }

    #[test]
    fn one_template_with_no_region_written_in_it() {
        let (body, doc) =
            template("kms: {alias: alias/acme}\nbucket: {name: \"acme-{account_id}-{region}\"}\n");
        for region in ["eu-west-1", "us-east-1", "eu-north-1"] {
            assert!(!body.contains(region), "{region} written in:\n{body}");
        }
        assert!(
            body.contains("BucketName: !Sub \"acme-${AWS::AccountId}-${AWS::Region}\""),
            "{body}"
        );
        assert!(
            body.contains(
                "Description: !Sub \"Read-only access to staged artifacts (${AWS::Region})\""
            ),
            "{body}"
        );
        assert!(
            body.contains("Description: !Sub \"acme artifact bucket key (${AWS::Region})\""),
            "{body}"
        );
        // Without identities there is nothing to keep in the home region: no condition.
        assert!(doc.get("Conditions").is_none(), "{body}");
        assert_eq!(doc["Resources"]["Bucket"]["DeletionPolicy"], "Retain");
    }

    #[test]
    fn identities_only_in_the_home_region_of_each_account() {
        let (body, doc) =
            template("identities: {group: Apps, users: [acme-app, ci], policy: read}\n");
        assert!(
            body.contains("InHomeRegion: !Equals [!Ref \"AWS::Region\", \"us-east-1\"]"),
            "{body}"
        );
        for id in ["IdentityGroup", "UserAcmeApp", "UserCi"] {
            assert_eq!(doc["Resources"][id]["Condition"], "InHomeRegion", "{id}");
        }
        assert_eq!(doc["Outputs"]["IdentityGroup"]["Condition"], "InHomeRegion");
        for unconditional in ["Bucket", "ReadPolicy", "BucketNameParameter"] {
            assert!(doc["Resources"][unconditional].get("Condition").is_none());
        }
    }

    #[test]
    fn the_per_region_templates_are_unchanged_by_the_stack_set_variant() {
        let cfg = config(&format!(
            "{BASE}identities: {{group: Apps, users: [acme-app], policy: read}}\n"
        ));
        for stack in crate::render::cloudformation(&cfg, &Templates::default()).unwrap() {
            assert!(!stack.body.contains("InHomeRegion"), "{}", stack.body);
            assert!(!stack.body.contains("${AWS::Region})"), "{}", stack.body);
        }
    }
}
