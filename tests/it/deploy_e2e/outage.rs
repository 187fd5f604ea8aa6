//! One region unreachable: the others complete, and a rerun completes it.

use super::*;
use crate::support::snapshot::assert_output_snapshot;

#[tokio::test]
async fn an_unreachable_region_fails_alone_and_a_rerun_completes_it() {
    // Three emulators: one stays up, one goes down, one is the region coming back.
    let mut emulators = Emulators::reserve(3);
    let a = emulators.start();
    let mut b = emulators.start();
    let s = Setup::new();
    b.stop();
    s.write(&[("eu-west-1", &a.url()), ("eu-north-1", &b.url())], "");
    let (code, out, err) = s.run(&["apply", "--yes"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "error: eu-north-1 (stack {}): cloudformation:DescribeStacks: cannot connect",
            s.name
        )),
        "{err}"
    );
    assert_output_snapshot!("apply_with_one_region_unreachable", out);
    assert_eq!(
        stack_status(&a.url(), "eu-west-1", &s.name)
            .await
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    let events_before = event_count(&a.url(), "eu-west-1", &s.name).await;
    // The JSON documents of plan and status name the failed region in their entry, valid
    // against their schemas (the failed shape).
    for command in ["plan", "status"] {
        let (code, out, err) = s.run(&["--output", "json", command]);
        assert_eq!(code, 1, "{command}: {err}");
        let doc = crate::support::schema::document(&out);
        let down = &doc["regions"][1];
        assert_eq!(
            (down["region"].as_str(), down["error"]["region"].as_str()),
            (Some("eu-north-1"), Some("eu-north-1")),
            "{command}: {doc}"
        );
        assert!(doc["regions"][0]["error"].is_null(), "{command}: {doc}");
    }

    // The region is back (a fresh emulator: a restarted moto has lost its state).
    let c = emulators.start();
    s.write(&[("eu-west-1", &a.url()), ("eu-north-1", &c.url())], "");
    let (code, out, _) = s.run(&["apply", "--yes"]);
    assert_eq!(code, 0);
    assert_output_snapshot!("apply_again_with_the_region_back", out);
    assert_eq!(
        stack_status(&c.url(), "eu-north-1", &s.name)
            .await
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    let events_after = event_count(&a.url(), "eu-west-1", &s.name).await;
    assert_eq!(
        events_before, events_after,
        "the completed region is left unchanged"
    );
}
