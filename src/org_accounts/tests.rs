//! Organizations answers shaped like AWS's (awsJson 1.1 bodies for errors), for what the
//! emulator does not show: several pages, the management account under a target, suspended
//! accounts, access denied, a token that repeats.

use super::*;
use aws_sdk_organizations::operation::describe_account::DescribeAccountOutput;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
use aws_sdk_organizations::operation::list_aws_service_access_for_organization::ListAwsServiceAccessForOrganizationOutput;
use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput;
use aws_sdk_organizations::types::{
    Account, AccountState, EnabledServicePrincipal, OrganizationalUnit,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_runtime_api::http::Response;

const MANAGEMENT: &str = "111111111111";
const PROD: &str = "ou-ab12-prod0001";
const PROD_EU: &str = "ou-ab12-prodeu01";

fn client(rules: &[&Rule]) -> Client {
    crate::testing::clients(rules).organizations(crate::testing::REGION)
}

/// The body Organizations sends with an error (awsJson 1.1).
fn json_error(status: u16, code: &str, message: &str) -> Response {
    Response::new(
        status.try_into().expect("status"),
        format!(r#"{{"__type":"{code}","Message":"{message}"}}"#).into(),
    )
}

fn organization() -> Organization {
    Organization {
        id: "o-exampleorg1".into(),
        management_account: MANAGEMENT.into(),
    }
}

fn account(id: &str, name: &str, state: AccountState) -> Account {
    Account::builder().id(id).name(name).state(state).build()
}

fn accounts_page(
    parent: &'static str,
    token: Option<&'static str>,
    accounts: Vec<Account>,
    next: Option<&'static str>,
) -> Rule {
    mock!(Client::list_accounts_for_parent)
        .match_requests(move |r| r.parent_id() == Some(parent) && r.next_token() == token)
        .then_output(move || {
            ListAccountsForParentOutput::builder()
                .set_accounts(Some(accounts.clone()))
                .set_next_token(next.map(String::from))
                .build()
        })
}

fn ous_page(parent: &'static str, children: &'static [&'static str]) -> Rule {
    mock!(Client::list_organizational_units_for_parent)
        .match_requests(move |r| r.parent_id() == Some(parent))
        .then_output(move || {
            ListOrganizationalUnitsForParentOutput::builder()
                .set_organizational_units(Some(
                    children
                        .iter()
                        .map(|c| OrganizationalUnit::builder().id(*c).build())
                        .collect(),
                ))
                .build()
        })
}

#[tokio::test]
async fn nested_ous_every_page_and_never_the_management_account() {
    let rules = [
        accounts_page(
            PROD,
            None,
            vec![account("222222222222", "prod-a", AccountState::Active)],
            Some("page-2"),
        ),
        accounts_page(
            PROD,
            Some("page-2"),
            vec![account("333333333333", "prod-b", AccountState::Active)],
            None,
        ),
        ous_page(PROD, &[PROD_EU]),
        accounts_page(
            PROD_EU,
            None,
            vec![
                account("444444444444", "prod-eu", AccountState::Suspended),
                account(MANAGEMENT, "management", AccountState::Active),
            ],
            None,
        ),
        ous_page(PROD_EU, &[]),
    ];
    let org = client(&rules.iter().collect::<Vec<_>>());
    let r = resolve_organizational_units(&org, &organization(), &[PROD.to_string()])
        .await
        .expect("resolves");
    assert_eq!(
        r.account_ids(),
        ["222222222222", "333333333333", "444444444444"]
    );
    assert!(r.management_account_skipped);
    assert_eq!(r.by_target[PROD].len(), 3);
    let eu = r.accounts.iter().find(|a| a.id == "444444444444").unwrap();
    assert_eq!((eu.parent.as_str(), eu.target.as_str()), (PROD_EU, PROD));
    assert_eq!(eu.state, "SUSPENDED");
}

#[tokio::test]
async fn an_ou_that_does_not_exist_is_named() {
    let missing = mock!(Client::list_accounts_for_parent).then_http_response(|| {
        json_error(
            400,
            "ParentNotFoundException",
            "You specified parent that doesn't exist.",
        )
    });
    let org = client(&[&missing]);
    let err = resolve_organizational_units(&org, &organization(), &["ou-ab12-gone0000".into()])
        .await
        .expect_err("missing OU");
    let msg = err.to_string();
    assert!(matches!(err, OrgAccountsError::OuNotFound { .. }), "{msg}");
    assert!(
        msg.contains("ou-ab12-gone0000") && msg.contains("o-exampleorg1"),
        "{msg}"
    );
    assert!(msg.contains("ListAccountsForParent"), "{msg}");
    assert_eq!(err.exit(), Exit::Invalid);
}

#[tokio::test]
async fn a_repeated_page_token_stops_instead_of_looping() {
    let looping = mock!(Client::list_accounts_for_parent).then_output(|| {
        ListAccountsForParentOutput::builder()
            .next_token("same")
            .build()
    });
    let org = client(&[&looping]);
    let err = accounts_under(&org, &organization(), PROD)
        .await
        .expect_err("loop refused");
    assert!(err.to_string().contains("same pagination token"), "{err}");
}

fn services(
    principals: &'static [&'static str],
    token: Option<&'static str>,
    next: Option<&'static str>,
) -> Rule {
    mock!(Client::list_aws_service_access_for_organization)
        .match_requests(move |r| r.next_token() == token)
        .then_output(move || {
            ListAwsServiceAccessForOrganizationOutput::builder()
                .set_enabled_service_principals(Some(
                    principals
                        .iter()
                        .map(|p| {
                            EnabledServicePrincipal::builder()
                                .service_principal(*p)
                                .build()
                        })
                        .collect(),
                ))
                .set_next_token(next.map(String::from))
                .build()
        })
}

#[tokio::test]
async fn trusted_access_is_found_on_any_page_and_its_absence_says_how_to_enable_it() {
    let enabled = [
        services(&["config.amazonaws.com"], None, Some("p2")),
        services(&[STACKSETS_SERVICE_PRINCIPAL], Some("p2"), None),
    ];
    let org = client(&enabled.iter().collect::<Vec<_>>());
    require_stacksets_trusted_access(&org, &organization())
        .await
        .expect("enabled on page 2");

    let disabled = [
        services(&["config.amazonaws.com"], None, Some("p2")),
        services(
            &["stacksets.cloudformation.amazonaws.com"],
            Some("p2"),
            None,
        ),
    ];
    let org = client(&disabled.iter().collect::<Vec<_>>());
    let err = require_stacksets_trusted_access(&org, &organization())
        .await
        .expect_err("disabled");
    assert!(err.to_string().contains("o-exampleorg1"), "{err}");
    assert!(
        err.hint()
            .unwrap_or_default()
            .contains(ENABLE_TRUSTED_ACCESS),
        "{:?}",
        err.hint()
    );
}

fn described_org() -> Rule {
    mock!(Client::describe_organization).then_output(|| {
        DescribeOrganizationOutput::builder()
            .organization(
                aws_sdk_organizations::types::Organization::builder()
                    .id("o-exampleorg1")
                    .master_account_id(MANAGEMENT)
                    .build(),
            )
            .build()
    })
}

fn described(id: &'static str, state: AccountState) -> Rule {
    mock!(Client::describe_account)
        .match_requests(move |r| r.account_id() == Some(id))
        .then_output(move || {
            DescribeAccountOutput::builder()
                .account(account(id, "x", state.clone()))
                .build()
        })
}

#[tokio::test]
async fn accounts_outside_the_organisation_or_not_active_are_named() {
    let outsider = mock!(Client::describe_account)
        .match_requests(|r| r.account_id() == Some("999999999999"))
        .then_http_response(|| {
            json_error(
                400,
                "AccountNotFoundException",
                "You specified an account that doesn't exist.",
            )
        });
    let rules = [
        described_org(),
        described("222222222222", AccountState::Active),
        outsider,
        described("444444444444", AccountState::Suspended),
    ];
    let org = client(&rules.iter().collect::<Vec<_>>());
    let ok = check_accounts(&org, &["222222222222".into()])
        .await
        .expect("member");
    assert_eq!(
        ok,
        AccountsCheck::Members {
            organization: "o-exampleorg1".into()
        }
    );
    let err = check_accounts(&org, &["222222222222".into(), "999999999999".into()])
        .await
        .expect_err("outsider");
    assert_eq!(
        err.to_string(),
        "account is not in organization o-exampleorg1: 999999999999"
    );
    assert_eq!(err.exit(), Exit::Invalid);
    let err = check_accounts(&org, &["444444444444".into()])
        .await
        .expect_err("suspended");
    assert!(
        err.to_string().contains("444444444444 (SUSPENDED)"),
        "{err}"
    );
}

#[tokio::test]
async fn membership_is_not_checked_without_an_organisation_or_without_access() {
    let none = mock!(Client::describe_organization).then_http_response(|| {
        json_error(
            400,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    });
    let org = client(&[&none]);
    assert_eq!(
        check_accounts(&org, &["222222222222".into()])
            .await
            .unwrap(),
        AccountsCheck::NoOrganization
    );
    let denied = mock!(Client::describe_account).then_http_response(|| {
        json_error(
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        )
    });
    let org = client(&[&described_org(), &denied]);
    let check = check_accounts(&org, &["222222222222".into()])
        .await
        .unwrap();
    assert!(
        matches!(&check, AccountsCheck::NotChecked { reason } if reason.contains("AccessDeniedException")),
        "{check:?}"
    );
}

#[tokio::test]
async fn a_member_account_asking_for_the_tree_is_told_who_may() {
    let denied = mock!(Client::list_accounts_for_parent).then_http_response(|| {
        json_error(
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        )
    });
    let org = client(&[&denied]);
    let err = accounts_under(&org, &organization(), PROD)
        .await
        .expect_err("denied");
    assert!(
        matches!(err, OrgAccountsError::AccessDenied { .. }),
        "{err}"
    );
    assert!(
        err.hint()
            .unwrap_or_default()
            .contains("delegated administrator")
    );
}
