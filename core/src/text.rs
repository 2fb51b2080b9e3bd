//! Client text on its way to the database.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// What a URL query value keeps as it is (as JavaScript's `encodeURIComponent`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `s` percent-encoded for a query value: `https://a/b?c` → `https%3A%2F%2Fa%2Fb%3Fc`.
pub fn query_value(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// `text` safe to put into HTML as text or inside a quoted attribute: `& < > " '` become
/// character references, and so do `{` and `}`, so that the text can also stand inside a
/// Tera template's source without being read as a tag (the per-language copies of the
/// templates are made that way). The one HTML escaper: pages, mails and the templates'
/// fixed texts all use it (a page rendered by Tera is escaped by Tera itself).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `c` may be stored and shown: not a control character (PostgreSQL refuses NUL
/// in text) and not a format character (bidi overrides and isolates, zero-width joiners,
/// tags…), which would let a name display as something it is not.
pub fn is_printable(c: char) -> bool {
    !c.is_control() && c.general_category() != GeneralCategory::Format
}

/// At most `max` characters of `s` without control or format characters: no name, user
/// agent or search term needs any of them.
pub fn printable(s: &str, max: usize) -> String {
    s.chars().filter(|c| is_printable(*c)).take(max).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_template_braces() {
        assert_eq!(
            super::escape_html(r#"<a href="x" title='y'>&{{ z }}</a>"#),
            "&lt;a href=&quot;x&quot; title=&#x27;y&#x27;&gt;&amp;&#123;&#123; z &#125;&#125;&lt;/a&gt;"
        );
        assert_eq!(super::escape_html("plain ü"), "plain ü");
    }

    #[test]
    fn drops_controls_and_truncates() {
        assert_eq!(super::printable("a\0l\u{7}i\nce", 64), "alice");
        assert_eq!(super::printable("ü€𝄞abc", 4), "ü€𝄞a");
        // Right-to-left override, isolates, zero-width joiner, byte-order mark, tag.
        assert_eq!(
            super::printable(
                "ad\u{202E}nim\u{2066}x\u{2069}\u{200D}\u{FEFF}\u{E0041}",
                64
            ),
            "adnimx"
        );
    }
}
