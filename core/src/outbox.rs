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
    /// To the owner of a verified address that another account asked to use.
    pub const ADDRESS_IN_USE: &str = "address_in_use";
    pub const PASSKEY_ADDED: &str = "passkey_added";
    pub const PASSKEY_REMOVED: &str = "passkey_removed";

    pub const ALL: [&str; 14] = [
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
        ADDRESS_IN_USE,
        PASSKEY_ADDED,
        PASSKEY_REMOVED,
    ];
}

/// Not a mail: a back-channel logout token POSTed to a client (SPEC §11), delivered by
/// the same sender (claimed once across instances, retried with growing waits, counted
/// in `/metrics`). `to_address` is the client's `backchannel_logout_uri`; `data` names the
/// client, the account and the session; the token is signed when it is sent.
pub const BACKCHANNEL_LOGOUT: &str = "backchannel_logout";

/// A session ended (inside the ending transaction): each client with a
/// `backchannel_logout_uri` that was issued an ID token in it gets a logout token.
pub fn session_ended(conn: &mut DbConn, session_id: &str, now: i64) -> Result<()> {
    use crate::db::schema::{oidc_clients, oidc_grants};
    let targets: Vec<(String, i64, Option<String>, String)> = oidc_grants::table
        .inner_join(oidc_clients::table.on(oidc_clients::client_id.eq(oidc_grants::client_id)))
        .filter(oidc_grants::session_id.eq(session_id))
        .filter(oidc_clients::backchannel_logout_uri.is_not_null())
        .select((
            oidc_grants::client_id,
            oidc_grants::account_id,
            oidc_clients::backchannel_logout_uri,
            oidc_clients::id_token_alg,
        ))
        .distinct()
        .load(conn)?;
    for (client_id, account_id, uri, alg) in targets {
        let Some(uri) = uri else { continue };
        let data = serde_json::json!({
            "client_id": client_id,
            "sub": account_id.to_string(),
            "sid": session_id,
            "alg": alg,
        });
        queue(conn, &uri, "en", BACKCHANNEL_LOGOUT, None, &data, now)?;
    }
    Ok(())
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

/// Drops every mail of an account that is being deleted (inside the deleting
/// transaction): nothing more goes out for it, and its links and addresses go with it.
/// (A mail the sender has already handed to the server cannot be called back.)
pub fn drop_for_account(conn: &mut DbConn, account_id: i64) -> Result<usize> {
    Ok(diesel::delete(outbox::table.filter(outbox::account_id.eq(account_id))).execute(conn)?)
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

/// Deletes up to `limit` sent and given-up mails older than `keep` seconds; returns how
/// many.
pub fn prune(conn: &mut DbConn, now: i64, keep: i64, limit: i64) -> Result<usize> {
    let before = now - keep;
    let ids: Vec<i64> = outbox::table
        .filter(
            outbox::sent_at
                .lt(before)
                .or(outbox::failed_at.lt(before))
                .or(outbox::created_at.lt(before - keep)),
        )
        .select(outbox::id)
        .limit(limit)
        .load(conn)?;
    Ok(diesel::delete(outbox::table.filter(outbox::id.eq_any(&ids))).execute(conn)?)
}

/// An e-mail address as Gatehouse keeps it: `address` is where mail goes, `key` the form
/// used for uniqueness and look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    pub address: String,
    pub key: String,
}

/// Why an address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressError {
    /// Not `local@domain` with a dot in the domain, longer than 254 characters, or with
    /// something invisible in it.
    Invalid,
    /// The part before the `@` is not ASCII: the sender cannot deliver there (no SMTPUTF8).
    NonAsciiLocal,
}

/// The one rule for addresses, wherever one comes in (the address form, an invitation,
/// a forgotten password): trimmed; the local part must be printable ASCII and is kept as
/// written; the domain is folded as a URL host is (IDNA UTS #46 to ASCII: compatibility
/// forms and case folded, so `\u{212A}elvin.example` with a Kelvin sign becomes `kelvin.example`,
/// and `bücher.example` becomes `xn--bcher-kva.example`). The key is the whole address
/// with the local part in ASCII lowercase.
pub fn parse_address(raw: &str) -> Result<MailAddress, AddressError> {
    let raw = raw.trim();
    if raw.len() > 254
        || !raw
            .chars()
            .all(|c| crate::text::is_printable(c) && !c.is_whitespace())
    {
        return Err(AddressError::Invalid);
    }
    let (local, domain) = raw.rsplit_once('@').ok_or(AddressError::Invalid)?;
    if local.is_empty() {
        return Err(AddressError::Invalid);
    }
    if !local.is_ascii() {
        return Err(AddressError::NonAsciiLocal);
    }
    let domain = match url::Host::parse(domain) {
        Ok(url::Host::Domain(d)) => d,
        _ => return Err(AddressError::Invalid),
    };
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(AddressError::Invalid);
    }
    let address = format!("{local}@{domain}");
    if address.len() > 254 || address.parse::<lettre::Address>().is_err() {
        return Err(AddressError::Invalid);
    }
    Ok(MailAddress {
        key: format!("{}@{domain}", local.to_ascii_lowercase()),
        address,
    })
}

/// The key of `raw` (see `parse_address`), if it is an address.
pub fn address_key(raw: &str) -> Option<String> {
    parse_address(raw).ok().map(|a| a.key)
}

#[cfg(test)]
mod tests {
    use super::{parse_address, AddressError};

    #[test]
    fn addresses_are_checked_and_folded_by_one_rule() {
        for ok in ["alice@example.com", "a.b+tag@mail.example.org"] {
            assert!(parse_address(ok).is_ok(), "{ok}");
        }
        let folded = parse_address(" Kim@\u{212A}ELVIN.example ");
        assert_eq!(
            folded,
            Ok(super::MailAddress {
                address: "Kim@kelvin.example".into(),
                key: "kim@kelvin.example".into()
            })
        );
        assert_eq!(
            parse_address("anna@bücher.example").map(|a| a.address),
            Ok("anna@xn--bcher-kva.example".into())
        );
        for non_ascii in ["\u{212A}im@example.com", "jos\u{e9}@example.com"] {
            assert_eq!(
                parse_address(non_ascii),
                Err(AddressError::NonAsciiLocal),
                "{non_ascii}"
            );
        }
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "a b@example.com",
            "alice@exa\u{202E}mple.com",
            "alice@127.0.0.1",
            "alice@example.com.",
        ] {
            assert_eq!(parse_address(bad), Err(AddressError::Invalid), "{bad}");
        }
    }
}
