//! CSS and images under `/static/`, from the `static_dir` setting.

use std::path::PathBuf;

use rocket::fs::NamedFile;
use rocket::State;

use crate::app::App;

/// A file of the static folder. Rocket's `PathBuf` segments already refuse `..` and
/// hidden names; folders are not listed.
#[get("/static/<path..>")]
pub async fn asset(path: PathBuf, app: &State<App>) -> Option<NamedFile> {
    let full = app.settings.static_dir.join(path);
    let is_file = rocket::tokio::fs::metadata(&full)
        .await
        .is_ok_and(|m| m.is_file());
    if !is_file {
        return None;
    }
    NamedFile::open(full).await.ok()
}
