//! Makes text from the OS (process names, command lines) safe to print on a terminal.

use std::borrow::Cow;

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
            c if is_unsafe(c) => safe.push_str(&escaped(c)),
            c => safe.push(c),
        }
    }
    Cow::Owned(safe)
}

fn needs_escape(c: char) -> bool {
    c == '\\' || is_unsafe(c)
}

/// A character a terminal acts on, or that reorders or hides text: what every escaper here
/// turns into text. (The backslash is not one: each escaper quotes it its own way.)
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi(c) || is_invisible(c)
}

/// `c` as text, as `sanitize` writes it: `\x1b`, `\u{200b}`.
pub fn escaped(c: char) -> String {
    match c {
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        c if (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// Characters that show nothing or a blank: zero-width spaces and joiners, line and paragraph
/// separators, word joiners and invisible operators, the byte-order mark, soft hyphen, the
/// combining grapheme joiner, variation selectors, tag characters and the Hangul fillers.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
            | '\u{e0100}'..='\u{e01ef}'
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
        let more = ['\u{fe0f}', '\u{e0041}', '\u{3164}', '\u{34f}', '\u{e0100}'];
        for c in ['\u{2028}', '\u{2029}', '\u{feff}', '\u{200d}', '\u{2060}']
            .into_iter()
            .chain(more)
        {
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
