//! Use cases of the second factor that need more than one domain step: the second step
//! of a sign-in, "confirm it's you" (a password and, where set, a code), enrolment, and
//! the checks around them.

use super::attempt::{Admitted, Attempted, Gate, Verdict};
use super::App;
use crate::accounts::Account;
use crate::error::{Error, Result};
use crate::i18n::Message;
use crate::second_factor::{self as second, totp};
use crate::sessions::{
    self, pending, store, Owner, PasskeyAnswer, SecondStep, SecondStepOutcome, Started,
};

use super::SignedIn;

/// How the second step went.
pub enum SecondStepResult {
    Success(SignedIn),
    /// Wrong code: try again (so many tries left).
    Wrong(i32),
    /// Nothing to continue (expired, too many wrong codes, the account changed).
    Gone,
    Throttled(i64),
}

/// How a confirmation went.
pub enum Reauth {
    Confirmed,
    Refused(Message),
    Throttled(i64),
    /// This failure reached the lockout threshold: the session has ended.
    SignedOut,
}

/// What the enrolment page offers: a new secret, sealed for the form.
pub struct Offer {
    pub sealed: String,
    pub base32: String,
    pub uri: String,
    pub qr_svg: String,
}

impl App {
    /// Whether `account` must have a second factor under `require_2fa` and has none.
    pub fn must_enrol(&self, account: &Account) -> bool {
        self.settings.require_2fa.covers(account.role()) && !account.has_second_factor()
    }

    /// Checks the code of a pending sign-in; on success the session starts.
    /// `credential`, when not empty, is a passkey's answer instead of the code.
    pub async fn second_step(
        &self,
        token: &str,
        code: &str,
        credential: &str,
        ip: &str,
        user_agent: &str,
        device: Option<&str>,
    ) -> Result<SecondStepResult> {
        let passkey = match Self::parse_assertion(credential) {
            Some(answer) => Some((self.relying_party()?, answer)),
            None if credential.trim().is_empty() => None,
            // Something that is not an answer: a wrong "code".
            None => Some((self.relying_party()?, empty_answer())),
        };
        let (t, now) = (token.to_string(), self.now());
        let found = self
            .db
            .run(move |c| {
                let Some(p) = pending::find(c, &t, now)? else {
                    return Ok(None);
                };
                Ok(crate::accounts::find(c, p.account_id)?.map(|a| (p, a)))
            })
            .await?;
        let Some((p, account)) = found else {
            return Ok(SecondStepResult::Gone);
        };
        let new_device = device
            .and_then(|d| self.device.verify(d, &account.username))
            .is_none();
        let gate = Gate {
            name: &account.username,
            key: super::attempt::pending_key(&account.username, &p.token_hash),
            address: Some(ip),
            owner: !new_device,
        };
        let name_key = p.throttle_key.clone();
        let check = |admitted: Admitted| async move {
            let (token, code, ip, user_agent) = (
                token.to_string(),
                code.to_string(),
                ip.to_string(),
                user_agent.to_string(),
            );
            let (locked_for, limits, max_sessions, now) = (
                admitted.locked_for,
                admitted.limits,
                self.settings.max_sessions,
                self.now(),
            );
            // Other attempts at the name (a stranger's, in flight now) keep their count
            // when this sign-in succeeds.
            let others = admitted.in_flight.others() || self.in_flight.running(&name_key);
            let vault = self.vault.clone();
            let outcome = self
                .change(move |c| {
                    let step = SecondStep {
                        token: &token,
                        code: &code,
                        user_agent: &user_agent,
                        ip: &ip,
                        locked_for,
                        limits: &limits,
                        others_in_flight: others,
                        max_sessions,
                        new_device,
                        passkey: passkey
                            .as_ref()
                            .map(|(rp, credential)| PasskeyAnswer { rp, credential }),
                    };
                    sessions::finish_second_step(c, &vault, &step, now)
                })
                .await?;
            drop(admitted);
            Ok(match outcome {
                SecondStepOutcome::Started(Started::Session {
                    session,
                    refresh,
                    account,
                    groups,
                }) => Verdict::Right(SecondStepResult::Success(SignedIn {
                    access: self.access_token(&account, &groups, &session.id, now)?,
                    refresh,
                    device: Some(self.device.issue(&account.username)?),
                    now,
                })),
                SecondStepOutcome::Started(Started::AccountChanged) | SecondStepOutcome::Gone => {
                    Verdict::Wrong(SecondStepResult::Gone)
                }
                SecondStepOutcome::Wrong { left } => Verdict::Wrong(SecondStepResult::Wrong(left)),
            })
        };
        Ok(match self.attempt(gate, check).await? {
            Attempted::Done(result) => result,
            Attempted::Throttled(wait) => SecondStepResult::Throttled(wait),
        })
    }

    /// Whether the session behind `sid` confirmed who it is within `reauth_window`.
    pub async fn recently_confirmed(&self, sid: &str) -> Result<bool> {
        let (sid, now, window) = (sid.to_string(), self.now(), self.settings.reauth_window);
        let session = self.db.run(move |c| store::find(c, &sid)).await?;
        Ok(session.is_some_and(|s| s.ended_at.is_none() && now - s.reauth_at <= window))
    }

    /// "Confirm it's you": the password and, where a second factor is set, a code.
    /// Through the attempt pipeline under the session's own throttle key (a stranger's
    /// failures at the name do not refuse it); failures count for the name too, and the
    /// one that reaches the session's threshold ends this session.
    pub async fn reauthenticate(
        &self,
        owner: &Owner,
        password: &str,
        code: &str,
        credential: &str,
    ) -> Result<Reauth> {
        let passkey = match Self::parse_assertion(credential) {
            Some(answer) => Some((self.relying_party()?, answer)),
            None if credential.trim().is_empty() => None,
            None => Some((self.relying_party()?, empty_answer())),
        };
        let gate = Gate::in_session(owner);
        let check = |admitted: Admitted| async move {
            let account = admitted.account.ok_or(Error::NotFound)?;
            let password_ok = self
                .hasher
                .verify(
                    admitted.priority,
                    password.to_string(),
                    Some(account.password_hash.clone()),
                )
                .await?;
            let (who, code, key, locked_for, limits, others, now) = (
                owner.clone(),
                code.to_string(),
                admitted.key,
                admitted.locked_for,
                admitted.limits,
                admitted.in_flight.others(),
                self.now(),
            );
            let vault = self.vault.clone();
            let confirmed = self
                .change(move |c| {
                    let check = sessions::Confirmation {
                        owner: &who,
                        account: &account,
                        password_ok,
                        code: &code,
                        throttle_key: &key,
                        locked_for,
                        others_in_flight: others,
                        limits: &limits,
                        passkey: passkey
                            .as_ref()
                            .map(|(rp, credential)| PasskeyAnswer { rp, credential }),
                    };
                    sessions::confirm_identity(c, &vault, &check, now)
                })
                .await?;
            Ok(match (confirmed, locked_for) {
                (true, _) => Verdict::Right(Reauth::Confirmed),
                (false, Some(_)) => Verdict::Wrong(Reauth::SignedOut),
                (false, None) => Verdict::Wrong(Reauth::Refused(Message::new("msg-reauth-failed"))),
            })
        };
        Ok(match self.attempt(gate, check).await? {
            Attempted::Done(result) => result,
            Attempted::Throttled(wait) => Reauth::Throttled(wait),
        })
    }

    /// A new secret to enrol, sealed for the enrolment form (the page shows it once).
    pub fn enrolment_offer(&self, account: &Account) -> Result<Offer> {
        let secret = totp::new_secret()?;
        let uri = totp::uri(&secret, &account.username)?;
        Ok(Offer {
            sealed: self.vault.seal(&secret, &enrolment_context(account.id))?,
            base32: totp::base32(&secret),
            qr_svg: totp::qr_svg(&uri)?,
            uri,
        })
    }

    /// Completes enrolment when `code` is right for the offered secret; returns the
    /// recovery codes to show once, or `None` for a wrong code.
    pub async fn enrol(
        &self,
        owner: &Owner,
        sealed_offer: &str,
        code: &str,
    ) -> Result<Option<Vec<String>>> {
        let secret = self
            .vault
            .open(sealed_offer, &enrolment_context(owner.account_id))
            .ok_or(Error::NotFound)?;
        let now = self.now();
        let Some(step) = totp::matching_step(&secret, code, now) else {
            return Ok(None);
        };
        let sealed = self
            .vault
            .seal(&secret, &second::secret_context(owner.account_id))?;
        let codes = second::new_recovery_codes()?;
        let hashes: Vec<String> = codes.iter().map(|c| self.vault.code_hash(c)).collect();
        let owner = owner.clone();
        self.change(move |c| second::enrol(c, &owner, &sealed, step, &hashes, now))
            .await?;
        Ok(Some(codes))
    }

    /// A new set of recovery codes, to show once.
    pub async fn regenerate_recovery_codes(&self, owner: &Owner) -> Result<Vec<String>> {
        let codes = second::new_recovery_codes()?;
        let hashes: Vec<String> = codes.iter().map(|c| self.vault.code_hash(c)).collect();
        let (owner, now) = (owner.clone(), self.now());
        self.change(move |c| second::regenerate_codes(c, &owner, &hashes, now))
            .await?;
        Ok(codes)
    }
}

/// An answer that answers nothing (what a malformed `credential` field counts as: it is
/// refused where a passkey's answer is checked, as a wrong code would be).
fn empty_answer() -> webauthn_rs::prelude::PublicKeyCredential {
    webauthn_rs::prelude::PublicKeyCredential {
        id: String::new(),
        raw_id: Vec::new(),
        response: webauthn_rs_proto::AuthenticatorAssertionResponseRaw {
            authenticator_data: Vec::new(),
            client_data_json: Vec::new(),
            signature: Vec::new(),
            user_handle: None,
        },
        extensions: Default::default(),
        type_: String::new(),
    }
}

/// The context an offered (not yet confirmed) secret is sealed with: only this account's
/// enrolment form opens it.
fn enrolment_context(account_id: i64) -> String {
    format!("totp-offer:{account_id}")
}
