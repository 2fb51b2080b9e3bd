//! Languages: every user-facing string lives in `locales/<lang>/main.ftl` (Fluent). The
//! language comes from the `lang` cookie (set by the switch in every page's footer),
//! else from `Accept-Language`, else English.

use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, Loader};
use rocket::http::{Cookie, SameSite};
use rocket::request::{FromRequest, Outcome, Request};
use rocket_dyn_templates::tera;
use serde::Serialize;
use unic_langid::LanguageIdentifier;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: the output is HTML.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

pub const SUPPORTED: [&str; 2] = ["en", "ko"];
pub const COOKIE: &str = "lang";

/// The identifier of a supported language, built at compile time (no parsing per string).
fn id(lang: &str) -> LanguageIdentifier {
    match lang {
        "ko" => unic_langid::langid!("ko"),
        _ => unic_langid::langid!("en"),
    }
}

/// Texts without arguments never change, so each is formatted once per language and
/// kept: pages look up a dozen of them per request. Keys come from the code and the
/// templates, never from clients, so the memo is bounded by the catalogue.
static FIXED: std::sync::LazyLock<[std::sync::RwLock<HashMap<String, String>>; 2]> =
    std::sync::LazyLock::new(Default::default);

fn fixed_text(lang: &str, key: &str) -> String {
    let memo = &FIXED[usize::from(lang == "ko")];
    if let Some(text) = memo.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return text.clone();
    }
    let text = LOCALES.lookup(&id(lang), key);
    memo.write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_string(), text.clone());
    text
}

/// The text of `key` in `lang`, with arguments.
pub fn text(lang: &str, key: &str, args: &[(&str, i64)]) -> String {
    if args.is_empty() {
        return fixed_text(lang, key);
    }
    let args: HashMap<std::borrow::Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(k, v)| {
            (
                std::borrow::Cow::Owned(k.to_string()),
                FluentValue::from(*v),
            )
        })
        .collect();
    LOCALES.lookup_with_args(&id(lang), key, &args)
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
        f.write_str(&self.text("en"))
    }
}

/// `{{ t(key="…", lang=lang, n=3) }}` in templates; other arguments become Fluent
/// arguments.
pub fn tera_function(args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let key = args
        .get("key")
        .and_then(|v| v.as_str())
        .ok_or_else(|| tera::Error::msg("t: key missing"))?;
    let lang = args.get("lang").and_then(|v| v.as_str()).unwrap_or("en");
    if args.len() <= 2 {
        return Ok(tera::Value::String(fixed_text(lang, key)));
    }
    let numbers: Vec<(&str, i64)> = args
        .iter()
        .filter(|(k, _)| *k != "key" && *k != "lang")
        .filter_map(|(k, v)| Some((k.as_str(), v.as_i64()?)))
        .collect();
    let strings: Vec<(&str, &str)> = args
        .iter()
        .filter(|(k, _)| *k != "key" && *k != "lang")
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    let text = if strings.is_empty() {
        text(lang, key, &numbers)
    } else {
        let mut all: HashMap<std::borrow::Cow<'static, str>, FluentValue<'_>> = HashMap::new();
        for (k, v) in &numbers {
            all.insert(k.to_string().into(), FluentValue::from(*v));
        }
        for (k, v) in &strings {
            all.insert(k.to_string().into(), FluentValue::from(v.to_string()));
        }
        LOCALES.lookup_with_args(&id(lang), key, &all)
    };
    Ok(tera::Value::String(text))
}

/// The language of this request, and links to this page in each language.
#[derive(Debug, Clone, Serialize)]
pub struct Lang {
    pub code: &'static str,
    /// This page with `lang=<code>` for the language switch.
    pub switch: Vec<(&'static str, String)>,
}

fn supported(code: &str) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .copied()
        .find(|s| code.eq_ignore_ascii_case(s))
}

impl Lang {
    /// Works it out once per request (cached), setting the cookie when `?lang=` asks.
    pub fn of(req: &Request<'_>) -> Lang {
        req.local_cache(|| {
            let from_query = req
                .query_value::<&str>("lang")
                .and_then(|r| r.ok())
                .and_then(supported);
            if let Some(code) = from_query {
                let secure = req
                    .rocket()
                    .state::<crate::App>()
                    .is_none_or(|a| a.settings.cookie_secure);
                req.cookies().add(
                    Cookie::build((COOKIE, code))
                        .path("/")
                        .same_site(SameSite::Lax)
                        .secure(secure)
                        .http_only(true)
                        .max_age(time::Duration::days(365)),
                );
            }
            let code = from_query
                .or_else(|| req.cookies().get(COOKIE).and_then(|c| supported(c.value())))
                .or_else(|| {
                    // In the client's order of preference; "ko-KR" counts as "ko".
                    let header = req.headers().get_one("Accept-Language")?;
                    accept_language::parse(header)
                        .iter()
                        .find_map(|tag| supported(tag.split('-').next().unwrap_or_default()))
                })
                .unwrap_or("en");
            let path = req.uri().path().to_string();
            let switch = SUPPORTED
                .iter()
                .map(|l| (*l, format!("{path}?lang={l}")))
                .collect();
            Lang { code, switch }
        })
        .clone()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Lang {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Lang::of(req))
    }
}

/// Renders `name` with `context` plus the request's language.
pub fn page(
    name: &'static str,
    lang: &Lang,
    context: impl Serialize,
) -> rocket_dyn_templates::Template {
    let mut value = serde_json::to_value(context).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("lang".into(), serde_json::Value::String(lang.code.into()));
        map.insert(
            "lang_switch".into(),
            serde_json::to_value(&lang.switch).unwrap_or_default(),
        );
    }
    // The copy of the template with this language's fixed texts compiled in (see
    // `compile_translations`); the plain one still works with `t()` if it is missing.
    rocket_dyn_templates::Template::render(format!("{name}@{}.html", lang.code), value)
}

fn escape_html(text: &str) -> String {
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

/// `source` with every argument-free `{{ t(key="…", lang=…) }}` replaced by its escaped
/// text in `lang`, and `extends`/`include` pointing at the same language's copies.
pub fn translate_source(source: &str, lang: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{ t(key=\"") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{ t(key=\"".len()..];
        let fixed = after.find('"').and_then(|end| {
            let key = &after[..end];
            let tail = &after[end + 1..];
            [", lang=lang) }}", ", lang=l) }}"]
                .iter()
                .find(|t| tail.starts_with(**t))
                .map(|t| (key, end + 1 + t.len()))
        });
        match fixed {
            Some((key, used)) => {
                out.push_str(&escape_html(&fixed_text(lang, key)));
                rest = &after[used..];
            }
            None => {
                out.push_str("{{ t(key=\"");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let mut linked = out;
    for keyword in ["extends", "include"] {
        let marker = format!("{{% {keyword} \"");
        let mut result = String::with_capacity(linked.len());
        let mut rest = linked.as_str();
        while let Some(start) = rest.find(&marker) {
            let after = &rest[start + marker.len()..];
            let Some(end) = after.find('"') else { break };
            result.push_str(&rest[..start + marker.len()]);
            result.push_str(&format!("{}@{lang}.html", &after[..end]));
            rest = &after[end..];
        }
        result.push_str(rest);
        linked = result;
    }
    linked
}

/// Adds `<name>@<lang>.html` for every template and language, with the fixed texts compiled
/// in: a page then costs no translation work per request.
pub fn compile_translations(tera: &mut tera::Tera) {
    let sources: Vec<(String, String)> = tera
        .get_template_names()
        .filter_map(|name| {
            let path = tera.get_template(name).ok()?.path.clone()?;
            Some((name.to_string(), std::fs::read_to_string(path).ok()?))
        })
        .collect();
    let mut translated = Vec::new();
    for lang in SUPPORTED {
        for (name, source) in &sources {
            // Ending in .html keeps Tera's escaping and Rocket's text/html on for the copy.
            translated.push((
                format!("{name}@{lang}.html"),
                translate_source(source, lang),
            ));
        }
    }
    if let Err(e) = tera.add_raw_templates(translated) {
        log::error!("compiling translated templates: {e}");
    }
}
