//! Snapshots (insta) of everything rendered from every example, and of the help texts.
//! A change to a template or to the context shows up here as a reviewable diff
//! (`cargo insta review`, or INSTA_UPDATE=always to accept).

use crate::support::{examples, repo_root};
use provision::render::{self, Templates};

/// Several files as one text, each under a header naming it.
fn joined(files: impl IntoIterator<Item = (String, String)>) -> String {
    files
        .into_iter()
        .map(|(name, content)| format!("=== {name} ===\n{content}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rendered_output_of_every_example() {
    let templates = Templates::default();
    for (name, path) in examples() {
        let cfg = provision::config::load(&path).expect("the example is valid");
        let stacks = render::cloudformation(&cfg, &templates).expect("cloudformation");
        insta::assert_snapshot!(
            format!("{name}__cloudformation"),
            joined(
                stacks
                    .into_iter()
                    .map(|s| (format!("{}.yaml", s.region), s.body))
            )
        );
        let module = render::terraform(&cfg, &templates).expect("terraform");
        insta::assert_snapshot!(
            format!("{name}__terraform"),
            joined(module.into_iter().map(|f| (f.name, f.content)))
        );
        let policies = render::policies(&cfg, &templates).expect("policies");
        insta::assert_snapshot!(
            format!("{name}__policies"),
            joined(policies.into_iter().map(|f| (f.name, f.content)))
        );
    }
}

fn help(args: &[&str]) -> String {
    let out = crate::support::provision(&repo_root())
        .args(args)
        // The value would appear in the help (`[env: AWS_ENDPOINT_URL=...]`): the test bed's
        // default endpoint is the loopback trap, and the help takes no request.
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run provision");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

#[test]
fn help_texts() {
    insta::assert_snapshot!("help", help(&["--help"]));
    insta::assert_snapshot!("render_help", help(&["render", "--help"]));
}
