use super::*;
use crate::testing::{self, json_error};
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::types::Parameter;
use aws_smithy_mocks::mock;

fn config() -> Config {
    crate::config::parse(
        std::path::Path::new("t.yaml"),
        "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\nparameters:\n  bucket_name: /buckets/staging\nadopted:\n  buckets:\n    eu-west-1: hand-made-bucket\n",
    )
    .expect("configuration")
}

/// A state holding `addresses` (all in eu-west-1's provider).
fn state(addresses: &[&str]) -> RawState {
    let resources: Vec<serde_json::Value> = addresses
        .iter()
        .map(|a| {
            let (kind, name) = a.split_once('.').expect("an address");
            serde_json::json!({
                "mode": "managed", "type": kind, "name": name,
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"].eu_west_1",
                "instances": [{"attributes": {"id": "x"}}]
            })
        })
        .collect();
    let text =
        serde_json::json!({"version": 4, "serial": 3, "lineage": "l", "resources": resources});
    RawState::parse(&text.to_string())
        .expect("state")
        .expect("a state")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn only_what_the_state_lacks_is_wanted_and_only_in_adopted_regions() {
    let cfg = config();
    let bucket = ImportBlock {
        address: "aws_s3_bucket.artifacts_eu_west_1".into(),
        id: "hand-made-bucket".into(),
    };
    let parameter = ImportBlock {
        address: "aws_ssm_parameter.bucket_name_eu_west_1".into(),
        id: "/buckets/staging".into(),
    };
    let policy = ImportBlock {
        address: "aws_s3_bucket_policy.artifacts_eu_west_1".into(),
        id: "hand-made-bucket".into(),
    };
    assert_eq!(
        wanted(&cfg, None),
        [Wanted {
            region: "eu-west-1".into(),
            bucket: Some(bucket.clone()),
            parameter: Some(parameter.clone()),
            policy: Some(policy),
        }]
    );
    // The bucket held: its policy is provision's (or created over), never imported again.
    let held = state(&["aws_s3_bucket.artifacts_eu_west_1"]);
    assert_eq!(
        wanted(&cfg, Some(&held)),
        [Wanted {
            region: "eu-west-1".into(),
            bucket: None,
            parameter: Some(parameter),
            policy: None,
        }]
    );
    // Applied: the state holds both, nothing is imported again.
    let both = state(&[
        "aws_s3_bucket.artifacts_eu_west_1",
        "aws_ssm_parameter.bucket_name_eu_west_1",
    ]);
    assert_eq!(wanted(&cfg, Some(&both)), []);
}

#[test]
fn the_bucket_is_imported_with_its_policy_if_any_and_the_parameter_if_ssm_has_it() {
    let cfg = config();
    let head = mock!(aws_sdk_s3::Client::head_bucket)
        .match_requests(|r| r.bucket() == Some("hand-made-bucket"))
        .then_http_response(|| testing::response(200, ""));
    let found = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/buckets/staging"))
        .then_output(|| {
            GetParameterOutput::builder()
                .parameter(
                    Parameter::builder()
                        .name("/buckets/staging")
                        .value("hand-made-bucket")
                        .build(),
                )
                .build()
        });
    let policy = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .match_requests(|r| r.bucket() == Some("hand-made-bucket"))
        .then_http_response(|| {
            testing::response(200, r#"{"Version":"2012-10-17","Statement":[]}"#)
        });
    let blocks = rt()
        .block_on(imports(
            &cfg,
            None,
            &testing::clients(&[&head, &found, &policy]),
        ))
        .expect("imports");
    let addresses: Vec<&str> = blocks.iter().map(|b| b.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "aws_s3_bucket.artifacts_eu_west_1",
            "aws_s3_bucket_policy.artifacts_eu_west_1",
            "aws_ssm_parameter.bucket_name_eu_west_1"
        ]
    );

    let missing = mock!(aws_sdk_ssm::Client::get_parameter)
        .then_http_response(|| json_error(400, "ParameterNotFound", "none"));
    let no_policy = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .then_http_response(|| testing::s3_error(404, "NoSuchBucketPolicy"));
    let blocks = rt()
        .block_on(imports(
            &cfg,
            None,
            &testing::clients(&[&head, &missing, &no_policy]),
        ))
        .expect("imports");
    let addresses: Vec<&str> = blocks.iter().map(|b| b.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["aws_s3_bucket.artifacts_eu_west_1"],
        "no policy to import, the parameter is created"
    );
}

#[test]
fn a_missing_or_foreign_bucket_fails_the_plan_naming_region_and_bucket() {
    let cfg = config();
    let gone =
        mock!(aws_sdk_s3::Client::head_bucket).then_http_response(|| testing::response(404, ""));
    let err = rt()
        .block_on(imports(&cfg, None, &testing::clients(&[&gone])))
        .expect_err("a missing bucket");
    let text = err.to_string();
    assert!(
        text.contains("eu-west-1: adopted bucket hand-made-bucket does not exist in eu-west-1"),
        "{text}"
    );
    assert_eq!(gone.num_calls(), 1);
    let denied =
        mock!(aws_sdk_s3::Client::head_bucket).then_http_response(|| testing::response(403, ""));
    let err = rt()
        .block_on(imports(&cfg, None, &testing::clients(&[&denied])))
        .expect_err("another account's bucket");
    assert!(err.to_string().contains("access denied"), "{err}");
}
