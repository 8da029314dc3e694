//! Text measured and cut in terminal columns: the leaf every presenter's layout stands on. It
//! knows text, not columns or sockets.

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Terminal columns `text` takes. Nearly every cell is ASCII, where that is its length: the
/// general count showed up in profiles of large tables.
pub fn display_width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.width()
    }
}

/// `:8080` of `[::1]:8080`; empty when the text is not an address.
pub fn port_suffix(text: &str) -> &str {
    match text.rfind(':') {
        Some(colon) if text[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => &text[colon..],
        _ => "",
    }
}

/// An address cut to `width` in the middle of its host, never its port: `127…0.1:8080`.
pub fn cut_address(text: &str, width: usize) -> Cow<'_, str> {
    if display_width(text) <= width {
        return Cow::Borrowed(text);
    }
    let suffix = port_suffix(text);
    let host = &text[..text.len() - suffix.len()];
    let room = width.saturating_sub(suffix.len() + 1);
    let head = room / 2;
    Cow::Owned(format!(
        "{}…{}{suffix}",
        cut(host, head),
        tail(host, room - head)
    ))
}

/// Text cut to `width` at its end, with an ellipsis.
pub fn cut_end(text: &str, width: usize) -> Cow<'_, str> {
    if display_width(text) <= width {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("{}…", cut(text, width.saturating_sub(1))))
}

/// ss's short name for ESTABLISHED, the one long state; the others are already short.
pub fn short_state(text: &str) -> &str {
    if text == "ESTABLISHED" { "ESTAB" } else { text }
}

/// The longest prefix of `text` at most `width` columns wide.
fn cut(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        used += c.width().unwrap_or(0);
        if used > width {
            return &text[..at];
        }
    }
    text
}

/// The longest suffix of `text` at most `width` columns wide.
fn tail(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (at, c) in text.char_indices().rev() {
        used += c.width().unwrap_or(0);
        if used > width {
            return &text[at + c.len_utf8()..];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cut_in_the_middle_and_keep_their_port() {
        assert_eq!(cut_address("127.0.0.1:8080", 12), "127…0.1:8080");
        assert_eq!(cut_address("127.0.0.2:8080", 12), "127…0.2:8080");
        assert_eq!(cut_address("[2001:db8::99]:60022", 16), "[200…::99]:60022");
        assert_eq!(cut_address("[::1]:80", 8), "[::1]:80");
    }

    #[test]
    fn text_is_cut_by_display_width() {
        assert_eq!(cut_end("postgres", 5), "post…");
        assert_eq!(cut_end("名前名前", 5), "名前…");
        assert_eq!(tail("名前名前", 5), "名前");
        assert_eq!(display_width("名前"), 4);
    }
}
