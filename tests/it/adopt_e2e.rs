//! `provision adopt` on the emulator: Startifact's guide template deployed as it is in two
//! regions (with the organisation configuration Startifact's setup writes), adopted into a
//! configuration that keeps the guide's logical IDs and policy descriptions; `plan` with it
//! replaces and removes nothing. Bad input changes nothing and writes nothing.

use crate::support::storage::block_on;
use crate::support::storage::{random_file, sha256_file};
use crate::support::{output, provision, repo_root, sdk_config, shared, unique, venv_tool};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "eu-north-1"];

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
        "regions: [eu-west-1, us-east-1, eu-north-1]".to_string(),
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
                "{{\"bucket_key_prefix\": \"other/\", \"bucket_name_param\": \"{}\", \"parameter_name_prefix\": \"{}\", \"regions\": \"eu-west-1,us-east-1,eu-north-1\", \"save_ok\": \"y\"}}",
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

/// Startifact 1.0a10 with this organisation's settings.
fn startifact(g: &Guide, dir: &Path) -> std::process::Command {
    let mut cmd = venv_tool("startifact", "startifact");
    cmd.current_dir(dir)
        .env("AWS_ENDPOINT_URL", &g.url)
        .env("AWS_DEFAULT_REGION", REGIONS[0])
        .env("STARTIFACT_PARAMETER", &g.configuration)
        .env("STARTIFACT_REGIONS", REGIONS.join(","));
    cmd
}

/// Item 6 of the adoption issue, on the emulator: the guide's stacks adopted, planned and
/// applied while Startifact downloads `latest` in a loop; afterwards the same buckets, every
/// object, the same policy ARNs attached to the role, the bucket encrypted. (The emulator's
/// CloudFormation applies no versioning and no bucket policy, and cannot update a managed
/// policy in place: those are proven by the rendered template, the judges and the plan's
/// prediction, not here.)
#[test]
fn adopting_a_guide_stack_loses_no_download_no_object_and_no_policy_arn() {
    let g = Guide::deploy("");
    let work = tempfile::tempdir().unwrap();
    let project = format!("{}-app", g.stack);
    let v1 = random_file(work.path(), "v1.bin", 256 * 1024, 91);
    let v2 = random_file(work.path(), "v2.bin", 256 * 1024, 92);
    for (version, file) in [("1.0.0", &v1), ("1.1.0", &v2)] {
        let (code, out, err) = output(
            startifact(&g, work.path())
                .args([project.as_str(), version, "--stage"])
                .arg(file),
        );
        assert_eq!(code, 0, "startifact stage {version}\n{out}\n{err}");
    }
    // A role with every region's AllowRead attached.
    let role = format!("{}-reader", g.stack);
    let before: Vec<_> = REGIONS.iter().map(|r| g.physical_ids(r)).collect();
    let read_arns: Vec<String> = before
        .iter()
        .map(|ids| {
            ids.iter()
                .find(|(id, _)| id == "AllowRead")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    let iam = aws_sdk_iam::Client::new(&sdk_config(&g.url, "us-east-1"));
    block_on(async {
        iam.create_role()
            .role_name(&role)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .send()
            .await
            .expect("create the role");
        for arn in &read_arns {
            iam.attach_role_policy()
                .role_name(&role)
                .policy_arn(arn)
                .send()
                .await
                .expect("attach AllowRead");
        }
    });

    // Startifact downloads `latest` in a loop while adopt, plan and apply run.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let expected = sha256_file(&v2);
    let looper = {
        let (stop, done) = (stop.clone(), done.clone());
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = startifact(&g, dir.path());
        cmd.args([project.as_str(), "--download", "latest.bin"]);
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            while !stop.load(Ordering::SeqCst) || done.load(Ordering::SeqCst) == 0 {
                let (code, out, err) = output(&mut cmd);
                let got = dir.path().join("latest.bin");
                if code != 0 || sha256_file(&got) != expected {
                    failures.push(format!("exit {code}\n{out}\n{err}"));
                }
                let _ = std::fs::remove_file(got);
                done.fetch_add(1, Ordering::SeqCst);
            }
            failures
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = g.provision(dir.path(), &["adopt"]);
    assert_eq!(code, 0, "adopt\n{out}\n{err}");
    // The hardening adds the reading role as an access list. (It also sidesteps an emulator
    // bug: a change set without parameters on a stack that had some makes moto's
    // ExecuteChangeSet fail with KeyError in load_parameters; AWS accepts it.)
    let config = dir.path().join("provision.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("access:\n  roles: [{role}]\n"));
    std::fs::write(&config, text).unwrap();
    let (code, out, err) = g.provision(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "plan\n{out}\n{err}");
    let (code, out, err) = g.provision(dir.path(), &["apply", "--yes"]);
    assert_eq!(code, 0, "apply\n{out}\n{err}");
    stop.store(true, Ordering::SeqCst);
    let failures = looper.join().expect("the download loop");
    assert!(
        failures.is_empty(),
        "{} downloads failed: {failures:?}",
        failures.len()
    );
    assert!(done.load(Ordering::SeqCst) > 0);

    // The same bucket, parameter and policies, the same ARNs attached to the role.
    // The stack's bucket and parameter are the same resources. (moto's CloudFormation cannot
    // update an AWS::IAM::ManagedPolicy in place: it drops the policies from the stack's
    // record and leaves the IAM policies as they were, so the ARNs are checked in IAM below;
    // that they stay in the stack on AWS rests on the plan: modified, not replaced.)
    let after: Vec<_> = REGIONS.iter().map(|r| g.physical_ids(r)).collect();
    let kept = |ids: &Vec<(String, String)>| -> Vec<(String, String)> {
        ids.iter()
            .filter(|(id, _)| id == "Staging" || id == "StagingParameter")
            .cloned()
            .collect()
    };
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(kept(b), kept(a), "nothing was replaced");
    }
    for arn in &read_arns {
        block_on(iam.get_policy().policy_arn(arn).send()).expect("the policy ARN still exists");
    }
    let attached: Vec<String> = block_on(async {
        iam.list_attached_role_policies()
            .role_name(&role)
            .send()
            .await
            .expect("attached policies")
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect()
    });
    for arn in &read_arns {
        assert!(attached.contains(arn), "{arn} still attached: {attached:?}");
    }
    // Every object intact, downloaded by both tools byte for byte; the bucket encrypted.
    for (i, region) in REGIONS.iter().enumerate() {
        let bucket = &before[i].iter().find(|(id, _)| id == "Staging").unwrap().1;
        let s3 = crate::support::s3_client(&g.url, region);
        let encryption = block_on(s3.get_bucket_encryption().bucket(bucket).send());
        assert!(
            encryption.is_ok(),
            "{region}: {bucket} is encrypted now: {encryption:?}"
        );
    }
    for (version, file) in [("1.0.0", &v1), ("1.1.0", &v2)] {
        let down = tempfile::tempdir().unwrap();
        let (code, _, err) = output(startifact(&g, down.path()).args([
            project.as_str(),
            version,
            "--download",
            "s.bin",
        ]));
        assert_eq!(code, 0, "{err}");
        assert_eq!(sha256_file(&down.path().join("s.bin")), sha256_file(file));
        let (code, _, err) = g.provision(down.path(), &["download", &project, version, "p.bin"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(sha256_file(&down.path().join("p.bin")), sha256_file(file));
    }
    let (code, out, err) = g.provision(dir.path(), &["plan", "--detailed-exitcode"]);
    // No resource and no security change is left. The emulator still answers with a change
    // set (exit 2) rather than "didn't contain changes": its UpdateStack keeps the old stack
    // parameters when the new template has none (moto 5.2 cloudformation/models.py,
    // `if parameters: self.parameters = parameters`), so the guide's four parameters never
    // compare equal to provision's none. CloudFormation replaces the parameter set on update,
    // so there the second plan is empty; here the test proves the empty change list instead.
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains(
            "resources: 0 to add, 0 to modify, 0 to replace, 0 to remove; 0 security changes."
        ),
        "a second plan changes nothing\n{out}\n{err}"
    );
}

/// A bucket made by hand in a region (through S3, no stack), with or without a parameter.
fn hand_made_bucket(url: &str, region: &str, bucket: &str, parameter: Option<&str>) {
    block_on(async {
        let conf = sdk_config(url, region);
        let s3 = aws_sdk_s3::Client::new(&conf);
        let mut create = s3.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.expect("create the bucket");
        if let Some(name) = parameter {
            aws_sdk_ssm::Client::new(&conf)
                .put_parameter()
                .name(name)
                .value(bucket)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .send()
                .await
                .expect("the bucket-name parameter");
        }
    });
}

/// Item 4 of the adoption issue: buckets no stack owns, one named by the bucket-name
/// parameter, one named with `--bucket`, are written under `adopted.buckets` to be imported.
/// Named wrongly (which region, missing, in another region, not the parameter's bucket), the
/// command writes nothing (exit 3).
#[test]
fn hand_made_buckets_are_adopted_for_import_and_bad_names_write_nothing() {
    let url = shared().url();
    let id = unique("hm").to_lowercase();
    let parameter = format!("/{id}/buckets/staging");
    let (west, east) = (format!("{id}-west"), format!("{id}-east"));
    hand_made_bucket(&url, "eu-west-1", &west, Some(&parameter));
    hand_made_bucket(&url, "us-east-1", &east, None);
    let adopt = |dir: &Path, args: &[&str]| {
        output(
            provision(dir)
                .env("AWS_ENDPOINT_URL", &url)
                .env("AWS_REGION", "eu-west-1")
                .env("STARTIFACT_PARAMETER", format!("/{id}/startifact"))
                .args([
                    "adopt",
                    "--regions",
                    "eu-west-1,us-east-1",
                    "--bucket-parameter",
                ])
                .arg(&parameter)
                .args(args),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("provision.yaml");
    let refusals: [(Vec<String>, String); 6] = [
        (
            vec![east.clone()],
            format!("--bucket {east}: which region?"),
        ),
        (
            vec!["us-east-1=no-such-bucket-hm".into()],
            "us-east-1: --bucket names bucket no-such-bucket-hm, which does not exist".into(),
        ),
        (
            vec![format!("eu-west-1={east}")],
            format!("eu-west-1: --bucket {east}, but parameter {parameter} names bucket {west}"),
        ),
        (
            vec![format!("us-east-1={west}")],
            format!("us-east-1: --bucket names bucket {west}, which is in eu-west-1"),
        ),
        (
            vec![format!("eu-north-1={east}")],
            "`eu-north-1` is not one of the regions adopted".into(),
        ),
        (
            vec!["us-east-1=Not_A_Bucket".into()],
            "--bucket us-east-1=Not_A_Bucket: `Not_A_Bucket`".into(),
        ),
    ];
    for (args, expected) in refusals {
        let mut argv = Vec::new();
        for a in &args {
            argv.extend(["--bucket", a.as_str()]);
        }
        let (code, out, err) = adopt(dir.path(), &argv);
        assert_eq!(code, 3, "{args:?}\n{out}\n{err}");
        assert!(err.contains(&expected), "{expected}\n{err}");
        assert!(!file.exists(), "{args:?} wrote a file");
    }

    let (code, out, err) = adopt(dir.path(), &["--bucket", &format!("us-east-1={east}")]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "eu-west-1: no configuration parameter; bucket {west} (named by {parameter}); owned by no stack: will be imported"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "us-east-1: no configuration parameter; bucket {east} (--bucket); owned by no stack: will be imported"
        )),
        "{out}"
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains(&format!(
            "adopted:\n  buckets:\n    eu-west-1: {west}\n    us-east-1: {east}\n"
        )),
        "{written}"
    );
    assert!(!written.contains("stack_name"), "{written}");
    assert!(!written.contains("logical_ids"), "{written}");

    // The emulator has no IMPORT change sets: the CloudFormation engine's apply refuses at
    // plan time (exit 1), and leaves no stack, the buckets and the parameter as they were.
    let stack = format!("{id}-stack");
    std::fs::write(&file, format!("{written}stack_name: {stack}\n")).unwrap();
    let (code, out, err) = output(provision(dir.path()).env("AWS_ENDPOINT_URL", &url).args([
        "apply",
        "--yes",
        "--region",
        "eu-west-1",
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "eu-west-1: the IMPORT change set for bucket {west} in stack {stack} answered `add` instead of `import`: this endpoint does not implement resource import"
        )),
        "{err}"
    );
    block_on(async {
        let conf = sdk_config(&url, "eu-west-1");
        let cf = aws_sdk_cloudformation::Client::new(&conf);
        let stacks = cf.describe_stacks().stack_name(&stack).send().await;
        let live: Vec<_> = stacks
            .map(|o| {
                o.stacks()
                    .iter()
                    .filter_map(|s| s.stack_status().cloned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            live.iter().all(|s| s.as_str() == "DELETE_COMPLETE"),
            "{live:?}"
        );
        aws_sdk_s3::Client::new(&conf)
            .head_bucket()
            .bucket(&west)
            .send()
            .await
            .expect("the bucket is still there");
        let value = aws_sdk_ssm::Client::new(&conf)
            .get_parameter()
            .name(&parameter)
            .send()
            .await
            .expect("the parameter is still there")
            .parameter
            .and_then(|p| p.value);
        assert_eq!(value.as_deref(), Some(west.as_str()));
    });
}
