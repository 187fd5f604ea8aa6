use super::*;
use serde_json::json;

fn bucket(props: Value) -> Value {
    json!({"Type": "AWS::S3::Bucket", "Properties": props})
}

fn predict_with(rules: &TypeRules, resource_type: &str, old: &Value, new: &Value) -> Replacement {
    predict_by(Some(rules), resource_type, old, new)
}

fn known(pairs: &[(&str, &str)]) -> Known {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_changed_bucket_name_replaces_the_bucket() {
    let old = bucket(
        json!({"BucketName": "acme-artifacts", "VersioningConfiguration": {"Status": "Suspended"}}),
    );
    let new = bucket(
        json!({"BucketName": "acme-artifacts-2", "VersioningConfiguration": {"Status": "Enabled"}}),
    );
    let r = predict("AWS::S3::Bucket", &old, &new);
    assert_eq!(r.certainty(), Some(Certainty::Replaces));
    assert_eq!(r.reasons(), "BucketName changed");
    assert_eq!(
        r.line("Staging").as_deref(),
        Some("replaces Staging: BucketName changed")
    );
}

#[test]
fn hardening_a_bucket_keeps_it() {
    let old = bucket(json!({"BucketName": "acme-artifacts"}));
    let new = bucket(json!({
        "BucketName": "acme-artifacts",
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "VersioningConfiguration": {"Status": "Enabled"},
    }));
    let r = predict("AWS::S3::Bucket", &old, &new);
    assert_eq!(r, Replacement::default());
    assert_eq!(r.line("Staging"), None);
}

#[test]
fn naming_a_bucket_cloudformation_named_or_dropping_its_name_replaces_it() {
    let unnamed = bucket(json!({}));
    let named = bucket(json!({"BucketName": "acme-artifacts"}));
    assert_eq!(
        predict("AWS::S3::Bucket", &unnamed, &named).reasons(),
        "BucketName added"
    );
    assert_eq!(
        predict("AWS::S3::Bucket", &named, &unnamed).reasons(),
        "BucketName removed"
    );
    let no_value = bucket(json!({"BucketName": {"Ref": "AWS::NoValue"}}));
    assert_eq!(
        predict("AWS::S3::Bucket", &unnamed, &no_value),
        Replacement::default()
    );
}

#[test]
fn a_managed_policy_renamed_or_moved_gets_a_new_arn() {
    let policy = |name: &str, path: &str| {
        json!({"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": name, "Path": path, "Description": "Read artifacts",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}})
    };
    let r = predict(
        "AWS::IAM::ManagedPolicy",
        &policy("AllowRead", "/"),
        &policy("AllowRead", "/startifact/"),
    );
    assert_eq!(
        r.line("AllowRead").as_deref(),
        Some("replaces AllowRead: Path changed")
    );
    let r = predict(
        "AWS::IAM::ManagedPolicy",
        &policy("AllowRead", "/"),
        &policy("ReadArtifacts", "/startifact/"),
    );
    assert_eq!(r.reasons(), "ManagedPolicyName changed, Path changed");
    // The document is updated in place: a new policy version, the same ARN.
    let mut edited = policy("AllowRead", "/");
    edited["Properties"]["PolicyDocument"]["Statement"] =
        json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]);
    assert_eq!(
        predict(
            "AWS::IAM::ManagedPolicy",
            &policy("AllowRead", "/"),
            &edited
        ),
        Replacement::default()
    );
}

#[test]
fn a_managed_policy_description_is_create_only_too() {
    let policy =
        |d: &str| json!({"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Description": d}});
    let r = predict(
        "AWS::IAM::ManagedPolicy",
        &policy("Read (eu-west-1)"),
        &policy("Read"),
    );
    assert_eq!(r.reasons(), "Description changed");
}

#[test]
fn a_renamed_ssm_parameter_is_replaced_and_a_new_value_is_not() {
    let parameter = |name: &str, value: &str| json!({"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}});
    let r = predict(
        "AWS::SSM::Parameter",
        &parameter("/buckets/staging", "a"),
        &parameter("/startifact/buckets/staging", "a"),
    );
    assert_eq!(
        r.line("StagingParameter").as_deref(),
        Some("replaces StagingParameter: Name changed")
    );
    let r = predict(
        "AWS::SSM::Parameter",
        &parameter("/buckets/staging", "a"),
        &parameter("/buckets/staging", "b"),
    );
    assert_eq!(r, Replacement::default());
}

#[test]
fn a_kms_key_is_kept_when_only_its_policy_changes() {
    let key = |principal: &str| {
        json!({"Type": "AWS::KMS::Key", "Properties": {
            "EnableKeyRotation": true,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:*", "Resource": "*"}]}}})
    };
    let r = predict(
        "AWS::KMS::Key",
        &key("arn:aws:iam::111122223333:root"),
        &key("arn:aws:iam::111122223333:role/Admin"),
    );
    assert_eq!(r, Replacement::default());
}

#[test]
fn an_unknown_type_may_be_replaced_when_it_changes() {
    let topic = |name: &str| json!({"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}});
    let r = predict("AWS::SNS::Topic", &topic("a"), &topic("b"));
    assert_eq!(r.certainty(), Some(Certainty::MayReplace));
    assert_eq!(
        r.line("Alerts").unwrap(),
        format!(
            "may replace Alerts: properties changed and AWS::SNS::Topic is not in the create-only table (cfn-lint {CFN_LINT_VERSION})"
        )
    );
    assert_eq!(
        predict("AWS::SNS::Topic", &topic("a"), &topic("a")),
        Replacement::default()
    );
}

#[test]
fn an_unresolved_intrinsic_is_a_possible_replacement_with_its_cause() {
    let old = bucket(json!({"BucketName": "acme-artifacts"}));
    let new = bucket(json!({"BucketName": {"Fn::Sub": "acme-${Suffix}"}}));
    let r = predict("AWS::S3::Bucket", &old, &new);
    assert_eq!(r.certainty(), Some(Certainty::MayReplace));
    assert_eq!(
        r.line("Staging").as_deref(),
        Some("may replace Staging: BucketName may change (Fn::Sub cannot be resolved offline)")
    );
    // The same expression on both sides is the same value.
    let r = predict("AWS::S3::Bucket", &new, &new);
    assert_eq!(r, Replacement::default());
    let conditional =
        bucket(json!({"BucketName": {"Fn::If": ["Named", "acme", {"Ref": "AWS::NoValue"}]}}));
    assert_eq!(
        predict("AWS::S3::Bucket", &bucket(json!({})), &conditional).reasons(),
        "BucketName may change (Fn::If, Ref cannot be resolved offline)"
    );
}

#[test]
fn intrinsics_resolve_with_known_values() {
    let k = known(&[("BucketName", "acme"), ("AWS::Region", "eu-west-1")]);
    assert_eq!(resolve(&json!({"Ref": "BucketName"}), &k), json!("acme"));
    assert_eq!(
        resolve(
            &json!({"Fn::Sub": "${BucketName}-${AWS::Region}-${!Literal}"}),
            &k
        ),
        json!("acme-eu-west-1-${Literal}")
    );
    assert_eq!(
        resolve(
            &json!({"Fn::Sub": ["${A}-x", {"A": {"Ref": "BucketName"}}]}),
            &k
        ),
        json!("acme-x")
    );
    assert_eq!(
        resolve(
            &json!({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]}),
            &k
        ),
        json!("a-eu-west-1")
    );
    let unknown = json!({"Fn::Sub": "${Other}-x"});
    assert_eq!(resolve(&unknown, &k), unknown);
}

#[test]
fn nested_and_list_paths_are_followed() {
    let rules = TypeRules {
        type_name: "Test::Nested::Thing",
        create_only: &["Config/Name", "Rules/*/Id"],
        conditional_create_only: &["Config/Size"],
        updatable: true,
    };
    let thing = |name: &str, id: &str, other: &str, size: u32| json!({"Properties": {"Config": {"Name": name, "Other": other, "Size": size}, "Rules": [{"Id": id, "Days": 1}]}});
    let r = predict_with(
        &rules,
        "Test::Nested::Thing",
        &thing("a", "r", "x", 1),
        &thing("a", "r", "y", 1),
    );
    assert_eq!(r, Replacement::default());
    let r = predict_with(
        &rules,
        "Test::Nested::Thing",
        &thing("a", "r", "x", 1),
        &thing("b", "s", "x", 1),
    );
    assert_eq!(r.reasons(), "Config/Name changed, Rules/*/Id changed");
    let r = predict_with(
        &rules,
        "Test::Nested::Thing",
        &thing("a", "r", "x", 1),
        &thing("a", "r", "x", 2),
    );
    assert_eq!(r.certainty(), Some(Certainty::MayReplace));
    assert_eq!(
        r.reasons(),
        "Config/Size changed (replaces for some changes)"
    );
    // `1` and `"1"` are the same value to CloudFormation.
    let text =
        json!({"Properties": {"Config": {"Name": "a", "Size": "1"}, "Rules": [{"Id": "r"}]}});
    let number =
        json!({"Properties": {"Config": {"Name": "a", "Size": 1}, "Rules": [{"Id": "r"}]}});
    assert_eq!(
        predict_with(&rules, "Test::Nested::Thing", &text, &number),
        Replacement::default()
    );
}

#[test]
fn a_type_without_an_update_handler_is_replaced_by_any_change() {
    let rules = TypeRules {
        type_name: "AWS::EC2::EIPAssociation",
        create_only: &[],
        conditional_create_only: &[],
        updatable: false,
    };
    let association = |instance: &str| json!({"Properties": {"InstanceId": instance, "AllocationId": "eipalloc-1"}});
    let r = predict_with(
        &rules,
        rules.type_name,
        &association("i-1"),
        &association("i-2"),
    );
    assert_eq!(r.certainty(), Some(Certainty::Replaces));
    assert_eq!(
        r.reasons(),
        "InstanceId changed (AWS::EC2::EIPAssociation cannot be updated in place)"
    );
    assert_eq!(
        predict_with(
            &rules,
            rules.type_name,
            &association("i-1"),
            &association("i-1")
        ),
        Replacement::default()
    );
}

#[test]
fn a_changed_type_replaces() {
    let r = predict(
        "AWS::S3::Bucket",
        &json!({"Type": "AWS::SSM::Parameter"}),
        &bucket(json!({})),
    );
    assert_eq!(
        r.reasons(),
        "type changed from AWS::SSM::Parameter to AWS::S3::Bucket"
    );
}

#[test]
fn a_template_resolves_parameters_and_carries_replacement_along_references() {
    let template = |name: &str| {
        json!({"Resources": {
            "Staging": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${Name}-${AWS::Region}"}}},
            "StagingPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Staging"}, "PolicyDocument": {"Statement": [name]}}},
            "StagingParameter": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/buckets/staging", "Type": "String", "Value": {"Ref": "Staging"}}},
            "Added": {"Type": "AWS::SNS::Topic"}
        }})
    };
    let region = ("AWS::Region", "eu-west-1");
    let mut without_topic = template("a");
    without_topic["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("Added");
    let same = predict_template(
        &without_topic,
        &known(&[("Name", "acme"), region]),
        &template("b"),
        &known(&[("Name", "acme"), region]),
    );
    assert!(same.values().all(|r| r.causes.is_empty()), "{same:?}");
    assert!(!same.contains_key("Added"));

    let renamed = predict_template(
        &template("a"),
        &known(&[("Name", "acme"), region]),
        &template("a"),
        &known(&[("Name", "acme2"), region]),
    );
    assert_eq!(
        renamed["Staging"].line("Staging").as_deref(),
        Some("replaces Staging: BucketName changed")
    );
    assert_eq!(
        renamed["StagingPolicy"].line("StagingPolicy").as_deref(),
        Some("replaces StagingPolicy: Bucket refers to Staging, which is replaced")
    );
    // The parameter's value follows the bucket, but Value is not create-only.
    assert_eq!(renamed["StagingParameter"], Replacement::default());

    let unknown = predict_template(
        &template("a"),
        &known(&[("Name", "acme"), region]),
        &template("a"),
        &known(&[region]),
    );
    assert_eq!(unknown["Staging"].certainty(), Some(Certainty::MayReplace));
    assert_eq!(
        unknown["StagingPolicy"].reasons(),
        "Bucket refers to Staging, which may be replaced"
    );
}

#[test]
fn every_table_entry_is_well_formed() {
    assert!(!TABLE.is_empty());
    assert!(
        TABLE.windows(2).all(|w| w[0].type_name < w[1].type_name),
        "sorted, no duplicates"
    );
    for rules in TABLE {
        assert!(rules.type_name.starts_with("AWS::"), "{}", rules.type_name);
        for path in rules
            .create_only
            .iter()
            .chain(rules.conditional_create_only)
        {
            assert!(
                !path.is_empty() && !path.starts_with('/'),
                "{}: {path}",
                rules.type_name
            );
        }
    }
    assert_eq!(
        rules("AWS::S3::Bucket").map(|r| r.create_only.contains(&"BucketName")),
        Some(true)
    );
}
