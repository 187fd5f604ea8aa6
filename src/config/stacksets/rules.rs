//! The offline rules of the `stacksets:` section, each error at its field (`validate`).

use super::*;
use crate::config::rules;

/// An organisational unit ID (`ou-` root part `-` OU part), as Organizations issues them.
pub fn ou_id(id: &str) -> Result<(), String> {
    let lower_alnum = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if let Some(root) = id.strip_prefix("r-") {
        return if (4..=32).contains(&root.len()) && lower_alnum(root) {
            Ok(())
        } else {
            Err("is not a root ID (`r-` and 4 to 32 lowercase letters or digits)".into())
        };
    }
    let ok = id
        .strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(root, unit)| {
            (4..=32).contains(&root.len())
                && (8..=32).contains(&unit.len())
                && lower_alnum(root)
                && lower_alnum(unit)
        });
    if ok {
        Ok(())
    } else {
        Err("is not an organisational unit ID: `ou-` + 4 to 32 and `-` + 8 to 32 lowercase letters or digits, e.g. `ou-ab12-cd34ef56` (or a root, `r-ab12`)".into())
    }
}

/// A 12-digit AWS account ID.
pub fn account_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err("is not an AWS account ID: 12 digits, quoted so that YAML keeps leading zeros (`\"012345678901\"`)".into())
    }
}

/// An IAM role name (no path): 1 to 64 of letters, digits and `+=,.@_-`.
pub fn role_name(name: &str) -> Result<(), String> {
    rules::iam_name(name, 64)
}

/// An IAM role ARN in `partition`: `arn:<partition>:iam::<account>:role/<path/>name`.
pub fn role_arn(arn: &str, partition: &str) -> Result<(), String> {
    let expected = format!("arn:{partition}:iam::");
    let Some(rest) = arn.strip_prefix(&expected) else {
        return Err(format!(
            "is not an IAM role ARN of partition `{partition}` (`{expected}<account>:role/<name>`)"
        ));
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return Err("lacks the account ID (`arn:…:iam::<12 digits>:role/<name>`)".into());
    };
    account_id(account).map_err(|e| format!("account `{account}` {e}"))?;
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err("is not a role ARN (`…:role/<name>`)".into());
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let path = &path_and_name[..path_and_name.len() - name.len()];
    if path.len() > 511 || path.contains("//") {
        return Err(format!("has an invalid role path `/{path}`"));
    }
    role_name(name).map_err(|e| format!("role name `{name}` {e}"))
}

/// Every rule of the `stacksets:` section and of its interplay with the rest of the file.
pub fn check(c: &crate::config::Config, push: &mut impl FnMut(String, String)) {
    let is_stacksets = c.engine == crate::config::Engine::Stacksets;
    let Some(s) = &c.stacksets else {
        if is_stacksets {
            push(
                "engine".into(),
                "`stacksets` needs a `stacksets:` section with `targets` (organizational_units or accounts)".into(),
            );
        }
        return;
    };
    if !is_stacksets {
        push(
            "stacksets".into(),
            format!(
                "is used only with `engine: stacksets` (the engine is `{}`); set the engine or remove the section",
                serde_json::to_value(c.engine)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            ),
        );
    }
    let partition = crate::region::partition_of(c.home_region()).id;
    check_targets(&s.targets, partition, push);
    check_preferences(&s.preferences, &c.regions, push);
    if let Err(e) = role_name(&s.setup_role_name) {
        push(
            "stacksets.setup_role_name".into(),
            format!("`{}` {e}", s.setup_role_name),
        );
    }
    if !c.access.is_empty() {
        push(
            "access".into(),
            "access lists are resolved to IAM unique IDs of one account, but a stack set spans several: not supported with `engine: stacksets`".into(),
        );
    }
    if let Some(name) = &c.bucket.name
        && !name.contains("{account_id}")
    {
        push(
            "bucket.name".into(),
            format!(
                "`{name}` would be the same in every target account, but bucket names are global: add `{{account_id}}`, e.g. `{name}-{{account_id}}`"
            ),
        );
    }
}

fn check_targets(t: &Targets, partition: &str, push: &mut impl FnMut(String, String)) {
    let f = "stacksets.targets";
    match (t.organizational_units.is_empty(), t.accounts.is_empty()) {
        (true, true) => push(
            f.into(),
            "name `organizational_units` (service-managed) or `accounts` (self-managed)".into(),
        ),
        (false, false) => push(
            format!("{f}.accounts"),
            "a stack set targets organizational units (service-managed) or accounts (self-managed), not both".into(),
        ),
        _ => {}
    }
    let mut seen = BTreeSet::new();
    for (i, ou) in t.organizational_units.iter().enumerate() {
        let field = format!("{f}.organizational_units[{i}]");
        if let Err(e) = ou_id(ou) {
            push(field, format!("`{ou}` {e}"));
        } else if !seen.insert(ou) {
            push(field, format!("`{ou}` is listed twice; each OU once"));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, account) in t.accounts.iter().enumerate() {
        let field = format!("{f}.accounts[{i}]");
        if let Err(e) = account_id(account) {
            push(field, format!("`{account}` {e}"));
        } else if !seen.insert(account) {
            push(
                field,
                format!("`{account}` is listed twice; each account once"),
            );
        }
    }
    if t.auto_deployment.is_some() && t.organizational_units.is_empty() {
        push(
            format!("{f}.auto_deployment"),
            "applies to organizational units only (accounts that join or leave them); remove it or target `organizational_units`".into(),
        );
    }
    if !t.organizational_units.is_empty() {
        for (key, given) in [
            (
                "administration_role_arn",
                t.administration_role_arn.is_some(),
            ),
            ("execution_role_name", t.execution_role_name.is_some()),
        ] {
            if given {
                push(
                    format!("{f}.{key}"),
                    "applies to self-managed `accounts` only; with organizational units, StackSets uses the roles of AWS Organizations".into(),
                );
            }
        }
    }
    if let Some(arn) = &t.administration_role_arn
        && let Err(e) = role_arn(arn, partition)
    {
        push(
            format!("{f}.administration_role_arn"),
            format!("`{arn}` {e}"),
        );
    }
    if let Some(name) = &t.execution_role_name
        && let Err(e) = role_name(name)
    {
        push(format!("{f}.execution_role_name"), format!("`{name}` {e}"));
    }
}

fn check_preferences(p: &Preferences, regions: &[String], push: &mut impl FnMut(String, String)) {
    let f = "stacksets.preferences";
    let mut seen = BTreeSet::new();
    for (i, r) in p.region_order.iter().enumerate() {
        let field = format!("{f}.region_order[{i}]");
        if !regions.contains(r) {
            push(
                field,
                format!("`{r}` is not one of `regions` ({})", regions.join(", ")),
            );
        } else if !seen.insert(r) {
            push(field, format!("`{r}` is listed twice; each region once"));
        }
    }
    match p.max_concurrent {
        Amount::Count(0) => push(
            format!("{f}.max_concurrent"),
            "0 accounts at a time would never deploy; at least 1 (or a percentage such as \"25%\")"
                .into(),
        ),
        Amount::Percent(n) if !(1..=100).contains(&n) => push(
            format!("{f}.max_concurrent"),
            format!("{n}% is out of range; 1% to 100%"),
        ),
        _ => {}
    }
    if let Amount::Percent(n) = p.failure_tolerance
        && n > 100
    {
        push(
            format!("{f}.failure_tolerance"),
            format!("{n}% is out of range; 0% to 100%"),
        );
    }
    // StackSetOperationPreferences: with the default (strict) failure tolerance,
    // MaxConcurrentCount is at most one more than FailureToleranceCount.
    if let (Amount::Count(max), Amount::Count(tolerance)) = (p.max_concurrent, p.failure_tolerance)
        && max > tolerance.saturating_add(1)
    {
        push(
            format!("{f}.max_concurrent"),
            format!(
                "{max} accounts at a time needs `failure_tolerance` of at least {} (CloudFormation runs at most failure_tolerance + 1 = {} account{} at once); lower max_concurrent or raise failure_tolerance",
                max - 1,
                tolerance.saturating_add(1),
                if tolerance == 0 { "" } else { "s" }
            ),
        );
    }
}
