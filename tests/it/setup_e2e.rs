//! `provision setup` on the emulator: Startifact's exact JSON in every region, unknown keys
//! kept, `--check` exit codes. (An unreachable region: tests/it/stage_e2e.rs.)

use crate::support::output;
use crate::support::report::{json, region_report};
use crate::support::snapshot::assert_output_snapshot;
use crate::support::storage::{REGIONS, Storage};

#[test]
fn setup_writes_startifacts_json_keeps_unknown_keys_and_check_exits_2() {
    let st = Storage::shared("artifacts/");
    let (code, out, err) = output(
        st.provision()
            .args(["--output", "json", "setup", "--check"]),
    );
    assert_eq!(code, 2, "missing everywhere\n{out}\n{err}");
    json(&out);
    assert_output_snapshot!("check_before_setup_as_json", out);

    // One region already has a configuration with another value and a key of its own.
    st.put_parameter(
        "us-east-1",
        &st.parameter,
        r#"{"bucket_name_param": "/old", "team": {"owner": "platform"}, "regions": "us-east-1"}"#,
    );
    let (code, out, err) = output(st.provision().args(["setup"]));
    assert_eq!(code, 0, "{out}\n{err}");
    // What changes in each region: created, or the differing keys of an existing one.
    assert_output_snapshot!("setup_over_another_configuration", out);

    let expected = format!(
        "{{\n  \"bucket_key_prefix\": \"artifacts/\",\n  \"bucket_name_param\": \"{}\",\n  \"parameter_name_prefix\": \"{}\",\n  \"regions\": \"eu-north-1,eu-west-1,us-east-1\",\n  \"save_ok\": \"y\"\n}}",
        st.bucket_param, st.artifact_prefix
    );
    assert_eq!(
        st.parameter_value("eu-west-1", &st.parameter).as_deref(),
        Some(expected.as_str())
    );
    let kept = st.parameter_value("us-east-1", &st.parameter).unwrap();
    assert_eq!(
        kept,
        expected.replace(
            "  \"save_ok\": \"y\"\n}",
            "  \"save_ok\": \"y\",\n  \"team\": {\n    \"owner\": \"platform\"\n  }\n}"
        ),
        "the unknown key is kept, in Python's formatting"
    );

    let (code, out, err) = output(
        st.provision()
            .args(["--output", "json", "setup", "--check"]),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    for region in REGIONS {
        assert_eq!(region_report(&json(&out), region)["status"], "up-to-date");
    }
}
