//! Page templates and static files, embedded in the binary at build time (`templates/`,
//! `static/`), so that it runs from any folder. `template_dir` and `static_dir`, when set,
//! name folders of customised copies: a file there is used instead of the built-in one of
//! the same name.
//!
//! Pages are rendered by `rocket_dyn_templates` with Tera (`Template`, its fairing from
//! `fairing`): its `Template::custom` callback loads the built-in templates, the
//! customised ones and the per-language copies into its Tera instance. Its loader also
//! reads a folder of its own (`template_dir`, the customised copies); when none is set it
//! is pointed at an empty folder (`empty_folder`), since it refuses to start without one.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rocket::fairing::Fairing;
use rocket::http::ContentType;
use rocket::response::{self, Responder};
use rocket::Request;

/// The page responder: a template name and its values, rendered by the template fairing.
pub use rocket_dyn_templates::Template;

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

/// Every template source: the built-in ones, then those of `custom` (which win). An
/// error names the setting or the template.
fn sources(custom: Option<&Path>) -> Result<BTreeMap<String, String>, String> {
    let mut sources = BTreeMap::new();
    for path in EmbeddedTemplates::iter() {
        let (Some(name), Some(file)) = (template_name(&path), EmbeddedTemplates::get(&path)) else {
            continue;
        };
        let source = String::from_utf8(file.data.into_owned())
            .map_err(|_| format!("template {path} is not UTF-8"))?;
        sources.insert(name, source);
    }
    if let Some(dir) = custom {
        check_template_dir(dir)?;
        sources.extend(read_folder(dir)?);
    }
    Ok(sources)
}

/// Refuses a `template_dir` that is not a folder, naming the setting.
fn check_template_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "setting `template_dir`: {:?} is not a folder (leave it unset to use the \
             built-in pages)",
            dir.display().to_string()
        ))
    }
}

/// Puts every template (built in, or customised from `custom`), the `t()` function, the
/// `when` and `device` filters and the per-language copies into `tera`. Templates that
/// `tera` already holds under the same names (the template fairing's loader reads
/// `template_dir` itself) are replaced by the same sources.
pub fn fill(tera: &mut tera::Tera, custom: Option<&Path>) -> Result<(), String> {
    let sources = sources(custom)?;
    tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())))
        .map_err(|e| format!("templates: {e:?}"))?;
    super::templates::configure(tera, &sources).map_err(|e| format!("templates: {e}"))
}

/// The template fairing (`rocket_dyn_templates` with Tera), filled by `fill` with the
/// templates of `custom` (the `template_dir` setting) over the built-in ones.
pub fn fairing(custom: Option<PathBuf>) -> impl Fairing {
    Template::try_custom(move |engines| Ok(fill(&mut engines.tera, custom.as_deref())?))
}

/// The folder the template fairing's loader is pointed at when `template_dir` is unset:
/// it refuses a folder that does not exist, and reads every `.tera` file under the one
/// it is given (then replaced by `fill`), so this one is empty. It is made in the
/// system's temporary folder, once per user (mode 0700).
pub fn empty_folder() -> PathBuf {
    let user = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m).to_string())
        .unwrap_or_else(|_| "user".into());
    std::env::temp_dir().join(format!("gatehouse-{user}-no-templates"))
}

/// Makes `empty_folder()` if it is missing, and checks that it is a folder with nothing
/// in it (not a link: someone else may have made it). An error names the setting.
pub fn make_empty_folder(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let bad = |why: String| {
        format!(
            "setting `template_dir` is unset, and the empty folder the template engine needs \
             in its place, {}, {why}; set `template_dir` to an empty folder",
            dir.display()
        )
    };
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(bad(format!("cannot be made: {e}"))),
    }
    let is_dir = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
    let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    if is_dir && empty {
        Ok(())
    } else {
        Err(bad("is not an empty folder".into()))
    }
}

/// The page engine as the server builds it, on its own: Tera with every template (built
/// in, or customised), `t()`, the filters and the per-language copies. For checks and
/// tests; the server renders through the template fairing.
pub struct Pages(tera::Tera);

impl Pages {
    /// Loads the built-in templates, then those of `custom` (which win). An error names
    /// the setting or the template.
    pub fn load(custom: Option<&Path>) -> Result<Pages, String> {
        let mut tera = tera::Tera::default();
        fill(&mut tera, custom)?;
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
    fn the_empty_folder_is_made_once_and_refused_when_not_empty() {
        let dir = std::env::temp_dir().join(format!("gatehouse-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(make_empty_folder(&dir), Ok(()));
        assert_eq!(make_empty_folder(&dir), Ok(()), "made once, then reused");
        assert!(std::fs::write(dir.join("page.html.tera"), "{{ x }}").is_ok());
        let refused = make_empty_folder(&dir);
        assert!(refused.is_err_and(|e| e.contains("setting `template_dir`")));
        let _ = std::fs::remove_dir_all(&dir);
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
