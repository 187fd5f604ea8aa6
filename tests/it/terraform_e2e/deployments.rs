//! Every example deployed once by plain Terraform on the shared emulator, all in parallel,
//! followed by a second `plan -out` whose `show -json` the parity test reads.

use crate::support::terraform::{expect, render};
use provision::config::Config;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One example, applied.
pub struct Deployment {
    pub name: String,
    pub cfg: Config,
    pub config_file: PathBuf,
    pub module: PathBuf,
    /// `terraform plan -detailed-exitcode` after the apply: 0 (no changes) or 2.
    pub second_plan_exit: i32,
    /// `terraform show -json` of that plan.
    pub plan: serde_json::Value,
    pub apply_time: Duration,
}

/// The emulator of this group: the examples are deployed with their own names (default
/// parameter names among them), which the other groups' tests use too.
pub fn endpoint() -> String {
    crate::support::dedicated("terraform_e2e").url()
}

/// Every example, deployed (the first caller deploys, the others wait).
pub fn all() -> &'static [Deployment] {
    static ALL: OnceLock<(tempfile::TempDir, Vec<Deployment>)> = OnceLock::new();
    &ALL.get_or_init(|| {
        let root = tempfile::tempdir().expect("temp dir");
        let url = endpoint();
        // A thread of its own: the caller may be inside an async runtime.
        std::thread::scope(|s| {
            s.spawn(|| crate::support::storage::block_on(create_principals(&url)))
                .join()
                .expect("create the example's principals")
        });
        let started = Instant::now();
        let deployments = std::thread::scope(|scope| {
            let handles: Vec<_> = crate::support::examples()
                .into_iter()
                .map(|(name, file)| {
                    let dir = root.path().join(&name);
                    let url = url.clone();
                    scope.spawn(move || deploy(&name, &file, &dir, &url))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a deployment failed (see above)"))
                .collect::<Vec<_>>()
        });
        eprintln!(
            "terraform: {} examples applied and planned again in {:.1?} ({})",
            deployments.len(),
            started.elapsed(),
            deployments
                .iter()
                .map(|d| format!("{} apply {:.1?}", d.name, d.apply_time))
                .collect::<Vec<_>>()
                .join(", ")
        );
        (root, deployments)
    })
    .1
}

pub fn by_name(name: &str) -> &'static Deployment {
    all()
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no example {name}"))
}

/// The roles and users the kms-access-lists example names (they must exist before a plan;
/// one that exists already, from an earlier attempt, is fine).
async fn create_principals(url: &str) {
    let iam = aws_sdk_iam::Client::new(&crate::support::sdk_config(url, "us-east-1"));
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    for role in ["ecs-task-config-reader", "DevOps"] {
        if let Err(e) = iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document(trust)
            .send()
            .await
        {
            assert!(
                format!("{e:?}").contains("EntityAlreadyExists"),
                "CreateRole {role}: {e:?}"
            );
        }
    }
    if let Err(e) = iam
        .create_user()
        .user_name("external-deployer")
        .send()
        .await
    {
        assert!(
            format!("{e:?}").contains("EntityAlreadyExists"),
            "CreateUser: {e:?}"
        );
    }
}

/// The example with names of its own on the shared emulator: its stack name and SSM
/// parameters carry the example's name (minimal and multi-region would both write
/// `/buckets/staging` in eu-west-1). Everything else is the example as written.
fn configuration(name: &str, example: &Path, dir: &Path) -> (PathBuf, Config) {
    let text = std::fs::read_to_string(example).expect("example");
    let mut doc: serde_json::Value = serde_saphyr::from_str(&text).expect("example YAML");
    let id = format!("tf-{name}");
    doc["stack_name"] = id.clone().into();
    doc["parameters"] = serde_json::json!({
        "configuration": format!("/{id}/startifact"),
        "bucket_name": format!("/{id}/bucket"),
        "artifact_prefix": format!("/{id}/artifacts"),
    });
    let file = dir.join("provision.yaml");
    std::fs::create_dir_all(dir).expect("example directory");
    std::fs::write(&file, serde_saphyr::to_string(&doc).expect("YAML")).expect("write");
    let cfg = provision::config::load(&file).expect("the example stays valid");
    (file, cfg)
}

fn deploy(name: &str, example: &Path, dir: &Path, url: &str) -> Deployment {
    let (config_file, cfg) = configuration(name, example, dir);
    let module = dir.join("module");
    render(&config_file, &module);
    let ep = Some(url);
    expect(&module, ep, &["init", "-input=false", "-no-color"], 0);
    let started = Instant::now();
    // Every lifecycle configuration waits about a minute (docs/engines.md): with more of
    // them than Terraform's default parallelism (10), they would wait in turns.
    expect(
        &module,
        ep,
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-parallelism=30",
        ],
        0,
    );
    let apply_time = started.elapsed();
    let (code, out, err) =
        crate::support::terraform::run(crate::support::terraform::terraform(&module, ep).args([
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            "-out=second.tfplan",
        ]));
    assert!(
        code == 0 || code == 2,
        "{name}: second plan failed:\n{out}\n{err}"
    );
    let show = expect(&module, ep, &["show", "-json", "second.tfplan"], 0);
    Deployment {
        name: name.to_string(),
        cfg,
        config_file,
        module,
        second_plan_exit: code,
        plan: serde_json::from_str(&show).expect("show -json"),
        apply_time,
    }
}
