//! Issue 18, fail closed (SPEC §10, last paragraphs): a mailed link dies when what it was
//! issued against changes; address changes are throttled and never let an unverified
//! claim block the address's owner; notices go out in the account's stored language; mail
//! for a deleted account goes with it.

use crate::common::*;
use crate::mail::{email_of, forgot, give_verified_email, mail_app, queued, queued_of};
use diesel::prelude::*;
use gatehouse::accounts::Role;
use gatehouse::db::schema::{accounts, outbox};
use rocket::http::Status;

/// Opens a reset (or invitation) link and sets `password` through it, in a new browser:
/// (status of the page, status of the form).
fn use_link(
    app: &TestApp,
    page: &str,
    action: &str,
    token: &str,
    password: &str,
) -> (Status, Status) {
    let b = app.browser();
    let opened = b.get(&format!("{page}?token={token}"));
    // The form token of a page that works, or of the forgotten-password page.
    let csrf = if opened.status == Status::Ok {
        csrf_token(&opened.body)
    } else {
        b.token("/password/forgot")
    };
    let r = b.post(
        action,
        &format!(
            "token={token}&password={}&confirm={}&csrf_token={csrf}",
            enc(password),
            enc(password)
        ),
    );
    (opened.status, r.status)
}

fn reset_with(app: &TestApp, token: &str, password: &str) -> (Status, Status) {
    use_link(app, "/password/reset", "/password/reset", token, password)
}

fn signs_in(app: &TestApp, name: &str, password: &str) -> bool {
    app.browser().login(name, password, false).status == Status::SeeOther
}

fn last_reset_link(app: &TestApp) -> String {
    queued_of(app, "reset_link").last().unwrap().token()
}

fn set_address(b: &Browser, email: &str) -> Resp {
    let csrf = b.token("/account/email");
    b.post(
        "/account/email",
        &format!("email={}&csrf_token={csrf}", enc(email)),
    )
}

fn change_password(b: &Browser, from: &str, to: &str) -> Resp {
    let csrf = b.token("/account/password");
    b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={csrf}",
            enc(from),
            enc(to),
            enc(to)
        ),
    )
}

fn admin_post(admin: &Browser, path: &str, extra: &str) -> Resp {
    let csrf = admin.token("/account");
    admin.post(path, &format!("{extra}csrf_token={csrf}"))
}

fn stored_lang(app: &TestApp, id: i64) -> String {
    app.state()
        .db()
        .run_blocking(move |c| gatehouse::accounts::find(c, id))
        .unwrap()
        .unwrap()
        .lang
}

#[test]
fn a_reset_link_dies_when_the_password_is_changed_or_reset_first() {
    let app = mail_app();
    let (alice, b) = app.signed_in("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    forgot(&app, "alice");
    let before_change = last_reset_link(&app);
    // The owner changes the password (signed in, with the current one).
    assert_eq!(
        change_password(&b, PASSWORD, "the owner's new passphrase").status,
        Status::SeeOther
    );
    assert_eq!(
        reset_with(&app, &before_change, "the thief's passphrase"),
        (Status::NotFound, Status::NotFound),
        "a link from before the change is dead"
    );
    assert!(signs_in(&app, "alice", "the owner's new passphrase"));
    assert!(!signs_in(&app, "alice", "the thief's passphrase"));
    // An administrator's reset voids a link too.
    forgot(&app, "alice");
    let before_admin = last_reset_link(&app);
    let (_, admin) = app.signed_in("root", Role::Admin);
    let r = admin_post(
        &admin,
        &format!("/admin/users/{alice}/reset-password"),
        &format!("password={}&", enc("set by the administrator")),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        reset_with(&app, &before_admin, "the thief's passphrase"),
        (Status::NotFound, Status::NotFound)
    );
    assert!(signs_in(&app, "alice", "set by the administrator"));
    assert_eq!(
        app.audit_kinds("password_reset").len(),
        0,
        "nothing was reset"
    );
}

#[test]
fn a_reset_link_sent_to_the_old_address_dies_when_the_address_changes() {
    let app = mail_app();
    let (alice, b) = app.signed_in("alice", Role::User);
    give_verified_email(&app, alice, "alice@old.example");
    forgot(&app, "alice");
    let to_old = last_reset_link(&app);
    assert_eq!(queued_of(&app, "reset_link")[0].to, "alice@old.example");
    assert_eq!(
        set_address(&b, "alice@new.example").status,
        Status::SeeOther
    );
    assert_eq!(
        reset_with(&app, &to_old, "whoever reads the old mailbox"),
        (Status::NotFound, Status::NotFound)
    );
    assert!(
        signs_in(&app, "alice", PASSWORD),
        "the password is unchanged"
    );
}

#[test]
fn an_unused_invitation_dies_once_the_account_has_a_password() {
    let app = mail_app();
    let (_, admin) = app.signed_in("root", Role::Admin);
    let r = admin_post(
        &admin,
        "/admin/users/new",
        "username=carol&role=user&email=carol%40example.com&password=&",
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let carol = r
        .location()
        .trim_start_matches("/admin/users/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let invitation = queued_of(&app, "invitation")[0].token();
    // The account gets a password another way (here an administrator's reset).
    let r = admin_post(
        &admin,
        &format!("/admin/users/{carol}/reset-password"),
        &format!("password={}&", enc("chosen meanwhile, elsewhere")),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        use_link(
            &app,
            "/invite",
            "/invite",
            &invitation,
            "the old link's passphrase"
        ),
        (Status::NotFound, Status::NotFound)
    );
    assert!(signs_in(&app, "carol", "chosen meanwhile, elsewhere"));
    assert!(!signs_in(&app, "carol", "the old link's passphrase"));
    assert!(app.audit_kinds("invitation_accepted").is_empty());
}

#[test]
fn links_die_with_a_disable_and_stay_dead_after_the_account_is_enabled() {
    let app = mail_app();
    let (alice, b) = app.signed_in("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    forgot(&app, "alice");
    let reset = last_reset_link(&app);
    let (_, admin) = app.signed_in("root", Role::Admin);
    for action in ["disable", "enable"] {
        let r = admin_post(&admin, &format!("/admin/users/{alice}/{action}"), "");
        assert_eq!(r.status, Status::SeeOther, "{action}");
    }
    assert_eq!(
        reset_with(&app, &reset, "after the account came back"),
        (Status::NotFound, Status::NotFound)
    );
    assert!(signs_in(&app, "alice", PASSWORD));
    let _ = b;
}

#[test]
fn a_verification_link_dies_when_the_password_changes() {
    let app = mail_app();
    let (alice, b) = app.signed_in("alice", Role::User);
    assert_eq!(
        set_address(&b, "alice@example.com").status,
        Status::SeeOther
    );
    let link = queued_of(&app, "verify_email")[0].token();
    assert_eq!(
        change_password(&b, PASSWORD, "the owner's new passphrase").status,
        Status::SeeOther
    );
    let other = app.browser();
    let page = other.get(&format!("/account/email/verify?token={link}"));
    assert_eq!(page.status, Status::NotFound);
    let csrf = other.token("/password/forgot");
    let r = other.post(
        "/account/email/verify",
        &format!("token={link}&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::NotFound);
    assert!(!email_of(&app, alice).1, "still unverified");
}

#[test]
fn the_same_mailed_reset_link_released_many_times_at_once_works_at_most_once() {
    with_async_app(
        |f| {
            f.merge(("smtp_url", "smtp://127.0.0.1:9?tls=none"))
                .merge(("public_url", crate::mail::SITE))
                .merge(("mail_from", "auth@auth.test"))
        },
        |client, _dir| async move {
            let app = async_state(&client);
            let alice = app.create_user("alice", Role::User, PASSWORD).unwrap().id;
            let now = app.now();
            app.db()
                .run(move |c| {
                    diesel::update(accounts::table.find(alice))
                        .set((
                            accounts::email.eq(Some("alice@example.com")),
                            accounts::email_key.eq(Some("alice@example.com")),
                            accounts::email_verified_at.eq(Some(1)),
                        ))
                        .execute(c)?;
                    let _sent =
                        gatehouse::mail::flows::request_reset(c, "alice", "127.0.0.1", now)?;
                    Ok(())
                })
                .await
                .unwrap();
            let token = app
                .db()
                .run(|c| {
                    Ok(outbox::table
                        .filter(outbox::kind.eq("reset_link"))
                        .select(outbox::data)
                        .first::<String>(c)?)
                })
                .await
                .unwrap();
            let token: serde_json::Value = serde_json::from_str(&token).unwrap();
            let token = token["token"].as_str().unwrap().to_string();
            let mut forms = Vec::new();
            for _ in 0..12 {
                forms.push(async_form(&client, &format!("/password/reset?token={token}")).await);
            }
            let answers =
                futures::future::join_all(forms.into_iter().enumerate().map(|(i, (c, t))| {
                    async_post(
                        &client,
                        "/password/reset",
                        format!(
                            "token={token}&password=racing+passphrase+{i}&confirm=racing+passphrase+{i}&csrf_token={t}"
                        ),
                        vec![c],
                    )
                }))
                .await;
            let statuses: Vec<Status> = answers.iter().map(|r| r.status).collect();
            let done = statuses.iter().filter(|s| **s == Status::SeeOther).count();
            assert_eq!(done, 1, "{statuses:?}");
            assert!(
                statuses
                    .iter()
                    .all(|s| *s == Status::SeeOther || *s == Status::NotFound),
                "{statuses:?}"
            );
            let resets = app
                .db()
                .run(|c| {
                    Ok(
                        gatehouse::audit::search(c, None, Some("password_reset"), None, 100)?
                            .0
                            .len(),
                    )
                })
                .await
                .unwrap();
            assert_eq!(resets, done, "one reset per success");
        },
    );
}

#[test]
fn address_changes_are_throttled_per_account_and_per_address() {
    let app = mail_app();
    let (_, bob) = app.signed_in("bob", Role::User);
    let statuses: Vec<Status> = (0..6)
        .map(|_| set_address(&bob, "victim@example.com").status)
        .collect();
    assert_eq!(
        statuses,
        [
            Status::SeeOther,
            Status::SeeOther,
            Status::SeeOther,
            Status::TooManyRequests,
            Status::TooManyRequests,
            Status::TooManyRequests
        ]
    );
    let to_victim = || {
        queued(&app)
            .into_iter()
            .filter(|q| q.to.eq_ignore_ascii_case("victim@example.com"))
            .count()
    };
    assert_eq!(to_victim(), 3, "three an hour from one account");
    // The same account, other addresses: the account has had its three.
    assert_eq!(
        set_address(&bob, "bob@example.com").status,
        Status::TooManyRequests
    );
    // Another account claiming the same address (the real owner, say) is not blocked by
    // bob's three: an unverified address never blocks its owner.
    let (_, carol) = app.signed_in("carol", Role::User);
    assert_eq!(
        set_address(&carol, "VICTIM@example.com").status,
        Status::SeeOther
    );
    assert_eq!(to_victim(), 4);
    // Per client address: ten an hour from one client, whichever accounts ask (bob's
    // three and carol's one so far).
    let statuses: Vec<Status> = (0..7)
        .map(|i| {
            let (_, b) = app.signed_in(&format!("user{i}"), Role::User);
            set_address(&b, &format!("user{i}@example.com")).status
        })
        .collect();
    assert_eq!(statuses[..6], [Status::SeeOther; 6], "{statuses:?}");
    assert_eq!(statuses[6], Status::TooManyRequests, "{statuses:?}");
}

#[test]
fn an_unverified_claim_never_blocks_the_owner_of_the_address() {
    let app = mail_app();
    let (mallory, m) = app.signed_in("mallory", Role::User);
    // A non-ASCII local part cannot be delivered to: refused at the form.
    let r = set_address(&m, "\u{212A}im@example.com");
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("before the @"), "{}", r.body);
    // The Kelvin sign (U+212A) in the domain folds to k: the same address as kim's.
    assert_eq!(
        set_address(&m, "kim@\u{212A}elvin.example").status,
        Status::SeeOther
    );
    assert_eq!(
        email_of(&app, mallory).0.as_deref(),
        Some("kim@kelvin.example")
    );
    let mallory_link = queued_of(&app, "verify_email")[0].token();
    // The owner is not blocked: the same answer, a link, and it verifies.
    let (kim, k) = app.signed_in("kim", Role::User);
    let r = set_address(&k, "Kim@kelvin.example");
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account/email?notice=email_sent");
    let kim_link = queued_of(&app, "verify_email").last().unwrap().clone();
    assert_eq!(kim_link.to, "Kim@kelvin.example");
    let verify = |token: &str| {
        let b = app.browser();
        let page = b.get(&format!("/account/email/verify?token={token}"));
        let csrf = if page.status == Status::Ok {
            csrf_token(&page.body)
        } else {
            b.token("/password/forgot")
        };
        b.post(
            "/account/email/verify",
            &format!("token={token}&csrf_token={csrf}"),
        )
        .status
    };
    assert_eq!(verify(&kim_link.token()), Status::SeeOther);
    assert_eq!(
        email_of(&app, kim),
        (Some("Kim@kelvin.example".into()), true)
    );
    // The first to verify wins: the other claim's link is dead.
    assert_eq!(verify(&mallory_link), Status::NotFound);
    assert!(!email_of(&app, mallory).1);
    // And a reset by the address reaches the owner only.
    forgot(&app, "KIM@KELVIN.example");
    let links = queued_of(&app, "reset_link");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].to, "Kim@kelvin.example");
}

#[test]
fn asking_for_another_accounts_address_answers_as_for_a_free_one() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    set_stored_language(app.state(), alice, "ko");
    let (_, carol) = app.signed_in("carol", Role::User);
    let free = set_address(&carol, "carol@example.com");
    let (bob, b) = app.signed_in("bob", Role::User);
    let taken = set_address(&b, "ALICE@Example.COM");
    assert_eq!(taken.status, free.status);
    assert_eq!(taken.location(), free.location());
    assert_eq!(taken.body, free.body);
    let page = b.get(taken.location());
    assert_eq!(page.status, Status::Ok);
    assert!(!page.body.contains("Another account"), "{}", page.body);
    // No link went to the address; its owner was told instead, in the owner's language.
    let to_alice: Vec<_> = queued(&app)
        .into_iter()
        .filter(|q| q.to == "alice@example.com")
        .collect();
    assert_eq!(to_alice.len(), 1, "{to_alice:?}");
    assert_eq!(to_alice[0].kind, "address_in_use");
    assert_eq!(to_alice[0].lang, "ko");
    assert_eq!(to_alice[0].data["name"], "alice");
    // The address stays alice's; bob's claim is unverified and can never be verified.
    assert_eq!(
        email_of(&app, alice),
        (Some("alice@example.com".into()), true)
    );
    assert!(!email_of(&app, bob).1);
}

#[test]
fn an_administrators_password_reset_is_told_in_the_accounts_stored_language() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    set_stored_language(app.state(), alice, "ko");
    let (_, admin) = app.signed_in("root", Role::Admin);
    let r = admin_post(
        &admin,
        &format!("/admin/users/{alice}/reset-password"),
        &format!("password={}&", enc("set by the administrator")),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let told = queued_of(&app, "password_reset");
    assert_eq!(told.len(), 1, "{:?}", queued(&app));
    assert_eq!(told[0].to, "alice@example.com");
    assert_eq!(told[0].lang, "ko");
}

#[test]
fn an_address_change_neither_uses_nor_stores_the_language_of_the_request() {
    let app = mail_app();
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@old.example");
    let mut b = app.browser();
    b.headers.push(rocket::http::Header::new(
        "Accept-Language",
        "ko-KR,ko;q=0.9",
    ));
    assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
    assert_eq!(
        set_address(&b, "alice@new.example").status,
        Status::SeeOther
    );
    assert_eq!(
        stored_lang(&app, alice),
        "en",
        "the request did not switch it"
    );
    let told = queued_of(&app, "email_changed");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].to, "alice@old.example");
    assert_eq!(told[0].lang, "en");
    assert_eq!(queued_of(&app, "verify_email")[0].lang, "en");
}

#[test]
fn mail_for_a_deleted_account_is_dropped_with_it() {
    let app = mail_app();
    let (alice, _) = app.signed_in("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    forgot(&app, "alice");
    let (_, admin) = app.signed_in("root", Role::Admin);
    let rows_of = |id: i64| {
        app.state()
            .db()
            .run_blocking(move |c| {
                Ok(outbox::table
                    .filter(outbox::account_id.eq(id))
                    .count()
                    .get_result::<i64>(c)?)
            })
            .unwrap()
    };
    assert_eq!(rows_of(alice), 1, "a reset link waits");
    let r = admin_post(
        &admin,
        &format!("/admin/users/{alice}/delete"),
        "confirm=alice&",
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        rows_of(alice),
        0,
        "nothing more goes out for a deleted account"
    );
    // The same for a cancelled invitation.
    let r = admin_post(
        &admin,
        "/admin/users/new",
        "username=dave&role=user&email=dave%40example.com&password=&",
    );
    let dave: i64 = r
        .location()
        .trim_start_matches("/admin/users/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rows_of(dave), 1);
    let r = admin_post(
        &admin,
        &format!("/admin/users/{dave}/invitation/cancel"),
        "",
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(rows_of(dave), 0);
}
