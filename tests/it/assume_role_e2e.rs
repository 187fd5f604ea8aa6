//! The client source's account dimension against moto: a client for another account assumes
//! a role there through STS, and what it writes lands in that account. moto maps the access
//! key STS hands out to the account of the role's ARN; the check reads through a client that
//! moto routes to the member account by its `x-moto-account-id` header.

use crate::support;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use provision::aws::ssm::{get_parameter, put_parameter};
use provision::aws::{AwsSettings, Clients, Target};
use std::collections::BTreeMap;

const REGION: &str = "eu-west-1";
const MEMBER: &str = "210987654321";

/// Sends every request to the member account, as moto understands it.
#[derive(Debug)]
struct InAccount(&'static str);

impl Intercept for InAccount {
    fn name(&self) -> &'static str {
        "InAccount"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0);
        Ok(())
    }
}

#[tokio::test]
async fn a_client_for_another_account_writes_there_through_an_assumed_role() {
    let moto = support::shared();
    let base = support::sdk_config(&moto.url(), REGION);
    let settings = AwsSettings::new(None, Some(moto.url()), BTreeMap::new());
    let clients = Clients::fixed(base.clone(), settings, REGION, None);
    let name = format!("/{}", support::unique("assumed"));

    let member = clients.ssm(Target::in_account(MEMBER, REGION));
    put_parameter(&member, &name, "written in the member account")
        .await
        .expect("PutParameter with the assumed role's credentials");

    let checker = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&base)
            .interceptor(InAccount(MEMBER))
            .build(),
    );
    assert_eq!(
        get_parameter(&checker, &name)
            .await
            .expect("read in the member account"),
        Some("written in the member account".to_string())
    );
    assert_eq!(
        get_parameter(&clients.ssm(REGION), &name)
            .await
            .expect("read in the caller's account"),
        None,
        "nothing in the caller's own account"
    );

    let who = clients
        .sts(Target::in_account(MEMBER, REGION))
        .get_caller_identity()
        .send()
        .await
        .expect("the member account's identity");
    assert_eq!(who.account(), Some(MEMBER));
    assert!(
        who.arn()
            .is_some_and(|a| a.ends_with(":assumed-role/OrganizationAccountAccessRole/provision")),
        "{who:?}"
    );

    let other_role = clients.with_member_role("DeployRole");
    let who = other_role
        .sts(Target::in_account(MEMBER, REGION))
        .get_caller_identity()
        .send()
        .await
        .expect("the member account's identity through another role");
    assert!(
        who.arn()
            .is_some_and(|a| a.contains(":assumed-role/DeployRole/")),
        "{who:?}"
    );
}
