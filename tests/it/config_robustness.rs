//! A deterministic stand-in for the fuzzer that runs in every test run: every prefix of every
//! example and every corpus file, and single-byte mutations of them, must parse to a config
//! or a positioned error — never a panic. (`cargo fuzz run config` explores much further; see
//! docs/fuzzing.md.)

use std::path::Path;

fn inputs() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["examples", "tests/config-invalid"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push(text);
            }
        }
    }
    assert!(
        out.len() >= 30,
        "expected the examples and the corpus, found {} files",
        out.len()
    );
    out
}

#[test]
fn prefixes_and_mutations_never_panic() {
    const NASTY: &[&str] = &[
        "",
        ":",
        "- ",
        "&a ",
        "*a",
        "{",
        "[",
        "\"",
        "'",
        "\t",
        "\n",
        "!!str ",
        "? ",
        "|",
        "%YAML 1.2\n",
        "---\n",
        "\u{0}",
    ];
    let mut parsed = 0usize;
    for text in inputs() {
        let bytes = text.as_bytes();
        // Every prefix of small files; a sample of larger ones keeps the debug-build run short.
        let stride = 1 + bytes.len() / 400;
        for cut in (0..=bytes.len()).step_by(stride) {
            if let Ok(prefix) = std::str::from_utf8(&bytes[..cut]) {
                let _ = provision::config::parse(Path::new("t.yaml"), prefix);
                parsed += 1;
            }
        }
        for (i, insert) in NASTY.iter().enumerate() {
            let at = (i * 7919) % (text.len() + 1);
            if text.is_char_boundary(at) {
                let mutated = format!("{}{insert}{}", &text[..at], &text[at..]);
                let _ = provision::config::parse(Path::new("t.yaml"), &mutated);
                parsed += 1;
            }
        }
    }
    assert!(parsed > 1000, "only {parsed} inputs");
}
