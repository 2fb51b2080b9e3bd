//! Gatehouse: password sign-in with a JWT access cookie and rotating refresh tokens.
//!
//! This crate is the HTTP side: routes, guards, cookies, pages, the binary. The domain,
//! the database and the use cases are the `gatehouse-core` crate (core/), which does not
//! depend on rocket. See docs/architecture.md.

#[macro_use]
extern crate rocket;

// The core crate's modules under their old names, so that `crate::app::App` and
// `gatehouse::accounts::…` read as before.
pub use gatehouse_core::{
    accounts, admin, app, audit, clock, config, db, effect, error, forward, groups, i18n, mail,
    metrics, oidc, outbox, random, retention, second_factor, sessions, signer, text,
};
pub mod web;
pub use gatehouse_core::on_backend;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

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
    let figment = config::with_connection_defaults(figment);
    // The folder of customised templates, if set; the template fairing's loader reads the
    // same setting, and gets an empty folder when it is unset (it needs one). Merged back
    // as read here, so that a relative path means the same folder to both.
    let custom_templates = figment
        .extract_inner::<String>("template_dir")
        .ok()
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from);
    let template_root = custom_templates
        .clone()
        .unwrap_or_else(web::engine::empty_folder);
    let figment = figment.merge(("template_dir", template_root.to_string_lossy().into_owned()));
    let templates = web::engine::fairing(custom_templates.clone());
    rocket::custom(figment)
        .attach(AdHoc::try_on_ignite("Gatehouse", |rocket| async move {
            let figment = rocket.figment().clone();
            let started = rocket::tokio::task::spawn_blocking(move || {
                let settings = config::Settings::from_figment(&figment)?;
                config::check_connection_limits(&figment)?;
                // Before the database: a server started in the wrong folder is told so.
                settings.check_asset_folders()?;
                // Customised templates are compiled here once too, so that one that does
                // not compile is named on the one line printed whatever the log level.
                match &custom_templates {
                    Some(dir) => drop(web::engine::Pages::load(Some(dir))?),
                    None => web::engine::make_empty_folder(&template_root)?,
                }
                let app = App::open(settings)?;
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
                        let tls = rocket
                            .figment()
                            .extract_inner::<rocket::config::TlsConfig>("tls");
                        let scheme = if tls.is_ok() { "https" } else { "http" };
                        eprintln!(
                            "No administrator exists yet. Create one within 30 minutes at:\n    \
                             {scheme}://{address}:{port}/setup?token={token}"
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
        // After Gatehouse's: it has checked `template_dir` (or made the empty folder).
        .attach(templates)
        .attach(AdHoc::on_liftoff(
            "Change feed, retention and mail",
            |rocket| {
                Box::pin(async move {
                    if let Some(app) = rocket.state::<App>() {
                        app.start_background();
                    }
                })
            },
        ))
        .attach(web::headers::AmbiguousRequests)
        .attach(web::headers::SecurityHeaders::default())
        .attach(web::metrics::RequestTimer)
        .mount("/", web::routes())
        .register("/", web::catchers::catchers())
}
