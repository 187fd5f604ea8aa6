//! cStore-style access lists: principals resolved through IAM, and missing ones refused.

use super::*;

#[tokio::test]
async fn principals_are_resolved_through_iam_and_passed_to_the_stack() {
    let url = shared_url();
    let s = Setup::new();
    let iam = aws_sdk_iam::Client::new(&sdk_config(&url, "us-east-1"));
    let role = format!("{}-reader", s.name);
    let user = format!("{}-bot", s.name);
    let role_id = iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(ECS_TASKS_TRUST)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .role_id()
        .to_string();
    let user_id = iam
        .create_user()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .user()
        .unwrap()
        .user_id()
        .to_string();
    let caller = aws_sdk_sts::Client::new(&sdk_config(&url, "eu-west-1"))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let deployer = caller.user_id().unwrap().to_string();
    s.write(
        &[("eu-west-1", &url)],
        &format!("access:\n  roles: [{role}]\n  users: [{user}]\n  role_users: [\"{role}/me@example.com\"]\n"),
    );

    let (code, out, _) = s.run(&["plan"]);
    assert_eq!(code, 0);
    for (id, what) in [
        (ACCOUNT_ID.to_string(), "account root".to_string()),
        (deployer.clone(), "deploying identity".to_string()),
        (
            format!("{role_id}:*"),
            format!("role {role} (access.roles)"),
        ),
        (user_id.clone(), format!("user {user} (access.users)")),
        (
            format!("{role_id}:me@example.com"),
            format!("of role {role} (access.role_users)"),
        ),
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&id))
            .unwrap_or_else(|| panic!("{id} not shown: {out}"));
        assert!(line.contains(&what), "{line}");
    }

    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    let value = describe_stack(&url, "eu-west-1", &s.name)
        .await
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("AllowedUserIds"))
        .and_then(|p| p.parameter_value())
        .expect("the AllowedUserIds parameter")
        .to_string();
    for id in [
        ACCOUNT_ID,
        &deployer,
        &format!("{role_id}:*"),
        &user_id,
        &format!("{role_id}:me@example.com"),
    ] {
        assert!(value.contains(id), "{id} in {value}");
    }
}

#[tokio::test]
async fn a_missing_principal_fails_before_any_change() {
    let url = shared_url();
    let s = Setup::new();
    s.write(
        &[("eu-west-1", &url)],
        "access:\n  roles: [no-such-role-anywhere]\n",
    );
    for args in [&["plan"][..], &["apply", "--yes"][..]] {
        let (code, _, err) = s.run(args);
        assert_eq!(code, 1);
        assert!(
            err.contains(
                "access.roles: role `no-such-role-anywhere` does not exist in account 123456789012"
            ),
            "{err}"
        );
    }
    assert_eq!(stack_status(&url, "eu-west-1", &s.name).await, None);
}
