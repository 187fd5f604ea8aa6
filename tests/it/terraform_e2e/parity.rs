//! Engine parity: for every example, the CloudFormation template of each region and the
//! Terraform plan (`terraform show -json` of the plan made after the apply, so every value is
//! known) normalise to one model, and the models are equal but for the differences listed in
//! docs/engines.md ("Parity"), which this test encodes: a difference not in the list fails,
//! and so does an entry of the list that no example shows any more.

use super::deployments::{all, endpoint};
use crate::support::deployed::Clients;
use crate::support::deployed::policies::allowed_user_ids;
use crate::support::parity::cloudformation::from_cloudformation;
use crate::support::parity::terraform::{TerraformContext, from_terraform};
use crate::support::parity::{Concrete, Difference, differences};
use crate::support::{ACCOUNT_ID, repo_root};

/// A difference the engines cannot avoid: the model path (`*` matches one segment), and
/// whether CloudFormation's side is empty there (the value is left to the service).
struct Accepted {
    path: &'static str,
    cloudformation_empty: bool,
}

/// The differences docs/engines.md lists, with the same paths.
const ACCEPTED: &[Accepted] = &[
    // CloudFormation generates a bucket name (`<stack>-bucket-<random>`), Terraform another
    // (`terraform-<timestamp>`); a configured name is the same in both.
    Accepted {
        path: "bucket.name",
        cloudformation_empty: true,
    },
    // CloudFormation names managed policies itself; Terraform needs a name and uses
    // `<stack>-<region>-<kind>`.
    Accepted {
        path: "managed_policies.*.name",
        cloudformation_empty: true,
    },
];

fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let q: Vec<&str> = path.split('.').collect();
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| *a == "*" || a == b)
}

fn accepted(d: &Difference) -> Option<&'static Accepted> {
    ACCEPTED.iter().find(|a| {
        matches(a.path, &d.path) && (!a.cloudformation_empty || d.cloudformation.is_null())
    })
}

#[test]
fn cloudformation_and_terraform_describe_the_same_storage() {
    let url = endpoint();
    let mut unexpected = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut compared = 0;
    for d in all() {
        let out = d
            .module
            .parent()
            .expect("example directory")
            .join("cloudformation");
        let (code, _, stderr) = crate::support::output(
            crate::support::provision(&repo_root())
                .args(["render", "-q", "--format", "cloudformation", "--out"])
                .arg(&out)
                .arg("-f")
                .arg(&d.config_file),
        );
        assert_eq!(code, 0, "{}: render: {stderr}", d.name);
        let retained: Vec<String> = provision::terraform::retain::retained(&d.cfg)
            .into_iter()
            .map(|r| r.address)
            .collect();
        let allowed = crate::support::storage::block_on(async {
            allowed_user_ids(&d.cfg, &Clients::emulator(&url, d.cfg.home_region()).await).await
        });
        for region in &d.cfg.regions {
            // A stack set has one template for every region (its IAM resources carry a
            // condition on the home region); the other engines render one per region.
            let file = match d.cfg.engine {
                provision::config::Engine::Stacksets => {
                    provision::render::STACK_SET_FILE.to_string()
                }
                _ => format!("{region}.yaml"),
            };
            let template = std::fs::read_to_string(out.join(&file))
                .unwrap_or_else(|e| panic!("{}: rendered template {file}: {e}", d.name));
            let concrete = Concrete {
                region,
                account_id: ACCOUNT_ID,
                partition: "aws",
                url_suffix: "amazonaws.com",
            };
            let cfn = from_cloudformation(&template, &concrete);
            let tf = from_terraform(
                &d.plan,
                region,
                &TerraformContext {
                    retained: &retained,
                    allowed_user_ids: &allowed,
                },
            );
            compared += 1;
            for diff in differences(&cfn, &tf) {
                match accepted(&diff) {
                    Some(a) => {
                        seen.insert(a.path);
                    }
                    None => unexpected.push(format!(
                        "{} {region}: {}: CloudFormation {} / Terraform {}",
                        d.name, diff.path, diff.cloudformation, diff.terraform
                    )),
                }
            }
        }
    }
    assert!(compared >= 12, "{compared} regions compared");
    assert!(
        unexpected.is_empty(),
        "the engines describe different storage (list a difference that cannot be avoided in docs/engines.md and in ACCEPTED):\n  {}",
        unexpected.join("\n  ")
    );
    let stale: Vec<&str> = ACCEPTED
        .iter()
        .map(|a| a.path)
        .filter(|p| !seen.contains(p))
        .collect();
    assert!(
        stale.is_empty(),
        "accepted differences no example shows any more (remove them here and in docs/engines.md): {stale:?}"
    );
}

#[test]
fn the_accepted_differences_are_the_ones_docs_engines_md_lists() {
    let doc =
        std::fs::read_to_string(repo_root().join("docs/engines.md")).expect("docs/engines.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Parity"))
        .expect("a `## Parity` section in docs/engines.md");
    let listed: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .collect();
    let mut expected: Vec<&str> = ACCEPTED.iter().map(|a| a.path).collect();
    let mut listed_sorted = listed.clone();
    expected.sort();
    listed_sorted.sort();
    assert_eq!(
        listed_sorted, expected,
        "docs/engines.md (Parity) and tests/it/terraform_e2e/parity.rs list different differences"
    );
}
