//! Languages: every user-facing string lives in `locales/<lang>/main.ftl` (Fluent). This
//! module is the catalogue; which language a request gets is decided in `web::lang`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, Loader};
use unic_langid::LanguageIdentifier;

static_loader! {
    static LOCALES = {
        locales: "../locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the output is HTML.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages pages come in; the first is the default for everything else.
pub const SUPPORTED: [&str; 2] = ["en", "ko"];
pub const DEFAULT: &str = SUPPORTED[0];

/// The supported code matching `code` (any case), if there is one.
pub fn supported(code: &str) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .copied()
        .find(|s| code.eq_ignore_ascii_case(s))
}

/// Where `lang` sits in `SUPPORTED` (the default language for anything else).
fn index(lang: &str) -> usize {
    SUPPORTED.iter().position(|s| *s == lang).unwrap_or(0)
}

/// Each supported language's identifier, parsed once (never per string).
static IDS: LazyLock<Vec<LanguageIdentifier>> = LazyLock::new(|| {
    SUPPORTED
        .iter()
        .map(|code| code.parse().unwrap_or_default())
        .collect()
});

fn id(lang: &str) -> &'static LanguageIdentifier {
    &IDS[index(lang)]
}

/// Texts without arguments never change, so each is formatted once per language and
/// kept: pages look up a dozen of them per request. Keys come from the code and the
/// templates, never from clients, so each memo is bounded by the catalogue. One memo per
/// supported language.
static FIXED: LazyLock<Vec<RwLock<HashMap<String, String>>>> =
    LazyLock::new(|| SUPPORTED.iter().map(|_| RwLock::default()).collect());

fn fixed_text(lang: &str, key: &str) -> String {
    let memo = &FIXED[index(lang)];
    if let Some(text) = memo.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return text.clone();
    }
    let text = LOCALES.lookup(id(lang), key);
    memo.write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_string(), text.clone());
    text
}

/// An argument of a message.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Number(i64),
    Text(&'a str),
}

/// The text of `key` in `lang` (the default language when `lang` is not supported).
pub fn text(lang: &str, key: &str, args: &[(&str, i64)]) -> String {
    if args.is_empty() {
        return fixed_text(lang, key);
    }
    let args: Vec<(&str, Arg<'_>)> = args.iter().map(|(k, v)| (*k, Arg::Number(*v))).collect();
    format(lang, key, &args)
}

/// As `text`, with arguments of any kind.
pub fn format(lang: &str, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    if args.is_empty() {
        return fixed_text(lang, key);
    }
    let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Arg::Number(n) => FluentValue::from(*n),
                Arg::Text(s) => FluentValue::from(s.to_string()),
            };
            (Cow::Owned(k.to_string()), value)
        })
        .collect();
    LOCALES.lookup_with_args(id(lang), key, &args)
}

/// A message to show a person, translated when the page is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<(&'static str, i64)>,
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message {
            key,
            args: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: i64) -> Message {
        self.args.push((name, value));
        self
    }

    pub fn text(&self, lang: &str) -> String {
        text(lang, self.key, &self.args)
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(DEFAULT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_language_has_its_own_identifier_and_memo() {
        assert_eq!(IDS.len(), SUPPORTED.len());
        assert_eq!(FIXED.len(), SUPPORTED.len());
        for (i, code) in SUPPORTED.iter().enumerate() {
            assert_eq!(IDS[i].language.as_str(), *code);
            assert_eq!(index(code), i);
        }
        assert_eq!(index("xx"), 0, "unsupported languages get the default");
    }

    #[test]
    fn texts_differ_by_language_and_fall_back_to_the_default() {
        let en = text("en", "nav-sign-in", &[]);
        let ko = text("ko", "nav-sign-in", &[]);
        assert_ne!(en, ko);
        assert_eq!(text("xx", "nav-sign-in", &[]), en);
    }
}
