//! Gatehouse: password sign-in with a JWT access cookie and rotating refresh tokens.

#[macro_use]
extern crate rocket;

pub mod accounts;
pub mod app;
pub mod audit;
pub mod config;
pub mod db;
pub mod error;
pub mod i18n;
pub mod metrics;
pub mod random;
pub mod sessions;
pub mod text;
pub mod web;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::fs::{FileServer, Options};
use rocket::{Build, Rocket};
use rocket_dyn_templates::Template;

pub use app::App;

/// Rocket's own configuration sources (Rocket.toml, `ROCKET_*`), as the server reads them.
pub fn figment() -> Figment {
    rocket::Config::figment()
}

/// The whole application on the given configuration: every route, fairing and catcher.
pub fn rocket(figment: Figment) -> Rocket<Build> {
    // Never announce the server, and never trust X-Real-IP: the client address comes
    // from `web::client`, which only believes configured proxies.
    let figment = figment.merge(("ident", false)).merge(("ip_header", false));
    let static_dir: String = figment
        .extract_inner("static_dir")
        .unwrap_or_else(|_| "static".into());
    let hsts = figment
        .extract_inner::<bool>("cookie_secure")
        .unwrap_or(true);
    rocket::custom(figment)
        .attach(AdHoc::try_on_ignite("Gatehouse", |rocket| async move {
            let figment = rocket.figment().clone();
            if let Err(message) = assets_present(&figment) {
                eprintln!("error: {message}");
                return Err(rocket);
            }
            let started = rocket::tokio::task::spawn_blocking(move || {
                let app = App::start(&figment)?;
                let token = app.issue_setup_token_if_needed()?;
                Ok::<_, String>((app, token))
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            match started {
                Ok((app, token)) => {
                    if let Some(token) = token {
                        let address: String = rocket
                            .figment()
                            .extract_inner("address")
                            .unwrap_or_else(|_| "127.0.0.1".into());
                        let port: u16 = rocket.figment().extract_inner("port").unwrap_or(8000);
                        eprintln!(
                            "No administrator exists yet. Create one within 30 minutes at:\n    \
                             http://{address}:{port}/setup?token={token}"
                        );
                    }
                    Ok(rocket.manage(app))
                }
                Err(message) => {
                    // Printed whatever the log level: the one line that says why.
                    eprintln!("error: {message}");
                    Err(rocket)
                }
            }
        }))
        .attach(AdHoc::on_liftoff("Change feed", |rocket| {
            Box::pin(async move {
                if let Some(app) = rocket.state::<App>() {
                    rocket::tokio::spawn(follow_changes(app.db.clone(), app.revocations.clone()));
                }
            })
        }))
        .attach(Template::custom(|engines| {
            engines.tera.register_filter("when", web::format::when);
            engines.tera.register_function("t", i18n::tera_function);
            i18n::compile_translations(&mut engines.tera);
        }))
        .attach(web::headers::SecurityHeaders { hsts })
        .attach(metrics::RequestTimer)
        .mount("/", web::routes())
        // `Missing`: a missing folder is reported by `assets_present`, not a panic.
        .mount("/static", FileServer::new(static_dir, Options::Missing))
        .register("/", web::catchers::catchers())
}

/// The page templates and static files are read from folders (relative to the working
/// directory unless absolute); says which setting to fix when one is not there.
fn assets_present(figment: &Figment) -> Result<(), String> {
    for (setting, default) in [("template_dir", "templates"), ("static_dir", "static")] {
        let dir: String = figment
            .extract_inner(setting)
            .unwrap_or_else(|_| default.into());
        if !std::path::Path::new(&dir).is_dir() {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            return Err(format!(
                "setting `{setting}`: {dir:?} is not a folder (relative paths are read \
                 from the working directory, {cwd}); start Gatehouse in its own folder \
                 or set `{setting}` to an absolute path"
            ));
        }
    }
    Ok(())
}

/// Keeps this instance's view of ended sessions and role changes current with what
/// other instances wrote (at once on a PostgreSQL notification, and twice a second in
/// any case), prunes the view now and then, and deletes day-old feed rows. A database
/// outage only delays it.
async fn follow_changes(
    db: std::sync::Arc<db::Db>,
    view: std::sync::Arc<sessions::revocations::Revocations>,
) {
    use sessions::feed;
    let wake = std::sync::Arc::new(rocket::tokio::sync::Notify::new());
    if let db::DatabaseUrl::Postgres(url) = db.url() {
        feed::listen(url.clone(), std::sync::Arc::downgrade(&wake));
    }
    let mut tick = rocket::tokio::time::interval(std::time::Duration::from_millis(500));
    let mut since = sessions::now() - feed::OVERLAP;
    for round in 1u64.. {
        // A notification (PostgreSQL) or the half-second catch-up, whichever comes first.
        rocket::tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
        let started = sessions::now();
        let v = view.clone();
        match db
            .run_background(move |c| feed::catch_up(c, &v, since))
            .await
        {
            Ok(_) => since = started - feed::OVERLAP,
            Err(e) => log::warn!("change feed: {e}"),
        }
        if round % 120 == 0 {
            view.prune(sessions::now());
        }
        if round % 1200 == 0 {
            if let Err(e) = db.run_background(|c| feed::prune(c, sessions::now())).await {
                log::warn!("change feed pruning: {e}");
            }
        }
    }
}
