//! Templates: the `t()` function and the `when` filter, and the per-language copies made
//! at start, in which every fixed text is already translated (a page then costs no
//! translation work per request).
//!
//! A call `{{ t(key="…", lang=…) }}` with a literal key and no other argument is replaced
//! by its escaped text; a call with arguments or a computed key stays and is translated
//! when the page renders. Any spacing, quote style and argument order is understood; a
//! test checks that every `t(` in the templates is one of these two kinds.

use std::collections::HashMap;

use tera::Value;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::i18n::{self, Arg, SUPPORTED};

/// The name of the copy of template `name` for `lang`. Ending in `.html` keeps Tera's
/// escaping and Rocket's text/html on for the copy.
pub fn compiled_name(name: &str, lang: &str) -> String {
    format!("{name}@{lang}.html")
}

/// Sets up the engine: `t()`, `when`, and the compiled copies. An error stops the start.
pub fn configure(
    tera: &mut tera::Tera,
    sources: &std::collections::BTreeMap<String, String>,
) -> tera::Result<()> {
    tera.register_filter("when", when);
    tera.register_filter("device", device);
    tera.register_function("t", translate);
    compile_translations(tera, sources)
}

/// `{{ t(key="…", lang=lang, n=3) }}`: other arguments become Fluent arguments.
pub fn translate(args: &HashMap<String, Value>) -> tera::Result<Value> {
    let key = args
        .get("key")
        .and_then(|v| v.as_str())
        .ok_or_else(|| tera::Error::msg("t: key missing"))?;
    let lang = args
        .get("lang")
        .and_then(|v| v.as_str())
        .unwrap_or(i18n::DEFAULT);
    let rest: Vec<(&str, Arg<'_>)> = args
        .iter()
        .filter(|(k, _)| *k != "key" && *k != "lang")
        .filter_map(|(k, v)| match v {
            Value::Number(n) => Some((k.as_str(), Arg::Number(n.as_i64()?))),
            Value::String(s) => Some((k.as_str(), Arg::Text(s.as_str()))),
            _ => None,
        })
        .collect();
    Ok(Value::String(i18n::format(lang, key, &rest)))
}

/// `{{ s.user_agent | device(lang=lang) }}`: "Firefox 128 on Linux".
pub fn device(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let lang = args
        .get("lang")
        .and_then(|v| v.as_str())
        .unwrap_or(i18n::DEFAULT);
    Ok(Value::String(crate::sessions::device::describe_in(
        value.as_str().unwrap_or_default(),
        lang,
    )))
}

/// `{{ t | when }}`: Unix seconds as `2026-11-27 21:40 UTC` (empty for none).
pub fn when(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let Some(secs) = value.as_i64() else {
        return Ok(Value::String(String::new()));
    };
    let text = OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default();
    Ok(Value::String(text))
}

/// One `{{ t(…) }}` in a template source.
#[derive(Debug)]
struct Call<'a> {
    /// Byte range of the whole `{{ … }}`.
    span: std::ops::Range<usize>,
    /// The key, when it is a string literal and `lang` is the only other argument.
    fixed_key: Option<&'a str>,
}

/// Skips spaces, tabs and newlines.
fn skip_ws(s: &str, i: usize) -> usize {
    s[i..]
        .find(|c: char| !c.is_whitespace())
        .map_or(s.len(), |n| i + n)
}

/// If the `{{` at `i` opens a `{{ t(`, where its arguments begin.
fn call_start(s: &str, i: usize) -> Option<usize> {
    let mut j = i + 2;
    j += usize::from(s[j..].starts_with('-'));
    j = skip_ws(s, j);
    s[j..].strip_prefix('t')?;
    j = skip_ws(s, j + 1);
    s[j..].strip_prefix('(').map(|_| j + 1)
}

/// If `}}` (with optional spaces and `-`) starts at `i`, where it ends.
fn call_end(s: &str, i: usize) -> Option<usize> {
    let mut j = skip_ws(s, i);
    j += usize::from(s[j..].starts_with('-'));
    s[j..].strip_prefix("}}").map(|_| j + 2)
}

/// Every `t(` (a `t` that is not the end of a longer name, then an opening parenthesis).
fn any_t(s: &str) -> Vec<usize> {
    let bytes = s.as_bytes();
    s.match_indices('t')
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        .filter(|&i| s[skip_ws(s, i + 1)..].starts_with('('))
        .collect()
}

/// Splits the arguments of a call that starts at `args` (just after `(`): returns them
/// as (name, value) pairs and the byte length up to and including the closing `)`.
fn split_args(args: &str) -> Option<(Vec<(&str, &str)>, usize)> {
    let (mut depth, mut quote, mut start) = (0usize, None::<char>, 0usize);
    let mut parts = Vec::new();
    for (i, c) in args.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')') if depth == 0 => {
                parts.push(&args[start..i]);
                let pairs = parts
                    .into_iter()
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| {
                        let (name, value) = p.split_once('=')?;
                        Some((name.trim(), value.trim()))
                    })
                    .collect::<Option<Vec<_>>>()?;
                return Some((pairs, i + 1));
            }
            (None, ')' | ']') => depth = depth.checked_sub(1)?,
            (None, ',') if depth == 0 => {
                parts.push(&args[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    None
}

fn string_literal(value: &str) -> Option<&str> {
    let first = value.chars().next()?;
    if !matches!(first, '"' | '\'' | '`') || value.len() < 2 || !value.ends_with(first) {
        return None;
    }
    let inner = &value[1..value.len() - 1];
    (!inner.contains(first)).then_some(inner)
}

fn find_calls(source: &str) -> Vec<Call<'_>> {
    let mut calls = Vec::new();
    for (start, _) in source.match_indices("{{") {
        let Some(args_at) = call_start(source, start) else {
            continue;
        };
        let Some((args, used)) = split_args(&source[args_at..]) else {
            continue;
        };
        let Some(end) = call_end(source, args_at + used) else {
            continue;
        };
        let key = args.iter().find(|(n, _)| *n == "key").map(|(_, v)| *v);
        let only_key_and_lang = args.iter().all(|(n, _)| *n == "key" || *n == "lang");
        calls.push(Call {
            span: start..end,
            fixed_key: key.and_then(string_literal).filter(|_| only_key_and_lang),
        });
    }
    calls
}

/// Every `t(` in `source` that is not part of a `{{ t(…) }}` this module understands.
pub fn unhandled_calls(source: &str) -> Vec<String> {
    let calls = find_calls(source);
    any_t(source)
        .into_iter()
        .filter(|at| !calls.iter().any(|c| c.span.contains(at)))
        .map(|at| source[at..].chars().take(60).collect())
        .collect()
}

/// How many `{{ t(…) }}` calls in `source` are fixed (translated at start) and how many
/// are left to translate when the page renders.
pub fn call_counts(source: &str) -> (usize, usize) {
    let calls = find_calls(source);
    let fixed = calls.iter().filter(|c| c.fixed_key.is_some()).count();
    (fixed, calls.len() - fixed)
}

/// `source` with every fixed `{{ t(key="…", lang=…) }}` replaced by its escaped text in
/// `lang`, and `extends`/`include` pointing at the same language's copies.
pub fn translate_source(source: &str, lang: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut done = 0;
    for call in find_calls(source) {
        if let Some(key) = call.fixed_key {
            out.push_str(&source[done..call.span.start]);
            out.push_str(&crate::text::escape_html(&i18n::text(lang, key, &[])));
            done = call.span.end;
        }
    }
    out.push_str(&source[done..]);
    link_copies(&out, lang)
}

/// `{% extends "x" %}` and `{% include "x" %}` with `x` replaced by its copy for `lang`.
fn link_copies(source: &str, lang: &str) -> String {
    let mut out = String::with_capacity(source.len() + 64);
    let mut done = 0;
    for (start, _) in source.match_indices("{%") {
        let mut j = start + 2;
        j += usize::from(source[j..].starts_with('-'));
        j = skip_ws(source, j);
        let Some(keyword) = ["extends", "include"]
            .into_iter()
            .find(|k| source[j..].starts_with(k))
        else {
            continue;
        };
        j = skip_ws(source, j + keyword.len());
        let Some(quote) = source[j..]
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'))
        else {
            continue;
        };
        let Some(len) = source[j + 1..].find(quote) else {
            continue;
        };
        let name = &source[j + 1..j + 1 + len];
        out.push_str(&source[done..j + 1]);
        out.push_str(&compiled_name(name, lang));
        done = j + 1 + len;
    }
    out.push_str(&source[done..]);
    out
}

/// Adds the copy `<name>@<lang>.html` of every template for every language.
fn compile_translations(
    tera: &mut tera::Tera,
    sources: &std::collections::BTreeMap<String, String>,
) -> tera::Result<()> {
    let mut translated = Vec::new();
    for lang in SUPPORTED {
        for (name, source) in sources {
            translated.push((compiled_name(name, lang), translate_source(source, lang)));
        }
    }
    tera.add_raw_templates(translated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_calls_are_compiled_in_any_spelling() {
        for source in [
            r#"{{ t(key="nav-sign-in", lang=lang) }}"#,
            r#"{{t(key='nav-sign-in',lang=l)}}"#,
            r#"{{- t( lang=lang | default(value="en"), key="nav-sign-in" ) -}}"#,
        ] {
            let out = translate_source(source, "en");
            assert_eq!(out, i18n::text("en", "nav-sign-in", &[]), "{source}");
            assert!(unhandled_calls(source).is_empty());
        }
    }

    #[test]
    fn calls_with_arguments_or_computed_keys_stay() {
        for source in [
            r#"{{ t(key="reset-help", lang=lang, min=min_length) }}"#,
            r#"{{ t(key=notice, lang=lang) }}"#,
        ] {
            assert_eq!(translate_source(source, "en"), source);
            assert_eq!(call_counts(source), (0, 1));
            assert!(unhandled_calls(source).is_empty());
        }
    }

    #[test]
    fn a_call_outside_print_tags_is_reported() {
        let source = r#"{% set x = t(key="skip", lang=lang) %}{{ x }}"#;
        assert_eq!(unhandled_calls(source).len(), 1);
    }

    #[test]
    fn links_point_at_the_same_language() {
        let out = translate_source(r#"{% extends "base" %}{%- include 'admin/events' %}"#, "ko");
        assert_eq!(
            out,
            r#"{% extends "base@ko.html" %}{%- include 'admin/events@ko.html' %}"#
        );
    }
}
