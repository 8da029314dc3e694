//! Makes text from the OS (process names, command lines) safe to print on a terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes control characters and bidirectional overrides, which could move the cursor,
/// recolour the terminal or reorder what the reader sees. Borrows when nothing needs escaping.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => safe.push_str("\\t"),
            '\n' => safe.push_str("\\n"),
            '\r' => safe.push_str("\\r"),
            c if is_unsafe(c) && (c as u32) < 0x100 => {
                let _ = write!(safe, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(safe, "\\u{{{:x}}}", c as u32);
            }
            c => safe.push(c),
        }
    }
    Cow::Owned(safe)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_plain_text_borrowed() {
        assert!(matches!(
            sanitize("nginx: worker process"),
            Cow::Borrowed(_)
        ));
        assert_eq!(sanitize("名前"), "名前");
    }

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(sanitize("\x1b[31mevil"), "\\x1b[31mevil");
        assert_eq!(sanitize("a\tb\nc\r"), "a\\tb\\nc\\r");
        assert_eq!(
            sanitize("bell\x07 del\x7f c1\u{9b}"),
            "bell\\x07 del\\x7f c1\\x9b"
        );
    }

    #[test]
    fn escapes_bidi_overrides() {
        assert_eq!(sanitize("txt\u{202e}exe"), "txt\\u{202e}exe");
        assert_eq!(sanitize("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
    }

    #[test]
    fn keeps_the_replacement_character_of_lossy_utf8() {
        let lossy = String::from_utf8_lossy(b"bad\xffname").into_owned();
        assert_eq!(sanitize(&lossy), "bad\u{fffd}name");
    }
}
