//! Use cases on accounts that need the password hasher as well as the database.

use super::attempt::{Admitted, Attempted, Gate, Verdict};
use super::App;
use crate::accounts::throttle;
use crate::accounts::{self, Account, CreatedBy, Creation, Role};
use crate::audit::Kind;
use crate::error::Result;
use crate::i18n::Message;
use crate::sessions::{self, Owner};

/// An account to make: what the person typed, and how it is recorded.
pub struct AccountRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The password typed again, where the form asks for it.
    pub confirm: Option<&'a str>,
    pub role: Role,
    /// Someone else chose the password: the owner must replace it first.
    pub must_change_password: bool,
    pub event: crate::audit::Kind,
    pub by: CreatedBy,
    pub ip: &'a str,
    pub detail: String,
}

pub enum NewAccount {
    Created(Box<Account>),
    /// The name or the password was refused: say why.
    Invalid(Message),
    /// The name is taken (or, for the setup link, an administrator exists by now).
    Taken,
}

/// How a password change went.
pub enum PasswordChange {
    /// Changed; the account as it is now and its groups (other sessions have ended).
    Changed(Box<Account>, Vec<String>),
    Refused(Message),
    /// Too many wrong current passwords for this account: wait so many seconds.
    Throttled(i64),
    /// This wrong current password reached the lockout threshold: the session has ended.
    SignedOut,
}

impl App {
    /// Checks, hashes (off the async workers) and creates an account with its audit row.
    pub async fn create_account(&self, r: AccountRequest<'_>) -> Result<NewAccount> {
        if let Err(msg) = accounts::check_new(&self.policy, r.username, r.password, r.confirm) {
            return Ok(NewAccount::Invalid(msg));
        }
        let hash = self.hasher.hash(r.password.to_string()).await?;
        let (username, ip, now) = (r.username.to_string(), r.ip.to_string(), self.now());
        let (role, must_change, event, by, detail) =
            (r.role, r.must_change_password, r.event, r.by, r.detail);
        let created = self
            .db
            .run(move |c| {
                crate::db::write_tx(c, |c| {
                    let creation = Creation {
                        username: &username,
                        password_hash: &hash,
                        role,
                        must_change_password: must_change,
                        event,
                        by,
                        ip: &ip,
                        detail,
                    };
                    accounts::create_recorded(c, &creation, now)
                })
            })
            .await?;
        Ok(created.map_or(NewAccount::Taken, |a| NewAccount::Created(Box::new(a))))
    }

    /// A sign-up from the public page. An address that has failed too often (sign-ins, or
    /// names found taken) waits, and each address makes only so many accounts an hour,
    /// both before any hashing (the `Err` is the wait in seconds); a name found taken, the
    /// one thing sign-up tells about other accounts, counts like a failed sign-in.
    pub async fn sign_up(
        &self,
        r: AccountRequest<'_>,
    ) -> Result<std::result::Result<NewAccount, i64>> {
        if let Some(wait) = self.addresses.wait(r.ip) {
            return Ok(Err(wait));
        }
        if let Err(wait) = self.signups.take(r.ip) {
            return Ok(Err(wait));
        }
        let ip = r.ip.to_string();
        let created = self.create_account(r).await?;
        if matches!(created, NewAccount::Taken) {
            self.addresses.record(&ip);
        }
        Ok(Ok(created))
    }

    /// Creates an account from the command line (blocking).
    pub fn create_user(
        &self,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<Account, String> {
        accounts::check_new(&self.policy, username, password, None).map_err(|m| m.text("en"))?;
        let hash = accounts::password::hash_blocking(password, self.settings.bcrypt_cost)
            .map_err(|e| e.to_string())?;
        let now = self.now();
        self.db
            .run_blocking(|c| {
                crate::db::write_tx(c, |c| {
                    let creation = Creation {
                        username,
                        password_hash: &hash,
                        role,
                        must_change_password: false,
                        event: Kind::AccountCreated,
                        by: CreatedBy::Nobody,
                        ip: "command-line",
                        detail: format!("role {} (gatehouse create-user)", role.as_str()),
                    };
                    accounts::create_recorded(c, &creation, now)
                })
            })
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the username {username:?} is taken"))
    }

    /// Changes the owner's password after checking the current one (through the attempt
    /// pipeline); ends every other session of theirs. Wrong current passwords are counted
    /// before the check under the session's own throttle key and for the account's name
    /// too, and the one that reaches the session's threshold ends this session: a stolen
    /// session cannot guess the password.
    pub async fn change_password(
        &self,
        owner: &Owner,
        current: &str,
        new: &str,
        confirm: &str,
    ) -> Result<PasswordChange> {
        let gate = Gate::in_session(owner);
        let check = |admitted: Admitted| async move {
            let account = admitted.account.ok_or(crate::error::Error::NotFound)?;
            let (key, locked_for, limits) = (admitted.key, admitted.locked_for, admitted.limits);
            if !self
                .hasher
                .verify(
                    admitted.priority,
                    current.to_string(),
                    Some(account.password_hash.clone()),
                )
                .await?
            {
                let (who, now) = (owner.clone(), self.now());
                self.change(move |c| {
                    let failed = sessions::SessionFailure {
                        owner: &who,
                        kind: crate::audit::Kind::PasswordChangeFailure,
                        reason: "wrong current password",
                        locked_for,
                        limits: &limits,
                    };
                    sessions::wrong_current_password(c, &failed, now)
                })
                .await?;
                return Ok(Verdict::Wrong(Err(match locked_for {
                    Some(_) => PasswordChange::SignedOut,
                    None => PasswordChange::Refused(Message::new("msg-current-wrong")),
                })));
            }
            let (others, now) = (admitted.in_flight.others(), self.now());
            self.db
                .run(move |c| crate::db::write_tx(c, |c| throttle::succeeded(c, &key, others, now)))
                .await?;
            Ok(Verdict::Right(Ok(account)))
        };
        let account = match self.attempt(gate, check).await? {
            Attempted::Done(Ok(account)) => account,
            Attempted::Done(Err(refused)) => return Ok(refused),
            Attempted::Throttled(wait) => return Ok(PasswordChange::Throttled(wait)),
        };
        let refuse = |key| Ok(PasswordChange::Refused(Message::new(key)));
        if let Err(msg) = self.policy.check(new, &account.username) {
            return Ok(PasswordChange::Refused(msg));
        }
        if new != confirm {
            return refuse("msg-new-password-mismatch");
        }
        if new == current {
            return refuse("msg-password-same");
        }
        let hash = self.hasher.hash(new.to_string()).await?;
        let (owner, now) = (owner.clone(), self.now());
        let (account, groups) = self
            .change(move |c| sessions::change_password(c, &owner, &hash, now))
            .await?;
        Ok(PasswordChange::Changed(Box::new(account), groups))
    }
}
