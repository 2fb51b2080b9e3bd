//! Self-service: the account page, revoking one's own sessions, changing the password
//! (the current-password check is no free oracle), and sign-up when it is open (limited
//! per address; a name found taken counts as a failure).

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{Header, Status};

const WRONG: &str = "not the password at all, sorry";

fn session_ids(page: &str) -> Vec<String> {
    page.split("action=\"/sessions/")
        .skip(1)
        .map(|s| s[..s.find(['/', '"']).unwrap()].to_string())
        .filter(|s| s != "revoke-others")
        .collect()
}

#[test]
fn the_account_page_lists_devices_and_marks_this_one() {
    let app = app();
    let (_, phone) = app.signed_in("alice", Role::User);
    let mut laptop = app.browser();
    laptop
        .headers
        .push(Header::new("User-Agent", "Laptop <b>Browser</b>"));
    laptop.login("alice", PASSWORD, false);
    let page = laptop.get("/account");
    assert_eq!(page.status, Status::Ok);
    assert_eq!(page.header("Cache-Control"), Some("no-store"));
    assert_eq!(session_ids(&page.body).len(), 2);
    assert_eq!(page.body.matches("this device").count(), 1);
    assert!(
        page.body.contains("Laptop &lt;b&gt;Browser&lt;&#x2F;b&gt;"),
        "user agent escaped"
    );
    assert!(page.body.contains("Last sign-in"));
    assert!(page.body.contains(" UTC"), "dates shown with their zone");
    assert!(page.body.contains("Sign out everywhere else"));
    assert_eq!(phone.get("/account").status, Status::Ok);
}

#[test]
fn revoke_one_other_session() {
    let app = app();
    let (_, phone) = app.signed_in("alice", Role::User);
    let laptop = app.browser();
    laptop.login("alice", PASSWORD, false);
    let page = laptop.get("/account");
    // The row not marked "this device" is the phone's.
    let rows: Vec<&str> = page
        .body
        .split("<tr")
        .filter(|r| r.contains("/sessions/"))
        .collect();
    let phone_row = rows.iter().find(|r| !r.contains("this device")).unwrap();
    let sid = session_ids(phone_row)[0].clone();
    let r = laptop.post(
        &format!("/sessions/{sid}/revoke"),
        &format!("csrf_token={}", csrf_token(&page.body)),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/account?notice=session_revoked");
    assert!(
        phone.get("/dashboard").is_login_redirect(),
        "revoked session still works"
    );
    assert_eq!(laptop.get("/dashboard").status, Status::Ok);
    assert_eq!(app.audit_kinds("session_revoked").len(), 1);
}

#[test]
fn nobody_revokes_another_accounts_session() {
    let app = app();
    let (_, alice) = app.signed_in("alice", Role::User);
    let alice_sid = session_ids(&alice.get("/account").body)[0].clone();
    let (_, mallory) = app.signed_in("mallory", Role::User);
    let token = mallory.token("/logout");
    let r = mallory.post(
        &format!("/sessions/{alice_sid}/revoke"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(alice.get("/dashboard").status, Status::Ok);
    assert_eq!(
        mallory
            .post(
                "/sessions/nonexistent/revoke",
                &format!("csrf_token={token}")
            )
            .status,
        Status::NotFound
    );
}

#[test]
fn revoking_this_device_signs_it_out() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let page = b.get("/account");
    let sid = session_ids(&page.body)[0].clone();
    let r = b.post(
        &format!("/sessions/{sid}/revoke"),
        &format!("csrf_token={}", csrf_token(&page.body)),
    );
    assert_eq!(r.location(), "/login?notice=signed_out");
    assert!(b.get("/dashboard").is_login_redirect());
}

#[test]
fn sign_out_everywhere_else() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    let b = app.browser();
    b.login("alice", PASSWORD, false);
    let c = app.browser();
    c.login("alice", PASSWORD, true);
    let r = a.post(
        "/sessions/revoke-others",
        &format!("csrf_token={}", a.token("/logout")),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(a.get("/dashboard").status, Status::Ok);
    assert!(b.get("/dashboard").is_login_redirect());
    assert!(c.get("/dashboard").is_login_redirect());
    let events = app.audit_kinds("sessions_revoked");
    assert_eq!(events[0].detail, "2 other sessions ended");
    assert!(a.post("/sessions/revoke-others", "csrf_token=x").status == Status::Forbidden);
}

fn change(b: &Browser<'_>, current: &str, new: &str, confirm: &str) -> Resp {
    let token = b.token("/account/password");
    b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={token}",
            enc(current),
            enc(new),
            enc(confirm)
        ),
    )
}

#[test]
fn password_change_checks_and_ends_other_sessions() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    let other = app.browser();
    other.login("alice", PASSWORD, false);
    let new = "a completely new passphrase here";
    for (current, pw, confirm, message) in [
        (
            "wrong current password!",
            new,
            new,
            "current password is not right",
        ),
        (PASSWORD, "short", "short", "at least 15 characters"),
        (
            PASSWORD,
            "alice-is-my-name-here",
            "alice-is-my-name-here",
            "does not contain your username",
        ),
        (PASSWORD, new, "something else", "do not match"),
        (
            PASSWORD,
            PASSWORD,
            PASSWORD,
            "different from the current one",
        ),
        (PASSWORD, &"x".repeat(129), &"x".repeat(129), "at most 128"),
    ] {
        let r = change(&a, current, pw, confirm);
        assert_eq!(r.status, Status::UnprocessableEntity, "{message}");
        assert!(r.body.contains(message), "{message}");
    }
    assert_eq!(
        other.get("/dashboard").status,
        Status::Ok,
        "refusals change nothing"
    );
    let r = change(&a, PASSWORD, new, new);
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/account?notice=password_changed");
    assert_eq!(
        a.get("/dashboard").status,
        Status::Ok,
        "this session goes on"
    );
    assert!(
        other.get("/dashboard").is_login_redirect(),
        "other sessions end at once"
    );
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::Unauthorized
    );
    assert_eq!(
        app.browser().login("alice", new, false).status,
        Status::SeeOther
    );
    assert_eq!(app.audit_kinds("password_changed").len(), 1);
}

#[test]
fn signup_is_404_when_closed() {
    let app = app();
    assert_eq!(app.browser().get("/signup").status, Status::NotFound);
    let b = app.browser();
    let token = b.token("/login");
    let r = b.post(
        "/signup",
        &format!(
            "username=newbie&password={0}&confirm={0}&csrf_token={token}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(r.status, Status::NotFound);
}

#[test]
fn open_signup_creates_plain_users_only() {
    let app = app_with(|f| f.merge(("signup", "open")));
    let b = app.browser();
    let page = b.get("/signup");
    assert_eq!(page.status, Status::Ok);
    let r = b.post(
        "/signup",
        &format!(
            "username=newbie&password={0}&confirm={0}&role=admin&csrf_token={1}",
            enc(PASSWORD),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/login?notice=signed_up");
    let user = app.browser();
    user.login("newbie", PASSWORD, false);
    assert!(
        user.get("/dashboard").body.contains(">user<"),
        "the role field is ignored"
    );
    assert_eq!(user.get("/admin/users").status, Status::Forbidden);
    // Taken names, bad names and weak passwords are refused with a message.
    for (name, pw, message) in [
        ("NEWBIE", PASSWORD, "not available"),
        ("no spaces", PASSWORD, "only letters"),
        ("other", "short", "at least 15"),
    ] {
        let r = b.post(
            "/signup",
            &format!(
                "username={}&password={1}&confirm={1}&csrf_token={2}",
                enc(name),
                enc(pw),
                b.token("/signup")
            ),
        );
        assert_eq!(r.status, Status::UnprocessableEntity, "{name}");
        assert!(r.body.contains(message), "{name}: {message}");
    }
    let r = b.post(
        "/signup",
        &format!(
            "username=other&password={}&confirm={}&csrf_token={}",
            enc(PASSWORD),
            enc("correct horse battery stapler"),
            b.token("/signup")
        ),
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("do not match"), "{}", r.body);
    assert_eq!(app.audit_kinds("signup").len(), 1);
}

#[test]
fn devices_are_named_as_people_know_them_with_the_raw_string_at_hand() {
    let app = app();
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    app.create_user("alice", Role::User);
    let mut b = app.browser();
    b.headers
        .push(rocket::http::Header::new("User-Agent", ua.to_string()));
    b.login("alice", PASSWORD, false);
    let page = b.get("/account").body;
    assert!(
        page.contains("<summary><bdi>Chrome 131 on Windows 10</bdi></summary>"),
        "{page}"
    );
    // (Tera escapes "/" as &#x2F;.)
    let escaped = ua.replace('/', "&#x2F;");
    assert!(
        page.contains(&format!("<bdi class=\"raw\">{escaped}</bdi>")),
        "{page}"
    );
    let (_, admin) = app.signed_in("root", Role::Admin);
    let page = admin.get("/admin/users/1").body;
    assert!(page.contains("Chrome 131 on Windows 10"), "{page}");
    b.headers
        .push(rocket::http::Header::new("Accept-Language", "ko"));
    assert!(b.get("/account").body.contains("Windows 10의 Chrome 131"));
}

// The current-password check is not a free oracle.

fn change_password(b: &Browser<'_>, current: &str) -> Resp {
    let token = b.token("/account/password");
    let new = "another long new passphrase";
    b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={token}",
            enc(current),
            enc(new),
            enc(new)
        ),
    )
}

#[test]
fn wrong_current_passwords_count_are_audited_and_end_the_session_at_the_threshold() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, thief) = app.signed_in("alice", Role::User);
    for _ in 0..4 {
        assert_eq!(
            change_password(&thief, WRONG).status,
            Status::UnprocessableEntity
        );
    }
    assert_eq!(app.audit_kinds("password_change_failure").len(), 4);
    // The fifth reaches the threshold: the session ends.
    let r = change_password(&thief, WRONG);
    assert!(r.is_login_redirect(), "{:?}", r.status);
    assert!(r.clears("__Host-access"));
    assert_eq!(app.audit_kinds("lockout").len(), 1);
    thief.drop_cookie("__Host-access");
    assert!(thief.get("/dashboard").is_login_redirect());
    // And the account waits, as after five wrong sign-ins.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
}

#[test]
fn parallel_wrong_current_passwords_are_all_counted() {
    with_async_app(
        |f| f.merge(("address_failures", 1000)),
        |client, _dir| async move {
            let app = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let (cookie, token) = async_form(&client, "/login").await;
            let r = async_post(
                &client,
                "/login",
                login_body("alice", PASSWORD, &token),
                vec![cookie],
            )
            .await;
            assert_eq!(r.status, Status::SeeOther);
            let cookies = r.cookies;
            let page = client
                .get("/account/password")
                .cookies(cookies.clone())
                .dispatch()
                .await;
            let token = csrf_token(&page.into_string().await.unwrap());
            let before = app.hasher().verifications().1;
            let attempts = (0..30).map(|_| {
                async_post(
                    &client,
                    "/account/password",
                    format!(
                        "current={}&password=x&confirm=x&csrf_token={token}",
                        enc(WRONG)
                    ),
                    cookies.clone(),
                )
            });
            futures::future::join_all(attempts).await;
            let wrong = app.hasher().verifications().1 - before;
            assert!(wrong <= 5, "{wrong} wrong current passwords verified");
        },
    );
}

// Open sign-up is rate-limited, and "taken" is throttled like a failure.

fn signup(b: &Browser<'_>, name: &str) -> Resp {
    let token = b.token("/signup");
    b.post(
        "/signup",
        &format!(
            "username={name}&password={pw}&confirm={pw}&csrf_token={token}",
            pw = enc(PASSWORD)
        ),
    )
}

#[test]
fn sign_ups_per_address_are_limited() {
    let app = app_with(|f| {
        f.merge(("signup", "open"))
            .merge(("signup_address_limit", 3))
    });
    let b = app.browser();
    for i in 0..3 {
        assert_eq!(
            signup(&b, &format!("new-user-{i}")).status,
            Status::SeeOther
        );
    }
    let r = signup(&b, "new-user-3");
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(r.header("Retry-After").is_some());
    assert_eq!(
        app.browser().login("new-user-3", PASSWORD, false).status,
        Status::Unauthorized
    );
}

#[test]
fn parallel_sign_ups_from_one_address_stop_at_the_limit() {
    with_async_app(
        |f| {
            f.merge(("signup", "open"))
                .merge(("signup_address_limit", 3))
        },
        |client, _dir| async move {
            let (cookie, token) = async_form(&client, "/signup").await;
            let attempts = (0..12).map(|i| {
                async_post(
                    &client,
                    "/signup",
                    format!(
                        "username=racer{i:02}&password={pw}&confirm={pw}&csrf_token={token}",
                        pw = enc(PASSWORD)
                    ),
                    vec![cookie.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            let created = answers
                .iter()
                .filter(|a| a.status == Status::SeeOther)
                .count();
            assert_eq!(created, 3);
        },
    );
}

#[test]
fn names_found_taken_at_sign_up_count_as_failures_of_the_address() {
    let app = app_with(|f| {
        f.merge(("signup", "open"))
            .merge(("address_failures", 3))
            .merge(("signup_address_limit", 100))
    });
    for name in ["alice", "bobby", "carol"] {
        app.create_user(name, Role::User);
    }
    let b = app.browser();
    for name in ["alice", "bobby", "carol"] {
        assert_eq!(signup(&b, name).status, Status::UnprocessableEntity);
    }
    // Enumeration by sign-up has used up the address's failures: no more probing, and
    // no password guessing either.
    assert_eq!(signup(&b, "dave").status, Status::TooManyRequests);
    assert_eq!(
        app.browser().login("alice", WRONG, false).status,
        Status::TooManyRequests
    );
}
