//! `stage` on the emulator: input rules and exit codes, a missing configuration, `latest`
//! ordering, conflicts, dry runs, copy mode, empty files. Results are checked through the
//! AWS APIs. (`setup`: tests/it/setup_e2e.rs; `list`, `info`, `metadata`, `presign`,
//! `download --filename`: tests/it/stage_queries.rs.)

use crate::support::report::{json, region_report};
use crate::support::snapshot::{assert_output_snapshot, from_first_error};
use crate::support::storage::{
    MIB, REGIONS, Storage, random_file, set_up, sha256_file, sha256_hex,
};
use crate::support::{output, provision, shared};

#[test]
fn invalid_input_is_exit_3_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let f = random_file(dir.path(), "f.bin", 10, 1);
    let f = f.to_str().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["stage", "bad/name", "1.0.0", f], "^[a-zA-Z0-9_\\-.]+$"),
        (vec!["stage", "app", "v1.0.0", f], "canonical form"),
        (vec!["stage", "app", "1.0", f], "canonical form"),
        (
            vec!["stage", "app", "1.0.0", "missing.bin"],
            "cannot read the artifact",
        ),
        (
            vec![
                "stage",
                "app",
                "1.0.0",
                f,
                "--metadata",
                "provision:sha256=x",
            ],
            "reserved",
        ),
        (
            vec!["stage", "app", "1.0.0", f, "--metadata", "novalue"],
            "KEY=VALUE",
        ),
        (
            vec!["stage", "app", "1.0.0", f, "--filename=../x"],
            "--filename",
        ),
        (vec!["download", "app", "1.2", "out"], "canonical form"),
        (vec!["download", "app", "sub"], "is a directory"),
        (
            vec!["download", "app", "out", "--filename"],
            "existing directory",
        ),
        (
            vec!["presign", "app", "1.0.0", "--expires", "8d"],
            "longer than 7 days",
        ),
        (
            vec!["presign", "app", "1.0.0", "--expires", "0s"],
            "shorter than a second",
        ),
        (
            vec!["metadata", "app", "1.0.0", "--set", "startifact:filename=x"],
            "reserved",
        ),
        (vec!["info", "app@1"], "project"),
        (
            vec!["list", "app", "--region", "EU-WEST-1"],
            "not a region name",
        ),
        // Valid, but nothing says where to read the organisation configuration.
        (
            vec!["stage", "app", "1.0.0", f],
            "no region to read the organisation configuration",
        ),
    ];
    let mut messages = String::new();
    for (args, expected) in cases {
        let (code, out, err) = output(provision(dir.path()).args(&args));
        assert_eq!(code, 3, "{args:?}\n{out}\n{err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        messages.push_str(&format!("$ provision {}\n{err}\n", args.join(" ")));
    }
    assert_output_snapshot!("invalid_input_messages", messages);
}

#[test]
fn a_missing_organisation_configuration_is_exit_1_with_a_hint() {
    let st = Storage::shared("");
    let work = tempfile::tempdir().unwrap();
    let f = random_file(work.path(), "f.bin", 10, 2);
    let (code, out, err) = output(st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&f));
    assert_eq!(code, 1, "{out}\n{err}");
    // Every region's failure, and the hint to run setup.
    assert_output_snapshot!("missing_organisation_configuration", err);
}

#[test]
fn latest_only_moves_forward_unless_forced() {
    let (st, work) = set_up("");
    let stage = |version: &str, extra: &[&str]| {
        let f = random_file(
            work.path(),
            &format!("{version}.bin"),
            1000,
            version.len() as u64,
        );
        let (code, out, err) = output(
            st.ci(work.path())
                .args(["stage", "app", version])
                .arg(&f)
                .args(extra),
        );
        assert_eq!(code, 0, "{version}\n{out}\n{err}");
    };
    let latest = || st.parameter_value("eu-west-1", &st.latest_param("app"));
    stage("1.2.0", &[]);
    assert_eq!(latest().as_deref(), Some("1.2.0"));
    stage("1.10.0", &[]);
    assert_eq!(
        latest().as_deref(),
        Some("1.10.0"),
        "numeric, not lexical order"
    );
    stage("1.9.0", &[]);
    assert_eq!(
        latest().as_deref(),
        Some("1.10.0"),
        "an older version does not move it back"
    );
    stage("1.10.1-rc.1", &[]);
    assert_eq!(latest().as_deref(), Some("1.10.1-rc.1"));
    stage("1.10.0-beta", &[]);
    assert_eq!(latest().as_deref(), Some("1.10.1-rc.1"));
    stage("1.0.0", &["--force-latest"]);
    for region in REGIONS {
        assert_eq!(
            st.parameter_value(region, &st.latest_param("app"))
                .as_deref(),
            Some("1.0.0")
        );
    }
}

#[test]
fn other_content_under_a_staged_version_is_refused_and_nothing_changes() {
    let (st, work) = set_up("");
    let a = random_file(work.path(), "a.bin", 5000, 3);
    let b = random_file(work.path(), "b.bin", 5000, 4);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0"])
            .arg(&a)
            .args(["--metadata", "k=a"]),
    );
    assert_eq!(code, 0, "{err}");
    let meta_before = st.object("us-east-1", "app@1.0.0/metadata");
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0"])
            .arg(&b)
            .args(["--metadata", "k=b"]),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    // What is refused, and where: the claim region, read before anything is written (a small
    // file's other regions are not read first: their conditional writes are the check).
    assert_output_snapshot!("other_content_refused", from_first_error(&err));
    for region in REGIONS {
        assert_eq!(
            sha256_hex(&st.object(region, "app@1.0.0").unwrap()),
            sha256_file(&a)
        );
    }
    assert_eq!(st.object("us-east-1", "app@1.0.0/metadata"), meta_before);
}

#[test]
fn a_dry_run_uploads_nothing_and_says_what_it_would_do() {
    let (st, work) = set_up("");
    let f = random_file(work.path(), "f.bin", 20 * MIB, 5);
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.0.0"])
            .arg(&f)
            .arg("--dry-run"),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report = json(&out);
    assert_eq!(report["sha256"], sha256_file(&f));
    // A dry run in every region, with the part size it would use.
    assert_output_snapshot!("dry_run_report", out);
    for region in REGIONS {
        assert!(st.keys(region).is_empty(), "{region}: nothing written");
        assert_eq!(st.multipart_uploads(region), 0);
        assert_eq!(st.parameter_value(region, &st.latest_param("app")), None);
    }
}

#[test]
fn copy_mode_uploads_once_and_copies_server_side() {
    let (st, work) = set_up("copied/");
    // `--copy`, and the default above 16 MiB to several regions.
    for (version, size, flags) in [
        ("1.0.0+build.7", MIB, &["--copy"][..]),
        ("2.0.0-rc.1+build.8", 20 * MIB, &["--copy"][..]),
        ("3.0.0", 20 * MIB, &[][..]),
    ] {
        let f = random_file(work.path(), "f.bin", size, size as u64);
        let (code, out, err) = output(
            st.ci(work.path())
                .args(["--output", "json", "stage", "app", version])
                .arg(&f)
                .args(flags),
        );
        assert_eq!(code, 0, "{out}\n{err}");
        let report = json(&out);
        let uploads: Vec<&str> = REGIONS
            .iter()
            .map(|r| region_report(&report, r)["upload"].as_str().unwrap())
            .collect();
        assert_eq!(
            uploads.iter().filter(|u| **u == "copy").count(),
            2,
            "{uploads:?}"
        );
        assert_eq!(
            uploads.iter().filter(|u| **u != "copy").count(),
            1,
            "{uploads:?}"
        );
        let key = format!("copied/app@{version}");
        for region in REGIONS {
            assert_eq!(
                sha256_hex(&st.object(region, &key).unwrap()),
                sha256_file(&f),
                "{region}"
            );
            assert!(st.object(region, &format!("{key}/metadata")).is_some());
        }
        // The copies verify like direct uploads.
        let out_path = work.path().join("back.bin");
        let (code, _, err) = output(
            st.ci(work.path())
                .args(["download", "app", version])
                .arg(&out_path)
                .args(["--region", "us-east-1"]),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(sha256_file(&out_path), sha256_file(&f));
    }
}

#[test]
fn an_empty_file_stages_and_downloads() {
    let (st, work) = set_up("");
    let f = work.path().join("empty");
    std::fs::write(&f, b"").unwrap();
    for extra in [&[][..], &["--copy"][..]] {
        let version = if extra.is_empty() { "1.0.0" } else { "1.0.1" };
        let (code, out, err) = output(
            st.ci(work.path())
                .args(["stage", "app", version])
                .arg(&f)
                .args(extra),
        );
        assert_eq!(code, 0, "{out}\n{err}");
        for region in REGIONS {
            assert_eq!(
                st.object(region, &format!("app@{version}")).as_deref(),
                Some(&b""[..])
            );
        }
        let back = work.path().join(format!("back-{version}"));
        let (code, _, err) = output(
            st.ci(work.path())
                .args(["download", "app", version])
                .arg(&back),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(std::fs::read(&back).unwrap(), b"");
    }
}

#[test]
fn a_bad_parameter_name_in_the_environment_is_exit_3() {
    let st = Storage::on(&shared().url(), &["us-east-1"], "");
    let work = tempfile::tempdir().unwrap();
    let (code, _, err) = output(
        st.ci(work.path())
            .env("STARTIFACT_PARAMETER", "no-slash")
            .args(["list", "app"]),
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("STARTIFACT_PARAMETER: `no-slash`"), "{err}");
    let (code, _, err) = output(
        st.provision()
            .env("STARTIFACT_PARAMETER", "/a//b")
            .args(["setup"]),
    );
    assert_eq!(code, 3, "{err}");
}
