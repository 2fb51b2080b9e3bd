//! Fail closed at every door (issue 18): forward auth judges one canonical target, refuses
//! what does not parse, and never lets a session with a duty through; `rd` never breaks a
//! sign-in; forwarding headers and `Host` are read strictly.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{Header, Status};

const PROXY: &str = "127.0.0.1:40000";
const ACCESS: &str = "__Secure-access";

/// Guards `*.gh.test` as the reproduction did: `/admin/*` on app is closed, staff needs the
/// `staff` group, closed is closed.
fn app_guarding_gh() -> TestApp {
    app_guarding_gh_with(|f| f)
}

fn app_guarding_gh_with(
    more: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment,
) -> TestApp {
    app_with(|f| {
        more(f)
            .merge(("trusted_proxies", vec!["127.0.0.0/8", "fd00::/8"]))
            .merge(("public_url", "https://auth.gh.test"))
            .merge(("cookie_domain", "gh.test"))
            .merge((
                "access_rules",
                serde_json::json!([
                    { "host": "app.gh.test", "path": "/admin/*", "policy": "deny" },
                    { "host": "app.gh.test", "path": "/public/*", "policy": "allow" },
                    { "host": "staff.gh.test", "policy": "signed_in", "groups": ["staff"] },
                    { "host": "closed.gh.test", "policy": "deny" },
                    { "host": "open.gh.test", "path": "/", "policy": "allow" },
                    { "host": "open.gh.test", "policy": "signed_in", "groups": ["staff"] },
                ]),
            ))
    })
}

/// Asks `path` with the given headers and the browser's cookies, as a proxy on loopback.
fn ask_with(b: &Browser<'_>, path: &str, headers: &[(&str, &str)]) -> Status {
    let mut req = b
        .client
        .get(path.to_string())
        .remote(PROXY.parse().unwrap());
    for (n, v) in headers {
        req = req.header(Header::new(n.to_string(), v.to_string()));
    }
    for (n, v) in b.jar.borrow().iter() {
        req = req.cookie(rocket::http::Cookie::new(n.clone(), v.clone()));
    }
    req.dispatch().status()
}

fn forward(b: &Browser<'_>, host: &str, uri: &str) -> Status {
    ask_with(
        b,
        "/auth/forward",
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", host),
            ("X-Forwarded-Uri", uri),
            ("X-Forwarded-Method", "GET"),
            ("Accept", "text/html"),
        ],
    )
}

fn nginx(b: &Browser<'_>, url: &str) -> Status {
    ask_with(b, "/auth/nginx", &[("X-Original-URL", url)])
}

/// The spellings of `/admin/…` that passed a deny rule before.
pub const ADMIN_SPELLINGS: [&str; 13] = [
    "/%61dmin/secret",
    "/admin%2Fsecret",
    "//admin/secret",
    "/admin",
    "/ADMIN/x",
    "/./admin/x",
    "/x/../admin/x",
    "/%2e%2e/admin/x",
    "/admin;p/x",
    "/%2561dmin/x",
    // Resolved as `..` by some servers, served as a name by most: refused.
    "/admin/..;/public/x",
    "/admin/panel/..;/..;/public/",
    "/admin/..;jsessionid=1/x",
];

#[test]
fn every_spelling_of_a_denied_path_is_denied_or_refused_by_both_endpoints() {
    let app = app_guarding_gh();
    let (_, b) = app.signed_in("alice", Role::User);
    assert_eq!(forward(&b, "app.gh.test", "/reports"), Status::Ok);
    assert_eq!(forward(&b, "app.gh.test", "/public/x"), Status::Ok);
    for spelling in ADMIN_SPELLINGS {
        let f = forward(&b, "app.gh.test", spelling);
        let n = nginx(&b, &format!("https://app.gh.test{spelling}"));
        for (who, status) in [("forward", f), ("nginx", n)] {
            assert!(
                status == Status::Forbidden || status == Status::BadRequest,
                "{who} {spelling}: {status}"
            );
        }
    }
    // Refused outright (not merely denied): encoded separators and double encoding.
    assert_eq!(
        forward(&b, "app.gh.test", "/admin%2Fsecret"),
        Status::BadRequest
    );
    assert_eq!(
        forward(&b, "app.gh.test", "/%2561dmin/x"),
        Status::BadRequest
    );
    // Decoded once and resolved, the others are the denied page itself.
    assert_eq!(
        forward(&b, "app.gh.test", "/%61dmin/secret"),
        Status::Forbidden
    );
    // With `case_sensitive_paths`, /ADMIN is another page.
    let strict = app_with(|f| {
        f.merge(("trusted_proxies", vec!["127.0.0.1"]))
            .merge(("public_url", "https://auth.gh.test"))
            .merge(("cookie_domain", "gh.test"))
            .merge(("case_sensitive_paths", true))
            .merge((
                "access_rules",
                serde_json::json!([{ "host": "app.gh.test", "path": "/admin/*", "policy": "deny" }]),
            ))
    });
    let (_, s) = strict.signed_in("alice", Role::User);
    assert_eq!(forward(&s, "app.gh.test", "/ADMIN/x"), Status::Ok);
    assert_eq!(forward(&s, "app.gh.test", "/%61dmin/x"), Status::Forbidden);
}

#[test]
fn a_missing_overlong_or_unprintable_target_is_refused_never_judged_as_the_root() {
    let app = app_guarding_gh();
    let b = app.browser(); // anonymous: open.gh.test/ is open, everything else needs staff
    assert_eq!(forward(&b, "open.gh.test", "/"), Status::Ok);
    // Allowed for nobody: the identity headers are there, and empty.
    let mut req = b
        .client
        .get("/auth/nginx")
        .remote(PROXY.parse().unwrap())
        .header(Header::new("X-Original-URL", "https://open.gh.test/"));
    req = req.header(Header::new("Accept", "text/html"));
    let r = req.dispatch();
    assert_eq!(r.status(), Status::Ok);
    for name in [
        "Remote-User",
        "Remote-Groups",
        "Remote-Role",
        "Remote-Email",
    ] {
        assert_eq!(r.headers().get_one(name), Some(""), "{name}");
    }
    assert_eq!(forward(&b, "open.gh.test", "/private"), Status::Found);
    let long = format!("/private?{}", "a".repeat(4100));
    for uri in [
        long.as_str(),
        "/private?\u{9f}=1",
        "/private\u{7f}",
        "private",
    ] {
        assert_eq!(
            forward(&b, "open.gh.test", uri),
            Status::BadRequest,
            "{uri:?}"
        );
    }
    // No X-Forwarded-Uri, no X-Forwarded-Proto, or one sent twice.
    let base = [
        ("X-Forwarded-Host", "open.gh.test"),
        ("X-Forwarded-Proto", "https"),
    ];
    assert_eq!(ask_with(&b, "/auth/forward", &base), Status::BadRequest);
    assert_eq!(
        ask_with(
            &b,
            "/auth/forward",
            &[
                ("X-Forwarded-Host", "open.gh.test"),
                ("X-Forwarded-Uri", "/")
            ]
        ),
        Status::BadRequest
    );
    let twice = [
        ("X-Forwarded-Host", "open.gh.test"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Uri", "/"),
        ("X-Forwarded-Uri", "/private"),
    ];
    assert_eq!(ask_with(&b, "/auth/forward", &twice), Status::BadRequest);
    assert_eq!(ask_with(&b, "/auth/nginx", &[]), Status::BadRequest);
    assert_eq!(
        nginx(&b, &format!("https://open.gh.test{long}")),
        Status::BadRequest
    );
}

#[test]
fn hosts_are_canonical_and_a_bad_port_is_refused() {
    let app = app_guarding_gh();
    let (_, b) = app.signed_in("alice", Role::User); // not in staff
    for host in [
        "staff.gh.test",
        "staff.gh.test.",
        "STAFF.gh.test",
        "staff.gh.test:443",
    ] {
        assert_eq!(forward(&b, host, "/"), Status::Forbidden, "{host}");
        assert_eq!(
            nginx(&b, &format!("https://{host}/")),
            Status::Forbidden,
            "{host}"
        );
    }
    for host in [
        "closed.gh.test:19410x",
        "closed.gh.test:99999",
        "closed.gh.test:",
        "closed.gh.test,app.gh.test",
        "user@closed.gh.test",
        "closed..gh.test",
    ] {
        assert_eq!(forward(&b, host, "/"), Status::BadRequest, "{host}");
        assert_eq!(
            nginx(&b, &format!("https://{host}/")),
            Status::BadRequest,
            "{host}"
        );
    }
    assert_eq!(forward(&b, "closed.gh.test.", "/"), Status::Forbidden);
}

#[test]
fn an_rd_that_is_not_a_clean_url_never_breaks_the_sign_in() {
    let app = app_guarding_gh();
    app.create_user("alice", Role::User);
    for rd in [
        "https://app.gh.test/a|b",
        "https://app.gh.test/a^b",
        "https://app.gh.test/caf\u{e9}",
        "https://app.gh.test:99999/",
        "https://app.gh.test/?q={x}",
        "https://app.gh.test/%zz",
    ] {
        let b = app.browser();
        let page = b.get(&format!("/login?rd={}", enc(rd)));
        assert_eq!(page.status, Status::Ok, "{rd}");
        let token = csrf_token(&page.body);
        let r = b.post(
            "/login",
            &format!(
                "username=alice&password={}&rd={}&csrf_token={token}",
                enc(PASSWORD),
                enc(rd)
            ),
        );
        assert_eq!(r.status, Status::SeeOther, "{rd}: {}", r.body);
        assert!(!r.set_cookies(ACCESS).is_empty(), "{rd}: no cookies");
        let to = r.location();
        assert!(
            to == "/dashboard" || to.starts_with("https://app.gh.test/"),
            "{rd} → {to}"
        );
        assert!(
            to.is_ascii() && !to.contains(['|', '^', '{']),
            "{rd} → {to}"
        );
        // Signed in, /login?rd= answers at once, and as cleanly.
        let again = b.get(&format!("/login?rd={}", enc(rd)));
        assert_eq!(again.status, Status::SeeOther, "{rd}");
    }
}

#[test]
fn a_session_with_a_duty_is_not_signed_in_for_the_apps() {
    // The default `require_2fa = "admins"`: an administrator who has not enrolled.
    let app = app_guarding_gh_with(|f| f.merge(("require_2fa", "admins")));
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let r = admin.get("/dashboard");
    assert_eq!(r.status, Status::SeeOther, "sent to enrol");
    for (endpoint, status) in [
        ("forward", forward(&admin, "app.gh.test", "/reports")),
        ("nginx", nginx(&admin, "https://app.gh.test/reports")),
    ] {
        assert_ne!(
            status,
            Status::Ok,
            "{endpoint} let an unenrolled admin through"
        );
    }
    // And the proxy is told to send them to the duty page, not to sign in again.
    let mut req = admin
        .client
        .get("/auth/nginx")
        .remote(PROXY.parse().unwrap())
        .header(Header::new("X-Original-URL", "https://app.gh.test/reports"));
    for (n, v) in admin.jar.borrow().iter() {
        req = req.cookie(rocket::http::Cookie::new(n.clone(), v.clone()));
    }
    let r = req.dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    assert_eq!(
        r.headers().get_one("Location"),
        Some("https://auth.gh.test/account/2fa?notice=must_enrol")
    );
    // /login?rd= does not bounce back to the app either.
    let r = admin.get(&format!("/login?rd={}", enc("https://app.gh.test/reports")));
    assert_eq!(r.location(), "/account/2fa?notice=must_enrol");
    // With only the refresh cookie the same (no access cookie is handed out).
    admin.drop_cookie(ACCESS);
    assert_eq!(forward(&admin, "app.gh.test", "/reports"), Status::Found);
}

#[test]
fn a_password_that_must_be_changed_is_a_duty_for_the_apps_too() {
    let app = app_guarding_gh();
    let id = app.create_user("alice", Role::User);
    force_password_change(app.state(), id);
    let b = app.browser();
    assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
    assert_eq!(forward(&b, "app.gh.test", "/reports"), Status::Found);
    assert_eq!(
        nginx(&b, "https://app.gh.test/reports"),
        Status::Unauthorized
    );
    // Its access token is not one an API that checks the audience accepts.
    let token = b.cookie(ACCESS).expect("an access cookie");
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "gatehouse-duty");
    // Once the duty is done, the apps let them in.
    let token = b.token("/account/password");
    let r = b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={token}",
            enc(PASSWORD),
            enc("a brand new passphrase 42"),
            enc("a brand new passphrase 42")
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(forward(&b, "app.gh.test", "/reports"), Status::Ok);
}

#[test]
fn trusted_proxies_take_ranges_and_a_bad_forwarded_entry_ends_the_walk() {
    let app = app_guarding_gh(); // 127.0.0.0/8 and fd00::/8
    let b = app.browser();
    // From inside the range: believed.
    let r = app
        .client
        .get("/auth/forward")
        .remote("127.3.4.5:1000".parse().unwrap())
        .header(Header::new("X-Forwarded-Proto", "https"))
        .header(Header::new("X-Forwarded-Host", "open.gh.test"))
        .header(Header::new("X-Forwarded-Uri", "/"))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let r = app
        .client
        .get("/auth/forward")
        .remote("[fd00::9]:1000".parse().unwrap())
        .header(Header::new("X-Forwarded-Proto", "https"))
        .header(Header::new("X-Forwarded-Host", "open.gh.test"))
        .header(Header::new("X-Forwarded-Uri", "/"))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let _ = b;
    // A bad right-most entry: the proxy is the client, so the address throttle counts
    // the proxy, not an address the client chose.
    let throttled = app_with(|f| {
        f.merge(("trusted_proxies", vec!["10.0.0.0/8"]))
            .merge(("address_failures", 2))
    });
    throttled.create_user("alice", Role::User);
    let attempt = |xff: &str| {
        let page = throttled
            .client
            .get("/login")
            .remote("10.0.0.1:1000".parse().unwrap())
            .dispatch();
        let cookie = page.cookies().get("__Host-presession").unwrap().clone();
        let token = csrf_token(&page.into_string().unwrap());
        throttled
            .client
            .post("/login")
            .remote("10.0.0.1:1000".parse().unwrap())
            .header(rocket::http::ContentType::Form)
            .header(Header::new("X-Forwarded-For", xff.to_string()))
            .cookie(cookie)
            .body(format!("username=alice&password=wrong&csrf_token={token}"))
            .dispatch()
            .status()
    };
    // Each a "different address" if garbage were skipped; all the proxy's if not.
    let answers: Vec<Status> = (0..4)
        .map(|i| attempt(&format!("198.51.100.{i}, not-an-address")))
        .collect();
    assert_eq!(answers[..2], [Status::Unauthorized, Status::Unauthorized]);
    assert_eq!(answers[2], Status::TooManyRequests, "{answers:?}");
}

#[test]
fn two_host_headers_are_refused_before_any_route() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    let r = app
        .client
        .get("/login")
        .header(Header::new("Host", "gatehouse.test"))
        .header(Header::new("Host", "evil.test"))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    assert!(r.into_string().unwrap_or_default().contains("Error 400"));
    let token = b.token("/login");
    let mut req = app
        .client
        .post("/login")
        .header(rocket::http::ContentType::Form)
        .header(Header::new("Host", "gatehouse.test"))
        .header(Header::new("Host", "evil.test"));
    for (n, v) in b.jar.borrow().iter() {
        req = req.cookie(rocket::http::Cookie::new(n.clone(), v.clone()));
    }
    let r = req
        .body(format!(
            "username=alice&password={}&csrf_token={token}",
            enc(PASSWORD)
        ))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    assert!(
        r.cookies().get("__Host-access").is_none(),
        "a session was started"
    );
    let one = app
        .client
        .get("/login")
        .header(Header::new("Host", "gatehouse.test"))
        .dispatch();
    assert_eq!(one.status(), Status::Ok);
}
