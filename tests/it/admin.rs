//! Administrators' pages: access control on every route, each action with its rules and
//! audit row, search and pagination, escaping; no reset of one's own password, ids never
//! reused, and the last administrator stays when two act at once on two instances.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::Status;

/// Every admin route, as (method, path).
fn admin_routes(id: i64) -> Vec<(&'static str, String)> {
    let mut routes = vec![
        ("GET", "/admin/users".to_string()),
        (
            "GET",
            "/admin/users?q=a&role=user&status=active&after=a".to_string(),
        ),
        ("GET", "/admin/users/new".to_string()),
        ("POST", "/admin/users/new".to_string()),
        ("GET", format!("/admin/users/{id}")),
        ("GET", "/admin/audit".to_string()),
        (
            "GET",
            "/admin/audit?user=x&kind=logout&before=5".to_string(),
        ),
        ("POST", format!("/admin/users/{id}/sessions/abc/revoke")),
    ];
    for action in [
        "role",
        "disable",
        "enable",
        "unlock",
        "reset-password",
        "revoke-sessions",
        "delete",
    ] {
        routes.push(("POST", format!("/admin/users/{id}/{action}")));
    }
    routes
}

#[test]
fn every_admin_route_refuses_non_admins_and_strangers() {
    let app = app();
    let (target, user) = app.signed_in("plainuser", Role::User);
    let token = user.token("/logout"); // a valid token of the user's own session
    for (method, path) in admin_routes(target) {
        let r = match method {
            "GET" => user.get(&path),
            _ => user.post(
                &path,
                &format!(
                    "csrf_token={token}&role=admin&confirm=plainuser&password={}",
                    enc(PASSWORD)
                ),
            ),
        };
        assert_eq!(r.status, Status::Forbidden, "{method} {path} as a user");
        assert!(
            r.body.contains("Forbidden"),
            "{method} {path}: rendered 403 page"
        );
        let stranger = app.browser();
        let r = match method {
            "GET" => stranger.get(&path),
            _ => stranger.post(&path, "csrf_token=x"),
        };
        assert!(
            r.is_login_redirect() || r.status == Status::Forbidden,
            "{method} {path} anonymous: {} {}",
            r.status,
            r.location()
        );
    }
    // Nothing changed: still a user, still enabled, still signed in.
    assert!(user.get("/dashboard").body.contains(">user<"));
    assert!(app.audit_kinds("admin_role_changed").is_empty());
}

struct Admin<'a> {
    b: Browser<'a>,
    id: i64,
}

impl<'a> Admin<'a> {
    fn new(app: &'a TestApp) -> Self {
        let (id, b) = app.signed_in("boss", Role::Admin);
        Admin { b, id }
    }

    fn token(&self) -> String {
        self.b.token("/logout")
    }

    fn post(&self, path: &str, extra: &str) -> Resp {
        self.b
            .post(path, &format!("csrf_token={}&{extra}", self.token()))
    }
}

#[test]
fn admin_actions_need_the_csrf_token() {
    let app = app();
    let admin = Admin::new(&app);
    let target = app.create_user("target", Role::User);
    for action in ["disable", "revoke-sessions", "unlock"] {
        let r = admin.b.post(
            &format!("/admin/users/{target}/{action}"),
            "csrf_token=forged",
        );
        assert_eq!(r.status, Status::Forbidden, "{action}");
    }
    let r = admin
        .b
        .post(&format!("/admin/users/{target}/role"), "role=admin");
    assert_eq!(r.status, Status::Forbidden);
    assert!(app.audit_kinds("admin_account_disabled").is_empty());
}

#[test]
fn create_an_account_that_must_change_its_password() {
    let app = app();
    let admin = Admin::new(&app);
    assert_eq!(admin.b.get("/admin/users/new").status, Status::Ok);
    let r = admin.post(
        "/admin/users/new",
        &format!("username=newbie&role=user&password={}", enc(PASSWORD)),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(r.location().starts_with("/admin/users/"));
    assert!(admin
        .b
        .get(r.location())
        .body
        .contains("The account has been created"));
    let created = app.audit_kinds("admin_account_created");
    assert_eq!(created[0].actor_id, Some(admin.id));
    assert_eq!(created[0].subject_name.as_deref(), Some("newbie"));

    // First sign-in: every page sends the newcomer to the password page.
    let b = app.browser();
    assert_eq!(b.login("newbie", PASSWORD, false).status, Status::SeeOther);
    for path in ["/dashboard", "/account", "/"] {
        let r = b.get(path);
        assert_eq!(r.status, Status::SeeOther, "{path}");
        assert!(
            r.location().starts_with("/account/password"),
            "{path} → {}",
            r.location()
        );
    }
    let page = b.get("/account/password?notice=must_change");
    assert!(page
        .body
        .contains("Choose a new password before you continue."));
    let new_pw = "a brand new password of my own";
    let r = b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={}",
            enc(PASSWORD),
            enc(new_pw),
            enc(new_pw),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(b.get("/dashboard").status, Status::Ok);
    // And the flag is gone for good.
    let again = app.browser();
    assert_eq!(
        again.login("newbie", new_pw, false).status,
        Status::SeeOther
    );
    assert_eq!(again.get("/dashboard").status, Status::Ok);
}

#[test]
fn create_refuses_bad_input() {
    let app = app();
    let admin = Admin::new(&app);
    app.create_user("taken", Role::User);
    for (body, message) in [
        (
            format!("username=taken&role=user&password={}", enc(PASSWORD)),
            "That username is taken.",
        ),
        (
            format!("username=TAKEN&role=user&password={}", enc(PASSWORD)),
            "That username is taken.",
        ),
        (
            format!("username=x&role=user&password={}", enc(PASSWORD)),
            "3 to 32 characters",
        ),
        (
            "username=fresh&role=user&password=short".to_string(),
            "at least 15 characters",
        ),
        (
            format!("username=fresh&role=root&password={}", enc(PASSWORD)),
            "Choose the role",
        ),
    ] {
        let r = admin.post("/admin/users/new", &body);
        assert_eq!(r.status, Status::UnprocessableEntity, "{body}");
        assert!(r.body.contains(message), "{body}: {message}");
    }
}

#[test]
fn disabling_ends_every_session_and_blocks_sign_in() {
    let app = app();
    let admin = Admin::new(&app);
    let (target, victim) = app.signed_in("victim", Role::User);
    let r = admin.post(&format!("/admin/users/{target}/disable"), "");
    assert_eq!(r.status, Status::SeeOther);
    assert!(admin.b.get(r.location()).body.contains("has been disabled"));
    // The access token is refused on the very next request, and the refresh token too.
    assert!(victim.get("/dashboard").is_login_redirect());
    let refresh_only = victim.copy();
    refresh_only.drop_cookie("__Host-access");
    assert!(refresh_only.get("/dashboard").is_login_redirect());
    assert_eq!(
        app.browser().login("victim", PASSWORD, false).status,
        Status::Unauthorized
    );
    // Enable brings sign-in back.
    assert_eq!(
        admin
            .post(&format!("/admin/users/{target}/enable"), "")
            .status,
        Status::SeeOther
    );
    assert_eq!(
        app.browser().login("victim", PASSWORD, false).status,
        Status::SeeOther
    );
    let events = app.audit_kinds("admin_account_disabled");
    assert_eq!(events[0].actor_id, Some(admin.id));
    assert_eq!(events[0].subject_id, Some(target));
    assert_eq!(events[0].detail, "1 sessions ended");
    assert_eq!(app.audit_kinds("admin_account_enabled").len(), 1);
}

#[test]
fn administrators_cannot_lock_themselves_out() {
    let app = app();
    let admin = Admin::new(&app);
    let me = admin.id;
    let r = admin.post(&format!("/admin/users/{me}/disable"), "");
    assert_eq!(r.status, Status::Forbidden);
    assert!(r.body.contains("your own account"));
    let r = admin.post(&format!("/admin/users/{me}/role"), "role=user");
    assert_eq!(r.status, Status::Forbidden);
    let r = admin.post(&format!("/admin/users/{me}/delete"), "confirm=boss");
    assert_eq!(r.status, Status::Forbidden);
    assert!(
        admin.b.get("/admin/users").status == Status::Ok,
        "still an admin"
    );
}

#[test]
fn the_last_active_administrator_stays() {
    let app = app();
    let admin = Admin::new(&app);
    let other = app.create_user("second", Role::Admin);
    // With two admins, one may demote the other…
    assert_eq!(
        admin
            .post(&format!("/admin/users/{other}/role"), "role=user")
            .status,
        Status::SeeOther
    );
    // …and promote back.
    assert_eq!(
        admin
            .post(&format!("/admin/users/{other}/role"), "role=admin")
            .status,
        Status::SeeOther
    );
    // If the other admin is disabled, this one is the last active one; a disabled admin
    // may still be deleted, but this one cannot be removed by anyone.
    assert_eq!(
        admin
            .post(&format!("/admin/users/{other}/disable"), "")
            .status,
        Status::SeeOther
    );
    let second_browser = app.browser();
    assert_eq!(
        second_browser.login("second", PASSWORD, false).status,
        Status::Unauthorized
    );
    let changes = app.audit_kinds("admin_role_changed");
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().any(|e| e.detail == "role admin → user"));
}

#[test]
fn last_admin_rule_holds_against_another_admin() {
    // Two admins; A disables B; B's session is over, so only A is active: nobody can
    // then demote A (A cannot demote itself, and no other active admin exists).
    let app = app();
    let a = Admin::new(&app);
    let b_id = app.create_user("other-admin", Role::Admin);
    let b = app.browser();
    b.login("other-admin", PASSWORD, false);
    assert_eq!(b.get("/admin/users").status, Status::Ok);
    // B demotes A: allowed while both are active.
    assert_eq!(
        b.post(
            &format!("/admin/users/{}/role", a.id),
            &format!("role=user&csrf_token={}", b.token("/logout"))
        )
        .status,
        Status::SeeOther
    );
    // A's token is refused as admin at once (instant role change).
    assert_eq!(a.b.get("/admin/users").status, Status::Forbidden);
    // Now B is the last active admin and cannot demote or disable itself.
    let r = b.post(
        &format!("/admin/users/{b_id}/role"),
        &format!("role=user&csrf_token={}", b.token("/logout")),
    );
    assert_eq!(r.status, Status::Forbidden);
}

#[test]
fn role_change_reaches_the_account_on_its_next_request() {
    let app = app();
    let admin = Admin::new(&app);
    let (target, user) = app.signed_in("climber", Role::User);
    assert_eq!(user.get("/admin/users").status, Status::Forbidden);
    assert_eq!(
        admin
            .post(&format!("/admin/users/{target}/role"), "role=admin")
            .status,
        Status::SeeOther
    );
    // The old token says "user": refused, renewed from the refresh token with the new role.
    let r = user.get("/admin/users");
    assert_eq!(
        r.status,
        Status::Ok,
        "promotion not seen on the next request"
    );
    assert!(user.get("/dashboard").body.contains(">admin<"));
    assert_eq!(
        admin
            .post(&format!("/admin/users/{target}/role"), "role=user")
            .status,
        Status::SeeOther
    );
    assert_eq!(user.get("/admin/users").status, Status::Forbidden);
}

#[test]
fn delete_needs_the_typed_username_and_removes_the_account() {
    let app = app();
    let admin = Admin::new(&app);
    let (target, victim) = app.signed_in("goner", Role::User);
    let r = admin.post(&format!("/admin/users/{target}/delete"), "confirm=wrong");
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert_eq!(
        admin.b.get(&format!("/admin/users/{target}")).status,
        Status::Ok
    );
    let r = admin.post(&format!("/admin/users/{target}/delete"), "confirm=goner");
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/admin/users?notice=deleted");
    assert_eq!(
        admin.b.get(&format!("/admin/users/{target}")).status,
        Status::NotFound
    );
    assert!(
        victim.get("/dashboard").is_login_redirect(),
        "deleted account still signed in"
    );
    assert_eq!(
        app.browser().login("goner", PASSWORD, false).status,
        Status::Unauthorized
    );
    let events = app.audit_kinds("admin_account_deleted");
    assert_eq!(events[0].subject_name.as_deref(), Some("goner"));
    assert_eq!(events[0].actor_id, Some(admin.id));
}

#[test]
fn reset_password_ends_sessions_and_forces_a_change() {
    let app = app();
    let admin = Admin::new(&app);
    let (target, victim) = app.signed_in("forgetful", Role::User);
    let r = admin.post(
        &format!("/admin/users/{target}/reset-password"),
        "password=short",
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    let temp = "temporary password from the admin";
    let r = admin.post(
        &format!("/admin/users/{target}/reset-password"),
        &format!("password={}", enc(temp)),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(victim.get("/dashboard").is_login_redirect());
    assert_eq!(
        app.browser().login("forgetful", PASSWORD, false).status,
        Status::Unauthorized
    );
    let b = app.browser();
    assert_eq!(b.login("forgetful", temp, false).status, Status::SeeOther);
    assert!(b
        .get("/dashboard")
        .location()
        .starts_with("/account/password"));
    assert_eq!(app.audit_kinds("admin_password_reset").len(), 1);
}

#[test]
fn revoke_sessions_one_and_all() {
    let app = app();
    let admin = Admin::new(&app);
    let (target, phone) = app.signed_in("mobile", Role::User);
    let laptop = app.browser();
    laptop.login("mobile", PASSWORD, false);
    let page = admin.b.get(&format!("/admin/users/{target}"));
    let marker = format!("/admin/users/{target}/sessions/");
    let start = page.body.find(&marker).unwrap() + marker.len();
    let sid = &page.body[start..start + page.body[start..].find('/').unwrap()];
    let r = admin.post(&format!("/admin/users/{target}/sessions/{sid}/revoke"), "");
    assert_eq!(r.status, Status::SeeOther);
    let alive = [
        phone.get("/dashboard").status,
        laptop.get("/dashboard").status,
    ];
    assert_eq!(
        alive.iter().filter(|s| **s == Status::Ok).count(),
        1,
        "{alive:?}"
    );
    // Someone else's session id is not found under this account.
    assert_eq!(
        admin
            .post(
                &format!("/admin/users/{}/sessions/{sid}/revoke", admin.id),
                ""
            )
            .status,
        Status::NotFound
    );
    assert_eq!(
        admin
            .post(&format!("/admin/users/{target}/revoke-sessions"), "")
            .status,
        Status::SeeOther
    );
    assert!(phone.get("/dashboard").is_login_redirect());
    assert!(laptop.get("/dashboard").is_login_redirect());
    assert_eq!(app.audit_kinds("admin_session_revoked").len(), 1);
    assert_eq!(app.audit_kinds("admin_sessions_revoked").len(), 1);
}

#[test]
fn unlock_is_audited() {
    let app = app();
    let admin = Admin::new(&app);
    let target = app.create_user("locked-out", Role::User);
    assert_eq!(
        admin
            .post(&format!("/admin/users/{target}/unlock"), "")
            .status,
        Status::SeeOther
    );
    assert_eq!(
        app.audit_kinds("admin_account_unlocked")[0].subject_id,
        Some(target)
    );
}

#[test]
fn unknown_accounts_are_404() {
    let app = app();
    let admin = Admin::new(&app);
    for path in [
        "/admin/users/999999",
        "/admin/users/abc",
        "/admin/users/-1",
        "/admin/users/99999999999999999999",
    ] {
        assert_eq!(admin.b.get(path).status, Status::NotFound, "{path}");
    }
    assert_eq!(
        admin.post("/admin/users/999999/disable", "").status,
        Status::NotFound
    );
}

fn names_on(page: &str) -> Vec<String> {
    // Username cells: `<td data-label="…"><a href="/admin/users/ID">name</a></td>`.
    page.split("\"><a href=\"/admin/users/")
        .skip(1)
        .map(|s| s[s.find('>').unwrap() + 1..s.find("</a>").unwrap()].to_string())
        .collect()
}

/// How many audit rows on the page show the event `kind` (its cell is labelled, for phones).
fn event_cells(page: &str, kind: &str) -> usize {
    page.matches(&format!("\">{kind}</td>")).count()
}

fn next_link(page: &str) -> Option<String> {
    let start = page.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    Some(page[start..start + page[start..].find('"')?].replace("&amp;", "&"))
}

#[test]
fn search_filters_and_paginates_across_pages() {
    let app = app();
    let admin = Admin::new(&app);
    let state = app.state();
    for i in 0..120 {
        let role = if i % 10 == 0 { Role::Admin } else { Role::User };
        state
            .create_user(&format!("member{i:03}"), role, PASSWORD)
            .unwrap();
    }
    // Walk every page of "member": 50 + 50 + 20, in order, no repeats, no gaps.
    let mut seen = Vec::new();
    let mut path = Some("/admin/users?q=member".to_string());
    let mut pages = 0;
    while let Some(p) = path {
        let page = admin.b.get(&p);
        assert_eq!(page.status, Status::Ok);
        let names = names_on(&page.body);
        assert!(names.len() <= 50);
        seen.extend(names);
        path = next_link(&page.body);
        pages += 1;
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..120).map(|i| format!("member{i:03}")).collect();
    assert_eq!(seen, expected);
    // Exactly 50: one page, no next link.
    let page = admin.b.get("/admin/users?q=member0");
    assert_eq!(names_on(&page.body).len(), 50);
    assert!(
        next_link(&page.body).is_some(),
        "member000..member099 is 100 names: two pages"
    );
    // Prefix, case-insensitive.
    let page = admin.b.get("/admin/users?q=MEMBER11");
    assert_eq!(
        names_on(&page.body),
        (110..120).map(|i| format!("member{i}")).collect::<Vec<_>>()
    );
    // Role filter.
    let page = admin.b.get("/admin/users?q=member&role=admin");
    assert_eq!(names_on(&page.body).len(), 12);
    // Status filter.
    let id = app.create_user("sleeper", Role::User);
    admin.post(&format!("/admin/users/{id}/disable"), "");
    let page = admin.b.get("/admin/users?status=disabled");
    assert_eq!(names_on(&page.body), vec!["sleeper"]);
    // Junk filters are ignored, not errors.
    assert_eq!(
        admin
            .b
            .get("/admin/users?role=root&status=%FF&after=")
            .status,
        Status::Ok
    );
    // After the last name: empty page.
    let page = admin.b.get("/admin/users?q=member&after=member119");
    assert!(names_on(&page.body).is_empty());
    assert!(page.body.contains("No accounts match."));
}

#[test]
fn reflected_input_is_escaped() {
    let app = app();
    let admin = Admin::new(&app);
    let page = admin
        .b
        .get("/admin/users?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(page.status, Status::Ok);
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(page.body.contains("&lt;script&gt;"));
    // NUL and other control characters in filters are dropped, never sent to the database.
    for path in [
        "/admin/users?q=a%00b&after=%00",
        "/admin/audit?user=a%00b&kind=%00x",
    ] {
        assert_eq!(admin.b.get(path).status, Status::Ok, "{path}");
    }
    let page = admin
        .b
        .get("/admin/audit?user=%3Cimg%20src%3Dx%3E&kind=%22%3E%3Cb%3E");
    assert!(!page.body.contains("<img src=x>"));
    assert!(!page.body.contains("\"><b>"));
}

#[test]
fn audit_log_filters_and_pages() {
    // Sixty failures would lock the account; this test is about paging, not throttling.
    let app = app_with(|f| {
        f.merge(("lockout_threshold", 1000))
            .merge(("address_failures", 1000))
    });
    let admin = Admin::new(&app);
    for _ in 0..60 {
        app.browser()
            .login("boss", "wrong password for the audit test", false);
    }
    let page = admin.b.get("/admin/audit?kind=login_failure");
    assert_eq!(page.status, Status::Ok);
    assert_eq!(event_cells(&page.body, "login_failure"), 50);
    let next = next_link(&page.body).expect("a second page");
    let page2 = admin.b.get(&next);
    assert_eq!(event_cells(&page2.body, "login_failure"), 10);
    assert!(next_link(&page2.body).is_none());
    let page = admin.b.get("/admin/audit?user=boss&kind=login_success");
    assert_eq!(event_cells(&page.body, "login_success"), 1);
    let page = admin.b.get("/admin/audit?user=nobody-at-all");
    assert!(page.body.contains("No events."));
    assert_eq!(admin.b.get("/admin/audit?before=abc").status, Status::Ok);
}

// No admin resets their own password through the admin page.

#[test]
fn an_admin_cannot_reset_their_own_password_on_the_admin_page() {
    let app = app();
    let (id, boss) = app.signed_in("boss", Role::Admin);
    app.create_user("other-admin", Role::Admin);
    let r = boss.post(
        &format!("/admin/users/{id}/reset-password"),
        &format!(
            "password={}&csrf_token={}",
            enc("a password chosen by a thief"),
            boss.token("/logout")
        ),
    );
    assert_eq!(r.status, Status::Forbidden);
    assert!(!boss
        .get(&format!("/admin/users/{id}"))
        .body
        .contains("reset-password\""));
    assert_eq!(
        app.browser().login("boss", PASSWORD, false).status,
        Status::SeeOther,
        "the password is unchanged"
    );
    assert!(app.audit_kinds("admin_password_reset").is_empty());
}

// Account ids are never reused.

#[test]
fn a_new_account_never_gets_a_deleted_accounts_id() {
    let app = app();
    let (_, boss) = app.signed_in("boss", Role::Admin);
    let gone = app.create_user("leaving", Role::User);
    let r = boss.post(
        &format!("/admin/users/{gone}/delete"),
        &format!("confirm=leaving&csrf_token={}", boss.token("/logout")),
    );
    assert_eq!(r.status, Status::SeeOther);
    let next = app.create_user("arriving", Role::User);
    assert!(next > gone, "id {next} after deleted {gone}");
    let history = boss.get(&format!("/admin/users/{next}"));
    assert!(!history.body.contains("admin_account_deleted"));
}

// The last active administrator stays, even with two administrators at once.

async fn async_session_token(
    client: &rocket::local::asynchronous::Client,
    cookies: &[rocket::http::Cookie<'static>],
) -> String {
    let page = client
        .get("/logout")
        .cookies(cookies.to_vec())
        .dispatch()
        .await;
    csrf_token(&page.into_string().await.unwrap_or_default())
}

fn active_admins(app: &gatehouse::App) -> Vec<i64> {
    app.db()
        .run_blocking(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::accounts::dsl::*;
            Ok(accounts
                .filter(role.eq("admin"))
                .filter(disabled.eq(false))
                .select(id)
                .load::<i64>(c)?)
        })
        .unwrap()
}

#[test]
fn two_admins_removing_each_other_at_once_leave_one_admin() {
    let dir = tempfile::tempdir().unwrap();
    let figment = figment(&dir);
    rocket::execute(async move {
        // Two instances on one database; on PostgreSQL their transactions truly overlap.
        let one =
            rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment.clone()))
                .await
                .unwrap();
        let two = rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment))
            .await
            .unwrap();
        let state = async_state(&one);
        for round in 0..8 {
            let (a, b) = (format!("admin-a{round}"), format!("admin-b{round}"));
            let ida = state.create_user(&a, Role::Admin, PASSWORD).unwrap().id;
            let idb = state.create_user(&b, Role::Admin, PASSWORD).unwrap().id;
            let ca = async_sign_in(&one, &a).await;
            let cb = async_sign_in(&two, &b).await;
            // Only these two are active administrators this round.
            for other in active_admins(state) {
                if other != ida && other != idb {
                    state
                        .db()
                        .run_blocking(move |c| {
                            use diesel::prelude::*;
                            use gatehouse::db::schema::accounts::dsl::*;
                            diesel::update(accounts.find(other))
                                .set(disabled.eq(true))
                                .execute(c)?;
                            Ok(())
                        })
                        .unwrap();
                }
            }
            let (ta, tb) = (
                async_session_token(&one, &ca).await,
                async_session_token(&two, &cb).await,
            );
            // A disables B on one instance while B demotes A on the other.
            let (disable, demote) = (
                format!("/admin/users/{idb}/disable"),
                format!("/admin/users/{ida}/role"),
            );
            let (ra, rb) = futures::join!(
                async_post(&one, &disable, format!("csrf_token={ta}"), ca.clone()),
                async_post(
                    &two,
                    &demote,
                    format!("role=user&csrf_token={tb}"),
                    cb.clone()
                ),
            );
            let left = active_admins(state);
            assert_eq!(
                left.len(),
                1,
                "round {round}: administrators left {left:?} ({}, {})",
                ra.status,
                rb.status
            );
            // The one that lost is refused (403), or finds its own session ended (sent to
            // sign in or to confirm again); only one action goes through.
            let done = [&ra, &rb]
                .iter()
                .filter(|r| r.status == Status::SeeOther && r.location.contains("?notice="))
                .count();
            assert_eq!(
                done, 1,
                "round {round}: {} {} and {} {}",
                ra.status, ra.location, rb.status, rb.location
            );
        }
    });
}
