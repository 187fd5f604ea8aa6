//! Where a download goes: a file, or a directory under the staged file name (`--filename`),
//! checked before any request; and the `[VERSION] PATH` arguments.

use super::StageError;
use super::versions::parse_wanted;
use crate::startifact::layout::{self, FILENAME_KEY};
use semver::Version;
use std::path::{Path, PathBuf};

/// Where the artifact goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// This file (replaced if it exists).
    File(PathBuf),
    /// This directory, under the file name recorded at staging (`--filename`).
    Directory(PathBuf),
}

impl Destination {
    pub fn check(path: &str, filename: bool) -> Result<Destination, StageError> {
        if path.is_empty() {
            return Err(StageError::Input(
                "PATH is empty: name the file to write (or a directory, with --filename)".into(),
            ));
        }
        let p = PathBuf::from(path);
        if filename {
            if !p.is_dir() {
                return Err(StageError::Input(format!(
                    "{path}: with --filename, PATH must be an existing directory"
                )));
            }
            return Ok(Destination::Directory(p));
        }
        if p.is_dir() {
            return Err(StageError::Input(format!(
                "{path}: is a directory; pass --filename to write the staged file name into it, or a file path"
            )));
        }
        if names_a_directory(path) {
            return Err(StageError::Input(format!(
                "{path}: names a directory, which does not exist; create it and pass --filename, or name a file"
            )));
        }
        let parent = parent_dir(&p);
        if !parent.is_dir() {
            return Err(StageError::Input(format!(
                "{path}: the directory {} does not exist",
                parent.display()
            )));
        }
        Ok(Destination::File(p))
    }

    /// The final path, given the metadata's file name for `--filename`.
    pub fn resolve(&self, staged_name: Option<&str>) -> Result<PathBuf, String> {
        match self {
            Destination::File(p) => Ok(p.clone()),
            Destination::Directory(dir) => {
                let name = staged_name.ok_or_else(|| {
                    format!("it was staged without a file name ({FILENAME_KEY}); pass a file path instead of --filename")
                })?;
                layout::check_filename(name)?;
                Ok(dir.join(name))
            }
        }
    }
}

/// A path that can only be a directory: it ends with a separator, `.` or `..`.
fn names_a_directory(path: &str) -> bool {
    let trimmed = path.trim_end_matches(std::path::is_separator);
    trimmed.len() != path.len()
        || Path::new(trimmed).file_name().is_none()
        || trimmed.ends_with("/.")
        || trimmed == "."
}

pub fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `[VERSION] PATH` → (version or latest, path).
pub fn split_rest(rest: &[String]) -> Result<(Option<Version>, &str), StageError> {
    let (version, path) = match rest {
        [path] => ("latest", path),
        [version, path] => (version.as_str(), path),
        _ => return Err(StageError::Input("expected [VERSION] PATH".into())),
    };
    Ok((parse_wanted(version)?, path.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_is_version_then_path() {
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let binding = r(&["out.tgz"]);
        let (v, p) = split_rest(&binding).unwrap();
        assert!(v.is_none());
        assert_eq!(p, "out.tgz");
        let binding = r(&["latest", "out.tgz"]);
        assert!(split_rest(&binding).unwrap().0.is_none());
        let binding = r(&["1.2.3", "out.tgz"]);
        assert_eq!(
            split_rest(&binding).unwrap().0.unwrap().to_string(),
            "1.2.3"
        );
        let binding = r(&["1.2", "out.tgz"]);
        assert!(split_rest(&binding).is_err());
    }

    #[test]
    fn staged_names_cannot_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let dest = Destination::check(dir.path().to_str().unwrap(), true).unwrap();
        assert_eq!(
            dest.resolve(Some("a.tgz")).unwrap(),
            dir.path().join("a.tgz")
        );
        for bad in ["../a", "/etc/passwd", "..", "a/../../b", "a\0b", ""] {
            assert!(dest.resolve(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(dest.resolve(None).unwrap_err().contains(FILENAME_KEY));
    }

    #[test]
    fn paths_are_checked_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert!(
            Destination::check(d, false).is_err(),
            "a directory without --filename"
        );
        assert!(Destination::check(&format!("{d}/missing/x"), false).is_err());
        // Paths that can only name a directory, and it does not exist (issue 13.6).
        for bad in ["", "newdir/", "a/b/", "missing/..", "missing/.", "x//"] {
            let e = Destination::check(bad, false).unwrap_err();
            assert!(matches!(e, StageError::Input(_)), "{bad:?}: {e}");
        }
        assert!(Destination::check(&format!("{d}/file"), true).is_err());
        assert_eq!(
            Destination::check(&format!("{d}/x"), false).unwrap(),
            Destination::File(dir.path().join("x"))
        );
        assert_eq!(
            Destination::check("x", false).unwrap(),
            Destination::File("x".into())
        );
    }
}
