//! The use cases a route calls, one method each: the reads a page needs and the changes a
//! form asks for. Routes reach the database, the hasher and the limiters only through
//! these (the fields of `App` are private to this crate), and every change goes through
//! `App::change`, so that its effect is applied after the commit in the one place.

use std::sync::Arc;

use crate::accounts::{self, throttle, Account, Owner};
use crate::admin::{self as actions, Actor, Refusal};
use crate::audit::{self, AuditRow, SubjectFilter};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::groups::Group;
use crate::mail::{flows, tokens};
use crate::sessions::store::{self, Session};
use crate::sessions::tokens::Claims;

use super::App;

/// What the administrator's page of one account shows.
pub struct AccountOverview {
    pub account: Account,
    pub sessions: Vec<Session>,
    pub events: Vec<AuditRow>,
    pub failed_logins: i32,
    pub locked_until: Option<i64>,
    pub codes_left: i64,
    pub member_of: Vec<Group>,
    pub other_groups: Vec<Group>,
    pub invited_until: Option<i64>,
    pub passkeys: Vec<crate::second_factor::passkeys::PasskeyRow>,
}

/// One page of the administrators' account list, with the locks of its rows.
pub struct AccountPage {
    pub rows: Vec<Account>,
    pub next: Option<String>,
    pub locks: Vec<(String, i64)>,
}

/// What an administrator does to one account (`App::administer`).
pub enum AdminAction {
    SetRole(accounts::Role),
    Disable,
    Enable,
    Unlock,
    RevokeSessions,
    RevokeSession(String),
    /// A new password, already checked against the policy and hashed.
    SetPassword(String),
    ResetSecondFactor,
    /// Delete, with the username typed again as confirmation.
    Delete(String),
    CancelInvitation,
    ResendInvitation,
    AddToGroup(i64),
    RemoveFromGroup(i64),
    /// Removes one passkey of the account.
    RemovePasskey(i64),
}

/// Who is asking a forward-auth question, from the access token or else the refresh token.
pub struct Asker {
    pub claims: Arc<Claims>,
    /// A fresh access token to hand back, when the question came with a refresh token only
    /// (none while a duty is pending: the person finishes signing in first).
    pub fresh_access: Option<String>,
}

/// A refusal comes back as the value (it changed nothing); a database error as the error.
fn refusal_as_value<T>(
    r: std::result::Result<(T, Effect), Refusal>,
) -> Result<(std::result::Result<T, Refusal>, Effect)> {
    match r {
        Ok((value, effect)) => Ok((Ok(value), effect)),
        Err(Refusal::Db(e)) => Err(e),
        Err(refusal) => Ok((Err(refusal), Effect::none())),
    }
}

impl App {
    // ---- reads for pages ----

    pub async fn account(&self, id: i64) -> Result<Option<Account>> {
        self.db.run(move |c| accounts::find(c, id)).await
    }

    /// The account, its live sessions and how many recovery codes it has left (the
    /// account page).
    pub async fn account_and_sessions(&self, id: i64) -> Result<(Account, Vec<Session>, i64)> {
        let now = self.now();
        self.db
            .run(move |c| {
                let account = accounts::find(c, id)?.ok_or(Error::NotFound)?;
                Ok((
                    account,
                    store::live_for_account(c, id, now)?,
                    crate::second_factor::codes_left(c, id)?,
                ))
            })
            .await
    }

    /// The account and how many recovery codes it has left (the second-factor page).
    pub async fn second_factor_status(&self, id: i64) -> Result<(Account, i64)> {
        self.db
            .run(move |c| {
                let account = accounts::find(c, id)?.ok_or(Error::NotFound)?;
                let left = crate::second_factor::codes_left(c, id)?;
                Ok((account, left))
            })
            .await
    }

    /// A fresh access token for the session `sid` of account `id`, as it stands now (after
    /// a duty was done in that session).
    pub async fn fresh_access_token(&self, id: i64, sid: &str) -> Result<String> {
        let now = self.now();
        let (account, groups) = self
            .db
            .run(move |c| Ok((accounts::find(c, id)?, crate::groups::of_account(c, id)?)))
            .await?;
        let account = account.ok_or(Error::NotFound)?;
        self.access_token(&account, &groups, sid, now)
    }

    pub async fn search_accounts(&self, search: accounts::Search) -> Result<AccountPage> {
        let now = self.now();
        self.db
            .run(move |c| {
                let (rows, next) = accounts::search(c, &search, now)?;
                let keys: Vec<String> = rows.iter().map(|a| a.username_key.clone()).collect();
                let locks = throttle::locked_until_many(c, &keys, now)?;
                Ok(AccountPage { rows, next, locks })
            })
            .await
    }

    pub async fn account_overview(&self, id: i64) -> Result<AccountOverview> {
        let now = self.now();
        self.db
            .run(move |c| {
                let account = accounts::find(c, id)?.ok_or(Error::NotFound)?;
                let (failed_logins, locked_until) =
                    throttle::status(c, &account.username_key, now)?;
                let invited_until = tokens::pending(c, tokens::INVITATION, id, now)?
                    .first()
                    .map(|t| t.expires_at);
                let (member_of, other_groups) = crate::groups::membership(c, id)?;
                Ok(AccountOverview {
                    sessions: store::live_for_account(c, id, now)?,
                    events: audit::search(c, Some(SubjectFilter::Id(id)), None, None, 20)?.0,
                    codes_left: crate::second_factor::codes_left(c, id)?,
                    account,
                    failed_logins,
                    locked_until,
                    member_of,
                    other_groups,
                    invited_until,
                    passkeys: crate::second_factor::passkeys::list(c, id)?,
                })
            })
            .await
    }

    /// Every group with its number of members.
    pub async fn groups(&self) -> Result<Vec<(Group, i64)>> {
        self.db.run(crate::groups::list).await
    }

    /// Audit events by subject name (an account's, or a name that was never one), kind and
    /// position; `limit` a page.
    pub async fn search_audit(
        &self,
        name: Option<String>,
        kind: Option<String>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<AuditRow>, Option<i64>)> {
        self.db
            .run(move |c| {
                let subject = match name {
                    Some(n) => Some(match accounts::find_by_username(c, &n)? {
                        Some(a) => SubjectFilter::Id(a.id),
                        None => SubjectFilter::Name(n),
                    }),
                    None => None,
                };
                audit::search(c, subject, kind.as_deref(), before, limit)
            })
            .await
    }

    /// The account a mailed link of `kind` is for, while the link is good (not used up).
    pub async fn link_account(&self, kind: &'static str, token: &str) -> Result<Option<Account>> {
        let (t, now) = (token.to_string(), self.now());
        self.db
            .run(move |c| Ok(tokens::peek(c, kind, &t, now)?.map(|(_, account)| account)))
            .await
    }

    /// Ready when the database answers, and, after writes have been failing in a row, when
    /// a write goes through again.
    pub async fn ready(&self) -> Result<()> {
        if self.db.writes_failing() {
            self.db.probe_write(self.now()).await
        } else {
            self.db.ping().await
        }
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &[crate::sessions::keys::Jwk] {
        self.keys.jwks()
    }

    /// The claims of an access token that passes every check now and whose session and
    /// standing still hold (the in-memory revocation view; no query).
    pub fn verify_access(&self, token: &str) -> Option<Arc<Claims>> {
        self.keys
            .verify(token, self.now())
            .filter(|c| !self.revocations.refuses(c))
    }

    /// Whether `token` is the live one-time setup token.
    pub fn setup_token_valid(&self, token: &str) -> bool {
        self.setup.is_valid(token, self.now())
    }

    /// Uses up the setup token (before the slow part, so that two submissions cannot both
    /// pass).
    pub fn consume_setup_token(&self, token: &str) -> bool {
        self.setup.consume(token, self.now())
    }

    /// Who asks a forward-auth question: the access token (no query), else the refresh
    /// token checked in the database without rotating it, with a fresh access token.
    pub async fn forward_asker(
        &self,
        access: Option<&str>,
        refresh: Option<&str>,
    ) -> Result<Option<Asker>> {
        if let Some(claims) = access.and_then(|t| self.verify_access(t)) {
            return Ok(Some(Asker {
                claims,
                fresh_access: None,
            }));
        }
        let Some(refresh) = refresh
            .filter(|t| store::is_refresh_token(t))
            .map(str::to_string)
        else {
            return Ok(None);
        };
        let now = self.now();
        let found = self
            .db
            .run(move |c| store::check_refresh(c, &refresh, now))
            .await?;
        let Some((account, session, groups)) = found else {
            return Ok(None);
        };
        let claims = self.claims(&account, &groups, &session.id, now)?;
        let fresh_access = match claims.has_duty() {
            true => None,
            false => Some(self.keys.sign(&claims)?),
        };
        Ok(Some(Asker {
            claims: Arc::new(claims),
            fresh_access,
        }))
    }

    // ---- OpenID Connect ----

    /// The OpenID Connect provider, when `public_url` is set.
    pub fn oidc(&self) -> Option<&Arc<crate::oidc::tokens::Provider>> {
        self.oidc.as_ref()
    }

    /// Whether an access token of the provider's is still good: its session, grant and
    /// token not ended or revoked, its account's standing unchanged (the in-memory view;
    /// no query).
    pub fn oidc_access_refused(
        &self,
        sid: &str,
        keys: [&str; 2],
        account: Option<i64>,
        groups: Option<&[String]>,
        issued_at: i64,
    ) -> bool {
        self.revocations
            .refuses_access(sid, keys, account, groups, issued_at)
    }

    // ---- passkeys: what the pages need besides the ceremonies (app::passkeys) ----

    /// The WebAuthn relying party, when passkeys are on.
    pub fn passkeys_relying_party(
        &self,
    ) -> Option<Arc<crate::second_factor::passkeys::RelyingParty>> {
        self.passkeys.clone()
    }

    /// Why passkeys are off, when they are (an IP address as the relying party, say).
    pub fn passkeys_off(&self) -> Option<&str> {
        self.passkeys_off.as_deref()
    }

    /// Whether the sign-in page shown to `ip` may carry one more passkey ceremony
    /// (`SIGN_IN_PAGES_PER_ADDRESS` in ten minutes; beyond it the page offers the
    /// password only).
    pub fn may_offer_passkey_sign_in(&self, ip: &str) -> bool {
        self.passkey_pages.take(ip).is_ok()
    }

    /// The account, its passkeys and how many recovery codes it has left (the passkeys
    /// page).
    pub async fn passkey_listing(
        &self,
        id: i64,
    ) -> Result<(
        Account,
        Vec<crate::second_factor::passkeys::PasskeyRow>,
        i64,
    )> {
        self.db
            .run(move |c| {
                let account = accounts::find(c, id)?.ok_or(Error::NotFound)?;
                Ok((
                    account,
                    crate::second_factor::passkeys::list(c, id)?,
                    crate::second_factor::codes_left(c, id)?,
                ))
            })
            .await
    }

    /// The pending sign-in behind a pending cookie: its token's hash and its account.
    pub async fn pending_sign_in(&self, token: &str) -> Result<Option<(String, Account)>> {
        let (token, now) = (token.to_string(), self.now());
        self.db
            .run(move |c| {
                let Some(p) = crate::sessions::pending::find(c, &token, now)? else {
                    return Ok(None);
                };
                Ok(accounts::find(c, p.account_id)?.map(|a| (p.token_hash, a)))
            })
            .await
    }

    pub async fn rename_passkey(&self, owner: Owner, id: i64, name: String) -> Result<()> {
        let now = self.now();
        self.change(move |c| crate::second_factor::passkeys::rename(c, &owner, id, &name, now))
            .await
    }

    /// Removes one of the owner's passkeys, unless it is the last way the account can
    /// sign in (or, with `second_factor_required`, its last second factor).
    pub async fn remove_passkey(
        &self,
        owner: Owner,
        id: i64,
        second_factor_required: bool,
    ) -> Result<Option<crate::second_factor::passkeys::Kept>> {
        let now = self.now();
        self.change(move |c| {
            crate::second_factor::passkeys::remove(c, &owner, id, second_factor_required, now)
        })
        .await
    }

    // ---- changes an owner asks for ----

    /// Renews a session with its refresh token, presented by `ip` with `fingerprint`
    /// (`store::client_fingerprint`): rotated, reused (the family ended), or invalid.
    pub async fn rotate(
        &self,
        refresh: String,
        ip: String,
        fingerprint: String,
    ) -> Result<store::Rotation> {
        let (now, grace) = (self.now(), self.settings.refresh_grace);
        self.change(move |c| {
            let by = store::Presenter {
                ip: &ip,
                fingerprint: &fingerprint,
                grace,
            };
            store::rotate(c, &refresh, &by, now)
        })
        .await
    }

    /// A new address for the owner's account, confirmed by a mailed link: `Some(wait)`
    /// when address changes are being made too often. The same answer whether the address
    /// is free, claimed or another account's (its owner is told by mail instead).
    pub async fn set_email(
        &self,
        owner: Owner,
        address: crate::mail::MailAddress,
    ) -> Result<Option<i64>> {
        let now = self.now();
        self.change(move |c| flows::set_email(c, &owner, &address, now))
            .await
    }

    pub async fn sign_out(&self, owner: Owner) -> Result<()> {
        let now = self.now();
        self.change(move |c| crate::sessions::sign_out(c, &owner, now))
            .await
    }

    pub async fn revoke_own_session(&self, owner: Owner, sid: String) -> Result<()> {
        let now = self.now();
        self.change(move |c| crate::sessions::revoke_own(c, &owner, &sid, now))
            .await
    }

    pub async fn revoke_other_sessions(&self, owner: Owner) -> Result<()> {
        let now = self.now();
        self.change(move |c| crate::sessions::revoke_others(c, &owner, now))
            .await
    }

    pub async fn set_mail_language(&self, owner: Owner, lang: String) -> Result<()> {
        let now = self.now();
        self.change(move |c| crate::sessions::set_mail_language(c, &owner, &lang, now))
            .await
    }

    pub async fn disable_second_factor(&self, owner: Owner) -> Result<()> {
        let now = self.now();
        self.change(move |c| crate::second_factor::disable(c, &owner, now))
            .await
    }

    /// Confirms an address with its mailed link: the account, or `None` for a bad link.
    pub async fn verify_email(&self, token: String, ip: String) -> Result<Option<Account>> {
        let now = self.now();
        self.db
            .run(move |c| flows::verify_email(c, &token, &ip, now))
            .await
    }

    /// A forgotten-password request: limited per client address and per folded login
    /// (the `Err` is the wait in seconds). The look-up and the mail happen after the
    /// answer, so that its time cannot tell whether an account matched.
    pub async fn request_password_reset(
        &self,
        login: String,
        ip: String,
    ) -> Result<std::result::Result<(), i64>> {
        if let Err(wait) = self.forgots.take(&ip) {
            return Ok(Err(wait));
        }
        // An address counts in its folded form, so that spellings of one address share a
        // count.
        let folded = crate::mail::address_key(&login).unwrap_or_else(|| login.to_lowercase());
        let (key, now) = (format!("reset:{folded}"), self.now());
        let admission = self
            .db
            .run(move |c| {
                crate::db::write_tx(c, |c| throttle::admit(c, &key, &flows::RESET_LIMITS, now))
            })
            .await?;
        if let throttle::Admission::Wait(wait) = admission {
            return Ok(Err(wait));
        }
        let (db, after) = (self.db.clone(), self.after_commit.clone());
        tokio::spawn(async move {
            match db
                .run(move |c| flows::request_reset(c, &login, &ip, now))
                .await
            {
                Ok(effect) => after.apply(effect),
                Err(e) => log::warn!("password reset request: {e}"),
            }
        });
        Ok(Ok(()))
    }

    /// Hashes a new password chosen through a mailed link (already checked against the
    /// policy by the page), in the hashing pool's lane for other work.
    pub async fn hash_new_password(&self, password: String) -> Result<String> {
        self.hasher
            .hash_with(crate::accounts::password::Priority::Other, password)
            .await
    }

    /// Sets the password a reset link is for; `false` for a bad link.
    pub async fn reset_password_with_link(
        &self,
        token: String,
        hash: String,
        ip: String,
    ) -> Result<bool> {
        let now = self.now();
        self.change(move |c| {
            Ok(match flows::reset_password(c, &token, &hash, &ip, now)? {
                Some(effect) => (true, effect),
                None => (false, Effect::none()),
            })
        })
        .await
    }

    /// Accepts an invitation with the chosen password; `None` for a bad link.
    pub async fn accept_invitation(
        &self,
        token: String,
        hash: String,
        ip: String,
    ) -> Result<Option<Account>> {
        let now = self.now();
        self.db
            .run(move |c| flows::accept_invitation(c, &token, &hash, &ip, now))
            .await
    }

    // ---- what administrators do ----

    /// One administrator action on account `target`; a refusal changes nothing.
    pub async fn administer(
        &self,
        actor: Actor,
        target: i64,
        action: AdminAction,
    ) -> Result<std::result::Result<(), Refusal>> {
        let now = self.now();
        self.change(move |c| {
            let (a, id) = (&actor, target);
            refusal_as_value(
                match action {
                    AdminAction::SetRole(role) => actions::set_role(c, a, id, role, now),
                    AdminAction::Disable => actions::disable(c, a, id, now),
                    AdminAction::Enable => actions::enable(c, a, id, now),
                    AdminAction::Unlock => actions::unlock(c, a, id, now),
                    AdminAction::RevokeSessions => actions::revoke_sessions(c, a, id, now),
                    AdminAction::RevokeSession(sid) => actions::revoke_session(c, a, id, &sid, now),
                    AdminAction::SetPassword(hash) => actions::reset_password(c, a, id, &hash, now),
                    AdminAction::ResetSecondFactor => actions::reset_second_factor(c, a, id, now),
                    AdminAction::Delete(confirm) => actions::delete(c, a, id, &confirm, now),
                    AdminAction::CancelInvitation => actions::cancel_invitation(c, a, id, now),
                    AdminAction::ResendInvitation => actions::resend_invitation(c, a, id, now),
                    AdminAction::AddToGroup(g) => actions::set_membership(c, a, id, g, true, now),
                    AdminAction::RemoveFromGroup(g) => {
                        actions::set_membership(c, a, id, g, false, now)
                    }
                    AdminAction::RemovePasskey(p) => actions::remove_passkey(c, a, id, p, now),
                }
                .map(|effect| ((), effect)),
            )
        })
        .await
    }

    /// An administrator's new password for account `target`: checked against the policy
    /// (the `Err` of the outer result's value), hashed, set.
    pub async fn admin_set_password(
        &self,
        actor: Actor,
        target: i64,
        password: String,
    ) -> Result<std::result::Result<std::result::Result<(), Refusal>, crate::i18n::Message>> {
        let account = self.account(target).await?.ok_or(Error::NotFound)?;
        if let Err(msg) = self.policy.check(&password, &account.username) {
            return Ok(Err(msg));
        }
        let hash = self.hasher.hash(password).await?;
        Ok(Ok(self
            .administer(actor, target, AdminAction::SetPassword(hash))
            .await?))
    }

    /// An invitation: an account without a password, and a mailed link to choose one.
    pub async fn invite(
        &self,
        actor: Actor,
        username: String,
        email: crate::mail::MailAddress,
        role: accounts::Role,
        lang: &'static str,
    ) -> Result<std::result::Result<i64, Refusal>> {
        let now = self.now();
        self.change(move |c| {
            let inv = actions::Invitation {
                username: &username,
                email: &email,
                role,
                lang,
            };
            refusal_as_value(actions::invite(c, &actor, &inv, now))
        })
        .await
    }

    pub async fn create_group(
        &self,
        actor: Actor,
        name: String,
    ) -> Result<std::result::Result<(), Refusal>> {
        let now = self.now();
        self.change(move |c| {
            refusal_as_value(actions::create_group(c, &actor, &name, now).map(|e| ((), e)))
        })
        .await
    }

    pub async fn delete_group(
        &self,
        actor: Actor,
        id: i64,
    ) -> Result<std::result::Result<(), Refusal>> {
        let now = self.now();
        self.change(move |c| {
            refusal_as_value(actions::delete_group(c, &actor, id, now).map(|e| ((), e)))
        })
        .await
    }
}
