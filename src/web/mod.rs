//! HTTP: routes by area, the CSRF and client guards, headers, and error pages.

pub mod account;
pub mod admin;
pub mod auth;
pub mod catchers;
pub mod client;
pub mod csrf;
pub mod format;
pub mod headers;
pub mod notice;
pub mod pages;
pub mod setup;

use rocket::Route;

pub fn routes() -> Vec<Route> {
    routes![
        pages::index,
        pages::dashboard,
        pages::healthz,
        pages::readyz,
        crate::metrics::metrics,
        auth::login_page,
        auth::login,
        auth::logout_page,
        auth::logout,
        setup::setup_page,
        setup::setup,
        account::account_page,
        account::revoke_session,
        account::revoke_others,
        account::password_page,
        account::change_password,
        account::signup_page,
        account::signup,
        admin::users,
        admin::new_user_page,
        admin::new_user,
        admin::user_page,
        admin::set_role,
        admin::reset_password,
        admin::simple_action,
        admin::revoke_session,
        admin::delete,
        admin::audit,
    ]
}
