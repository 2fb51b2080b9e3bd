//! The OpenID Connect provider (SPEC §11), driven by the `openidconnect` crate (a relying
//! party nobody here wrote) through the test app, plus the negative cases.

use std::sync::OnceLock;

use gatehouse::accounts::Role;
use gatehouse::oidc::ClientSpec;
use gatehouse::sessions::keys::{generate_pem, Alg};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::Client;

use crate::common::{self, enc, Browser, TestApp};

pub const ISSUER: &str = "https://op.test";
pub const CALLBACK: &str = "https://rp.test/cb";

/// One RSA key (and one P-256 key) for every test: making RSA keys is slow.
fn pems() -> &'static (String, String) {
    static PEMS: OnceLock<(String, String)> = OnceLock::new();
    PEMS.get_or_init(|| {
        (
            generate_pem(Alg::RS256).expect("an RSA key"),
            generate_pem(Alg::ES256).expect("a P-256 key"),
        )
    })
}

pub fn configure(f: rocket::figment::Figment) -> rocket::figment::Figment {
    let (rsa, ec) = pems();
    f.merge(("public_url", ISSUER)).merge((
        "jwt_keys",
        vec![
            serde_json::json!({ "kid": "k1", "secret": common::KEY1_SECRET }),
            serde_json::json!({ "kid": "ec1", "alg": "ES256", "private_key": ec }),
            serde_json::json!({ "kid": "rsa1", "alg": "RS256", "private_key": rsa }),
        ],
    ))
}

pub fn op() -> TestApp {
    common::app_with(configure)
}

pub fn spec(name: &str) -> ClientSpec {
    ClientSpec {
        name: name.into(),
        redirect_uris: vec![CALLBACK.into()],
        post_logout_redirect_uris: vec!["https://rp.test/bye".into()],
        trusted: true,
        require_pkce: true,
        ..ClientSpec::default()
    }
}

/// Registers a client; returns its id and secret.
pub fn register(app: &TestApp, spec: &ClientSpec) -> (String, Option<String>) {
    let (client, secret) = app.state().create_client(spec).expect("client registered");
    (client.client_id, secret)
}

/// The relying party's HTTP client: each request goes to the test app.
fn http(
    client: &Client,
) -> impl Fn(openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, std::io::Error> + '_
{
    move |req: openidconnect::HttpRequest| {
        let uri = req.uri().clone();
        assert_eq!(
            uri.authority().map(|a| a.as_str()),
            Some("op.test"),
            "{uri}"
        );
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let mut local = match *req.method() {
            openidconnect::http::Method::POST => client.post(path),
            _ => client.get(path),
        };
        for (name, value) in req.headers() {
            local = local.header(Header::new(
                name.as_str().to_string(),
                value.to_str().unwrap_or_default().to_string(),
            ));
        }
        let resp = local.body(req.body().clone()).dispatch();
        let mut out = openidconnect::http::Response::builder().status(resp.status().code);
        for h in resp.headers().iter() {
            out = out.header(h.name().as_str(), h.value());
        }
        let body = resp.into_bytes().unwrap_or_default();
        Ok(out.body(body).expect("a response"))
    }
}

/// The query parameters of a redirect to the client.
fn params_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .expect("an absolute redirect")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param(location: &str, name: &str) -> Option<String> {
    params_of(location)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Two local URLs name the same request (same path, same decoded parameters).
fn assert_same(a: &str, b: &str) {
    let parse = |u: &str| {
        let u = url::Url::parse(&format!("https://x{u}")).unwrap();
        let mut q: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        q.sort();
        (u.path().to_string(), q)
    };
    assert_eq!(parse(a), parse(b), "{a} vs {b}");
}

/// The path and query of an authorization URL, for the browser.
fn local(url: &url::Url) -> String {
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

type Rp = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn relying_party(app: &TestApp, id: &str, secret: Option<&str>) -> Rp {
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(ISSUER.into()).unwrap(), &http(&app.client))
            .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap())
}

/// A browser signed in as `name` takes an authorization through: returns the code, the
/// PKCE verifier and the nonce.
fn authorize(rp: &Rp, browser: &Browser<'_>, scopes: &[&str]) -> (String, PkceCodeVerifier, Nonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = rp.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in scopes {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
    let r = browser.get(&local(&url));
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let to = r.location();
    assert!(to.starts_with(CALLBACK), "{to}");
    assert_eq!(param(to, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(param(to, "iss").as_deref(), Some(ISSUER));
    (param(to, "code").expect("a code"), verifier, nonce)
}

#[test]
fn a_real_relying_party_signs_in_refreshes_reads_userinfo_and_revokes() {
    let app = op();
    let (uid, browser) = app.signed_in("alice", Role::User);
    let (id, secret) = register(&app, &spec("Grafana"));
    let rp = relying_party(&app, &id, secret.as_deref());
    let http = http(&app.client);
    let (code, verifier, nonce) = authorize(
        &rp,
        &browser,
        &["profile", "email", "groups", "offline_access"],
    );
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), uid.to_string());
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    // The header: RS256, the RSA key's kid; the access token is an RFC 9068 JWT.
    let header = |t: &str| -> serde_json::Value {
        let h = t.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, h).unwrap(),
        )
        .unwrap()
    };
    let idh = header(&id_token.to_string());
    assert_eq!(
        (idh["alg"].as_str(), idh["kid"].as_str()),
        (Some("RS256"), Some("rsa1"))
    );
    let ath = header(tokens.access_token().secret());
    assert_eq!(ath["typ"].as_str(), Some("at+jwt"));

    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request(&http)
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), uid.to_string());
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

    // Refresh: a new refresh token, an ID token with the same claims.
    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token");
    let renewed = rp
        .exchange_refresh_token(refresh)
        .unwrap()
        .request(&http)
        .expect("refresh");
    let renewed_id = renewed.id_token().expect("an ID token on refresh");
    let renewed_claims = renewed_id
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("valid");
    assert_eq!(renewed_claims.subject(), claims.subject());
    assert_eq!(
        renewed_claims.preferred_username(),
        claims.preferred_username()
    );
    let next = renewed.refresh_token().expect("rotated").clone();
    assert_ne!(next.secret(), refresh.secret());
    // The old one is reuse: refused, and the family is revoked.
    assert!(rp
        .exchange_refresh_token(refresh)
        .unwrap()
        .request(&http)
        .is_err());
    assert!(rp
        .exchange_refresh_token(&next)
        .unwrap()
        .request(&http)
        .is_err());
    assert_eq!(app.audit_kinds("oidc_refresh_reuse").len(), 1);
    // And so is every access token of the family, at once.
    let r = app
        .client
        .get("/oauth2/userinfo")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", renewed.access_token().secret()),
        ))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    assert!(r
        .headers()
        .get_one("WWW-Authenticate")
        .unwrap_or_default()
        .contains("invalid_token"));

    // Revocation (RFC 7009) of a fresh grant's refresh token.
    let (code, verifier, _) = authorize(&rp, &browser, &["offline_access"]);
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .unwrap();
    let body = format!(
        "token={}&client_id={}&client_secret={}",
        tokens.refresh_token().unwrap().secret(),
        id,
        secret.as_deref().unwrap()
    );
    let r = app
        .client
        .post("/oauth2/revoke")
        .header(ContentType::Form)
        .body(body)
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    assert!(rp
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request(&http)
        .is_err());
    let r = app
        .client
        .get("/oauth2/userinfo")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", tokens.access_token().secret()),
        ))
        .dispatch();
    assert_eq!(
        r.status(),
        Status::Unauthorized,
        "revoking the refresh token ends its access tokens"
    );
}

#[test]
fn discovery_names_the_contract_and_the_jwks_has_the_rsa_key() {
    let app = op();
    let r = app.browser().get("/.well-known/openid-configuration");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.header("Cache-Control"), Some("public, max-age=300"));
    let d: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(d["issuer"], ISSUER);
    assert_eq!(d["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    assert_eq!(d["id_token_signing_alg_values_supported"][0], "RS256");
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    for s in ["openid", "profile", "email", "groups", "offline_access"] {
        assert!(
            d["scopes_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == s),
            "{s}"
        );
    }
    let jwks: serde_json::Value =
        serde_json::from_str(&app.browser().get("/.well-known/jwks.json").body).unwrap();
    let rsa = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == "rsa1")
        .expect("the RSA key is published");
    assert_eq!(
        (rsa["kty"].as_str(), rsa["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    assert!(rsa["n"].as_str().unwrap().len() >= 342, "2048 bits");
    assert_eq!(rsa["e"], "AQAB");
    // Without public_url there is no provider.
    let plain = common::app();
    assert_eq!(
        plain
            .browser()
            .get("/.well-known/openid-configuration")
            .status,
        Status::NotFound
    );
}

fn authorize_path(client_id: &str, redirect: &str, extra: &str) -> String {
    format!(
        "/oauth2/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid&state=st&code_challenge={}&code_challenge_method=S256{extra}",
        enc(redirect),
        gatehouse::oidc::tokens::s256(&"v".repeat(43))
    )
}

#[test]
fn unregistered_and_near_miss_redirect_uris_get_a_page_and_no_redirect() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, _) = register(&app, &spec("App"));
    for uri in [
        "https://rp.test/cb/",
        "https://RP.test/cb",
        "https://rp.test/cb?x=1",
        "https://rp.test/Cb",
        "http://rp.test/cb",
        "https://evil.test/cb",
    ] {
        let r = browser.get(&authorize_path(&id, uri, ""));
        assert_eq!(r.status, Status::BadRequest, "{uri}");
        assert!(r.header("Location").is_none(), "{uri}");
    }
    let r = browser.get(&authorize_path("nobody", CALLBACK, ""));
    assert_eq!(r.status, Status::BadRequest);
    assert!(r.header("Location").is_none());
    // Every other error goes back to the client with state and iss.
    for (extra, error) in [
        ("&response_type=token", "unsupported_response_type"),
        ("&code_challenge_method=plain", "invalid_request"),
        ("&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "&request_uri=https%3A%2F%2Frp.test%2Freq",
            "request_uri_not_supported",
        ),
    ] {
        let path = authorize_path(&id, CALLBACK, "")
            .replace(
                "&response_type=code",
                if extra.contains("response_type") {
                    ""
                } else {
                    "&response_type=code"
                },
            )
            .replace(
                "&code_challenge_method=S256",
                if extra.contains("method") {
                    ""
                } else {
                    "&code_challenge_method=S256"
                },
            )
            + extra;
        let r = browser.get(&path);
        assert_eq!(r.status, Status::SeeOther, "{extra}: {}", r.body);
        assert_eq!(
            param(r.location(), "error").as_deref(),
            Some(error),
            "{extra}"
        );
        assert_eq!(param(r.location(), "state").as_deref(), Some("st"));
        assert_eq!(param(r.location(), "iss").as_deref(), Some(ISSUER));
    }
    let r =
        browser.get(&authorize_path(&id, CALLBACK, "").replace("scope=openid", "scope=profile"));
    assert_eq!(
        param(r.location(), "error").as_deref(),
        Some("invalid_scope")
    );
    // A client that requires PKCE, without a challenge.
    let no_pkce = format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=st",
        enc(CALLBACK)
    );
    assert_eq!(
        param(browser.get(&no_pkce).location(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn loopback_redirects_take_any_port_written_plainly_and_nothing_else() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let mut s = spec("Native");
    s.redirect_uris = vec!["http://127.0.0.1:8080/cb".into()];
    let (id, _) = register(&app, &s);
    let r = browser.get(&authorize_path(&id, "http://127.0.0.1:51234/cb", ""));
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().starts_with("http://127.0.0.1:51234/cb?code="));
    // Refused with a page (never a redirect, never a 500), signed in or not.
    for uri in [
        "http://127.0.0.1:080/cb",
        "http://127.0.0.1:065535/cb",
        "http://127.0.0.1:0000000000000000000000080/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:/cb",
    ] {
        for b in [&browser, &app.browser()] {
            let r = b.get(&authorize_path(&id, uri, "&request=x"));
            assert_eq!(r.status, Status::BadRequest, "{uri}");
            assert!(r.header("Location").is_none(), "{uri}");
        }
    }
    let r = app.browser().get(&format!(
        "/oauth2/logout?client_id={id}&post_logout_redirect_uri={}",
        enc("http://127.0.0.1:0009999/out")
    ));
    assert_eq!(r.location(), "/login?notice=signed_out");
}

/// A confidential client without PKCE, and a code for it.
fn legacy_code(app: &TestApp, browser: &Browser<'_>) -> (String, String, String) {
    let mut s = spec("Legacy");
    s.require_pkce = false;
    let (id, secret) = register(app, &s);
    let path = format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid%20offline_access&state=st",
        enc(CALLBACK)
    );
    let r = browser.get(&path);
    let code = param(r.location(), "code").expect("a code");
    (id, secret.unwrap(), code)
}

pub fn redeem(
    client: &Client,
    id: &str,
    secret: &str,
    code: &str,
    extra: &str,
) -> (Status, serde_json::Value) {
    let r = client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={id}&client_secret={secret}{extra}",
            enc(CALLBACK)
        ))
        .dispatch();
    let status = r.status();
    assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
    (
        status,
        serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or_default(),
    )
}

/// What Rocket refuses before a route runs (a form over the limit, an unknown method) is
/// an RFC 6749 error in JSON at the endpoints programs call, and a page at the ones
/// browsers are sent to.
#[test]
fn the_json_endpoints_answer_what_rocket_refuses_in_json() {
    let app = op();
    let (id, secret) = register(&app, &spec("app"));
    let secret = secret.unwrap();
    let huge = format!(
        "grant_type=authorization_code&client_id={id}&client_secret={secret}&code={}",
        "a".repeat(17 * 1024)
    );
    let post_huge = |path: &str| {
        app.client
            .post(path.to_string())
            .header(ContentType::Form)
            .body(&huge)
            .dispatch()
    };
    for path in ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"] {
        let r = post_huge(path);
        assert_eq!(r.status(), Status::PayloadTooLarge, "{path}");
        assert_eq!(r.content_type(), Some(ContentType::JSON), "{path}");
        assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
        let body: serde_json::Value =
            serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap();
        assert_eq!(body["error"], "invalid_request", "{path}");
    }
    // `/oauth2/userinfo` reads its form only if there is one: a body it cannot read is no
    // token, 401 `invalid_token`, also JSON.
    let r = post_huge("/oauth2/userinfo");
    assert_eq!(r.status(), Status::Unauthorized);
    assert_eq!(r.content_type(), Some(ContentType::JSON));
    let wrong_method = app.client.put("/oauth2/token").dispatch();
    assert_eq!(wrong_method.status(), Status::NotFound);
    assert_eq!(wrong_method.content_type(), Some(ContentType::JSON));
    // A browser's page stays a page.
    let page = post_huge("/oauth2/authorize");
    assert_eq!(page.status(), Status::PayloadTooLarge);
    assert_eq!(page.content_type(), Some(ContentType::HTML));
}

#[test]
fn a_code_used_twice_revokes_what_it_issued() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, secret, code) = legacy_code(&app, &browser);
    let (status, first) = redeem(&app.client, &id, &secret, &code, "");
    assert_eq!(status, Status::Ok, "{first}");
    let (status, second) = redeem(&app.client, &id, &secret, &code, "");
    assert_eq!(status, Status::BadRequest);
    assert_eq!(second["error"], "invalid_grant");
    assert_eq!(app.audit_kinds("oidc_code_reuse").len(), 1);
    let r = app
        .client
        .get("/oauth2/userinfo")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", first["access_token"].as_str().unwrap()),
        ))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=refresh_token&refresh_token={}&client_id={id}&client_secret={secret}",
            first["refresh_token"].as_str().unwrap()
        ))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
}

#[test]
fn a_bad_client_gets_401_with_www_authenticate_and_a_verifier_without_a_challenge_is_refused() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, secret, code) = legacy_code(&app, &browser);
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!("grant_type=authorization_code&code={code}&redirect_uri={}&client_id={id}&client_secret=wrong", enc(CALLBACK)))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    assert!(r.headers().get_one("WWW-Authenticate").is_some());
    assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
    // client_secret_basic works; a verifier for a code issued without a challenge does not.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{id}:{secret}"),
    );
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .header(Header::new("Authorization", format!("Basic {basic}")))
        .body(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
            enc(CALLBACK),
            "v".repeat(43)
        ))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    let body: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[test]
fn many_redemptions_of_one_code_released_together_give_one_answer() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, secret, code) = legacy_code(&app, &browser);
    // A second instance on the same database takes the requests, all at once.
    let figment = configure(common::figment(&app.dir));
    let ok = rocket::execute(async move {
        let other = rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment))
            .await
            .unwrap();
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={id}&client_secret={secret}",
            enc(CALLBACK)
        );
        let requests = (0..16).map(|_| {
            let body = body.clone();
            let other = &other;
            async move {
                other
                    .post("/oauth2/token")
                    .header(ContentType::Form)
                    .body(body)
                    .dispatch()
                    .await
                    .status()
            }
        });
        let statuses = futures::future::join_all(requests).await;
        statuses.iter().filter(|s| **s == Status::Ok).count()
    });
    assert_eq!(ok, 1);
    assert_eq!(
        app.audit_kinds("oidc_code_reuse").len(),
        1,
        "one reuse caught, once"
    );
}

#[test]
fn prompt_none_never_shows_a_page() {
    let app = op();
    let mut s = spec("Untrusted");
    s.trusted = false;
    let (id, _) = register(&app, &s);
    // Not signed in.
    let r = app
        .browser()
        .get(&authorize_path(&id, CALLBACK, "&prompt=none"));
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        param(r.location(), "error").as_deref(),
        Some("login_required")
    );
    // Signed in, no consent yet.
    let (_, browser) = app.signed_in("alice", Role::User);
    let r = browser.get(&authorize_path(&id, CALLBACK, "&prompt=none"));
    assert_eq!(
        param(r.location(), "error").as_deref(),
        Some("consent_required")
    );
    // The consent page, then remembered.
    let r = browser.get(&authorize_path(&id, CALLBACK, ""));
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("Untrusted") && r.body.contains("rp.test"));
    let csp = r.header("Content-Security-Policy").unwrap();
    assert!(csp.contains("form-action 'self' https://rp.test"), "{csp}");
    let token = common::csrf_token(&r.body);
    let mut form = format!("csrf_token={token}&decision=allow");
    for (k, v) in [
        ("client_id", id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "st"),
        (
            "code_challenge",
            &gatehouse::oidc::tokens::s256(&"v".repeat(43)),
        ),
        ("code_challenge_method", "S256"),
    ] {
        form.push_str(&format!("&params.{k}={}", enc(v)));
    }
    let r = browser.post("/oauth2/consent", &form);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(param(r.location(), "code").is_some());
    assert_eq!(app.audit_kinds("oidc_consent_granted").len(), 1);
    let r = browser.get(&authorize_path(&id, CALLBACK, "&prompt=none"));
    assert!(
        param(r.location(), "code").is_some(),
        "consent is remembered"
    );
}

#[test]
fn not_signed_in_goes_to_login_and_back() {
    let app = op();
    app.create_user("alice", Role::User);
    let (id, _) = register(&app, &spec("App"));
    let b = app.browser();
    let path = authorize_path(&id, CALLBACK, "");
    let r = b.get(&path);
    assert!(r.is_login_redirect(), "{}", r.location());
    let next = param(&format!("https://x{}", r.location()), "next").unwrap();
    assert_same(&next, &path);
    // The sign-in page lets its form end at the client.
    let page = b.get(r.location());
    assert!(page
        .header("Content-Security-Policy")
        .unwrap()
        .contains("form-action 'self' https://rp.test"));
    let token = common::csrf_token(&page.body);
    let r = b.post(
        "/login",
        &format!(
            "username=alice&password={}&csrf_token={token}&next={}",
            enc(common::PASSWORD),
            enc(&next)
        ),
    );
    assert_same(r.location(), &path);
    let r = b.get(r.location());
    assert!(param(r.location(), "code").is_some());
}

#[test]
fn a_pending_duty_gets_no_code_and_comes_back_after_it() {
    let app = op();
    let (id, _) = register(&app, &spec("App"));
    let (uid, b) = app.signed_in("alice", Role::User);
    app.state()
        .db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            diesel::update(gatehouse::db::schema::accounts::table.find(uid))
                .set(gatehouse::db::schema::accounts::must_change_password.eq(true))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    // A new sign-in carries the duty.
    let b2 = app.browser();
    b2.login("alice", common::PASSWORD, false);
    drop(b);
    let r = b2.get(&authorize_path(&id, CALLBACK, "&prompt=none"));
    assert_eq!(
        param(r.location(), "error").as_deref(),
        Some("interaction_required")
    );
    let path = authorize_path(&id, CALLBACK, "");
    let r = b2.get(&path);
    assert_eq!(r.status, Status::SeeOther);
    assert!(
        r.location().starts_with("/account/password"),
        "{}",
        r.location()
    );
    assert!(param(&format!("https://x{}", r.location()), "code").is_none());
    let token = b2.token("/account/password");
    let new = "a new password that is long enough";
    let r = b2.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={token}",
            enc(common::PASSWORD),
            enc(new),
            enc(new)
        ),
    );
    assert_same(r.location(), &path);
    let r = b2.get(r.location());
    assert!(param(r.location(), "code").is_some());
}

#[test]
fn allowed_groups_and_disabled_accounts() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    app.state()
        .db()
        .run_blocking(|c| gatehouse::groups::create(c, "ops", 0))
        .unwrap();
    let mut s = spec("Ops only");
    s.allowed_groups = vec!["ops".into()];
    let (id, _) = register(&app, &s);
    let r = browser.get(&authorize_path(&id, CALLBACK, ""));
    assert_eq!(
        param(r.location(), "error").as_deref(),
        Some("access_denied")
    );
    // An unknown group is refused at registration, naming it.
    let mut bad = spec("x");
    bad.allowed_groups = vec!["nope".into()];
    let err = app.state().create_client(&bad).unwrap_err();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn ending_the_gatehouse_session_kills_the_tokens_at_once() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, secret, code) = legacy_code(&app, &browser);
    let (_, tokens) = redeem(&app.client, &id, &secret, &code, "");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let userinfo = |t: &str| {
        app.client
            .get("/oauth2/userinfo")
            .header(Header::new("Authorization", format!("Bearer {t}")))
            .dispatch()
            .status()
    };
    assert_eq!(userinfo(&access), Status::Ok);
    let token = browser.token("/logout");
    browser.post("/logout", &format!("csrf_token={token}"));
    assert_eq!(userinfo(&access), Status::Unauthorized);
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=refresh_token&refresh_token={}&client_id={id}&client_secret={secret}",
            tokens["refresh_token"].as_str().unwrap()
        ))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
}

#[test]
fn rp_initiated_logout_asks_without_a_hint_and_follows_only_registered_uris() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, secret, code) = legacy_code(&app, &browser);
    let (_, tokens) = redeem(&app.client, &id, &secret, &code, "");
    // No hint: a confirmation page (a token in the query confirms nothing).
    let r = browser.get("/oauth2/logout?post_logout_redirect_uri=https%3A%2F%2Frp.test%2Fbye");
    assert_eq!(r.status, Status::Ok);
    let token = common::csrf_token(&r.body);
    let r = browser.get(&format!("/oauth2/logout?csrf_token={token}"));
    assert_eq!(r.status, Status::Ok, "still asking");
    assert!(browser.get("/dashboard").status == Status::Ok);
    // A cross-site POST without the page's token only asks too.
    let r = browser.post("/oauth2/logout", "post_logout_redirect_uri=x");
    assert_eq!(r.status, Status::Ok);
    // The confirmation's answer from another site is refused like every form of ours,
    // even with the page's token (which a framing or injected page might have read).
    for header in [
        Header::new("Origin", "https://evil.test"),
        Header::new("Sec-Fetch-Site", "cross-site"),
    ] {
        let r = browser.post_with("/oauth2/logout", &format!("csrf_token={token}"), header);
        assert_eq!(r.status, Status::Forbidden);
        assert!(
            browser.get("/dashboard").status == Status::Ok,
            "still signed in"
        );
    }
    // An access token is signed by the same keys but is no ID token: as a hint it signs
    // nobody out (a resource server holding it could otherwise end the session).
    let at = tokens["access_token"].as_str().unwrap();
    let r = browser.post("/oauth2/logout", &format!("id_token_hint={at}"));
    assert_eq!(r.status, Status::Ok, "asks instead");
    assert!(
        browser.get("/dashboard").status == Status::Ok,
        "still signed in"
    );
    // A valid hint: signed out, and back to the registered URI with state.
    let hint = tokens["id_token"].as_str().unwrap();
    let r = browser.get(&format!(
        "/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=s1",
        enc("https://rp.test/bye")
    ));
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "https://rp.test/bye?state=s1");
    assert!(browser.get("/dashboard").is_login_redirect());
    // The confirmation page's form signs out, and follows a registered URI of the
    // client it names.
    let (_, b3) = app.signed_in("carol", Role::User);
    let page = b3.get(&format!(
        "/oauth2/logout?client_id={id}&post_logout_redirect_uri={}&state=s2",
        enc("https://rp.test/bye")
    ));
    let token = common::csrf_token(&page.body);
    let r = b3.post(
        "/oauth2/logout",
        &format!(
            "csrf_token={token}&client_id={id}&post_logout_redirect_uri={}&state=s2",
            enc("https://rp.test/bye")
        ),
    );
    assert_eq!(r.location(), "https://rp.test/bye?state=s2");
    assert!(b3.get("/dashboard").is_login_redirect());
    // Not registered: never followed.
    let (_, b2) = (0, app.browser());
    let r = b2.get(&format!(
        "/oauth2/logout?post_logout_redirect_uri={}",
        enc("https://evil.test/")
    ));
    assert_eq!(r.location(), "/login?notice=signed_out");
}

#[test]
fn back_channel_logout_is_queued_in_the_outbox_when_the_session_ends() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let mut s = spec("BCL");
    s.require_pkce = false;
    s.backchannel_logout_uri = Some("https://rp.test/bcl".into());
    let (id, secret) = register(&app, &s);
    let secret = secret.unwrap();
    let r = browser.get(&format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=st",
        enc(CALLBACK)
    ));
    let code = param(r.location(), "code").unwrap();
    assert_eq!(redeem(&app.client, &id, &secret, &code, "").0, Status::Ok);
    let token = browser.token("/logout");
    browser.post("/logout", &format!("csrf_token={token}"));
    let rows: Vec<(String, String)> = app
        .state()
        .db()
        .run_blocking(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::outbox;
            Ok(outbox::table
                .filter(outbox::kind.eq("backchannel_logout"))
                .select((outbox::to_address, outbox::kind))
                .load(c)?)
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "https://rp.test/bcl");
}

#[test]
fn form_post_answers_with_a_continue_button_and_a_static_script() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, _) = register(&app, &spec("App"));
    let r = browser.get(&authorize_path(&id, CALLBACK, "&response_mode=form_post"));
    assert_eq!(r.status, Status::Ok);
    // Tera escapes the slashes; the browser reads them back.
    assert!(
        r.body
            .contains("action=\"https:&#x2F;&#x2F;rp.test&#x2F;cb\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("name=\"code\""));
    assert!(r.body.contains("src=\"/static/form_post.js\""));
    assert!(!r.body.contains("<script>"));
    let csp = r.header("Content-Security-Policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("https://rp.test"),
        "{csp}"
    );
    assert_eq!(browser.get("/static/form_post.js").status, Status::Ok);
}

#[test]
fn apps_you_allowed_can_be_revoked() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let mut s = spec("Wiki");
    s.trusted = false;
    s.require_pkce = false;
    let (id, secret) = register(&app, &s);
    let path = format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid%20offline_access&state=st",
        enc(CALLBACK)
    );
    let page = browser.get(&path);
    let token = common::csrf_token(&page.body);
    let form = format!(
        "csrf_token={token}&decision=allow&params.client_id={id}&params.redirect_uri={}&params.response_type=code&params.scope=openid%20offline_access&params.state=st",
        enc(CALLBACK)
    );
    let r = browser.post("/oauth2/consent", &form);
    let code = param(r.location(), "code").unwrap();
    let (_, tokens) = redeem(&app.client, &id, secret.as_deref().unwrap(), &code, "");
    let apps = browser.get("/account/apps");
    assert!(apps.body.contains("Wiki"));
    let token = common::csrf_token(&apps.body);
    let r = browser.post(
        &format!("/account/apps/{id}/revoke"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(app.audit_kinds("oidc_app_revoked").len(), 1);
    let status = app
        .client
        .get("/oauth2/userinfo")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
        ))
        .dispatch()
        .status();
    assert_eq!(status, Status::Unauthorized);
    assert!(!browser.get("/account/apps").body.contains("Wiki"));
    // A first-party app holding tokens is listed too (no consent was asked), and may be
    // revoked the same way.
    let (tid, tsecret, tcode) = code_for(&app, &browser, spec("Intranet"), "openid offline_access");
    let (_, ttokens) = redeem(&app.client, &tid, &tsecret, &tcode, "");
    let apps = browser.get("/account/apps");
    assert!(apps.body.contains("Intranet"));
    let token = common::csrf_token(&apps.body);
    browser.post(
        &format!("/account/apps/{tid}/revoke"),
        &format!("csrf_token={token}"),
    );
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=refresh_token&refresh_token={}&client_id={tid}&client_secret={tsecret}",
            ttokens["refresh_token"].as_str().unwrap()
        ))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    assert!(!browser.get("/account/apps").body.contains("Intranet"));
}

#[test]
fn create_client_on_the_command_line_prints_its_id_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("rsa.pem");
    std::fs::write(&key, &pems().0).unwrap();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_DATABASE_URL", common::database_url(&dir))
            .env("ROCKET_DATA_DIR", dir.path())
            .env("ROCKET_PUBLIC_URL", ISSUER)
            .env(
                "ROCKET_JWT_KEYS",
                format!(
                    "[{{kid=\"k1\",secret=\"{}\"}},{{kid=\"r1\",alg=\"RS256\",private_key_file=\"{}\"}}]",
                    common::KEY1_SECRET,
                    key.display()
                ),
            )
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = cli(&[
        "create-client",
        "Grafana",
        "--redirect-uri",
        "https://grafana.example/login/generic_oauth",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--post-logout-redirect-uri",
        "https://grafana.example/",
        "--backchannel-logout-uri",
        "https://grafana.example/bcl",
        "--trusted",
        "--no-pkce",
        "--alg",
        "RS256",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("client_id: "), "{out}");
    assert!(
        lines[1].starts_with("client_secret: ") && lines[1].len() > 50,
        "{out}"
    );
    let (ok, out, _) = cli(&[
        "create-client",
        "SPA",
        "--redirect-uri",
        "https://spa.example/cb",
        "--public",
    ]);
    assert!(ok);
    assert_eq!(
        out.lines().count(),
        1,
        "a public client has no secret: {out}"
    );
    let (ok, _, err) = cli(&[
        "create-client",
        "X",
        "--redirect-uri",
        "https://x.example/cb",
        "--group",
        "nope",
    ]);
    assert!(!ok);
    assert!(err.contains("nope"), "{err}");
    let (ok, _, err) = cli(&[
        "create-client",
        "X",
        "--redirect-uri",
        "https://x.example/cb",
        "--alg",
        "EdDSA",
    ]);
    assert!(!ok);
    assert!(
        err.contains("EdDSA") && err.contains("generate-key"),
        "{err}"
    );
    let (ok, _, err) = cli(&[
        "create-client",
        "X",
        "--redirect-uri",
        "http://x.example/cb",
    ]);
    assert!(!ok, "plain http to a non-loopback host is refused");
    assert!(err.contains("http://x.example/cb"), "{err}");
}

#[test]
fn admin_registers_a_client_after_confirming_and_sees_the_secret_once() {
    let app = op();
    let (_, admin) = app.signed_in("root", Role::Admin);
    // The accounts page leads to the clients (only when the provider is on).
    assert!(admin
        .get("/admin/users")
        .body
        .contains("href=\"/admin/clients\""));
    let plain = common::app();
    let (_, plain_admin) = plain.signed_in("root", Role::Admin);
    assert!(!plain_admin
        .get("/admin/users")
        .body
        .contains("/admin/clients"));
    let page = admin.get("/admin/clients/new");
    assert_eq!(page.status, Status::Ok);
    let token = common::csrf_token(&page.body);
    let form = format!(
        "csrf_token={token}&name=Wiki&redirect_uris={}&pkce=true&alg=RS256",
        enc(CALLBACK)
    );
    // A sign-in counts as a confirmation, so this goes through.
    let r = admin.post("/admin/clients/new", &form);
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    assert!(r.body.contains("client-secret"));
    assert_eq!(app.audit_kinds("oidc_client_created").len(), 1);
    let list = admin.get("/admin/clients");
    assert!(list.body.contains("Wiki"));
    // Not for users.
    let (_, user) = app.signed_in("bob", Role::User);
    assert_eq!(user.get("/admin/clients").status, Status::Forbidden);
    // Both languages.
    let mut ko = admin.copy();
    ko.headers
        .push(Header::new("Accept-Language", "ko-KR,ko;q=0.9"));
    for (path, korean) in [
        ("/admin/clients", "애플리케이션"),
        ("/admin/clients/new", "애플리케이션 등록"),
        ("/account/apps", "허용한 앱"),
    ] {
        let r = ko.get(path);
        assert_eq!(r.status, Status::Ok, "{path}");
        assert!(
            r.body.contains("<html lang=\"ko\">") && r.body.contains(korean),
            "{path}"
        );
    }
}

#[test]
fn back_channel_logout_tokens_reach_the_client() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 16384];
            let mut got = Vec::new();
            s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .ok();
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&got).into_owned());
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    let app = op();
    let (uid, browser) = app.signed_in("alice", Role::User);
    let mut s = spec("BCL");
    s.require_pkce = false;
    s.backchannel_logout_uri = Some(format!("http://127.0.0.1:{port}/bcl"));
    let (id, secret) = register(&app, &s);
    let r = browser.get(&format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=st",
        enc(CALLBACK)
    ));
    let code = param(r.location(), "code").unwrap();
    let (_, tokens) = redeem(&app.client, &id, secret.as_deref().unwrap(), &code, "");
    let sid = {
        let t = tokens["id_token"].as_str().unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                t.split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_string()
    };
    let token = browser.token("/logout");
    browser.post("/logout", &format!("csrf_token={token}"));
    common::wait_until("the logout token arrives", || {
        !received.lock().unwrap().is_empty()
    });
    let request = received.lock().unwrap()[0].clone();
    assert!(request.starts_with("POST /bcl "), "{request}");
    let body = request.split_once("\r\n\r\n").unwrap().1;
    let jwt = body
        .strip_prefix("logout_token=")
        .expect("a logout_token field");
    let part = |i: usize| -> serde_json::Value {
        serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                jwt.split('.').nth(i).unwrap(),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let (header, claims) = (part(0), part(1));
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], id.as_str());
    assert_eq!(claims["sub"], uid.to_string());
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
}

/// The claims of a JWT, unverified (the tests read what was sent).
pub fn claims_of(jwt: &str, part: usize) -> serde_json::Value {
    serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').nth(part).unwrap(),
        )
        .unwrap(),
    )
    .unwrap()
}

/// A confidential client without PKCE registered from `s`, and a code for `scope`.
fn code_for(
    app: &TestApp,
    browser: &Browser<'_>,
    s: ClientSpec,
    scope: &str,
) -> (String, String, String) {
    let mut s = s;
    s.require_pkce = false;
    let (id, secret) = register(app, &s);
    let r = browser.get(&format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope={}&state=st&nonce=n1",
        enc(CALLBACK),
        enc(scope)
    ));
    let code = param(r.location(), "code").unwrap_or_else(|| panic!("{}", r.location()));
    (id, secret.unwrap(), code)
}

#[test]
fn id_tokens_carry_the_claims_of_their_scope_in_the_clients_algorithm() {
    let app = op();
    let (uid, browser) = app.signed_in("alice", Role::User);
    let mut s = spec("EC");
    s.alg = Some(Alg::ES256);
    let (id, secret, code) = code_for(
        &app,
        &browser,
        s,
        "openid profile email groups offline_access",
    );
    let (status, tokens) = redeem(&app.client, &id, &secret, &code, "");
    assert_eq!(status, Status::Ok, "{tokens}");
    let idt = tokens["id_token"].as_str().unwrap();
    let (h, c) = (claims_of(idt, 0), claims_of(idt, 1));
    assert_eq!(
        (h["alg"].as_str(), h["kid"].as_str()),
        (Some("ES256"), Some("ec1"))
    );
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], uid.to_string());
    assert_eq!(c["aud"], id.as_str());
    assert_eq!(c["azp"], id.as_str());
    assert_eq!(c["nonce"], "n1");
    assert_eq!(c["preferred_username"], "alice");
    assert_eq!(c["name"], "alice");
    assert_eq!(
        c["groups"],
        serde_json::json!([]),
        "an empty array when there are none"
    );
    assert!(
        c.get("email").is_none() && c.get("email_verified").is_none(),
        "no address, no claim"
    );
    assert_eq!(c["amr"], serde_json::json!(["pwd"]));
    for k in ["exp", "iat", "auth_time", "sid", "at_hash"] {
        assert!(c.get(k).is_some(), "{k}");
    }
    let at = tokens["access_token"].as_str().unwrap();
    let (ah, ac) = (claims_of(at, 0), claims_of(at, 1));
    assert_eq!(
        (ah["typ"].as_str(), ah["alg"].as_str()),
        (Some("at+jwt"), Some("ES256"))
    );
    for k in [
        "iss",
        "sub",
        "aud",
        "client_id",
        "scope",
        "sid",
        "iat",
        "exp",
        "jti",
    ] {
        assert!(ac.get(k).is_some(), "{k}");
    }
    assert_eq!(ac["aud"], id.as_str());
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    // The same claims on refresh (no nonce).
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=refresh_token&refresh_token={}&client_id={id}&client_secret={secret}",
            tokens["refresh_token"].as_str().unwrap()
        ))
        .dispatch();
    let renewed: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    let rc = claims_of(renewed["id_token"].as_str().unwrap(), 1);
    for k in [
        "sub",
        "aud",
        "azp",
        "auth_time",
        "sid",
        "preferred_username",
        "name",
        "groups",
        "amr",
    ] {
        assert_eq!(rc[k], c[k], "{k}");
    }
    assert!(rc.get("nonce").is_none());
    // An RS256-only client set-up cannot register an EdDSA client: no such key.
    let mut ed = spec("Ed");
    ed.alg = Some(Alg::EdDSA);
    let err = app.state().create_client(&ed).unwrap_err();
    assert!(err.contains("EdDSA") && err.contains("jwt_keys"), "{err}");
}

#[test]
fn failed_client_authentications_are_throttled_per_client() {
    let app = op();
    let (id, _) = register(&app, &spec("Target"));
    let mut last = Status::Ok;
    let mut retry = None;
    for _ in 0..8 {
        let r = app
            .client
            .post("/oauth2/token")
            .header(ContentType::Form)
            .body(format!(
                "grant_type=refresh_token&refresh_token=x&client_id={id}&client_secret=guess"
            ))
            .dispatch();
        last = r.status();
        retry = r.headers().get_one("Retry-After").map(str::to_string);
    }
    assert_eq!(last, Status::TooManyRequests);
    assert!(retry.is_some());
}

#[test]
fn a_strangers_failures_never_lock_out_the_client_that_knows_its_secret() {
    let app = op();
    let (id, secret) = register(&app, &spec("Target"));
    let secret = secret.unwrap();
    let stranger: std::net::SocketAddr = "192.0.2.66:40000".parse().unwrap();
    let app_server: std::net::SocketAddr = "192.0.2.10:40000".parse().unwrap();
    let token = |from, secret: &str| {
        app.client
            .post("/oauth2/token")
            .remote(from)
            .header(ContentType::Form)
            .body(format!(
                "grant_type=refresh_token&refresh_token=x&client_id={id}&client_secret={secret}"
            ))
            .dispatch()
            .status()
    };
    let mut last = Status::Ok;
    for _ in 0..8 {
        last = token(stranger, "guess");
    }
    assert_eq!(last, Status::TooManyRequests, "the guesses wait");
    // The real client authenticates (the refresh token itself is junk: 400, not 401/429).
    assert_eq!(token(app_server, &secret), Status::BadRequest);
    assert_eq!(token(app_server, "guess"), Status::TooManyRequests);
}

#[test]
fn introspection_is_for_the_confidential_client_that_holds_the_token() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, secret, code) = code_for(&app, &browser, spec("A"), "openid profile");
    let (_, tokens) = redeem(&app.client, &id, &secret, &code, "");
    let at = tokens["access_token"].as_str().unwrap();
    let introspect = |auth: &str| {
        let r = app
            .client
            .post("/oauth2/introspect")
            .header(ContentType::Form)
            .body(format!("token={at}{auth}"))
            .dispatch();
        let status = r.status();
        let www = r.headers().get_one("WWW-Authenticate").map(str::to_string);
        let body: serde_json::Value =
            serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or_default();
        (status, www, body)
    };
    let (status, _, body) = introspect(&format!("&client_id={id}&client_secret={secret}"));
    assert_eq!(status, Status::Ok);
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], id.as_str());
    let (status, www, _) = introspect("");
    assert_eq!(status, Status::Unauthorized);
    assert!(www.is_some());
    // RFC 7662: `token` is required.
    let r = app
        .client
        .post("/oauth2/introspect")
        .header(ContentType::Form)
        .body(format!("client_id={id}&client_secret={secret}"))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    assert!(r
        .into_string()
        .unwrap_or_default()
        .contains("invalid_request"));
    let (other, other_secret) = register(&app, &spec("B"));
    let (_, _, body) = introspect(&format!(
        "&client_id={other}&client_secret={}",
        other_secret.unwrap()
    ));
    assert_eq!(body["active"], false, "another client's token");
    // Refresh tokens are introspected too: the current one is active (and stays usable:
    // introspection is not a use), an older one of its family is not.
    let (id2, secret2, code2) = code_for(&app, &browser, spec("C"), "openid offline_access");
    let (_, t2) = redeem(&app.client, &id2, &secret2, &code2, "");
    let first = t2["refresh_token"].as_str().unwrap().to_string();
    let introspect_refresh = |token: &str, id: &str, secret: &str| -> serde_json::Value {
        let r = app
            .client
            .post("/oauth2/introspect")
            .header(ContentType::Form)
            .body(format!(
                "token={token}&token_type_hint=refresh_token&client_id={id}&client_secret={secret}"
            ))
            .dispatch();
        serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or_default()
    };
    let body = introspect_refresh(&first, &id2, &secret2);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["client_id"], id2.as_str());
    assert_eq!(body["username"], "alice");
    assert_eq!(
        introspect_refresh(&first, &id, &secret)["active"],
        false,
        "another client's refresh token"
    );
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=refresh_token&refresh_token={first}&client_id={id2}&client_secret={secret2}"
        ))
        .dispatch();
    assert_eq!(r.status(), Status::Ok, "introspection did not spend it");
    let rotated: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    assert_eq!(
        introspect_refresh(&first, &id2, &secret2)["active"],
        false,
        "rotated away"
    );
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(introspect_refresh(next, &id2, &secret2)["active"], true);
    // Revoking the access token: userinfo and introspection refuse it at once.
    let r = app
        .client
        .post("/oauth2/revoke")
        .header(ContentType::Form)
        .body(format!("token={at}&client_id={id}&client_secret={secret}"))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let (_, _, body) = introspect(&format!("&client_id={id}&client_secret={secret}"));
    assert_eq!(body["active"], false);
    // POST userinfo with the token in the body (refused: revoked).
    let r = app
        .client
        .post("/oauth2/userinfo")
        .header(ContentType::Form)
        .body(format!("access_token={at}"))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
}

#[test]
fn prompt_login_and_max_age_ask_to_confirm_and_come_back() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, _) = register(&app, &spec("App"));
    let r = browser.get(&authorize_path(&id, CALLBACK, "&prompt=login"));
    assert!(
        r.location().starts_with("/reauth?next="),
        "{}",
        r.location()
    );
    let next = param(&format!("https://x{}", r.location()), "next").unwrap();
    assert!(!next.contains("prompt"), "{next}");
    app.state().clock().advance(120);
    let r = browser.get(&authorize_path(&id, CALLBACK, "&max_age=60"));
    assert!(
        r.location().starts_with("/reauth?next="),
        "{}",
        r.location()
    );
    let r = browser.get(&authorize_path(&id, CALLBACK, "&max_age=60&prompt=none"));
    assert_eq!(
        param(r.location(), "error").as_deref(),
        Some("login_required")
    );
    // After confirming, the same request gives a code.
    let token = browser.token("/reauth");
    let back = authorize_path(&id, CALLBACK, "&max_age=60");
    let r = browser.post(
        "/reauth",
        &format!(
            "password={}&csrf_token={token}&next={}",
            enc(common::PASSWORD),
            enc(&back)
        ),
    );
    assert_same(r.location(), &back);
    let r = browser.get(r.location());
    assert!(param(r.location(), "code").is_some(), "{}", r.location());
}

#[test]
fn admins_edit_rotate_and_delete_clients() {
    let app = op();
    let (_, admin) = app.signed_in("root", Role::Admin);
    let (id, secret) = register(&app, &spec("Old name"));
    let page = admin.get(&format!("/admin/clients/{id}"));
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Old name"));
    let token = common::csrf_token(&page.body);
    let r = admin.post(
        &format!("/admin/clients/{id}/edit"),
        &format!(
            "csrf_token={token}&name=New%20name&redirect_uris={}&pkce=true&alg=RS256",
            enc(CALLBACK)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(admin
        .get(&format!("/admin/clients/{id}"))
        .body
        .contains("New name"));
    assert_eq!(app.audit_kinds("oidc_client_updated").len(), 1);
    let r = admin.post(
        &format!("/admin/clients/{id}/rotate-secret"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("client-secret"));
    assert_eq!(app.audit_kinds("oidc_client_secret_rotated").len(), 1);
    // The old secret stops working.
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=refresh_token&refresh_token=x&client_id={id}&client_secret={}",
            secret.unwrap()
        ))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    // A stale confirmation: the POST changes nothing and asks to confirm first.
    app.state().clock().advance(3_600);
    let r = admin.post(
        &format!("/admin/clients/{id}/delete"),
        &format!("csrf_token={token}"),
    );
    assert!(r.location().starts_with("/reauth"), "{}", r.location());
    assert!(admin.get(&format!("/admin/clients/{id}")).status == Status::Ok);
    let rt = admin.token("/reauth");
    admin.post(
        "/reauth",
        &format!(
            "password={}&csrf_token={rt}&next=/admin/clients",
            enc(common::PASSWORD)
        ),
    );
    let r = admin.post(
        &format!("/admin/clients/{id}/delete"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.location(), "/admin/clients");
    assert_eq!(app.audit_kinds("oidc_client_deleted").len(), 1);
    assert_eq!(
        admin.get(&format!("/admin/clients/{id}")).status,
        Status::NotFound
    );
    // A form without its token is refused.
    assert_eq!(
        admin.post("/admin/clients/new", "name=x").status,
        Status::Forbidden
    );
}

#[test]
fn a_disabled_account_gets_no_code_and_a_code_is_for_its_own_client() {
    let app = op();
    let (uid, browser) = app.signed_in("alice", Role::User);
    let (id, secret, _) = code_for(&app, &browser, spec("A"), "openid");
    let (_, _, other_code) = code_for(&app, &browser, spec("B"), "openid");
    let (status, body) = redeem(&app.client, &id, &secret, &other_code, "");
    assert_eq!(
        (status, body["error"].as_str()),
        (Status::BadRequest, Some("invalid_grant")),
        "another client's code"
    );
    // Disabled (even before its sessions are seen to end): no code.
    app.state()
        .db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            diesel::update(gatehouse::db::schema::accounts::table.find(uid))
                .set(gatehouse::db::schema::accounts::disabled.eq(true))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    let r = browser.get(&format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=st",
        enc(CALLBACK)
    ));
    assert!(!r.location().contains("code="), "{}", r.location());
}

#[test]
fn a_redirect_uri_other_than_the_authorized_one_is_refused() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let mut s = spec("Two");
    s.redirect_uris.push("https://rp.test/other".into());
    let (id, secret, code) = code_for(&app, &browser, s, "openid");
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={id}&client_secret={secret}",
            enc("https://rp.test/other")
        ))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
}

#[test]
fn prompt_consent_shows_the_page_even_to_a_trusted_client() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, _) = register(&app, &spec("Trusted"));
    let r = browser.get(&authorize_path(&id, CALLBACK, "&prompt=consent"));
    assert_eq!(r.status, Status::Ok);
    assert!(r.body.contains("/oauth2/consent"));
}

#[test]
fn a_failed_back_channel_delivery_is_audited_and_retried() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    // Nothing listens there.
    let port = common::free_port();
    let mut s = spec("Down");
    s.backchannel_logout_uri = Some(format!("http://127.0.0.1:{port}/bcl"));
    let (id, secret, code) = code_for(&app, &browser, s, "openid");
    assert_eq!(redeem(&app.client, &id, &secret, &code, "").0, Status::Ok);
    let token = browser.token("/logout");
    browser.post("/logout", &format!("csrf_token={token}"));
    common::wait_until("the failure is audited", || {
        !app.audit_kinds("oidc_backchannel_failed").is_empty()
    });
    let waiting = app
        .state()
        .db()
        .run_blocking(gatehouse::outbox::counts)
        .unwrap()
        .waiting;
    assert_eq!(waiting, 1, "kept for a retry");
}

#[test]
fn rows_stay_bounded_grants_per_session_and_codes_pruned_in_batches() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let mut s = spec("Busy");
    s.require_pkce = false;
    let (id, secret) = register(&app, &s);
    let secret = secret.unwrap();
    let mut first_access = None;
    for _ in 0..8 {
        let r = browser.get(&format!(
            "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid%20offline_access&state=st",
            enc(CALLBACK)
        ));
        let code = param(r.location(), "code").unwrap();
        let (status, tokens) = redeem(&app.client, &id, &secret, &code, "");
        assert_eq!(status, Status::Ok);
        first_access.get_or_insert(tokens["access_token"].as_str().unwrap().to_string());
        // Sign-ins a second apart: "newest" is by time.
        app.state().clock().advance(1);
    }
    // Unredeemed codes too.
    for _ in 0..3 {
        browser.get(&format!(
            "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=st",
            enc(CALLBACK)
        ));
    }
    let count = |table: &'static str| {
        app.state()
            .db()
            .run_blocking(move |c| {
                use diesel::prelude::*;
                use gatehouse::db::schema::{oidc_codes, oidc_grants};
                Ok(match table {
                    "grants" => oidc_grants::table.count().get_result::<i64>(c)?,
                    _ => oidc_codes::table.count().get_result::<i64>(c)?,
                })
            })
            .unwrap()
    };
    assert_eq!(count("grants"), gatehouse::oidc::GRANTS_PER_SESSION);
    // The oldest grant ended with its row: its access token is refused.
    let status = app
        .client
        .get("/oauth2/userinfo")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", first_access.unwrap()),
        ))
        .dispatch()
        .status();
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(count("codes"), 11);
    let keep = app.state().retention();
    let now = app.state().now() + 2 * 3_600;
    let pruned = app
        .state()
        .db()
        .run_blocking(move |c| {
            gatehouse::retention::prune_in(
                c,
                now,
                &keep,
                gatehouse::retention::Batches {
                    rows: 4,
                    pause: std::time::Duration::ZERO,
                },
            )
        })
        .unwrap();
    assert_eq!(pruned.oidc, 11);
    assert_eq!(count("codes"), 0);
}

#[test]
fn many_refreshes_of_one_token_released_together_give_one_answer_and_end_the_family() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, secret, code) = legacy_code(&app, &browser);
    let (_, tokens) = redeem(&app.client, &id, &secret, &code, "");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let figment = configure(common::figment(&app.dir));
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id={id}&client_secret={secret}"
    );
    let (ok, winner) = rocket::execute(async move {
        let other = rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment))
            .await
            .unwrap();
        let requests = (0..16).map(|_| {
            let body = body.clone();
            let other = &other;
            async move {
                let r = other
                    .post("/oauth2/token")
                    .header(ContentType::Form)
                    .body(body)
                    .dispatch()
                    .await;
                (r.status(), r.into_string().await.unwrap_or_default())
            }
        });
        let answers = futures::future::join_all(requests).await;
        let ok: Vec<String> = answers
            .into_iter()
            .filter(|(s, _)| *s == Status::Ok)
            .map(|(_, b)| b)
            .collect();
        (ok.len(), ok.into_iter().next())
    });
    assert_eq!(ok, 1, "one rotation");
    assert_eq!(
        app.audit_kinds("oidc_refresh_reuse").len(),
        1,
        "the others were reuse"
    );
    // The family is revoked: the winner's new refresh token is refused too.
    let winner: serde_json::Value = serde_json::from_str(&winner.unwrap()).unwrap();
    let r = app
        .client
        .post("/oauth2/token")
        .header(ContentType::Form)
        .body(format!(
            "grant_type=refresh_token&refresh_token={}&client_id={id}&client_secret={secret}",
            winner["refresh_token"].as_str().unwrap()
        ))
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
}

#[test]
fn the_whole_sign_in_with_a_second_factor_comes_back_to_the_authorization() {
    let app = op();
    let (_, first) = app.signed_in("alice", Role::User);
    let (secret, _) = crate::second_factor::enrol(&app, &first);
    let (id, client_secret) = register(&app, &spec("App"));
    let b = app.browser();
    let path = authorize_path(&id, CALLBACK, "");
    let r = b.get(&path);
    let next = param(&format!("https://x{}", r.location()), "next").unwrap();
    let token = common::csrf_token(&b.get(r.location()).body);
    let r = b.post(
        "/login",
        &format!(
            "username=alice&password={}&csrf_token={token}&next={}",
            enc(common::PASSWORD),
            enc(&next)
        ),
    );
    assert!(r.location().starts_with("/login/2fa"), "{}", r.location());
    let step = b.get(r.location());
    let csp = step.header("Content-Security-Policy").unwrap().to_string();
    assert!(csp.contains("form-action 'self' https://rp.test"), "{csp}");
    app.state().clock().advance(30);
    let code = gatehouse::second_factor::totp::code_at(&secret, app.state().now()).unwrap();
    let r = b.post(
        "/login/2fa",
        &format!(
            "code={code}&csrf_token={}&next={}",
            crate::second_factor::hidden(&step.body, "csrf_token"),
            enc(&crate::second_factor::hidden(&step.body, "next")
                .replace("&amp;", "&")
                .replace("&#x2F;", "/"))
        ),
    );
    assert_same(r.location(), &path);
    let r = b.get(r.location());
    let c = param(r.location(), "code");
    assert!(c.is_some(), "{}", r.location());
    // amr says the second factor was used.
    let (status, tokens) = redeem(
        &app.client,
        &id,
        client_secret.as_deref().unwrap(),
        &c.unwrap(),
        &format!("&code_verifier={}", "v".repeat(43)),
    );
    assert_eq!(status, Status::Ok, "{tokens}");
    let amr = claims_of(tokens["id_token"].as_str().unwrap(), 1)["amr"].clone();
    assert_eq!(amr, serde_json::json!(["pwd", "otp"]));
}

#[test]
fn a_required_enrolment_comes_back_to_the_authorization() {
    let app = common::app_with(|f| configure(f).merge(("require_2fa", "all")));
    let (_, b) = app.signed_in("alice", Role::User);
    let (id, _) = register(&app, &spec("App"));
    let path = authorize_path(&id, CALLBACK, "");
    let r = b.get(&path);
    assert!(r.location().starts_with("/account/2fa"), "{}", r.location());
    let page = b.get("/account/2fa");
    let base32 = page
        .body
        .split("<code class=\"secret\" id=\"secret\">")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .unwrap()
        .to_string();
    let secret = data_encoding::BASE32_NOPAD
        .decode(base32.trim_end_matches('=').as_bytes())
        .unwrap();
    let code = gatehouse::second_factor::totp::code_at(&secret, app.state().now()).unwrap();
    let r = b.post(
        "/account/2fa",
        &format!(
            "enrolment={}&code={code}&csrf_token={}",
            crate::second_factor::hidden(&page.body, "enrolment"),
            crate::second_factor::hidden(&page.body, "csrf_token")
        ),
    );
    assert_eq!(r.status, Status::Ok);
    // The recovery codes page continues to the authorization.
    let link = r
        .body
        .split("class=\"button\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x2F;", "/");
    assert_same(&link, &path);
    let r = b.get(&link);
    assert!(param(r.location(), "code").is_some(), "{}", r.location());
}

#[test]
fn bad_input_anywhere_gets_a_4xx_never_a_500() {
    let app = op();
    let (_, browser) = app.signed_in("alice", Role::User);
    let (id, _) = register(&app, &spec("App"));
    let long = "x".repeat(5000);
    for path in [
        "/oauth2/authorize".to_string(),
        format!("/oauth2/authorize?client_id={long}"),
        format!("/oauth2/authorize?client_id={id}&redirect_uri=%ZZ"),
        format!("/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&max_age=-1", enc(CALLBACK)),
        format!("/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&prompt=none%20login", enc(CALLBACK)),
        format!("/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&code_challenge=short&code_challenge_method=S256", enc(CALLBACK)),
        format!("/oauth2/logout?id_token_hint={long}"),
        "/oauth2/logout?id_token_hint=a.b.c&post_logout_redirect_uri=javascript:alert(1)".to_string(),
        "/admin/clients/nobody".to_string(),
        "/oauth2/userinfo".to_string(),
    ] {
        let r = browser.get(&path);
        assert!(r.status.code < 500, "{path}: {}", r.status);
    }
    for (headers, body) in [
        (vec![], "".to_string()),
        (
            vec![],
            "grant_type=password&username=a&password=b".to_string(),
        ),
        (
            vec![("Authorization", "Basic !!!")],
            "grant_type=authorization_code".to_string(),
        ),
        (
            vec![("Authorization", "Bearer x")],
            "grant_type=refresh_token&refresh_token=y".to_string(),
        ),
        (
            vec![("Authorization", "Basic Og==")],
            "grant_type=authorization_code&code=x".to_string(),
        ),
        (
            vec![],
            format!("grant_type=authorization_code&client_id={id}&code={long}&redirect_uri=x"),
        ),
        (
            vec![],
            format!("grant_type=refresh_token&client_id={id}&refresh_token={long}"),
        ),
    ] {
        for path in [
            "/oauth2/token",
            "/oauth2/revoke",
            "/oauth2/introspect",
            "/oauth2/userinfo",
        ] {
            let mut req = app
                .client
                .post(path)
                .header(ContentType::Form)
                .body(body.clone());
            for (k, v) in &headers {
                req = req.header(Header::new(k.to_string(), v.to_string()));
            }
            let status = req.dispatch().status();
            assert!(
                status.code < 500 && status.code >= 400,
                "{path} {headers:?} {body:.60}: {status}"
            );
        }
    }
    let r = app
        .client
        .get("/oauth2/userinfo")
        .header(Header::new("Authorization", "Bearer a.b.c"))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    let token = common::csrf_token(&browser.get("/account").body);
    assert_eq!(
        browser
            .post(
                "/account/apps/nobody/revoke",
                &format!("csrf_token={token}")
            )
            .status,
        Status::NotFound
    );
}
