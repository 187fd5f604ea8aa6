//! `provision adopt` on the emulator: Startifact's guide template deployed as it is in two
//! regions (with the organisation configuration Startifact's setup writes), adopted into a
//! configuration that keeps the guide's logical IDs and policy descriptions; `plan` with it
//! replaces and removes nothing. Bad input changes nothing and writes nothing.

use crate::support::storage::block_on;
use crate::support::{output, provision, repo_root, sdk_config, shared, unique};
use std::path::Path;

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

/// A guide stack per region, with names unique to the test.
struct Guide {
    url: String,
    stack: String,
    configuration: String,
    bucket_parameter: String,
    artifact_prefix: String,
}

impl Guide {
    fn deploy(key_prefix: &str) -> Guide {
        let id = unique("ad").to_lowercase();
        let g = Guide {
            url: shared().url(),
            stack: format!("{id}-guide"),
            configuration: format!("/{id}/startifact"),
            bucket_parameter: format!("/{id}/buckets/staging"),
            artifact_prefix: format!("/{id}/artifacts"),
        };
        let template =
            std::fs::read_to_string(repo_root().join("tests/fixtures/startifact-guide.yaml"))
                .expect("the guide's template");
        block_on(async {
            for region in REGIONS {
                let conf = sdk_config(&g.url, region);
                let cf = aws_sdk_cloudformation::Client::new(&conf);
                let p = |k: &str, v: &str| {
                    aws_sdk_cloudformation::types::Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build()
                };
                cf.create_stack()
                    .stack_name(&g.stack)
                    .template_body(&template)
                    .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
                    .parameters(p("ArtifactParameterNamePrefix", &g.artifact_prefix))
                    .parameters(p("BucketKeyPrefix", key_prefix))
                    .parameters(p("BucketParameterName", &g.bucket_parameter))
                    .parameters(p("StartifactConfigurationParameterName", &g.configuration))
                    .send()
                    .await
                    .expect("create the guide stack");
                let document = format!(
                    "{{\"bucket_key_prefix\": \"{key_prefix}\", \"bucket_name_param\": \"{}\", \"parameter_name_prefix\": \"{}\", \"regions\": \"{}\", \"save_ok\": \"y\"}}",
                    g.bucket_parameter,
                    g.artifact_prefix,
                    REGIONS.join(",")
                );
                g.ssm(region)
                    .put_parameter()
                    .name(&g.configuration)
                    .value(document)
                    .r#type(aws_sdk_ssm::types::ParameterType::String)
                    .overwrite(true)
                    .send()
                    .await
                    .expect("the organisation configuration");
            }
        });
        g
    }

    fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&sdk_config(&self.url, region))
    }

    /// `provision` against the emulator, with Startifact's variables for this organisation.
    fn provision(&self, dir: &Path, args: &[&str]) -> (i32, String, String) {
        output(
            provision(dir)
                .env("AWS_ENDPOINT_URL", &self.url)
                .env("AWS_REGION", REGIONS[0])
                .env("STARTIFACT_PARAMETER", &self.configuration)
                .args(args),
        )
    }

    fn physical_ids(&self, region: &str) -> Vec<(String, String)> {
        block_on(async {
            let cf = aws_sdk_cloudformation::Client::new(&sdk_config(&self.url, region));
            let mut ids: Vec<(String, String)> = cf
                .describe_stack_resources()
                .stack_name(&self.stack)
                .send()
                .await
                .expect("stack resources")
                .stack_resources()
                .iter()
                .filter(|r| {
                    [
                        "Staging",
                        "StagingParameter",
                        "AllowRead",
                        "AllowWrite",
                        "AllowConfigure",
                    ]
                    .contains(&r.logical_resource_id().unwrap_or_default())
                })
                .map(|r| {
                    (
                        r.logical_resource_id().unwrap_or_default().to_string(),
                        r.physical_resource_id().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            ids.sort();
            ids
        })
    }
}

#[test]
fn a_guide_stack_is_adopted_with_its_logical_ids_and_plans_without_replacing_anything() {
    let g = Guide::deploy("");
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = g.provision(dir.path(), &["adopt"]);
    assert_eq!(code, 0, "{out}\n{err}");
    for region in REGIONS {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{region}: configuration parameter; bucket "))
                && l.contains(&format!("stack {} (CREATE_COMPLETE), bucket Staging, policies AllowConfigure, AllowRead, AllowWrite", g.stack))),
            "{out}"
        );
    }
    assert!(out.contains("nothing was changed in AWS"), "{out}");
    let written = std::fs::read_to_string(dir.path().join("provision.yaml")).unwrap();
    for expected in [
        "regions: [eu-west-1, us-east-1]".to_string(),
        format!("stack_name: {}", g.stack),
        format!("  configuration: \"{}\"", g.configuration),
        format!("  bucket_name: \"{}\"", g.bucket_parameter),
        format!("  artifact_prefix: \"{}\"", g.artifact_prefix),
        "  key_prefix: \"\"".into(),
        "    bucket: Staging".into(),
        "    bucket_name_parameter: StagingParameter".into(),
        "    read_policy: AllowRead".into(),
        "    write_policy: AllowWrite".into(),
        "    configure_policy: AllowConfigure".into(),
        "    read: \"Read-only access to staged artifacts\"".into(),
        "    configure: \"Grants permission to configure Startifact\"".into(),
    ] {
        assert!(written.contains(&expected), "{expected}\n{written}");
    }

    // An existing file is kept without --force.
    let (code, _, err) = g.provision(dir.path(), &["adopt"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("provision.yaml")).unwrap(),
        written
    );
    assert_eq!(g.provision(dir.path(), &["adopt", "--force"]).0, 0);

    // The plan keeps every guide resource: no removal, no replacement, nothing refused.
    let before: Vec<_> = REGIONS.iter().map(|r| g.physical_ids(r)).collect();
    let (code, out, err) = g.provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "changes, none refused\n{out}\n{err}");
    for forbidden in ["- ", "±", "Staging  (", "refusing"] {
        assert!(
            !out.lines()
                .any(|l| l.trim_start().starts_with(forbidden) || l.contains("refusing")),
            "{forbidden}\n{out}\n{err}"
        );
    }
    assert!(
        out.contains("~  AWS::S3::Bucket"),
        "the bucket is modified\n{out}"
    );
    let after: Vec<_> = REGIONS.iter().map(|r| g.physical_ids(r)).collect();
    assert_eq!(before, after, "plan changed nothing");
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    // Regions with conflicting prefixes.
    let g = Guide::deploy("");
    block_on(async {
        g.ssm("us-east-1")
            .put_parameter()
            .name(&g.configuration)
            .value(format!(
                "{{\"bucket_key_prefix\": \"other/\", \"bucket_name_param\": \"{}\", \"parameter_name_prefix\": \"{}\", \"regions\": \"eu-west-1,us-east-1\", \"save_ok\": \"y\"}}",
                g.bucket_parameter, g.artifact_prefix
            ))
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    });
    let (code, _, err) = g.provision(dir.path(), &["adopt"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("conflicting prefixes"), "{err}");
    assert!(!dir.path().join("provision.yaml").exists());

    // A parameter pointing at no bucket: reported, exit 1.
    let h = Guide::deploy("");
    block_on(async {
        h.ssm("us-east-1")
            .put_parameter()
            .name(&h.bucket_parameter)
            .value("no-such-bucket-adopt")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    });
    let (code, out, err) = h.provision(dir.path(), &["adopt", "--force"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "us-east-1: configuration parameter; parameter {} points to bucket no-such-bucket-adopt, which does not exist",
            h.bucket_parameter
        )),
        "{out}"
    );

    // No regions anywhere.
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = output(
        provision(empty.path())
            .env("AWS_ENDPOINT_URL", &h.url)
            .env("AWS_REGION", "eu-north-1")
            .env("STARTIFACT_PARAMETER", "/adopt-nothing-here")
            .arg("adopt"),
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("no configuration parameter /adopt-nothing-here"),
        "{err}"
    );
    assert!(!empty.path().join("provision.yaml").exists());
}
