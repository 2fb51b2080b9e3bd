//! Administrators' pages: find accounts, act on them, read the audit log. Every route
//! takes `AdminUser`, so anyone else gets 403 (or the sign-in page).

use crate::audit::Kind;
use crate::context;
use crate::web::engine::Template;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State};

use crate::accounts::{self, CreatedBy, Role, Search, StatusFilter};
use crate::admin::{Actor, Refusal};
use crate::app::{AccountOverview, AccountPage, AccountRequest, AdminAction, App, NewAccount};
use crate::audit::AUDIT_PAGE;
use crate::i18n::Message;
use crate::text::printable;
use crate::web::auth::TokenOnly;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected};
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::notice;
use crate::web::second_factor::require_recent_confirmation;
use crate::web::session::AdminUser;

fn parse_id(id: &str) -> Result<i64> {
    id.parse().map_err(|_| Error::NotFound)
}

#[derive(serde::Serialize)]
struct Row {
    id: i64,
    username: String,
    role: String,
    disabled: bool,
    locked_until: Option<i64>,
    last_login_at: Option<i64>,
    created_at: i64,
}

impl Row {
    fn of(a: accounts::Account, locked_until: Option<i64>) -> Row {
        Row {
            id: a.id,
            username: a.username,
            role: a.role,
            disabled: a.disabled,
            locked_until,
            last_login_at: a.last_login_at,
            created_at: a.created_at,
        }
    }
}

/// The account list's query: `q`, `role`, `status`, `after`, and a `notice` to show.
/// Values that cannot be read are treated as absent.
#[derive(FromForm, Default)]
pub struct ListQuery<'r> {
    q: Option<&'r str>,
    role: Option<&'r str>,
    status: Option<&'r str>,
    after: Option<&'r str>,
    notice: Option<&'r str>,
}

#[get("/admin/users?<query..>")]
pub async fn users(
    admin: AdminUser,
    query: Option<ListQuery<'_>>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    let ListQuery {
        q,
        role,
        status,
        after,
        notice,
    } = query.unwrap_or_default();
    let search = Search {
        prefix: printable(q.unwrap_or_default(), 64),
        role: role.and_then(Role::parse),
        status: status.and_then(StatusFilter::parse),
        after: after.filter(|a| !a.is_empty()).map(|a| printable(a, 64)),
    };
    let AccountPage { rows, next, locks } = app.search_accounts(search.clone()).await?;
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|a| {
            let lock = locks
                .iter()
                .find(|(k, _)| *k == a.username_key)
                .map(|(_, t)| *t);
            Row::of(a, lock)
        })
        .collect();
    Ok(page(
        "admin/users",
        &lang,
        context! {
            title_key: "title-accounts",
            user: admin.0,
            rows,
            next,
            q: search.prefix,
            role: search.role.map(|r| r.as_str()),
            status: status.filter(|_| search.status.is_some()),
            oidc_on: app.oidc().is_some(),
            notice: notice::text(notice),
        },
    ))
}

fn new_user_form(
    admin: &AdminUser,
    app: &App,
    username: &str,
    role: &str,
    email: &str,
    error: Option<&str>,
    lang: &Lang,
) -> Template {
    page(
        "admin/new",
        lang,
        context! {
            title_key: "title-new-account",
            csrf_token: app.csrf().for_session(&admin.0.sid),
            min_length: app.policy().min_length,
            mail_on: app.mail_on(),
            user: &admin.0,
            username,
            role,
            email,
            error,
        },
    )
}

#[get("/admin/users/new")]
pub fn new_user_page(admin: AdminUser, app: &State<App>, lang: Lang) -> Template {
    new_user_form(&admin, app, "", "user", "", None, &lang)
}

#[derive(FromForm)]
pub struct NewUserForm {
    username: String,
    role: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for NewUserForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/admin/users/new", data = "<form>")]
pub async fn new_user(
    admin: AdminUser,
    form: Csrf<NewUserForm>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    require_recent_confirmation(app, &admin.0, "/admin/users/new").await?;
    let form = form.into_inner();
    let refuse = |msg: Message| {
        Ok(Either::Right((
            Status::UnprocessableEntity,
            new_user_form(
                &admin,
                app,
                &form.username,
                &form.role,
                &form.email,
                Some(&msg.text(lang.code)),
                &lang,
            ),
        )))
    };
    let Some(role) = Role::parse(&form.role) else {
        return refuse(Message::new("msg-choose-role"));
    };
    let email = form.email.trim().to_string();
    let address = match crate::mail::parse_address(&email) {
        _ if email.is_empty() => None,
        Ok(address) if app.mail_on() => Some(address),
        Err(crate::mail::AddressError::NonAsciiLocal) if app.mail_on() => {
            return refuse(Message::new("msg-email-ascii"))
        }
        _ => return refuse(Message::new("msg-email-invalid")),
    };
    if !form.password.is_empty() && address.is_some() {
        return refuse(Message::new("msg-invite-or-password"));
    }
    if let (true, Some(address)) = (form.password.is_empty(), address) {
        // An invitation: the person chooses the password through a mailed link.
        if let Err(msg) = accounts::validate_username(&form.username) {
            return refuse(msg);
        }
        let actor = Actor {
            id: admin.0.id,
            ip: client.ip.clone(),
        };
        return match app
            .invite(actor, form.username.clone(), address, role, lang.code)
            .await?
        {
            Ok(id) => Ok(Either::Left(Redirect::to(format!(
                "/admin/users/{id}?notice=invited"
            )))),
            Err(Refusal::Taken) => refuse(Message::new("msg-name-or-email-taken")),
            Err(refusal) => Err(refusal.into()),
        };
    }
    let created = app
        .create_account(AccountRequest {
            username: &form.username,
            password: &form.password,
            confirm: None,
            role,
            must_change_password: true,
            event: Kind::AdminAccountCreated,
            by: CreatedBy::Account(admin.0.id),
            ip: &client.ip,
            detail: format!("role {}", role.as_str()),
        })
        .await?;
    match created {
        NewAccount::Created(a) => Ok(Either::Left(Redirect::to(format!(
            "/admin/users/{}?notice=created",
            a.id
        )))),
        NewAccount::Invalid(msg) => refuse(msg),
        NewAccount::Taken => refuse(Message::new("msg-username-taken")),
    }
}

#[get("/admin/users/<id>?<notice>")]
pub async fn user_page(
    admin: AdminUser,
    id: &str,
    notice: Option<&str>,
    passkeys_on: Option<crate::web::passkeys::PasskeysOn>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    let id = parse_id(id)?;
    let _now = app.now();
    let AccountOverview {
        account,
        sessions,
        events,
        failed_logins,
        locked_until,
        codes_left,
        member_of,
        other_groups,
        invited_until,
        passkeys,
    } = app.account_overview(id).await?;
    Ok(page(
        "admin/user",
        &lang,
        context! {
            csrf_token: app.csrf().for_session(&admin.0.sid),
            is_self: account.id == admin.0.id,
            min_length: app.policy().min_length,
            account: Row::of(account.clone(), locked_until),
            must_change_password: account.must_change_password,
            second_factor: account.has_second_factor(),
            second_factor_since: account.totp_enabled_at,
            passkey_count: passkeys.len(),
            passkeys,
            passkeys_on: passkeys_on.is_some(),
            recovery_used_at: account.recovery_used_at,
            codes_left,
            member_of,
            other_groups,
            email: &account.email,
            email_verified: account.email_verified_at.is_some(),
            invited_until,
            mail_on: app.mail_on(),
            failed_logins,
            sessions,
            events,
            notice: notice::text(notice),
            user: admin.0,
        },
    ))
}

/// Where the administrator lands after an action that went through.
pub(crate) enum Landing {
    /// The account's page (it still exists).
    Account,
    /// The account list (the account is gone).
    List,
}

/// Runs one admin action and answers with a redirect (to the account, or to the list for
/// an account that is gone), or the refusal.
pub(crate) async fn act(
    app: &App,
    admin: &AdminUser,
    client: &ClientInfo,
    id: &str,
    done: &str,
    landing: Landing,
    action: AdminAction,
) -> Result<Redirect> {
    let id = parse_id(id)?;
    require_recent_confirmation(app, &admin.0, &format!("/admin/users/{id}")).await?;
    let actor = Actor {
        id: admin.0.id,
        ip: client.ip.clone(),
    };
    app.administer(actor, id, action).await??;
    Ok(Redirect::to(match landing {
        Landing::List => format!("/admin/users?notice={done}"),
        Landing::Account => format!("/admin/users/{id}?notice={done}"),
    }))
}

#[derive(FromForm)]
pub struct RoleForm {
    role: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for RoleForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/admin/users/<id>/role", data = "<form>")]
pub async fn set_role(
    admin: AdminUser,
    id: &str,
    form: Csrf<RoleForm>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let role = Role::parse(&form.0.role)
        .ok_or_else(|| Error::Unprocessable(Message::new("msg-choose-role")))?;
    act(
        app,
        &admin,
        &client,
        id,
        "role_changed",
        Landing::Account,
        AdminAction::SetRole(role),
    )
    .await
}

/// The actions that need nothing but the form token: disable, enable, unlock,
/// revoke-sessions. (Role, reset-password and delete have routes of their own.)
#[post("/admin/users/<id>/<action>", data = "<_form>", rank = 2)]
pub async fn simple_action(
    admin: AdminUser,
    id: &str,
    action: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let (done, action) = match action {
        "disable" => ("disabled", AdminAction::Disable),
        "enable" => ("enabled", AdminAction::Enable),
        "unlock" => ("unlocked", AdminAction::Unlock),
        "revoke-sessions" => ("sessions_revoked", AdminAction::RevokeSessions),
        _ => return Err(Error::NotFound),
    };
    act(app, &admin, &client, id, done, Landing::Account, action).await
}

#[post("/admin/users/<id>/sessions/<sid>/revoke", data = "<_form>")]
pub async fn revoke_session(
    admin: AdminUser,
    id: &str,
    sid: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let sid = sid.to_string();
    act(
        app,
        &admin,
        &client,
        id,
        "sessions_revoked",
        Landing::Account,
        AdminAction::RevokeSession(sid),
    )
    .await
}

#[derive(FromForm)]
pub struct ResetForm {
    password: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for ResetForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/admin/users/<id>/reset-password", data = "<form>")]
pub async fn reset_password(
    admin: AdminUser,
    id: &str,
    form: Csrf<ResetForm>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let account_id = parse_id(id)?;
    require_recent_confirmation(app, &admin.0, &format!("/admin/users/{account_id}")).await?;
    let actor = Actor {
        id: admin.0.id,
        ip: client.ip.clone(),
    };
    let password = form.into_inner().password;
    app.admin_set_password(actor, account_id, password)
        .await?
        .map_err(Error::Unprocessable)??;
    Ok(Redirect::to(format!(
        "/admin/users/{account_id}?notice=password_reset"
    )))
}

#[derive(FromForm)]
pub struct DeleteForm {
    #[field(default = String::new())]
    confirm: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for DeleteForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/admin/users/<id>/delete", data = "<form>")]
pub async fn delete(
    admin: AdminUser,
    id: &str,
    form: Csrf<DeleteForm>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let confirm = form.into_inner().confirm;
    act(
        app,
        &admin,
        &client,
        id,
        "deleted",
        Landing::List,
        AdminAction::Delete(confirm),
    )
    .await
}

/// Removes the account's second factor (it lost its phone and its recovery codes) and
/// ends its sessions; it enrols again at its next sign-in where the policy asks.
#[post("/admin/users/<id>/reset-2fa", data = "<_form>")]
pub async fn reset_second_factor(
    admin: AdminUser,
    id: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    act(
        app,
        &admin,
        &client,
        id,
        "2fa_reset",
        Landing::Account,
        AdminAction::ResetSecondFactor,
    )
    .await
}

#[post("/admin/users/<id>/invitation/resend", data = "<_form>")]
pub async fn resend_invitation(
    admin: AdminUser,
    id: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    act(
        app,
        &admin,
        &client,
        id,
        "invitation_resent",
        Landing::Account,
        AdminAction::ResendInvitation,
    )
    .await
}

#[post("/admin/users/<id>/invitation/cancel", data = "<_form>")]
pub async fn cancel_invitation(
    admin: AdminUser,
    id: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    act(
        app,
        &admin,
        &client,
        id,
        "invitation_cancelled",
        Landing::List,
        AdminAction::CancelInvitation,
    )
    .await
}

#[derive(FromForm)]
pub struct MembershipForm {
    #[field(default = String::new())]
    group: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for MembershipForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/admin/users/<id>/groups", data = "<form>")]
pub async fn add_to_group(
    admin: AdminUser,
    id: &str,
    form: Csrf<MembershipForm>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let group = parse_id(&form.0.group)?;
    act(
        app,
        &admin,
        &client,
        id,
        "groups_changed",
        Landing::Account,
        AdminAction::AddToGroup(group),
    )
    .await
}

#[post("/admin/users/<id>/groups/<group>/remove", data = "<_form>")]
pub async fn remove_from_group(
    admin: AdminUser,
    id: &str,
    group: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let group = parse_id(group)?;
    act(
        app,
        &admin,
        &client,
        id,
        "groups_changed",
        Landing::Account,
        AdminAction::RemoveFromGroup(group),
    )
    .await
}

fn groups_page(
    admin: &AdminUser,
    app: &App,
    groups: Vec<(crate::groups::Group, i64)>,
    name: &str,
    error: Option<String>,
    notice: Option<&str>,
    lang: &Lang,
) -> Template {
    let rows: Vec<_> = groups
        .into_iter()
        .map(|(g, members)| context! { id: g.id, name: g.name, created_at: g.created_at, members })
        .collect();
    page(
        "admin/groups",
        lang,
        context! {
            title_key: "title-groups",
            csrf_token: app.csrf().for_session(&admin.0.sid),
            user: &admin.0,
            groups: rows,
            name,
            error,
            notice,
        },
    )
}

#[get("/admin/groups?<notice>")]
pub async fn groups(
    admin: AdminUser,
    notice: Option<&str>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    let all = app.groups().await?;
    Ok(groups_page(
        &admin,
        app,
        all,
        "",
        None,
        notice::text(notice),
        &lang,
    ))
}

#[derive(FromForm)]
pub struct GroupForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for GroupForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/admin/groups", data = "<form>")]
pub async fn create_group(
    admin: AdminUser,
    form: Csrf<GroupForm>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    require_recent_confirmation(app, &admin.0, "/admin/groups").await?;
    let name = form.into_inner().name.trim().to_string();
    let refuse = |msg: Message, all| {
        Ok(Either::Right((
            Status::UnprocessableEntity,
            groups_page(
                &admin,
                app,
                all,
                &name,
                Some(msg.text(lang.code)),
                None,
                &lang,
            ),
        )))
    };
    if let Err(msg) = crate::groups::validate_name(&name) {
        let all = app.groups().await?;
        return refuse(msg, all);
    }
    let actor = Actor {
        id: admin.0.id,
        ip: client.ip.clone(),
    };
    match app.create_group(actor, name.clone()).await? {
        Ok(()) => Ok(Either::Left(Redirect::to(
            "/admin/groups?notice=group_created",
        ))),
        Err(Refusal::Taken) => {
            let all = app.groups().await?;
            refuse(Message::new("msg-group-taken"), all)
        }
        Err(refusal) => Err(refusal.into()),
    }
}

#[post("/admin/groups/<id>/delete", data = "<_form>")]
pub async fn delete_group(
    admin: AdminUser,
    id: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let id = parse_id(id)?;
    require_recent_confirmation(app, &admin.0, "/admin/groups").await?;
    let actor = Actor {
        id: admin.0.id,
        ip: client.ip.clone(),
    };
    app.delete_group(actor, id).await??;
    Ok(Redirect::to("/admin/groups?notice=group_deleted"))
}

#[get("/admin/audit?<user>&<kind>&<before>")]
pub async fn audit(
    admin: AdminUser,
    user: Option<&str>,
    kind: Option<&str>,
    before: Option<&str>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    let user_filter = user
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| printable(u, 64));
    let kind_filter = kind
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| printable(k, 64));
    let before_id = before.and_then(|b| b.parse::<i64>().ok());
    let (name, kind_q) = (user_filter.clone(), kind_filter.clone());
    let (events, next) = app
        .search_audit(name, kind_q, before_id, AUDIT_PAGE)
        .await?;
    Ok(page(
        "admin/audit",
        &lang,
        context! {
            title_key: "title-audit",
            user: admin.0,
            events,
            next,
            filter_user: user_filter,
            filter_kind: kind_filter,
        },
    ))
}
