//! Accounts: the model, its queries, usernames and roles.

pub mod password;
pub mod policy;
pub mod setup;
pub mod throttle;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{accounts, login_attempts};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::i18n::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub username_key: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub version: i64,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    /// The TOTP secret, sealed with the encryption key (never shown again after enrolment).
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<i64>,
    /// The last TOTP time step accepted: each is accepted once.
    pub totp_last_step: Option<i64>,
    pub recovery_used_at: Option<i64>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub email_verified_at: Option<i64>,
    /// The language mail to this account is written in.
    pub lang: String,
    /// How many passkeys it has (kept with the `passkeys` rows).
    pub passkeys: i32,
}

impl Account {
    pub fn role(&self) -> Role {
        // The column has a CHECK constraint; anything else fails closed to the lesser role.
        Role::parse(&self.role).unwrap_or(Role::User)
    }

    /// Whether a second factor is set: TOTP, or at least one passkey.
    pub fn has_second_factor(&self) -> bool {
        self.has_totp() || self.passkeys > 0
    }

    /// Whether TOTP is set.
    pub fn has_totp(&self) -> bool {
        self.totp_secret.is_some()
    }

    /// The address mail may go to: a verified one.
    pub fn verified_email(&self) -> Option<&str> {
        self.email
            .as_deref()
            .filter(|_| self.email_verified_at.is_some())
    }
}

/// The password hash of an account that has none yet (an invitation not yet accepted):
/// no password verifies against it.
pub const NO_PASSWORD: &str = "!";

/// The form of a username used for uniqueness and look-up.
pub fn username_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// 3–32 characters of ASCII letters, digits, '.', '_' and '-'.
pub fn validate_username(name: &str) -> Result<(), Message> {
    let n = name.chars().count();
    if !(3..=32).contains(&n) {
        return Err(Message::new("msg-username-length"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Message::new("msg-username-chars"));
    }
    Ok(())
}

/// What every new account passes, however it is made (sign-up, setup, an administrator,
/// the command line): the name, the password policy, and the confirmation where the
/// form asks for the password twice.
pub fn check_new(
    policy: &policy::PasswordPolicy,
    username: &str,
    password: &str,
    confirm: Option<&str>,
) -> Result<(), Message> {
    validate_username(username)?;
    policy.check(password, username)?;
    if confirm.is_some_and(|c| c != password) {
        return Err(Message::new("msg-password-mismatch"));
    }
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = accounts)]
struct NewAccount<'a> {
    username: &'a str,
    username_key: &'a str,
    password_hash: &'a str,
    role: &'a str,
    must_change_password: bool,
    created_at: i64,
}

pub fn find_by_username(conn: &mut DbConn, name: &str) -> Result<Option<Account>> {
    Ok(accounts::table
        .filter(accounts::username_key.eq(username_key(name)))
        .select(Account::as_select())
        .first(conn)
        .optional()?)
}

/// As `find`, and the row stays locked until the transaction ends (PostgreSQL; SQLite's
/// immediate transaction already keeps other writers out). Changes to one account that
/// read it first then serialise on this lock.
pub fn find_for_update(conn: &mut DbConn, id: i64) -> Result<Option<Account>> {
    Ok(match conn {
        DbConn::Pg(c) => accounts::table
            .find(id)
            .select(Account::as_select())
            .for_update()
            .first(c)
            .optional()?,
        DbConn::Sqlite(c) => accounts::table
            .find(id)
            .select(Account::as_select())
            .first(c)
            .optional()?,
    })
}

/// Marks a change that ends sessions or changes powers: sessions of an older version,
/// and sign-ins whose password was checked before it, are refused. Returns the new
/// version.
pub fn bump_version(conn: &mut DbConn, id: i64) -> Result<i64> {
    diesel::update(accounts::table.find(id))
        .set(accounts::version.eq(accounts::version + 1))
        .execute(conn)?;
    Ok(accounts::table
        .find(id)
        .select(accounts::version)
        .first(conn)?)
}

pub fn find(conn: &mut DbConn, id: i64) -> Result<Option<Account>> {
    Ok(accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .optional()?)
}

/// Why an account could not be created.
#[derive(Debug)]
enum CreateError {
    Taken,
    Db(Error),
}

fn create(
    conn: &mut DbConn,
    username: &str,
    password_hash: &str,
    role: Role,
    must_change_password: bool,
    now: i64,
) -> Result<Account, CreateError> {
    let key = username_key(username);
    let new = NewAccount {
        username,
        username_key: &key,
        password_hash,
        role: role.as_str(),
        must_change_password,
        created_at: now,
    };
    // Insert, then read back by the unique key (RETURNING a whole row is not available
    // on the combined backend). Callers run this inside a transaction.
    match diesel::insert_into(accounts::table)
        .values(&new)
        .execute(conn)
    {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(CreateError::Taken),
        Err(e) => return Err(CreateError::Db(e.into())),
    }
    find_by_username(conn, &key)
        .map_err(CreateError::Db)?
        .ok_or_else(|| CreateError::Db(Error::Internal("account vanished after insert".into())))
}

/// Who made an account, for the audit log.
pub enum CreatedBy {
    /// The new account itself (sign-up).
    Itself,
    /// The holder of the setup link: the account itself, and only while no
    /// administrator exists.
    Setup,
    /// Another account (an administrator).
    Account(i64),
    /// No account: the command line.
    Nobody,
}

/// An account to create, and the audit event that records it.
pub struct Creation<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    /// Set when someone else chose the password: the owner must replace it first.
    pub must_change_password: bool,
    pub event: crate::audit::Kind,
    pub by: CreatedBy,
    pub ip: &'a str,
    pub detail: String,
}

/// Creates the account and writes its audit event; `Ok(None)` when the username is
/// taken (or, for the setup link, when an administrator exists by now). Run it inside a
/// write transaction so that both or neither happen.
pub fn create_recorded(conn: &mut DbConn, c: &Creation<'_>, now: i64) -> Result<Option<Account>> {
    if matches!(c.by, CreatedBy::Setup) && admin_exists(conn)? {
        return Ok(None);
    }
    let account = match create(
        conn,
        c.username,
        c.password_hash,
        c.role,
        c.must_change_password,
        now,
    ) {
        Ok(a) => a,
        Err(CreateError::Taken) => return Ok(None),
        Err(CreateError::Db(e)) => return Err(e),
    };
    let mut event = crate::audit::Event::new(c.event, c.ip, now)
        .subject(account.id, &account.username)
        .detail(c.detail.clone());
    match c.by {
        CreatedBy::Itself | CreatedBy::Setup => event = event.actor(account.id),
        CreatedBy::Account(id) => event = event.actor(id),
        CreatedBy::Nobody => {}
    }
    crate::audit::record(conn, &event)?;
    Ok(Some(account))
}

pub fn admin_exists(conn: &mut DbConn) -> Result<bool> {
    let n: i64 = accounts::table
        .filter(accounts::role.eq(Role::Admin.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn record_login(conn: &mut DbConn, id: i64, now: i64) -> Result<()> {
    diesel::update(accounts::table.find(id))
        .set(accounts::last_login_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Which accounts the administrators' list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Disabled,
    Locked,
}

impl StatusFilter {
    pub fn parse(s: &str) -> Option<StatusFilter> {
        match s {
            "active" => Some(StatusFilter::Active),
            "disabled" => Some(StatusFilter::Disabled),
            "locked" => Some(StatusFilter::Locked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Start of the username (case-insensitive).
    pub prefix: String,
    pub role: Option<Role>,
    pub status: Option<StatusFilter>,
    /// Keyset pagination: the last username key of the previous page.
    pub after: Option<String>,
}

pub const PAGE_SIZE: i64 = 50;

/// One page of accounts in username order, and the key to continue after, if any.
/// Walks the username index from the prefix (or `after`): no OFFSET, no COUNT.
pub fn search(conn: &mut DbConn, s: &Search, now: i64) -> Result<(Vec<Account>, Option<String>)> {
    let mut query = accounts::table.select(Account::as_select()).into_boxed();
    let prefix = username_key(&s.prefix);
    if !prefix.is_empty() {
        // A range on the unique index: [prefix, prefix + U+10FFFF).
        query = query
            .filter(accounts::username_key.ge(prefix.clone()))
            .filter(accounts::username_key.lt(format!("{prefix}\u{10FFFF}")));
    }
    if let Some(after) = &s.after {
        query = query.filter(accounts::username_key.gt(after.clone()));
    }
    if let Some(role) = s.role {
        query = query.filter(accounts::role.eq(role.as_str()));
    }
    match s.status {
        Some(StatusFilter::Active) => query = query.filter(accounts::disabled.eq(false)),
        Some(StatusFilter::Disabled) => query = query.filter(accounts::disabled.eq(true)),
        Some(StatusFilter::Locked) => {
            let locked = login_attempts::table
                .filter(login_attempts::locked_until.gt(now))
                .select(login_attempts::username_key);
            query = query.filter(accounts::username_key.eq_any(locked))
        }
        None => {}
    }
    let rows: Vec<Account> = query
        .order(accounts::username_key.asc())
        .limit(PAGE_SIZE + 1)
        .load(conn)?;
    Ok(crate::db::keyset_page(rows, PAGE_SIZE, |a| {
        a.username_key.clone()
    }))
}

/// Replaces the stored hash of the same password (made again at the configured cost).
pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str) -> Result<()> {
    diesel::update(accounts::table.find(id))
        .set(accounts::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

pub fn set_password(conn: &mut DbConn, id: i64, hash: &str) -> Result<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(hash),
            accounts::must_change_password.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}

/// Who is acting on their own account (its sessions, its settings), and from where.
#[derive(Debug, Clone)]
pub struct Owner {
    pub account_id: i64,
    pub name: String,
    /// The session the request came in.
    pub sid: String,
    pub ip: String,
}
