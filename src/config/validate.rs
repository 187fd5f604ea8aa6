//! Semantic validation: every rule a well-formed YAML file can still break.
//! Returns `(field path, message)` pairs; `load` attaches positions.

use super::{Config, Encryption, rules};
use std::collections::BTreeSet;

type Problems = Vec<(String, String)>;

/// What is accepted but worth a warning: a region this build does not know (a typo, or a
/// region launched since).
pub fn notes(c: &Config) -> Problems {
    let mut notes: Problems = c
        .regions
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let warning = crate::region::check(r).ok()?.warning(r)?;
            Some((format!("regions[{i}]"), warning))
        })
        .collect();
    if c.parameters.artifact_prefix.is_empty() {
        notes.push((
            "parameters.artifact_prefix".into(),
            NO_PREFIX_WARNING.into(),
        ));
    }
    notes
}

/// What an empty artifact prefix implies (docs/security.md, "No parameter name prefix").
pub const NO_PREFIX_WARNING: &str = "empty: the latest-version parameters are `/<project>/latest`, and, as in Startifact's guide, the read policy may read and the write policy may write every parameter of the account in each region (`parameter*`), the configuration and bucket-name parameters included: a writer can point clients at another bucket. Keep other parameters out of these accounts, or set a prefix such as `/artifacts`";

pub fn check(c: &Config) -> Problems {
    let mut p = Problems::new();
    let mut push = |field: String, msg: String| p.push((field, msg));

    if c.version != 1 {
        push(
            "version".into(),
            format!(
                "version {} is not supported; the only version is 1",
                c.version
            ),
        );
    }
    if let Err(e) = rules::organisation(&c.organisation) {
        push("organisation".into(), format!("`{}` {e}", c.organisation));
    }
    check_regions(c, &mut push);
    check_stack(c, &mut push);
    check_parameters(c, &mut push);
    check_bucket(c, &mut push);
    check_kms(c, &mut push);
    check_access(c, &mut push);
    check_identities(c, &mut push);
    super::stacksets::check(c, &mut push);
    if let Some(backend) = c.terraform_backend() {
        check_backend(c, backend, &mut push);
    }
    check_endpoints(c, &mut push);
    super::adopted::check(c, &mut p);
    p
}

/// Checks regions: present, well-formed, each once, one partition, the home region among them.
fn check_regions(c: &Config, push: &mut impl FnMut(String, String)) {
    if c.regions.is_empty() {
        push(
            "regions".into(),
            "at least one region is required, e.g. `[eu-west-1]`".into(),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, r) in c.regions.iter().enumerate() {
        if let Err(e) = crate::region::check(r) {
            push(format!("regions[{i}]"), e);
        } else if !seen.insert(r.as_str()) {
            push(
                format!("regions[{i}]"),
                format!("`{r}` is listed twice; each region once"),
            );
        }
    }
    let partitions: BTreeSet<_> = c
        .regions
        .iter()
        .map(|r| crate::region::partition_of(r).id)
        .collect();
    if partitions.len() > 1 {
        push(
            "regions".into(),
            format!(
                "regions span several AWS partitions ({}); one configuration covers one partition",
                partitions.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    if let Some(home) = &c.home_region
        && !c.regions.iter().any(|r| r == home)
    {
        push(
            "home_region".into(),
            format!(
                "`{home}` is not one of `regions` ({}); the home region must be provisioned too",
                c.regions.join(", ")
            ),
        );
    }
}

/// Checks the stack name and its tags.
fn check_stack(c: &Config, push: &mut impl FnMut(String, String)) {
    if let Err(e) = rules::stack_name(&c.stack_name) {
        push("stack_name".into(), format!("`{}` {e}", c.stack_name));
    }
    for (k, v) in &c.tags {
        if let Err(e) = rules::tag(k, v) {
            push(format!("tags.{k}"), e);
        }
    }
    if c.tags.len() > 40 {
        push(
            "tags".into(),
            format!(
                "{} tags; at most 40 (CloudFormation adds its own to the 50 allowed)",
                c.tags.len()
            ),
        );
    }
}

/// Checks the parameter names, and that none falls under the artifact prefix.
fn check_parameters(c: &Config, push: &mut impl FnMut(String, String)) {
    let params = [
        ("parameters.configuration", &c.parameters.configuration),
        ("parameters.bucket_name", &c.parameters.bucket_name),
        ("parameters.artifact_prefix", &c.parameters.artifact_prefix),
    ];
    for (field, value) in params {
        // An empty artifact prefix is Startifact's "no name prefix": `/<project>/latest`.
        if field == "parameters.artifact_prefix" && value.is_empty() {
            continue;
        }
        if let Err(e) = rules::parameter_name(value) {
            push(
                field.into(),
                format!("`{value}` is not a valid parameter name: {e}"),
            );
        }
    }
    if c.parameters.configuration == c.parameters.bucket_name {
        push(
            "parameters.bucket_name".into(),
            "must differ from `parameters.configuration`".into(),
        );
    }
    // The policies grant writers `ssm:PutParameter` on `<artifact_prefix>*`: every name that
    // starts with the prefix (`/artifactsX` too, not only `/artifacts/...`) is theirs.
    // With no prefix every name matches: that is the guide's "all parameters", a warning
    // (`notes`), not an error.
    let prefix = &c.parameters.artifact_prefix;
    for (field, value) in &params[..2] {
        if !prefix.is_empty() && value.starts_with(prefix.as_str()) {
            push(
                (*field).into(),
                format!(
                    "`{value}` starts with the artifact prefix `{prefix}`, and the write policy lets writers put every parameter matching `{prefix}*`; choose a name that does not start with it"
                ),
            );
        }
    }
}

/// Checks the key: alias, deletion window, and an encryption that uses it.
fn check_kms(c: &Config, push: &mut impl FnMut(String, String)) {
    if let Some(kms) = &c.kms {
        if let Err(e) = rules::kms_alias(&kms.alias) {
            push("kms.alias".into(), format!("`{}` {e}", kms.alias));
        }
        if !(7..=30).contains(&kms.deletion_window_days) {
            push(
                "kms.deletion_window_days".into(),
                format!(
                    "{} is out of range; KMS allows 7 to 30 days",
                    kms.deletion_window_days
                ),
            );
        }
        if c.bucket.encryption == Encryption::S3 {
            push("bucket.encryption".into(),
                "`s3` (AES-256) does not use the configured KMS key; use `kms` or remove the `kms` section".into());
        }
    }
}

/// Checks the access lists' names.
fn check_access(c: &Config, push: &mut impl FnMut(String, String)) {
    for (i, v) in c.access.role_users.iter().enumerate() {
        if let Err(e) = rules::role_session(v) {
            push(format!("access.role_users[{i}]"), format!("`{v}`: {e}"));
        }
    }
    for (list, names) in [("roles", &c.access.roles), ("users", &c.access.users)] {
        for (i, v) in names.iter().enumerate() {
            if let Err(e) = rules::iam_name(v, 64) {
                push(format!("access.{list}[{i}]"), format!("`{v}` {e}"));
            }
        }
    }
}

/// Checks the IAM group and users, and the policy they get.
fn check_identities(c: &Config, push: &mut impl FnMut(String, String)) {
    if let Some(ids) = &c.identities {
        if let Err(e) = rules::iam_name(&ids.group, 128) {
            push("identities.group".into(), format!("`{}` {e}", ids.group));
        }
        for (i, u) in ids.users.iter().enumerate() {
            if let Err(e) = rules::iam_name(u, 64) {
                push(format!("identities.users[{i}]"), format!("`{u}` {e}"));
            }
        }
        if ids.policy == super::IdentityPolicy::Manage && !c.policies.manage.enabled {
            push(
                "identities.policy".into(),
                "`manage` needs the manage policy: set `policies.manage.enabled: true`".into(),
            );
        }
    }
}

/// Checks the endpoint overrides: configured regions, http(s) URLs.
fn check_endpoints(c: &Config, push: &mut impl FnMut(String, String)) {
    for (region, url) in &c.endpoints {
        if !c.regions.contains(region) {
            push(
                format!("endpoints.{region}"),
                format!("`{region}` is not one of `regions`"),
            );
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            push(
                format!("endpoints.{region}"),
                format!("`{url}` is not an http:// or https:// URL"),
            );
        }
    }
}

fn check_bucket(c: &Config, push: &mut impl FnMut(String, String)) {
    check_bucket_name(c, push);
    check_key_prefix(&c.bucket.key_prefix, push);
    let b = &c.bucket;
    if !(1..=365).contains(&b.abort_incomplete_multipart_days) {
        push(
            "bucket.abort_incomplete_multipart_days".into(),
            format!(
                "{} is out of range; 1 to 365 days",
                b.abort_incomplete_multipart_days
            ),
        );
    }
    if let Some(d) = b.noncurrent_version_expiration_days
        && (d == 0 || !b.versioning)
    {
        push(
            "bucket.noncurrent_version_expiration_days".into(),
            "needs `versioning: true` and at least 1 day".into(),
        );
    }
    check_cors(&b.cors, push);
}

/// Checks the bucket name: global across regions, known placeholders, valid in every region.
fn check_bucket_name(c: &Config, push: &mut impl FnMut(String, String)) {
    let Some(name) = &c.bucket.name else {
        return;
    };
    if c.regions.len() > 1 && !name.contains("{region}") {
        push(
            "bucket.name".into(),
            format!(
                "`{name}` would be the same in every region, but bucket names are global: add `{{region}}`, e.g. `{name}-{{region}}`"
            ),
        );
    }
    let unknown = name.replace("{region}", "").replace("{account_id}", "");
    if unknown.contains(['{', '}']) {
        push(
            "bucket.name".into(),
            format!("`{name}`: the only placeholders are `{{region}}` and `{{account_id}}`"),
        );
    } else {
        for r in &c.regions {
            let concrete = name
                .replace("{region}", r)
                .replace("{account_id}", "123456789012");
            if let Err(e) = rules::bucket_name(&concrete) {
                push(
                    "bucket.name".into(),
                    format!("`{concrete}` (in {r}) is not a valid S3 bucket name: {e}"),
                );
                break;
            }
        }
    }
}

/// Checks the key prefix: empty, or a relative path ending in `/` with safe characters.
fn check_key_prefix(kp: &str, push: &mut impl FnMut(String, String)) {
    if kp.is_empty() {
        return;
    }
    if !kp.ends_with('/') {
        push(
            "bucket.key_prefix".into(),
            format!("`{}` must be empty or end in `/`, e.g. `{}/`", kp, kp),
        );
    } else if kp.starts_with('/') || kp.contains("//") || kp.len() > 512 {
        push(
            "bucket.key_prefix".into(),
            format!(
                "`{}` must not start with `/` or contain `//` (at most 512 characters)",
                kp
            ),
        );
    } else if let Some(ch) = kp.chars().find(|ch| {
        ch.is_control()
            || matches!(
                ch,
                '\\' | '{'
                    | '}'
                    | '^'
                    | '%'
                    | '`'
                    | '"'
                    | '<'
                    | '>'
                    | '#'
                    | '|'
                    | '~'
                    | '['
                    | ']'
                    | '*'
                    | '$'
            )
    }) {
        push(
            "bucket.key_prefix".into(),
            format!(
                "`{}` contains `{ch}`; use letters, digits and `! - _ . ' ( ) /`",
                kp
            ),
        );
    }
}

/// Checks the CORS rules: origins and methods S3 accepts.
fn check_cors(cors: &[super::CorsRule], push: &mut impl FnMut(String, String)) {
    if cors.len() > 100 {
        push("bucket.cors".into(), "at most 100 CORS rules".into());
    }
    for (i, rule) in cors.iter().enumerate() {
        let f = format!("bucket.cors[{i}]");
        if rule.allowed_origins.is_empty() {
            push(
                format!("{f}.allowed_origins"),
                "at least one origin, e.g. `https://app.example.com`".into(),
            );
        }
        for (j, o) in rule.allowed_origins.iter().enumerate() {
            let ok = o == "*"
                || ((o.starts_with("https://") || o.starts_with("http://"))
                    && o.matches('*').count() <= 1);
            if !ok {
                push(
                    format!("{f}.allowed_origins[{j}]"),
                    format!(
                        "`{o}` is not an origin; use `*` or `https://host` (one `*` wildcard at most)"
                    ),
                );
            }
        }
        if rule.allowed_methods.is_empty() {
            push(
                format!("{f}.allowed_methods"),
                "at least one of GET, PUT, POST, DELETE, HEAD".into(),
            );
        }
        for (j, m) in rule.allowed_methods.iter().enumerate() {
            if !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&m.as_str()) {
                push(
                    format!("{f}.allowed_methods[{j}]"),
                    format!(
                        "`{m}` is not allowed; one of GET, PUT, POST, DELETE, HEAD (uppercase)"
                    ),
                );
            }
        }
    }
}

fn check_backend(c: &Config, b: &super::Backend, push: &mut impl FnMut(String, String)) {
    if let Err(e) = rules::bucket_name(&b.bucket) {
        push(
            "terraform.backend.bucket".into(),
            format!("`{}` is not a valid S3 bucket name: {e}", b.bucket),
        );
    }
    if let Some(key) = &b.key
        && (key.is_empty()
            || key.starts_with('/')
            || key.ends_with('/')
            || key.contains("//")
            || key.len() > 1024)
    {
        push(
            "terraform.backend.key".into(),
            format!(
                "`{key}` is not a state object key: it must not be empty, start or end with `/` or contain `//` (e.g. `{}/terraform.tfstate`)",
                c.stack_name
            ),
        );
    }
    if let Some(region) = &b.region
        && let Err(e) = crate::region::check(region)
    {
        push("terraform.backend.region".into(), e);
    }
    if let Some(key) = &b.kms_key_id
        && key.trim().is_empty()
    {
        push(
            "terraform.backend.kms_key_id".into(),
            "is empty; give a key ARN, ID or alias, or leave the field out".into(),
        );
    }
}
