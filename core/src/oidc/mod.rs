//! The OpenID Connect provider's state (SPEC §11): clients, remembered consent,
//! authorization codes and grants (what one redeemed code gave a client: its access
//! tokens, its one live refresh token). Like everything in the domain, each change takes
//! plain values, owns its transaction and audit row, and returns an `Effect`.
//!
//! Secrets, codes and refresh tokens are hashed as session refresh tokens are
//! (`random::hash_token`, SHA-256: each has at least 256 random bits). A refresh token
//! starts with its grant's family handle, like a session's: the grant row keeps the
//! handle's hash and the hash of the one current token, so a family holds one row however
//! often it rotates, and any older token of the family coming back is known as reuse.
//!
//! Access tokens carry their grant's id (`gid`), their session (`sid`) and their `jti`;
//! the in-memory revocation view refuses any of them once ended (`Effect::revoked`, fed
//! to the other instances by the change feed), so userinfo and introspection need no
//! database query.

pub mod tokens;

use diesel::prelude::*;

use crate::accounts::{self, Account, Owner};
use crate::audit::{self, Event};
use crate::db::schema::{oidc_clients, oidc_codes, oidc_consents, oidc_grants, sessions};
use crate::db::{write_tx, DbConn};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::random::hash_token;
use crate::sessions::keys::Alg;

/// Seconds a code is good for.
pub const CODE_TTL: i64 = 60;
/// The scopes Gatehouse knows; others are dropped from a request.
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];
/// Bytes of a refresh token's family handle, and of its own secret.
const HANDLE: usize = 16;
const SECRET: usize = 32;
/// Grants one session keeps per client; older ones are revoked and deleted.
pub const GRANTS_PER_SESSION: i64 = 5;
/// A refresh token lives this long without use (a use renews it); never beyond its
/// session.
pub const REFRESH_TTL: i64 = 30 * 86_400;

/// The revocation-view key of a grant and of one access token.
pub fn grant_key(gid: &str) -> String {
    format!("g:{gid}")
}
pub fn jti_key(jti: &str) -> String {
    format!("j:{jti}")
}

/// A registered client.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Client {
    pub id: i64,
    pub client_id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub allowed_groups: Vec<String>,
    pub trusted: bool,
    pub require_pkce: bool,
    #[serde(serialize_with = "alg_name")]
    pub alg: Alg,
    pub created_at: i64,
    pub public: bool,
}

fn alg_name<S: serde::Serializer>(alg: &Alg, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(alg.as_str())
}

type ClientRow = (
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    bool,
    bool,
    String,
    i64,
);

macro_rules! client_columns {
    () => {
        (
            oidc_clients::id,
            oidc_clients::client_id,
            oidc_clients::name,
            oidc_clients::secret_hash,
            oidc_clients::redirect_uris,
            oidc_clients::post_logout_redirect_uris,
            oidc_clients::backchannel_logout_uri,
            oidc_clients::allowed_groups,
            oidc_clients::trusted,
            oidc_clients::require_pkce,
            oidc_clients::id_token_alg,
            oidc_clients::created_at,
        )
    };
}

fn list_of(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn json_of(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl Client {
    fn from_row(r: ClientRow) -> Client {
        let public = r.3.is_none();
        Client {
            id: r.0,
            client_id: r.1,
            name: r.2,
            public,
            secret_hash: r.3,
            redirect_uris: list_of(&r.4),
            post_logout_redirect_uris: list_of(&r.5),
            backchannel_logout_uri: r.6,
            allowed_groups: list_of(&r.7),
            trusted: r.8,
            require_pkce: r.9 || public,
            alg: Alg::parse(&r.10).unwrap_or(Alg::RS256),
            created_at: r.11,
        }
    }

    /// Whether `secret` is this confidential client's secret (hashes compared in
    /// constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        let Some(stored) = &self.secret_hash else {
            return false;
        };
        let given = hash_token(secret);
        given.len() == stored.len()
            && given
                .bytes()
                .zip(stored.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Whether `uri` is one of the registered redirect URIs: the exact string, or for a
    /// loopback `http` URI, the same with any port (RFC 8252 §7.3).
    pub fn redirect_allowed(&self, uri: &str) -> bool {
        uri_registered(&self.redirect_uris, uri)
    }

    pub fn post_logout_allowed(&self, uri: &str) -> bool {
        uri_registered(&self.post_logout_redirect_uris, uri)
    }

    /// Whether the account (a member of `groups`) may sign in to this client.
    pub fn admits(&self, groups: &[String]) -> bool {
        self.allowed_groups.is_empty()
            || self
                .allowed_groups
                .iter()
                .any(|g| groups.iter().any(|m| m.eq_ignore_ascii_case(g)))
    }
}

fn uri_registered(registered: &[String], uri: &str) -> bool {
    if registered.iter().any(|r| r == uri) {
        return true;
    }
    let Some(given) = loopback_without_port(uri) else {
        return false;
    };
    registered
        .iter()
        .filter_map(|r| loopback_without_port(r))
        .any(|r| r == given)
}

/// An `http` URI to a loopback address (`127.0.0.1`, `[::1]`), with its port taken out.
fn loopback_without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let (host_port, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        if !(after.is_empty() || port_ok(after.strip_prefix(':')?)) {
            return None;
        }
        h.parse::<std::net::Ipv6Addr>()
            .ok()?
            .is_loopback()
            .then(|| "[::1]".to_string())?
    } else {
        let h = match host_port.split_once(':') {
            Some((h, port)) if port_ok(port) => h,
            Some(_) => return None,
            None => host_port,
        };
        h.parse::<std::net::Ipv4Addr>()
            .ok()?
            .is_loopback()
            .then(|| h.to_string())?
    };
    Some(format!("http://{host}{path}"))
}

/// A port written after a colon: 1 to 65535 in plain digits, written plainly (not empty,
/// no sign, no leading zero, so not `0` either: `:080` would be matched here and then
/// written as `:80`, and `:065535` is refused by the redirect's own URI parser).
fn port_ok(port: &str) -> bool {
    !port.starts_with('0')
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

/// Whether `uri` may be registered as a redirect or logout URI: an absolute `https` URI
/// without a fragment, or `http` to a loopback address.
pub fn valid_client_uri(uri: &str) -> bool {
    let Ok(parsed) = url::Url::parse(uri) else {
        return false;
    };
    if parsed.fragment().is_some() || uri.len() > 2000 || parsed.host_str().is_none() {
        return false;
    }
    match parsed.scheme() {
        "https" => true,
        "http" => loopback_without_port(uri).is_some(),
        _ => false,
    }
}

/// What an administrator (or `gatehouse create-client`) registers.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub allowed_groups: Vec<String>,
    pub public: bool,
    pub trusted: bool,
    pub require_pkce: bool,
    pub alg: Option<Alg>,
}

impl ClientSpec {
    /// The spec checked against the keys on offer and the groups that exist; the error
    /// says what to fix.
    pub fn check(
        &self,
        conn: &mut DbConn,
        has_key: &dyn Fn(Alg) -> bool,
    ) -> std::result::Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err("the name must be 1–100 characters".into());
        }
        if self.redirect_uris.is_empty() {
            return Err("at least one redirect URI is needed".into());
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            if !valid_client_uri(uri) {
                return Err(format!(
                    "{uri:?} is not an https URI (or http to a loopback address) without a fragment"
                ));
            }
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            if !valid_client_uri(uri) {
                return Err(format!(
                    "the back-channel logout URI {uri:?} must be https (or http to a loopback address)"
                ));
            }
        }
        let alg = self.alg.unwrap_or(Alg::RS256);
        if !tokens::CLIENT_ALGS.contains(&alg) {
            return Err("the ID-token algorithm must be RS256, ES256 or EdDSA".into());
        }
        if !has_key(alg) {
            return Err(format!(
                "no {0} key is configured: add a `jwt_keys` entry {{ kid = \"…\", alg = \"{0}\", private_key_file = \"…\" }} (make one with: gatehouse generate-key --alg {0})",
                alg.as_str()
            ));
        }
        let existing: Vec<String> = crate::groups::list(conn)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(g, _)| g.name.to_lowercase())
            .collect();
        for g in &self.allowed_groups {
            if !existing.contains(&g.to_lowercase()) {
                return Err(format!("there is no group named {g:?}"));
            }
        }
        Ok(())
    }
}

/// Who registers or changes a client: an administrator, or the command line (`None`).
pub struct Actor<'a> {
    pub owner: Option<&'a Owner>,
    pub ip: &'a str,
}

impl<'a> Actor<'a> {
    /// An administrator, from their own address.
    pub fn admin(owner: &'a Owner) -> Actor<'a> {
        Actor {
            owner: Some(owner),
            ip: &owner.ip,
        }
    }
}

fn actor_event<'a>(kind: crate::audit::Kind, actor: &'a Actor<'_>, now: i64) -> Event<'a> {
    let e = Event::new(kind, actor.ip, now);
    match actor.owner {
        Some(o) => e.actor(o.account_id),
        None => e,
    }
}

/// Registers a client; returns it with its secret (confidential clients), shown once.
pub fn create_client(
    conn: &mut DbConn,
    spec: &ClientSpec,
    actor: &Actor<'_>,
    now: i64,
) -> Result<((Client, Option<String>), Effect)> {
    let client_id = crate::random::token::<16>()?;
    let secret = if spec.public {
        None
    } else {
        Some(crate::random::token::<32>()?)
    };
    write_tx(conn, |c| {
        diesel::insert_into(oidc_clients::table)
            .values((
                oidc_clients::client_id.eq(&client_id),
                oidc_clients::name.eq(spec.name.trim()),
                oidc_clients::secret_hash.eq(secret.as_deref().map(hash_token)),
                oidc_clients::redirect_uris.eq(json_of(&spec.redirect_uris)),
                oidc_clients::post_logout_redirect_uris
                    .eq(json_of(&spec.post_logout_redirect_uris)),
                oidc_clients::backchannel_logout_uri.eq(&spec.backchannel_logout_uri),
                oidc_clients::allowed_groups.eq(json_of(&spec.allowed_groups)),
                oidc_clients::trusted.eq(spec.trusted),
                oidc_clients::require_pkce.eq(spec.require_pkce || spec.public),
                oidc_clients::id_token_alg.eq(spec.alg.unwrap_or(Alg::RS256).as_str()),
                oidc_clients::created_at.eq(now),
                oidc_clients::updated_at.eq(now),
            ))
            .execute(c)?;
        audit::record(
            c,
            &actor_event(crate::audit::Kind::OidcClientCreated, actor, now).detail(format!(
                "client {client_id} ({}), {}",
                spec.name.trim(),
                if spec.public {
                    "public"
                } else {
                    "confidential"
                }
            )),
        )?;
        let client = find_client(c, &client_id)?.ok_or(Error::NotFound)?;
        Ok(((client, secret.clone()), Effect::none()))
    })
}

/// Changes a client's settings (not its id or secret).
pub fn update_client(
    conn: &mut DbConn,
    client_id: &str,
    spec: &ClientSpec,
    actor: &Actor<'_>,
    now: i64,
) -> Result<Effect> {
    write_tx(conn, |c| {
        let client = find_client(c, client_id)?.ok_or(Error::NotFound)?;
        diesel::update(oidc_clients::table.find(client.id))
            .set((
                oidc_clients::name.eq(spec.name.trim()),
                oidc_clients::redirect_uris.eq(json_of(&spec.redirect_uris)),
                oidc_clients::post_logout_redirect_uris
                    .eq(json_of(&spec.post_logout_redirect_uris)),
                oidc_clients::backchannel_logout_uri.eq(&spec.backchannel_logout_uri),
                oidc_clients::allowed_groups.eq(json_of(&spec.allowed_groups)),
                oidc_clients::trusted.eq(spec.trusted),
                oidc_clients::require_pkce.eq(spec.require_pkce || client.public),
                oidc_clients::id_token_alg.eq(spec.alg.unwrap_or(client.alg).as_str()),
                oidc_clients::updated_at.eq(now),
            ))
            .execute(c)?;
        audit::record(
            c,
            &actor_event(crate::audit::Kind::OidcClientUpdated, actor, now)
                .detail(format!("client {client_id}")),
        )?;
        Ok(Effect::none())
    })
}

/// A new secret for a confidential client; the old one stops working at once.
pub fn rotate_secret(
    conn: &mut DbConn,
    client_id: &str,
    actor: &Actor<'_>,
    now: i64,
) -> Result<(String, Effect)> {
    let secret = crate::random::token::<32>()?;
    write_tx(conn, |c| {
        let client = find_client(c, client_id)?.ok_or(Error::NotFound)?;
        if client.public {
            return Err(Error::Conflict("a public client has no secret"));
        }
        diesel::update(oidc_clients::table.find(client.id))
            .set((
                oidc_clients::secret_hash.eq(hash_token(&secret)),
                oidc_clients::updated_at.eq(now),
            ))
            .execute(c)?;
        audit::record(
            c,
            &actor_event(crate::audit::Kind::OidcClientSecretRotated, actor, now)
                .detail(format!("client {client_id}")),
        )?;
        Ok((secret.clone(), Effect::none()))
    })
}

/// Deletes a client, its consents and every token it holds.
pub fn delete_client(
    conn: &mut DbConn,
    client_id: &str,
    actor: &Actor<'_>,
    now: i64,
) -> Result<Effect> {
    write_tx(conn, |c| {
        let client = find_client(c, client_id)?.ok_or(Error::NotFound)?;
        let grants: Vec<String> = oidc_grants::table
            .filter(oidc_grants::client_id.eq(client_id))
            .filter(oidc_grants::revoked_at.is_null())
            .select(oidc_grants::id)
            .load(c)?;
        let effect = revoke_grants(c, &grants, now)?;
        diesel::delete(oidc_clients::table.find(client.id)).execute(c)?;
        audit::record(
            c,
            &actor_event(crate::audit::Kind::OidcClientDeleted, actor, now)
                .detail(format!("client {client_id} ({})", client.name)),
        )?;
        Ok(effect)
    })
}

pub fn find_client(conn: &mut DbConn, client_id: &str) -> Result<Option<Client>> {
    if client_id.is_empty() || client_id.len() > 64 {
        return Ok(None);
    }
    Ok(oidc_clients::table
        .filter(oidc_clients::client_id.eq(client_id))
        .select(client_columns!())
        .first::<ClientRow>(conn)
        .optional()?
        .map(Client::from_row))
}

pub fn list_clients(conn: &mut DbConn) -> Result<Vec<Client>> {
    Ok(oidc_clients::table
        .order(oidc_clients::name.asc())
        .select(client_columns!())
        .load::<ClientRow>(conn)?
        .into_iter()
        .map(Client::from_row)
        .collect())
}

/// The scopes of a request that Gatehouse knows, each once, in a fixed order.
pub fn known_scopes(requested: &str) -> Vec<&'static str> {
    SCOPES
        .iter()
        .copied()
        .filter(|s| requested.split(' ').any(|r| r == *s))
        .collect()
}

/// Whether the account allowed this client (at least) these scopes before.
pub fn consented(
    conn: &mut DbConn,
    account_id: i64,
    client_id: &str,
    scopes: &[&str],
) -> Result<bool> {
    let allowed: Option<String> = oidc_consents::table
        .find((account_id, client_id))
        .select(oidc_consents::scope)
        .first(conn)
        .optional()?;
    Ok(allowed.is_some_and(|a| scopes.iter().all(|s| a.split(' ').any(|x| x == *s))))
}

/// What a session is, for an authorization request: when it last proved who it is, how,
/// and whether it is still live. `None`: ended, expired or unknown.
pub struct SessionFacts {
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub account: Account,
    pub groups: Vec<String>,
    /// When the session ends at the latest (a refresh token never outlives it).
    pub expires_at: i64,
}

pub fn session_facts(conn: &mut DbConn, sid: &str, now: i64) -> Result<Option<SessionFacts>> {
    // The session and its account in one query (each statement is a round trip on
    // PostgreSQL, and this runs in every authorization, code redemption and refresh).
    let found: Option<(crate::sessions::store::Session, Account)> = sessions::table
        .inner_join(crate::db::schema::accounts::table)
        .filter(sessions::id.eq(sid))
        .select((
            crate::sessions::store::Session::as_select(),
            Account::as_select(),
        ))
        .first(conn)
        .optional()?;
    let Some((s, account)) = found else {
        return Ok(None);
    };
    if s.ended_at.is_some() || now >= s.expires_at {
        return Ok(None);
    }
    if account.disabled || account.version != s.account_version {
        return Ok(None);
    }
    // How this session was signed in, as recorded when it started ("pwd", "pwd otp",
    // "pwd hwk", "hwk user"): not guessed from what the account has enrolled since.
    let amr = s
        .amr
        .split(' ')
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    let groups = crate::groups::of_account(conn, account.id)?;
    Ok(Some(SessionFacts {
        auth_time: s.reauth_at,
        amr,
        account,
        groups,
        expires_at: s.expires_at,
    }))
}

/// An authorization about to be answered with a code.
pub struct NewCode<'a> {
    pub client_id: &'a str,
    pub account_id: i64,
    pub session_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub auth_time: i64,
    pub amr: &'a str,
    /// The person just allowed these scopes on the consent page: remember it.
    pub consent: bool,
    pub ip: &'a str,
}

/// Issues a code, unless the session ended or the account was disabled meanwhile
/// (`None`); records the consent when one was just given.
pub fn issue_code(
    conn: &mut DbConn,
    new: &NewCode<'_>,
    now: i64,
) -> Result<(Option<String>, Effect)> {
    let code = crate::random::token::<32>()?;
    let grant_id = crate::random::token::<16>()?;
    write_tx(conn, |c| {
        let live = sessions::table
            .find(new.session_id)
            .filter(sessions::ended_at.is_null())
            .filter(sessions::account_id.eq(new.account_id))
            .count()
            .get_result::<i64>(c)?
            == 1;
        let account = accounts::find(c, new.account_id)?;
        let Some(account) = account.filter(|a| live && !a.disabled) else {
            return Ok((None, Effect::none()));
        };
        if new.consent {
            diesel::delete(oidc_consents::table.find((new.account_id, new.client_id)))
                .execute(c)?;
            diesel::insert_into(oidc_consents::table)
                .values((
                    oidc_consents::account_id.eq(new.account_id),
                    oidc_consents::client_id.eq(new.client_id),
                    oidc_consents::scope.eq(new.scope),
                    oidc_consents::granted_at.eq(now),
                ))
                .execute(c)?;
            audit::record(
                c,
                &Event::new(crate::audit::Kind::OidcConsentGranted, new.ip, now)
                    .actor(account.id)
                    .subject(account.id, &account.username)
                    .detail(format!("client {}: {}", new.client_id, new.scope)),
            )?;
        }
        diesel::insert_into(oidc_codes::table)
            .values((
                oidc_codes::code_hash.eq(hash_token(&code)),
                oidc_codes::client_id.eq(new.client_id),
                oidc_codes::account_id.eq(new.account_id),
                oidc_codes::session_id.eq(new.session_id),
                oidc_codes::redirect_uri.eq(new.redirect_uri),
                oidc_codes::scope.eq(new.scope),
                oidc_codes::nonce.eq(new.nonce),
                oidc_codes::code_challenge.eq(new.code_challenge),
                oidc_codes::auth_time.eq(new.auth_time),
                oidc_codes::amr.eq(new.amr),
                oidc_codes::grant_id.eq(&grant_id),
                oidc_codes::created_at.eq(now),
                oidc_codes::expires_at.eq(now + CODE_TTL),
            ))
            .execute(c)?;
        Ok((Some(code.clone()), Effect::none()))
    })
}

/// What a grant is, for the tokens issued from it.
#[derive(Debug, Clone)]
pub struct Granted {
    pub grant_id: String,
    pub account: Account,
    pub groups: Vec<String>,
    pub session_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// A new refresh token, when `offline_access` was granted.
    pub refresh: Option<String>,
}

/// How a token request went.
#[derive(Debug)]
pub enum Redeemed {
    Granted(Box<Granted>),
    /// `invalid_grant`, with a description.
    Invalid(&'static str),
}

/// A code presented at the token endpoint by an authenticated client.
pub struct Redemption<'a> {
    pub client_id: &'a str,
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: Option<&'a str>,
    pub ip: &'a str,
}

fn new_refresh(handle: &[u8; HANDLE]) -> Result<String> {
    let mut bytes = [0u8; HANDLE + SECRET];
    bytes[..HANDLE].copy_from_slice(handle);
    bytes[HANDLE..].copy_from_slice(&crate::random::bytes::<SECRET>()?);
    Ok(crate::random::encode(&bytes))
}

/// Redeems a code, in one transaction: single use (a second use revokes what the first
/// issued, and is audited), 60 seconds, for the client and redirect URI it was issued to,
/// with the PKCE verifier of its challenge, from a session still live.
pub fn redeem_code(conn: &mut DbConn, r: &Redemption<'_>, now: i64) -> Result<(Redeemed, Effect)> {
    type CodeRow = (
        String,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        String,
        String,
        i64,
        Option<i64>,
    );
    if !crate::random::is_token::<32>(r.code) {
        return Ok((Redeemed::Invalid("unknown code"), Effect::none()));
    }
    let handle = crate::random::bytes::<HANDLE>()?;
    let refresh = new_refresh(&handle)?;
    write_tx(conn, |c| {
        let hash = hash_token(r.code);
        let row: Option<CodeRow> = oidc_codes::table
            .find(&hash)
            .select((
                oidc_codes::client_id,
                oidc_codes::account_id,
                oidc_codes::session_id,
                oidc_codes::redirect_uri,
                oidc_codes::scope,
                oidc_codes::nonce,
                oidc_codes::code_challenge,
                oidc_codes::auth_time,
                oidc_codes::amr,
                oidc_codes::grant_id,
                oidc_codes::expires_at,
                oidc_codes::used_at,
            ))
            .first(c)
            .optional()?;
        let Some((
            client_id,
            account_id,
            session_id,
            redirect_uri,
            scope,
            nonce,
            challenge,
            auth_time,
            amr,
            grant_id,
            expires_at,
            used_at,
        )) = row
        else {
            return Ok((Redeemed::Invalid("unknown code"), Effect::none()));
        };
        if client_id != r.client_id {
            return Ok((
                Redeemed::Invalid("the code was issued to another client"),
                Effect::none(),
            ));
        }
        // Marked used before anything else is checked: whatever comes next, this code
        // is spent, and a second use is known as one.
        let marked = diesel::update(
            oidc_codes::table
                .find(&hash)
                .filter(oidc_codes::used_at.is_null()),
        )
        .set(oidc_codes::used_at.eq(now))
        .execute(c)?;
        if used_at.is_some() || marked == 0 {
            let (live, effect) = revoke_counted(c, std::slice::from_ref(&grant_id), now)?;
            let issued = oidc_grants::table
                .find(&grant_id)
                .count()
                .get_result::<i64>(c)?
                > 0;
            if issued && live == 0 {
                // Another use of this code was already caught (and audited).
                return Ok((Redeemed::Invalid("the code was used already"), effect));
            }
            let name = accounts::find(c, account_id)?.map(|a| a.username);
            let e = Event::new(crate::audit::Kind::OidcCodeReuse, r.ip, now).detail(format!(
                "client {client_id}: a code came back; what it issued is revoked"
            ));
            audit::record(
                c,
                &match &name {
                    Some(n) => e.subject(account_id, n),
                    None => e,
                },
            )?;
            return Ok((Redeemed::Invalid("the code was used already"), effect));
        }
        if now >= expires_at {
            return Ok((Redeemed::Invalid("the code expired"), Effect::none()));
        }
        if redirect_uri != r.redirect_uri {
            return Ok((
                Redeemed::Invalid("redirect_uri is not the one authorized"),
                Effect::none(),
            ));
        }
        match (&challenge, r.code_verifier) {
            (Some(ch), Some(v)) if valid_verifier(v) && tokens::s256(v) == *ch => {}
            (None, None) => {}
            (None, Some(_)) => {
                return Ok((
                    Redeemed::Invalid("code_verifier without a code_challenge"),
                    Effect::none(),
                ))
            }
            _ => return Ok((Redeemed::Invalid("code_verifier is wrong"), Effect::none())),
        }
        let Some(facts) = session_facts(c, &session_id, now)? else {
            return Ok((Redeemed::Invalid("the session has ended"), Effect::none()));
        };
        let offline = scope.split(' ').any(|s| s == "offline_access");
        let expires = facts.expires_at;
        diesel::insert_into(oidc_grants::table)
            .values((
                oidc_grants::id.eq(&grant_id),
                oidc_grants::client_id.eq(&client_id),
                oidc_grants::account_id.eq(account_id),
                oidc_grants::session_id.eq(&session_id),
                oidc_grants::scope.eq(&scope),
                oidc_grants::auth_time.eq(auth_time),
                oidc_grants::amr.eq(&amr),
                oidc_grants::created_at.eq(now),
                oidc_grants::refresh_family.eq(offline.then(|| crate::random::hash_bytes(&handle))),
                oidc_grants::refresh_hash.eq(offline.then(|| hash_token(&refresh))),
                oidc_grants::refresh_expires_at
                    .eq(offline.then_some((now + REFRESH_TTL).min(expires))),
            ))
            .execute(c)?;
        // Bounded: a session keeps its newest few grants per client (an app signing in
        // again and again in one session does not pile up rows); older ones end.
        let older: Vec<String> = oidc_grants::table
            .filter(oidc_grants::session_id.eq(&session_id))
            .filter(oidc_grants::client_id.eq(&client_id))
            .order((oidc_grants::created_at.desc(), oidc_grants::id.desc()))
            .select(oidc_grants::id)
            .offset(GRANTS_PER_SESSION)
            .limit(100)
            .load(c)?
            .into_iter()
            .filter(|g: &String| *g != grant_id)
            .collect();
        let effect = revoke_grants(c, &older, now)?;
        if !older.is_empty() {
            diesel::delete(oidc_grants::table.filter(oidc_grants::id.eq_any(&older))).execute(c)?;
        }
        Ok((
            Redeemed::Granted(Box::new(Granted {
                grant_id,
                account: facts.account,
                groups: facts.groups,
                session_id,
                scope,
                nonce,
                auth_time,
                amr: amr.split(' ').map(str::to_string).collect(),
                refresh: offline.then(|| refresh.clone()),
            })),
            effect,
        ))
    })
}

/// RFC 7636: 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

type GrantRow = (
    String,
    String,
    i64,
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn grant_by_family(conn: &mut DbConn, token: &str) -> Result<Option<GrantRow>> {
    let Some(bytes) = crate::random::decode::<{ HANDLE + SECRET }>(token) else {
        return Ok(None);
    };
    let family = crate::random::hash_bytes(&bytes[..HANDLE]);
    Ok(oidc_grants::table
        .filter(oidc_grants::refresh_family.eq(family))
        .select((
            oidc_grants::id,
            oidc_grants::client_id,
            oidc_grants::account_id,
            oidc_grants::session_id,
            oidc_grants::scope,
            oidc_grants::auth_time,
            oidc_grants::amr,
            oidc_grants::revoked_at,
            oidc_grants::refresh_hash,
            oidc_grants::refresh_expires_at,
        ))
        .first(conn)
        .optional()?)
}

/// The `refresh_token` grant, in one transaction: the current token of a live grant
/// rotates; any other token of the family (no grace window here) revokes the family and
/// is audited as `oidc_refresh_reuse`. Refused once the session ended, the account was
/// disabled or the app revoked.
pub fn refresh(
    conn: &mut DbConn,
    client_id: &str,
    token: &str,
    ip: &str,
    now: i64,
) -> Result<(Redeemed, Effect)> {
    let Some(bytes) = crate::random::decode::<{ HANDLE + SECRET }>(token) else {
        return Ok((Redeemed::Invalid("unknown refresh token"), Effect::none()));
    };
    let mut handle = [0u8; HANDLE];
    handle.copy_from_slice(&bytes[..HANDLE]);
    let next = new_refresh(&handle)?;
    write_tx(conn, |c| {
        let Some((gid, owner, account_id, sid, scope, auth_time, amr, revoked, current, expires)) =
            grant_by_family(c, token)?
        else {
            return Ok((Redeemed::Invalid("unknown refresh token"), Effect::none()));
        };
        if owner != client_id {
            return Ok((
                Redeemed::Invalid("the refresh token was issued to another client"),
                Effect::none(),
            ));
        }
        if revoked.is_some() {
            return Ok((Redeemed::Invalid("the grant was revoked"), Effect::none()));
        }
        let hash = hash_token(token);
        let rotated = diesel::update(
            oidc_grants::table
                .find(&gid)
                .filter(oidc_grants::refresh_hash.eq(&hash)),
        )
        .set((
            oidc_grants::refresh_hash.eq(hash_token(&next)),
            oidc_grants::refresh_expires_at.eq((now + REFRESH_TTL).max(0)),
        ))
        .execute(c)?;
        if current.as_deref() != Some(hash.as_str()) || rotated == 0 {
            let (live, effect) = revoke_counted(c, std::slice::from_ref(&gid), now)?;
            if live == 0 {
                // Another reuse of this family was already caught (and audited).
                return Ok((
                    Redeemed::Invalid("the refresh token was used already"),
                    effect,
                ));
            }
            let name = accounts::find(c, account_id)?.map(|a| a.username);
            let e = Event::new(crate::audit::Kind::OidcRefreshReuse, ip, now).detail(format!(
                "client {client_id}: an old refresh token came back; its family is revoked"
            ));
            audit::record(
                c,
                &match &name {
                    Some(n) => e.subject(account_id, n),
                    None => e,
                },
            )?;
            return Ok((
                Redeemed::Invalid("the refresh token was used already"),
                effect,
            ));
        }
        if expires.is_some_and(|e| now >= e) {
            return Ok((
                Redeemed::Invalid("the refresh token expired"),
                Effect::none(),
            ));
        }
        let Some(facts) = session_facts(c, &sid, now)? else {
            return Ok((Redeemed::Invalid("the session has ended"), Effect::none()));
        };
        let session_expires = facts.expires_at;
        diesel::update(oidc_grants::table.find(&gid))
            .set(oidc_grants::refresh_expires_at.eq((now + REFRESH_TTL).min(session_expires)))
            .execute(c)?;
        Ok((
            Redeemed::Granted(Box::new(Granted {
                grant_id: gid,
                account: facts.account,
                groups: facts.groups,
                session_id: sid,
                scope,
                nonce: None,
                auth_time,
                amr: amr.split(' ').map(str::to_string).collect(),
                refresh: Some(next.clone()),
            })),
            Effect::none(),
        ))
    })
}

/// Revokes grants (inside the caller's transaction): their refresh tokens stop at once,
/// their access tokens at the next request on every instance.
fn revoke_grants(c: &mut DbConn, ids: &[String], now: i64) -> Result<Effect> {
    Ok(revoke_counted(c, ids, now)?.1)
}

/// As `revoke_grants`; also says how many were live until now (concurrent reuses of one
/// token find it revoked already: only the first is audited).
fn revoke_counted(c: &mut DbConn, ids: &[String], now: i64) -> Result<(usize, Effect)> {
    if ids.is_empty() {
        return Ok((0, Effect::none()));
    }
    let live = diesel::update(
        oidc_grants::table
            .filter(oidc_grants::id.eq_any(ids))
            .filter(oidc_grants::revoked_at.is_null()),
    )
    .set((
        oidc_grants::revoked_at.eq(now),
        oidc_grants::refresh_hash.eq(None::<String>),
    ))
    .execute(c)?;
    let keys: Vec<String> = ids.iter().map(|g| grant_key(g)).collect();
    for k in &keys {
        crate::sessions::feed::token_revoked(c, k, now)?;
    }
    Ok((
        live,
        Effect {
            revoked: keys,
            ..Effect::none()
        },
    ))
}

/// A live refresh token, for introspection (RFC 7662).
pub struct RefreshFacts {
    pub account_id: i64,
    pub username: String,
    pub session_id: String,
    pub scope: String,
    pub expires_at: i64,
}

/// The facts of a refresh token when it is the current token of a live grant of
/// `client_id`'s, its session live and its account unchanged; `None` for anything else
/// (an older token of the family, another client's, revoked, expired: "active": false).
/// Reads only: introspection never counts as a use.
pub fn refresh_facts(
    conn: &mut DbConn,
    client_id: &str,
    token: &str,
    now: i64,
) -> Result<Option<RefreshFacts>> {
    let Some((_, owner, _, sid, scope, _, _, revoked, current, expires)) =
        grant_by_family(conn, token)?
    else {
        return Ok(None);
    };
    if owner != client_id
        || revoked.is_some()
        || current.as_deref() != Some(hash_token(token).as_str())
        || expires.is_none_or(|e| now >= e)
    {
        return Ok(None);
    }
    Ok(session_facts(conn, &sid, now)?.map(|f| RefreshFacts {
        account_id: f.account.id,
        username: f.account.username,
        session_id: sid,
        scope,
        expires_at: expires.unwrap_or(now),
    }))
}

/// RFC 7009 for a refresh token: revokes its grant when it belongs to `client_id`
/// (anything else is ignored, as the RFC says).
pub fn revoke_refresh(conn: &mut DbConn, client_id: &str, token: &str, now: i64) -> Result<Effect> {
    write_tx(conn, |c| match grant_by_family(c, token)? {
        Some(g) if g.1 == client_id => revoke_grants(c, std::slice::from_ref(&g.0), now),
        _ => Ok(Effect::none()),
    })
}

/// RFC 7009 for an access token (already verified as the client's): refused from the
/// next request on.
pub fn revoke_access(conn: &mut DbConn, jti: &str, now: i64) -> Result<Effect> {
    let key = jti_key(jti);
    write_tx(conn, |c| {
        crate::sessions::feed::token_revoked(c, &key, now)?;
        Ok(Effect {
            revoked: vec![key.clone()],
            ..Effect::none()
        })
    })
}

/// An app the account allowed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AllowedApp {
    pub client_id: String,
    pub name: String,
    pub scope: String,
    pub granted_at: i64,
}

pub fn apps_of(conn: &mut DbConn, account_id: i64) -> Result<Vec<AllowedApp>> {
    let rows: Vec<(String, String, String, i64)> = oidc_consents::table
        .inner_join(oidc_clients::table.on(oidc_clients::client_id.eq(oidc_consents::client_id)))
        .filter(oidc_consents::account_id.eq(account_id))
        .select((
            oidc_consents::client_id,
            oidc_clients::name,
            oidc_consents::scope,
            oidc_consents::granted_at,
        ))
        .load(conn)?;
    // First-party apps are never asked for consent, but hold tokens all the same.
    let holding: Vec<(String, String, String, i64)> = oidc_grants::table
        .inner_join(oidc_clients::table.on(oidc_clients::client_id.eq(oidc_grants::client_id)))
        .filter(oidc_grants::account_id.eq(account_id))
        .filter(oidc_grants::revoked_at.is_null())
        .order(oidc_grants::created_at.desc())
        .select((
            oidc_grants::client_id,
            oidc_clients::name,
            oidc_grants::scope,
            oidc_grants::created_at,
        ))
        .limit(500)
        .load(conn)?;
    let mut apps: Vec<AllowedApp> = Vec::new();
    for (client_id, name, scope, granted_at) in rows.into_iter().chain(holding) {
        if apps.iter().any(|a| a.client_id == client_id) {
            continue;
        }
        apps.push(AllowedApp {
            client_id,
            name,
            scope,
            granted_at,
        });
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(apps)
}

/// The owner revokes an app: its consent ends, and every token it holds for the owner.
pub fn revoke_app(conn: &mut DbConn, owner: &Owner, client_id: &str, now: i64) -> Result<Effect> {
    write_tx(conn, |c| {
        let consents =
            diesel::delete(oidc_consents::table.find((owner.account_id, client_id))).execute(c)?;
        let grants: Vec<String> = oidc_grants::table
            .filter(oidc_grants::account_id.eq(owner.account_id))
            .filter(oidc_grants::client_id.eq(client_id))
            .filter(oidc_grants::revoked_at.is_null())
            .select(oidc_grants::id)
            .load(c)?;
        if consents == 0 && grants.is_empty() {
            return Err(Error::NotFound);
        }
        let effect = revoke_grants(c, &grants, now)?;
        audit::record(
            c,
            &Event::new(crate::audit::Kind::OidcAppRevoked, &owner.ip, now)
                .actor(owner.account_id)
                .subject(owner.account_id, &owner.name)
                .detail(format!(
                    "client {client_id}: {} grants revoked",
                    grants.len()
                )),
        )?;
        Ok(effect)
    })
}

/// Deletes up to `limit` codes that expired more than `keep` seconds ago.
pub fn prune_codes(conn: &mut DbConn, now: i64, keep: i64, limit: i64) -> Result<usize> {
    let hashes: Vec<String> = oidc_codes::table
        .filter(oidc_codes::expires_at.lt(now - keep))
        .select(oidc_codes::code_hash)
        .limit(limit)
        .load(conn)?;
    Ok(
        diesel::delete(oidc_codes::table.filter(oidc_codes::code_hash.eq_any(&hashes)))
            .execute(conn)?,
    )
}

/// Deletes up to `limit` grants revoked more than `keep` seconds ago (those of ended
/// sessions go with their session).
pub fn prune_grants(conn: &mut DbConn, now: i64, keep: i64, limit: i64) -> Result<usize> {
    let ids: Vec<String> = oidc_grants::table
        .filter(oidc_grants::revoked_at.lt(now - keep))
        .select(oidc_grants::id)
        .limit(limit)
        .load(conn)?;
    Ok(diesel::delete(oidc_grants::table.filter(oidc_grants::id.eq_any(&ids))).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_but_loopback_ports_may_vary() {
        let reg = vec![
            "https://app.example/cb".to_string(),
            "http://127.0.0.1:8080/cb".to_string(),
        ];
        assert!(uri_registered(&reg, "https://app.example/cb"));
        for near in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example/Cb",
            "http://app.example/cb",
            "http://127.0.0.1:8080/cb/",
            "http://localhost:8080/cb",
        ] {
            assert!(!uri_registered(&reg, near), "{near}");
        }
        assert!(uri_registered(&reg, "http://127.0.0.1:51234/cb"));
        assert!(uri_registered(&reg, "http://127.0.0.1/cb"));
        // A port is 1 to 65535 in plain digits, or absent.
        for bad in [
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:+80/cb",
            "http://127.0.0.1:0x50/cb",
            "http://127.0.0.1:080/cb",
            "http://127.0.0.1:065535/cb",
            "http://127.0.0.1:0000000000000000000000080/cb",
            "http://[::1]:0080/cb",
            "http://[::1]:70000/cb",
            "http://[::1]:/cb",
        ] {
            assert!(!uri_registered(&reg, bad), "{bad}");
            assert!(!valid_client_uri(bad), "{bad}");
        }
        assert!(uri_registered(&reg, "http://127.0.0.1:65535/cb"));
        assert!(valid_client_uri("http://[::1]:9/cb"));
        assert!(!valid_client_uri("http://example.com/cb"));
        assert!(!valid_client_uri("https://example.com/cb#x"));
    }
}
