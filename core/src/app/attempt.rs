//! The one shape of every attempt at a secret: the sign-in's password, its second step's
//! code, "confirm it's you" and the current password on the password form.
//!
//! in-flight place (per throttle key: strangers at a name share the name's; the owner's
//! known device, live session and pending sign-in have their own) → in-flight place per
//! client address and address slot (the sign-in's steps; an IPv6 address counts by its
//! /64) → admission (the
//! throttle key may try now, and this attempt is counted as a failure in the same
//! transaction, so that parallel guesses are all counted) → the flow's check → its
//! failure recorded, or its count refunded with what success does (one transaction, a
//! domain function) → the effect applied (`App::change`) → the address slot given back
//! when it was right. The check hashes in the owner's lane of the hashing pool when the
//! attempt is the owner's (a known device, the live session), ahead of strangers'.
//!
//! What differs between the flows is passed in: the name and the throttle key, whether an
//! address slot is taken, and the check (what is verified, which audit kind a failure
//! gets, what success does). What they share is here, and in `throttle::admit` and
//! `throttle::succeeded`, which every success refunds through: a correct attempt never
//! starts or prolongs a wait of its own account.

use std::future::Future;

use super::App;
use crate::accounts::password::Priority;
use crate::accounts::throttle::{Admission, InFlightGuard, Limits};
use crate::accounts::{username_key, Account};
use crate::error::{Error, Result};
use crate::sessions::{self, Owner};

/// Who an attempt is for, and how it is counted.
pub struct Gate<'a> {
    /// The name the attempt is at (its account is looked up with the admission).
    pub name: &'a str,
    /// The throttle key it is admitted and counted under, and only a few attempts under
    /// it run at once: the name, the name and a known device, the name and the live
    /// session, or the name and the pending sign-in.
    pub key: String,
    /// The client address, for the steps counted per address too (before a session).
    pub address: Option<&'a str>,
    /// The key is the account owner's own (a valid known-device cookie for the account, or
    /// the live session): the attempt hashes in the owner's lane, ahead of strangers'.
    pub owner: bool,
}

impl<'a> Gate<'a> {
    /// A check in the owner's live session: under the session's own key, in the owner's
    /// lane, with no address slot (the session is already signed in).
    pub fn in_session(owner: &'a Owner) -> Gate<'a> {
        Gate {
            name: &owner.name,
            key: session_key(owner),
            address: None,
            owner: true,
        }
    }
}

/// An attempt let through: already counted as a failure of `key`, until the flow's
/// success refunds it.
pub struct Admitted {
    /// The account behind the name, if any (looked up with the admission).
    pub account: Option<Account>,
    pub key: String,
    /// The wait this attempt started when it was admitted, if it did: a failure records
    /// the lockout; a success ends it.
    pub locked_for: Option<i64>,
    pub limits: Limits,
    /// This attempt's place among those in flight for the name, held until it is recorded.
    pub in_flight: InFlightGuard,
    /// The hashing lane of its check: `Owner` or `SignIn`.
    pub priority: Priority,
}

/// What the flow's check found; the flow has recorded it (the failure, or the refund).
pub enum Verdict<T> {
    /// Right: refunded; the address slot is given back.
    Right(T),
    /// Not right (wrong, or it could not finish: the account changed, nothing left to
    /// continue): it stays counted.
    Wrong(T),
}

pub enum Attempted<T> {
    Done(T),
    /// Refused before anything was checked: wait so many seconds.
    Throttled(i64),
}

impl App {
    /// Runs one attempt through the pipeline; `check` gets it once admitted.
    pub(super) async fn attempt<T, F, Fut>(&self, gate: Gate<'_>, check: F) -> Result<Attempted<T>>
    where
        F: FnOnce(Admitted) -> Fut,
        Fut: Future<Output = Result<Verdict<T>>>,
    {
        // Places are per throttle key: strangers at a name share theirs, and cannot take
        // those of the owner's known device, live session or pending sign-in.
        let Some(in_flight) = self.in_flight.enter(&gate.key) else {
            return Ok(Attempted::Throttled(1));
        };
        let address_place = match gate.address.map(|ip| self.in_flight_addresses.enter(ip)) {
            Some(None) => return Ok(Attempted::Throttled(1)),
            place => place.flatten(),
        };
        let slot = match gate.address.map(|ip| self.addresses.take(ip)).transpose() {
            Ok(slot) => slot,
            Err(wait) => return Ok(Attempted::Throttled(wait)),
        };
        let (name, key, limits, now) = (
            gate.name.to_string(),
            gate.key.clone(),
            self.settings.throttle,
            self.now(),
        );
        let (account, admission) = self
            .db
            .run(move |c| sessions::admit_sign_in(c, &name, &key, &limits, now))
            .await?;
        let locked_for = match admission {
            Admission::Wait(wait) => {
                if let Some(slot) = slot {
                    self.addresses.refund(slot);
                }
                return Ok(Attempted::Throttled(wait));
            }
            Admission::Admitted { locked_for } => locked_for,
        };
        let admitted = Admitted {
            account,
            key: gate.key.clone(),
            locked_for,
            limits,
            in_flight,
            priority: if gate.owner {
                Priority::Owner
            } else {
                Priority::SignIn
            },
        };
        let verdict = match check(admitted).await {
            Ok(verdict) => verdict,
            // Not checked (the hashing pool was too busy): counted for nobody.
            Err(e @ Error::Busy(_)) => {
                let (key, started_wait, now) = (gate.key, locked_for.is_some(), self.now());
                self.db
                    .run(move |c| sessions::refund_unchecked(c, &key, started_wait, now))
                    .await?;
                if let Some(slot) = slot {
                    self.addresses.refund(slot);
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        drop(address_place);
        Ok(Attempted::Done(match verdict {
            Verdict::Right(value) => {
                if let Some(slot) = slot {
                    self.addresses.refund(slot);
                }
                value
            }
            Verdict::Wrong(value) => value,
        }))
    }
}

/// The throttle key of the second step of a pending sign-in: its own, so that failures
/// at the name after its password was right (a stranger's) cannot refuse its code; its
/// wrong codes count for the name too (`sessions::finish_second_step`).
pub fn pending_key(name: &str, token_hash: &str) -> String {
    let short = token_hash.get(..16).unwrap_or(token_hash);
    format!("{}#pending:{short}", username_key(name))
}

/// The throttle key of a check in a live session: its own, so that a stranger's failures
/// at the name cannot lock the owner's session out (its own failures count for the name
/// too, see `sessions::failed_in_session`).
pub fn session_key(owner: &Owner) -> String {
    format!("{}#session:{}", username_key(&owner.name), owner.sid)
}
