//! Organizations on the emulator: OUs resolved to accounts (nested OUs included, the
//! management account never), an OU that does not exist, accounts outside the organisation,
//! (trusted access for StackSets: `engine.rs`, through the binary).

use super::*;
use provision::exit::{Classify, Exit};
use provision::org_accounts::{
    AccountsCheck, OrgAccountsError, check_accounts, describe_organization,
    resolve_organizational_units,
};

#[tokio::test]
async fn ous_resolve_to_their_accounts_nested_ones_included() {
    let o = org();
    let client = organizations().await;
    let organization = describe_organization(&client).await.expect("organisation");
    assert_eq!(organization.management_account, ACCOUNT_ID);

    let prod = resolve_organizational_units(&client, &organization, std::slice::from_ref(&o.prod))
        .await
        .expect("prod");
    let mut expected = vec![o.prod_account.clone(), o.prod_eu_account.clone()];
    expected.sort();
    assert_eq!(prod.account_ids(), expected);
    let nested = prod
        .accounts
        .iter()
        .find(|a| a.id == o.prod_eu_account)
        .unwrap();
    assert_eq!(
        (nested.parent.as_str(), nested.target.as_str()),
        (o.prod_eu.as_str(), o.prod.as_str())
    );
    assert!(!prod.management_account_skipped);

    // The root holds every account, the management account too: StackSets skips it.
    let all = resolve_organizational_units(&client, &organization, std::slice::from_ref(&o.root))
        .await
        .expect("root");
    let mut every = vec![
        o.dev_account.clone(),
        o.prod_account.clone(),
        o.prod_eu_account.clone(),
    ];
    every.sort();
    assert_eq!(all.account_ids(), every);
    assert!(all.management_account_skipped);

    // Two targets holding the same account name it once.
    let both =
        resolve_organizational_units(&client, &organization, &[o.prod.clone(), o.prod_eu.clone()])
            .await
            .expect("overlapping targets");
    assert_eq!(both.account_ids(), expected);
    assert_eq!(
        both.by_target[&o.prod_eu],
        std::slice::from_ref(&o.prod_eu_account)
    );
}

#[tokio::test]
async fn an_ou_that_does_not_exist_is_named() {
    org();
    let client = organizations().await;
    let organization = describe_organization(&client).await.expect("organisation");
    let err = resolve_organizational_units(&client, &organization, &["ou-zz99-nothere1".into()])
        .await
        .expect_err("missing OU");
    assert!(matches!(err, OrgAccountsError::OuNotFound { .. }), "{err}");
    assert!(err.to_string().contains("ou-zz99-nothere1"), "{err}");
    assert!(err.to_string().contains(&organization.id), "{err}");
    assert_eq!(err.exit(), Exit::Invalid);
}

#[tokio::test]
async fn accounts_outside_the_organisation_are_named() {
    let o = org();
    let client = organizations().await;
    let members = check_accounts(&client, &[o.dev_account.clone(), o.prod_account.clone()])
        .await
        .expect("members");
    assert!(
        matches!(members, AccountsCheck::Members { .. }),
        "{members:?}"
    );
    let err = check_accounts(&client, &[o.dev_account.clone(), "210987654321".into()])
        .await
        .expect_err("outsider");
    assert!(err.to_string().ends_with(": 210987654321"), "{err}");
    assert!(!err.to_string().contains(&o.dev_account), "{err}");
}
