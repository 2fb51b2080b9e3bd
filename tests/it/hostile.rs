//! Ugly input: huge, truncated and non-UTF-8 forms, odd Unicode, garbage cookies,
//! concurrent requests. Always a 4xx page, never a 5xx, and nothing changes. Names are
//! shown as written, never as code (no bidi or format characters).

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{ContentType, Header, Status};

const WRONG: &str = "not the password at all, sorry";

#[test]
fn a_huge_form_is_refused_with_413() {
    let app = app();
    let b = app.browser();
    let token = b.token("/login");
    let body = format!(
        "username=alice&password={}&csrf_token={token}",
        "a".repeat(100_000)
    );
    let r = b.post("/login", &body);
    assert_eq!(r.status, Status::PayloadTooLarge);
    assert!(r.body.contains("Request too large"));
}

#[test]
fn truncated_and_malformed_forms_get_4xx() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    let token = b.token("/login");
    for body in [
        String::new(),
        "username=alice".to_string(),
        format!("username=alice&password=&csrf_token={token}&remember=maybe"),
        format!("csrf_token={token}&username"),
        "%%%%&&&===".to_string(),
        format!("username=%FF%FE&password=%C3%28&csrf_token={token}"),
        format!("username=a%00b&password=x&csrf_token={token}"),
    ] {
        let r = b.post("/login", &body);
        assert!(
            r.status.code >= 400 && r.status.code < 500,
            "{body:?} → {}",
            r.status
        );
    }
    // Raw non-UTF-8 bytes in the body.
    let r = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body([0xff, 0xfe, b'=', 0x80, b'&', 0xc3])
        .dispatch();
    assert!(
        r.status().code >= 400 && r.status().code < 500,
        "{}",
        r.status()
    );
    // A form sent as another content type.
    let r = app
        .client
        .post("/login")
        .header(ContentType::JSON)
        .body("{}")
        .dispatch();
    assert!(
        r.status().code >= 400 && r.status().code < 500,
        "{}",
        r.status()
    );
    assert!(app.audit_kinds("login_success").is_empty());
}

#[test]
fn odd_unicode_usernames_fail_cleanly() {
    let app = app();
    app.create_user("alice", Role::User);
    for name in [
        "ａｌｉｃｅ",
        "alice\u{200b}",
        "\u{202e}ecila",
        "🦀🦀🦀",
        "al\u{0}ice",
        "ALİCE",
        &"x".repeat(5000),
        "' OR 1=1 --",
    ] {
        let r = app.browser().login(name, PASSWORD, false);
        assert_eq!(r.status, Status::Unauthorized, "{name:?}");
    }
}

#[test]
fn garbage_cookies_never_cause_a_server_error() {
    let app = app();
    let (_, signed_in) = app.signed_in("alice", Role::User);
    let values = [
        "".to_string(),
        "\u{1}".to_string(),
        "a.b.c".to_string(),
        "eyJhbGciOiJub25lIn0.e30.".to_string(),
        "%00%ff".to_string(),
        "x".repeat(4000),
        "=;=;=".to_string(),
        "ü€𝄞".to_string(),
    ];
    for v in &values {
        for name in ["__Host-access", "__Host-refresh", "__Host-presession"] {
            for path in ["/", "/dashboard", "/login", "/logout", "/setup?token=x"] {
                let b = app.browser();
                b.set_cookie(name, v);
                let r = b.get(path);
                assert!(r.status.code < 500, "{name}={v:?} on {path}: {}", r.status);
            }
            let b = signed_in.copy();
            b.set_cookie(name, v);
            let r = b.post("/logout", "csrf_token=x");
            assert!(r.status.code < 500, "POST with {name}={v:?}: {}", r.status);
        }
    }
}

#[test]
fn unknown_pages_get_a_rendered_404() {
    let app = app();
    let r = app.browser().get("/nope/../../etc/passwd");
    assert_eq!(r.status, Status::NotFound);
    assert!(r.body.contains("Page not found"));
    assert!(r.body.contains("<html lang=\"en\">"));
    let r = app.browser().get("/static/../Cargo.toml");
    assert!(
        r.status == Status::NotFound || r.status.code == 400,
        "{}",
        r.status
    );
}

#[test]
fn concurrent_sign_ins_all_succeed() {
    use rocket::local::asynchronous::Client;
    let dir = tempfile::tempdir().unwrap();
    rocket::execute(async move {
        // Sixteen people behind one address (the local client has none): the cap on
        // attempts in flight per address is raised for them.
        let figment = figment(&dir).merge(("address_in_flight", 16));
        let client = Client::untracked(gatehouse::rocket(figment)).await.unwrap();
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        for i in 0..8 {
            app.create_user(&format!("user{i}"), Role::User, PASSWORD)
                .unwrap();
        }
        let attempts = (0..16).map(|i| {
            let client = &client;
            async move {
                let page = client.get("/login").dispatch().await;
                let cookie = page.cookies().get("__Host-presession").unwrap().clone();
                let token = csrf_token(&page.into_string().await.unwrap());
                let body = format!(
                    "username=user{}&password={}&csrf_token={token}",
                    i % 8,
                    enc(PASSWORD)
                );
                let r = client
                    .post("/login")
                    .header(ContentType::Form)
                    .cookie(cookie)
                    .body(body)
                    .dispatch()
                    .await;
                r.status()
            }
        });
        let statuses = futures::future::join_all(attempts).await;
        assert!(
            statuses.iter().all(|s| *s == Status::SeeOther),
            "{statuses:?}"
        );
    });
}

#[test]
fn a_full_hashing_queue_answers_503_at_once_instead_of_queueing() {
    use rocket::local::asynchronous::Client;
    let dir = tempfile::tempdir().unwrap();
    let figment = figment(&dir)
        .merge(("bcrypt_cost", 10))
        .merge(("hash_workers", 1))
        .merge(("hash_queue", 1))
        // Twelve clients, all without an address here: not capped per address.
        .merge(("address_in_flight", 12));
    rocket::execute(async move {
        let client = Client::untracked(gatehouse::rocket(figment)).await.unwrap();
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        // Twelve accounts: each name may have only a couple of sign-ins in flight.
        for i in 0..12 {
            app.create_user(&format!("user{i:02}"), Role::User, PASSWORD)
                .unwrap();
        }
        let page = client.get("/login").dispatch().await;
        let cookie = page.cookies().get("__Host-presession").unwrap().clone();
        let token = csrf_token(&page.into_string().await.unwrap());
        let attempts = (0..12).map(|i| {
            let (client, cookie, token) = (&client, cookie.clone(), token.clone());
            async move {
                let r = client
                    .post("/login")
                    .header(ContentType::Form)
                    .cookie(cookie)
                    .body(format!(
                        "username=user{i:02}&password={}&csrf_token={token}",
                        enc(PASSWORD)
                    ))
                    .dispatch()
                    .await;
                let status = r.status();
                (status, r.into_string().await.unwrap_or_default())
            }
        });
        let results = futures::future::join_all(attempts).await;
        let busy: Vec<_> = results
            .iter()
            .filter(|(s, _)| *s == Status::ServiceUnavailable)
            .collect();
        let ok = results
            .iter()
            .filter(|(s, _)| *s == Status::SeeOther)
            .count();
        assert!(
            !busy.is_empty(),
            "no request was turned away: {:?}",
            results.iter().map(|r| r.0).collect::<Vec<_>>()
        );
        assert!(ok >= 1, "the ones let in succeed");
        assert_eq!(ok + busy.len(), 12, "only 303 or 503");
        assert!(
            busy[0].1.contains("Temporarily unavailable"),
            "a rendered 503 page"
        );
    });
}

// Names are shown as written, never as code.

#[test]
fn bidi_and_format_characters_never_reach_a_page() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, boss) = app.signed_in("boss", Role::Admin);
    let tricky = "evil\u{202E}nimda\u{2066}\u{200B}";
    let b = app.browser();
    b.login(tricky, WRONG, false);
    let mut device = app.browser();
    device.headers.push(Header::new(
        "User-Agent",
        "Firefox \u{202E}(gnp.exe)\u{200D}",
    ));
    device.login("boss", PASSWORD, false);
    for page in ["/admin/audit", "/account"] {
        let body = if page == "/account" {
            device.get(page).body
        } else {
            boss.get(page).body
        };
        for c in ['\u{202E}', '\u{2066}', '\u{200B}', '\u{200D}'] {
            assert!(!body.contains(c), "{page} shows U+{:04X}", c as u32);
        }
    }
    let events = app.audit_kinds("login_failure");
    assert_eq!(events[0].subject_name.as_deref(), Some("evilnimda"));
    assert!(device
        .get("/account")
        .body
        .contains("<bdi>Firefox (gnp.exe)</bdi>"));
}
