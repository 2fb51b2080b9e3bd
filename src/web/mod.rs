//! HTTP: routes by area, the session, CSRF and client guards, headers, templates and
//! error pages. Routes parse, call one use case or domain function, and render.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod catchers;
pub mod client;
pub mod csrf;
pub mod engine;
pub mod error;
pub mod forward;
pub mod headers;
pub mod lang;
pub mod log;
pub mod mail;
pub mod metrics;
pub mod notice;
pub mod oidc;
pub mod oidc_admin;
pub mod pages;
pub mod passkeys;
pub mod second_factor;
pub mod session;
pub mod setup;
pub mod templates;

use rocket::Route;

pub fn routes() -> Vec<Route> {
    routes![
        pages::index,
        pages::dashboard,
        pages::healthz,
        pages::readyz,
        metrics::metrics,
        forward::forward,
        forward::nginx,
        headers::refused,
        pages::jwks,
        assets::asset,
        auth::login_page,
        auth::login,
        auth::logout_page,
        auth::logout,
        auth::second_step_page,
        auth::second_step,
        passkeys::list,
        passkeys::register,
        passkeys::rename,
        passkeys::delete,
        passkeys::sign_in,
        passkeys::admin_delete,
        second_factor::status,
        second_factor::enrol,
        second_factor::regenerate_codes,
        second_factor::disable,
        second_factor::reauth_page,
        second_factor::reauth,
        mail::email,
        mail::set_email,
        mail::verify_page,
        mail::verify,
        mail::forgot_form,
        mail::forgot,
        mail::reset_form,
        mail::reset,
        mail::invite_form,
        mail::accept_invitation,
        setup::setup_page,
        setup::setup,
        account::account_page,
        account::set_language,
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
        admin::reset_second_factor,
        admin::add_to_group,
        admin::resend_invitation,
        admin::cancel_invitation,
        admin::remove_from_group,
        admin::groups,
        admin::create_group,
        admin::delete_group,
        admin::audit,
        oidc::discovery,
        oidc::authorize,
        oidc::authorize_post,
        oidc::consent,
        oidc::token,
        oidc::userinfo,
        oidc::userinfo_post,
        oidc::revoke,
        oidc::introspect,
        oidc::logout,
        oidc::logout_post,
        oidc::apps,
        oidc::revoke_app,
        oidc_admin::clients,
        oidc_admin::new_client_page,
        oidc_admin::new_client,
        oidc_admin::client,
        oidc_admin::edit_client,
        oidc_admin::rotate_secret,
        oidc_admin::delete_client,
    ]
}
