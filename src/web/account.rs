//! Self-service: your sessions, your password, and sign-up when it is open.

use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::{Either, State};
use rocket_dyn_templates::{context, Template};

use crate::accounts::{self, CreatedBy, Creation, Role};
use crate::app::App;
use crate::audit::{self, Event};
use crate::config::Signup;
use crate::error::{Error, Result};
use crate::i18n::{page, Lang, Message};
use crate::sessions::{self, now, store, AnySession, AuthenticatedUser};
use crate::web::auth::TokenOnly;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected, PreSessionToken};
use crate::web::notice;

#[get("/account?<notice>")]
pub async fn account_page(
    user: AuthenticatedUser,
    notice: Option<&str>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    let (id, now) = (user.id, now());
    let (account, sessions) = app
        .db
        .run(move |c| Ok((accounts::find(c, id)?, store::live_for_account(c, id, now)?)))
        .await?;
    let account = account.ok_or(Error::NotFound)?;
    Ok(page(
        "account/index",
        &lang,
        context! {
            title_key: "title-account",
            csrf_token: app.csrf.for_session(&user.sid),
            last_login_at: account.last_login_at,
            created_at: account.created_at,
            others: sessions.iter().filter(|s| s.id != user.sid).count(),
            current_sid: user.sid.clone(),
            sessions,
            notice: notice::text(notice),
            user,
        },
    ))
}

#[post("/sessions/<sid>/revoke", data = "<_form>")]
pub async fn revoke_session(
    sid: &str,
    user: AuthenticatedUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
) -> Result<Redirect> {
    let (owner, sid_owned, ip, now) = (user.id, sid.to_string(), client.ip.clone(), now());
    let name = user.name.clone();
    let ended = app
        .db
        .run(move |c| {
            crate::db::write_tx(c, |c| match store::find(c, &sid_owned)? {
                Some(s) if s.account_id == owner && s.ended_at.is_none() => {
                    store::end(c, &sid_owned, "revoked_by_user", now)?;
                    audit::record(
                        c,
                        &Event::new("session_revoked", &ip, now)
                            .actor(owner)
                            .subject(owner, &name)
                            .detail(format!("session {sid_owned}")),
                    )?;
                    Ok(true)
                }
                _ => Ok(false),
            })
        })
        .await?;
    if !ended {
        return Err(Error::NotFound);
    }
    app.revocations.end_session(sid, now);
    app.metrics.revocations.inc();
    if sid == user.sid {
        sessions::clear_cookies(jar, app.settings.cookie_secure);
        return Ok(Redirect::to("/login?notice=signed_out"));
    }
    Ok(Redirect::to("/account?notice=session_revoked"))
}

#[post("/sessions/revoke-others", data = "<_form>")]
pub async fn revoke_others(
    user: AuthenticatedUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let (id, keep, ip, name, now) = (
        user.id,
        user.sid.clone(),
        client.ip.clone(),
        user.name.clone(),
        now(),
    );
    let ended = app
        .db
        .run(move |c| {
            crate::db::write_tx(c, |c| {
                let ended = store::end_all_for_account(c, id, Some(&keep), "revoked_by_user", now)?;
                audit::record(
                    c,
                    &Event::new("sessions_revoked", &ip, now)
                        .actor(id)
                        .subject(id, &name)
                        .detail(format!("{} other sessions ended", ended.len())),
                )?;
                Ok(ended)
            })
        })
        .await?;
    app.revocations.end_sessions(&ended, now);
    app.metrics.revocations.inc_by(ended.len() as u64);
    Ok(Redirect::to("/account?notice=others_revoked"))
}

fn password_form(
    user: &AuthenticatedUser,
    app: &App,
    error: Option<&str>,
    notice: Option<&str>,
    lang: &Lang,
) -> Template {
    page(
        "account/password",
        lang,
        context! {
            title_key: "title-password",
            csrf_token: app.csrf.for_session(&user.sid),
            forced: user.must_change_password,
            min_length: app.policy.min_length,
            error,
            notice,
            user,
        },
    )
}

#[get("/account/password?<notice>")]
pub fn password_page(
    user: AnySession,
    notice: Option<&str>,
    app: &State<App>,
    lang: Lang,
) -> Template {
    password_form(&user.0, app, None, notice::text(notice), &lang)
}

#[derive(FromForm)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for PasswordForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/account/password", data = "<form>")]
pub async fn change_password(
    user: AnySession,
    form: Csrf<PasswordForm>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let (user, form) = (user.0, form.into_inner());
    let refuse = |status: Status, msg: Message| {
        Ok(Either::Right((
            status,
            password_form(&user, app, Some(&msg.text(lang.code)), None, &lang),
        )))
    };
    let id = user.id;
    let account = app
        .db
        .run(move |c| accounts::find(c, id))
        .await?
        .ok_or(Error::NotFound)?;
    if !app
        .hasher
        .verify(form.current.clone(), Some(account.password_hash.clone()))
        .await?
    {
        return refuse(
            Status::UnprocessableEntity,
            Message::new("msg-current-wrong"),
        );
    }
    if let Err(msg) = app.policy.check(&form.password, &account.username) {
        return refuse(Status::UnprocessableEntity, msg);
    }
    if form.password != form.confirm {
        return refuse(
            Status::UnprocessableEntity,
            Message::new("msg-new-password-mismatch"),
        );
    }
    if form.password == form.current {
        return refuse(
            Status::UnprocessableEntity,
            Message::new("msg-password-same"),
        );
    }
    let hash = app.hasher.hash(form.password).await?;
    let (keep, ip, now) = (user.sid.clone(), client.ip.clone(), now());
    let (account, ended) = app
        .db
        .run(move |c| {
            crate::db::write_tx(c, |c| {
                accounts::set_password(c, id, &hash)?;
                let ended =
                    store::end_all_for_account(c, id, Some(&keep), "password_changed", now)?;
                let account = accounts::find(c, id)?.ok_or(Error::NotFound)?;
                audit::record(
                    c,
                    &Event::new("password_changed", &ip, now)
                        .actor(id)
                        .subject(id, &account.username)
                        .detail(format!("{} other sessions ended", ended.len())),
                )?;
                Ok((account, ended))
            })
        })
        .await?;
    app.revocations.end_sessions(&ended, now);
    app.metrics.revocations.inc_by(ended.len() as u64);
    // This session goes on, with a token that no longer asks for a new password.
    let access = sessions::access_token(app, &account, &user.sid, now)?;
    sessions::set_cookies(jar, app, access, None, now);
    Ok(Either::Left(Redirect::to(
        "/account?notice=password_changed",
    )))
}

fn signup_open(app: &App) -> Result<()> {
    match app.settings.signup {
        Signup::Open => Ok(()),
        Signup::Closed => Err(Error::NotFound),
    }
}

fn signup_form(
    lang: &Lang,
    csrf: &str,
    username: &str,
    error: Option<&str>,
    min_length: usize,
) -> Template {
    page(
        "auth/signup",
        lang,
        context! { title_key: "title-signup", csrf_token: csrf, username, error, min_length },
    )
}

#[get("/signup")]
pub fn signup_page(app: &State<App>, csrf: PreSessionToken, lang: Lang) -> Result<Template> {
    signup_open(app)?;
    Ok(signup_form(&lang, &csrf.0, "", None, app.policy.min_length))
}

/// Only these fields are read: anything else sent (a `role`, say) is ignored.
#[derive(FromForm)]
pub struct SignupForm {
    username: String,
    password: String,
    confirm: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for SignupForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/signup", data = "<form>")]
pub async fn signup(
    form: Csrf<SignupForm>,
    csrf: PreSessionToken,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    signup_open(app)?;
    let form = form.into_inner();
    let min = app.policy.min_length;
    let refuse = |msg: Message| {
        Ok(Either::Right((
            Status::UnprocessableEntity,
            signup_form(
                &lang,
                &csrf.0,
                &form.username,
                Some(&msg.text(lang.code)),
                min,
            ),
        )))
    };
    if let Err(msg) = accounts::check_new(
        &app.policy,
        &form.username,
        &form.password,
        Some(&form.confirm),
    ) {
        return refuse(msg);
    }
    let hash = app.hasher.hash(form.password.clone()).await?;
    let (username, ip, now) = (form.username.clone(), client.ip.clone(), now());
    let created = app
        .db
        .run(move |c| {
            crate::db::write_tx(c, |c| {
                let creation = Creation {
                    username: &username,
                    password_hash: &hash,
                    role: Role::User,
                    must_change_password: false,
                    event: "signup",
                    by: CreatedBy::Itself,
                    ip: &ip,
                    detail: String::new(),
                };
                Ok(accounts::create_recorded(c, &creation, now)?.is_some())
            })
        })
        .await?;
    if !created {
        return refuse(Message::new("msg-username-unavailable"));
    }
    Ok(Either::Left(Redirect::to("/login?notice=signed_up")))
}
