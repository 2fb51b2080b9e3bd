//! CSS and images under `/static/`: built in, or from `static_dir` when set.

use std::path::PathBuf;

use rocket::State;

use crate::app::App;
use crate::web::engine::Asset;

/// A static file. Rocket's `PathBuf` segments already refuse `..` and hidden names;
/// folders are not listed.
#[get("/static/<path..>")]
pub async fn asset(path: PathBuf, app: &State<App>) -> Option<Asset> {
    Asset::find(app.settings().static_dir.as_deref(), &path).await
}
