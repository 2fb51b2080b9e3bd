//! Mail (SPEC §10): addresses verified by link, forgotten passwords, invitations and
//! security notices, through the outbox. The flows are checked here against the outbox
//! itself (always); `mail_delivery` sends them through a real SMTP server.

use crate::common::*;
use diesel::prelude::*;
use gatehouse::accounts::Role;
use gatehouse::db::schema::{accounts, outbox};
use rocket::http::Status;

pub const SITE: &str = "https://auth.test";

/// An app with mail on; `smtp` is where it sends (a closed port: mail waits).
pub fn mail_app_to(smtp: &str) -> TestApp {
    let smtp = smtp.to_string();
    app_with(move |f| {
        f.merge(("smtp_url", smtp))
            .merge(("public_url", SITE))
            .merge(("mail_from", "Gatehouse <auth@auth.test>"))
    })
}

pub fn mail_app() -> TestApp {
    mail_app_to(&format!("smtp://127.0.0.1:{}?tls=none", free_port()))
}

#[derive(Debug, Clone)]
pub struct Queued {
    pub kind: String,
    pub to: String,
    pub lang: String,
    pub data: serde_json::Value,
}

impl Queued {
    pub fn token(&self) -> String {
        self.data["token"].as_str().unwrap_or_default().to_string()
    }
}

/// Every mail queued so far, oldest first.
pub fn queued(app: &TestApp) -> Vec<Queued> {
    app.state()
        .db()
        .run_blocking(|c| {
            Ok(outbox::table
                .order(outbox::id.asc())
                .select((outbox::kind, outbox::to_address, outbox::lang, outbox::data))
                .load::<(String, String, String, String)>(c)?)
        })
        .unwrap()
        .into_iter()
        .map(|(kind, to, lang, data)| Queued {
            kind,
            to,
            lang,
            data: serde_json::from_str(&data).unwrap(),
        })
        .collect()
}

pub fn queued_of(app: &TestApp, kind: &str) -> Vec<Queued> {
    queued(app).into_iter().filter(|q| q.kind == kind).collect()
}

/// Gives account `id` a verified address (as if its link had been followed).
pub fn give_verified_email(app: &TestApp, id: i64, email: &str) {
    give_verified_email_on(app.state(), id, email);
}

/// As `give_verified_email`, on any instance. (`email` is ASCII: its key is its lowercase.)
pub fn give_verified_email_on(app: &gatehouse::App, id: i64, email: &str) {
    let (email, key) = (email.to_string(), email.to_ascii_lowercase());
    app.db()
        .run_blocking(move |c| {
            diesel::update(accounts::table.find(id))
                .set((
                    accounts::email.eq(Some(email)),
                    accounts::email_key.eq(Some(key)),
                    accounts::email_verified_at.eq(Some(1)),
                ))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
}

pub fn email_of(app: &TestApp, id: i64) -> (Option<String>, bool) {
    let a = app
        .state()
        .db()
        .run_blocking(move |c| gatehouse::accounts::find(c, id))
        .unwrap()
        .unwrap();
    (a.email, a.email_verified_at.is_some())
}

/// Asks for a reset link for `login` and waits until the request has been handled (the
/// look-up runs after the answer).
pub fn forgot(app: &TestApp, login: &str) -> Resp {
    let before = app.audit_kinds("password_reset_requested").len();
    let b = app.browser();
    let token = b.token("/password/forgot");
    let r = b.post(
        "/password/forgot",
        &format!("login={}&csrf_token={token}", enc(login)),
    );
    if r.status == Status::Ok {
        within(
            "reset request not handled",
            std::time::Duration::from_secs(10),
            || app.audit_kinds("password_reset_requested").len() != before,
        );
    }
    r
}

#[test]
fn without_smtp_the_mail_pages_do_not_exist_and_nothing_links_to_them() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    for path in [
        "/account/email",
        "/password/forgot",
        "/password/reset?token=x",
        "/invite?token=x",
        "/account/email/verify?token=x",
    ] {
        assert_eq!(b.get(path).status, Status::NotFound, "{path}");
    }
    assert!(!b.get("/login").body.contains("/password/forgot"));
    let mail = mail_app();
    assert!(mail
        .browser()
        .get("/login")
        .body
        .contains("/password/forgot"));
}

#[test]
fn bad_mail_settings_name_the_setting_and_hide_the_password() {
    for (url, public, expect) in [
        ("http://x", Some(SITE), "smtp_url"),
        ("smtp://me:hunter2@", Some(SITE), "smtp_url"),
        (
            "smtp://me:hunter2@mail.test?tls=maybe",
            Some(SITE),
            "smtp_url",
        ),
        ("smtp://me:hunter2@mail.test", None, "public_url"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut f = figment(&dir).merge(("smtp_url", url));
        if let Some(p) = public {
            f = f.merge(("public_url", p));
        }
        let err = match gatehouse::App::start(&f) {
            Ok(_) => panic!("{url} accepted"),
            Err(e) => e,
        };
        assert!(err.contains(expect), "{url}: {err}");
        assert!(!err.contains("hunter2"), "{url}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let f = figment(&dir)
        .merge(("smtp_url", "smtp://127.0.0.1:2525?tls=none"))
        .merge(("public_url", SITE))
        .merge(("mail_from", "not an address"));
    let err = gatehouse::App::start(&f).err().expect("a bad mail_from");
    assert!(err.contains("mail_from"), "{err}");
}

#[test]
fn forgot_answers_the_same_for_known_unknown_and_unverified() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    app.create_user("bob", Role::User); // no address
    let answers: Vec<Resp> = [
        "alice",
        "ALICE@example.com",
        "nobody",
        "nobody@example.com",
        "bob",
    ]
    .iter()
    .map(|l| forgot(&app, l))
    .collect();
    for r in &answers {
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.body, answers[0].body, "bodies differ");
        assert!(r.header("Set-Cookie").is_none() || answers[0].header("Set-Cookie").is_some());
    }
    assert!(answers[0].body.contains("30"), "{}", answers[0].body);
    // Only alice (by name and by address, any case) got links; the second replaced the first.
    let links = queued_of(&app, "reset_link");
    assert_eq!(links.len(), 2);
    assert!(links.iter().all(|q| q.to == "alice@example.com"));
    assert_eq!(app.audit_kinds("password_reset_requested").len(), 5);
    let b = app.browser();
    assert_eq!(
        b.get(&format!("/password/reset?token={}", links[0].token()))
            .status,
        Status::NotFound,
        "an older link stops working when a new one is sent"
    );
    assert_eq!(
        b.get(&format!("/password/reset?token={}", links[1].token()))
            .status,
        Status::Ok
    );
}

#[test]
fn a_reset_link_sets_the_password_once_ends_every_session_and_clears_the_lockout() {
    let app = mail_app();
    let (alice, old) = app.signed_in("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    // Lock the account out with wrong passwords.
    let stranger = app.browser();
    for _ in 0..6 {
        stranger.login("alice", "wrong password!", false);
    }
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
    forgot(&app, "alice");
    let token = queued_of(&app, "reset_link")[0].token();
    let b = app.browser();
    let page = b.get(&format!("/password/reset?token={token}"));
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("alice"));
    let csrf = csrf_token(&page.body);
    // Mismatched and weak passwords are refused, and the link still works.
    for (p, c) in [
        ("a brand new passphrase", "another one"),
        ("short", "short"),
    ] {
        let r = b.post(
            "/password/reset",
            &format!(
                "token={token}&password={}&confirm={}&csrf_token={csrf}",
                enc(p),
                enc(c)
            ),
        );
        assert_eq!(r.status, Status::UnprocessableEntity, "{p}");
    }
    // A form from somewhere else is refused.
    let r = app.browser().post(
        "/password/reset",
        &format!("token={token}&password=x&confirm=x&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::Forbidden);
    let new = "a brand new passphrase";
    let body = format!(
        "token={token}&password={}&confirm={}&csrf_token={csrf}",
        enc(new),
        enc(new)
    );
    let r = b.post("/password/reset", &body);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/login?notice=password_reset_done");
    // Used: the same link again is refused and changes nothing.
    assert_eq!(b.post("/password/reset", &body).status, Status::NotFound);
    assert_eq!(
        b.get(&format!("/password/reset?token={token}")).status,
        Status::NotFound
    );
    // The old session is over; the new password works (the lockout is gone).
    assert!(old.get("/dashboard").is_login_redirect());
    assert_eq!(
        app.browser().login("alice", new, false).status,
        Status::SeeOther
    );
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::Unauthorized
    );
    assert_eq!(queued_of(&app, "password_reset").len(), 1);
    assert_eq!(app.audit_kinds("password_reset").len(), 1);
}

#[test]
fn reset_links_expire_after_thirty_minutes_and_junk_tokens_are_404() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    forgot(&app, "alice");
    let token = queued_of(&app, "reset_link")[0].token();
    assert!(token.len() >= 43, "at least 256 bits: {token}");
    app.state().clock().advance(30 * 60 + 1);
    let b = app.browser();
    for t in [
        token.as_str(),
        "",
        "x",
        "%00%ff",
        "a%0d%0aSet-Cookie:%20x=1",
        &"A".repeat(5000),
    ] {
        let r = b.get(&format!("/password/reset?token={t}"));
        assert_eq!(r.status, Status::NotFound, "{t:.20}");
    }
    let csrf = b.token("/password/forgot");
    let r = b.post(
        "/password/reset",
        &format!("token={token}&password=abcdefghijkl&confirm=abcdefghijkl&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::NotFound);
}

#[test]
fn forgot_is_throttled_per_name_and_per_account() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    for _ in 0..3 {
        assert_eq!(forgot(&app, "alice").status, Status::Ok);
    }
    assert_eq!(forgot(&app, "alice").status, Status::TooManyRequests);
    // The same for a name with no account: the answer does not tell them apart.
    for _ in 0..3 {
        assert_eq!(forgot(&app, "nobody").status, Status::Ok);
    }
    assert_eq!(forgot(&app, "nobody").status, Status::TooManyRequests);
    // By address: a fresh name, but the account has had its three links this hour.
    assert_eq!(forgot(&app, "alice@example.com").status, Status::Ok);
    assert_eq!(queued_of(&app, "reset_link").len(), 3);
}

#[test]
fn many_reset_requests_at_once_send_at_most_three_links() {
    with_async_app(
        |f| {
            f.merge(("smtp_url", "smtp://127.0.0.1:9?tls=none"))
                .merge(("public_url", SITE))
                .merge(("mail_from", "auth@auth.test"))
        },
        |client, _dir| async move {
            let app = async_state(&client);
            let alice = app.create_user("alice", Role::User, PASSWORD).unwrap().id;
            app.db()
                .run(move |c| {
                    diesel::update(accounts::table.find(alice))
                        .set((
                            accounts::email.eq(Some("alice@example.com")),
                            accounts::email_key.eq(Some("alice@example.com")),
                            accounts::email_verified_at.eq(Some(1)),
                        ))
                        .execute(c)?;
                    Ok(())
                })
                .await
                .unwrap();
            let mut forms = Vec::new();
            for _ in 0..12 {
                forms.push(async_form(&client, "/password/forgot").await);
            }
            let answers = futures::future::join_all(forms.into_iter().enumerate().map(
                |(i, (cookie, token))| {
                    let login = if i % 2 == 0 {
                        "alice"
                    } else {
                        "alice%40example.com"
                    };
                    async_post(
                        &client,
                        "/password/forgot",
                        format!("login={login}&csrf_token={token}"),
                        vec![cookie],
                    )
                },
            ))
            .await;
            let ok = answers.iter().filter(|r| r.status == Status::Ok).count();
            assert_eq!(ok, 6, "three per name");
            within_async(
                "six reset requests handled",
                std::time::Duration::from_secs(10),
                || async {
                    let n = app
                        .db()
                        .run(|c| {
                            Ok(gatehouse::audit::search(
                                c,
                                None,
                                Some("password_reset_requested"),
                                None,
                                100,
                            )?
                            .0
                            .len())
                        })
                        .await
                        .unwrap();
                    n >= 6
                },
            )
            .await;
            let links: i64 = app
                .db()
                .run(|c| {
                    Ok(outbox::table
                        .filter(outbox::kind.eq("reset_link"))
                        .count()
                        .get_result(c)?)
                })
                .await
                .unwrap();
            assert_eq!(links, 3, "three links an hour per account");
        },
    );
}

#[test]
fn the_same_reset_link_posted_many_times_at_once_works_once() {
    with_async_app(
        |f| {
            f.merge(("smtp_url", "smtp://127.0.0.1:9?tls=none"))
                .merge(("public_url", SITE))
                .merge(("mail_from", "auth@auth.test"))
        },
        |client, _dir| async move {
            let app = async_state(&client);
            let alice = app.create_user("alice", Role::User, PASSWORD).unwrap().id;
            let now = app.now();
            let token = app
                .db()
                .run(move |c| {
                    gatehouse::mail::tokens::issue(
                        c,
                        gatehouse::mail::tokens::RESET_PASSWORD,
                        alice,
                        "alice@example.com",
                        now,
                    )
                })
                .await
                .unwrap();
            let mut forms = Vec::new();
            for _ in 0..10 {
                forms.push(async_form(&client, "/password/forgot").await);
            }
            let answers =
                futures::future::join_all(forms.into_iter().enumerate().map(|(i, (c, t))| {
                    async_post(
                        &client,
                        "/password/reset",
                        format!(
                            "token={token}&password=new+passphrase+{i}&confirm=new+passphrase+{i}&csrf_token={t}"
                        ),
                        vec![c],
                    )
                }))
                .await;
            let done = answers
                .iter()
                .filter(|r| r.status == Status::SeeOther)
                .count();
            assert_eq!(
                done,
                1,
                "{:?}",
                answers.iter().map(|r| r.status).collect::<Vec<_>>()
            );
            assert!(answers
                .iter()
                .all(|r| r.status == Status::SeeOther || r.status == Status::NotFound));
        },
    );
}

fn app_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn an_address_is_set_verified_by_its_link_and_the_old_one_is_told() {
    let app = mail_app();
    let (_, b) = app.signed_in("alice", Role::User);
    let page = b.get("/account/email");
    assert_eq!(page.status, Status::Ok);
    let csrf = csrf_token(&page.body);
    // Bad addresses are refused with the form again.
    for bad in [
        "not-an-address",
        "a@b",
        "a b@example.com",
        "a@exa\u{202e}mple.com",
    ] {
        let r = b.post(
            "/account/email",
            &format!("email={}&csrf_token={csrf}", enc(bad)),
        );
        assert_eq!(r.status, Status::UnprocessableEntity, "{bad}");
    }
    let r = b.post(
        "/account/email",
        &format!("email=alice%40example.com&csrf_token={csrf}"),
    );
    assert_eq!(r.location(), "/account/email?notice=email_sent");
    assert_eq!(email_of(&app, 1).0.as_deref(), Some("alice@example.com"));
    assert!(!email_of(&app, 1).1, "not verified before the link");
    let link = &queued_of(&app, "verify_email")[0];
    assert_eq!(link.to, "alice@example.com");
    // Opening the link changes nothing (mail scanners open links); the button does.
    let other = app.browser();
    let page = other.get(&format!("/account/email/verify?token={}", link.token()));
    assert_eq!(page.status, Status::Ok);
    assert!(!email_of(&app, 1).1);
    let r = other.post(
        "/account/email/verify",
        &format!(
            "token={}&csrf_token={}",
            link.token(),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.location(), "/login?notice=email_verified");
    assert!(email_of(&app, 1).1);
    assert_eq!(app.audit_kinds("email_verified").len(), 1);
    // Changing it: the new one gets a link, the verified old one a notice.
    let r = b.post(
        "/account/email",
        &format!("email=alice%40work.example&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    let told = queued_of(&app, "email_changed");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].to, "alice@example.com");
    assert_eq!(told[0].data["new"], "alice@work.example");
    assert_eq!(queued_of(&app, "verify_email").len(), 2);
    assert_eq!(app.audit_kinds("email_changed").len(), 2);
    // The first link is used; the pages say so.
    assert_eq!(
        other
            .get(&format!("/account/email/verify?token={}", link.token()))
            .status,
        Status::NotFound
    );
}

#[test]
fn changing_the_address_needs_a_recent_confirmation() {
    let app = mail_app();
    let (_, b) = app.signed_in("alice", Role::User);
    let csrf = b.token("/account/email");
    app.state().clock().advance(3 * 3600);
    // Still signed in (the refresh token renews the access token), but not recently.
    let r = b.post(
        "/account/email",
        &format!("email=alice%40example.com&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().starts_with("/reauth"), "{}", r.location());
    assert_eq!(email_of(&app, 1).0, None);
}

#[test]
fn an_invitation_lets_the_person_choose_a_password_once() {
    let app = mail_app();
    let (_, admin) = app.signed_in("root", Role::Admin);
    let csrf = admin.token("/admin/users/new");
    // A password and an address together are refused (which did they mean?).
    let r = admin.post(
        "/admin/users/new",
        &format!("username=carol&role=user&email=carol%40example.com&password=abcdefghijkl&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    let r = admin.post(
        "/admin/users/new",
        &format!("username=carol&role=user&email=carol%40example.com&password=&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(
        r.location().ends_with("?notice=invited"),
        "{}",
        r.location()
    );
    let user_page = admin.get(r.location());
    assert!(user_page.body.contains("carol@example.com"));
    assert!(user_page.body.contains("/invitation/resend"));
    // No password yet: nothing signs in.
    assert_eq!(
        app.browser().login("carol", "", false).status,
        Status::Unauthorized
    );
    assert_eq!(
        app.browser().login("carol", "!", false).status,
        Status::Unauthorized
    );
    let inv = &queued_of(&app, "invitation")[0];
    assert_eq!(inv.to, "carol@example.com");
    assert_eq!(app.audit_kinds("invitation_sent").len(), 1);
    // Taken names and verified addresses are refused.
    let r = admin.post(
        "/admin/users/new",
        &format!("username=Carol&role=user&email=carol2%40example.com&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    let root = app
        .state()
        .db()
        .run_blocking(|c| gatehouse::accounts::find_by_username(c, "root"))
        .unwrap()
        .unwrap();
    give_verified_email(&app, root.id, "root@example.com");
    let r = admin.post(
        "/admin/users/new",
        &format!("username=carol2&role=user&email=ROOT%40example.com&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    let b = app.browser();
    let page = b.get(&format!("/invite?token={}", inv.token()));
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("carol"));
    let form = format!(
        "token={}&password=the+chosen+passphrase&confirm=the+chosen+passphrase&csrf_token={}",
        inv.token(),
        csrf_token(&page.body)
    );
    let r = b.post("/invite", &form);
    assert_eq!(r.location(), "/login?notice=invitation_accepted");
    assert_eq!(b.post("/invite", &form).status, Status::NotFound);
    assert_eq!(
        app.browser()
            .login("carol", "the chosen passphrase", false)
            .status,
        Status::SeeOther
    );
    let carol = app
        .state()
        .db()
        .run_blocking(|c| gatehouse::accounts::find_by_username(c, "carol"))
        .unwrap()
        .unwrap();
    assert!(
        carol.email_verified_at.is_some(),
        "the invitation verified it"
    );
    assert_eq!(app.audit_kinds("invitation_accepted").len(), 1);
    assert!(!admin
        .get(&format!("/admin/users/{}", carol.id))
        .body
        .contains("/invitation/resend"));
}

#[test]
fn invitations_can_be_resent_and_cancelled_and_expire_after_seven_days() {
    let app = mail_app();
    let (_, admin) = app.signed_in("root", Role::Admin);
    let csrf = admin.token("/admin/users/new");
    let r = admin.post(
        "/admin/users/new",
        &format!("username=dave&role=user&email=dave%40example.com&csrf_token={csrf}"),
    );
    let user_path = r.location().split('?').next().unwrap().to_string();
    let first = queued_of(&app, "invitation")[0].token();
    let r = admin.post(
        &format!("{user_path}/invitation/resend"),
        &format!("csrf_token={csrf}"),
    );
    assert!(
        r.location().ends_with("notice=invitation_resent"),
        "{}",
        r.location()
    );
    let second = queued_of(&app, "invitation")[1].token();
    let b = app.browser();
    assert_eq!(
        b.get(&format!("/invite?token={first}")).status,
        Status::NotFound
    );
    assert_eq!(b.get(&format!("/invite?token={second}")).status, Status::Ok);
    // Cancelling deletes the account that never signed in.
    let r = admin.post(
        &format!("{user_path}/invitation/cancel"),
        &format!("csrf_token={csrf}"),
    );
    assert!(
        r.location().contains("notice=invitation_cancelled"),
        "{}",
        r.location()
    );
    assert_eq!(admin.get(&user_path).status, Status::NotFound);
    // Cancelling an account that has chosen its password is refused.
    let (alice, _) = app.signed_in("alice", Role::User);
    let r = admin.post(
        &format!("/admin/users/{alice}/invitation/cancel"),
        &format!("csrf_token={csrf}"),
    );
    assert!(
        matches!(r.status, Status::Conflict | Status::NotFound),
        "{:?}",
        r.status
    );
    assert_eq!(
        admin.get(&format!("/admin/users/{alice}")).status,
        Status::Ok
    );
    // An invitation not accepted in seven days stops working.
    let r = admin.post(
        "/admin/users/new",
        &format!("username=erin&role=user&email=erin%40example.com&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    let token = queued_of(&app, "invitation").last().unwrap().token();
    assert_eq!(b.get(&format!("/invite?token={token}")).status, Status::Ok);
    app.state().clock().advance(7 * 86_400 + 1);
    assert_eq!(
        b.get(&format!("/invite?token={token}")).status,
        Status::NotFound
    );
}

#[test]
fn invitation_routes_are_for_admins_only() {
    let app = mail_app();
    let (_, user) = app.signed_in("alice", Role::User);
    let csrf = user.token("/account");
    for path in [
        "/admin/users/1/invitation/resend",
        "/admin/users/1/invitation/cancel",
    ] {
        let r = user.post(path, &format!("csrf_token={csrf}"));
        assert_eq!(r.status, Status::Forbidden, "{path}");
        let anonymous = app.browser().post(path, "");
        assert!(
            anonymous.is_login_redirect() || anonymous.status == Status::Forbidden,
            "{path}: {:?}",
            anonymous.status
        );
    }
}

#[test]
fn security_notices_go_to_the_verified_address_only() {
    let app = mail_app();
    let (alice, b) = app.signed_in("alice", Role::User);
    // No address: no notice.
    let csrf = b.token("/account/password");
    let change = |b: &Browser, from: &str, to: &str| {
        b.post(
            "/account/password",
            &format!(
                "current={}&password={}&confirm={}&csrf_token={csrf}",
                enc(from),
                enc(to),
                enc(to)
            ),
        )
    };
    assert_eq!(
        change(&b, PASSWORD, "second passphrase here").status,
        Status::SeeOther
    );
    assert!(queued(&app).is_empty());
    give_verified_email(&app, alice, "alice@example.com");
    let b = app.browser();
    b.login("alice", "second passphrase here", false);
    let csrf = b.token("/account/password");
    let r = b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={csrf}",
            enc("second passphrase here"),
            enc("third passphrase here"),
            enc("third passphrase here")
        ),
    );
    assert_eq!(r.status, Status::SeeOther);
    let notices = queued_of(&app, "password_changed");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].to, "alice@example.com");
    assert_eq!(notices[0].lang, "en");
}

#[test]
fn a_new_device_is_told_and_a_known_one_is_not() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    let mut b = app.browser();
    b.headers.push(rocket::http::Header::new(
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ));
    assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
    let told = queued_of(&app, "new_device");
    assert_eq!(told.len(), 1, "first sign-in from a device");
    assert!(told[0].data["device"].as_str().unwrap().contains("Firefox"));
    // The same browser again (it keeps its device cookie): no second notice.
    let csrf = b.token("/logout");
    b.post("/logout", &format!("csrf_token={csrf}"));
    assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
    assert_eq!(queued_of(&app, "new_device").len(), 1);
    // Another browser is a new device.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    assert_eq!(queued_of(&app, "new_device").len(), 2);
}

#[test]
fn a_caught_refresh_reuse_and_a_disabled_account_are_told() {
    let app = mail_app();
    let (alice, b) = app.signed_in("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    b.drop_cookie("__Host-access");
    let stolen = b.copy();
    assert_eq!(b.get("/dashboard").status, Status::Ok); // rotated
    app.state().clock().advance(300); // past the grace period
    let r = stolen.get("/dashboard");
    assert!(r.is_login_redirect(), "{:?}", r.status);
    let told = queued_of(&app, "refresh_reuse");
    assert_eq!(told.len(), 1, "{:?}", queued(&app));
    let (_, admin) = app.signed_in("root", Role::Admin);
    let csrf = admin.token(&format!("/admin/users/{alice}"));
    let r = admin.post(
        &format!("/admin/users/{alice}/disable"),
        &format!("csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(queued_of(&app, "account_disabled").len(), 1);
}

#[test]
fn mail_is_in_the_account_language() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    // The stored language (the owner's choice), not the request's (English here).
    let mut b = app.browser();
    b.headers
        .push(rocket::http::Header::new("Accept-Language", "en"));
    b.login("alice", PASSWORD, false);
    set_stored_language(app.state(), alice, "ko");
    let csrf = b.token("/account/email");
    b.post(
        "/account/email",
        &format!("email=alice%40example.com&csrf_token={csrf}"),
    );
    let link = &queued_of(&app, "verify_email")[0];
    assert_eq!(link.lang, "ko");
    let r = gatehouse::mail::render::render(&link.kind, &link.lang, &link.data, SITE);
    assert!(r.subject.contains("이메일"), "{}", r.subject);
    assert!(r
        .text
        .contains(&format!("{SITE}/account/email/verify?token=")));
}

#[test]
fn the_owner_chooses_the_language_of_its_mail_on_its_own_page() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    let mut b = app.browser();
    b.headers
        .push(rocket::http::Header::new("Accept-Language", "en"));
    b.login("alice", PASSWORD, false);
    let page = b.get("/account");
    assert!(
        page.body.contains("name=\"lang\""),
        "the choice is on the account page"
    );
    assert!(page
        .body
        .contains("<option value=\"en\" lang=\"en\" selected>"));
    let csrf = b.token("/account");
    // Without the form token nothing changes; a language not offered is a 400.
    assert_eq!(
        b.post("/account/language", "lang=ko").status,
        Status::Forbidden
    );
    assert_eq!(
        b.post("/account/language", &format!("lang=xx&csrf_token={csrf}"))
            .status,
        Status::BadRequest
    );
    let r = b.post("/account/language", &format!("lang=ko&csrf_token={csrf}"));
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/account?notice=language_saved");
    assert!(b
        .get("/account")
        .body
        .contains("<option value=\"ko\" lang=\"ko\" selected>"));
    assert_eq!(app.audit_kinds("mail_language_changed").len(), 1);
    // The next notice (a password change) is in Korean, though the browser asks English.
    let csrf = b.token("/account/password");
    let new = "another long passphrase 77";
    let r = b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={csrf}",
            enc(PASSWORD),
            enc(new),
            enc(new)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let changed = queued_of(&app, "password_changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].lang, "ko", "{changed:?}");
}

#[test]
fn the_forward_answer_carries_the_verified_address() {
    let app = app_with(|f| {
        f.merge(("smtp_url", "smtp://127.0.0.1:9?tls=none"))
            .merge(("public_url", SITE))
            .merge(("mail_from", "auth@auth.test"))
            .merge(("trusted_proxies", vec!["127.0.0.1"]))
    });
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    let b = app.browser();
    b.login("alice", PASSWORD, false);
    let mut req = app
        .client
        .get("/auth/forward")
        .remote("127.0.0.1:40000".parse().unwrap())
        .header(rocket::http::Header::new("X-Forwarded-Method", "GET"))
        .header(rocket::http::Header::new("X-Forwarded-Proto", "https"))
        .header(rocket::http::Header::new("X-Forwarded-Host", "auth.test"))
        .header(rocket::http::Header::new("X-Forwarded-Uri", "/"));
    for (n, v) in b.jar.borrow().iter() {
        req = req.cookie(rocket::http::Cookie::new(n.clone(), v.clone()));
    }
    let r = req.dispatch();
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(
        r.headers().get_one("Remote-Email"),
        Some("alice@example.com")
    );
}

#[test]
fn two_instances_never_claim_the_same_mail() {
    // Two app instances on one database, claiming at once many times over.
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let open = || gatehouse::App::start(&figment_with_url(dir.path(), &url)).unwrap();
    let (a, b) = (open(), open());
    let now = app_now();
    a.db()
        .run_blocking(move |c| {
            for i in 0..200 {
                gatehouse::mail::queue(
                    c,
                    &format!("p{i}@example.com"),
                    "en",
                    gatehouse::mail::kind::ACCOUNT_DISABLED,
                    None,
                    &serde_json::json!({}),
                    now,
                )?;
            }
            Ok(())
        })
        .unwrap();
    let claim = |app: &gatehouse::App| {
        let mut got = Vec::new();
        loop {
            let rows = app
                .db()
                .run_blocking(move |c| gatehouse::mail::sender::claim(c, 7, now))
                .unwrap();
            if rows.is_empty() {
                break got;
            }
            got.extend(rows.into_iter().map(|r| r.id));
        }
    };
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| claim(&a));
        let y = s.spawn(|| claim(&b));
        (x.join().unwrap(), y.join().unwrap())
    });
    let mut all: Vec<i64> = x.iter().chain(y.iter()).copied().collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(n, 200, "every row claimed");
    assert_eq!(all.len(), 200, "no row claimed twice");
    // A claim lasts its lease; after it, an unsent row is claimed again (a crash loses nothing).
    let again = a
        .db()
        .run_blocking(move |c| {
            gatehouse::mail::sender::claim(c, 500, now + gatehouse::mail::sender::LEASE + 1)
        })
        .unwrap();
    assert_eq!(again.len(), 200);
}

#[test]
fn mail_counts_show_in_metrics() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    forgot(&app, "alice");
    let mut m = String::new();
    within(
        "gatehouse_mail_waiting 1 in /metrics",
        std::time::Duration::from_secs(10),
        || {
            m = app
                .client
                .get("/metrics")
                .remote("127.0.0.1:4000".parse().unwrap())
                .dispatch()
                .into_string()
                .unwrap_or_default();
            m.contains("gatehouse_mail_waiting 1")
        },
    );
    assert!(m.contains("gatehouse_mail_sent_total 0"), "{m}");
}
