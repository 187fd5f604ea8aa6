//! The driver (`provision::terraform`) against the emulator, on a deployment of its own in two
//! regions with its state in an S3 backend (`terraform.backend`, locked by a lock object):
//! init, plan and show (every change with its region), an apply that meets a second run
//! holding the lock and is interrupted, a plan and apply that finish the job, a plan that
//! changes nothing, and a destroy that keeps the buckets (with their objects) and the keys and
//! deletes the rest.

use super::deployments::endpoint;
use crate::support::{sdk_config, unique};
use provision::render::Templates;
use provision::terraform::{
    self, Action, Environment, Event, Interrupt, RunOptions, Terraform, TerraformError, WorkDir,
    retain,
};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc;

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

fn environment(url: &str) -> Environment {
    let mut env = Environment::empty();
    for (k, v) in crate::support::terraform::environment(Some(url)) {
        env.set(k, v);
    }
    env
}

fn configuration(dir: &Path, name: &str) -> std::path::PathBuf {
    let file = dir.join("provision.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\norganisation: {name}\nregions: [{}]\nstack_name: {name}\nparameters:\n  configuration: /{name}/startifact\n  bucket_name: /{name}/bucket\n  artifact_prefix: /{name}/artifacts\nbucket:\n  name: \"{name}-{{region}}\"\nkms:\n  alias: alias/{name}\nengine: terraform\nterraform:\n  backend:\n    bucket: {name}-state\n",
            REGIONS.join(", ")
        ),
    )
    .expect("write provision.yaml");
    file
}

/// Every address of `events`' kind with its region, which must be known.
fn regions_of(events: &[Event]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Planned {
                address, region, ..
            }
            | Event::Completed {
                address, region, ..
            } => Some(
                region
                    .clone()
                    .unwrap_or_else(|| panic!("{address} has no region")),
            ),
            _ => None,
        })
        .collect()
}

#[test]
fn the_driver_deploys_and_destroys_keeping_buckets_objects_and_keys() {
    let url = endpoint();
    let dir = tempfile::tempdir().expect("temp dir");
    let name = unique("drv").to_lowercase();
    let file = configuration(dir.path(), &name);
    let cfg = provision::config::load(&file).expect("valid configuration");
    crate::support::storage::block_on(create_state_bucket(&url, &name));
    let env = environment(&url);
    let binary = terraform::find(None, &env, true).expect("terraform on PATH, recent enough");
    let work = WorkDir::open(&WorkDir::default_path(&file, &cfg.stack_name), &file)
        .expect("working directory");
    assert_eq!(
        work.path(),
        dir.path().join(".provision/terraform").join(&name)
    );
    let tf = Terraform::new(binary, work, env);
    let module = provision::render::terraform(&cfg, &Templates::default()).expect("render");
    tf.write(&module).expect("write the module");
    tf.init(true).expect("init");

    // Plan: every change has its region, from the provider alias.
    let mut events = Vec::new();
    let outcome = tf
        .plan(&RunOptions::default(), &Interrupt::new(), &mut |e| {
            events.push(e.clone())
        })
        .expect("plan");
    assert!(outcome.changes);
    assert_eq!(
        regions_of(&events),
        REGIONS.iter().map(|r| r.to_string()).collect()
    );
    let plan = tf.show_plan(&outcome.file).expect("show -json");
    let creates = plan.effective_changes().count();
    assert!(creates > 30, "{creates} changes");
    assert!(
        plan.effective_changes()
            .all(|c| c.change.actions == [Action::Create])
    );

    interrupted_apply_meets_the_lock(&tf, &outcome.file);

    // The lock is released and the state consistent: a plan finds what is left to do.
    let partial = tf.state_list().expect("state list");
    assert!(!partial.is_empty(), "the interrupted apply wrote its state");
    let outcome = tf
        .plan(&RunOptions::default(), &Interrupt::new(), &mut |_| {})
        .expect("plan after the interrupt");
    assert!(outcome.changes);
    let mut events = Vec::new();
    let applied = tf
        .apply(
            &outcome.file,
            &RunOptions {
                parallelism: Some(30),
                ..Default::default()
            },
            &Interrupt::new(),
            &mut |e| events.push(e.clone()),
        )
        .expect("apply");
    assert!(applied.summary.is_some_and(|s| s.add > 0));
    assert!(!regions_of(&events).is_empty());

    // No perpetual diff.
    let outcome = tf
        .plan(&RunOptions::default(), &Interrupt::new(), &mut |_| {})
        .expect("second plan");
    assert!(!outcome.changes, "a plan after apply changes nothing");
    let state = tf.show_state().expect("show -json");
    let bucket_ids: Vec<&str> = state
        .resources()
        .iter()
        .filter(|r| r.resource_type == "aws_s3_bucket")
        .filter_map(|r| r.id())
        .collect();
    assert_eq!(bucket_ids.len(), 4, "artifact and log bucket per region");

    crate::support::storage::block_on(put_artifacts(&url, &name));
    destroy_keeps_what_cloudformation_retains(&tf, &cfg, &module);
    crate::support::storage::block_on(assert_retained(&url, &cfg, &name));
    assert!(
        !tf.dir().path().join("terraform.tfstate").exists(),
        "the state is in the backend, not in the working directory"
    );
    crate::support::storage::block_on(assert_state_in_backend(&url, &name));
}

/// The state bucket (`terraform.backend.bucket`): created beforehand, as the docs ask.
async fn create_state_bucket(url: &str, name: &str) {
    let s3 = crate::support::s3_client(url, "eu-west-1");
    s3.create_bucket()
        .bucket(format!("{name}-state"))
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create the state bucket");
}

/// The state is the backend's object `<stack>/terraform.tfstate`, and no lock object is left.
async fn assert_state_in_backend(url: &str, name: &str) {
    let s3 = crate::support::s3_client(url, "eu-west-1");
    let objects = s3
        .list_objects_v2()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .expect("ListObjectsV2");
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, [format!("{name}/terraform.tfstate")], "{keys:?}");
}

/// While an apply holds the state lock, a plan fails with the lock's details; then Ctrl-C:
/// Terraform gets one interrupt, stops, writes the state and releases the lock.
fn interrupted_apply_meets_the_lock(tf: &Terraform, plan: &Path) {
    let interrupt = Interrupt::new();
    let (waiting_tx, waiting_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let apply = scope.spawn(|| {
            let mut sent = false;
            let mut waiting = false;
            let mut made = BTreeSet::new();
            tf.apply(plan, &RunOptions::default(), &interrupt, &mut |e| {
                match e {
                    // The lifecycle configurations wait about a minute: the lock is held then.
                    Event::Started { address, .. }
                        if address.starts_with("aws_s3_bucket_lifecycle_configuration.") =>
                    {
                        waiting = true
                    }
                    // A bucket or key interrupted while being created is tainted, and its
                    // prevent_destroy then blocks the next plan (docs/engines.md): interrupt
                    // once they are all made.
                    Event::Completed { address, .. }
                        if address.starts_with("aws_s3_bucket.")
                            || address.starts_with("aws_kms_key.") =>
                    {
                        made.insert(address.clone());
                    }
                    _ => {}
                }
                if waiting && made.len() == 3 * REGIONS.len() && !sent {
                    sent = true;
                    let _ = waiting_tx.send(());
                }
            })
        });
        waiting_rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the apply reaches the lifecycle configurations");
        let locked = tf.plan(&RunOptions::default(), &Interrupt::new(), &mut |_| {});
        match locked {
            Err(TerraformError::StateLocked { lock }) => {
                assert_eq!(lock.operation, "OperationTypeApply", "{lock:?}");
                assert_eq!(lock.id.len(), 36, "{lock:?}");
                assert!(lock.path.ends_with("/terraform.tfstate"), "{lock:?}");
                assert!(
                    lock.reason.contains("PreconditionFailed"),
                    "S3 refused the lock object: {lock:?}"
                );
                let message = TerraformError::StateLocked { lock }.to_string();
                assert!(message.contains("held by"), "{message}");
            }
            other => panic!("a plan during the apply must meet the lock: {other:?}"),
        }
        interrupt.trigger();
        match apply.join().expect("apply thread") {
            Err(TerraformError::Interrupted { command }) => assert_eq!(command, "apply"),
            other => panic!("the interrupted apply: {other:?}"),
        }
    });
}

/// An object in each region's bucket, to be kept by destroy. moto treats a bucket-policy
/// statement whose condition it cannot evaluate (`aws:SecureTransport`) as a deny for every
/// object request (docs/testing.md), so the bucket policy goes first; destroy would delete it
/// anyway.
async fn put_artifacts(url: &str, name: &str) {
    for region in REGIONS {
        let s3 = crate::support::s3_client(url, region);
        let bucket = format!("{name}-{region}");
        let denied = s3
            .put_object()
            .bucket(&bucket)
            .key("app@1.0.0")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"artifact"))
            .send()
            .await;
        assert!(
            denied.is_err(),
            "{region}: the TLS-only bucket policy refuses a plain-HTTP write"
        );
        s3.delete_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucketPolicy");
        s3.put_object()
            .bucket(&bucket)
            .key("app@1.0.0")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"artifact"))
            .send()
            .await
            .expect("PutObject");
    }
}

/// Destroy: the plan forgets exactly what `retain` lists and deletes everything else.
fn destroy_keeps_what_cloudformation_retains(
    tf: &Terraform,
    cfg: &provision::config::Config,
    module: &[provision::render::RenderedFile],
) {
    tf.write(&retain::destroy_configuration(cfg, module))
        .expect("write the destroy configuration");
    tf.init(true).expect("init");
    let outcome = tf
        .plan(&RunOptions::default(), &Interrupt::new(), &mut |_| {})
        .expect("destroy plan");
    assert!(outcome.changes);
    let plan = tf.show_plan(&outcome.file).expect("show -json");
    let kept: BTreeSet<String> = retain::retained(cfg)
        .into_iter()
        .map(|r| r.address)
        .collect();
    for change in plan.effective_changes() {
        let expected = if kept.contains(&change.address) {
            Action::Forget
        } else {
            Action::Delete
        };
        assert_eq!(change.change.actions, [expected], "{}", change.address);
    }
    let forgotten = plan
        .effective_changes()
        .filter(|c| c.change.actions == [Action::Forget])
        .count();
    assert_eq!(forgotten, kept.len());
    tf.apply(
        &outcome.file,
        &RunOptions::default(),
        &Interrupt::new(),
        &mut |_| {},
    )
    .expect("destroy apply");
    assert_eq!(tf.state_list().expect("state list"), Vec::<String>::new());
}

async fn assert_retained(url: &str, cfg: &provision::config::Config, name: &str) {
    for region in REGIONS {
        let conf = sdk_config(url, region);
        let s3 = crate::support::moto_s3::client(url, region).await;
        let object = s3
            .get_object()
            .bucket(format!("{name}-{region}"))
            .key("app@1.0.0")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{region}: the bucket and its object are kept: {e:?}"));
        let body = object.body.collect().await.expect("body").into_bytes();
        assert_eq!(&body[..], b"artifact");
        let versioning = s3
            .get_bucket_versioning()
            .bucket(format!("{name}-{region}"))
            .send()
            .await
            .expect("GetBucketVersioning");
        assert_eq!(
            versioning.status().map(|s| s.as_str()),
            Some("Enabled"),
            "{region}: the kept bucket keeps its settings"
        );
        let kms = aws_sdk_kms::Client::new(&conf);
        let keys = kms.list_keys().limit(1000).send().await.expect("ListKeys");
        let mut enabled_keys = 0;
        for key in keys.keys() {
            let meta = kms
                .describe_key()
                .key_id(key.key_id().unwrap_or_default())
                .send()
                .await
                .expect("DescribeKey");
            let meta = meta.key_metadata().expect("metadata");
            if meta.description() == Some(&format!("{name} artifact bucket key ({region})")) {
                assert_eq!(meta.key_state().map(|s| s.as_str()), Some("Enabled"));
                enabled_keys += 1;
            }
        }
        assert_eq!(
            enabled_keys, 1,
            "{region}: the key is kept, not scheduled for deletion"
        );
        let aliases = kms
            .list_aliases()
            .limit(1000)
            .send()
            .await
            .expect("ListAliases");
        let alias = &cfg.kms.as_ref().expect("key").alias;
        assert!(
            aliases
                .aliases()
                .iter()
                .all(|a| a.alias_name() != Some(alias)),
            "{region}: the alias is deleted, as CloudFormation deletes it"
        );
        let ssm = aws_sdk_ssm::Client::new(&conf);
        assert!(
            ssm.get_parameter()
                .name(&cfg.parameters.bucket_name)
                .send()
                .await
                .is_err(),
            "{region}: the bucket-name parameter is deleted"
        );
    }
}
