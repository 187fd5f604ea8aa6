//! Terraform in the tests: the binary, the offline mirror of the `hashicorp/aws` provider, a
//! CLI configuration that installs from that mirror only, and the environment every Terraform
//! run gets: the test bed's (`support::command`: nothing from the developer's shell, AWS only
//! through the emulator, the loopback trap as proxy) plus Terraform's own settings.
//!
//! The mirror is never hard-coded. It is taken from `PROVISION_TF_PROVIDER_MIRROR` (scripts/test
//! finds it once and exports it), else from the path an earlier test run of this build found
//! (cached under the target directory), else searched for over the file system (slow: seconds).
//! A missing binary or mirror fails the test with what is missing; it never skips.

use super::command::{command, environment as test_bed_environment};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The environment variable naming the provider mirror (a `filesystem_mirror` directory:
/// `DIR/registry.terraform.io/hashicorp/aws/VERSION/OS_ARCH/`).
pub const MIRROR_ENV: &str = "PROVISION_TF_PROVIDER_MIRROR";

/// The provider every rendered module uses.
const PROVIDER: &str = "registry.terraform.io/hashicorp/aws";

/// What every Terraform run of the tests needs, found once per test run.
pub struct Tools {
    pub binary: PathBuf,
    pub mirror: PathBuf,
    /// The CLI configuration (TF_CLI_CONFIG_FILE): mirror only, nothing downloaded.
    pub cli_config: PathBuf,
    /// A scratch directory (HOME of the Terraform runs).
    pub scratch: PathBuf,
}

pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let binary = find_binary();
        let mirror = find_mirror();
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terraform-tests");
        std::fs::create_dir_all(scratch.join("home")).expect("terraform scratch directory");
        let cli_config = scratch.join(format!("cli-{}.tfrc", std::process::id()));
        std::fs::write(&cli_config, cli_config_text(&mirror)).expect("write CLI config");
        Tools {
            binary,
            mirror,
            cli_config,
            scratch,
        }
    })
}

/// The CLI configuration: install `hashicorp/aws` from the mirror and nothing from anywhere
/// else. `init` links an unpacked mirror's provider directory into `.terraform/` instead of
/// copying the ~700 MB binary, so no plugin cache is needed (and Terraform's plugin cache is
/// not safe for the concurrent `init`s of parallel tests).
pub fn cli_config_text(mirror: &Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {mirror:?}\n    include = [\"{PROVIDER}\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n\ndisable_checkpoint = true\n",
        mirror = mirror.display().to_string(),
    )
}

fn find_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("terraform"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "terraform is not on PATH ({}): install Terraform 1.10 or newer; scripts/test checks this first",
                std::env::split_paths(&path)
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            )
        })
}

/// Whether `dir` is a filesystem mirror holding the provider.
fn is_mirror(dir: &Path) -> bool {
    dir.join(PROVIDER).is_dir()
}

fn find_mirror() -> PathBuf {
    if let Some(dir) = std::env::var_os(MIRROR_ENV) {
        let dir = PathBuf::from(dir);
        assert!(
            is_mirror(&dir),
            "{MIRROR_ENV}={} holds no {PROVIDER}: point it at a filesystem mirror (DIR/{PROVIDER}/VERSION/OS_ARCH/)",
            dir.display()
        );
        return dir;
    }
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("provider-mirror-path");
    if let Ok(text) = std::fs::read_to_string(&cache) {
        let dir = PathBuf::from(text.trim());
        if is_mirror(&dir) {
            return dir;
        }
    }
    let dir = search_mirror().unwrap_or_else(|| {
        panic!(
            "no offline mirror of {PROVIDER} found on this machine: set {MIRROR_ENV}=DIR to a filesystem mirror (DIR/{PROVIDER}/VERSION/OS_ARCH/, e.g. made with `terraform providers mirror DIR`)"
        )
    });
    let _ = std::fs::write(&cache, dir.display().to_string());
    dir
}

/// Searches the file system (not /proc, /sys, /dev) for the provider's binary or zip, and
/// returns the mirror directory above it: the parent of `registry.terraform.io`. Copies inside
/// working directories (`.terraform/`) and temporary directories do not count.
pub fn search_mirror() -> Option<PathBuf> {
    let out = command("find")
        .args([
            "/",
            "(",
            "-path",
            "/proc",
            "-o",
            "-path",
            "/sys",
            "-o",
            "-path",
            "/dev",
            ")",
            "-prune",
            "-o",
            "-name",
            "terraform-provider-aws_*",
            "-print",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let temp = std::env::temp_dir();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(Path::new)
        .filter(|p| {
            !p.starts_with(&temp)
                && !p.components().any(|c| c.as_os_str() == ".terraform")
                && !p.starts_with(env!("CARGO_TARGET_TMPDIR"))
        })
        .filter_map(|p| {
            p.ancestors()
                .find(|a| a.file_name().is_some_and(|n| n == "registry.terraform.io"))
                .and_then(Path::parent)
                .map(Path::to_path_buf)
        })
        .find(|dir| is_mirror(dir))
}

/// A `terraform` command in `dir` with the environment of [`environment`]: no variable of
/// the developer's shell reaches it.
pub fn terraform(dir: &Path, endpoint: Option<&str>) -> Command {
    let mut cmd = command(&tools().binary);
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .env_clear()
        .envs(environment(endpoint));
    cmd
}

/// The environment of every Terraform run of the tests (and of the driver under test): the
/// test bed's, with Terraform's CLI configuration, automation settings and its own HOME; with
/// an endpoint, the AWS provider reaches only the emulator there (without one, the test bed's
/// loopback trap).
pub fn environment(endpoint: Option<&str>) -> Vec<(String, String)> {
    let tools = tools();
    let mut overrides: Vec<(String, String)> = vec![
        (
            "HOME".into(),
            tools.scratch.join("home").display().to_string(),
        ),
        (
            "TF_CLI_CONFIG_FILE".into(),
            tools.cli_config.display().to_string(),
        ),
        ("TF_IN_AUTOMATION".into(), "1".into()),
        ("CHECKPOINT_DISABLE".into(), "1".into()),
    ];
    if let Some(endpoint) = endpoint {
        overrides.push(("AWS_ENDPOINT_URL".into(), endpoint.into()));
    }
    let mut env: Vec<(String, String)> = test_bed_environment()
        .into_iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .collect();
    env.extend(overrides);
    env
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    super::output(cmd)
}

/// Runs `terraform ARGS` in `dir` and fails the test, with Terraform's output, unless it
/// exits with `expected`. Returns stdout.
pub fn expect(dir: &Path, endpoint: Option<&str>, args: &[&str], expected: i32) -> String {
    let (code, out, err) = run(terraform(dir, endpoint).args(args));
    assert_eq!(
        code,
        expected,
        "terraform {} in {} exited {code}:\n{out}\n{err}",
        args.join(" "),
        dir.display()
    );
    out
}

/// `provision render --format terraform` of `config` into `out`.
pub fn render(config: &Path, out: &Path) {
    let (code, _, stderr) = super::output(
        super::provision(&super::repo_root())
            .args(["render", "-q", "--format", "terraform", "--out"])
            .arg(out)
            .arg("-f")
            .arg(config),
    );
    assert_eq!(
        code,
        0,
        "provision render --format terraform -f {} failed: {stderr}",
        config.display()
    );
}
