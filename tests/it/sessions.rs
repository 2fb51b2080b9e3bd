//! Sessions from the outside: cookies, the access JWT, forged tokens, refresh rotation,
//! parallel tabs, reuse detection, sign-out, and the query-free dashboard; the grace
//! window cannot be replayed by a thief; no token lives longer than configured.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse::accounts::Role;
use hmac::{Hmac, Mac};
use rocket::http::Status;
use serde_json::{json, Value};
use sha2::{Sha256, Sha512};

const ACCESS: &str = "__Host-access";
const REFRESH: &str = "__Host-refresh";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sign_with<M: Mac + hmac::digest::KeyInit>(input: &str, secret: &[u8]) -> String {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    b64(&mac.finalize().into_bytes())
}

/// A JWT with any header and claims, HMAC-SHA256-signed with `secret`.
fn forge(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = sign_with::<Hmac<Sha256>>(&input, secret);
    format!("{input}.{sig}")
}

fn key1() -> Vec<u8> {
    vec![1u8; 32]
}

fn header() -> Value {
    json!({ "alg": "HS256", "typ": "JWT", "kid": "k1" })
}

fn claims() -> Value {
    let t = now();
    json!({
        "iss": "gatehouse", "aud": "gatehouse", "sub": "1", "name": "alice", "sid": "s-1",
        "role": "user", "iat": t, "nbf": t, "exp": t + 300, "jti": "j-1"
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

fn decode_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn cookies_have_host_prefix_and_strict_flags() {
    let app = app();
    app.create_user("alice", Role::User);
    let r = app.browser().login("alice", PASSWORD, false);
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/dashboard");

    let access = r.set_cookies(ACCESS);
    assert_eq!(access.len(), 1, "{access:?}");
    let refresh = r.set_cookies(REFRESH);
    assert_eq!(refresh.len(), 1, "{refresh:?}");
    for c in [access[0], refresh[0]] {
        for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(c.split("; ").any(|p| p == flag), "{flag} missing in {c}");
        }
        assert!(!c.contains("Domain"), "no Domain allowed: {c}");
    }
    assert!(
        access[0].contains("Max-Age=300"),
        "access Max-Age = its lifetime: {}",
        access[0]
    );
    // Without "remember", the refresh cookie lasts for the browser session only.
    assert!(
        !refresh[0].contains("Max-Age") && !refresh[0].contains("Expires"),
        "{}",
        refresh[0]
    );
    // ≥ 256 random bits, base64url.
    let value = refresh[0]
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-refresh=");
    assert!(URL_SAFE_NO_PAD.decode(value).unwrap().len() >= 32);
}

#[test]
fn remember_me_keeps_the_refresh_cookie_for_30_days() {
    let app = app();
    app.create_user("alice", Role::User);
    let r = app.browser().login("alice", PASSWORD, true);
    let refresh = r.set_cookies(REFRESH);
    assert!(refresh[0].contains("Max-Age=2592000"), "{}", refresh[0]);
}

#[test]
fn refresh_tokens_are_stored_only_as_hashes() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let token = b.cookie(REFRESH).unwrap();
    let stored: Vec<String> = app
        .state()
        .db()
        .run_blocking(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::refresh_tokens::dsl::*;
            Ok(refresh_tokens.select(token_hash).load(c)?)
        })
        .unwrap();
    assert!(!stored.contains(&token), "raw refresh token stored");
    assert!(stored.contains(&gatehouse::sessions::store::hash_token(&token)));
    assert!(stored.iter().all(|h| h.len() == 64), "SHA-256 in hex");
}

#[test]
fn access_jwt_has_the_specified_header_and_claims() {
    let app = app();
    let id = app.create_user("alice", Role::Admin);
    let b = app.browser();
    b.login("alice", PASSWORD, false);
    let token = b.cookie(ACCESS).unwrap();
    let h = decode_part(&token, 0);
    assert_eq!(h["alg"], "HS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(h["kid"], "k1");
    let c = decode_part(&token, 1);
    assert_eq!(c["iss"], "gatehouse");
    assert_eq!(c["aud"], "gatehouse");
    assert_eq!(c["sub"], id.to_string());
    assert_eq!(c["name"], "alice");
    assert_eq!(c["role"], "admin");
    assert!(c["sid"].as_str().unwrap().len() >= 16);
    assert!(c["jti"].as_str().unwrap().len() >= 16);
    let iat = c["iat"].as_i64().unwrap();
    assert_eq!(c["nbf"].as_i64().unwrap(), iat);
    assert_eq!(c["exp"].as_i64().unwrap() - iat, 300);
    assert!((iat - now()).abs() <= 5);
}

/// A browser holding only the given access token (and no refresh token).
fn dashboard_with_access(app: &TestApp, token: &str) -> Resp {
    let b = app.browser();
    b.set_cookie(ACCESS, token);
    b.get("/dashboard")
}

#[test]
fn a_valid_forged_token_is_accepted_as_control() {
    // The tests below must fail for the right reason: the same forge works when honest.
    let app = app();
    let r = dashboard_with_access(&app, &forge(&header(), &claims(), &key1()));
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("alice"));
    // Within the 5 s leeway still counts.
    let t = now();
    let r = dashboard_with_access(
        &app,
        &forge(&header(), &with(claims(), "exp", json!(t - 2)), &key1()),
    );
    assert_eq!(r.status, Status::Ok);
}

#[test]
fn bad_access_tokens_mean_signed_out_and_are_cleared() {
    let app = app();
    let t = now();
    let hs512 = {
        let h = json!({ "alg": "HS512", "typ": "JWT", "kid": "k1" });
        let input = format!(
            "{}.{}",
            b64(h.to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let sig = sign_with::<Hmac<Sha512>>(&input, &key1());
        format!("{input}.{sig}")
    };
    let unsigned = |alg: &str| {
        let h = json!({ "alg": alg, "typ": "JWT", "kid": "k1" });
        format!(
            "{}.{}.",
            b64(h.to_string().as_bytes()),
            b64(claims().to_string().as_bytes())
        )
    };
    let good = forge(&header(), &claims(), &key1());
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[0] ^= 1;
        parts[2] = b64(&sig);
        parts.join(".")
    };
    let role_swapped = {
        // Claims changed after signing: admin role with alice's signature.
        let parts: Vec<&str> = good.split('.').collect();
        let admin = with(claims(), "role", json!("admin"));
        format!(
            "{}.{}.{}",
            parts[0],
            b64(admin.to_string().as_bytes()),
            parts[2]
        )
    };
    let mut cases: Vec<(String, String)> = vec![
        (
            "expired beyond leeway".into(),
            forge(&header(), &with(claims(), "exp", json!(t - 10)), &key1()),
        ),
        (
            "nbf in the future".into(),
            forge(&header(), &with(claims(), "nbf", json!(t + 60)), &key1()),
        ),
        (
            "wrong iss".into(),
            forge(&header(), &with(claims(), "iss", json!("evil")), &key1()),
        ),
        (
            "wrong aud".into(),
            forge(&header(), &with(claims(), "aud", json!("other")), &key1()),
        ),
        (
            "aud as list without us".into(),
            forge(&header(), &with(claims(), "aud", json!(["other"])), &key1()),
        ),
        (
            "unknown kid".into(),
            forge(&with(header(), "kid", json!("k9")), &claims(), &key1()),
        ),
        (
            "no kid".into(),
            forge(&without(header(), "kid"), &claims(), &key1()),
        ),
        ("alg none".into(), unsigned("none")),
        ("alg None".into(), unsigned("None")),
        ("alg NONE".into(), unsigned("NONE")),
        ("alg HS512".into(), hs512),
        (
            "crit header".into(),
            forge(&with(header(), "crit", json!(["exp"])), &claims(), &key1()),
        ),
        (
            "jku header".into(),
            forge(
                &with(header(), "jku", json!("https://evil/jwks")),
                &claims(),
                &key1(),
            ),
        ),
        (
            "jwk header".into(),
            forge(
                &with(header(), "jwk", json!({"kty": "oct", "k": "AA"})),
                &claims(),
                &key1(),
            ),
        ),
        (
            "x5u header".into(),
            forge(
                &with(header(), "x5u", json!("https://evil/cert")),
                &claims(),
                &key1(),
            ),
        ),
        (
            "x5c header".into(),
            forge(&with(header(), "x5c", json!(["MIIB"])), &claims(), &key1()),
        ),
        ("wrong key".into(), forge(&header(), &claims(), &[9u8; 32])),
        ("tampered signature".into(), tampered),
        ("claims changed after signing".into(), role_swapped),
        (
            "role outside the enum".into(),
            forge(&header(), &with(claims(), "role", json!("root")), &key1()),
        ),
        (
            "non-numeric sub".into(),
            forge(&header(), &with(claims(), "sub", json!("x")), &key1()),
        ),
        ("garbage".into(), "not-a-jwt".into()),
        ("empty".into(), "".into()),
        ("three dots".into(), "...".into()),
        (
            "header not json".into(),
            format!("{}.{}.{}", b64(b"{oops"), b64(b"{}"), b64(b"x")),
        ),
        ("huge".into(), "a".repeat(3000)),
    ];
    for claim in [
        "iss", "aud", "sub", "name", "sid", "role", "iat", "nbf", "exp", "jti",
    ] {
        cases.push((
            format!("missing {claim}"),
            forge(&header(), &without(claims(), claim), &key1()),
        ));
    }
    for (name, token) in cases {
        let r = dashboard_with_access(&app, &token);
        assert!(
            r.is_login_redirect(),
            "{name}: expected sign-in redirect, got {} {}",
            r.status,
            r.location()
        );
        assert!(r.clears(ACCESS), "{name}: the bad cookie should be cleared");
    }
}

/// Through the real server's HTTP parsing (the local client hands its cookies over
/// already parsed): a cookie written plainly is read as it is; one written with percent
/// escapes is decoded (`%65` is `e`: the same token); one whose escapes decode to
/// something that is not UTF-8 is dropped, and the browser is signed out.
#[test]
fn cookies_over_http_are_read_plainly_or_percent_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = Killed(spawn_server(
        &database_url_in(dir.path()),
        dir.path(),
        port,
        &[],
    ));
    let token = forge(&header(), &claims(), &key1());
    assert!(token.starts_with("eyJ") && !token.contains('%'));
    let dashboard = |cookie: String| {
        raw_http(
            port,
            None,
            "GET",
            "/dashboard",
            &format!("127.0.0.1:{port}"),
            &[("Cookie", cookie)],
            "",
        )
    };
    let plain = dashboard(format!("theme=dark; {ACCESS}={token}"));
    assert_eq!(plain.status, 200);
    assert!(plain.body.contains("alice"));
    let escaped = dashboard(format!("{ACCESS}=%65{}; theme=%64ark", &token[1..]));
    assert_eq!(escaped.status, 200);
    assert!(escaped.body.contains("alice"));
    let not_utf8 = dashboard(format!("{ACCESS}=%FF{}", &token[1..]));
    assert_eq!(not_utf8.status, 303);
    assert_eq!(
        not_utf8.header("location"),
        Some("/login?next=%2Fdashboard")
    );
}

#[test]
fn unsigned_in_page_redirects_to_login_with_next() {
    let app = app();
    let r = app.browser().get("/dashboard");
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/login?next=%2Fdashboard");
}

#[test]
fn refresh_cookie_alone_rotates_and_serves_the_page() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let first_refresh = b.cookie(REFRESH).unwrap();
    b.drop_cookie(ACCESS);
    let r = b.get("/dashboard");
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("alice"));
    assert_eq!(r.set_cookies(ACCESS).len(), 1, "a new access cookie");
    assert_eq!(r.set_cookies(REFRESH).len(), 1, "a new refresh cookie");
    let second_refresh = b.cookie(REFRESH).unwrap();
    assert_ne!(first_refresh, second_refresh);
    // The new access token works on its own.
    let r = b.get("/dashboard");
    assert_eq!(r.status, Status::Ok);
    assert!(
        r.set_cookies(REFRESH).is_empty(),
        "no rotation while the access token is valid"
    );
}

#[test]
fn parallel_tabs_within_the_grace_window_keep_the_session() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    a.drop_cookie(ACCESS);
    let tab2 = a.copy();
    // Tab 1 rotates first.
    let r1 = a.get("/dashboard");
    assert_eq!(r1.status, Status::Ok);
    // Tab 2 presents the same, now used, token a moment later.
    let r2 = tab2.get("/dashboard");
    assert_eq!(
        r2.status,
        Status::Ok,
        "parallel tab signed out: {}",
        r2.location()
    );
    assert_eq!(
        r2.set_cookies(ACCESS).len(),
        1,
        "tab 2 gets an access cookie"
    );
    assert!(
        r2.set_cookies(REFRESH).is_empty(),
        "but no second refresh token"
    );
    // The session lives on: tab 1's new refresh token still rotates.
    a.drop_cookie(ACCESS);
    assert_eq!(a.get("/dashboard").status, Status::Ok);
    assert!(app.audit_kinds("refresh_token_reuse").is_empty());
}

#[test]
fn reuse_after_the_grace_window_ends_the_whole_session() {
    let app = app_with(|f| f.merge(("refresh_grace", 1)));
    let (_, a) = app.signed_in("alice", Role::User);
    a.drop_cookie(ACCESS);
    let thief = a.copy();
    assert_eq!(a.get("/dashboard").status, Status::Ok);
    app.state().clock().advance(2);
    let r = thief.get("/dashboard");
    assert!(r.is_login_redirect());
    assert!(r.clears(REFRESH) && r.clears(ACCESS));
    // The legitimate holder is signed out too: the access token it holds is refused at
    // once, and its refresh token no longer works.
    let r = a.get("/dashboard");
    assert!(
        r.is_login_redirect(),
        "access token of a reused session still accepted"
    );
    a.drop_cookie(ACCESS);
    assert!(a.get("/dashboard").is_login_redirect());
    let events = app.audit_kinds("refresh_token_reuse");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject_name.as_deref(), Some("alice"));
}

#[test]
fn reuse_of_an_older_token_is_caught_even_inside_the_grace_window() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    a.drop_cookie(ACCESS);
    let stolen = a.copy(); // holds token 0
    assert_eq!(a.get("/dashboard").status, Status::Ok); // 0 → 1
    a.drop_cookie(ACCESS);
    assert_eq!(a.get("/dashboard").status, Status::Ok); // 1 → 2
                                                        // Token 0 is used and is not the newest used one: theft.
    assert!(stolen.get("/dashboard").is_login_redirect());
    a.drop_cookie(ACCESS);
    assert!(
        a.get("/dashboard").is_login_redirect(),
        "session must be over"
    );
    assert_eq!(app.audit_kinds("refresh_token_reuse").len(), 1);
}

#[test]
fn unknown_and_malformed_refresh_tokens_are_cleared() {
    let app = app();
    for value in [
        "",
        "short",
        &"A".repeat(43),
        &"%%%".repeat(15),
        &"x".repeat(5000),
    ] {
        let b = app.browser();
        b.set_cookie(REFRESH, value);
        let r = b.get("/dashboard");
        assert!(r.is_login_redirect(), "{value:?}");
        assert!(r.clears(REFRESH), "{value:?}");
    }
}

#[test]
fn logout_ends_the_session_on_the_server() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let saved = b.copy();
    let page = b.get("/logout");
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("method=\"post\""));
    let r = b.post("/logout", &format!("csrf_token={}", csrf_token(&page.body)));
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/login?notice=signed_out");
    assert!(r.clears(ACCESS) && r.clears(REFRESH));
    assert!(b
        .get("/login?notice=signed_out")
        .body
        .contains("You have been signed out."));
    // Replaying the old cookies gets nowhere: the access token is refused at once…
    let r = saved.get("/dashboard");
    assert!(
        r.is_login_redirect(),
        "access token still accepted after logout"
    );
    // …and the refresh token is dead.
    let replay = app.browser();
    replay.set_cookie(REFRESH, &saved.cookie(REFRESH).unwrap_or_default());
    assert!(replay.get("/dashboard").is_login_redirect());
    assert_eq!(app.audit_kinds("logout").len(), 1);
}

#[test]
fn get_logout_changes_nothing() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    assert_eq!(b.get("/logout").status, Status::Ok);
    assert_eq!(b.get("/dashboard").status, Status::Ok);
}

#[test]
fn dashboard_with_a_valid_access_cookie_runs_no_database_query() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let before = app.state().db().runs();
    for _ in 0..20 {
        let r = b.get("/dashboard");
        assert_eq!(r.status, Status::Ok);
        assert!(r.body.contains("alice"));
    }
    assert_eq!(
        app.state().db().runs(),
        before,
        "the hot path touched the database"
    );
}

#[test]
fn dashboard_shows_name_and_role_from_the_token() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::Admin);
    let r = b.get("/dashboard");
    assert!(r.body.contains("<strong class=\"username\">alice</strong>"));
    assert!(r.body.contains("<strong class=\"role\">admin</strong>"));
    assert!(r.body.contains("href=\"/account\""));
}

#[test]
fn home_redirects_by_sign_in_state() {
    let app = app();
    let r = app.browser().get("/");
    assert_eq!((r.status, r.location()), (Status::SeeOther, "/login"));
    let (_, b) = app.signed_in("alice", Role::User);
    let r = b.get("/");
    assert_eq!((r.status, r.location()), (Status::SeeOther, "/dashboard"));
}

/// (expires_at of the newest refresh token, expires_at of the session, end reason) of
/// every session, for checking lifetimes without waiting for them.
fn lifetimes(app: &TestApp) -> Vec<(i64, i64, Option<String>)> {
    use diesel::prelude::*;
    use gatehouse::db::schema::{refresh_tokens, sessions};
    app.state()
        .db()
        .run_blocking(|c| {
            let rows: Vec<(String, i64, Option<String>)> = sessions::table
                .select((sessions::id, sessions::expires_at, sessions::end_reason))
                .load(c)?;
            let mut out = Vec::new();
            for (id, expires, reason) in rows {
                let newest: i64 = refresh_tokens::table
                    .filter(refresh_tokens::session_id.eq(&id))
                    .select(diesel::dsl::max(refresh_tokens::expires_at))
                    .first::<Option<i64>>(c)?
                    .unwrap_or(0);
                out.push((newest, expires, reason));
            }
            Ok(out)
        })
        .unwrap()
}

/// Moves stored times into the past, as if that much time had gone by.
fn age(app: &TestApp, tokens_by: i64, sessions_by: i64) {
    use diesel::prelude::*;
    use gatehouse::db::schema::{refresh_tokens, sessions};
    app.state()
        .db()
        .run_blocking(|c| {
            diesel::update(refresh_tokens::table)
                .set(refresh_tokens::expires_at.eq(refresh_tokens::expires_at - tokens_by))
                .execute(c)?;
            diesel::update(sessions::table)
                .set(sessions::expires_at.eq(sessions::expires_at - sessions_by))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn lifetimes_are_12_hours_idle_or_30_days_sliding_within_90() {
    let app = app();
    app.create_user("alice", Role::User);
    let plain = app.browser();
    plain.login("alice", PASSWORD, false);
    let remembered = app.browser();
    remembered.login("alice", PASSWORD, true);
    let t = now();
    let mut l = lifetimes(&app);
    l.sort();
    // Without "remember": 12 hours of idleness; with it: 30 days; the session: 90 days.
    assert!((l[0].0 - (t + 12 * 3600)).abs() <= 5, "{l:?}");
    assert!((l[1].0 - (t + 30 * 86400)).abs() <= 5, "{l:?}");
    assert!(
        l.iter().all(|x| (x.1 - (t + 90 * 86400)).abs() <= 5),
        "{l:?}"
    );
    // Each use slides the window: a day later, a renewal is good for 30 days again.
    age(&app, 86400, 0);
    remembered.drop_cookie(ACCESS);
    assert_eq!(remembered.get("/dashboard").status, Status::Ok);
    let newest = lifetimes(&app).into_iter().map(|x| x.0).max().unwrap();
    assert!((newest - (now() + 30 * 86400)).abs() <= 5);
}

#[test]
fn a_session_idle_past_its_refresh_lifetime_ends() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    age(&app, 12 * 3600 + 1, 0); // 12 hours and a second without a request
    b.drop_cookie(ACCESS);
    let r = b.get("/dashboard");
    assert!(r.is_login_redirect());
    assert!(r.clears(REFRESH));
    assert_eq!(lifetimes(&app)[0].2.as_deref(), Some("idle"));
}

#[test]
fn even_an_active_remembered_session_ends_at_its_absolute_cap() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    b.login("alice", PASSWORD, true);
    age(&app, 0, 90 * 86400 + 1); // the 90 days are over, though the refresh token is fresh
    b.drop_cookie(ACCESS);
    assert!(b.get("/dashboard").is_login_redirect());
    assert_eq!(lifetimes(&app)[0].2.as_deref(), Some("expired"));
}

/// Refresh-token rows of the session `sid`.
fn token_rows(app: &TestApp, sid: &str) -> i64 {
    let sid = sid.to_string();
    app.state()
        .db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::refresh_tokens::dsl::*;
            Ok(refresh_tokens
                .filter(session_id.eq(sid))
                .count()
                .get_result::<i64>(c)?)
        })
        .unwrap()
}

fn session_of(b: &Browser) -> String {
    decode_part(&b.cookie(ACCESS).unwrap(), 1)["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_session_keeps_two_token_rows_however_often_it_rotates() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    let sid = session_of(&a);
    let first = a.copy(); // holds token 0
    for i in 0..50 {
        a.drop_cookie(ACCESS);
        let r = a.get("/dashboard");
        assert_eq!(r.status, Status::Ok, "rotation {i}");
        assert_eq!(r.set_cookies(REFRESH).len(), 1, "rotation {i}");
    }
    let rows = token_rows(&app, &sid);
    assert!(rows <= 2, "{rows} refresh-token rows after 50 rotations");
    // Token 0's row is long gone, yet it is still known as this session's: reuse.
    app.state().clock().advance(60);
    first.drop_cookie(ACCESS);
    assert!(first.get("/dashboard").is_login_redirect());
    let events = app.audit_kinds("refresh_token_reuse");
    assert_eq!(events.len(), 1, "reuse of a pruned token is recorded");
    assert!(events[0].detail.contains(&sid), "{}", events[0].detail);
    a.drop_cookie(ACCESS);
    assert!(
        a.get("/dashboard").is_login_redirect(),
        "the whole session ended"
    );
}

#[test]
fn a_forged_token_with_a_random_family_is_just_not_signed_in() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    let b = app.browser();
    b.set_cookie(REFRESH, &URL_SAFE_NO_PAD.encode([7u8; 48]));
    let r = b.get("/dashboard");
    assert!(r.is_login_redirect());
    assert!(app.audit_kinds("refresh_token_reuse").is_empty());
    a.drop_cookie(ACCESS);
    assert_eq!(a.get("/dashboard").status, Status::Ok);
}

#[test]
fn tokens_issued_before_families_still_rotate_and_their_reuse_still_ends_the_session() {
    let app = app_with(|f| f.merge(("refresh_grace", 1)));
    let (_, a) = app.signed_in("alice", Role::User);
    let sid = session_of(&a);
    // Make the session look as it did before the migration: no family, and a token of the
    // old form (32 random bytes) as its live one.
    let legacy = URL_SAFE_NO_PAD.encode([9u8; 32]);
    let (s, hash) = (sid.clone(), gatehouse::sessions::store::hash_token(&legacy));
    app.state()
        .db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::*;
            diesel::update(sessions::table.find(&s))
                .set(sessions::refresh_family.eq(None::<String>))
                .execute(c)?;
            diesel::update(refresh_tokens::table.filter(refresh_tokens::session_id.eq(&s)))
                .set((
                    refresh_tokens::token_hash.eq(&hash),
                    refresh_tokens::in_family.eq(false),
                ))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    a.set_cookie(REFRESH, &legacy);
    a.drop_cookie(ACCESS);
    let old = a.copy();
    let r = a.get("/dashboard");
    assert_eq!(r.status, Status::Ok, "a token from before still works");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(a.cookie(REFRESH).unwrap())
            .unwrap()
            .len(),
        48
    );
    for _ in 0..3 {
        a.drop_cookie(ACCESS);
        assert_eq!(a.get("/dashboard").status, Status::Ok);
    }
    // The old token comes back after the grace window: reuse, as before.
    app.state().clock().advance(5);
    assert!(old.get("/dashboard").is_login_redirect());
    assert_eq!(app.audit_kinds("refresh_token_reuse").len(), 1);
    // An unknown token of the old form: sign in again, no 500.
    let stranger = app.browser();
    stranger.set_cookie(REFRESH, &URL_SAFE_NO_PAD.encode([3u8; 32]));
    assert!(stranger.get("/dashboard").is_login_redirect());
}

// The grace window cannot be replayed by a thief.

#[test]
fn a_stolen_refresh_token_inside_the_grace_window_is_theft_from_another_client() {
    let app = app();
    let (_, alice) = app.signed_in("alice", Role::User);
    alice.drop_cookie("__Host-access");
    // The thief took only the refresh cookie.
    let thief = app.browser();
    thief.set_cookie("__Host-refresh", &alice.cookie("__Host-refresh").unwrap());
    assert_eq!(alice.get("/dashboard").status, Status::Ok); // alice renews
    let r = thief.get("/dashboard");
    assert!(r.is_login_redirect(), "grace answered a thief");
    let events = app.audit_kinds("refresh_token_reuse");
    assert_eq!(events.len(), 1);
    assert!(events[0].detail.contains("another client"));
    alice.drop_cookie("__Host-access");
    assert!(alice.get("/dashboard").is_login_redirect(), "session ended");
}

#[test]
fn twenty_tabs_restored_together_all_stay_signed_in_and_nothing_is_called_theft() {
    with_async_app(
        |f| f,
        |client, _dir| async move {
            async_state(&client)
                .create_user("alice", Role::User, PASSWORD)
                .unwrap();
            let cookies = async_sign_in(&client, "alice").await;
            let refresh = cookies
                .iter()
                .find(|c| c.name() == "__Host-refresh")
                .expect("a refresh cookie")
                .clone();
            // The browser restores 20 tabs at once: none has an access cookie, all hold
            // the same refresh token, and all are released together.
            let tabs = (0..20).map(|_| client.get("/dashboard").cookie(refresh.clone()).dispatch());
            let answers = futures::future::join_all(tabs).await;
            let mut rotated = 0;
            for r in &answers {
                assert_eq!(r.status(), Status::Ok, "a tab was signed out");
                assert!(
                    r.cookies().get("__Host-access").is_some(),
                    "every tab gets an access cookie"
                );
                if r.cookies().get("__Host-refresh").is_some() {
                    rotated += 1;
                }
            }
            assert_eq!(
                rotated, 1,
                "one rotation, the other tabs in the grace window"
            );
            let app = async_state(&client);
            let reuse = app
                .db()
                .run_blocking(|c| {
                    gatehouse::audit::search(c, None, Some("refresh_token_reuse"), None, 10)
                })
                .unwrap()
                .0;
            assert!(reuse.is_empty(), "recorded as theft: {reuse:?}");
            let notices: i64 = app
                .db()
                .run_blocking(|c| {
                    use diesel::prelude::*;
                    use gatehouse::db::schema::outbox;
                    Ok(outbox::table
                        .filter(outbox::kind.eq(gatehouse::outbox::kind::REFRESH_REUSE))
                        .count()
                        .get_result(c)?)
                })
                .unwrap();
            assert_eq!(notices, 0, "a theft notice was queued");
        },
    );
}

// No access token lives longer than configured.

#[test]
fn access_tokens_living_longer_than_the_configured_lifetime_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let app = app();
    let (id, alice) = app.signed_in("alice", Role::User);
    let sid = {
        let now = app.state().now();
        app.state()
            .db()
            .run_blocking(move |c| gatehouse::sessions::store::live_for_account(c, id, now))
            .unwrap()[0]
            .id
            .clone()
    };
    let forge = |lifetime: i64| {
        let t = app.state().now();
        let header = serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": "k1" });
        let claims = serde_json::json!({
            "iss": "gatehouse", "aud": "gatehouse", "sub": id.to_string(), "name": "alice",
            "sid": sid, "role": "user", "iat": t, "nbf": t, "exp": t + lifetime, "jti": "j"
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[1u8; 32]).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    let b = app.browser();
    b.set_cookie("__Host-access", &forge(300));
    assert_eq!(
        b.get("/dashboard").status,
        Status::Ok,
        "control: a normal lifetime"
    );
    let b = app.browser();
    b.set_cookie("__Host-access", &forge(30 * 86_400));
    assert!(b.get("/dashboard").is_login_redirect(), "a 30-day token");
    let _ = alice;
}
