//! Text that came from elsewhere (AWS: metadata, keys, error messages; a file name recorded at
//! staging) made safe to print on a terminal. A leaf: every module may use it.
//!
//! Anyone who may write an object's metadata could otherwise put `ESC[2J` (clear the screen),
//! an OSC title sequence, a carriage return that overwrites "verified OK" onto a line, a
//! newline that forges a line of the layout, or a bidirectional override that reorders what
//! is shown. JSON output needs none of this: its encoder escapes control characters.

use std::borrow::Cow;

/// The bidirectional formatting controls: embeddings and overrides (U+202A–U+202E) and
/// isolates (U+2066–U+2069). They make the text shown differ from the text stored.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that must not reach a terminal as they are: C0 and C1 controls, DEL, and the
/// bidirectional controls.
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// `s` with every control character (newlines included) and bidirectional control written as
/// an escape: `\n`, `\r`, `\t`, else `\u{1b}`. Borrowed when there is nothing to escape.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_keeping(s, &[])
}

/// As [`escape`], but keeps the newlines (the lines of a multi-line message of our own).
pub fn escape_keeping_lines(s: &str) -> Cow<'_, str> {
    escape_keeping(s, &['\n'])
}

fn escape_keeping<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep.contains(&c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if keep.contains(&c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_are_escaped_and_plain_text_is_untouched() {
        assert!(matches!(escape("plain: ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            escape("\u{1b}]0;title\u{7}x"),
            "\\u{1b}]0;title\\u{7}x",
            "OSC title"
        );
        assert_eq!(escape("k\ney\r\t"), "k\\ney\\r\\t");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m", "C1 CSI");
        assert_eq!(escape("\u{7f}"), "\\u{7f}");
        assert_eq!(escape("a\u{202E}gpj.exe"), "a\\u{202e}gpj.exe");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(escape_keeping_lines("one\ntwo\u{1b}"), "one\ntwo\\u{1b}");
    }
}
