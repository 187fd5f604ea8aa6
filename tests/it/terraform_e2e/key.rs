//! The key policy's deny-except statement spares the deploying identity: after the apply, the
//! identity that deployed (the emulator's test credentials) still reads and manages the key.
//! moto evaluates a key policy's deny statements for DescribeKey (regardless of conditions),
//! so a deny covering `kms:*` or `kms:DescribeKey` fails this test.

use super::deployments::{by_name, endpoint};
use crate::support::sdk_config;

#[test]
fn the_deploying_identity_still_manages_the_key() {
    let deployment = by_name("kms-access-lists");
    crate::support::storage::block_on(manage_the_key(deployment));
}

async fn manage_the_key(deployment: &super::deployments::Deployment) {
    let alias = &deployment.cfg.kms.as_ref().expect("a key").alias;
    assert!(
        !deployment.cfg.access.is_empty(),
        "the example has access lists"
    );
    for region in &deployment.cfg.regions {
        let kms = aws_sdk_kms::Client::new(&sdk_config(&endpoint(), region));
        let key = kms
            .describe_key()
            .key_id(alias.as_str())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{region}: DescribeKey: {e:?}"));
        let key_id = key.key_metadata().expect("metadata").key_id().to_string();
        let policy = kms
            .get_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{region}: GetKeyPolicy: {e:?}"))
            .policy()
            .expect("a policy")
            .to_string();
        assert!(
            policy.contains("DenyEveryoneNotListed"),
            "{region}: the key policy has the deny-except statement: {policy}"
        );
        kms.put_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .policy(&policy)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{region}: PutKeyPolicy: {e:?}"));
        kms.enable_key_rotation()
            .key_id(&key_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{region}: EnableKeyRotation: {e:?}"));
        kms.describe_key()
            .key_id(&key_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{region}: DescribeKey after PutKeyPolicy: {e:?}"));
    }
}
