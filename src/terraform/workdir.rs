//! The working directory `provision` manages for Terraform: `.provision/terraform/<stack_name>/`
//! beside the configuration file. `provision` renders the module into it and runs every command
//! there; Terraform keeps `.terraform/`, the lock file, the plan file and (without a backend)
//! the state in it.
//!
//! A marker file records which configuration file owns the directory: two configurations with
//! the same stack name beside each other would otherwise share one state and destroy each
//! other's resources. A directory owned by another configuration, or a non-empty directory
//! without a marker, is refused.

use super::TerraformError;
use crate::render::RenderedFile;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The marker's file name.
pub const MARKER: &str = ".provision-workdir.json";

/// The plan file `plan` writes and `apply` reads.
pub const PLAN_FILE: &str = "provision.tfplan";

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    /// The configuration file that owns the directory (absolute).
    config: PathBuf,
    /// The files `provision` wrote last time (replaced or removed on the next write).
    files: Vec<String>,
}

/// A working directory owned by one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkDir {
    path: PathBuf,
    config: PathBuf,
}

impl WorkDir {
    /// `.provision/terraform/<stack_name>/` beside `config_file`.
    pub fn default_path(config_file: &Path, stack_name: &str) -> PathBuf {
        let dir = config_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        dir.join(".provision").join("terraform").join(stack_name)
    }

    /// Opens (creating it if needed) the working directory at `path` for `config_file`.
    /// The first time, `.provision/` also gets a `.gitignore` that keeps it all out of git:
    /// the state and plan files hold every attribute, secrets included.
    pub fn open(path: &Path, config_file: &Path) -> Result<WorkDir, TerraformError> {
        let config = absolute(config_file)?;
        let io = |context: &str, path: &Path| {
            let context = context.to_string();
            let path = path.to_path_buf();
            move |source| TerraformError::Io {
                path,
                context,
                source,
            }
        };
        let marker_path = path.join(MARKER);
        match std::fs::read_to_string(&marker_path) {
            Ok(text) => {
                let marker: Marker =
                    serde_json::from_str(&text).map_err(|e| TerraformError::WorkDirMarker {
                        path: marker_path.clone(),
                        message: e.to_string(),
                    })?;
                if marker.config != config {
                    return Err(TerraformError::WorkDirOwned {
                        dir: path.to_path_buf(),
                        owner: marker.config,
                        config,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let occupied = std::fs::read_dir(path)
                    .map(|mut entries| entries.next().is_some())
                    .unwrap_or(false);
                if occupied {
                    return Err(TerraformError::WorkDirForeign {
                        dir: path.to_path_buf(),
                        marker: MARKER,
                    });
                }
                std::fs::create_dir_all(path)
                    .map_err(io("creating the working directory", path))?;
                if let Some(root) = provision_root(path)
                    && !root.join(".gitignore").exists()
                {
                    std::fs::write(
                        root.join(".gitignore"),
                        "# Written by provision: Terraform state, plans and providers. Keep them out of git.\n*\n",
                    )
                    .map_err(io("writing .gitignore", &root))?;
                }
                write_marker(&marker_path, &config, &[])?;
            }
            Err(e) => {
                return Err(io("reading the working directory's marker", &marker_path)(
                    e,
                ));
            }
        }
        Ok(WorkDir {
            path: path.to_path_buf(),
            config,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration file that owns the directory.
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// Where `plan` writes the plan.
    pub fn plan_file(&self) -> PathBuf {
        self.path.join(PLAN_FILE)
    }

    /// Writes `files` (the module, or the destroy configuration), and removes the files
    /// `provision` wrote before that are not among them. Files others put here are left alone.
    pub fn write_files(&self, files: &[RenderedFile]) -> Result<(), TerraformError> {
        let marker_path = self.path.join(MARKER);
        let previous: Vec<String> = std::fs::read_to_string(&marker_path)
            .ok()
            .and_then(|t| serde_json::from_str::<Marker>(&t).ok())
            .map(|m| m.files)
            .unwrap_or_default();
        for file in files {
            let target = self.path.join(&file.name);
            std::fs::write(&target, &file.content).map_err(|source| TerraformError::Io {
                path: target.clone(),
                context: "writing the module".into(),
                source,
            })?;
        }
        let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        for stale in previous.iter().filter(|p| !names.contains(p)) {
            let target = self.path.join(stale);
            match std::fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(TerraformError::Io {
                        path: target,
                        context: "removing a file provision wrote earlier".into(),
                        source,
                    });
                }
            }
        }
        write_marker(&marker_path, &self.config, &names)
    }
}

fn write_marker(path: &Path, config: &Path, files: &[String]) -> Result<(), TerraformError> {
    let marker = Marker {
        config: config.to_path_buf(),
        files: files.to_vec(),
    };
    let text = serde_json::to_string_pretty(&marker).unwrap_or_default();
    std::fs::write(path, text + "\n").map_err(|source| TerraformError::Io {
        path: path.to_path_buf(),
        context: "writing the working directory's marker".into(),
        source,
    })
}

/// The `.provision` directory above a working directory, if it has one.
fn provision_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == ".provision"))
        .map(Path::to_path_buf)
}

/// The configuration file's absolute path, symlinks resolved when it exists.
fn absolute(path: &Path) -> Result<PathBuf, TerraformError> {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return Ok(canonical);
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|source| TerraformError::Io {
            path: path.to_path_buf(),
            context: "finding the current directory".into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content: &str) -> RenderedFile {
        RenderedFile {
            name: name.into(),
            content: content.into(),
        }
    }

    #[test]
    fn the_default_path_is_beside_the_configuration() {
        assert_eq!(
            WorkDir::default_path(Path::new("/srv/infra/provision.yaml"), "acme"),
            PathBuf::from("/srv/infra/.provision/terraform/acme")
        );
        assert_eq!(
            WorkDir::default_path(Path::new("provision.yaml"), "acme"),
            PathBuf::from("./.provision/terraform/acme")
        );
    }

    #[test]
    fn a_directory_belongs_to_one_configuration() {
        let root = tempfile::tempdir().unwrap();
        let config = root.path().join("provision.yaml");
        let other = root.path().join("other.yaml");
        std::fs::write(&config, "version: 1\n").unwrap();
        std::fs::write(&other, "version: 1\n").unwrap();
        let path = WorkDir::default_path(&config, "acme");
        let dir = WorkDir::open(&path, &config).unwrap();
        assert!(root.path().join(".provision/.gitignore").is_file());
        dir.write_files(&[file("main.tf", "# a\n"), file("kms.tf", "# b\n")])
            .unwrap();
        // Reopened by the same configuration: fine, files kept.
        let again = WorkDir::open(&path, &config).unwrap();
        assert!(again.path().join("kms.tf").is_file());
        // Another configuration with the same stack name: refused, naming both.
        let err = WorkDir::open(&path, &other).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("provision.yaml") && message.contains("other.yaml"),
            "{message}"
        );
        assert!(matches!(err, TerraformError::WorkDirOwned { .. }));
    }

    #[test]
    fn a_directory_provision_did_not_make_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let config = root.path().join("provision.yaml");
        let path = root.path().join("somewhere");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("terraform.tfstate"), "{}").unwrap();
        let err = WorkDir::open(&path, &config).unwrap_err();
        assert!(
            matches!(err, TerraformError::WorkDirForeign { .. }),
            "{err}"
        );
        std::fs::write(path.join(MARKER), "not json").unwrap();
        let err = WorkDir::open(&path, &config).unwrap_err();
        assert!(matches!(err, TerraformError::WorkDirMarker { .. }), "{err}");
    }

    #[test]
    fn files_written_earlier_and_not_now_are_removed_others_are_kept() {
        let root = tempfile::tempdir().unwrap();
        let config = root.path().join("provision.yaml");
        let dir = WorkDir::open(&root.path().join("work"), &config).unwrap();
        dir.write_files(&[file("main.tf", "# module\n"), file("kms.tf", "# key\n")])
            .unwrap();
        std::fs::write(dir.path().join("terraform.tfstate"), "{}").unwrap();
        dir.write_files(&[file("main.tf", "# destroy\n")]).unwrap();
        assert!(!dir.path().join("kms.tf").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("main.tf")).unwrap(),
            "# destroy\n"
        );
        assert!(
            dir.path().join("terraform.tfstate").exists(),
            "state is not provision's file"
        );
    }
}
