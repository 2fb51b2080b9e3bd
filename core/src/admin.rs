//! What administrators do to accounts, with the rules that keep them safe: nobody
//! disables, demotes or deletes themself, and the last active administrator stays.
//! Each action runs in one transaction with its audit row.

use crate::audit::Kind;
use diesel::prelude::*;

use crate::accounts::{bump_version, find_for_update, throttle, Account, Role};
use crate::audit::{self, Event};
use crate::db::schema::accounts;
use crate::db::DbConn;
use crate::effect::Effect;
use crate::error::Error;
use crate::sessions::store;

/// Who is acting, and from where.
pub struct Actor {
    pub id: i64,
    pub ip: String,
}

#[derive(Debug)]
pub enum Refusal {
    /// The actor is no longer an active administrator (demoted or disabled meanwhile).
    NotAdmin,
    NotFound,
    /// An administrator tried to lock themself out.
    SelfAction,
    LastAdmin,
    ConfirmationMismatch,
    /// The name is taken.
    Taken,
    Db(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Db(e)
    }
}

impl crate::db::WriteFailure for Refusal {
    fn is_write_failure(&self) -> bool {
        matches!(self, Refusal::Db(e) if e.is_write_failure())
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Refusal::Db(e.into())
    }
}

/// The ids of the active administrators, their rows locked until the transaction ends
/// (PostgreSQL), always in id order so that two transactions cannot deadlock: two
/// administrators removing each other at once take turns, and the second sees the first
/// one's change. (SQLite's immediate transactions already take turns.)
fn lock_active_admins(conn: &mut DbConn) -> Result<Vec<i64>, Refusal> {
    let active = accounts::table
        .filter(accounts::role.eq(Role::Admin.as_str()))
        .filter(accounts::disabled.eq(false))
        .order(accounts::id.asc())
        .select(accounts::id);
    Ok(match conn {
        DbConn::Pg(c) => active.for_update().load(c)?,
        DbConn::Sqlite(c) => active.load(c)?,
    })
}

/// The active administrators when the action began.
struct Admins(Vec<i64>);

/// The rule for anything that takes an account's powers away (disable, demote, delete):
/// not one's own account, and not the last active administrator.
fn may_remove(admins: &Admins, actor: &Actor, target: &Account) -> Result<(), Refusal> {
    if target.id == actor.id {
        return Err(Refusal::SelfAction);
    }
    if target.role() == Role::Admin && !target.disabled && admins.0.len() <= 1 {
        return Err(Refusal::LastAdmin);
    }
    Ok(())
}

fn load(conn: &mut DbConn, id: i64) -> Result<Account, Refusal> {
    find_for_update(conn, id)?.ok_or(Refusal::NotFound)
}

fn record(
    conn: &mut DbConn,
    actor: &Actor,
    kind: Kind,
    target: &Account,
    detail: String,
    now: i64,
) -> Result<(), Refusal> {
    audit::record(
        conn,
        &Event::new(kind, &actor.ip, now)
            .actor(actor.id)
            .subject(target.id, &target.username)
            .detail(detail),
    )?;
    Ok(())
}

/// Runs an action in one write transaction that first locks the active administrators
/// and checks that the actor is still one of them (fail closed: a token issued before a
/// demotion does not carry the action through).
fn in_tx<T>(
    conn: &mut DbConn,
    actor: &Actor,
    f: impl FnOnce(&mut DbConn, &Admins) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    crate::db::write_tx(conn, |c| {
        let admins = Admins(lock_active_admins(c)?);
        if !admins.0.contains(&actor.id) {
            return Err(Refusal::NotAdmin);
        }
        f(c, &admins)
    })
}

pub fn set_role(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    role: Role,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, admins| {
        let target = load(c, id)?;
        if target.role() == role {
            return Ok(Effect::none());
        }
        if role != Role::Admin {
            may_remove(admins, actor, &target)?;
        }
        diesel::update(accounts::table.find(id))
            .set(accounts::role.eq(role.as_str()))
            .execute(c)?;
        // Sessions go on with the new role; sign-ins in flight start again.
        let version = bump_version(c, id)?;
        store::keep_at_version(c, id, None, version)?;
        let detail = format!("role {} → {}", target.role().as_str(), role.as_str());
        record(c, actor, Kind::AdminRoleChanged, &target, detail, now)?;
        claims_changed(c, id, now)
    })
}

pub fn disable(conn: &mut DbConn, actor: &Actor, id: i64, now: i64) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, admins| {
        let target = load(c, id)?;
        may_remove(admins, actor, &target)?;
        diesel::update(accounts::table.find(id))
            .set(accounts::disabled.eq(true))
            .execute(c)?;
        let ended = crate::sessions::end_every_session(c, id, None, "account_disabled", now)?;
        record(
            c,
            actor,
            Kind::AdminAccountDisabled,
            &target,
            format!("{} sessions ended", ended.len()),
            now,
        )?;
        let mut effect = Effect::ended(ended);
        effect.mail = crate::mail::notify(
            c,
            &target,
            crate::mail::kind::ACCOUNT_DISABLED,
            &serde_json::json!({ "name": target.username }),
            now,
        )?;
        Ok(effect)
    })
}

pub fn enable(conn: &mut DbConn, actor: &Actor, id: i64, now: i64) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        diesel::update(accounts::table.find(id))
            .set(accounts::disabled.eq(false))
            .execute(c)?;
        record(
            c,
            actor,
            Kind::AdminAccountEnabled,
            &target,
            String::new(),
            now,
        )?;
        Ok(Effect::none())
    })
}

pub fn unlock(conn: &mut DbConn, actor: &Actor, id: i64, now: i64) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        let cleared = throttle::clear(c, &target.username_key)?;
        let detail = format!("{cleared} failures cleared");
        record(c, actor, Kind::AdminAccountUnlocked, &target, detail, now)?;
        Ok(Effect::none())
    })
}

/// Sets a password chosen by the administrator; the owner must replace it at next sign-in.
/// Never an administrator's own: that goes through `/account/password`, with the current
/// password (a stolen admin session must not take the account over for good).
pub fn reset_password(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    hash: &str,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        if target.id == actor.id {
            return Err(Refusal::SelfAction);
        }
        diesel::update(accounts::table.find(id))
            .set((
                accounts::password_hash.eq(hash),
                accounts::must_change_password.eq(true),
            ))
            .execute(c)?;
        throttle::clear(c, &target.username_key)?;
        let ended = crate::sessions::end_every_session(c, id, None, "password_reset", now)?;
        let detail = format!(
            "must change at next sign-in; {} sessions ended",
            ended.len()
        );
        record(c, actor, Kind::AdminPasswordReset, &target, detail, now)?;
        let mut effect = Effect::ended(ended);
        effect.mail = crate::mail::notify(
            c,
            &target,
            crate::mail::kind::PASSWORD_RESET,
            &serde_json::json!({ "name": target.username, "ip": actor.ip }),
            now,
        )?;
        Ok(effect)
    })
}

pub fn revoke_sessions(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        let ended = crate::sessions::end_every_session(c, id, None, "admin_revoked", now)?;
        record(
            c,
            actor,
            Kind::AdminSessionsRevoked,
            &target,
            format!("{} sessions ended", ended.len()),
            now,
        )?;
        Ok(Effect::ended(ended))
    })
}

pub fn revoke_session(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    sid: &str,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        match store::find(c, sid)? {
            Some(s) if s.account_id == id => {}
            _ => return Err(Refusal::NotFound),
        }
        store::end(c, sid, "admin_revoked", now)?;
        record(
            c,
            actor,
            Kind::AdminSessionRevoked,
            &target,
            format!("session {sid}"),
            now,
        )?;
        Ok(Effect::ended(vec![sid.to_string()]))
    })
}

/// Deletes the account's row and, in the same transaction, the mail still meant for it
/// (its links, sessions and the rest go by the foreign keys).
fn delete_account(c: &mut DbConn, id: i64) -> Result<(), Refusal> {
    crate::outbox::drop_for_account(c, id)?;
    diesel::delete(accounts::table.find(id)).execute(c)?;
    Ok(())
}

/// Deletes an account for good. `confirm` must repeat its username.
pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    confirm: &str,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, admins| {
        let target = load(c, id)?;
        may_remove(admins, actor, &target)?;
        if confirm != target.username {
            return Err(Refusal::ConfirmationMismatch);
        }
        let ended = crate::sessions::end_every_session(c, id, None, "account_deleted", now)?;
        delete_account(c, id)?;
        record(
            c,
            actor,
            Kind::AdminAccountDeleted,
            &target,
            format!("role {}", target.role().as_str()),
            now,
        )?;
        Ok(Effect::ended(ended))
    })
}

/// Removes another account's second factor (lost phone and recovery codes) and ends its
/// sessions. An administrator's own goes through `/account/2fa`.
pub fn reset_second_factor(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        if target.id == actor.id {
            return Err(Refusal::SelfAction);
        }
        let totp = crate::second_factor::remove(c, id)?;
        let passkeys = crate::second_factor::passkeys::remove_all(c, id)?;
        if !totp && passkeys == 0 {
            return Err(Refusal::NotFound);
        }
        let ended = crate::sessions::end_every_session(c, id, None, "2fa_reset", now)?;
        record(
            c,
            actor,
            Kind::TwoFactorReset,
            &target,
            format!(
                "second factor removed ({}{passkeys} passkeys); {} sessions ended",
                if totp { "TOTP, " } else { "" },
                ended.len()
            ),
            now,
        )?;
        let mut effect = Effect::ended(ended);
        effect.mail = crate::mail::notify(
            c,
            &target,
            crate::mail::kind::SECOND_FACTOR_REMOVED,
            &serde_json::json!({ "name": target.username, "ip": actor.ip }),
            now,
        )?;
        Ok(effect)
    })
}

/// Removes one passkey of an account (a lost or stolen one); the account is told.
pub fn remove_passkey(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    passkey: i64,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        let name =
            crate::second_factor::passkeys::remove_one(c, id, passkey)?.ok_or(Refusal::NotFound)?;
        record(
            c,
            actor,
            Kind::PasskeyRemoved,
            &target,
            format!("{name:?}, by an administrator"),
            now,
        )?;
        let mail = crate::mail::notify(
            c,
            &target,
            crate::mail::kind::PASSKEY_REMOVED,
            &serde_json::json!({ "name": target.username, "ip": actor.ip, "device": name }),
            now,
        )?;
        Ok(Effect {
            mail,
            ..Effect::none()
        })
    })
}

/// The account's claims changed (role or groups): written to the change feed for the
/// other instances, and returned for this one's revocation view.
fn claims_changed(conn: &mut DbConn, id: i64, now: i64) -> Result<Effect, Refusal> {
    let Some(account) = crate::accounts::find(conn, id)? else {
        return Ok(Effect::none());
    };
    let groups = crate::groups::of_account(conn, id)?;
    crate::sessions::feed::claims_changed(conn, id, account.role(), &groups, now)?;
    Ok(Effect {
        claims: vec![(id, account.role(), groups)],
        ..Effect::none()
    })
}

/// Makes a group. `Refusal::Taken` when the name exists (in any case).
pub fn create_group(
    conn: &mut DbConn,
    actor: &Actor,
    name: &str,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let group = crate::groups::create(c, name, now)?.ok_or(Refusal::Taken)?;
        audit::record(
            c,
            &Event::new(Kind::GroupCreated, &actor.ip, now)
                .actor(actor.id)
                .detail(format!("group {} (#{})", group.name, group.id)),
        )?;
        Ok(Effect::none())
    })
}

/// Deletes a group; its members' tokens are renewed without it.
pub fn delete_group(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let group = crate::groups::find(c, id)?.ok_or(Refusal::NotFound)?;
        let members = crate::groups::members(c, id)?;
        crate::groups::delete(c, id)?;
        audit::record(
            c,
            &Event::new(Kind::GroupDeleted, &actor.ip, now)
                .actor(actor.id)
                .detail(format!(
                    "group {} (#{}), {} members",
                    group.name,
                    id,
                    members.len()
                )),
        )?;
        let mut effect = Effect::none();
        for account in members {
            effect
                .claims
                .extend(claims_changed(c, account, now)?.claims);
        }
        Ok(effect)
    })
}

/// Adds an account to a group, or takes it out (`member` false).
pub fn set_membership(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    group_id: i64,
    member: bool,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        let group = crate::groups::find(c, group_id)?.ok_or(Refusal::NotFound)?;
        let changed = if member {
            crate::groups::add(c, group_id, id, now)?
        } else {
            crate::groups::remove(c, group_id, id)?
        };
        if !changed {
            return Ok(Effect::none());
        }
        let (kind, detail) = if member {
            (Kind::GroupMemberAdded, format!("added to {}", group.name))
        } else {
            (
                Kind::GroupMemberRemoved,
                format!("removed from {}", group.name),
            )
        };
        record(c, actor, kind, &target, detail, now)?;
        claims_changed(c, id, now)
    })
}

/// An account to invite: it chooses its password through a mailed link (seven days).
pub struct Invitation<'a> {
    pub username: &'a str,
    pub email: &'a crate::mail::MailAddress,
    pub role: Role,
    pub lang: &'a str,
}

pub use crate::accounts::NO_PASSWORD;

/// Invites someone: an account without a password, its address, and the link by mail.
/// `Refusal::Taken` when the name or the address is taken.
pub fn invite(
    conn: &mut DbConn,
    actor: &Actor,
    inv: &Invitation<'_>,
    now: i64,
) -> Result<(i64, Effect), Refusal> {
    in_tx(conn, actor, |c, _| {
        let creation = crate::accounts::Creation {
            username: inv.username,
            password_hash: NO_PASSWORD,
            role: inv.role,
            must_change_password: false,
            event: Kind::InvitationSent,
            by: crate::accounts::CreatedBy::Account(actor.id),
            ip: &actor.ip,
            detail: format!(
                "role {}; invitation to {}",
                inv.role.as_str(),
                inv.email.address
            ),
        };
        let account = crate::accounts::create_recorded(c, &creation, now)?.ok_or(Refusal::Taken)?;
        match crate::mail::flows::assign_email(c, &account, inv.email) {
            Ok(()) => {}
            Err(e) if e.is_conflict() => return Err(Refusal::Taken),
            Err(e) => return Err(e.into()),
        }
        // The new account's language until its owner chooses: the one it is invited in.
        diesel::update(accounts::table.find(account.id))
            .set(accounts::lang.eq(inv.lang))
            .execute(c)?;
        send_invitation(c, &account, &inv.email.address, inv.lang, now)?;
        Ok((account.id, Effect::mail()))
    })
}

fn send_invitation(
    c: &mut DbConn,
    account: &Account,
    email: &str,
    lang: &str,
    now: i64,
) -> Result<(), Refusal> {
    let token =
        crate::mail::tokens::issue(c, crate::mail::tokens::INVITATION, account.id, email, now)?;
    crate::mail::queue(
        c,
        email,
        lang,
        crate::mail::kind::INVITATION,
        Some(account.id),
        &serde_json::json!({ "token": token, "name": account.username }),
        now,
    )?;
    Ok(())
}

/// A fresh invitation link (the old one stops working). Only for an account that has not
/// accepted yet.
pub fn resend_invitation(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        let email = target.email.clone().ok_or(Refusal::NotFound)?;
        if target.password_hash != NO_PASSWORD {
            return Err(Refusal::NotFound);
        }
        send_invitation(c, &target, &email, &target.lang, now)?;
        record(
            c,
            actor,
            Kind::InvitationSent,
            &target,
            format!("sent again to {email}"),
            now,
        )?;
        Ok(Effect::mail())
    })
}

/// Withdraws an invitation not yet accepted: the account goes.
pub fn cancel_invitation(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<Effect, Refusal> {
    in_tx(conn, actor, |c, _| {
        let target = load(c, id)?;
        if target.password_hash != NO_PASSWORD {
            return Err(Refusal::NotFound);
        }
        delete_account(c, id)?;
        record(
            c,
            actor,
            Kind::InvitationCancelled,
            &target,
            "account removed".into(),
            now,
        )?;
        Ok(Effect::none())
    })
}
