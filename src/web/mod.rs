//! HTTP: routes by area, the CSRF and client guards, headers, and error pages.

pub mod auth;
pub mod catchers;
pub mod client;
pub mod csrf;
pub mod headers;
pub mod pages;
pub mod setup;

use rocket::Route;

pub fn routes() -> Vec<Route> {
    routes![
        pages::index,
        pages::dashboard,
        pages::healthz,
        pages::readyz,
        auth::login_page,
        auth::login,
        auth::logout_page,
        auth::logout,
        setup::setup_page,
        setup::setup,
    ]
}
