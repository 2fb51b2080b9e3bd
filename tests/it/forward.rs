//! Guarding other apps, in-process: forward auth from trusted proxies only, the answers
//! per proxy, access rules and groups, the refresh cookie checked without rotation,
//! domain cookies and `rd`, public keys and JWKS. (Through real nginx and Caddy:
//! `proxies.rs`.)

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{Header, Status};
use rocket::local::blocking::LocalRequest;

const PROXY: &str = "127.0.0.1:40000";
const ACCESS: &str = "__Secure-access";
const REFRESH: &str = "__Secure-refresh";

/// An app guarding `*.example.com`, with rules: /public on app is open, admin needs the
/// `ops` group, `secret.example.com` is closed, everything else needs a sign-in.
fn guarding_app() -> TestApp {
    app_with(|f| {
        f.merge(("trusted_proxies", vec!["127.0.0.1"]))
            .merge(("public_url", "https://auth.example.com"))
            .merge(("cookie_domain", "example.com"))
            .merge((
                "access_rules",
                serde_json::json!([
                    { "host": "app.example.com", "path": "/public/*", "policy": "allow" },
                    { "host": "admin.example.com", "policy": "signed_in", "groups": ["ops"] },
                    { "host": "secret.example.com", "policy": "deny" },
                ]),
            ))
    })
}

/// What a proxy asks: `/auth/forward` for `url` with the browser's cookies.
fn ask<'c>(b: &Browser<'c>, url: &str, method: &str, accept: &str) -> Resp {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (host, uri) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut req: LocalRequest<'c> = b
        .client
        .get("/auth/forward")
        .remote(PROXY.parse().unwrap())
        .header(Header::new("X-Forwarded-Method", method.to_string()))
        .header(Header::new("X-Forwarded-Proto", scheme.to_string()))
        .header(Header::new("X-Forwarded-Host", host.to_string()))
        .header(Header::new(
            "X-Forwarded-Uri",
            if uri.is_empty() {
                "/".to_string()
            } else {
                uri.to_string()
            },
        ))
        .header(Header::new("Accept", accept.to_string()));
    for (n, v) in b.jar.borrow().iter() {
        req = req.cookie(rocket::http::Cookie::new(n.clone(), v.clone()));
    }
    let r = req.dispatch();
    let status = r.status();
    let headers = r
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: r.into_string().unwrap_or_default(),
    }
}

fn ask_page(b: &Browser<'_>, url: &str) -> Resp {
    ask(b, url, "GET", "text/html,application/xhtml+xml")
}

#[test]
fn only_configured_proxies_may_ask_and_they_must_say_about_what() {
    let app = guarding_app();
    let b = app.browser();
    // A forged X-Forwarded-* from anyone else.
    let r = app
        .client
        .get("/auth/forward")
        .remote("203.0.113.9:5000".parse().unwrap())
        .header(Header::new("X-Forwarded-Host", "app.example.com"))
        .header(Header::new("X-Forwarded-Uri", "/"))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    let r = app
        .client
        .get("/auth/nginx")
        .remote("203.0.113.9:5000".parse().unwrap())
        .header(Header::new("X-Original-URL", "https://app.example.com/"))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    // A proxy that does not say what it is asking about.
    let r = app
        .client
        .get("/auth/forward")
        .remote(PROXY.parse().unwrap())
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    let _ = b;
}

#[test]
fn strangers_are_sent_to_sign_in_as_each_proxy_expects() {
    let app = guarding_app();
    let b = app.browser();
    let r = ask_page(&b, "https://app.example.com/reports?y=2026");
    assert_eq!(r.status, Status::Found);
    assert_eq!(
        r.location(),
        "https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Freports%3Fy%3D2026"
    );
    assert_eq!(
        ask(&b, "https://app.example.com/form", "POST", "text/html").status,
        Status::SeeOther
    );
    assert_eq!(
        ask(&b, "https://app.example.com/api", "GET", "application/json").status,
        Status::Unauthorized
    );
    // nginx: 401, with the sign-in URL in Location.
    let r = app
        .client
        .get("/auth/nginx")
        .remote(PROXY.parse().unwrap())
        .header(Header::new("X-Original-URL", "https://app.example.com/x"))
        .header(Header::new("X-Original-Method", "GET"))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    assert_eq!(
        r.headers().get_one("Location"),
        Some("https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Fx")
    );
    // Open paths and closed hosts.
    assert_eq!(
        ask_page(&b, "https://app.example.com/public/logo.png").status,
        Status::Ok
    );
    assert_eq!(
        ask_page(&b, "https://secret.example.com/").status,
        Status::Forbidden
    );
}

#[test]
fn a_signed_in_person_passes_with_their_name_and_groups_and_no_query() {
    let app = guarding_app();
    let (_, b) = app.signed_in("alice", Role::User);
    let runs = app.state().db().runs();
    let r = ask_page(&b, "https://app.example.com/");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.header("Remote-User"), Some("alice"));
    assert_eq!(r.header("Remote-Groups"), Some(""));
    assert_eq!(r.header("Remote-Role"), Some("user"));
    assert!(r.set_cookies(ACCESS).is_empty());
    assert_eq!(
        app.state().db().runs(),
        runs,
        "decided from the access cookie alone"
    );
    // Not in the group the admin app needs; closed hosts stay closed.
    assert_eq!(
        ask_page(&b, "https://admin.example.com/").status,
        Status::Forbidden
    );
    assert_eq!(
        ask_page(&b, "https://secret.example.com/").status,
        Status::Forbidden
    );
}

/// The id of the first group offered on an account's page.
fn group_option(admin: &Browser<'_>, account: i64) -> String {
    let page = admin.get(&format!("/admin/users/{account}"));
    let select = page
        .body
        .split("id=\"add-group\"")
        .nth(1)
        .expect("a group to add");
    select
        .split("<option value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string()
}

fn admin_post(admin: &Browser<'_>, path: &str, body: &str) -> Resp {
    let token = admin.token("/logout");
    admin.post(path, &format!("{body}&csrf_token={token}"))
}

#[test]
fn a_membership_change_takes_effect_at_the_next_request() {
    let app = guarding_app();
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let (alice, b) = app.signed_in("alice", Role::User);
    assert_eq!(
        ask_page(&b, "https://admin.example.com/").status,
        Status::Forbidden
    );
    // The administrator makes a group and puts alice in it.
    let r = admin_post(&admin, "/admin/groups", "name=ops");
    assert_eq!(r.location(), "/admin/groups?notice=group_created");
    let ops = admin.get("/admin/groups");
    assert!(ops.body.contains(">ops<"));
    let gid = group_option(&admin, alice);
    let r = admin_post(
        &admin,
        &format!("/admin/users/{alice}/groups"),
        &format!("group={gid}"),
    );
    assert!(
        r.location().contains("notice=groups_changed"),
        "{}",
        r.location()
    );
    assert_eq!(app.audit_kinds("group_member_added").len(), 1);
    // Her old access token names no group: refused, and renewed from the refresh cookie.
    let r = ask_page(&b, "https://admin.example.com/");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.header("Remote-Groups"), Some("ops"));
    assert_eq!(r.set_cookies(ACCESS).len(), 1, "one fresh access cookie");
    // And out again.
    let r = admin_post(
        &admin,
        &format!("/admin/users/{alice}/groups/{gid}/remove"),
        "",
    );
    assert!(r.location().contains("notice=groups_changed"));
    assert_eq!(
        ask_page(&b, "https://admin.example.com/").status,
        Status::Forbidden
    );
    // Deleting a group takes it from its members.
    let r = admin_post(
        &admin,
        &format!("/admin/users/{alice}/groups"),
        &format!("group={gid}"),
    );
    assert!(r.location().contains("groups_changed"));
    assert_eq!(
        ask_page(&b, "https://admin.example.com/").status,
        Status::Ok
    );
    let r = admin_post(&admin, &format!("/admin/groups/{gid}/delete"), "");
    assert_eq!(r.location(), "/admin/groups?notice=group_deleted");
    assert_eq!(
        ask_page(&b, "https://admin.example.com/").status,
        Status::Forbidden
    );
}

#[test]
fn group_names_are_checked_and_unique() {
    let app = guarding_app();
    let (_, admin) = app.signed_in("boss", Role::Admin);
    assert_eq!(
        admin_post(&admin, "/admin/groups", "name=ops").status,
        Status::SeeOther
    );
    let r = admin_post(&admin, "/admin/groups", "name=OPS");
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("exists"));
    let r = admin_post(
        &admin,
        "/admin/groups",
        &format!("name={}", enc("no spaces <b>")),
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(!r.body.contains("<b>"));
    // Not for plain users.
    let (_, user) = app.signed_in("alice", Role::User);
    assert_eq!(user.get("/admin/groups").status, Status::Forbidden);
    assert_eq!(
        admin_post(&user, "/admin/groups", "name=x").status,
        Status::Forbidden
    );
}

#[test]
fn with_only_a_refresh_cookie_the_session_is_checked_not_rotated() {
    let app = guarding_app();
    let (_, b) = app.signed_in("alice", Role::User);
    b.drop_cookie(ACCESS);
    let refresh = b.cookie(REFRESH).unwrap();
    // A proxy that drops every Set-Cookie: the browser keeps sending only the refresh
    // cookie. Every request is still allowed, and no reuse is ever detected.
    for _ in 0..5 {
        let r = ask_page(&b, "https://app.example.com/");
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.header("Remote-User"), Some("alice"));
        let cookies = r
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"))
            .count();
        assert_eq!(cookies, 1, "a single Set-Cookie");
        assert!(r.set_cookies(ACCESS)[0].contains("Domain=example.com"));
        assert!(
            r.set_cookies(REFRESH).is_empty(),
            "never a new refresh token"
        );
        b.drop_cookie(ACCESS);
    }
    assert_eq!(b.cookie(REFRESH).unwrap(), refresh);
    assert!(app.audit_kinds("refresh_token_reuse").is_empty());
    // The browser visits Gatehouse itself: the refresh token rotates as usual.
    assert_eq!(b.get("/dashboard").status, Status::Ok);
    assert_ne!(b.cookie(REFRESH).unwrap(), refresh);
    assert!(app.audit_kinds("refresh_token_reuse").is_empty());
}

#[test]
fn signing_out_of_gatehouse_signs_out_of_every_guarded_app() {
    let app = guarding_app();
    let (_, b) = app.signed_in("alice", Role::User);
    assert_eq!(ask_page(&b, "https://app.example.com/").status, Status::Ok);
    let token = b.token("/logout");
    // The proxied app still holds copies of the cookies.
    let app_side = b.copy();
    b.post("/logout", &format!("csrf_token={token}"));
    let r = ask_page(&app_side, "https://app.example.com/");
    assert_eq!(
        r.status,
        Status::Found,
        "the very next proxied request is refused"
    );
}

#[test]
fn domain_cookies_are_secure_prefixed_with_the_domain() {
    let app = guarding_app();
    app.create_user("alice", Role::User);
    let r = app.browser().login("alice", PASSWORD, false);
    for name in [ACCESS, REFRESH] {
        let c = r.set_cookies(name);
        assert_eq!(c.len(), 1, "{name}");
        for part in [
            "Domain=example.com",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
        ] {
            assert!(c[0].contains(part), "{name}: {}", c[0]);
        }
    }
    assert!(r.set_cookies("__Host-access").is_empty());
    // The sign-in form may end on an app of the domain (its rd): browsers check the
    // redirect against form-action.
    let csp = r.header("Content-Security-Policy").unwrap();
    assert!(
        csp.contains("form-action 'self' https://example.com:* https://*.example.com:*"),
        "{csp}"
    );
    // Answers to proxies are never cached.
    let (_, b) = app.signed_in("bobby", Role::User);
    assert_eq!(
        ask_page(&b, "https://app.example.com/").header("Cache-Control"),
        Some("no-store")
    );
}

#[test]
fn rd_goes_only_to_the_cookie_domain() {
    let app = guarding_app();
    let (_, b) = app.signed_in("alice", Role::User);
    let go = |rd: &str| {
        b.get(&format!("/login?rd={}", enc(rd)))
            .location()
            .to_string()
    };
    assert_eq!(
        go("https://app.example.com/x?y=1"),
        "https://app.example.com/x?y=1"
    );
    assert_eq!(go("https://example.com/"), "https://example.com/");
    for bad in [
        "https://evilexample.com/",
        "https://example.com.evil.test/",
        "http://app.example.com/",
        "https://user@app.example.com/",
        "javascript:alert(1)",
        "//app.example.com/",
        "https://app.example.com\\@evil.test/",
    ] {
        assert_eq!(go(bad), "/dashboard", "{bad}");
    }
    // Through the sign-in form too.
    app.create_user("bobby", Role::User);
    let other = app.browser();
    let page = other.get(&format!(
        "/login?rd={}",
        enc("https://app.example.com/after")
    ));
    assert!(page.body.contains("name=\"rd\""));
    let token = csrf_token(&page.body);
    let r = other.post(
        "/login",
        &format!(
            "username=bobby&password={}&rd={}&csrf_token={token}",
            enc(PASSWORD),
            enc("https://app.example.com/after")
        ),
    );
    assert_eq!(r.location(), "https://app.example.com/after");
    let third = app.browser();
    let token = third.token("/login");
    let r = third.post(
        "/login",
        &format!(
            "username=bobby&password={}&rd={}&csrf_token={token}",
            enc(PASSWORD),
            enc("https://evil.test/")
        ),
    );
    assert_eq!(r.location(), "/dashboard");
}

#[test]
fn without_a_cookie_domain_rd_is_ignored() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    assert_eq!(
        b.get(&format!("/login?rd={}", enc("https://app.example.com/")))
            .location(),
        "/dashboard"
    );
}

#[test]
fn bad_rules_and_settings_name_themselves() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value, needle) in [
        (
            "access_rules",
            serde_json::json!([{ "host": "a.example.com", "policy": "maybe" }]),
            "access_rules[0]",
        ),
        (
            "access_rules",
            serde_json::json!([{ "host": "a.example.com", "policy": "allow" }, { "host": "b.example.com", "path": "nope", "policy": "deny" }]),
            "access_rules[1]",
        ),
        (
            "default_policy",
            serde_json::json!("allow"),
            "default_policy",
        ),
        (
            "public_url",
            serde_json::json!("auth.example.com"),
            "public_url",
        ),
        (
            "public_url",
            serde_json::json!("https://auth.example.com/path"),
            "public_url",
        ),
        (
            "cookie_domain",
            serde_json::json!("exa mple.com"),
            "cookie_domain",
        ),
    ] {
        let figment = figment(&dir).merge((key, value.clone()));
        let err = gatehouse::config::Settings::from_figment(&figment).unwrap_err();
        assert!(err.contains(needle), "{key} = {value}: {err}");
    }
}

const ED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIP/2WTsQgRxQS1XiR/eLFw1uiox+C86EhsYu85NDNfPO
-----END PRIVATE KEY-----
";

fn keyed_app(first_alg: &str) -> TestApp {
    let es =
        gatehouse::sessions::keys::generate_pem(gatehouse::sessions::keys::Alg::ES256).unwrap();
    let keys = match first_alg {
        "EdDSA" => serde_json::json!([
            { "kid": "ed1", "alg": "EdDSA", "private_key": ED_KEY },
            { "kid": "es1", "alg": "ES256", "private_key": es },
            { "kid": "k1", "secret": KEY1_SECRET },
        ]),
        _ => serde_json::json!([
            { "kid": "es1", "alg": "ES256", "private_key": es },
            { "kid": "ed1", "alg": "EdDSA", "private_key": ED_KEY },
            { "kid": "k1", "secret": KEY1_SECRET },
        ]),
    };
    app_with(|f| f.merge(("jwt_keys", keys)))
}

fn jwt_header(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn the_public_keys_are_published_and_secrets_are_not() {
    let app = keyed_app("EdDSA");
    let r = app.browser().get("/.well-known/jwks.json");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.header("Cache-Control"), Some("public, max-age=300"));
    assert!(r
        .header("Content-Type")
        .unwrap()
        .starts_with("application/json"));
    let jwks: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{jwks}");
    let ed = &keys[0];
    assert_eq!(ed["kty"], "OKP");
    assert_eq!(ed["crv"], "Ed25519");
    assert_eq!(ed["kid"], "ed1");
    assert_eq!(ed["alg"], "EdDSA");
    assert_eq!(ed["use"], "sig");
    assert_eq!(ed["x"].as_str().unwrap().len(), 43);
    let es = &keys[1];
    assert_eq!(
        (es["kty"].as_str(), es["crv"].as_str(), es["alg"].as_str()),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(es["x"].is_string() && es["y"].is_string());
    assert!(!r.body.contains(KEY1_SECRET) && !r.body.contains("secret"));
}

#[test]
fn tokens_are_signed_by_the_first_key_and_each_key_verifies_its_own_algorithm_only() {
    for first in ["EdDSA", "ES256"] {
        let app = keyed_app(first);
        let (_, b) = app.signed_in("alice", Role::User);
        let token = b.cookie("__Host-access").unwrap();
        let header = jwt_header(&token);
        assert_eq!(header["alg"], first);
        assert_eq!(header["kid"], if first == "EdDSA" { "ed1" } else { "es1" });
        assert_eq!(b.get("/dashboard").status, Status::Ok);
    }
    // Algorithm confusion: an HS256 token under the EdDSA key's kid, with its public key
    // (public!) as the HMAC secret, is refused.
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let app = keyed_app("EdDSA");
    let (id, _) = app.signed_in("alice", Role::User);
    let jwks: serde_json::Value =
        serde_json::from_str(&app.browser().get("/.well-known/jwks.json").body).unwrap();
    let public = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let t = app.state().now();
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let input = format!(
        "{}.{}",
        b64(&serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": "ed1" })),
        b64(&serde_json::json!({
            "iss": "gatehouse", "aud": "gatehouse", "sub": id.to_string(), "name": "alice",
            "sid": "s", "role": "admin", "iat": t, "nbf": t, "exp": t + 60, "jti": "j"
        }))
    );
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&public).unwrap();
    mac.update(input.as_bytes());
    let forged = format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let b = app.browser();
    b.set_cookie("__Host-access", &forged);
    assert!(b.get("/dashboard").is_login_redirect());
}

#[test]
fn rotating_from_an_hmac_key_to_eddsa_keeps_people_signed_in() {
    let dir = tempfile::tempdir().unwrap();
    let old = rocket::local::blocking::Client::untracked(gatehouse::rocket(figment(&dir))).unwrap();
    old.rocket()
        .state::<gatehouse::App>()
        .unwrap()
        .create_user("alice", Role::User, PASSWORD)
        .unwrap();
    let jar = {
        let b = Browser::new(&old);
        assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
        let jar = b.jar.borrow().clone();
        jar
    };
    drop(old);
    // The new key first; the old one second until old tokens expire.
    let new = rocket::local::blocking::Client::untracked(gatehouse::rocket(figment(&dir).merge((
        "jwt_keys",
        serde_json::json!([
            { "kid": "ed1", "alg": "EdDSA", "private_key": ED_KEY },
            { "kid": "k1", "secret": KEY1_SECRET },
        ]),
    ))))
    .unwrap();
    let b = Browser::new(&new);
    *b.jar.borrow_mut() = jar;
    let runs = new.rocket().state::<gatehouse::App>().unwrap().db().runs();
    assert_eq!(
        b.get("/dashboard").status,
        Status::Ok,
        "the HS256 token still verifies"
    );
    assert_eq!(
        new.rocket().state::<gatehouse::App>().unwrap().db().runs(),
        runs
    );
    b.drop_cookie("__Host-access");
    assert_eq!(b.get("/dashboard").status, Status::Ok);
    assert_eq!(
        jwt_header(&b.cookie("__Host-access").unwrap())["alg"],
        "EdDSA"
    );
}

#[test]
fn private_key_files_and_bad_keys_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ed.pem");
    std::fs::write(&path, ED_KEY).unwrap();
    let with_file = figment(&dir).merge((
        "jwt_keys",
        serde_json::json!([{ "kid": "file", "alg": "EdDSA", "private_key_file": path.to_string_lossy() }]),
    ));
    let settings = gatehouse::config::Settings::from_figment(&with_file).unwrap();
    assert_eq!(settings.keys[0].kid, "file");
    for (keys, needle) in [
        (
            serde_json::json!([{ "kid": "x", "alg": "RS512", "private_key": ED_KEY }]),
            "jwt_keys[0].alg",
        ),
        (
            serde_json::json!([{ "kid": "x", "alg": "RS256", "private_key": ED_KEY }]),
            "not an RSA private key",
        ),
        (
            serde_json::json!([{ "kid": "x", "alg": "ES256", "private_key": ED_KEY }]),
            "P-256",
        ),
        (
            serde_json::json!([{ "kid": "x", "alg": "EdDSA" }]),
            "private_key",
        ),
        (
            serde_json::json!([{ "kid": "x", "alg": "EdDSA", "private_key_file": "/no/such/file.pem" }]),
            "cannot read",
        ),
    ] {
        let err = gatehouse::config::Settings::from_figment(
            &figment(&dir).merge(("jwt_keys", keys.clone())),
        )
        .unwrap_err();
        assert!(err.contains(needle), "{keys}: {err}");
    }
}

#[test]
fn generate_key_prints_a_key_the_server_takes() {
    for alg in ["EdDSA", "ES256", "RS256"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["generate-key", "--alg", alg])
            .output()
            .unwrap();
        assert!(out.status.success());
        let pem = String::from_utf8(out.stdout).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let figment = figment(&dir).merge((
            "jwt_keys",
            serde_json::json!([{ "kid": "new", "alg": alg, "private_key": pem }]),
        ));
        let settings = gatehouse::config::Settings::from_figment(&figment).unwrap();
        assert_eq!(settings.keys[0].alg.as_str(), alg);
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["generate-key", "--alg", "HS512"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Usage"));
}

#[test]
fn membership_changes_reach_the_other_instance() {
    let dir = tempfile::tempdir().unwrap();
    let f = figment(&dir)
        .merge(("trusted_proxies", vec!["127.0.0.1"]))
        .merge(("public_url", "https://auth.example.com"))
        .merge(("cookie_domain", "example.com"))
        .merge((
            "access_rules",
            serde_json::json!([{ "host": "admin.example.com", "policy": "signed_in", "groups": ["ops"] }]),
        ));
    let one = rocket::local::blocking::Client::untracked(gatehouse::rocket(f.clone())).unwrap();
    let two = rocket::local::blocking::Client::untracked(gatehouse::rocket(f)).unwrap();
    let state = one.rocket().state::<gatehouse::App>().unwrap();
    state.create_user("boss", Role::Admin, PASSWORD).unwrap();
    let alice = state.create_user("alice", Role::User, PASSWORD).unwrap().id;
    let admin = Browser::new(&one);
    admin.login("boss", PASSWORD, false);
    let b = Browser::new(&two);
    b.login("alice", PASSWORD, false);
    assert_eq!(
        ask_page(&b, "https://admin.example.com/").status,
        Status::Forbidden
    );
    admin_post(&admin, "/admin/groups", "name=ops");
    let gid = group_option(&admin, alice);
    admin_post(
        &admin,
        &format!("/admin/users/{alice}/groups"),
        &format!("group={gid}"),
    );
    // Instance two learns it from the change feed (NOTIFY on PostgreSQL, else within a
    // half-second poll).
    within("not seen in 3 s", std::time::Duration::from_secs(3), || {
        ask_page(&b, "https://admin.example.com/").status == Status::Ok
    });
}
