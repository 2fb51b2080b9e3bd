//! The OpenID Connect provider's routes (SPEC §11): discovery, authorization and consent,
//! the token endpoint, userinfo, RP-initiated logout, revocation and introspection, and
//! "apps you allowed". Without `public_url` (the issuer) every route here is 404.

use std::sync::Arc;

use rocket::form::{Form, FromForm};
use rocket::http::{ContentType, CookieJar, Header, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::content::RawJson;
use rocket::response::{self, Redirect, Responder, Response};
use rocket::State;
use serde_json::{json, Value};

use crate::app::{App, ClientAuth, ClientCredentials, CodeRedemption, CodeRequest};
use crate::context;
use crate::i18n::Message;
use crate::oidc::tokens::{at_hash, AccessClaims, IdClaims, Profile, Provider};
use crate::oidc::{self, Client, Granted, Redeemed};
use crate::sessions::keys::Alg;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected, FromThisSite};
use crate::web::engine::Template;
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::session::{self, AnySession, AuthenticatedUser, Duty};

/// The header a page sets to add an origin to its CSP `form-action` (read and removed
/// by `SecurityHeaders`).
pub const FORM_ACTION_HEADER: &str = "X-Gatehouse-Form-Action";
/// The header a page sets to allow `/static/` scripts (the `form_post` page).
pub const SCRIPT_HEADER: &str = "X-Gatehouse-Script";
/// While an authorization waits for a sign-in or a duty: where to come back to, and the
/// client's redirect origin (signed).
pub const RETURN_COOKIE: &str = "__Host-oidc-return";
const PLAIN_RETURN_COOKIE: &str = "gatehouse-oidc-return";

fn provider(app: &App) -> Result<&Arc<Provider>> {
    app.oidc().ok_or(Error::NotFound)
}

fn return_signer(app: &App) -> crate::signer::Signer {
    crate::signer::Signer::derive_from(&app.settings().encryption_key, b"gatehouse/oidc-return/v1")
}

fn return_cookie_name(app: &App) -> &'static str {
    if app.settings().cookie_secure {
        RETURN_COOKIE
    } else {
        PLAIN_RETURN_COOKIE
    }
}

/// Remembers an authorization in progress (ten minutes).
fn set_return(jar: &CookieJar<'_>, app: &App, path: &str, origin: &str) {
    let data = crate::random::encode(
        serde_json::to_string(&(path, origin))
            .unwrap_or_default()
            .as_bytes(),
    );
    let value = format!("{data}.{}", return_signer(app).sign(&data));
    let c = rocket::http::Cookie::build((return_cookie_name(app), value))
        .path("/")
        .secure(app.settings().cookie_secure)
        .http_only(true)
        .same_site(rocket::http::SameSite::Lax)
        .max_age(time::Duration::minutes(10))
        .build();
    jar.add(c);
}

/// The authorization in progress, if any: its path and its client's redirect origin.
pub fn pending_return(req: &Request<'_>, app: &App) -> Option<(String, String)> {
    let value = req
        .cookies()
        .get(return_cookie_name(app))?
        .value()
        .to_string();
    let (data, sig) = value.split_once('.')?;
    if data.len() > 8192 || !return_signer(app).verify(data, sig) {
        return None;
    }
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, data).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn clear_return(jar: &CookieJar<'_>, app: &App) {
    let mut c = rocket::http::Cookie::build((return_cookie_name(app), ""))
        .path("/")
        .secure(app.settings().cookie_secure)
        .http_only(true)
        .build();
    c.set_max_age(time::Duration::ZERO);
    jar.add(c);
}

/// After a duty is done: back to the authorization in progress, if one waits.
pub struct AuthorizationInProgress(pub Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthorizationInProgress {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let found = req
            .rocket()
            .state::<App>()
            .and_then(|app| pending_return(req, app))
            .map(|(path, _)| crate::web::auth::safe_next(Some(&path)))
            .filter(|p| p.starts_with("/oauth2/authorize"));
        request::Outcome::Success(AuthorizationInProgress(found))
    }
}

/// The scheme, host and port of a URI.
fn origin_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    let origin = u.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

// ---------------------------------------------------------------- discovery

#[get("/.well-known/openid-configuration")]
pub fn discovery(app: &State<App>) -> Result<RawJson<String>> {
    let p = provider(app)?;
    let i = &p.issuer;
    Ok(RawJson(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/oauth2/authorize"),
        "token_endpoint": format!("{i}/oauth2/token"),
        "userinfo_endpoint": format!("{i}/oauth2/userinfo"),
        "jwks_uri": format!("{i}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{i}/oauth2/logout"),
        "revocation_endpoint": format!("{i}/oauth2/revoke"),
        "introspection_endpoint": format!("{i}/oauth2/introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": p.algs(),
        "scopes_supported": oidc::SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "sid", "at_hash",
            "amr", "preferred_username", "name", "email", "email_verified", "groups"
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
    .to_string()))
}

// ---------------------------------------------------------------- authorization

/// The parameters of an authorization request (query or form body).
#[derive(Debug, Clone, Default, FromForm, serde::Serialize)]
pub struct AuthParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    /// Request objects (OpenID Connect Core §6) are not supported: refused, never ignored.
    #[serde(skip)]
    pub request: Option<String>,
    #[serde(skip)]
    pub request_uri: Option<String>,
}

impl AuthParams {
    /// The same request as a local GET path.
    fn path(&self, drop_login: bool) -> String {
        let mut q = Vec::new();
        let mut add = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                q.push(format!("{k}={}", crate::text::query_value(v)));
            }
        };
        add("client_id", &self.client_id);
        add("redirect_uri", &self.redirect_uri);
        add("response_type", &self.response_type);
        add("scope", &self.scope);
        add("state", &self.state);
        add("nonce", &self.nonce);
        add("code_challenge", &self.code_challenge);
        add("code_challenge_method", &self.code_challenge_method);
        let prompt = self.prompt.as_ref().map(|p| {
            p.split(' ')
                .filter(|v| !(drop_login && *v == "login"))
                .collect::<Vec<_>>()
                .join(" ")
        });
        add("prompt", &prompt.filter(|p| !p.is_empty()));
        add("max_age", &self.max_age);
        add("response_mode", &self.response_mode);
        format!("/oauth2/authorize?{}", q.join("&"))
    }
}

/// Where an authorization ends.
pub enum AuthAnswer {
    /// A 400 page: never a redirect to an unverified URI.
    Page(Error),
    /// 303 to the client (a code or an error) or to a page of ours.
    Redirect(String, Option<String>),
    /// `response_mode=form_post`: a page that posts these fields to the client.
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
        origin: String,
    },
    /// The consent page.
    Consent(Template, String),
    /// To sign in (or confirm it's you, or a duty), coming back afterwards.
    Away {
        to: String,
        back: String,
        origin: String,
    },
}

#[rocket::async_trait]
impl<'r> Responder<'r, 'static> for AuthAnswer {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            AuthAnswer::Page(e) => e.respond_to(req),
            AuthAnswer::Redirect(to, origin) => {
                let mut r = Redirect::to(to).respond_to(req)?;
                if let Some(o) = origin {
                    r.set_header(Header::new(FORM_ACTION_HEADER, o));
                }
                Ok(r)
            }
            AuthAnswer::FormPost {
                action,
                fields,
                origin,
            } => {
                let lang = Lang::of(req);
                let t = page(
                    "oidc/form_post",
                    &lang,
                    context! { action, fields, title_key: "title-oidc-continue" },
                );
                let mut r = t.respond_to(req)?;
                r.set_header(Header::new(FORM_ACTION_HEADER, origin));
                r.set_header(Header::new(SCRIPT_HEADER, "self"));
                Ok(r)
            }
            AuthAnswer::Consent(t, origin) => {
                let mut r = t.respond_to(req)?;
                r.set_header(Header::new(FORM_ACTION_HEADER, origin));
                Ok(r)
            }
            AuthAnswer::Away { to, back, origin } => {
                if let Some(app) = req.rocket().state::<App>() {
                    set_return(req.cookies(), app, &back, &origin);
                }
                Redirect::to(to).respond_to(req)
            }
        }
    }
}

fn bad(key: &'static str) -> AuthAnswer {
    AuthAnswer::Page(Error::BadRequest(Message::new(key)))
}

/// The error answer of RFC 6749 §4.1.2.1 (with RFC 9207's `iss`).
fn error_to(
    p: &Provider,
    params: &AuthParams,
    uri: &str,
    error: &str,
    description: &str,
) -> AuthAnswer {
    let mut fields = vec![
        ("error".to_string(), error.to_string()),
        ("error_description".to_string(), description.to_string()),
    ];
    if let Some(s) = &params.state {
        fields.push(("state".into(), s.clone()));
    }
    fields.push(("iss".into(), p.issuer.clone()));
    answer_to(params, uri, fields)
}

fn answer_to(params: &AuthParams, uri: &str, fields: Vec<(String, String)>) -> AuthAnswer {
    let origin = origin_of(uri).unwrap_or_default();
    if params.response_mode.as_deref() == Some("form_post") {
        return AuthAnswer::FormPost {
            action: uri.to_string(),
            fields,
            origin,
        };
    }
    let query: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::text::query_value(v)))
        .collect();
    let sep = if uri.contains('?') { '&' } else { '?' };
    AuthAnswer::Redirect(format!("{uri}{sep}{}", query.join("&")), Some(origin))
}

/// The consent form's answer, or none yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    None,
    Allow,
    Deny,
}

/// Every rule of an authorization request, in order; `decision` is the consent form's.
async fn authorize_core(
    app: &App,
    params: AuthParams,
    user: Option<AuthenticatedUser>,
    decision: Decision,
    client_info: &ClientInfo,
    lang: &Lang,
) -> Result<AuthAnswer> {
    let p = provider(app)?.clone();
    let client_id = params.client_id.clone().unwrap_or_default();
    let client = app.oidc_client(client_id.clone()).await?;
    let Some(client) = client else {
        return Ok(bad("oidc-unknown-client"));
    };
    let Some(uri) = params
        .redirect_uri
        .clone()
        .filter(|u| client.redirect_allowed(u))
    else {
        return Ok(bad("oidc-bad-redirect"));
    };
    let fail = |error: &str, description: &str| Ok(error_to(&p, &params, &uri, error, description));
    if let Some(mode) = params.response_mode.as_deref() {
        if mode != "query" && mode != "form_post" {
            return fail(
                "invalid_request",
                "response_mode must be query or form_post",
            );
        }
    }
    if params.request.is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    if params.request_uri.is_some() {
        return fail(
            "request_uri_not_supported",
            "request objects are not supported",
        );
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return fail("invalid_request", "response_type is missing"),
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            )
        }
    }
    let scopes = oidc::known_scopes(params.scope.as_deref().unwrap_or_default());
    if !scopes.contains(&"openid") {
        return fail("invalid_scope", "the scope must contain openid");
    }
    let scope = scopes.join(" ");
    match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (Some(ch), Some("S256")) => {
            if !crate::random::is_token::<32>(ch) {
                return fail("invalid_request", "code_challenge is not an S256 challenge");
            }
        }
        (Some(_), _) => return fail("invalid_request", "code_challenge_method must be S256"),
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            )
        }
        (None, None) if client.require_pkce => {
            return fail(
                "invalid_request",
                "this client must send a PKCE code_challenge (S256)",
            )
        }
        (None, None) => {}
    }
    let prompts: Vec<&str> = params
        .prompt
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if prompts
        .iter()
        .any(|p| !["none", "login", "consent", "select_account"].contains(p))
    {
        return fail("invalid_request", "unknown prompt value");
    }
    let none = prompts.contains(&"none");
    if none && prompts.len() > 1 {
        return fail("invalid_request", "prompt=none goes alone");
    }
    let max_age = match params.max_age.as_deref() {
        None | Some("") => None,
        Some(m) => match m.parse::<i64>() {
            Ok(m) if m >= 0 => Some(m),
            _ => return fail("invalid_request", "max_age must be a number of seconds"),
        },
    };
    if params.nonce.as_ref().is_some_and(|n| n.len() > 512)
        || params.state.as_ref().is_some_and(|s| s.len() > 2048)
    {
        return fail("invalid_request", "state or nonce is too long");
    }
    let origin = origin_of(&uri).unwrap_or_default();
    let here = params.path(false);
    let Some(user) = user else {
        if none {
            return fail("login_required", "not signed in");
        }
        return Ok(AuthAnswer::Away {
            to: format!("/login?next={}", crate::text::query_value(&here)),
            back: here,
            origin,
        });
    };
    if user.duty() != Duty::None {
        if none {
            return fail(
                "interaction_required",
                "the account has something to do first",
            );
        }
        return Ok(AuthAnswer::Away {
            to: user.duty().page().to_string(),
            back: here,
            origin,
        });
    }
    let now = app.now();
    let facts = app.oidc_session_facts(user.sid.clone()).await?;
    let Some(facts) = facts else {
        if none {
            return fail("login_required", "the session has ended");
        }
        return Ok(AuthAnswer::Away {
            to: format!("/login?next={}", crate::text::query_value(&here)),
            back: here,
            origin,
        });
    };
    let stale =
        max_age.is_some_and(|m| now - facts.auth_time > m + crate::sessions::tokens::LEEWAY as i64);
    if prompts.contains(&"login") || stale {
        if none {
            return fail("login_required", "a fresh sign-in is needed");
        }
        let back = params.path(true);
        return Ok(AuthAnswer::Away {
            to: format!("/reauth?next={}", crate::text::query_value(&back)),
            back,
            origin,
        });
    }
    if !client.admits(&facts.groups) {
        return fail("access_denied", "the account may not use this application");
    }
    let consent_needed = prompts.contains(&"consent")
        || (!client.trusted
            && !app
                .oidc_consented(facts.account.id, client.client_id.clone(), scope.clone())
                .await?);
    match decision {
        Decision::Deny => return fail("access_denied", "the person did not allow it"),
        Decision::None if consent_needed => {
            if none {
                return fail("consent_required", "consent is needed");
            }
            let csrf_token = app.csrf().for_session(&user.sid);
            let host = url::Url::parse(&uri)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            let t = page(
                "oidc/consent",
                lang,
                context! {
                    user: &user,
                    client_name: &client.name,
                    host,
                    scopes: &scopes,
                    params: &params,
                    csrf_token,
                    title_key: "title-oidc-consent"
                },
            );
            return Ok(AuthAnswer::Consent(t, origin));
        }
        _ => {}
    }
    let code = app
        .oidc_issue_code(CodeRequest {
            client_id: client.client_id.clone(),
            account_id: facts.account.id,
            session_id: user.sid.clone(),
            redirect_uri: uri.clone(),
            scope,
            nonce: params.nonce.clone(),
            code_challenge: params.code_challenge.clone(),
            auth_time: facts.auth_time,
            amr: facts.amr.join(" "),
            consent: decision == Decision::Allow,
            ip: client_info.ip.clone(),
        })
        .await?;
    let Some(code) = code else {
        return fail("login_required", "the session has ended");
    };
    let mut fields = vec![("code".to_string(), code)];
    if let Some(s) = &params.state {
        fields.push(("state".into(), s.clone()));
    }
    fields.push(("iss".into(), p.issuer.clone()));
    Ok(answer_to(&params, &uri, fields))
}

/// Who is signed in, for the authorization endpoint: any session (a duty is handled
/// there, not by the catcher).
fn signed_in(user: Option<AnySession>) -> Option<AuthenticatedUser> {
    user.map(|s| s.0)
}

#[get("/oauth2/authorize?<params..>")]
pub async fn authorize(
    params: AuthParams,
    user: Option<AnySession>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<AuthAnswer> {
    let answer =
        authorize_core(app, params, signed_in(user), Decision::None, &client, &lang).await?;
    if matches!(
        answer,
        AuthAnswer::Redirect(..) | AuthAnswer::FormPost { .. }
    ) {
        clear_return(jar, app);
    }
    Ok(answer)
}

#[post("/oauth2/authorize", data = "<params>")]
pub async fn authorize_post(
    params: Form<AuthParams>,
    user: Option<AnySession>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<AuthAnswer> {
    authorize(params.into_inner(), user, client, app, jar, lang).await
}

#[derive(FromForm)]
pub struct ConsentForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    decision: String,
    params: AuthParams,
}

impl CsrfProtected for ConsentForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/oauth2/consent", data = "<form>")]
pub async fn consent(
    form: Csrf<ConsentForm>,
    user: AuthenticatedUser,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<AuthAnswer> {
    let form = form.into_inner();
    let decision = match form.decision.as_str() {
        "allow" => Decision::Allow,
        "deny" => Decision::Deny,
        _ => return Err(Error::BadRequest(Message::new("oidc-bad-decision"))),
    };
    let answer = authorize_core(app, form.params, Some(user), decision, &client, &lang).await?;
    clear_return(jar, app);
    Ok(answer)
}

// ---------------------------------------------------------------- token endpoint

/// An RFC 6749 §5.2 error (JSON), 401 with `WWW-Authenticate` for a bad client.
pub struct OAuthError {
    status: Status,
    error: &'static str,
    description: String,
    retry_after: Option<u64>,
}

fn oauth_error(status: Status, error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError {
        status,
        error,
        description: description.into(),
        retry_after: None,
    }
}

/// The endpoints that programs call, which answer RFC 6749 errors in JSON (the others,
/// `authorize`, `consent` and `logout`, are pages a browser is sent to).
pub fn is_json_endpoint(path: &str) -> bool {
    matches!(
        path,
        "/oauth2/token" | "/oauth2/userinfo" | "/oauth2/revoke" | "/oauth2/introspect"
    )
}

/// What Rocket itself refused at a JSON endpoint (a form over the limit: 413, an unknown
/// method: 404, a body that is not a form: 415), as an RFC 6749 error, not a page.
pub fn refused_before_the_route(status: Status) -> OAuthError {
    let error = match status.code {
        500.. => "server_error",
        _ => "invalid_request",
    };
    oauth_error(status, error, status.reason_lossy())
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound => oauth_error(Status::NotFound, "invalid_request", "not found"),
            Error::TooManyRequests { retry_after } => OAuthError {
                retry_after: Some(retry_after),
                ..oauth_error(
                    Status::TooManyRequests,
                    "slow_down",
                    "too many failed client authentications; wait",
                )
            },
            e => oauth_error(e.status(), "server_error", "try again later"),
        }
    }
}

impl From<crate::error::Error> for OAuthError {
    fn from(e: crate::error::Error) -> Self {
        Error::from(e).into()
    }
}

impl<'r> Responder<'r, 'static> for OAuthError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body =
            json!({ "error": self.error, "error_description": self.description }).to_string();
        let mut r = Response::build_from(body.respond_to(req)?)
            .status(self.status)
            .header(ContentType::JSON)
            .header(Header::new("Cache-Control", "no-store"))
            .finalize();
        if let Some(wait) = self.retry_after {
            r.set_header(Header::new("Retry-After", wait.to_string()));
        }
        if self.status == Status::Unauthorized {
            r.set_header(Header::new(
                "WWW-Authenticate",
                if self.error == "invalid_token" {
                    "Bearer error=\"invalid_token\"".to_string()
                } else {
                    "Basic realm=\"gatehouse\"".to_string()
                },
            ));
        }
        Ok(r)
    }
}

/// JSON with `Cache-Control: no-store`.
pub struct NoStore(Value);

impl<'r> Responder<'r, 'static> for NoStore {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        Response::build_from(RawJson(self.0.to_string()).respond_to(req)?)
            .header(Header::new("Cache-Control", "no-store"))
            .header(Header::new("Pragma", "no-cache"))
            .ok()
    }
}

/// The `Authorization` header's credentials: Basic (client id and secret, each
/// form-urlencoded as RFC 6749 §2.3.1 says) or Bearer.
pub struct Credentials {
    basic: Option<(String, String)>,
    bearer: Option<String>,
    malformed: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Credentials {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let mut c = Credentials {
            basic: None,
            bearer: None,
            malformed: false,
        };
        let mut values = req.headers().get("Authorization");
        if let Some(h) = values.next() {
            let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
            if scheme.eq_ignore_ascii_case("basic") {
                let decoded =
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, rest.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                let form = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', " "))
                        .decode_utf8()
                        .map(|s| s.into_owned())
                        .ok()
                };
                match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    Some((id, secret)) => match (form(id), form(secret)) {
                        (Some(id), Some(secret)) => c.basic = Some((id, secret)),
                        _ => c.malformed = true,
                    },
                    None => c.malformed = true,
                }
            } else if scheme.eq_ignore_ascii_case("bearer") {
                c.bearer = Some(rest.trim().to_string());
            } else {
                c.malformed = true;
            }
        }
        if values.next().is_some() {
            c.malformed = true;
        }
        request::Outcome::Success(c)
    }
}

/// The client authentication fields of a form.
#[derive(Debug, Default, FromForm)]
pub struct ClientFields {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// How the client authenticated.
enum Authenticated {
    Confidential(Client),
    Public(Client),
}

impl Authenticated {
    fn client(&self) -> &Client {
        match self {
            Authenticated::Confidential(c) | Authenticated::Public(c) => c,
        }
    }
}

fn invalid_client(description: &str) -> OAuthError {
    oauth_error(Status::Unauthorized, "invalid_client", description)
}

/// Client authentication (`client_secret_basic`, `client_secret_post`, or `none` for a
/// public client), throttled: failures are counted per client (in the database, across
/// instances) and per address.
async fn authenticate(
    app: &App,
    creds: &Credentials,
    fields: &ClientFields,
    ip: &str,
) -> std::result::Result<Authenticated, OAuthError> {
    if creds.malformed {
        return Err(invalid_client(
            "the Authorization header is not Basic credentials",
        ));
    }
    let (id, secret) = match (&creds.basic, &fields.client_secret) {
        (Some(_), Some(_)) => {
            return Err(oauth_error(
                Status::BadRequest,
                "invalid_request",
                "one client authentication method at a time",
            ))
        }
        (Some((id, secret)), None) => {
            if fields.client_id.as_ref().is_some_and(|f| f != id) {
                return Err(invalid_client("client_id differs from the credentials"));
            }
            (id.clone(), Some(secret.clone()))
        }
        (None, secret) => match &fields.client_id {
            Some(id) => (id.clone(), secret.clone()),
            None => return Err(invalid_client("no client authentication")),
        },
    };
    let creds = ClientCredentials {
        client_id: id,
        secret,
        ip: ip.to_string(),
    };
    match app.oidc_authenticate_client(creds).await? {
        ClientAuth::Confidential(c) => Ok(Authenticated::Confidential(c)),
        ClientAuth::Public(c) => Ok(Authenticated::Public(c)),
        ClientAuth::Wait(retry_after) => Err(Error::TooManyRequests { retry_after }.into()),
        ClientAuth::Failed => Err(invalid_client("client authentication failed")),
    }
}

#[derive(FromForm)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    #[field(name = "client_id")]
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The claims about the account that `scope` allows.
fn profile_of(granted: &Granted) -> Profile {
    let has = |s: &str| granted.scope.split(' ').any(|x| x == s);
    let a = &granted.account;
    let mut p = Profile::default();
    if has("profile") {
        p.preferred_username = Some(a.username.clone());
        p.name = Some(a.username.clone());
    }
    if has("email") {
        if let Some(e) = &a.email {
            p.email = Some(e.clone());
            p.email_verified = Some(a.email_verified_at.is_some());
        }
    }
    if has("groups") {
        p.groups = Some(granted.groups.clone());
    }
    p
}

/// The token response for a grant.
fn token_response(now: i64, p: &Provider, client: &Client, g: &Granted) -> Result<Value> {
    let profile = profile_of(g);
    let access = AccessClaims {
        iss: p.issuer.clone(),
        sub: g.account.id.to_string(),
        aud: client.client_id.clone(),
        client_id: client.client_id.clone(),
        scope: g.scope.clone(),
        sid: g.session_id.clone(),
        iat: now,
        exp: now + p.access_ttl,
        jti: crate::random::token::<16>()?,
        gid: g.grant_id.clone(),
        profile: profile.clone(),
    };
    let access_token = p.sign(client.alg, "at+jwt", &access)?;
    let id = IdClaims {
        iss: &p.issuer,
        sub: g.account.id.to_string(),
        aud: &client.client_id,
        azp: &client.client_id,
        exp: now + p.access_ttl,
        iat: now,
        auth_time: g.auth_time,
        nonce: g.nonce.as_deref(),
        sid: &g.session_id,
        at_hash: at_hash(client.alg, &access_token),
        amr: g.amr.clone(),
        profile: &profile,
    };
    let id_token = p.sign(client.alg, "JWT", &id)?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": p.access_ttl,
        "scope": g.scope,
        "id_token": id_token,
    });
    if let Some(r) = &g.refresh {
        body["refresh_token"] = Value::String(r.clone());
    }
    Ok(body)
}

#[post("/oauth2/token", data = "<form>")]
pub async fn token(
    form: Form<TokenForm>,
    creds: Credentials,
    client_info: ClientInfo,
    app: &State<App>,
) -> std::result::Result<NoStore, OAuthError> {
    let p = provider(app)?.clone();
    let form = form.into_inner();
    let fields = ClientFields {
        client_id: form.client_id.clone(),
        client_secret: form.client_secret.clone(),
    };
    let authed = authenticate(app, &creds, &fields, &client_info.ip).await?;
    let client = authed.client().clone();
    let ip = client_info.ip.clone();
    let redeemed = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri)) = (form.code, form.redirect_uri) else {
                return Err(oauth_error(
                    Status::BadRequest,
                    "invalid_request",
                    "code and redirect_uri are needed",
                ));
            };
            if matches!(authed, Authenticated::Public(_)) && form.code_verifier.is_none() {
                return Err(oauth_error(
                    Status::BadRequest,
                    "invalid_request",
                    "a public client must send code_verifier",
                ));
            }
            app.oidc_redeem_code(CodeRedemption {
                client_id: client.client_id.clone(),
                code,
                redirect_uri,
                code_verifier: form.code_verifier,
                ip,
            })
            .await?
        }
        Some("refresh_token") => {
            let Some(token) = form.refresh_token else {
                return Err(oauth_error(
                    Status::BadRequest,
                    "invalid_request",
                    "refresh_token is needed",
                ));
            };
            app.oidc_refresh(client.client_id.clone(), token, ip)
                .await?
        }
        Some(_) => {
            return Err(oauth_error(
                Status::BadRequest,
                "unsupported_grant_type",
                "authorization_code or refresh_token",
            ))
        }
        None => {
            return Err(oauth_error(
                Status::BadRequest,
                "invalid_request",
                "grant_type is missing",
            ))
        }
    };
    match redeemed {
        // Two signatures (RSA: a millisecond or two each) off the async workers, so that
        // pages keep being served meanwhile.
        Redeemed::Granted(g) => {
            let now = app.now();
            let body =
                rocket::tokio::task::spawn_blocking(move || token_response(now, &p, &client, &g))
                    .await
                    .map_err(|e| Error::Internal(crate::error::Error::Internal(e.to_string())))??;
            Ok(NoStore(body))
        }
        Redeemed::Invalid(why) => Err(oauth_error(Status::BadRequest, "invalid_grant", why)),
    }
}

// ---------------------------------------------------------------- userinfo

/// A valid access token's claims, checked against the in-memory revocation view (no
/// database query).
fn live_access(app: &App, p: &Provider, token: &str) -> Option<Arc<AccessClaims>> {
    let claims = p.verify_access(token, app.now())?;
    let refused = app.oidc_access_refused(
        &claims.sid,
        [&oidc::grant_key(&claims.gid), &oidc::jti_key(&claims.jti)],
        claims.sub.parse().ok(),
        claims.profile.groups.as_deref(),
        claims.iat,
    );
    (!refused).then_some(claims)
}

#[derive(FromForm)]
pub struct BearerForm {
    access_token: Option<String>,
}

fn userinfo_of(
    app: &App,
    creds: &Credentials,
    form_token: Option<String>,
) -> std::result::Result<NoStore, OAuthError> {
    let p = provider(app)?;
    let token = match (&creds.bearer, form_token) {
        (Some(t), None) => t.clone(),
        (None, Some(t)) => t,
        _ => {
            return Err(oauth_error(
                Status::Unauthorized,
                "invalid_token",
                "a bearer token is needed",
            ))
        }
    };
    let Some(claims) = live_access(app, p, &token) else {
        return Err(oauth_error(
            Status::Unauthorized,
            "invalid_token",
            "the access token is not valid",
        ));
    };
    if !claims.scope.split(' ').any(|s| s == "openid") {
        return Err(oauth_error(
            Status::Forbidden,
            "insufficient_scope",
            "openid scope needed",
        ));
    }
    let mut body = serde_json::to_value(&claims.profile).unwrap_or_else(|_| json!({}));
    body["sub"] = Value::String(claims.sub.clone());
    Ok(NoStore(body))
}

#[get("/oauth2/userinfo")]
pub fn userinfo(creds: Credentials, app: &State<App>) -> std::result::Result<NoStore, OAuthError> {
    userinfo_of(app, &creds, None)
}

#[post("/oauth2/userinfo", data = "<form>")]
pub fn userinfo_post(
    creds: Credentials,
    form: Option<Form<BearerForm>>,
    app: &State<App>,
) -> std::result::Result<NoStore, OAuthError> {
    userinfo_of(app, &creds, form.and_then(|f| f.into_inner().access_token))
}

// ---------------------------------------------------------------- revocation, introspection

#[derive(FromForm)]
pub struct TokenRefForm {
    token: Option<String>,
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[post("/oauth2/revoke", data = "<form>")]
pub async fn revoke(
    form: Form<TokenRefForm>,
    creds: Credentials,
    client_info: ClientInfo,
    app: &State<App>,
) -> std::result::Result<NoStore, OAuthError> {
    let p = provider(app)?.clone();
    let form = form.into_inner();
    let fields = ClientFields {
        client_id: form.client_id.clone(),
        client_secret: form.client_secret.clone(),
    };
    let client = authenticate(app, &creds, &fields, &client_info.ip)
        .await?
        .client()
        .clone();
    let Some(token) = form.token else {
        return Err(oauth_error(
            Status::BadRequest,
            "invalid_request",
            "token is missing",
        ));
    };
    let _ = form.token_type_hint;
    let now = app.now();
    if let Some(claims) = p.verify_access(&token, now) {
        if claims.client_id == client.client_id {
            app.oidc_revoke_access(claims.jti.clone()).await?;
        }
    } else {
        app.oidc_revoke_refresh(client.client_id.clone(), token)
            .await?;
    }
    Ok(NoStore(json!({})))
}

#[post("/oauth2/introspect", data = "<form>")]
pub async fn introspect(
    form: Form<TokenRefForm>,
    creds: Credentials,
    client_info: ClientInfo,
    app: &State<App>,
) -> std::result::Result<NoStore, OAuthError> {
    let p = provider(app)?.clone();
    let form = form.into_inner();
    let fields = ClientFields {
        client_id: form.client_id.clone(),
        client_secret: form.client_secret.clone(),
    };
    let authed = authenticate(app, &creds, &fields, &client_info.ip).await?;
    let Authenticated::Confidential(client) = authed else {
        return Err(invalid_client("introspection is for confidential clients"));
    };
    let Some(token) = form.token else {
        return Err(oauth_error(
            Status::BadRequest,
            "invalid_request",
            "token is missing",
        ));
    };
    match live_access(app, &p, &token).filter(|c| c.client_id == client.client_id) {
        Some(c) => {
            let mut body = json!({
                "active": true,
                "scope": c.scope,
                "client_id": c.client_id,
                "token_type": "Bearer",
                "exp": c.exp,
                "iat": c.iat,
                "sub": c.sub,
                "aud": c.aud,
                "iss": c.iss,
                "jti": c.jti,
                "sid": c.sid,
            });
            if let Some(u) = &c.profile.preferred_username {
                body["username"] = Value::String(u.clone());
            }
            Ok(NoStore(body))
        }
        // Not a live access token of the client's: perhaps its current refresh token (a
        // read; introspection never rotates or spends it).
        None => match app
            .oidc_refresh_active(client.client_id.clone(), token)
            .await?
        {
            Some(r) => Ok(NoStore(json!({
                "active": true,
                "scope": r.scope,
                "client_id": client.client_id,
                "token_type": "refresh_token",
                "exp": r.expires_at,
                "sub": r.account_id.to_string(),
                "iss": p.issuer,
                "sid": r.session_id,
                "username": r.username,
            }))),
            None => Ok(NoStore(json!({ "active": false }))),
        },
    }
}

// ---------------------------------------------------------------- logout

#[derive(Debug, Default, FromForm, serde::Serialize)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    /// Set by the confirmation page's form (the session's form token): the person
    /// confirmed.
    #[serde(skip)]
    csrf_token: Option<String>,
}

/// Where to go after signing out: the client's registered post-logout URI (with
/// `state`), else the signed-out page.
async fn after_logout(app: &App, p: &Provider, params: &LogoutParams) -> Result<String> {
    let signed_out = "/login?notice=signed_out".to_string();
    let Some(uri) = &params.post_logout_redirect_uri else {
        return Ok(signed_out);
    };
    let client_id = params
        .id_token_hint
        .as_deref()
        .and_then(|h| p.verify_hint(h))
        .and_then(|h| h.client_id())
        .or_else(|| params.client_id.clone());
    let Some(client_id) = client_id else {
        return Ok(signed_out);
    };
    let client = app.oidc_client(client_id).await?;
    match client {
        Some(c) if c.post_logout_allowed(uri) => {
            let mut to = uri.clone();
            if let Some(s) = &params.state {
                let sep = if to.contains('?') { '&' } else { '?' };
                to.push_str(&format!("{sep}state={}", crate::text::query_value(s)));
            }
            Ok(to)
        }
        _ => Ok(signed_out),
    }
}

async fn end_session(
    app: &App,
    user: &AuthenticatedUser,
    client: &ClientInfo,
    jar: &CookieJar<'_>,
) -> Result<()> {
    app.sign_out(user.owner(client)).await?;
    session::clear_cookies(jar, app);
    Ok(())
}

async fn logout_request(
    params: LogoutParams,
    user: Option<AnySession>,
    client: ClientInfo,
    app: &App,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<rocket::Either<Redirect, Template>> {
    let p = provider(app)?.clone();
    let Some(AnySession(user)) = user else {
        return Ok(rocket::Either::Left(Redirect::to(
            after_logout(app, &p, &params).await?,
        )));
    };
    let hint_matches = params
        .id_token_hint
        .as_deref()
        .and_then(|h| p.verify_hint(h))
        .is_some_and(|h| {
            h.sid.as_deref() == Some(user.sid.as_str()) && h.sub == user.id.to_string()
        });
    // The confirmation page's answer carries the session's own form token (never
    // known to another site).
    let confirmed = params
        .csrf_token
        .as_deref()
        .is_some_and(|t| app.csrf().verify_session(&user.sid, t));
    if hint_matches || confirmed {
        end_session(app, &user, &client, jar).await?;
        return Ok(rocket::Either::Left(Redirect::to(
            after_logout(app, &p, &params).await?,
        )));
    }
    let csrf_token = app.csrf().for_session(&user.sid);
    Ok(rocket::Either::Right(page(
        "oidc/logout",
        &lang,
        context! { user: &user, params: &params, csrf_token, title_key: "title-sign-out" },
    )))
}

#[get("/oauth2/logout?<params..>")]
pub async fn logout(
    params: LogoutParams,
    user: Option<AnySession>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<rocket::Either<Redirect, Template>> {
    // Only the confirmation form's POST confirms.
    let params = LogoutParams {
        csrf_token: None,
        ..params
    };
    logout_request(params, user, client, app, jar, lang).await
}

#[allow(clippy::too_many_arguments)]
#[post("/oauth2/logout", data = "<form>", rank = 2)]
pub async fn logout_post(
    form: Form<LogoutParams>,
    from_this_site: FromThisSite,
    user: Option<AnySession>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<rocket::Either<Redirect, Template>> {
    let params = form.into_inner();
    // A relying party may post its logout request from its own site (with a hint); the
    // confirmation form is ours, and its answer is held to the same origin checks as
    // every other form of ours (`Csrf`): from another site it is refused.
    if params.csrf_token.is_some() && !from_this_site.0 {
        return Err(Error::Forbidden(Message::new("error-message-403")));
    }
    logout_request(params, user, client, app, jar, lang).await
}

// ---------------------------------------------------------------- apps you allowed

#[get("/account/apps")]
pub async fn apps(user: AuthenticatedUser, app: &State<App>, lang: Lang) -> Result<Template> {
    provider(app)?;
    let apps = app.oidc_apps(user.id).await?;
    let csrf_token = app.csrf().for_session(&user.sid);
    Ok(page(
        "oidc/apps",
        &lang,
        context! { user: &user, apps, csrf_token, title_key: "title-oidc-apps" },
    ))
}

#[post("/account/apps/<client_id>/revoke", data = "<_form>")]
pub async fn revoke_app(
    client_id: &str,
    user: AuthenticatedUser,
    _form: Csrf<crate::web::auth::TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    provider(app)?;
    app.oidc_revoke_app(user.owner(&client), client_id.to_string())
        .await?;
    Ok(Redirect::to("/account/apps"))
}

/// Parses `--alg` and the admin form's algorithm.
pub fn parse_alg(s: &str) -> Option<Alg> {
    Alg::parse(s).filter(|a| crate::oidc::tokens::CLIENT_ALGS.contains(a))
}
