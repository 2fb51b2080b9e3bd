//! Passkeys (WebAuthn, through `webauthn-rs`): an account's credentials, and the
//! ceremonies in progress. Plain values in; the flows that start a session are in
//! `sessions` (`passkey_sign_in`, the second step, "confirm it's you").
//!
//! A ceremony is the challenge a page handed to the browser: its row is keyed by the
//! challenge's SHA-256 (which the browser's answer carries back in its client data), bound
//! to what the browser holds (its pre-session cookie, its pending sign-in, or its
//! session) and, but for the sign-in, to an account. It is taken (deleted) in the
//! transaction that checks the answer, so it is used once however many requests bring it,
//! and lasts five minutes. Its state is in the database, so any instance can finish it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::prelude::*;
use serde::Serialize;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::accounts::{Account, Owner};
use crate::audit::{self, Event, Kind};
use crate::db::schema::{accounts, passkey_ceremonies, passkeys};
use crate::db::{write_tx, DbConn};
use crate::effect::Effect;
use crate::error::{Error, Result};

/// How long a ceremony may take.
pub const CEREMONY_TTL: i64 = 300;
/// Ceremonies kept per browser binding: a new one drops the oldest beyond this, so that a
/// page reloaded in a loop cannot pile up rows.
pub const MAX_CEREMONIES_PER_BINDING: usize = 5;
/// Sign-in pages with a passkey ceremony per client address in ten minutes (the sign-in
/// page is public, and each one shown writes a ceremony row): beyond it the page offers
/// the password only, so that a flood of page views cannot fill the table.
pub const SIGN_IN_PAGES_PER_ADDRESS: u32 = 300;
/// Passkeys an account may have.
pub const MAX_PER_ACCOUNT: i64 = 20;
/// The longest name a passkey may be given, in characters.
pub const NAME_MAX: usize = 64;

/// What a ceremony is for.
pub mod kind {
    pub const REGISTER: &str = "register";
    pub const SIGN_IN: &str = "sign_in";
    pub const SECOND_STEP: &str = "second_step";
    pub const REAUTH: &str = "reauth";
}

/// The relying party: who the passkeys are made for.
pub struct RelyingParty {
    webauthn: Webauthn,
    /// Made for requests to `localhost` only (no `public_url`: development).
    pub localhost_only: bool,
    user_ids: crate::signer::Signer,
}

/// Whether passkeys are on under these settings, and if not, why.
pub enum Setup {
    On(RelyingParty),
    Off(String),
}

impl RelyingParty {
    /// The relying party of `public_url` (its host, or `cookie_domain` when set), or of
    /// `localhost` without `public_url`. WebAuthn allows no IP address as its id.
    pub fn from_settings(
        public_url: Option<&str>,
        cookie_domain: Option<&str>,
        secret: &[u8],
    ) -> Setup {
        let user_ids = crate::signer::Signer::derive_from(secret, b"gatehouse/passkey-user/v1");
        let Some(public_url) = public_url else {
            let Ok(origin) = Url::parse("http://localhost") else {
                return Setup::Off("no origin for localhost".into());
            };
            let built = WebauthnBuilder::new("localhost", &origin).map(|b| {
                let mut b = b.rp_name("Gatehouse").allow_any_port(true);
                if let Ok(https) = Url::parse("https://localhost") {
                    b = b.append_allowed_origin(&https);
                }
                b.build()
            });
            return match built {
                Ok(Ok(webauthn)) => Setup::On(RelyingParty {
                    webauthn,
                    localhost_only: true,
                    user_ids,
                }),
                _ => Setup::Off("the relying party for localhost could not be set up".into()),
            };
        };
        let Ok(origin) = Url::parse(public_url) else {
            return Setup::Off(format!("`public_url` {public_url:?} is not a URL"));
        };
        let host = match origin.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(_) => {
                return Setup::Off(format!(
                    "the host of `public_url` ({public_url}) is an IP address, which WebAuthn does \
                     not allow as a relying-party id; give Gatehouse a domain name"
                ))
            }
            None => return Setup::Off(format!("`public_url` {public_url:?} has no host")),
        };
        let rp_id = cookie_domain.unwrap_or(&host).to_string();
        match WebauthnBuilder::new(&rp_id, &origin).and_then(|b| b.rp_name("Gatehouse").build()) {
            Ok(webauthn) => Setup::On(RelyingParty {
                webauthn,
                localhost_only: false,
                user_ids,
            }),
            Err(e) => Setup::Off(format!(
                "the relying party {rp_id:?} does not fit `public_url` {public_url:?}: {e}"
            )),
        }
    }

    /// The WebAuthn user handle of an account: derived from its id under a key of its own,
    /// so that it says nothing about the account and needs no column.
    pub fn user_id(&self, account_id: i64) -> Uuid {
        let mac = self.user_ids.sign(&account_id.to_string());
        let bytes = URL_SAFE_NO_PAD.decode(mac).unwrap_or_default();
        let mut id = [0u8; 16];
        for (slot, b) in id.iter_mut().zip(bytes) {
            *slot = b;
        }
        Uuid::from_bytes(id)
    }
}

/// A passkey as the account page shows it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: i64,
    pub account_id: i64,
    pub credential_id: String,
    #[serde(skip)]
    pub passkey: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub counter: i64,
}

impl PasskeyRow {
    fn parsed(&self) -> Result<Passkey> {
        serde_json::from_str(&self.passkey)
            .map_err(|e| Error::Internal(format!("passkey {} does not parse: {e}", self.id)))
    }
}

/// The credential id as stored: base64url without padding.
pub fn credential_key(raw_id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw_id)
}

/// The flags and counter webauthn-rs keeps inside a `Passkey`, for the columns beside it.
fn flags(passkey: &Passkey) -> (bool, bool, i64) {
    let v = serde_json::to_value(passkey).unwrap_or_default();
    let cred = &v["cred"];
    (
        cred["backup_eligible"].as_bool().unwrap_or(false),
        cred["backup_state"].as_bool().unwrap_or(false),
        cred["counter"].as_i64().unwrap_or(0),
    )
}

/// The account's passkeys, oldest first.
pub fn list(conn: &mut DbConn, account_id: i64) -> Result<Vec<PasskeyRow>> {
    Ok(passkeys::table
        .filter(passkeys::account_id.eq(account_id))
        .order(passkeys::id.asc())
        .select(PasskeyRow::as_select())
        .load(conn)?)
}

/// The passkey of a credential id (locked until the transaction ends on PostgreSQL).
pub fn find_by_credential(conn: &mut DbConn, credential_id: &str) -> Result<Option<PasskeyRow>> {
    let query = passkeys::table.filter(passkeys::credential_id.eq(credential_id));
    Ok(match conn {
        DbConn::Pg(c) => query
            .select(PasskeyRow::as_select())
            .for_update()
            .first(c)
            .optional()?,
        DbConn::Sqlite(c) => query.select(PasskeyRow::as_select()).first(c).optional()?,
    })
}

/// The account behind a credential id, if any (a read, to name the attempt before it is
/// admitted).
pub fn owner_of(conn: &mut DbConn, credential_id: &str) -> Result<Option<(i64, String)>> {
    Ok(passkeys::table
        .inner_join(accounts::table)
        .filter(passkeys::credential_id.eq(credential_id))
        .select((accounts::id, accounts::username))
        .first(conn)
        .optional()?)
}

/// Keeps `accounts.passkeys` equal to the rows (inside the caller's transaction).
fn recount(conn: &mut DbConn, account_id: i64) -> Result<i64> {
    let n: i64 = passkeys::table
        .filter(passkeys::account_id.eq(account_id))
        .count()
        .get_result(conn)?;
    diesel::update(accounts::table.find(account_id))
        .set(accounts::passkeys.eq(n as i32))
        .execute(conn)?;
    Ok(n)
}

/// The SHA-256 of a challenge: the key of its ceremony.
fn challenge_hash(challenge: &[u8]) -> String {
    crate::random::hash_bytes(challenge)
}

/// The challenge a browser's answer carries, from its client data (`None` when the data
/// is not what a browser sends).
fn answered_challenge(client_data_json: &[u8]) -> Option<Vec<u8>> {
    let data: serde_json::Value = serde_json::from_slice(client_data_json).ok()?;
    let challenge = data.get("challenge")?.as_str()?;
    URL_SAFE_NO_PAD.decode(challenge.trim_end_matches('=')).ok()
}

/// Records a ceremony (inside the caller's transaction), dropping the oldest of the same
/// browser beyond `MAX_CEREMONIES_PER_BINDING` and its expired ones.
fn begin(
    conn: &mut DbConn,
    kind: &str,
    binding: &str,
    account_id: Option<i64>,
    challenge: &[u8],
    state: &str,
    now: i64,
) -> Result<()> {
    let hash = challenge_hash(challenge);
    diesel::insert_into(passkey_ceremonies::table)
        .values((
            passkey_ceremonies::challenge_hash.eq(&hash),
            passkey_ceremonies::kind.eq(kind),
            passkey_ceremonies::binding.eq(binding),
            passkey_ceremonies::account_id.eq(account_id),
            passkey_ceremonies::state.eq(state),
            passkey_ceremonies::created_at.eq(now),
            passkey_ceremonies::expires_at.eq(now + CEREMONY_TTL),
        ))
        .execute(conn)?;
    let others: Vec<String> = passkey_ceremonies::table
        .filter(passkey_ceremonies::binding.eq(binding))
        .filter(passkey_ceremonies::challenge_hash.ne(&hash))
        .filter(passkey_ceremonies::expires_at.gt(now))
        .order(passkey_ceremonies::created_at.desc())
        .select(passkey_ceremonies::challenge_hash)
        .load(conn)?;
    let dropped: Vec<&String> = others.iter().skip(MAX_CEREMONIES_PER_BINDING - 1).collect();
    diesel::delete(
        passkey_ceremonies::table
            .filter(passkey_ceremonies::binding.eq(binding))
            .filter(
                passkey_ceremonies::challenge_hash
                    .eq_any(dropped)
                    .or(passkey_ceremonies::expires_at.le(now)),
            ),
    )
    .execute(conn)?;
    Ok(())
}

/// Takes the live ceremony of `kind` that `challenge` names for this browser: deleted
/// here, so that it is used once. Returns its account and state.
fn take(
    conn: &mut DbConn,
    kind: &str,
    binding: &str,
    challenge: &[u8],
    now: i64,
) -> Result<Option<(Option<i64>, String)>> {
    let found: Option<(Option<i64>, String, i64)> = diesel::delete(
        passkey_ceremonies::table
            .filter(passkey_ceremonies::challenge_hash.eq(challenge_hash(challenge)))
            .filter(passkey_ceremonies::kind.eq(kind))
            .filter(passkey_ceremonies::binding.eq(binding)),
    )
    .returning((
        passkey_ceremonies::account_id,
        passkey_ceremonies::state,
        passkey_ceremonies::expires_at,
    ))
    .get_result(conn)
    .optional()?;
    Ok(found
        .filter(|(_, _, expires_at)| *expires_at > now)
        .map(|(account, state, _)| (account, state)))
}

/// Deletes up to `limit` ceremonies that expired; returns how many.
pub fn prune(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let hashes: Vec<String> = passkey_ceremonies::table
        .filter(passkey_ceremonies::expires_at.le(now))
        .select(passkey_ceremonies::challenge_hash)
        .limit(limit)
        .load(conn)?;
    Ok(diesel::delete(
        passkey_ceremonies::table.filter(passkey_ceremonies::challenge_hash.eq_any(&hashes)),
    )
    .execute(conn)?)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("JSON: {e}")))
}

fn webauthn_internal(e: WebauthnError) -> Error {
    Error::Internal(format!("webauthn: {e}"))
}

/// Starts adding a passkey to the account: the creation options for the page (the JSON
/// of `{"publicKey": …}`), asking for a discoverable credential with user verification,
/// and excluding the account's passkeys. Bound to the session `sid`.
pub fn start_registration(
    conn: &mut DbConn,
    rp: &RelyingParty,
    account: &Account,
    sid: &str,
    now: i64,
) -> Result<String> {
    write_tx(conn, |c| {
        let exclude = list(c, account.id)?
            .iter()
            .map(|p| p.parsed().map(|k| k.cred_id().clone()))
            .collect::<Result<Vec<_>>>()?;
        let (mut options, state): (CreationChallengeResponse, PasskeyRegistration) = rp
            .webauthn
            .start_passkey_registration(
                rp.user_id(account.id),
                &account.username,
                &account.username,
                Some(exclude),
            )
            .map_err(webauthn_internal)?;
        // Every passkey must answer the sign-in without a username: discoverable.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        begin(
            c,
            kind::REGISTER,
            &session_binding(sid),
            Some(account.id),
            &options.public_key.challenge,
            &to_json(&state)?,
            now,
        )?;
        to_json(&options)
    })
}

/// What binds a ceremony to a live session.
pub fn session_binding(sid: &str) -> String {
    format!("session:{sid}")
}

/// What binds a ceremony to a browser before sign-in (its pre-session cookie).
pub fn presession_binding(presession: &str) -> String {
    format!("presession:{}", crate::random::hash_token(presession))
}

/// What binds a ceremony to a pending sign-in (its token's hash).
pub fn pending_binding(token_hash: &str) -> String {
    format!("pending:{token_hash}")
}

/// Starts a sign-in with any discoverable passkey (no username): request options with no
/// `allowCredentials`. Bound to the browser's pre-session cookie.
pub fn start_sign_in(
    conn: &mut DbConn,
    rp: &RelyingParty,
    binding: &str,
    now: i64,
) -> Result<String> {
    let (options, state): (RequestChallengeResponse, DiscoverableAuthentication) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(webauthn_internal)?;
    // A passkey registered before its password manager said it could be synced may say so
    // now: that upgrade is allowed (as webauthn-rs allows it for known users); the flag
    // is then kept.
    let mut state = serde_json::to_value(&state).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(ast) = state.get_mut("ast").and_then(|a| a.as_object_mut()) {
        if ast.contains_key("allow_backup_eligible_upgrade") {
            ast.insert("allow_backup_eligible_upgrade".into(), true.into());
        }
    }
    let state = to_json(&state)?;
    write_tx(conn, |c| {
        begin(
            c,
            kind::SIGN_IN,
            binding,
            None,
            &options.public_key.challenge,
            &state,
            now,
        )
    })?;
    to_json(&options)
}

/// Starts a ceremony with one of the account's passkeys (the second step of a sign-in,
/// "confirm it's you"): request options listing them. `None` when it has none.
pub fn start_for_account(
    conn: &mut DbConn,
    rp: &RelyingParty,
    ceremony: &str,
    binding: &str,
    account_id: i64,
    now: i64,
) -> Result<Option<String>> {
    write_tx(conn, |c| {
        let keys = list(c, account_id)?
            .iter()
            .map(PasskeyRow::parsed)
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Ok(None);
        }
        let (options, state): (RequestChallengeResponse, PasskeyAuthentication) = rp
            .webauthn
            .start_passkey_authentication(&keys)
            .map_err(webauthn_internal)?;
        begin(
            c,
            ceremony,
            binding,
            Some(account_id),
            &options.public_key.challenge,
            &to_json(&state)?,
            now,
        )?;
        Ok(Some(to_json(&options)?))
    })
}

/// What an answer to a sign-in ceremony turned out to be.
#[derive(Debug)]
pub enum Assertion {
    /// Signed by this passkey of this account, with user verification; its counter and
    /// flags are stored and its use noted.
    Verified { account_id: i64, passkey: String },
    /// Refused (the ceremony is used up all the same): why, and the account it named.
    Refused {
        account_id: Option<i64>,
        reason: &'static str,
    },
}

impl Assertion {
    fn refused(account_id: Option<i64>, reason: &'static str) -> Assertion {
        Assertion::Refused { account_id, reason }
    }
}

/// Checks a browser's answer to a ceremony of `ceremony` bound to `binding`, inside the
/// caller's write transaction: takes the ceremony (once), finds the passkey, checks it is
/// `account`'s when one is expected (and the user handle, for a discoverable sign-in),
/// verifies the signature, the origin, user verification and the counter (which must
/// increase unless it is 0 on both sides), and stores the new counter and flags.
pub fn check_assertion(
    conn: &mut DbConn,
    rp: &RelyingParty,
    ceremony: &str,
    binding: &str,
    account: Option<i64>,
    credential: &PublicKeyCredential,
    now: i64,
) -> Result<Assertion> {
    let Some(challenge) = answered_challenge(&credential.response.client_data_json) else {
        return Ok(Assertion::refused(
            account,
            "the answer carries no challenge",
        ));
    };
    let Some((ceremony_account, state)) = take(conn, ceremony, binding, &challenge, now)? else {
        return Ok(Assertion::refused(
            account,
            "no such ceremony for this browser (expired, used, or never made)",
        ));
    };
    if account.is_some() && ceremony_account != account {
        return Ok(Assertion::refused(
            account,
            "the ceremony is another account's",
        ));
    }
    let cred_key = credential_key(credential.get_credential_id());
    let Some(row) = find_by_credential(conn, &cred_key)? else {
        return Ok(Assertion::refused(account, "unknown passkey"));
    };
    if account.is_some_and(|a| a != row.account_id) {
        return Ok(Assertion::refused(account, "a passkey of another account"));
    }
    let mut key = row.parsed()?;
    let verified = if ceremony == kind::SIGN_IN {
        let user_ok = credential
            .get_user_unique_id()
            .and_then(|b| Uuid::from_slice(b).ok())
            .is_some_and(|u| u == rp.user_id(row.account_id));
        if !user_ok {
            return Ok(Assertion::refused(
                Some(row.account_id),
                "the user handle is not the passkey's account",
            ));
        }
        let state: DiscoverableAuthentication = serde_json::from_str(&state)
            .map_err(|e| Error::Internal(format!("ceremony state: {e}")))?;
        rp.webauthn
            .finish_discoverable_authentication_v2(credential, state, &key)
    } else {
        let state: PasskeyAuthentication = serde_json::from_str(&state)
            .map_err(|e| Error::Internal(format!("ceremony state: {e}")))?;
        rp.webauthn
            .finish_passkey_authentication(credential, &state)
    };
    let result = match verified {
        Ok(result) => result,
        Err(e) => {
            let reason = match e {
                WebauthnError::CredentialPossibleCompromise => {
                    "the signature counter did not increase (a cloned passkey?)"
                }
                WebauthnError::InvalidRPOrigin => "wrong origin",
                WebauthnError::UserNotVerified => "no user verification",
                WebauthnError::MismatchedChallenge => "wrong challenge",
                WebauthnError::CredentialBackupEligibilityInconsistent
                | WebauthnError::CredentialMayNotBeHardwareBound => {
                    "the passkey's backup flags changed"
                }
                _ => "the signature or its data did not verify",
            };
            return Ok(Assertion::refused(Some(row.account_id), reason));
        }
    };
    if !result.user_verified() {
        return Ok(Assertion::refused(
            Some(row.account_id),
            "no user verification",
        ));
    }
    key.update_credential(&result);
    let (backup_eligible, backup_state, counter) = flags(&key);
    diesel::update(passkeys::table.find(row.id))
        .set((
            passkeys::passkey.eq(to_json(&key)?),
            passkeys::last_used_at.eq(now),
            passkeys::backup_eligible.eq(backup_eligible),
            passkeys::backup_state.eq(backup_state),
            passkeys::counter.eq(counter),
        ))
        .execute(conn)?;
    Ok(Assertion::Verified {
        account_id: row.account_id,
        passkey: row.name,
    })
}

/// A passkey's name as stored: printable, trimmed, at most `NAME_MAX` characters; a
/// default when nothing is left.
pub fn clean_name(name: &str, fallback: &str) -> String {
    let name = crate::text::printable(name.trim(), NAME_MAX);
    let name = name.trim();
    if name.is_empty() {
        fallback.to_string()
    } else {
        name.to_string()
    }
}

/// How adding a passkey went.
#[derive(Debug)]
pub enum Added {
    /// Stored; `codes` is whether the recovery codes offered were stored with it (the
    /// account's first second factor).
    Added { name: String, codes: bool },
    /// The browser's answer did not fit the ceremony (expired, another browser's, a bad
    /// signature): nothing stored.
    Refused(&'static str),
}

fn own_event<'a>(kind: Kind, owner: &'a Owner, now: i64) -> Event<'a> {
    Event::new(kind, &owner.ip, now)
        .actor(owner.account_id)
        .subject(owner.account_id, &owner.name)
}

/// Finishes adding a passkey to the owner's account: the ceremony of its session (used
/// once), the attestation checked, the credential stored under `name` unless another
/// account has it, the audit row and the mail. When the account had no second factor and
/// no recovery codes, `code_hashes` become its recovery codes.
pub fn finish_registration(
    conn: &mut DbConn,
    rp: &RelyingParty,
    owner: &Owner,
    name: &str,
    credential: &RegisterPublicKeyCredential,
    code_hashes: &[String],
    now: i64,
) -> Result<(Added, Effect)> {
    write_tx(conn, |c| {
        let Some(challenge) = answered_challenge(&credential.response.client_data_json) else {
            return Ok((Added::Refused("no challenge"), Effect::none()));
        };
        let binding = session_binding(&owner.sid);
        let Some((account, state)) = take(c, kind::REGISTER, &binding, &challenge, now)? else {
            return Ok((Added::Refused("no such ceremony"), Effect::none()));
        };
        if account != Some(owner.account_id) {
            return Ok((Added::Refused("another account's ceremony"), Effect::none()));
        }
        let account =
            crate::accounts::find_for_update(c, owner.account_id)?.ok_or(Error::NotFound)?;
        let state: PasskeyRegistration = serde_json::from_str(&state)
            .map_err(|e| Error::Internal(format!("ceremony state: {e}")))?;
        let key = match rp.webauthn.finish_passkey_registration(credential, &state) {
            Ok(key) => key,
            Err(e) => {
                audit::record(
                    c,
                    &own_event(Kind::PasskeyFailure, owner, now)
                        .detail(format!("adding a passkey: {e}")),
                )?;
                return Ok((Added::Refused("did not verify"), Effect::none()));
            }
        };
        let cred_key = credential_key(key.cred_id().as_ref());
        if find_by_credential(c, &cred_key)?.is_some() {
            return Err(Error::Conflict("that passkey is registered already"));
        }
        if (account.passkeys as i64) >= MAX_PER_ACCOUNT {
            return Err(Error::Conflict("too many passkeys"));
        }
        let (backup_eligible, backup_state, counter) = flags(&key);
        diesel::insert_into(passkeys::table)
            .values((
                passkeys::account_id.eq(account.id),
                passkeys::credential_id.eq(&cred_key),
                passkeys::passkey.eq(to_json(&key)?),
                passkeys::name.eq(name),
                passkeys::created_at.eq(now),
                passkeys::backup_eligible.eq(backup_eligible),
                passkeys::backup_state.eq(backup_state),
                passkeys::counter.eq(counter),
            ))
            .execute(c)?;
        let n = recount(c, account.id)?;
        let codes = !account.has_second_factor()
            && !code_hashes.is_empty()
            && super::codes_left(c, account.id)? == 0;
        if codes {
            super::replace_codes(c, account.id, code_hashes, now)?;
        }
        audit::record(
            c,
            &own_event(Kind::PasskeyAdded, owner, now).detail(format!(
                "{name:?}, {}; {n} passkeys{}",
                if backup_eligible {
                    "can be synced"
                } else {
                    "device-bound"
                },
                if codes { "; recovery codes made" } else { "" }
            )),
        )?;
        let mail = crate::outbox::notify(
            c,
            &account,
            crate::outbox::kind::PASSKEY_ADDED,
            &serde_json::json!({ "name": account.username, "ip": owner.ip, "device": name }),
            now,
        )?;
        Ok((
            Added::Added {
                name: name.to_string(),
                codes,
            },
            Effect {
                mail,
                ..Effect::none()
            },
        ))
    })
}

/// Renames one of the owner's passkeys (`Error::NotFound` for any other).
pub fn rename(conn: &mut DbConn, owner: &Owner, id: i64, name: &str, now: i64) -> Result<Effect> {
    write_tx(conn, |c| {
        let n = diesel::update(
            passkeys::table
                .find(id)
                .filter(passkeys::account_id.eq(owner.account_id)),
        )
        .set(passkeys::name.eq(name))
        .execute(c)?;
        if n != 1 {
            return Err(Error::NotFound);
        }
        audit::record(
            c,
            &own_event(Kind::PasskeyRenamed, owner, now)
                .detail(format!("passkey {id} is now {name:?}")),
        )?;
        Ok(Effect::none())
    })
}

/// Why a passkey may not be removed.
#[derive(Debug, PartialEq, Eq)]
pub enum Kept {
    /// It is the last way the account can sign in, or its last second factor where one is
    /// required.
    LastMethod,
}

/// Removes one of the owner's passkeys, unless it is the last sign-in method the account
/// could use (no password, or `second_factor_required` and no TOTP or other passkey).
pub fn remove(
    conn: &mut DbConn,
    owner: &Owner,
    id: i64,
    second_factor_required: bool,
    now: i64,
) -> Result<(Option<Kept>, Effect)> {
    write_tx(conn, |c| {
        let account =
            crate::accounts::find_for_update(c, owner.account_id)?.ok_or(Error::NotFound)?;
        let row: Option<PasskeyRow> = passkeys::table
            .find(id)
            .filter(passkeys::account_id.eq(account.id))
            .select(PasskeyRow::as_select())
            .first(c)
            .optional()?;
        let row = row.ok_or(Error::NotFound)?;
        let last_passkey = account.passkeys <= 1;
        let no_password = account.password_hash == crate::accounts::NO_PASSWORD;
        if last_passkey && (no_password || (second_factor_required && !account.has_totp())) {
            return Ok((Some(Kept::LastMethod), Effect::none()));
        }
        diesel::delete(passkeys::table.find(row.id)).execute(c)?;
        let n = recount(c, account.id)?;
        audit::record(
            c,
            &own_event(Kind::PasskeyRemoved, owner, now)
                .detail(format!("{:?}; {n} passkeys left", row.name)),
        )?;
        let mail = crate::outbox::notify(
            c,
            &account,
            crate::outbox::kind::PASSKEY_REMOVED,
            &serde_json::json!({ "name": account.username, "ip": owner.ip, "device": row.name }),
            now,
        )?;
        Ok((
            None,
            Effect {
                mail,
                ..Effect::none()
            },
        ))
    })
}

/// Removes one passkey of an account, for an administrator (inside the caller's
/// transaction; the caller writes the audit row). Returns its name.
pub fn remove_one(conn: &mut DbConn, account_id: i64, id: i64) -> Result<Option<String>> {
    let name: Option<String> = passkeys::table
        .find(id)
        .filter(passkeys::account_id.eq(account_id))
        .select(passkeys::name)
        .first(conn)
        .optional()?;
    if name.is_some() {
        diesel::delete(passkeys::table.find(id)).execute(conn)?;
        recount(conn, account_id)?;
    }
    Ok(name)
}

/// Removes every passkey of an account (an administrator's reset; inside the caller's
/// transaction). Returns how many.
pub fn remove_all(conn: &mut DbConn, account_id: i64) -> Result<usize> {
    let n = diesel::delete(passkeys::table.filter(passkeys::account_id.eq(account_id)))
        .execute(conn)?;
    diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::account_id.eq(account_id)))
        .execute(conn)?;
    recount(conn, account_id)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_address_turns_passkeys_off_and_a_domain_turns_them_on() {
        let secret = [7u8; 32];
        assert!(matches!(
            RelyingParty::from_settings(Some("https://192.0.2.1"), None, &secret),
            Setup::Off(why) if why.contains("IP address")
        ));
        assert!(matches!(
            RelyingParty::from_settings(Some("https://[2001:db8::1]:8443"), None, &secret),
            Setup::Off(_)
        ));
        assert!(matches!(
            RelyingParty::from_settings(Some("https://auth.example.com"), None, &secret),
            Setup::On(rp) if !rp.localhost_only
        ));
        assert!(matches!(
            RelyingParty::from_settings(
                Some("https://auth.example.com"),
                Some("example.com"),
                &secret
            ),
            Setup::On(_)
        ));
        assert!(matches!(
            RelyingParty::from_settings(
                Some("https://auth.example.com"),
                Some("other.org"),
                &secret
            ),
            Setup::Off(_)
        ));
        assert!(matches!(
            RelyingParty::from_settings(None, None, &secret),
            Setup::On(rp) if rp.localhost_only
        ));
    }

    #[test]
    fn user_handles_are_stable_and_differ_per_account() {
        let Setup::On(rp) = RelyingParty::from_settings(Some("https://a.example"), None, &[1; 32])
        else {
            panic!("on")
        };
        assert_eq!(rp.user_id(1), rp.user_id(1));
        assert_ne!(rp.user_id(1), rp.user_id(2));
    }

    #[test]
    fn the_challenge_is_read_from_the_client_data() {
        let data = br#"{"type":"webauthn.get","challenge":"AQID","origin":"https://a.example"}"#;
        assert_eq!(answered_challenge(data), Some(vec![1, 2, 3]));
        assert_eq!(answered_challenge(b"not json"), None);
    }
}
