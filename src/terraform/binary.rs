//! Which Terraform: `--terraform PATH` or `PROVISION_TERRAFORM` (the caller passes either), else
//! `terraform`, then `tofu`, on PATH; and whether its version can run what `provision` writes.

use super::TerraformError;
use super::json::VersionOutput;
use super::process::{Environment, output};
use semver::Version;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Terraform or its fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Terraform,
    OpenTofu,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Terraform => "Terraform",
            Flavour::OpenTofu => "OpenTofu",
        }
    }
}

/// A Terraform binary whose version is known and sufficient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    pub path: PathBuf,
    pub flavour: Flavour,
    pub version: Version,
}

/// The oldest version that runs what `provision` writes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub version: Version,
    pub why: &'static str,
}

/// What the working directory needs: `removed` blocks with `lifecycle { destroy = false }`
/// (destroy keeps the bucket, the log bucket and the key; Terraform 1.7, where `import` blocks
/// (1.5) already exist), and with an S3 backend its lock file (`use_lockfile`, 1.10). OpenTofu
/// has both from 1.10 on.
pub fn requirement(flavour: Flavour, backend: bool) -> Requirement {
    match (flavour, backend) {
        (Flavour::Terraform, false) => Requirement {
            version: Version::new(1, 7, 0),
            why: "`destroy` keeps the bucket, the log bucket and the key with `removed` blocks (`lifecycle { destroy = false }`, Terraform 1.7)",
        },
        (Flavour::Terraform, true) => Requirement {
            version: Version::new(1, 10, 0),
            why: "the S3 backend locks the state with a lock file (`use_lockfile`, Terraform 1.10), and `destroy` uses `removed` blocks (1.7)",
        },
        (Flavour::OpenTofu, _) => Requirement {
            version: Version::new(1, 10, 0),
            why: "`removed` blocks with `lifecycle { destroy = false }` and the S3 backend's `use_lockfile` (OpenTofu 1.10)",
        },
    }
}

/// The binary to run: `explicit` (from `--terraform` or `PROVISION_TERRAFORM`) when given,
/// else `terraform`, then `tofu`, in the directories of `path_var`.
pub fn locate(
    explicit: Option<&Path>,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, TerraformError> {
    if let Some(path) = explicit {
        return if is_executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err(TerraformError::NotExecutable {
                path: path.to_path_buf(),
            })
        };
    }
    let dirs: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    for name in ["terraform", "tofu"] {
        if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p)) {
            return Ok(found);
        }
    }
    Err(TerraformError::NotFound {
        searched: if dirs.is_empty() {
            "PATH is empty".into()
        } else {
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        },
    })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The flavour, from the binary's name (`tofu` is OpenTofu).
pub fn flavour_of(path: &Path) -> Flavour {
    match path.file_stem().and_then(OsStr::to_str) {
        Some(stem) if stem.starts_with("tofu") => Flavour::OpenTofu,
        _ => Flavour::Terraform,
    }
}

/// Parses `version -json` output into a version (`1.11.4`, `1.12.0-beta1`).
pub fn parse_version(text: &str) -> Result<Version, String> {
    let out: VersionOutput =
        serde_json::from_str(text).map_err(|e| format!("not the JSON of `version -json`: {e}"))?;
    Version::parse(out.terraform_version.trim_start_matches('v'))
        .map_err(|e| format!("`{}` is not a version: {e}", out.terraform_version))
}

/// Runs `version -json` and checks the version against `requirement(…, backend)`.
pub fn inspect(path: &Path, env: &Environment, backend: bool) -> Result<Binary, TerraformError> {
    let cwd = std::env::temp_dir();
    let (finished, stdout) =
        output(path, &cwd, &["version".into(), "-json".into()], env).map_err(|source| {
            TerraformError::Spawn {
                binary: path.to_path_buf(),
                source,
            }
        })?;
    if !finished.status.success() {
        return Err(TerraformError::Version {
            binary: path.to_path_buf(),
            message: format!("`version -json` failed: {}", finished.stderr.trim()),
        });
    }
    let version = parse_version(&stdout).map_err(|message| TerraformError::Version {
        binary: path.to_path_buf(),
        message,
    })?;
    let flavour = flavour_of(path);
    check(flavour, &version, backend).map_err(|required| TerraformError::TooOld {
        binary: path.to_path_buf(),
        flavour: flavour.name(),
        found: version.to_string(),
        required: required.version.to_string(),
        why: required.why,
    })?;
    Ok(Binary {
        path: path.to_path_buf(),
        flavour,
        version,
    })
}

/// Whether `version` meets the requirement (a pre-release of the required version does not).
pub fn check(flavour: Flavour, version: &Version, backend: bool) -> Result<(), Requirement> {
    let required = requirement(flavour, backend);
    if *version >= required.version {
        Ok(())
    } else {
        Err(required)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_version_json() {
        let recorded = super::super::fixture("version.json");
        assert_eq!(parse_version(&recorded), Ok(Version::new(1, 11, 4)));
        assert_eq!(
            parse_version(r#"{"terraform_version":"1.12.0-beta1"}"#),
            Ok(Version::parse("1.12.0-beta1").unwrap())
        );
        assert!(parse_version("Terraform v1.11.4").is_err());
        assert!(parse_version(r#"{"terraform_version":"one"}"#).is_err());
    }

    #[test]
    fn old_versions_are_refused_with_the_reason() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert!(check(Flavour::Terraform, &v("1.11.4"), true).is_ok());
        assert!(check(Flavour::Terraform, &v("1.7.0"), false).is_ok());
        let err = check(Flavour::Terraform, &v("1.6.6"), false).unwrap_err();
        assert_eq!(err.version, Version::new(1, 7, 0));
        assert!(err.why.contains("removed"), "{}", err.why);
        let err = check(Flavour::Terraform, &v("1.9.8"), true).unwrap_err();
        assert!(err.why.contains("use_lockfile"), "{}", err.why);
        assert!(check(Flavour::Terraform, &v("1.10.0-rc1"), true).is_err());
        assert!(check(Flavour::OpenTofu, &v("1.9.0"), false).is_err());
    }

    #[test]
    fn a_binary_too_old_is_refused_naming_the_version_needed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("terraform");
        std::fs::write(
            &fake,
            "#!/bin/sh\n[ \"$1 $2\" = \"version -json\" ] && echo '{\"terraform_version\": \"1.6.6\"}'\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut env = Environment::empty();
        env.set("PATH", dir.path());
        let err = super::super::find(None, &env, false).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, TerraformError::TooOld { .. }), "{message}");
        assert!(
            message.contains("1.6.6") && message.contains("1.7.0") && message.contains("removed"),
            "{message}"
        );
        use crate::exit::Classify;
        assert_eq!(err.exit(), crate::exit::Exit::Invalid);
        let broken = dir.path().join("broken");
        std::fs::write(&broken, "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            super::super::find(Some(&broken), &env, false),
            Err(TerraformError::Version { .. })
        ));
    }

    #[test]
    fn terraform_then_tofu_on_path_and_an_explicit_path_wins() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let make = |p: &Path| {
            std::fs::write(p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let path = std::env::join_paths([&a, &b]).unwrap();
        let err = locate(None, Some(&path)).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("terraform")
                && message.contains("tofu")
                && message.contains(&a.display().to_string()),
            "{message}"
        );
        make(&b.join("tofu"));
        assert_eq!(locate(None, Some(&path)).unwrap(), b.join("tofu"));
        assert_eq!(flavour_of(&b.join("tofu")), Flavour::OpenTofu);
        make(&b.join("terraform"));
        assert_eq!(locate(None, Some(&path)).unwrap(), b.join("terraform"));
        let explicit = a.join("my-terraform");
        assert!(matches!(
            locate(Some(&explicit), Some(&path)),
            Err(TerraformError::NotExecutable { .. })
        ));
        make(&explicit);
        assert_eq!(locate(Some(&explicit), Some(&path)).unwrap(), explicit);
        std::fs::write(a.join("terraform"), "not executable").unwrap();
        assert_eq!(
            locate(None, Some(&path)).unwrap(),
            b.join("terraform"),
            "a file without the executable bit is skipped"
        );
    }
}
