//! `examples/python-api`: a Flask API verifying Gatehouse's access JWT with PyJWT against
//! the JWKS, run against a real Gatehouse signing with EdDSA. Ignored by a plain `cargo test`;
//! CI makes a Python with the example's requirements, names it in `GATEHOUSE_TEST_PYTHON`
//! and runs this with `--ignored`.

use std::process::{Command, Stdio};

use crate::common::*;

const ED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIP/2WTsQgRxQS1XiR/eLFw1uiox+C86EhsYu85NDNfPO
-----END PRIVATE KEY-----
";

#[test]
#[ignore = "needs a Python with flask and pyjwt[crypto] in GATEHOUSE_TEST_PYTHON; CI runs it with --ignored"]
fn the_flask_example_verifies_tokens_with_the_published_keys() {
    let python =
        test_python().expect("GATEHOUSE_TEST_PYTHON names a Python with flask and pyjwt[crypto]");
    let dir = tempfile::tempdir().unwrap();
    let gh = free_port();
    let key_file = dir.path().join("ed25519.pem");
    std::fs::write(&key_file, ED_KEY).unwrap();
    let keys = format!(
        "[{{kid=\"ed1\",alg=\"EdDSA\",private_key_file=\"{}\"}}]",
        key_file.display()
    );
    let db = database_url_in(dir.path());
    let _server = Killed(spawn_server(
        &db,
        dir.path(),
        gh,
        &[
            ("ROCKET_JWT_KEYS", &keys),
            ("ROCKET_COOKIE_DOMAIN", "gh.test"),
            ("ROCKET_COOKIE_SECURE", "false"),
        ],
    ));
    // An account, signed in through the form.
    let client = rocket::local::blocking::Client::untracked(gatehouse::rocket(
        figment_with_url(dir.path(), &db).merge((
            "jwt_keys",
            serde_json::json!([{ "kid": "ed1", "alg": "EdDSA", "private_key": ED_KEY }]),
        )),
    ))
    .unwrap();
    client
        .rocket()
        .state::<gatehouse::App>()
        .unwrap()
        .create_user("alice", gatehouse::accounts::Role::User, PASSWORD)
        .unwrap();
    // Plain HTTP here (`cookie_secure = false`): the cookies carry no prefix.
    let r = raw_sign_in(gh, "auth.gh.test", "gatehouse-presession", "alice");
    assert_eq!(r.status, 303, "{r:?}");
    let access = r.cookie("gatehouse-access").unwrap();
    let refresh = r.cookie("gatehouse-refresh").unwrap();
    // The API, verifying against Gatehouse's JWKS.
    let api_port = free_port();
    let _api = Killed(
        Command::new(&python)
            .arg(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python-api/app.py"),
            )
            .env("GATEHOUSE_URL", format!("http://127.0.0.1:{gh}"))
            .env("GATEHOUSE_COOKIE", "gatehouse-access")
            .env("PORT", api_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("GATEHOUSE_TEST_PYTHON runs"),
    );
    wait_for_port(api_port, "the Flask app starts");
    let call = |cookie: Option<String>| {
        let headers: Vec<(&str, String)> = cookie.into_iter().map(|c| ("Cookie", c)).collect();
        raw_http(
            api_port,
            None,
            "GET",
            "/protected",
            "api.gh.test",
            &headers,
            "",
        )
    };
    let ok = call(Some(access.clone()));
    assert_eq!(ok.status, 200, "{ok:?}");
    let json: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(json["user"], "alice");
    assert_eq!(json["role"], "user");
    // No cookie, a tampered token, a token under a key Gatehouse never published: 401.
    assert_eq!(call(None).status, 401);
    let mut tampered = access.clone();
    tampered.push('x');
    assert_eq!(call(Some(tampered)).status, 401);
    let (_, value) = access.split_once('=').unwrap();
    let parts: Vec<&str> = value.split('.').collect();
    let forged_header = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"alg":"HS256","typ":"JWT","kid":"ed1"}"#)
    };
    let forged = format!("gatehouse-access={forged_header}.{}.{}", parts[1], parts[2]);
    assert_eq!(
        call(Some(forged)).status,
        401,
        "an HS256 token under the EdDSA kid"
    );
    // A session with a duty (here: a password an administrator set, to be changed) is not
    // signed in for the API: its token has another audience, which the example refuses.
    let carol = client
        .rocket()
        .state::<gatehouse::App>()
        .unwrap()
        .create_user("carol", gatehouse::accounts::Role::User, PASSWORD)
        .unwrap()
        .id;
    force_password_change(client.rocket().state::<gatehouse::App>().unwrap(), carol);
    let r = raw_sign_in(gh, "auth.gh.test", "gatehouse-presession", "carol");
    assert_eq!(r.status, 303, "{r:?}");
    let duty_access = r.cookie("gatehouse-access").unwrap();
    let refused = call(Some(duty_access));
    assert_eq!(
        refused.status, 401,
        "the API took a token with a duty: {refused:?}"
    );
    // The documented trade-off: after a sign-out the API still accepts the token until it
    // expires (forward auth would refuse at once).
    let page = raw_http(
        gh,
        None,
        "GET",
        "/logout",
        "auth.gh.test",
        &[("Cookie", format!("{access}; {refresh}"))],
        "",
    );
    let token = csrf_token(&page.body);
    let out = raw_http(
        gh,
        None,
        "POST",
        "/logout",
        "auth.gh.test",
        &[("Cookie", format!("{access}; {refresh}"))],
        &format!("csrf_token={token}"),
    );
    assert_eq!(out.status, 303);
    assert_eq!(call(Some(access)).status, 200);
}
