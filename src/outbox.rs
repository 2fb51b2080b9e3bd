//! The outbox: mail written in the same transaction as the event that causes it, for the
//! sender (`mail::sender`) to deliver. Low in the layers, so that any domain change can
//! queue a notice; what mail says and how it goes out is in `mail`.

use diesel::prelude::*;
use serde_json::Value;

use crate::accounts::Account;
use crate::db::schema::outbox;
use crate::db::DbConn;
use crate::error::Result;

/// What a mail is about (its templates are `mail-<kind>-subject` and `-body`).
pub mod kind {
    pub const VERIFY_EMAIL: &str = "verify_email";
    pub const EMAIL_CHANGED: &str = "email_changed";
    pub const RESET_LINK: &str = "reset_link";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const INVITATION: &str = "invitation";
    pub const SECOND_FACTOR_ADDED: &str = "2fa_enabled";
    pub const SECOND_FACTOR_REMOVED: &str = "2fa_disabled";
    pub const NEW_DEVICE: &str = "new_device";
    pub const REFRESH_REUSE: &str = "refresh_reuse";
    pub const ACCOUNT_DISABLED: &str = "account_disabled";

    pub const ALL: [&str; 11] = [
        VERIFY_EMAIL,
        EMAIL_CHANGED,
        RESET_LINK,
        PASSWORD_RESET,
        PASSWORD_CHANGED,
        INVITATION,
        SECOND_FACTOR_ADDED,
        SECOND_FACTOR_REMOVED,
        NEW_DEVICE,
        REFRESH_REUSE,
        ACCOUNT_DISABLED,
    ];
}

/// Queues a mail to `to` (inside the caller's transaction).
pub fn queue(
    conn: &mut DbConn,
    to: &str,
    lang: &str,
    kind: &str,
    account_id: Option<i64>,
    data: &Value,
    now: i64,
) -> Result<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(kind),
            outbox::account_id.eq(account_id),
            outbox::to_address.eq(to),
            outbox::lang.eq(lang),
            outbox::data.eq(data.to_string()),
            outbox::created_at.eq(now),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Tells the account about `kind` at its verified address, if it has one (inside the
/// caller's transaction). Returns whether a mail was queued.
pub fn notify(
    conn: &mut DbConn,
    account: &Account,
    kind: &str,
    data: &Value,
    now: i64,
) -> Result<bool> {
    let Some(to) = account.verified_email() else {
        return Ok(false);
    };
    queue(conn, to, &account.lang, kind, Some(account.id), data, now)?;
    Ok(true)
}

/// As `notify`, by account id (the account as it is now).
pub fn notify_id(
    conn: &mut DbConn,
    account_id: i64,
    kind: &str,
    data: &Value,
    now: i64,
) -> Result<bool> {
    match crate::accounts::find(conn, account_id)? {
        Some(a) => notify(conn, &a, kind, data, now),
        None => Ok(false),
    }
}

/// The outbox's state, for the metrics and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutboxCounts {
    pub waiting: i64,
    pub sent: i64,
    pub failed: i64,
}

pub fn counts(conn: &mut DbConn) -> Result<OutboxCounts> {
    let sent: i64 = outbox::table
        .filter(outbox::sent_at.is_not_null())
        .count()
        .get_result(conn)?;
    let failed: i64 = outbox::table
        .filter(outbox::failed_at.is_not_null())
        .count()
        .get_result(conn)?;
    let waiting: i64 = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(OutboxCounts {
        waiting,
        sent,
        failed,
    })
}

/// Deletes sent and given-up mail older than `keep` seconds.
pub fn prune(conn: &mut DbConn, now: i64, keep: i64) -> Result<usize> {
    let before = now - keep;
    Ok(diesel::delete(
        outbox::table.filter(
            outbox::sent_at
                .lt(before)
                .or(outbox::failed_at.lt(before))
                .or(outbox::created_at.lt(before - keep)),
        ),
    )
    .execute(conn)?)
}

/// `local@domain` as people write it: at most 254 characters, one `@`, a dot in the
/// domain, nothing invisible.
pub fn valid_address(email: &str) -> bool {
    email.len() <= 254
        && email
            .chars()
            .all(|c| crate::text::is_printable(c) && !c.is_whitespace())
        && email.parse::<lettre::Address>().is_ok()
        && email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.') && !domain.starts_with('.'))
}

/// The form of an address used for uniqueness and look-up.
pub fn address_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_checked() {
        for ok in ["alice@example.com", "a.b+tag@mail.example.org"] {
            assert!(super::valid_address(ok), "{ok}");
        }
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "a b@example.com",
            "alice@exa\u{202E}mple.com",
        ] {
            assert!(!super::valid_address(bad), "{bad}");
        }
    }
}
