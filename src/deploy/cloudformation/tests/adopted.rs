//! A stack deployed from Startifact's guide, updated with the configuration `provision adopt`
//! writes for it: provision's own prediction finds nothing replaced, so the bucket, the
//! bucket-name parameter and the managed policies (their ARNs) stay; the hardening arrives as
//! modifications.

use crate::deploy::cloudformation::security::parse_template;
use crate::deploy::model::predicted::{self, Pseudo};
use std::collections::BTreeMap;

const GUIDE: &str = include_str!("../../../../tests/fixtures/startifact-guide.yaml");

/// What `provision adopt` writes for a guide stack with the guide's defaults.
const ADOPTED: &str = r#"version: 1
organisation: acme
regions: [eu-west-1]
stack_name: startifact
parameters: {configuration: /startifact, bucket_name: /buckets/staging, artifact_prefix: /artifacts}
bucket: {key_prefix: ""}
adopted:
  logical_ids:
    bucket: Staging
    bucket_name_parameter: StagingParameter
    read_policy: AllowRead
    write_policy: AllowWrite
    configure_policy: AllowConfigure
  policy_descriptions:
    read: Read-only access to staged artifacts
    write: Write-only access to staged artifacts
    configure: Grants permission to configure Startifact
"#;

fn pseudo() -> Pseudo<'static> {
    Pseudo {
        region: "eu-west-1",
        partition: "aws",
        url_suffix: "amazonaws.com",
        stack_name: "startifact",
        account_id: Some("123456789012"),
    }
}

fn rendered(config: &str) -> serde_json::Value {
    let cfg = crate::config::parse(std::path::Path::new("provision.yaml"), config).expect("valid");
    let templates = crate::render::Templates::load(None).expect("embedded templates");
    let stacks = crate::render::cloudformation(&cfg, &templates).expect("rendered");
    parse_template(&stacks[0].body).expect("parsed")
}

#[test]
fn the_adopted_configuration_keeps_every_guide_resource_and_replaces_nothing() {
    let guide = parse_template(GUIDE).expect("the guide's template");
    let new = rendered(ADOPTED);
    for id in [
        "Staging",
        "StagingParameter",
        "AllowRead",
        "AllowWrite",
        "AllowConfigure",
    ] {
        assert_eq!(
            new["Resources"][id]["Type"], guide["Resources"][id]["Type"],
            "{id} keeps its logical ID and type"
        );
    }
    // The policies name the bucket by the guide's logical ID.
    let read = serde_json::to_string(&new["Resources"]["AllowRead"]).unwrap();
    assert!(read.contains("${Staging}"), "{read}");
    assert!(!read.contains("${Bucket}"), "{read}");
    assert_eq!(new["Resources"]["Staging"]["DeletionPolicy"], "Retain");

    let old_known = predicted::known(&guide, &BTreeMap::new(), &pseudo());
    let new_known = predicted::known(&new, &BTreeMap::new(), &pseudo());
    let replaced: Vec<String> = predicted::predict(&guide, &old_known, &new, &new_known)
        .iter()
        .filter_map(|(id, r)| r.line(id))
        .collect();
    assert!(replaced.is_empty(), "{replaced:?}");
}

#[test]
fn without_the_adopted_ids_the_guide_stack_would_lose_its_bucket_and_policy_arns() {
    let guide = parse_template(GUIDE).expect("the guide's template");
    let mut plain = ADOPTED.to_string();
    plain.truncate(plain.find("adopted:").unwrap());
    let new = rendered(&plain);
    assert!(new["Resources"].get("Staging").is_none());
    // Without the bucket's ID the guide's `Staging` is absent from the new template: the
    // change set removes it (which the data-loss guard refuses), it is not "replaced".
    let descriptions_only = ADOPTED.replace("    bucket: Staging\n", "");
    let new = rendered(&descriptions_only);
    let known = predicted::known(&guide, &BTreeMap::new(), &pseudo());
    let predictions = predicted::predict(&guide, &known, &new, &known);
    assert!(
        !predictions.contains_key("Staging"),
        "absent: removed, not replaced"
    );
    assert!(new["Resources"].get("Bucket").is_some());
    // The read policy's description differs from the guide's without the setting.
    let no_descriptions = ADOPTED[..ADOPTED.find("  policy_descriptions:").unwrap()].to_string();
    let new = rendered(&no_descriptions);
    let predictions = predicted::predict(&guide, &known, &new, &known);
    assert_eq!(
        predictions["AllowRead"].line("AllowRead").as_deref(),
        Some("replaces AllowRead: Description changed")
    );
}
