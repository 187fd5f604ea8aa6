//! What Terraform deployed, read back through the S3, KMS, SSM and IAM APIs and checked
//! against each example's configuration, region by region: encryption and key, bucket key,
//! versioning, public access block, ownership, lifecycle, logging, CORS, bucket and key
//! policies, the bucket-name parameter, the managed policies, key rotation and alias, the IAM
//! group and users.

use super::deployments::{all, endpoint};
use crate::support::deployed::{Clients, assert_deployed_storage};
use crate::support::storage::block_on;

#[test]
fn every_example_is_deployed_as_configured_in_every_region() {
    let url = endpoint();
    let mut checked = Vec::new();
    for deployment in all() {
        for region in &deployment.cfg.regions {
            let found = block_on(async {
                let clients = Clients::emulator(&url, region).await;
                assert_deployed_storage(&deployment.cfg, &clients).await
            });
            checked.push(format!("{} {region} ({})", deployment.name, found.bucket));
        }
    }
    // The examples between them cover every setting: six regions, a key with access lists,
    // SSE-S3 with CORS and identities, a key prefix with metadata append.
    assert!(checked.len() >= 12, "{checked:?}");
}

#[test]
fn a_second_plan_changes_nothing() {
    for deployment in all() {
        assert_eq!(
            deployment.second_plan_exit,
            0,
            "{}: the plan after apply has changes (a perpetual diff); see {}",
            deployment.name,
            deployment.module.display()
        );
    }
}
