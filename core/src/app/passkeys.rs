//! Passkeys' use cases: the options a page hands to the browser, adding a passkey, and
//! the sign-in with one (through the attempt pipeline, like a password: in-flight places
//! per credential and per address, the address's failure window, admission under the
//! credential's own throttle key; then one transaction that checks the answer and starts
//! the session with `sessions::start`'s own steps).

use crate::audit::Kind;
use std::sync::Arc;

use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::attempt::{Admitted, Attempted, Gate, Verdict};
use super::{App, SignIn};
use crate::accounts::{username_key, Account, Owner};
use crate::effect::{Effect, SignInOutcome};
use crate::error::{Error, Result};
use crate::second_factor::passkeys::{self, Added, RelyingParty};
use crate::sessions::{self, PasskeyAnswer, PasskeySignIn};

/// What the passkey sign-in form sent, and from where.
pub struct PasskeySignInAttempt<'a> {
    /// The JSON of the browser's `PublicKeyCredential`.
    pub credential: &'a str,
    /// The browser's pre-session cookie, which the ceremony is bound to.
    pub presession: &'a str,
    pub remember: bool,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub device: Option<&'a str>,
}

/// How adding a passkey went.
pub enum PasskeyAdded {
    /// Added; the recovery codes to show once, when it was the account's first second
    /// factor.
    Added {
        name: String,
        codes: Option<Vec<String>>,
    },
    /// The answer did not fit (expired, another browser's, did not verify).
    Refused,
}

/// The throttle key of a sign-in with the passkey `credential_id`: its own (a stranger's
/// failures at the name cannot refuse it, and its failures do not lock the name).
pub fn passkey_key(name: &str, credential_id: &str) -> String {
    let hash = crate::random::hash_token(credential_id);
    format!("{}#passkey:{}", username_key(name), &hash[..16])
}

impl App {
    /// The relying party, when passkeys are on.
    pub fn relying_party(&self) -> Result<Arc<RelyingParty>> {
        self.passkeys.clone().ok_or(Error::NotFound)
    }

    /// The request options of the sign-in page (a discoverable passkey, no username),
    /// bound to the browser's pre-session cookie.
    pub async fn passkey_sign_in_options(&self, presession: &str) -> Result<String> {
        let rp = self.relying_party()?;
        let (binding, now) = (passkeys::presession_binding(presession), self.now());
        self.db
            .run(move |c| passkeys::start_sign_in(c, &rp, &binding, now))
            .await
    }

    /// The request options listing the account's passkeys, for a ceremony of `kind`
    /// (`second_step`, `reauth`) bound to `binding`; `None` when it has none.
    pub async fn passkey_account_options(
        &self,
        kind: &'static str,
        binding: String,
        account_id: i64,
    ) -> Result<Option<String>> {
        let Ok(rp) = self.relying_party() else {
            return Ok(None);
        };
        let now = self.now();
        self.db
            .run(move |c| passkeys::start_for_account(c, &rp, kind, &binding, account_id, now))
            .await
    }

    /// The creation options of the account page, bound to the session `sid`.
    pub async fn passkey_registration_options(
        &self,
        account: &Account,
        sid: &str,
    ) -> Result<String> {
        let rp = self.relying_party()?;
        let (account, sid, now) = (account.clone(), sid.to_string(), self.now());
        self.db
            .run(move |c| passkeys::start_registration(c, &rp, &account, &sid, now))
            .await
    }

    /// Adds the passkey the browser made for the ceremony of this session.
    pub async fn add_passkey(
        &self,
        owner: &Owner,
        name: &str,
        credential: &str,
    ) -> Result<PasskeyAdded> {
        let rp = self.relying_party()?;
        let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(credential) else {
            return Ok(PasskeyAdded::Refused);
        };
        let codes = crate::second_factor::new_recovery_codes()?;
        let hashes: Vec<String> = codes.iter().map(|c| self.vault.code_hash(c)).collect();
        let (owner, name, now) = (owner.clone(), name.to_string(), self.now());
        let added = self
            .change(move |c| {
                passkeys::finish_registration(c, &rp, &owner, &name, &credential, &hashes, now)
            })
            .await?;
        Ok(match added {
            Added::Added { name, codes: used } => PasskeyAdded::Added {
                name,
                codes: used.then_some(codes),
            },
            Added::Refused(_) => PasskeyAdded::Refused,
        })
    }

    /// Parses a browser's answer to a request ceremony (`None` for anything else).
    pub fn parse_assertion(credential: &str) -> Option<PublicKeyCredential> {
        if credential.trim().is_empty() {
            return None;
        }
        serde_json::from_str(credential).ok()
    }

    /// Signs in with a discoverable passkey: named by its credential, admitted and counted
    /// through the attempt pipeline, then checked and the session started in one
    /// transaction.
    pub async fn passkey_sign_in(&self, attempt: &PasskeySignInAttempt<'_>) -> Result<SignIn> {
        let rp = self.relying_party()?;
        let credential = Self::parse_assertion(attempt.credential);
        let cred_key = credential
            .as_ref()
            .map(|c| passkeys::credential_key(c.get_credential_id()))
            .unwrap_or_default();
        let lookup = cred_key.clone();
        let owner = if lookup.is_empty() {
            None
        } else {
            self.db.run(move |c| passkeys::owner_of(c, &lookup)).await?
        };
        let name = owner.map(|(_, name)| name).unwrap_or_default();
        let known_device = !name.is_empty()
            && attempt
                .device
                .and_then(|d| self.device.verify(d, &name))
                .is_some();
        let owner_name = name.clone();
        let gate = Gate {
            name: &name,
            key: passkey_key(&name, &cred_key),
            address: Some(attempt.ip),
            owner: known_device,
        };
        let check = |admitted: Admitted| async move {
            let Admitted {
                key,
                locked_for,
                in_flight,
                ..
            } = admitted;
            let Some(credential) = credential else {
                // Not an answer at all: counted, and audited like any refusal.
                let (ip, now) = (attempt.ip.to_string(), self.now());
                self.change(move |c| {
                    let failed = sessions::FailedSignIn {
                        kind: Kind::PasskeyFailure,
                        name: "",
                        account: None,
                        reason: "not a passkey's answer",
                        ip: &ip,
                        locked_for,
                    };
                    let mut effect = sessions::record_failed_sign_in(c, &failed, now)?;
                    effect.sign_in = Some(SignInOutcome::Failure);
                    Ok(effect)
                })
                .await?;
                return Ok(Verdict::Wrong(SignIn::Failed));
            };
            let others_in_flight = in_flight.others();
            let (binding, remember, user_agent, ip, max_sessions, now) = (
                passkeys::presession_binding(attempt.presession),
                attempt.remember,
                attempt.user_agent.to_string(),
                attempt.ip.to_string(),
                self.settings.max_sessions,
                self.now(),
            );
            let name = owner_name;
            let started = self
                .change(move |c| {
                    let step = PasskeySignIn {
                        answer: PasskeyAnswer {
                            rp: &rp,
                            credential: &credential,
                        },
                        binding: &binding,
                        name: &name,
                        remember,
                        user_agent: &user_agent,
                        ip: &ip,
                        throttle_key: &key,
                        locked_for,
                        others_in_flight,
                        max_sessions,
                        new_device: !known_device,
                    };
                    sessions::passkey_sign_in(c, &step, now)
                })
                .await?;
            drop(in_flight);
            self.signed_in(started, known_device, now)
        };
        match self.attempt(gate, check).await? {
            Attempted::Done(result) => Ok(result),
            Attempted::Throttled(wait) => {
                self.apply(Effect::sign_in(SignInOutcome::Throttled));
                Ok(SignIn::Throttled(wait))
            }
        }
    }
}
