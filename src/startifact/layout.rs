//! Startifact 1.0's storage layout: names, keys, versions and metadata, byte for byte.
//!
//! - artifact object: `<bucket_key_prefix><project>@<version>`
//! - metadata object: `<artifact key>/metadata`, JSON `{str: str}` as Python writes it
//! - latest version: SSM String `<parameter_name_prefix>/<project>/latest`
//!
//! `provision` adds, without disturbing Startifact: the artifact's SHA-256 in the metadata
//! (`provision:sha256`) and as S3 user metadata of the artifact object (`x-amz-meta-sha256`,
//! written atomically with the object, so a concurrent stager can compare before the
//! metadata object exists).

use super::document::OrgConfig;
use semver::Version;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Metadata key of the file name recorded with `--filename` (Startifact's).
pub const FILENAME_KEY: &str = "startifact:filename";
/// Metadata key of the artifact's SHA-256, lowercase hex (provision's; Startifact ignores it).
pub const SHA256_KEY: &str = "provision:sha256";
/// S3 user-metadata name of the artifact's SHA-256 on the artifact object itself.
pub const OBJECT_SHA256: &str = "sha256";
/// Metadata key namespaces users may not set: they carry meaning for the tools.
pub const RESERVED_PREFIXES: [&str; 2] = ["provision:", "startifact:"];

/// Startifact's project name rule.
pub const PROJECT_RULE: &str = r"^[a-zA-Z0-9_\-.]+$";

/// Checks a project name against Startifact's rule.
pub fn check_project(project: &str) -> Result<(), String> {
    if project.is_empty() {
        return Err(format!(
            "the project name is empty; it must match {PROJECT_RULE} (letters, digits, `_`, `-`, `.`)"
        ));
    }
    if let Some(c) = project
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "project `{project}` contains `{}`; a project name must match {PROJECT_RULE} (letters, digits, `_`, `-`, `.`)",
            c.escape_default()
        ));
    }
    Ok(())
}

/// Parses a version that must be in semantic-version 2.0 canonical form (what Startifact's
/// `VersionInfo.parse` accepts and prints back unchanged, so keys are identical).
pub fn parse_version(version: &str) -> Result<Version, String> {
    let rule = "a version must be a semantic version 2.0 in canonical form: MAJOR.MINOR.PATCH with optional -PRERELEASE and +BUILD, no leading zeros, no `v` (e.g. 1.2.3, 2.0.0-rc.1)";
    match Version::parse(version) {
        Ok(v) if v.to_string() == version => Ok(v),
        Ok(v) => Err(format!(
            "version `{version}` is not in canonical form (it would be `{v}`); {rule}"
        )),
        Err(e) => Err(format!("version `{version}` is invalid ({e}); {rule}")),
    }
}

/// Whether `candidate` may replace `current` as the latest version: strictly newer in
/// semantic-version precedence (build metadata does not count).
pub fn moves_forward(current: &Version, candidate: &Version) -> bool {
    candidate.cmp_precedence(current) == std::cmp::Ordering::Greater
}

/// Where a project's artifacts live, from the organisation configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub bucket_key_prefix: String,
    pub parameter_name_prefix: String,
}

impl From<&OrgConfig> for Layout {
    fn from(c: &OrgConfig) -> Self {
        Layout {
            bucket_key_prefix: c.bucket_key_prefix.clone(),
            parameter_name_prefix: c.parameter_name_prefix.clone(),
        }
    }
}

impl Layout {
    /// `<bucket_key_prefix><project>@<version>`.
    pub fn artifact_key(&self, project: &str, version: &Version) -> String {
        format!("{}{project}@{version}", self.bucket_key_prefix)
    }

    /// The prefix every version of a project shares.
    pub fn project_prefix(&self, project: &str) -> String {
        format!("{}{project}@", self.bucket_key_prefix)
    }

    /// `<parameter_name_prefix>/<project>/latest`.
    pub fn latest_parameter(&self, project: &str) -> String {
        format!("{}/{project}/latest", self.parameter_name_prefix)
    }
}

/// `<artifact key>/metadata`.
pub fn metadata_key(artifact_key: &str) -> String {
    format!("{artifact_key}/metadata")
}

/// A recorded file name must stay a single path component: it becomes `PATH/<name>` on
/// download, and a name from the bucket must never write outside PATH.
pub fn check_filename(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the file name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("`{name}` is not a file name"));
    }
    if name.contains('\0') {
        return Err("the file name contains a NUL character".into());
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!(
            "`{}` contains a path separator; only a plain file name is allowed",
            name.escape_default()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "`{}` contains control characters",
            name.escape_default()
        ));
    }
    if name.chars().any(crate::text::is_bidi_control) {
        return Err(format!(
            "`{}` contains bidirectional controls (U+202A–U+202E, U+2066–U+2069), which make the name shown differ from the name written",
            name.escape_default()
        ));
    }
    if name.chars().all(char::is_whitespace) {
        return Err(format!("`{}` is only whitespace", name.escape_default()));
    }
    Ok(())
}

/// Parses `KEY=VALUE` arguments (the value may contain `=`), refusing reserved keys.
pub fn parse_pairs(pairs: &[String], flag: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("{flag} `{pair}` is not KEY=VALUE"));
        };
        if key.is_empty() {
            return Err(format!("{flag} `{pair}` has an empty key"));
        }
        if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| key.starts_with(*p)) {
            let why = if key == FILENAME_KEY {
                "pass --filename when staging to record the file name".to_string()
            } else if key == SHA256_KEY {
                "provision computes it from the artifact".to_string()
            } else {
                format!("keys starting with `{prefix}` are reserved")
            };
            return Err(format!("{flag} `{key}` is reserved: {why}"));
        }
        if out.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("{flag} sets `{key}` more than once"));
        }
    }
    Ok(out)
}

/// An artifact's metadata document. Values written by the tools are strings; anything else
/// found in a bucket is kept as it is.
pub type Metadata = Map<String, Value>;

/// The metadata document staged with an artifact.
pub fn staged_metadata(
    user: &BTreeMap<String, String>,
    filename: Option<&str>,
    sha256_hex: &str,
) -> Metadata {
    let mut m: Metadata = user
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if let Some(name) = filename {
        m.insert(FILENAME_KEY.into(), name.into());
    }
    m.insert(SHA256_KEY.into(), sha256_hex.into());
    m
}

/// A metadata value as text (strings as they are, anything else as JSON).
/// A metadata value as text for a terminal: strings as they are, other JSON values as JSON,
/// control characters escaped (anyone who may write metadata chooses these bytes).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => crate::text::escape(s).into_owned(),
        other => crate::text::escape(&other.to_string()).into_owned(),
    }
}

/// The SHA-256 a metadata document records, if it records a well-formed one.
pub fn recorded_sha256(m: &Metadata) -> Option<String> {
    match m.get(SHA256_KEY) {
        Some(Value::String(s)) if is_sha256_hex(s) => Some(s.to_ascii_lowercase()),
        _ => None,
    }
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(key_prefix: &str, param_prefix: &str) -> Layout {
        Layout {
            bucket_key_prefix: key_prefix.into(),
            parameter_name_prefix: param_prefix.into(),
        }
    }

    #[test]
    fn keys_and_parameters_follow_startifact() {
        let v = parse_version("1.2.3-rc.1+build.5").unwrap();
        let l = layout("", "");
        assert_eq!(
            l.artifact_key("SugarWater", &v),
            "SugarWater@1.2.3-rc.1+build.5"
        );
        assert_eq!(l.latest_parameter("SugarWater"), "/SugarWater/latest");
        let l = layout("artifacts/", "/my-platform");
        assert_eq!(
            l.artifact_key("a.b_c-d", &v),
            "artifacts/a.b_c-d@1.2.3-rc.1+build.5"
        );
        assert_eq!(l.project_prefix("a"), "artifacts/a@");
        assert_eq!(l.latest_parameter("a"), "/my-platform/a/latest");
        assert_eq!(
            metadata_key("artifacts/a@1.0.0"),
            "artifacts/a@1.0.0/metadata"
        );
    }

    #[test]
    fn project_names_follow_startifacts_rule() {
        for ok in ["a", "SugarWater", "a.b_c-d", "0", "..", "-"] {
            assert!(check_project(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a@b", "a b", "é", "a\n", "a:b"] {
            let e = check_project(bad).unwrap_err();
            assert!(e.contains(PROJECT_RULE), "{bad}: {e}");
        }
    }

    #[test]
    fn versions_are_what_python_semver_accepts_in_canonical_form() {
        // Accepted and printed back unchanged by Python semver 2.13 (Startifact's).
        for ok in [
            "1.2.3",
            "1.2.3-0a",
            "1.2.3+001",
            "1.2.3-rc.1+build.5",
            "1.2.3-a-b",
            "1.2.3---",
            "1.2.3-0",
            "1.0.0-alpha+001",
        ] {
            assert_eq!(parse_version(ok).unwrap().to_string(), ok);
        }
        // Refused by Python semver 2.13 as well.
        for bad in [
            "01.2.3",
            "1.2.3-01",
            "1.2",
            "v1.2.3",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3-00",
            " 1.2.3",
            "1.2.3 ",
            "1.2.3\n",
            "",
        ] {
            let e = parse_version(bad).unwrap_err();
            assert!(e.contains("canonical form"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn latest_only_moves_forward_in_precedence_order() {
        let v = |s| parse_version(s).unwrap();
        assert!(moves_forward(&v("1.2.3"), &v("1.2.4")));
        assert!(moves_forward(&v("1.2.3"), &v("1.10.0")));
        assert!(moves_forward(&v("1.0.0-rc.1"), &v("1.0.0")));
        assert!(moves_forward(&v("1.0.0-alpha"), &v("1.0.0-alpha.1")));
        assert!(moves_forward(&v("1.0.0-alpha.1"), &v("1.0.0-alpha.beta")));
        assert!(moves_forward(&v("1.0.0-2"), &v("1.0.0-10")));
        assert!(!moves_forward(&v("1.2.4"), &v("1.2.3")));
        assert!(!moves_forward(&v("1.0.0"), &v("1.0.0-rc.1")));
        assert!(!moves_forward(&v("1.2.3"), &v("1.2.3")));
        assert!(
            !moves_forward(&v("1.2.3+a"), &v("1.2.3+b")),
            "build metadata has no precedence"
        );
    }

    #[test]
    fn filenames_cannot_escape_the_directory() {
        for ok in ["dist.tar.gz", "a b", ".hidden", "...", "é.zip"] {
            assert!(check_filename(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "a\0b",
            "a\nb",
            "C:\\x",
            " ",
            "\u{3000}\t",
            "x\u{202E}gpj.exe",
            "\u{2066}a\u{2069}",
        ] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pairs_refuse_reserved_keys_and_keep_equals_in_values() {
        let p = parse_pairs(&["a=1".into(), "b=x=y".into(), "c=".into()], "--metadata").unwrap();
        assert_eq!(p["b"], "x=y");
        assert_eq!(p["c"], "");
        for bad in [
            "noequals",
            "=v",
            "provision:sha256=x",
            "startifact:filename=x",
            "provision:other=1",
        ] {
            assert!(parse_pairs(&[bad.into()], "--metadata").is_err(), "{bad}");
        }
        assert!(
            parse_pairs(&["a=1".into(), "a=2".into()], "--set")
                .unwrap_err()
                .contains("more than once")
        );
    }

    #[test]
    fn staged_metadata_renders_like_startifact_plus_sha256() {
        let mut user = BTreeMap::new();
        user.insert("lang".to_string(), "dotnet".to_string());
        let m = staged_metadata(&user, Some("dist.tar.gz"), &"ab".repeat(32));
        assert_eq!(
            crate::startifact::pyjson::dumps(&Value::Object(m.clone())),
            format!(
                "{{\n  \"lang\": \"dotnet\",\n  \"provision:sha256\": \"{}\",\n  \"startifact:filename\": \"dist.tar.gz\"\n}}",
                "ab".repeat(32)
            )
        );
        assert_eq!(recorded_sha256(&m), Some("ab".repeat(32)));
    }
}
