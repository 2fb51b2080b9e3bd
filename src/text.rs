//! Client text on its way to the database.

/// At most `max` characters of `s` without control characters: PostgreSQL refuses NUL
/// in text, and no name or search term needs any of them.
pub fn printable(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn drops_controls_and_truncates() {
        assert_eq!(super::printable("a\0l\u{7}i\nce", 64), "alice");
        assert_eq!(super::printable("ü€𝄞abc", 4), "ü€𝄞a");
    }
}
