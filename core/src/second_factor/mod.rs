//! The second factor: enrolment, recovery codes, checking a code (each TOTP step and each
//! recovery code is accepted once, atomically), and turning it off. Plain values in, an
//! `Effect` out; the flows that also need a password are in `app`.

pub mod passkeys;
pub mod totp;
pub mod vault;

use crate::audit::Kind;
use diesel::prelude::*;

use crate::accounts::Account;
use crate::accounts::Owner;
use crate::audit::{self, Event};
use crate::db::schema::{accounts, recovery_codes};
use crate::db::{write_tx, DbConn};
use crate::effect::Effect;
use crate::error::{Error, Result};
use vault::Vault;

/// Recovery codes in a set.
pub const RECOVERY_CODES: usize = 10;

/// The context a TOTP secret is sealed with: its account.
pub fn secret_context(account_id: i64) -> String {
    format!("totp:{account_id}")
}

/// A new set of recovery codes as shown to the person (`xxxx-xxxx-xxxx-xxxx`, 80 bits).
pub fn new_recovery_codes() -> Result<Vec<String>> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = data_encoding::BASE32_NOPAD
                .encode(&crate::random::bytes::<10>()?)
                .to_ascii_lowercase();
            Ok(raw
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-"))
        })
        .collect()
}

fn replace_codes(conn: &mut DbConn, account_id: i64, hashes: &[String], now: i64) -> Result<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id)))
        .execute(conn)?;
    for hash in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::account_id.eq(account_id),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Unused recovery codes of an account.
pub fn codes_left(conn: &mut DbConn, account_id: i64) -> Result<i64> {
    Ok(recovery_codes::table
        .filter(recovery_codes::account_id.eq(account_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Completes enrolment: the sealed secret, the step its confirming code used (so that
/// code cannot be used again), and the hashes of a first set of recovery codes.
/// `Error::Conflict` when a second factor is already set.
pub fn enrol(
    conn: &mut DbConn,
    owner: &Owner,
    sealed_secret: &str,
    step: i64,
    code_hashes: &[String],
    now: i64,
) -> Result<Effect> {
    write_tx(conn, |c| {
        let set = diesel::update(
            accounts::table
                .find(owner.account_id)
                .filter(accounts::totp_secret.is_null()),
        )
        .set((
            accounts::totp_secret.eq(sealed_secret),
            accounts::totp_enabled_at.eq(now),
            accounts::totp_last_step.eq(step),
            accounts::recovery_used_at.eq(None::<i64>),
        ))
        .execute(c)?;
        if set != 1 {
            return Err(Error::Conflict("a second factor is already set"));
        }
        replace_codes(c, owner.account_id, code_hashes, now)?;
        audit::record(
            c,
            &Event::new(Kind::TwoFactorEnabled, &owner.ip, now)
                .actor(owner.account_id)
                .subject(owner.account_id, &owner.name)
                .detail(format!("TOTP, {} recovery codes", code_hashes.len())),
        )?;
        let mail = crate::outbox::notify_id(
            c,
            owner.account_id,
            crate::outbox::kind::SECOND_FACTOR_ADDED,
            &serde_json::json!({ "name": owner.name, "ip": owner.ip }),
            now,
        )?;
        Ok(Effect {
            mail,
            ..Effect::none()
        })
    })
}

/// A new set of recovery codes; the old ones stop working.
pub fn regenerate_codes(
    conn: &mut DbConn,
    owner: &Owner,
    code_hashes: &[String],
    now: i64,
) -> Result<Effect> {
    write_tx(conn, |c| {
        let account = crate::accounts::find_for_update(c, owner.account_id)?
            .filter(Account::has_second_factor)
            .ok_or(Error::NotFound)?;
        replace_codes(c, account.id, code_hashes, now)?;
        audit::record(
            c,
            &Event::new(Kind::RecoveryCodesRegenerated, &owner.ip, now)
                .actor(owner.account_id)
                .subject(account.id, &account.username),
        )?;
        Ok(Effect::none())
    })
}

/// Removes an account's TOTP and its recovery codes (its passkeys stay: see
/// `passkeys::remove_all`). Runs inside the caller's transaction; the caller writes the
/// audit row.
pub fn remove(conn: &mut DbConn, account_id: i64) -> Result<bool> {
    remove_totp(conn, account_id, false)
}

/// Removes an account's TOTP, and its recovery codes unless `keep_codes` (they still
/// stand beside its passkeys).
fn remove_totp(conn: &mut DbConn, account_id: i64, keep_codes: bool) -> Result<bool> {
    let n = diesel::update(
        accounts::table
            .find(account_id)
            .filter(accounts::totp_secret.is_not_null()),
    )
    .set((
        accounts::totp_secret.eq(None::<String>),
        accounts::totp_enabled_at.eq(None::<i64>),
        accounts::totp_last_step.eq(None::<i64>),
        accounts::recovery_used_at.eq(None::<i64>),
    ))
    .execute(conn)?;
    if !keep_codes {
        diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id)))
            .execute(conn)?;
    }
    Ok(n == 1)
}

/// The owner turns TOTP off (the caller has checked the policy allows it); with passkeys
/// left, the recovery codes stay.
pub fn disable(conn: &mut DbConn, owner: &Owner, now: i64) -> Result<Effect> {
    write_tx(conn, |c| {
        let keep_codes =
            crate::accounts::find_for_update(c, owner.account_id)?.is_some_and(|a| a.passkeys > 0);
        if !remove_totp(c, owner.account_id, keep_codes)? {
            return Err(Error::NotFound);
        }
        audit::record(
            c,
            &Event::new(Kind::TwoFactorDisabled, &owner.ip, now)
                .actor(owner.account_id)
                .subject(owner.account_id, &owner.name),
        )?;
        let mail = crate::outbox::notify_id(
            c,
            owner.account_id,
            crate::outbox::kind::SECOND_FACTOR_REMOVED,
            &serde_json::json!({ "name": owner.name, "ip": owner.ip }),
            now,
        )?;
        Ok(Effect {
            mail,
            ..Effect::none()
        })
    })
}

/// What a code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// A right TOTP code of a step not used before.
    Totp,
    /// An unused recovery code, now used; so many are left.
    Recovery { left: i64 },
    /// Wrong, or a TOTP step already used (a code seen over a shoulder).
    Wrong,
}

/// Checks a code for `account` and uses it up: a TOTP step is accepted at most once, a
/// recovery code once. Runs inside the caller's write transaction (the conditional
/// updates make two requests with one code race safely).
pub fn check_code(
    conn: &mut DbConn,
    vault: &Vault,
    account: &Account,
    code: &str,
    now: i64,
) -> Result<CodeCheck> {
    // An account with passkeys and no TOTP has recovery codes alone.
    let secret = match &account.totp_secret {
        Some(sealed) => Some(vault.open(sealed, &secret_context(account.id)).ok_or_else(|| {
            Error::Internal(format!(
                "the second-factor secret of account {} does not open (was `encryption_key` changed?)",
                account.id
            ))
        })?),
        None => None,
    };
    if let Some(step) = secret
        .as_ref()
        .and_then(|secret| totp::matching_step(secret, code, now))
    {
        let fresh = diesel::update(
            accounts::table.find(account.id).filter(
                accounts::totp_last_step
                    .is_null()
                    .or(accounts::totp_last_step.lt(step)),
            ),
        )
        .set(accounts::totp_last_step.eq(step))
        .execute(conn)?;
        return Ok(if fresh == 1 {
            CodeCheck::Totp
        } else {
            CodeCheck::Wrong
        });
    }
    if code.trim().is_empty() {
        return Ok(CodeCheck::Wrong);
    }
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::account_id.eq(account.id))
            .filter(recovery_codes::code_hash.eq(vault.code_hash(code)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    if used != 1 {
        return Ok(CodeCheck::Wrong);
    }
    diesel::update(accounts::table.find(account.id))
        .set(accounts::recovery_used_at.eq(now))
        .execute(conn)?;
    Ok(CodeCheck::Recovery {
        left: codes_left(conn, account.id)?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn recovery_codes_are_ten_distinct_groups_of_four() -> crate::error::Result<()> {
        let codes = super::new_recovery_codes()?;
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            assert!(c.split('-').all(|g| g.len() == 4));
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        Ok(())
    }
}
