//! The client source's tests: assume-role per account, failures naming the role, targets.

use super::clients::*;
use crate::aws::ssm::put_parameter;
use crate::testing::{FakeAws, REGION, query_error, response};
use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_smithy_mocks::mock;
use std::time::{Duration, SystemTime};

const MEMBER: &str = "210987654321";

fn assumed() -> AssumeRoleOutput {
    let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
    AssumeRoleOutput::builder()
        .credentials(
            aws_sdk_sts::types::Credentials::builder()
                .access_key_id("ASIAMEMBER")
                .secret_access_key("secret")
                .session_token("token")
                .expiration(aws_smithy_types::DateTime::from(in_an_hour))
                .build()
                .expect("credentials"),
        )
        .build()
}

#[tokio::test]
async fn another_account_is_reached_through_one_assumed_role_per_account() {
    let assume = mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(|r| {
            r.role_arn() == Some("arn:aws:iam::210987654321:role/OrganizationAccountAccessRole")
                && r.role_session_name() == Some("provision")
        })
        .then_output(assumed);
    let put = mock!(aws_sdk_ssm::Client::put_parameter)
        .then_output(|| PutParameterOutput::builder().build());
    let member = Target::in_account(MEMBER, REGION);
    let clients = FakeAws::new()
        .answers(REGION, &[&assume])
        .answers(&member, &[&put])
        .clients(REGION);
    for _ in 0..2 {
        // A new client each time: the credentials are the account's, not the client's.
        put_parameter(&clients.ssm(&member), "/p", "v")
            .await
            .expect("written in the member account");
    }
    assert_eq!(put.num_calls(), 2);
    assert_eq!(assume.num_calls(), 1, "assumed once, then cached");
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_fails_the_request_naming_the_role() {
    let denied = mock!(aws_sdk_sts::Client::assume_role).then_http_response(|| {
        response(
            403,
            query_error("AccessDenied", "not authorized to perform sts:AssumeRole"),
        )
    });
    // An HTTP answer (a modeled output would stand in for any error, even a signing one).
    let put = mock!(aws_sdk_ssm::Client::put_parameter)
        .then_http_response(|| response(200, r#"{"Version": 1}"#));
    let member = Target::in_account(MEMBER, "us-east-1");
    let clients = FakeAws::new()
        .answers(REGION, &[&denied])
        .answers(&member, &[&put])
        .clients(REGION)
        .with_member_role("DeployRole");
    let err = put_parameter(&clients.ssm(&member), "/p", "v")
        .await
        .expect_err("no credentials for the member account");
    assert_eq!(err.kind, crate::aws::ErrorKind::AccessDenied);
    assert_eq!(err.operation, "ssm:PutParameter");
    assert_eq!(
        err.to_string(),
        "cannot assume arn:aws:iam::210987654321:role/DeployRole (sts:AssumeRole): AccessDenied: not authorized to perform sts:AssumeRole"
    );
}

#[test]
fn targets_name_their_account_when_not_the_callers() {
    assert_eq!(Target::region("eu-west-1").to_string(), "eu-west-1");
    assert_eq!(
        Target::in_account(MEMBER, "eu-west-1").to_string(),
        "210987654321/eu-west-1"
    );
}
