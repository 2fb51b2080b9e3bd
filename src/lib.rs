//! Gatehouse: password sign-in with a JWT access cookie and rotating refresh tokens.

#[macro_use]
extern crate rocket;

pub mod accounts;
pub mod app;
pub mod audit;
pub mod config;
pub mod db;
pub mod error;
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
                    eprintln!("error: {message}");
                    log::error!("{message}");
                    Err(rocket)
                }
            }
        }))
        .attach(AdHoc::on_liftoff("Revocation pruning", |rocket| {
            Box::pin(async move {
                // Drop revocations older than any access token they could still refuse,
                // so the in-memory view stays as small as one token lifetime of changes.
                if let Some(app) = rocket.state::<App>() {
                    let every = std::time::Duration::from_secs(
                        app.settings.access_token_ttl.clamp(10, 60) as u64,
                    );
                    let revocations = app.revocations.clone();
                    rocket::tokio::spawn(async move {
                        let mut tick = rocket::tokio::time::interval(every);
                        loop {
                            tick.tick().await;
                            revocations.prune(sessions::now());
                        }
                    });
                }
            })
        }))
        .attach(Template::custom(|engines| {
            engines.tera.register_filter("when", web::format::when);
        }))
        .attach(web::headers::SecurityHeaders { hsts })
        .mount("/", web::routes())
        .mount("/static", FileServer::new(static_dir, Options::None))
        .register("/", web::catchers::catchers())
}
