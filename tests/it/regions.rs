//! Region names: a region launched after the build is not refused. A well-formed name is
//! accepted (with a warning naming the nearest known region when this build does not know
//! it), only a malformed one is refused with exit 3, and the partition follows the name.
//! (Malformed names in the configuration are also in the corpus, tests/config-invalid/.)

use crate::support::storage::{Storage, random_file, sha256_file};
use crate::support::{output, provision, shared};

fn validate(dir: &std::path::Path, regions: &str) -> (i32, String, String) {
    std::fs::write(
        dir.join("provision.yaml"),
        format!("version: 1\norganisation: acme\nregions: {regions}\n"),
    )
    .expect("write provision.yaml");
    output(provision(dir).arg("validate"))
}

#[test]
fn validate_accepts_a_typo_shaped_like_a_region_and_warns_with_the_likely_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = validate(dir.path(), "[eu-west-1, eu-wset-1]");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(
            "warning: provision.yaml:3:22: regions[1]: `eu-wset-1` is not a region this build of \
             provision knows: did you mean eu-west-1?"
        ),
        "{err}"
    );
    assert!(out.contains("valid (2 regions)"), "{out}");
}

#[test]
fn validate_accepts_the_sovereign_cloud_and_regions_launched_since() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = validate(dir.path(), "[eusc-de-east-1]");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.is_empty(), "a known region needs no warning: {err}");

    let (code, out, err) = validate(dir.path(), "[eusc-de-east-1, eusc-de-west-1]");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("`eusc-de-west-1` is not a region this build of provision knows (the nearest is eusc-de-east-1)"),
        "{err}"
    );

    // The partition follows the name: ARNs of the rendered policies are aws-eusc's.
    let (code, out, err) = output(
        provision(dir.path()).args(["render", "-q", "--format", "policies", "--out", "policies"]),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let read = std::fs::read_to_string(dir.path().join("policies/eusc-de-west-1/read.json"))
        .expect("read policy rendered");
    assert!(read.contains("arn:aws-eusc:s3:::"), "{read}");
    assert!(!read.contains("arn:aws:"), "{read}");
}

#[test]
fn one_configuration_still_covers_one_partition() {
    let dir = tempfile::tempdir().unwrap();
    for (regions, partitions) in [
        ("[eu-west-1, eusc-de-east-1]", "(aws, aws-eusc)"),
        ("[eu-central-1, eu-isoe-west-1]", "(aws, aws-iso-e)"),
        ("[us-gov-west-1, cn-north-1]", "(aws-cn, aws-us-gov)"),
    ] {
        let (code, out, err) = validate(dir.path(), regions);
        assert_eq!(code, 3, "{regions}: {out}\n{err}");
        assert!(
            err.contains(&format!(
                "regions: regions span several AWS partitions {partitions}"
            )),
            "{regions}: {err}"
        );
    }
}

/// Arguments, environment, the expected message.
type Case = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn malformed_regions_from_the_command_line_or_the_environment_are_exit_3_naming_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [Case; 5] = [
        (
            &["list", "app", "--region", "EU-WEST-1"],
            &[],
            "--region: `EU-WEST-1` is not a region name: only lowercase letters, digits and hyphens are allowed; did you mean eu-west-1?",
        ),
        (
            &["download", "app", "latest", "out", "--region", "eu-west"],
            &[],
            "--region: `eu-west` is not a region name: a region name ends with a one- or two-digit number",
        ),
        (
            &["list", "app"],
            &[("AWS_REGION", "eu_west_1")],
            "AWS_REGION: `eu_west_1` is not a region name",
        ),
        (
            &["info", "app"],
            &[
                ("AWS_REGION", "eu-west-1"),
                ("STARTIFACT_REGIONS", "eu-west-1,west"),
            ],
            "STARTIFACT_REGIONS: `west` is not a region name",
        ),
        (
            &["stage", "app", "1.0.0", "provision.yaml"],
            &[("STARTIFACT_REGIONS", "https://eu-west-1")],
            "STARTIFACT_REGIONS: `https://eu-west-1` is not a region name",
        ),
    ];
    std::fs::write(dir.path().join("provision.yaml"), "artifact").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    for (args, env, expected) in cases {
        let mut cmd = provision(elsewhere.path());
        cmd.args(args.iter().map(|a| {
            if *a == "provision.yaml" {
                dir.path().join(a).display().to_string()
            } else {
                a.to_string()
            }
        }));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (code, out, err) = output(&mut cmd);
        assert_eq!(code, 3, "{args:?} {env:?}\n{out}\n{err}");
        assert!(err.contains(expected), "{args:?} {env:?}: {err}");
    }
}

/// An unknown but well-formed `--region` is not refused at input: it is tried (here against
/// a closed loopback port, so the command fails with exit 1 after the warning).
#[test]
fn an_unknown_region_on_the_command_line_is_tried_with_a_warning() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = output(
        provision(dir.path())
            .args(["list", "app", "--region", "eu-wset-1"])
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}")),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("warning: --region: `eu-wset-1` is not a region this build of provision knows: did you mean eu-west-1?"),
        "{err}"
    );
}

/// Staging in the European Sovereign Cloud on the emulator: setup, stage, list, info and
/// download with `--region eusc-de-east-1`, checked through the S3 API.
#[test]
fn the_staging_commands_work_in_eusc_de_east_1() {
    const REGION: &str = "eusc-de-east-1";
    let st = Storage::on(&shared().url(), &[REGION], "");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let file = random_file(work.path(), "app.tgz", 1000, 7);

    let (code, out, err) = output(
        st.ci(work.path())
            .env_remove("AWS_REGION")
            .args(["stage", "app", "1.0.0"])
            .arg(&file)
            .args(["--region", REGION]),
    );
    assert_eq!(code, 0, "stage\n{out}\n{err}");
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(
        st.object(REGION, &st.key("app", "1.0.0")),
        Some(std::fs::read(&file).unwrap())
    );

    for args in [["list", "app"], ["info", "app"]] {
        let (code, out, err) = output(
            st.ci(work.path())
                .env_remove("AWS_REGION")
                .args(args)
                .args(["--region", REGION]),
        );
        assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
        assert!(out.contains("1.0.0"), "{args:?}: {out}");
    }

    let target = work.path().join("downloaded.tgz");
    let (code, out, err) = output(
        st.ci(work.path())
            .env_remove("AWS_REGION")
            .env("STARTIFACT_REGIONS", REGION)
            .args(["download", "app", "latest"])
            .arg(&target)
            .args(["--region", REGION]),
    );
    assert_eq!(code, 0, "download\n{out}\n{err}");
    assert_eq!(sha256_file(&target), sha256_file(&file));
}
