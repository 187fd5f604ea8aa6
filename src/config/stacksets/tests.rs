use super::*;

#[test]
fn ou_ids_and_roots() {
    for ok in ["ou-ab12-cd34ef56", "ou-c217-542xhatq", "r-ab12", "r-c217"] {
        assert_eq!(ou_id(ok), Ok(()), "{ok}");
    }
    for bad in [
        "ou-ab1-cd34ef56",
        "ou-ab12-cd34ef5",
        "ou-AB12-cd34ef56",
        "ou-ab12cd34ef56",
        "r-ab1",
        "o-ab12cd34",
        "ab12-cd34ef56",
        "",
    ] {
        assert!(ou_id(bad).is_err(), "{bad}");
    }
}

#[test]
fn account_ids_and_roles() {
    assert_eq!(account_id("012345678901"), Ok(()));
    for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
        assert!(account_id(bad).is_err(), "{bad}");
    }
    assert_eq!(
        role_arn(
            "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetAdministrationRole",
            "aws"
        ),
        Ok(())
    );
    assert_eq!(
        role_arn("arn:aws:iam::111122223333:role/ops/stacksets/Admin", "aws"),
        Ok(())
    );
    for bad in [
        "arn:aws-cn:iam::111122223333:role/Admin",
        "arn:aws:iam::1111:role/Admin",
        "arn:aws:iam::111122223333:user/Admin",
        "arn:aws:iam::111122223333:role/",
        "arn:aws:iam::111122223333:role/a b",
        "AWSCloudFormationStackSetAdministrationRole",
    ] {
        assert!(role_arn(bad, "aws").is_err(), "{bad}");
    }
}

#[test]
fn amounts_read_counts_and_percentages() {
    let read = |s: &str| serde_saphyr::from_str::<Amount>(s);
    assert_eq!(read("3").unwrap(), Amount::Count(3));
    assert_eq!(read("\"25%\"").unwrap(), Amount::Percent(25));
    assert_eq!(read("25%").unwrap(), Amount::Percent(25));
    assert!(read("-1").is_err());
    assert!(read("many").is_err());
    assert_eq!(
        serde_json::to_string(&Amount::Percent(10)).unwrap(),
        "\"10%\""
    );
    assert_eq!(serde_json::to_string(&Amount::Count(2)).unwrap(), "2");
}

#[test]
fn region_order_completes_with_the_configured_regions() {
    let s = StackSets {
        targets: Targets::default(),
        preferences: Preferences {
            region_order: vec!["us-east-1".into()],
            ..Preferences::default()
        },
        retain_stacks_on_delete: false,
        setup_role_name: DEFAULT_SETUP_ROLE.into(),
    };
    let regions = ["eu-west-1", "us-east-1", "eu-north-1"].map(String::from);
    assert_eq!(
        s.region_order(&regions),
        ["us-east-1", "eu-west-1", "eu-north-1"]
    );
    assert_eq!(
        s.administration_role_arn("aws", "111122223333"),
        "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetAdministrationRole"
    );
    assert_eq!(s.execution_role_name(), DEFAULT_EXECUTION_ROLE);
    assert_eq!(
        s.setup_role_arn("aws", "444455556666"),
        "arn:aws:iam::444455556666:role/OrganizationAccountAccessRole"
    );
}
