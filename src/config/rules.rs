//! Name rules of AWS, checked offline so that a bad name fails in `validate`, not half-way
//! through a deployment. Each check returns the reason a value is refused.

/// S3 general-purpose bucket naming rules.
pub fn bucket_name(name: &str) -> Result<(), String> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Err(format!(
            "is {len} characters long; a bucket name has 3 to 63"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(format!(
            "contains `{c}`; only lowercase letters, digits, hyphens and dots are allowed"
        ));
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[len - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("must begin and end with a letter or digit".into());
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err("must not contain `..`, `.-` or `-.`".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("must not be formatted as an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(format!(
                "must not start with the reserved prefix `{prefix}`"
            ));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Err(format!("must not end with the reserved suffix `{suffix}`"));
        }
    }
    Ok(())
}

/// Systems Manager parameter names used as hierarchies (`/a/b`).
pub fn parameter_name(name: &str) -> Result<(), String> {
    if !name.starts_with('/') {
        return Err(
            "must start with `/` (a fully qualified hierarchy such as `/buckets/staging`)".into(),
        );
    }
    if name.len() > 1011 {
        return Err(format!(
            "is {} characters long; at most 1011 are allowed",
            name.len()
        ));
    }
    if name.len() > 1 && name.ends_with('/') {
        return Err("must not end with `/`".into());
    }
    if name.contains("//") {
        return Err("must not contain an empty level (`//`)".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
    {
        return Err(format!(
            "contains `{c}`; only letters, digits and `_ . - /` are allowed"
        ));
    }
    let depth = name.matches('/').count();
    if depth > 15 {
        return Err(format!("has {depth} levels; at most 15 are allowed"));
    }
    let lower = name.trim_start_matches('/').to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("ssm") {
        return Err("must not begin with the reserved `aws` or `ssm`".into());
    }
    Ok(())
}

/// IAM role and user names (`[\w+=,.@-]`, 1 to 64 characters).
pub fn iam_name(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() || name.len() > max {
        return Err(format!("must have 1 to {max} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        return Err(format!(
            "contains `{c}`; only letters, digits and `+=,.@_-` are allowed (a name, not an ARN)"
        ));
    }
    Ok(())
}

/// A cStore role session: `ROLE/SESSION`, the session name 2 to 64 characters.
pub fn role_session(value: &str) -> Result<(), String> {
    let Some((role, session)) = value.split_once('/') else {
        return Err("must be `ROLE/SESSION`, e.g. `DevOps/me@example.com`".into());
    };
    iam_name(role, 64).map_err(|e| format!("role name {e}"))?;
    if session.len() < 2 || session.len() > 64 {
        return Err("session name must have 2 to 64 characters".into());
    }
    iam_name(session, 64).map_err(|e| format!("session name {e}"))
}

/// CloudFormation stack names.
pub fn stack_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(
            "must start with a letter and contain only letters, digits and hyphens (at most 128)"
                .into(),
        )
    }
}

/// The organisation's short name (used in tags, descriptions and default names).
pub fn organisation(name: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 32 lowercase letters, digits and hyphens, starting with a letter".into())
    }
}

/// KMS alias names.
pub fn kms_alias(alias: &str) -> Result<(), String> {
    let Some(rest) = alias.strip_prefix("alias/") else {
        return Err("must start with `alias/`".into());
    };
    if rest.is_empty() || alias.len() > 256 {
        return Err("must have a name after `alias/` (at most 256 characters in all)".into());
    }
    if rest.starts_with("aws/") {
        return Err("`alias/aws/` is reserved for AWS-managed keys".into());
    }
    if let Some(c) = rest
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-')))
    {
        return Err(format!(
            "contains `{c}`; only letters, digits and `/ _ -` are allowed"
        ));
    }
    Ok(())
}

/// Tag keys and values (CloudFormation stack tags).
pub fn tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 128 {
        return Err("tag keys have 1 to 128 characters".into());
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err("tag keys must not start with the reserved `aws:`".into());
    }
    if value.len() > 256 {
        return Err("tag values have at most 256 characters".into());
    }
    let allowed = |c: char| c.is_alphanumeric() || " _.:/=+-@".contains(c);
    if let Some(c) = key.chars().chain(value.chars()).find(|c| !allowed(*c)) {
        return Err(format!(
            "contains `{c}`; tags allow letters, digits, spaces and `_ . : / = + - @`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "acme-artifacts-eu-west-1", "a.b-c", &"a".repeat(63)] {
            assert_eq!(bucket_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ab",
            "Acme",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parameter_names() {
        for ok in ["/startifact", "/buckets/staging", "/a.b/c_d-e"] {
            assert_eq!(parameter_name(ok), Ok(()), "{ok}");
        }
        let deep = "/a".repeat(16);
        for bad in [
            "startifact",
            "/a/",
            "/a//b",
            "/a b",
            "/aws/x",
            "/SSM",
            deep.as_str(),
        ] {
            assert!(parameter_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn principals() {
        assert_eq!(role_session("DevOps/me@example.com"), Ok(()));
        assert!(role_session("DevOps").is_err());
        assert!(role_session("DevOps/x").is_err());
        assert!(role_session("arn:aws:iam::1:role/x/y").is_err());
        assert_eq!(iam_name("ci-runner", 64), Ok(()));
        assert!(iam_name("", 64).is_err());
        assert!(iam_name("a/b", 64).is_err());
    }
}
