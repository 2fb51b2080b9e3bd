//! The security event log: who did what to whom, when, and from where.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_events;
use crate::db::DbConn;
use crate::error::Result;

/// Declares the audit kinds: each is a variant and the one string it is stored as.
macro_rules! kinds {
    ($($variant:ident = $name:literal,)*) => {
        /// What an audit event records; stored (and searched) as its string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $($variant,)*
        }

        impl Kind {
            /// Every kind, for the audit page's filter and the tests.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            pub fn parse(name: &str) -> Option<Kind> {
                Kind::ALL.iter().copied().find(|k| k.as_str() == name)
            }
        }
    };
}

kinds! {
    TwoFactorDisabled = "2fa_disabled",
    TwoFactorEnabled = "2fa_enabled",
    TwoFactorFailure = "2fa_failure",
    TwoFactorReset = "2fa_reset",
    AccountCreated = "account_created",
    AdminAccountCreated = "admin_account_created",
    AdminAccountDeleted = "admin_account_deleted",
    AdminAccountDisabled = "admin_account_disabled",
    AdminAccountEnabled = "admin_account_enabled",
    AdminAccountUnlocked = "admin_account_unlocked",
    AdminPasswordReset = "admin_password_reset",
    AdminRoleChanged = "admin_role_changed",
    AdminSessionRevoked = "admin_session_revoked",
    AdminSessionsRevoked = "admin_sessions_revoked",
    EmailChanged = "email_changed",
    EmailVerified = "email_verified",
    GroupCreated = "group_created",
    GroupDeleted = "group_deleted",
    GroupMemberAdded = "group_member_added",
    GroupMemberRemoved = "group_member_removed",
    InvitationAccepted = "invitation_accepted",
    InvitationCancelled = "invitation_cancelled",
    InvitationSent = "invitation_sent",
    Lockout = "lockout",
    LoginFailure = "login_failure",
    LoginSuccess = "login_success",
    Logout = "logout",
    MailLanguageChanged = "mail_language_changed",
    PasswordChangeFailure = "password_change_failure",
    PasswordChanged = "password_changed",
    PasswordReset = "password_reset",
    PasswordResetRequested = "password_reset_requested",
    PasskeyAdded = "passkey_added",
    PasskeyRenamed = "passkey_renamed",
    PasskeyRemoved = "passkey_removed",
    PasskeySignIn = "passkey_sign_in",
    PasskeyFailure = "passkey_failure",
    OidcClientCreated = "oidc_client_created",
    OidcClientUpdated = "oidc_client_updated",
    OidcClientSecretRotated = "oidc_client_secret_rotated",
    OidcClientDeleted = "oidc_client_deleted",
    OidcConsentGranted = "oidc_consent_granted",
    OidcAppRevoked = "oidc_app_revoked",
    OidcCodeReuse = "oidc_code_reuse",
    OidcRefreshReuse = "oidc_refresh_reuse",
    OidcBackchannelFailed = "oidc_backchannel_failed",
    Reauth = "reauth",
    ReauthFailure = "reauth_failure",
    RecoveryCodeUsed = "recovery_code_used",
    RecoveryCodesRegenerated = "recovery_codes_regenerated",
    RefreshTokenReuse = "refresh_token_reuse",
    SessionRevoked = "session_revoked",
    SessionsRevoked = "sessions_revoked",
    SetupAdminCreated = "setup_admin_created",
    Signup = "signup",
}

/// An event about to be recorded.
pub struct Event<'a> {
    kind: Kind,
    ip: &'a str,
    at: i64,
    actor_id: Option<i64>,
    subject_id: Option<i64>,
    subject_name: Option<String>,
    detail: String,
}

impl<'a> Event<'a> {
    pub fn new(kind: Kind, ip: &'a str, at: i64) -> Self {
        Event {
            kind,
            ip,
            at,
            actor_id: None,
            subject_id: None,
            subject_name: None,
            detail: String::new(),
        }
    }

    pub fn actor(mut self, id: i64) -> Self {
        self.actor_id = Some(id);
        self
    }

    pub fn subject(mut self, id: i64, name: &str) -> Self {
        self.subject_id = Some(id);
        self.subject_name = Some(name.to_string());
        self
    }

    /// A name that was tried but may not exist (kept short: it is client input).
    pub fn attempted_name(mut self, name: &str) -> Self {
        self.subject_name = Some(crate::text::printable(name, 64));
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

pub fn record(conn: &mut DbConn, e: &Event<'_>) -> Result<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::at.eq(e.at),
            audit_events::kind.eq(e.kind.as_str()),
            audit_events::actor_id.eq(e.actor_id),
            audit_events::subject_id.eq(e.subject_id),
            audit_events::subject_name.eq(&e.subject_name),
            audit_events::ip.eq(e.ip),
            audit_events::detail.eq(&e.detail),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub subject_name: Option<String>,
    pub ip: String,
    pub detail: String,
}

/// Deletes up to `limit` events older than `keep` seconds; returns how many.
pub fn prune(conn: &mut DbConn, now: i64, keep: i64, limit: i64) -> Result<usize> {
    let ids: Vec<i64> = audit_events::table
        .filter(audit_events::at.lt(now - keep))
        .select(audit_events::id)
        .limit(limit)
        .load(conn)?;
    Ok(diesel::delete(audit_events::table.filter(audit_events::id.eq_any(&ids))).execute(conn)?)
}

pub const AUDIT_PAGE: i64 = 50;

/// One page of events, newest first, before the event id `before`; and the id to
/// continue before, if there is more.
pub fn search(
    conn: &mut DbConn,
    subject: Option<SubjectFilter>,
    kind: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditRow>, Option<i64>)> {
    let mut q = audit_events::table
        .select(AuditRow::as_select())
        .into_boxed();
    match subject {
        Some(SubjectFilter::Id(id)) => q = q.filter(audit_events::subject_id.eq(id)),
        Some(SubjectFilter::Name(name)) => q = q.filter(audit_events::subject_name.eq(name)),
        None => {}
    }
    if let Some(kind) = kind {
        q = q.filter(audit_events::kind.eq(kind.to_string()));
    }
    if let Some(before) = before {
        q = q.filter(audit_events::id.lt(before));
    }
    let rows: Vec<AuditRow> = q
        .order(audit_events::id.desc())
        .limit(limit + 1)
        .load(conn)?;
    Ok(crate::db::keyset_page(rows, limit, |r| r.id))
}

/// Whose events: an existing account by id, or a name (deleted accounts, unknown names).
pub enum SubjectFilter {
    Id(i64),
    Name(String),
}
