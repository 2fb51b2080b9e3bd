//! The second factor: enrolment with a code computed from the secret on the page,
//! sign-in with TOTP and with recovery codes, replays refused, the pending step and its
//! limits, the `require_2fa` policy, "confirm it's you" before sensitive actions, turning
//! it off, new recovery codes, and an administrator's reset. Concurrent cases release
//! their requests together.

use crate::common::*;
use gatehouse::accounts::Role;
use gatehouse::second_factor::totp;
use rocket::http::Status;

const PENDING: &str = "__Host-pending";
const ACCESS: &str = "__Host-access";
const REFRESH: &str = "__Host-refresh";

fn between<'a>(body: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = body.find(start)? + start.len();
    Some(&body[i..i + body[i..].find(end)?])
}

pub(crate) fn hidden(body: &str, name: &str) -> String {
    between(body, &format!("name=\"{name}\" value=\""), "\"")
        .unwrap_or_else(|| panic!("no {name} field"))
        .to_string()
}

fn recovery_codes(body: &str) -> Vec<String> {
    body.split("<code class=\"recovery-code\">")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(String::from)
        .collect()
}

/// The code of the current step, after moving the clock to a step not used yet.
pub(crate) fn fresh_code(app: &TestApp, secret: &[u8]) -> String {
    app.state().clock().advance(totp::STEP_SECONDS);
    totp::code_at(secret, app.state().now()).unwrap()
}

/// Enrols through the page: reads the secret shown, types its code. Returns the secret
/// and the recovery codes shown.
pub(crate) fn enrol(app: &TestApp, b: &Browser<'_>) -> (Vec<u8>, Vec<String>) {
    let page = b.get("/account/2fa");
    assert_eq!(page.status, Status::Ok);
    let base32 = between(
        &page.body,
        "<code class=\"secret\" id=\"secret\">",
        "</code>",
    )
    .expect("the secret is shown as text")
    .to_string();
    let secret = data_encoding::BASE32_NOPAD
        .decode(base32.trim_end_matches('=').as_bytes())
        .unwrap();
    let code = totp::code_at(&secret, app.state().now()).unwrap();
    let r = b.post(
        "/account/2fa",
        &format!(
            "enrolment={}&code={code}&csrf_token={}",
            hidden(&page.body, "enrolment"),
            hidden(&page.body, "csrf_token")
        ),
    );
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    let codes = recovery_codes(&r.body);
    assert_eq!(codes.len(), 10, "ten recovery codes shown");
    (secret, codes)
}

/// Password step; returns the response (303 to /login/2fa when a second factor is set).
fn password_step(b: &Browser<'_>, name: &str) -> Resp {
    b.login(name, PASSWORD, false)
}

pub(crate) fn code_step(b: &Browser<'_>, code: &str) -> Resp {
    let token = b.token("/login/2fa");
    b.post(
        "/login/2fa",
        &format!("code={}&next=%2Faccount&csrf_token={token}", enc(code)),
    )
}

fn live_sessions(app: &TestApp, name: &str) -> usize {
    let now = app.state().now();
    let name = name.to_string();
    app.state()
        .db()
        .run_blocking(move |c| {
            let a = gatehouse::accounts::find_by_username(c, &name)?.unwrap();
            gatehouse::sessions::store::live_for_account(c, a.id, now)
        })
        .unwrap()
        .len()
}

#[test]
fn enrolment_shows_the_secret_as_text_uri_and_qr_and_needs_a_right_code() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let page = b.get("/account/2fa");
    assert!(page.body.contains("otpauth://totp/Gatehouse:alice?"));
    assert!(page.body.contains("issuer=Gatehouse"));
    assert!(page.body.contains("<svg"), "an inline QR code");
    assert!(!page.body.contains("<script"));
    let base32 = between(&page.body, "id=\"secret\">", "</code>").unwrap();
    assert!(page.body.contains(&format!("secret={base32}")));
    // A wrong code enrols nothing.
    let r = b.post(
        "/account/2fa",
        &format!(
            "enrolment={}&code=000000&csrf_token={}",
            hidden(&page.body, "enrolment"),
            hidden(&page.body, "csrf_token")
        ),
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(app.audit_kinds("2fa_enabled").is_empty());
    // A forged enrolment field is refused without a server error.
    let r = b.post(
        "/account/2fa",
        &format!(
            "enrolment=forged&code=123456&csrf_token={}",
            hidden(&page.body, "csrf_token")
        ),
    );
    assert_eq!(r.status, Status::NotFound);
    let (secret, codes) = enrol(&app, &b);
    assert_eq!(app.audit_kinds("2fa_enabled").len(), 1);
    // Stored sealed: neither the key nor its base32 is in the database.
    let stored = app
        .state()
        .db()
        .run_blocking(|c| gatehouse::accounts::find_by_username(c, "alice"))
        .unwrap()
        .unwrap()
        .totp_secret
        .unwrap();
    assert!(!stored.contains(&totp::base32(&secret)));
    assert!(!stored.as_bytes().windows(secret.len()).any(|w| w == secret));
    // The page now shows the status, never the secret again.
    let page = b.get("/account/2fa");
    assert!(!page.body.contains("otpauth://"));
    assert!(!page.body.contains(codes[0].as_str()));
}

#[test]
fn sign_in_waits_for_the_code_with_only_a_pending_cookie() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let (secret, _) = enrol(&app, &b);
    let other = app.browser();
    let r = password_step(&other, "alice");
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().starts_with("/login/2fa"), "{}", r.location());
    let pending = r.set_cookies(PENDING);
    assert_eq!(pending.len(), 1);
    let cookie = pending[0];
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let max_age: i64 = between(cookie, "Max-Age=", ";")
        .or_else(|| cookie.split("Max-Age=").nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age <= 300, "{cookie}");
    assert!(r.set_cookies(ACCESS).is_empty() && r.set_cookies(REFRESH).is_empty());
    assert_eq!(
        live_sessions(&app, "alice"),
        1,
        "no session before the code"
    );
    assert!(other.get("/dashboard").is_login_redirect());
    let r = code_step(&other, &fresh_code(&app, &secret));
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account");
    assert!(!r.set_cookies(ACCESS).is_empty() && !r.set_cookies(REFRESH).is_empty());
    assert!(r.clears(PENDING));
    assert_eq!(other.get("/dashboard").status, Status::Ok);
    assert_eq!(live_sessions(&app, "alice"), 2);
}

#[test]
fn a_code_is_accepted_once_even_by_two_sign_ins() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, b) = app.signed_in("alice", Role::User);
    let (secret, _) = enrol(&app, &b);
    let code = fresh_code(&app, &secret);
    let first = app.browser();
    password_step(&first, "alice");
    assert_eq!(code_step(&first, &code).status, Status::SeeOther);
    // The same code, seen over a shoulder, from another browser a moment later.
    let second = app.browser();
    password_step(&second, "alice");
    let r = code_step(&second, &code);
    assert_eq!(r.status, Status::Unauthorized);
    assert!(r.body.contains("used already"));
    assert_eq!(app.audit_kinds("2fa_failure").len(), 1);
    // The next step's code works.
    assert_eq!(
        code_step(&second, &fresh_code(&app, &secret)).status,
        Status::SeeOther
    );
}

#[test]
fn parallel_sign_ins_with_one_code_start_one_session() {
    with_async_app(
        |f| f.merge(("address_failures", 1000)),
        |client, _dir| async move {
            let app = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let secret = totp::new_secret().unwrap();
            let sealed = app
                .vault()
                .seal(&secret, &gatehouse::second_factor::secret_context(1))
                .unwrap();
            app.db()
                .run_blocking(move |c| {
                    use diesel::prelude::*;
                    use gatehouse::db::schema::accounts::dsl::*;
                    diesel::update(accounts.find(1))
                        .set((totp_secret.eq(sealed), totp_enabled_at.eq(1)))
                        .execute(c)?;
                    Ok(())
                })
                .unwrap();
            // Two browsers pass the password step; then both send the same code at once.
            let mut pendings = Vec::new();
            for _ in 0..2 {
                let (cookie, token) = async_form(&client, "/login").await;
                let r = async_post(
                    &client,
                    "/login",
                    format!(
                        "username=alice&password={}&csrf_token={token}",
                        enc(PASSWORD)
                    ),
                    vec![cookie.clone()],
                )
                .await;
                assert_eq!(r.status, Status::SeeOther);
                let pending = r
                    .cookies
                    .iter()
                    .find(|c| c.name() == PENDING)
                    .unwrap()
                    .clone();
                pendings.push((cookie, token, pending));
            }
            let code = totp::code_at(&secret, app.now()).unwrap();
            let attempts = pendings.iter().map(|(cookie, token, pending)| {
                async_post(
                    &client,
                    "/login/2fa",
                    format!("code={code}&csrf_token={token}"),
                    vec![cookie.clone(), pending.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            let signed_in = answers
                .iter()
                .filter(|a| {
                    a.cookies
                        .iter()
                        .any(|c| c.name() == ACCESS && !c.value().is_empty())
                })
                .count();
            assert_eq!(
                signed_in,
                1,
                "{:?}",
                answers.iter().map(|a| a.status).collect::<Vec<_>>()
            );
        },
    );
}

#[test]
fn recovery_codes_sign_in_once_each() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let (_, codes) = enrol(&app, &b);
    let one = app.browser();
    password_step(&one, "alice");
    // Spaces and capitals do not matter.
    let typed = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(code_step(&one, &typed).status, Status::SeeOther);
    let events = app.audit_kinds("recovery_code_used");
    assert_eq!(events.len(), 1);
    assert!(events[0].detail.contains("9 recovery codes left"));
    let two = app.browser();
    password_step(&two, "alice");
    assert_eq!(code_step(&two, &codes[0]).status, Status::Unauthorized);
    assert_eq!(code_step(&two, &codes[1]).status, Status::SeeOther);
    assert!(
        b.get("/account/2fa").body.contains("<dd>8</dd>"),
        "codes left shown"
    );
}

#[test]
fn five_wrong_codes_end_the_pending_sign_in_and_count_as_failures() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, b) = app.signed_in("alice", Role::User);
    let (secret, _) = enrol(&app, &b);
    let other = app.browser();
    password_step(&other, "alice");
    for left in (1..5).rev() {
        let r = code_step(&other, "000000");
        assert_eq!(r.status, Status::Unauthorized);
        assert!(r.body.contains(&format!("{left}")), "tries left shown");
    }
    let r = code_step(&other, "000000");
    assert!(r.is_login_redirect(), "{:?}", r.status);
    assert!(r.location().contains("second_step_over"));
    assert!(r.clears(PENDING));
    assert_eq!(app.audit_kinds("2fa_failure").len(), 5);
    // The pending sign-in is gone even with the right code now.
    other.set_cookie(PENDING, "anything");
    assert!(code_step(&other, &fresh_code(&app, &secret)).is_login_redirect());
    // Wrong codes counted in the account's throttle: the name now waits.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
}

#[test]
fn the_pending_sign_in_lasts_five_minutes() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let (secret, _) = enrol(&app, &b);
    let other = app.browser();
    password_step(&other, "alice");
    app.state().clock().advance(301);
    let r = code_step(&other, &totp::code_at(&secret, app.state().now()).unwrap());
    assert!(r.is_login_redirect());
    assert_eq!(live_sessions(&app, "alice"), 1);
    // Without any pending cookie, the page sends the browser to sign in.
    assert!(app.browser().get("/login/2fa").is_login_redirect());
}

#[test]
fn the_default_policy_requires_a_second_factor_of_administrators() {
    let dir = tempfile::tempdir().unwrap();
    let settings = gatehouse::config::Settings::from_figment_for(
        &gatehouse::figment().merge(("data_dir", dir.path().to_string_lossy().to_string())),
        true,
    )
    .unwrap();
    assert_eq!(settings.require_2fa, gatehouse::config::Require2fa::Admins);
    assert_eq!(settings.reauth_window, 600);
}

#[test]
fn an_administrator_without_a_second_factor_is_sent_to_enrol_from_every_page() {
    let app = app_with(|f| f.merge(("require_2fa", "admins")));
    let (_, admin) = app.signed_in("boss", Role::Admin);
    for page in ["/dashboard", "/account", "/admin/users", "/"] {
        let r = admin.get(page);
        assert_eq!(r.status, Status::SeeOther, "{page}");
        assert!(
            r.location().starts_with("/account/2fa"),
            "{page}: {}",
            r.location()
        );
    }
    let page = admin.get("/account/2fa");
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("needs a second factor"));
    // A plain user is not asked.
    let (_, user) = app.signed_in("alice", Role::User);
    assert_eq!(user.get("/dashboard").status, Status::Ok);
    // After enrolment the administrator goes on at once, and may not turn it off.
    enrol(&app, &admin);
    assert_eq!(admin.get("/admin/users").status, Status::Ok);
    let token = admin.token("/logout");
    let r = admin.post("/account/2fa/disable", &format!("csrf_token={token}"));
    assert_eq!(r.status, Status::Forbidden);
}

#[test]
fn the_all_policy_asks_everyone() {
    let app = app_with(|f| f.merge(("require_2fa", "all")));
    let (_, user) = app.signed_in("alice", Role::User);
    assert!(user
        .get("/dashboard")
        .location()
        .starts_with("/account/2fa"));
}

#[test]
fn the_first_administrator_from_the_setup_link_enrols_right_away() {
    let app = app_with(|f| f.merge(("require_2fa", "admins")));
    let token = app.state().setup().issue(app.state().now()).unwrap();
    let b = app.browser();
    let csrf = b.token(&format!("/setup?token={token}"));
    let r = b.post(
        "/setup",
        &format!(
            "token={token}&username=root-admin&password={pw}&confirm={pw}&csrf_token={csrf}",
            pw = enc(PASSWORD)
        ),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        b.login("root-admin", PASSWORD, false).status,
        Status::SeeOther
    );
    assert!(b.get("/dashboard").location().starts_with("/account/2fa"));
}

/// Moves the clock past the confirmation window of every session.
fn let_confirmation_lapse(app: &TestApp) {
    app.state().clock().advance(601);
}

#[test]
fn admin_actions_need_a_recent_confirmation_then_return_to_the_form() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let target = app.create_user("alice", Role::User);
    // Just signed in: confirmed.
    let token = admin.token("/logout");
    let r = admin.post(
        &format!("/admin/users/{target}/unlock"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().contains("notice=unlocked"));
    let_confirmation_lapse(&app);
    for (path, body) in [
        (format!("/admin/users/{target}/disable"), String::new()),
        (
            format!("/admin/users/{target}/role"),
            "role=admin".to_string(),
        ),
        (
            format!("/admin/users/{target}/delete"),
            "confirm=alice".to_string(),
        ),
        (
            format!("/admin/users/{target}/reset-password"),
            format!("password={}", enc("a whole new password here")),
        ),
        (
            "/admin/users/new".to_string(),
            format!("username=newbie&role=user&password={}", enc(PASSWORD)),
        ),
    ] {
        let token = admin.token("/logout");
        let r = admin.post(&path, &format!("{body}&csrf_token={token}"));
        assert_eq!(r.status, Status::SeeOther, "{path}");
        let back = if path.ends_with("/new") {
            "/admin/users/new".to_string()
        } else {
            format!("/admin/users/{target}")
        };
        assert_eq!(
            r.location(),
            format!("/reauth?next={}", enc(&back)),
            "{path}"
        );
    }
    // Nothing changed.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    assert!(app.audit_kinds("admin_account_disabled").is_empty());
    // A wrong password is refused and recorded.
    let next = format!("/admin/users/{target}");
    let page = admin.get(&format!("/reauth?next={}", enc(&next)));
    assert_eq!(page.status, Status::Ok);
    let token = hidden(&page.body, "csrf_token");
    let r = admin.post(
        "/reauth",
        &format!("password=wrong+one&next={}&csrf_token={token}", enc(&next)),
    );
    assert_eq!(r.status, Status::Unauthorized);
    assert_eq!(app.audit_kinds("reauth_failure").len(), 1);
    // The right one goes back to the form's page, and the action then succeeds.
    let r = admin.post(
        "/reauth",
        &format!(
            "password={}&next={}&csrf_token={token}",
            enc(PASSWORD),
            enc(&next)
        ),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), next);
    assert_eq!(app.audit_kinds("reauth").len(), 1);
    let token = admin.token("/logout");
    let r = admin.post(
        &format!("/admin/users/{target}/disable"),
        &format!("csrf_token={token}"),
    );
    assert!(r.location().contains("notice=disabled"), "{}", r.location());
}

#[test]
fn confirming_with_a_second_factor_needs_a_code_too() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let (secret, _) = enrol(&app, &admin);
    let_confirmation_lapse(&app);
    let page = admin.get("/reauth?next=%2Fadmin%2Fusers%2Fnew");
    assert!(page.body.contains("name=\"code\""));
    let token = hidden(&page.body, "csrf_token");
    let r = admin.post(
        "/reauth",
        &format!(
            "password={}&code=000000&next=%2Fadmin%2Fusers%2Fnew&csrf_token={token}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(r.status, Status::Unauthorized);
    let code = fresh_code(&app, &secret);
    let r = admin.post(
        "/reauth",
        &format!(
            "password={}&code={code}&next=%2Fadmin%2Fusers%2Fnew&csrf_token={token}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(r.location(), "/admin/users/new");
}

#[test]
fn turning_off_and_new_codes_need_a_confirmation() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let (secret, old_codes) = enrol(&app, &b);
    let_confirmation_lapse(&app);
    let token = b.token("/logout");
    for path in ["/account/2fa/recovery-codes", "/account/2fa/disable"] {
        let r = b.post(path, &format!("csrf_token={token}"));
        assert_eq!(r.location(), "/reauth?next=%2Faccount%2F2fa", "{path}");
    }
    // Confirm, then make new codes: the old ones stop working.
    let page = b.get("/reauth?next=%2Faccount%2F2fa");
    let csrf = hidden(&page.body, "csrf_token");
    let code = fresh_code(&app, &secret);
    let r = b.post(
        "/reauth",
        &format!(
            "password={}&code={code}&next=%2Faccount%2F2fa&csrf_token={csrf}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(r.location(), "/account/2fa");
    let r = b.post(
        "/account/2fa/recovery-codes",
        &format!("csrf_token={token}"),
    );
    let new_codes = recovery_codes(&r.body);
    assert_eq!(new_codes.len(), 10);
    assert_eq!(app.audit_kinds("recovery_codes_regenerated").len(), 1);
    let other = app.browser();
    password_step(&other, "alice");
    assert_eq!(
        code_step(&other, &old_codes[3]).status,
        Status::Unauthorized
    );
    assert_eq!(code_step(&other, &new_codes[3]).status, Status::SeeOther);
    // Turn it off (a user, under the "admins" default... here "none").
    let r = b.post("/account/2fa/disable", &format!("csrf_token={token}"));
    assert_eq!(r.location(), "/account/2fa?notice=2fa_disabled");
    assert_eq!(app.audit_kinds("2fa_disabled").len(), 1);
    assert_eq!(
        password_step(&app.browser(), "alice").location(),
        "/dashboard"
    );
}

#[test]
fn an_admin_resets_a_lost_second_factor_and_the_account_signs_in_again() {
    let app = app();
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let (alice_id, alice) = app.signed_in("alice", Role::User);
    enrol(&app, &alice);
    let page = admin.get(&format!("/admin/users/{alice_id}"));
    assert!(page.body.contains("reset-2fa"));
    assert!(page.body.contains("On since"));
    let token = admin.token("/logout");
    let r = admin.post(
        &format!("/admin/users/{alice_id}/reset-2fa"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().contains("notice=2fa_reset"));
    assert_eq!(app.audit_kinds("2fa_reset").len(), 1);
    // Her sessions are over; her password alone signs her in again.
    assert!(alice.get("/dashboard").is_login_redirect());
    assert_eq!(
        password_step(&app.browser(), "alice").location(),
        "/dashboard"
    );
    // Not through the admin page for one's own account.
    let (boss_id, _) = (
        app.state()
            .db()
            .run_blocking(|c| gatehouse::accounts::find_by_username(c, "boss"))
            .unwrap()
            .unwrap()
            .id,
        (),
    );
    enrol(&app, &admin);
    let token = admin.token("/logout");
    let r = admin.post(
        &format!("/admin/users/{boss_id}/reset-2fa"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::Forbidden);
}
