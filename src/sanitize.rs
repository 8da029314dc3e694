//! Makes text from the OS (process names, command lines) safe to print on a terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes control characters, bidirectional overrides and invisible characters, which could
/// move the cursor, recolour the terminal, reorder what the reader sees or make two different
/// names look alike (`ss\u{200b}hd` and `sshd`). A backslash is escaped too, so the text `\n`
/// and a real newline never look the same. Borrows when nothing needs escaping.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => safe.push_str("\\\\"),
            '\t' => safe.push_str("\\t"),
            '\n' => safe.push_str("\\n"),
            '\r' => safe.push_str("\\r"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                let _ = write!(safe, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(safe, "\\u{{{:x}}}", c as u32);
            }
            c => safe.push(c),
        }
    }
    Cow::Owned(safe)
}

fn needs_escape(c: char) -> bool {
    c == '\\' || c.is_control() || is_bidi(c) || is_invisible(c)
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// Characters that take no width and show nothing: zero-width spaces and joiners, line and
/// paragraph separators, word joiners and invisible operators, the byte-order mark, soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
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
        assert_eq!(sanitize("a\u{61c}b"), "a\\u{61c}b");
    }

    #[test]
    fn a_backslash_is_escaped_so_text_never_passes_for_a_control() {
        assert_eq!(sanitize("a\\nb"), "a\\\\nb");
        assert_ne!(sanitize("a\\nb"), sanitize("a\nb"));
    }

    #[test]
    fn invisible_characters_are_shown() {
        assert_eq!(sanitize("ss\u{200b}hd"), "ss\\u{200b}hd");
        for c in ['\u{2028}', '\u{2029}', '\u{feff}', '\u{200d}', '\u{2060}'] {
            let name = format!("ss{c}hd");
            assert_ne!(sanitize(&name), "sshd", "{:x}", c as u32);
            assert!(sanitize(&name).is_ascii(), "{:x}", c as u32);
        }
    }

    #[test]
    fn keeps_the_replacement_character_of_lossy_utf8() {
        let lossy = String::from_utf8_lossy(b"bad\xffname").into_owned();
        assert_eq!(sanitize(&lossy), "bad\u{fffd}name");
    }
}
