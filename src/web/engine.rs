//! Page templates and static files, embedded in the binary at build time (`templates/`,
//! `static/`), so that it runs from any folder. `template_dir` and `static_dir`, when set,
//! name folders of customised copies: a file there is used instead of the built-in one of
//! the same name.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::Request;
use serde::Serialize;

#[derive(rust_embed::RustEmbed)]
#[folder = "templates/"]
struct EmbeddedTemplates;

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct EmbeddedStatic;

/// `context! { user, title: "…" }`: the values of a page, as a JSON object (a name
/// alone takes the variable of that name).
#[macro_export]
macro_rules! context {
    (@insert $map:ident, $key:ident) => {
        $crate::context!(@insert $map, $key, $key)
    };
    (@insert $map:ident, $key:ident, $value:expr) => {
        $map.insert(
            stringify!($key).to_string(),
            ::serde_json::to_value(&$value).unwrap_or(::serde_json::Value::Null),
        );
    };
    ($($key:ident $(: $value:expr)?),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut map = ::serde_json::Map::new();
        $( $crate::context!(@insert map, $key $(, $value)?); )*
        ::serde_json::Value::Object(map)
    }};
}

/// The template name of a source file: its path without `.html.tera` (`auth/login`).
fn template_name(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".tera")?;
    Some(
        stem.strip_suffix(".html")
            .unwrap_or(stem)
            .replace('\\', "/"),
    )
}

/// Every `.tera` file under `dir`, by template name.
fn read_folder(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| format!("setting `template_dir`: cannot read {}: {e}", d.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(dir) else {
                continue;
            };
            if let Some(name) = template_name(&relative.to_string_lossy()) {
                let source = std::fs::read_to_string(&path).map_err(|e| {
                    format!(
                        "setting `template_dir`: cannot read {}: {e}",
                        path.display()
                    )
                })?;
                out.insert(name, source);
            }
        }
    }
    Ok(out)
}

/// The page engine: Tera with every template (built in, or customised), the `t()`
/// function, the `when` filter, and the per-language copies.
pub struct Pages(tera::Tera);

impl Pages {
    /// Loads the built-in templates, then those of `custom` (which win). An error names
    /// the setting or the template.
    pub fn load(custom: Option<&Path>) -> Result<Pages, String> {
        let mut sources = BTreeMap::new();
        for path in EmbeddedTemplates::iter() {
            let (Some(name), Some(file)) = (template_name(&path), EmbeddedTemplates::get(&path))
            else {
                continue;
            };
            let source = String::from_utf8(file.data.into_owned())
                .map_err(|_| format!("template {path} is not UTF-8"))?;
            sources.insert(name, source);
        }
        if let Some(dir) = custom {
            if !dir.is_dir() {
                return Err(format!(
                    "setting `template_dir`: {:?} is not a folder (leave it unset to use the \
                     built-in pages)",
                    dir.display().to_string()
                ));
            }
            sources.extend(read_folder(dir)?);
        }
        let mut tera = tera::Tera::default();
        tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())))
            .map_err(|e| format!("templates: {e:?}"))?;
        super::templates::configure(&mut tera, &sources).map_err(|e| format!("templates: {e}"))?;
        Ok(Pages(tera))
    }

    pub fn render(&self, name: &str, context: serde_json::Value) -> Result<String, String> {
        let context = tera::Context::from_value(context).map_err(|e| format!("{e:?}"))?;
        self.0.render(name, &context).map_err(|e| {
            // Tera's own message is in the error's sources.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            message
        })
    }
}

/// A page to render: a template name and its values.
pub struct Template {
    name: Cow<'static, str>,
    context: serde_json::Value,
}

impl Template {
    pub fn render(name: impl Into<Cow<'static, str>>, context: impl Serialize) -> Template {
        Template {
            name: name.into(),
            context: serde_json::to_value(context).unwrap_or(serde_json::Value::Null),
        }
    }
}

impl<'r> Responder<'r, 'static> for Template {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let Some(pages) = req.rocket().state::<Pages>() else {
            log::error!("no page engine");
            return Err(Status::InternalServerError);
        };
        match pages.render(&self.name, self.context) {
            Ok(html) => (ContentType::HTML, html).respond_to(req),
            Err(e) => {
                log::error!("page {}: {e}", self.name);
                Err(Status::InternalServerError)
            }
        }
    }
}

/// A static file: from `static_dir` when set and the file is there, else built in.
pub enum Asset {
    File(rocket::fs::NamedFile),
    Embedded(ContentType, Cow<'static, [u8]>),
}

impl Asset {
    /// `path` has been checked by Rocket's `PathBuf` segments (no `..`, no hidden names).
    pub async fn find(custom: Option<&Path>, path: &Path) -> Option<Asset> {
        if let Some(dir) = custom {
            let full: PathBuf = dir.join(path);
            let is_file = rocket::tokio::fs::metadata(&full)
                .await
                .is_ok_and(|m| m.is_file());
            if is_file {
                return rocket::fs::NamedFile::open(full)
                    .await
                    .ok()
                    .map(Asset::File);
            }
        }
        let name = path.to_str()?.replace('\\', "/");
        let file = EmbeddedStatic::get(&name)?;
        let kind = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(ContentType::from_extension)
            .unwrap_or(ContentType::Binary);
        Some(Asset::Embedded(kind, file.data))
    }
}

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Asset::File(f) => f.respond_to(req),
            Asset::Embedded(kind, data) => (kind, data.into_owned()).respond_to(req),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_drop_the_extensions() {
        assert_eq!(
            template_name("auth/login.html.tera").as_deref(),
            Some("auth/login")
        );
        assert_eq!(template_name("base.html.tera").as_deref(), Some("base"));
        assert_eq!(template_name("app.css"), None);
    }

    #[test]
    fn the_context_macro_takes_names_and_values() {
        let user = "alice";
        let v = context! { user, n: 3, heading: "t" };
        assert_eq!(
            v,
            serde_json::json!({ "user": "alice", "n": 3, "heading": "t" })
        );
    }
}
