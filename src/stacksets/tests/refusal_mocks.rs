//! Refusals before any change: a set with the other permission model, a self-managed set
//! without its administration role (checked through IAM, or named by CloudFormation).

use super::*;
use crate::stacksets::operation::Polling;

#[tokio::test]
async fn a_set_with_the_other_permission_model_is_refused_before_any_change() {
    let spec = service_managed();
    let other = self_managed();
    let described = described(&other, &other.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let listed = instances(vec![]);
    let cf = cloudformation(&[&set, &listed]);
    let p = preview(&cf, &spec, &[DEV.to_string()]).await.unwrap();
    assert_eq!(p.existing_permission_model.as_deref(), Some("SELF_MANAGED"));
    let err = apply(
        &cf,
        &spec,
        &p,
        ApplyOptions::default(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .expect_err("refused");
    assert!(
        err.to_string()
            .contains("exists with SELF_MANAGED permissions"),
        "{err}"
    );
    assert!(err.hint().unwrap_or_default().contains("provision destroy"));
}

#[tokio::test]
async fn a_self_managed_set_without_its_administration_role_is_refused_by_name() {
    let missing = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|r| r.role_name() == Some("AWSCloudFormationStackSetAdministrationRole"))
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                404.try_into().unwrap(),
                r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name AWSCloudFormationStackSetAdministrationRole cannot be found.</Message></Error><RequestId>1</RequestId></ErrorResponse>"#.into(),
            )
        });
    let iam = crate::testing::clients(&[&missing]).iam(crate::testing::REGION);
    let spec = self_managed();
    let Targets::Accounts {
        administration_role_arn,
        ..
    } = &spec.targets
    else {
        panic!("self-managed");
    };
    let err = check_administration_role(&iam, SET, administration_role_arn)
        .await
        .expect_err("missing");
    let msg = err.to_string();
    assert!(
        msg.contains("arn:aws:iam::999988887777:role/AWSCloudFormationStackSetAdministrationRole")
            && msg.contains("account 999988887777"),
        "{msg}"
    );
    assert!(
        err.hint()
            .unwrap_or_default()
            .contains("cloudformation.amazonaws.com")
    );
}

#[tokio::test]
async fn create_stack_set_refusing_the_administration_role_names_it() {
    let spec = self_managed();
    let refused = mock!(Client::create_stack_set).then_http_response(|| {
        error(400, "ValidationError", "Role arn:aws:iam::999988887777:role/AWSCloudFormationStackSetAdministrationRole is invalid or cannot be assumed")
    });
    let cf = cloudformation(&[&not_found(), &refused]);
    let p = preview(&cf, &spec, spec.accounts()).await.unwrap();
    let err = apply(
        &cf,
        &spec,
        &p,
        ApplyOptions::default(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(err, StackSetError::AdministrationRoleUnusable { .. }),
        "{err}"
    );
}
