//! Passkeys (SPEC §12) through the real routes, with webauthn-authenticator-rs's software
//! passkey as the authenticator and this file as the browser: the page's
//! `data-passkey-options` in, the `credential` field out. Registering, signing in with no
//! username, as the second step, "confirm it's you", renaming and removing, the forced
//! enrolment, an administrator's removal and reset; and the refusals: a replayed answer,
//! a wrong origin, a counter going backwards, another account's passkey at `/login/2fa`,
//! a disabled account, an expired ceremony, the last sign-in method, passkeys off for an
//! IP address; and one answer posted many times at once starting one session.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{Header, Status};
use webauthn_authenticator_rs::prelude::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

pub const ORIGIN: &str = "https://auth.example.com";
const ACCESS: &str = "__Host-access";

pub fn passkey_app() -> TestApp {
    app_with(|f| f.merge(("public_url", ORIGIN)))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `data-passkey-options` of the (first) form on a page that has one.
pub fn options(body: &str) -> Option<String> {
    let marker = "data-passkey-options=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(unescape(&body[start..end]))
}

/// A software passkey, as a browser and its authenticator would hold it.
pub struct Key {
    soft: SoftPasskey,
    pub credential_id: Vec<u8>,
    user_handle: Vec<u8>,
}

impl Key {
    /// Makes a passkey for the creation options of a page (the browser's part: the
    /// software passkey keeps its credential itself, so it is asked for a plain one).
    pub fn create(options_json: &str) -> (Key, String) {
        let mut ccr: CreationChallengeResponse = serde_json::from_str(options_json).unwrap();
        let selection = ccr.public_key.authenticator_selection.as_mut().unwrap();
        assert!(
            selection.require_resident_key,
            "a discoverable credential is asked for"
        );
        assert_eq!(
            serde_json::to_value(selection.resident_key).unwrap(),
            "required"
        );
        assert_eq!(
            serde_json::to_value(selection.user_verification).unwrap(),
            "required"
        );
        selection.require_resident_key = false;
        selection.resident_key = None;
        let user_handle = ccr.public_key.user.id.clone();
        let mut soft = SoftPasskey::new(true);
        let cred = AuthenticatorBackend::perform_register(
            &mut soft,
            Url::parse(ORIGIN).unwrap(),
            ccr.public_key,
            60_000,
        )
        .unwrap();
        let json = serde_json::to_string(&cred).unwrap();
        (
            Key {
                soft,
                credential_id: cred.raw_id.to_vec(),
                user_handle,
            },
            json,
        )
    }

    /// Answers request options from `origin` with this passkey (a discoverable one
    /// answers with its user handle).
    pub fn answer_from(&mut self, options_json: &str, origin: &str) -> String {
        let rcr: RequestChallengeResponse = serde_json::from_str(options_json).unwrap();
        let mut options = rcr.public_key;
        // The authenticator picks its own credential (for a discoverable sign-in the list
        // is empty; an attacker's authenticator answers with its own key anyway).
        options.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: self.credential_id.clone(),
            transports: None,
        }];
        let mut cred: PublicKeyCredential = AuthenticatorBackend::perform_auth(
            &mut self.soft,
            Url::parse(origin).unwrap(),
            options,
            60_000,
        )
        .unwrap();
        cred.response.user_handle = Some(self.user_handle.clone());
        serde_json::to_string(&cred).unwrap()
    }

    pub fn answer(&mut self, options_json: &str) -> String {
        self.answer_from(options_json, ORIGIN)
    }
}

/// Adds a passkey through `/account/passkeys` (the browser must be signed in and
/// recently confirmed); returns the key and the response.
pub fn add_passkey(b: &Browser<'_>, name: &str) -> (Key, Resp) {
    let page = b.get("/account/passkeys");
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let (key, credential) = Key::create(&options(&page.body).expect("creation options"));
    let r = b.post(
        "/account/passkeys/register",
        &format!(
            "name={}&credential={}&csrf_token={}",
            enc(name),
            enc(&credential),
            csrf_token(&page.body)
        ),
    );
    (key, r)
}

/// Signs in with the passkey on `/login` (no username); returns the response.
pub fn passkey_sign_in(b: &Browser<'_>, key: &mut Key) -> Resp {
    let page = b.get("/login");
    let credential = key.answer(&options(&page.body).expect("request options"));
    b.post(
        "/login/passkey",
        &format!(
            "credential={}&next=%2Faccount&csrf_token={}",
            enc(&credential),
            csrf_token(&page.body)
        ),
    )
}

fn passkey_rows(app: &TestApp, id: i64) -> Vec<gatehouse::second_factor::passkeys::PasskeyRow> {
    app.state()
        .db()
        .run_blocking(move |c| gatehouse::second_factor::passkeys::list(c, id))
        .unwrap()
}

fn signed_in_with_passkey(app: &TestApp, name: &str) -> (i64, Key) {
    let (id, b) = app.signed_in(name, Role::User);
    let (key, r) = add_passkey(&b, "Laptop");
    assert_eq!(r.status, Status::Ok, "first passkey: recovery codes shown");
    (id, key)
}

#[test]
fn a_passkey_is_added_listed_and_signs_in_without_a_username() {
    let app = passkey_app();
    let (id, b) = app.signed_in("alice", Role::User);
    let page = b.get("/account/passkeys");
    assert!(page.body.contains("data-passkey=\"create\""));
    let (mut key, r) = add_passkey(&b, "My laptop");
    // The first second factor of the account: its recovery codes are shown once.
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.body.matches("class=\"recovery-code\"").count(), 10);
    let page = b.get("/account/passkeys");
    assert!(page.body.contains("My laptop"));
    assert!(page.body.contains("On one device only"), "not synced");
    let rows = passkey_rows(&app, id);
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].backup_state && rows[0].last_used_at.is_none());
    assert_eq!(app.audit_kinds("passkey_added").len(), 1);
    // The account page lists the sign-in methods.
    let account = b.get("/account");
    assert!(account.body.contains("Passkeys: one"), "{}", account.body);
    assert!(account.body.contains("Recovery codes: 10 left"));

    // A new browser: the sign-in page offers passkeys (a button and the autofill).
    let other = app.browser();
    let login = other.get("/login");
    assert!(login.body.contains("autocomplete=\"username webauthn\""));
    assert!(login.body.contains("action=\"/login/passkey\""));
    let request: serde_json::Value = serde_json::from_str(&options(&login.body).unwrap()).unwrap();
    assert!(
        request["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "discoverable: {request}"
    );
    assert_eq!(request["publicKey"]["userVerification"], "required");
    let r = passkey_sign_in(&other, &mut key);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account");
    assert!(other.cookie(ACCESS).is_some());
    assert!(
        other.cookie("__Host-device").is_some(),
        "a known device now"
    );
    assert_eq!(other.get("/account").status, Status::Ok);
    let events = app.audit_kinds("passkey_sign_in");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject_name.as_deref(), Some("alice"));
    assert!(
        events[0].detail.contains("amr hwk user"),
        "{}",
        events[0].detail
    );
    // The session says how it was signed in (for OpenID Connect's `amr`).
    let now = app.state().now();
    let amrs: Vec<String> = app
        .state()
        .db()
        .run_blocking(move |c| gatehouse::sessions::store::live_for_account(c, id, now))
        .unwrap()
        .into_iter()
        .map(|s| s.amr)
        .collect();
    assert!(amrs.contains(&"hwk user".to_string()) && amrs.contains(&"pwd".to_string()));
    assert!(passkey_rows(&app, id)[0].last_used_at.is_some());
}

#[test]
fn a_passkey_sign_in_satisfies_require_2fa_and_skips_the_code() {
    let app = app_with(|f| {
        f.merge(("public_url", ORIGIN))
            .merge(("require_2fa", "all"))
    });
    let (_, b) = app.signed_in("alice", Role::User);
    // Forced enrolment: the passkeys page is open during the duty.
    assert!(b.get("/dashboard").location().starts_with("/account/2fa"));
    let tfa = b.get("/account/2fa");
    assert!(tfa.body.contains("href=\"/account/passkeys\""));
    let (mut key, r) = add_passkey(&b, "Phone");
    assert_eq!(r.status, Status::Ok, "{}", r.body);
    // Adding one ended the duty.
    assert_eq!(b.get("/dashboard").status, Status::Ok);
    // A passkey sign-in is whole: no code asked for, no duty.
    let other = app.browser();
    let r = passkey_sign_in(&other, &mut key);
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/account");
    assert_eq!(other.get("/dashboard").status, Status::Ok);
    // The last passkey, the only second factor required: it stays.
    let page = b.get("/account/passkeys");
    let id = passkey_rows(&app, 1)[0].id;
    let r = b.post(
        &format!("/account/passkeys/{id}/delete"),
        &format!("csrf_token={}", csrf_token(&page.body)),
    );
    assert_eq!(r.status, Status::Conflict);
    assert!(r.body.contains("last way"));
    assert_eq!(passkey_rows(&app, 1).len(), 1);
    assert!(app.audit_kinds("passkey_removed").is_empty());
}

#[test]
fn a_password_sign_in_of_an_account_with_a_passkey_asks_for_it_as_the_second_step() {
    let app = passkey_app();
    let (_, mut key) = signed_in_with_passkey(&app, "alice");
    let b = app.browser();
    let r = b.login("alice", PASSWORD, false);
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().starts_with("/login/2fa"), "{}", r.location());
    assert!(b.cookie(ACCESS).is_none());
    let page = b.get("/login/2fa");
    let options = options(&page.body).expect("options listing the account's passkeys");
    let listed: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(
        listed["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let credential = key.answer(&options);
    let r = b.post(
        "/login/2fa",
        &format!(
            "credential={}&next=%2Faccount&csrf_token={}",
            enc(&credential),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account");
    assert!(b.cookie(ACCESS).is_some());
}

#[test]
fn another_accounts_passkey_is_refused_at_the_second_step() {
    let app = passkey_app();
    signed_in_with_passkey(&app, "alice");
    let (_, mut bobs) = signed_in_with_passkey(&app, "bob");
    let b = app.browser();
    b.login("alice", PASSWORD, false);
    let page = b.get("/login/2fa");
    let credential = bobs.answer(&options(&page.body).unwrap());
    let r = b.post(
        "/login/2fa",
        &format!(
            "credential={}&csrf_token={}",
            enc(&credential),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::Unauthorized);
    assert!(b.cookie(ACCESS).is_none());
    let failures = app.audit_kinds("passkey_failure");
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].detail.contains("another account"),
        "{}",
        failures[0].detail
    );
}

#[test]
fn a_replayed_answer_starts_no_second_session() {
    let app = passkey_app();
    let (_, mut key) = signed_in_with_passkey(&app, "alice");
    let b = app.browser();
    let page = b.get("/login");
    let credential = key.answer(&options(&page.body).unwrap());
    let body = format!(
        "credential={}&csrf_token={}",
        enc(&credential),
        csrf_token(&page.body)
    );
    let copy = b.copy();
    assert_eq!(b.post("/login/passkey", &body).status, Status::SeeOther);
    let again = copy.post("/login/passkey", &body);
    assert_eq!(again.status, Status::Unauthorized);
    assert!(copy.cookie(ACCESS).is_none());
    let failures = app.audit_kinds("passkey_failure");
    assert_eq!(failures.len(), 1);
    assert!(failures[0].detail.contains("no such ceremony"));
}

#[test]
fn an_answer_made_for_another_origin_is_refused() {
    let app = passkey_app();
    let (_, mut key) = signed_in_with_passkey(&app, "alice");
    let b = app.browser();
    let page = b.get("/login");
    // A look-alike site relaying our challenge: the browser writes its own origin.
    let credential = key.answer_from(&options(&page.body).unwrap(), "https://auth-example.com");
    let r = b.post(
        "/login/passkey",
        &format!(
            "credential={}&csrf_token={}",
            enc(&credential),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::Unauthorized);
    assert!(b.cookie(ACCESS).is_none());
    let failures = app.audit_kinds("passkey_failure");
    assert!(
        failures[0].detail.contains("wrong origin"),
        "{}",
        failures[0].detail
    );
    assert_eq!(failures[0].subject_name.as_deref(), Some("alice"));
}

#[test]
fn a_signature_counter_that_goes_backwards_is_refused_and_audited() {
    let app = passkey_app();
    let (id, mut key) = signed_in_with_passkey(&app, "alice");
    // The server saw a higher count than the authenticator now reports: a cloned key.
    app.state()
        .db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::passkeys;
            let stored: String = passkeys::table
                .filter(passkeys::account_id.eq(id))
                .select(passkeys::passkey)
                .first(c)?;
            let mut v: serde_json::Value = serde_json::from_str(&stored).unwrap();
            v["cred"]["counter"] = 1000.into();
            diesel::update(passkeys::table.filter(passkeys::account_id.eq(id)))
                .set(passkeys::passkey.eq(v.to_string()))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    let b = app.browser();
    assert_eq!(passkey_sign_in(&b, &mut key).status, Status::Unauthorized);
    assert!(b.cookie(ACCESS).is_none());
    let failures = app.audit_kinds("passkey_failure");
    assert!(
        failures[0].detail.contains("counter"),
        "{}",
        failures[0].detail
    );
}

#[test]
fn a_disabled_accounts_passkey_is_refused_and_audited() {
    let app = passkey_app();
    let (id, mut key) = signed_in_with_passkey(&app, "alice");
    app.state()
        .db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::accounts;
            diesel::update(accounts::table.find(id))
                .set(accounts::disabled.eq(true))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    let b = app.browser();
    assert_eq!(passkey_sign_in(&b, &mut key).status, Status::Unauthorized);
    assert!(b.cookie(ACCESS).is_none());
    let failures = app.audit_kinds("passkey_failure");
    assert!(failures[0].detail.contains("account disabled"));
}

#[test]
fn a_ceremony_lasts_five_minutes() {
    let app = passkey_app();
    let (_, mut key) = signed_in_with_passkey(&app, "alice");
    let b = app.browser();
    let page = b.get("/login");
    let credential = key.answer(&options(&page.body).unwrap());
    app.state().clock().advance(301);
    let r = b.post(
        "/login/passkey",
        &format!(
            "credential={}&csrf_token={}",
            enc(&credential),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::Unauthorized);
    // And the pruner takes expired ceremonies away.
    let (now, keep) = (app.state().now(), app.state().retention());
    let pruned = app
        .state()
        .db()
        .run_blocking(move |c| gatehouse::retention::prune(c, now, &keep))
        .unwrap();
    assert!(pruned.passkey_ceremonies >= 1, "{pruned:?}");
}

#[test]
fn a_ceremony_is_bound_to_the_browser_it_was_made_for() {
    let app = passkey_app();
    let (_, mut key) = signed_in_with_passkey(&app, "alice");
    let shown = app.browser();
    let page = shown.get("/login");
    let credential = key.answer(&options(&page.body).unwrap());
    // Another browser (its own pre-session cookie and token) posts the answer.
    let thief = app.browser();
    let token = thief.token("/login");
    let r = thief.post(
        "/login/passkey",
        &format!("credential={}&csrf_token={token}", enc(&credential)),
    );
    assert_eq!(r.status, Status::Unauthorized);
    assert!(thief.cookie(ACCESS).is_none());
}

#[test]
fn passkeys_are_renamed_and_removed_and_the_account_is_told() {
    let app = passkey_app();
    let (id, b) = app.signed_in("alice", Role::User);
    add_passkey(&b, "One");
    let (_, r) = add_passkey(&b, "Two");
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/account/passkeys?notice=passkey_added");
    let rows = passkey_rows(&app, id);
    assert_eq!(rows.len(), 2);
    let token = csrf_token(&b.get("/account/passkeys").body);
    let r = b.post(
        &format!("/account/passkeys/{}/rename", rows[0].id),
        &format!("name=Work+laptop&csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(b.get("/account/passkeys").body.contains("Work laptop"));
    assert_eq!(app.audit_kinds("passkey_renamed").len(), 1);
    let r = b.post(
        &format!("/account/passkeys/{}/delete", rows[1].id),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(passkey_rows(&app, id).len(), 1);
    assert_eq!(app.audit_kinds("passkey_removed").len(), 1);
    // Another account's passkey is not found; the password still signs in, so the last
    // passkey may go when no second factor is required.
    let (_, other) = app.signed_in("bob", Role::User);
    let other_token = csrf_token(&other.get("/account/passkeys").body);
    let r = other.post(
        &format!("/account/passkeys/{}/delete", rows[0].id),
        &format!("csrf_token={other_token}"),
    );
    assert_eq!(r.status, Status::NotFound);
    let r = b.post(
        &format!("/account/passkeys/{}/delete", rows[0].id),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(passkey_rows(&app, id).is_empty());
    // Without the form token, nothing.
    assert_eq!(
        b.post("/account/passkeys/1/rename", "name=x").status,
        Status::Forbidden
    );
}

#[test]
fn changing_passkeys_needs_a_recent_confirmation_which_a_passkey_can_give() {
    let app = passkey_app();
    let (id, b) = app.signed_in("alice", Role::User);
    let (mut key, _) = add_passkey(&b, "One");
    app.state().clock().advance(601);
    let rows = passkey_rows(&app, id);
    let token = csrf_token(&b.get("/account/passkeys").body);
    let r = b.post(
        &format!("/account/passkeys/{}/rename", rows[0].id),
        &format!("name=x&csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(r.location().starts_with("/reauth"), "{}", r.location());
    // "Confirm it's you": the password and the passkey instead of a code.
    let page = b.get("/reauth?next=%2Faccount%2Fpasskeys");
    let credential = key.answer(&options(&page.body).expect("reauth offers the passkey"));
    let r = b.post(
        "/reauth",
        &format!(
            "password={}&credential={}&next=%2Faccount%2Fpasskeys&csrf_token={}",
            enc(PASSWORD),
            enc(&credential),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account/passkeys");
    let r = b.post(
        &format!("/account/passkeys/{}/rename", rows[0].id),
        &format!("name=Renamed&csrf_token={token}"),
    );
    assert_eq!(r.location(), "/account/passkeys?notice=passkey_renamed");
}

#[test]
fn an_administrator_removes_a_passkey_and_the_reset_removes_them_all() {
    let app = passkey_app();
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let (id, b) = app.signed_in("alice", Role::User);
    add_passkey(&b, "One");
    add_passkey(&b, "Two");
    let rows = passkey_rows(&app, id);
    let page = admin.get(&format!("/admin/users/{id}"));
    assert!(page
        .body
        .contains(&format!("/admin/users/{id}/passkeys/{}/delete", rows[0].id)));
    let token = csrf_token(&page.body);
    let r = admin.post(
        &format!("/admin/users/{id}/passkeys/{}/delete", rows[0].id),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(passkey_rows(&app, id).len(), 1);
    let r = admin.post(
        &format!("/admin/users/{id}/reset-2fa"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(passkey_rows(&app, id).is_empty());
    // The password alone signs in again.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).location(),
        "/dashboard"
    );
}

#[test]
fn passkeys_are_off_for_an_ip_address() {
    let app = app_with(|f| f.merge(("public_url", "https://192.0.2.10")));
    assert!(app.state().passkeys_relying_party().is_none());
    assert!(app.state().passkeys_off().unwrap().contains("IP address"));
    let (_, b) = app.signed_in("alice", Role::User);
    assert_eq!(b.get("/account/passkeys").status, Status::NotFound);
    let login = app.browser().get("/login");
    assert!(options(&login.body).is_none());
    assert!(!login.body.contains("/login/passkey"));
    let token = csrf_token(&login.body);
    let r = app.browser().post(
        "/login/passkey",
        &format!("credential=x&csrf_token={token}"),
    );
    assert_eq!(r.status, Status::NotFound);
    assert!(!b.get("/account").body.contains("/account/passkeys"));
}

#[test]
fn without_public_url_passkeys_are_for_localhost_only() {
    let app = app();
    let b = app.browser();
    assert!(
        options(&b.get("/login").body).is_none(),
        "a request to no named host"
    );
    let mut local = app.browser();
    local.headers.push(Header::new("Host", "localhost:8000"));
    assert!(options(&local.get("/login").body).is_some());
}

#[test]
fn one_answer_posted_many_times_at_once_starts_one_session() {
    with_async_app(
        |f| {
            f.merge(("public_url", ORIGIN))
                .merge(("address_failures", 1000))
        },
        |client, _dir| async move {
            let app = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            // Sign in with the password, add a passkey.
            let (cookie, token) = async_form(&client, "/login").await;
            let r = async_post(
                &client,
                "/login",
                format!(
                    "username=alice&password={}&csrf_token={token}",
                    enc(PASSWORD)
                ),
                vec![cookie],
            )
            .await;
            let session: Vec<_> = r
                .cookies
                .iter()
                .filter(|c| c.name() != "__Host-device")
                .cloned()
                .collect();
            let page = client
                .get("/account/passkeys")
                .cookies(session.clone())
                .dispatch()
                .await
                .into_string()
                .await
                .unwrap();
            let (mut key, credential) = Key::create(&options(&page).unwrap());
            let r = async_post(
                &client,
                "/account/passkeys/register",
                format!(
                    "name=k&credential={}&csrf_token={}",
                    enc(&credential),
                    csrf_token(&page)
                ),
                session,
            )
            .await;
            assert_eq!(r.status, Status::Ok);
            // One browser's answer, posted eight times together.
            let login = client.get("/login").dispatch().await;
            let presession = login.cookies().get("__Host-presession").unwrap().clone();
            let body = login.into_string().await.unwrap();
            let credential = key.answer(&options(&body).unwrap());
            let form = format!(
                "credential={}&csrf_token={}",
                enc(&credential),
                csrf_token(&body)
            );
            let attempts = (0..8).map(|_| {
                async_post(
                    &client,
                    "/login/passkey",
                    form.clone(),
                    vec![presession.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            let signed_in = answers
                .iter()
                .filter(|a| {
                    a.cookies
                        .iter()
                        .any(|c| c.name() == ACCESS && !c.value().is_empty())
                })
                .count();
            assert_eq!(
                signed_in,
                1,
                "{:?}",
                answers.iter().map(|a| a.status).collect::<Vec<_>>()
            );
            let now = app.now();
            let live = app
                .db()
                .run_blocking(move |c| gatehouse::sessions::store::live_for_account(c, 1, now))
                .unwrap();
            assert_eq!(
                live.len(),
                2,
                "the password's session and one passkey session"
            );
        },
    );
}

/// Posts an answer made for a look-alike origin with `key` (a failure).
fn failed_attempt(b: &Browser<'_>, key: &mut Key) -> Resp {
    let page = b.get("/login");
    let credential = key.answer_from(&options(&page.body).unwrap(), "https://auth-example.com");
    b.post(
        "/login/passkey",
        &format!(
            "credential={}&csrf_token={}",
            enc(&credential),
            csrf_token(&page.body)
        ),
    )
}

#[test]
fn failed_answers_are_throttled_per_credential_without_locking_the_name() {
    let app = app_with(|f| {
        f.merge(("public_url", ORIGIN))
            .merge(("address_failures", 1000))
    });
    let (_, mut key) = signed_in_with_passkey(&app, "alice");
    let b = app.browser();
    for i in 0..5 {
        assert_eq!(
            failed_attempt(&b, &mut key).status,
            Status::Unauthorized,
            "{i}"
        );
    }
    // The credential waits now, even with a right answer...
    let r = passkey_sign_in(&b, &mut key);
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(b.cookie(ACCESS).is_none());
    assert!(!app.audit_kinds("lockout").is_empty());
    // ...but the name is not locked: the password still signs in (to the second step).
    let other = app.browser();
    let r = other.login("alice", PASSWORD, false);
    assert!(r.location().starts_with("/login/2fa"), "{}", r.location());
}

#[test]
fn failed_answers_count_for_the_address_too() {
    let app = app_with(|f| {
        f.merge(("public_url", ORIGIN))
            .merge(("address_failures", 3))
    });
    let (_, mut one) = signed_in_with_passkey(&app, "alice");
    let (_, mut two) = signed_in_with_passkey(&app, "bob");
    let b = app.browser();
    assert_eq!(failed_attempt(&b, &mut one).status, Status::Unauthorized);
    assert_eq!(failed_attempt(&b, &mut two).status, Status::Unauthorized);
    assert_eq!(failed_attempt(&b, &mut one).status, Status::Unauthorized);
    // Bob's credential failed once; the address has had its three.
    assert_eq!(
        passkey_sign_in(&b, &mut two).status,
        Status::TooManyRequests
    );
    // Junk in the field is counted too, and is no server error.
    let token = app.browser().token("/login");
    let r = app.browser().post(
        "/login/passkey",
        &format!("credential=%7B%7D&csrf_token={token}"),
    );
    assert!(r.status.code < 500, "{}", r.status);
}

#[test]
fn adding_and_removing_a_passkey_is_told_by_mail() {
    let app = passkey_app();
    let (id, b) = app.signed_in("alice", Role::User);
    crate::mail::give_verified_email(&app, id, "alice@example.com");
    add_passkey(&b, "Laptop");
    let row = passkey_rows(&app, id)[0].id;
    let token = csrf_token(&b.get("/account/passkeys").body);
    assert_eq!(
        b.post(
            &format!("/account/passkeys/{row}/delete"),
            &format!("csrf_token={token}")
        )
        .status,
        Status::SeeOther
    );
    let queued: Vec<(String, String, String)> = app
        .state()
        .db()
        .run_blocking(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::outbox;
            Ok(outbox::table
                .order(outbox::id.asc())
                .select((outbox::kind, outbox::to_address, outbox::data))
                .load(c)?)
        })
        .unwrap();
    let kinds: Vec<&str> = queued.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, ["passkey_added", "passkey_removed"]);
    assert!(queued
        .iter()
        .all(|(_, to, data)| to == "alice@example.com" && data.contains("Laptop")));
}

#[test]
fn with_a_passkey_left_totp_may_go_under_the_policy_and_the_recovery_codes_stay() {
    let app = app_with(|f| {
        f.merge(("public_url", ORIGIN))
            .merge(("require_2fa", "all"))
    });
    let (id, b) = app.signed_in("alice", Role::User);
    crate::second_factor::enrol(&app, &b);
    let (mut key, r) = add_passkey(&b, "Laptop");
    assert_eq!(r.status, Status::SeeOther, "TOTP came first: no new codes");
    let codes_left = |app: &TestApp| {
        app.state()
            .db()
            .run_blocking(move |c| gatehouse::second_factor::codes_left(c, id))
            .unwrap()
    };
    assert_eq!(codes_left(&app), 10);
    let token = csrf_token(&b.get("/account/2fa").body);
    let r = b.post("/account/2fa/disable", &format!("csrf_token={token}"));
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(codes_left(&app), 10, "the codes stand beside the passkey");
    // The passkey is the second step now, and a recovery code still works there.
    let other = app.browser();
    let r = other.login("alice", PASSWORD, false);
    assert!(r.location().starts_with("/login/2fa"));
    let page = other.get("/login/2fa");
    assert!(page.body.contains("Recovery code"));
    let credential = key.answer(&options(&page.body).unwrap());
    let r = other.post(
        "/login/2fa",
        &format!(
            "credential={}&csrf_token={}",
            enc(&credential),
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(other.get("/dashboard").status, Status::Ok);
}

#[test]
fn a_lost_passkey_is_covered_by_the_recovery_codes_made_with_the_first_one() {
    let app = passkey_app();
    let (_, b) = app.signed_in("alice", Role::User);
    let (_, r) = add_passkey(&b, "Lost phone");
    let codes: Vec<String> = r
        .body
        .split("<code class=\"recovery-code\">")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(String::from)
        .collect();
    assert_eq!(codes.len(), 10);
    let other = app.browser();
    assert!(other
        .login("alice", PASSWORD, false)
        .location()
        .starts_with("/login/2fa"));
    let r = crate::second_factor::code_step(&other, &codes[0]);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account");
    assert_eq!(app.audit_kinds("recovery_code_used").len(), 1);
}

#[test]
fn one_address_gets_a_bounded_number_of_sign_in_ceremonies() {
    let app = passkey_app();
    let limit = gatehouse::second_factor::passkeys::SIGN_IN_PAGES_PER_ADDRESS;
    for _ in 0..limit {
        assert!(options(&app.browser().get("/login").body).is_some());
    }
    // Beyond it, the page offers the password only (and writes nothing).
    let page = app.browser().get("/login");
    assert_eq!(page.status, Status::Ok);
    assert!(options(&page.body).is_none());
    assert!(page.body.contains("name=\"password\""));
}

#[test]
fn the_script_is_first_party_under_the_same_policy_and_nothing_is_inline() {
    let app = passkey_app();
    let (_, b) = app.signed_in("alice", Role::User);
    for (browser, path) in [
        (&app.browser(), "/login"),
        (&b, "/account/passkeys"),
        (&b, "/reauth"),
    ] {
        let r = browser.get(path);
        let csp = r.header("Content-Security-Policy").unwrap().to_string();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        let scripts: Vec<&str> = r.body.split("<script").skip(1).collect();
        assert_eq!(scripts.len(), 1, "{path}");
        assert!(
            scripts[0].starts_with(" src=\"/static/passkeys.js\" defer></script>"),
            "{path}: {}",
            scripts[0]
        );
        assert!(!r.body.contains(" onclick="), "{path}");
    }
    let js = app.browser().get("/static/passkeys.js");
    assert_eq!(js.status, Status::Ok);
    assert!(js.header("Content-Type").unwrap().contains("javascript"));
    assert!(js.body.contains("navigator.credentials.create"));
    assert!(js.body.len() < 12_000, "small: {} bytes", js.body.len());
}

#[test]
fn an_openid_sign_in_says_how_its_session_was_signed_in() {
    let app = app_with(|f| crate::oidc::configure(f).merge(("public_url", ORIGIN)));
    let (_, by_password) = app.signed_in("alice", Role::User);
    let (mut key, r) = add_passkey(&by_password, "Laptop");
    assert_eq!(r.status, Status::Ok);
    let by_passkey = app.browser();
    let r = passkey_sign_in(&by_passkey, &mut key);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    let mut s = crate::oidc::spec("App");
    s.require_pkce = false;
    let (id, secret) = crate::oidc::register(&app, &s);
    let amr_of = |b: &Browser<'_>| {
        let r = b.get(&format!(
            "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=openid&state=st",
            enc(crate::oidc::CALLBACK)
        ));
        let code = crate::oidc::param(r.location(), "code")
            .unwrap_or_else(|| panic!("a code: {}", r.location()));
        let (status, tokens) =
            crate::oidc::redeem(&app.client, &id, secret.as_deref().unwrap(), &code, "");
        assert_eq!(status, Status::Ok, "{tokens}");
        crate::oidc::claims_of(tokens["id_token"].as_str().unwrap(), 1)["amr"].clone()
    };
    // The passkey's session: a hardware key with user verification, no password.
    assert_eq!(amr_of(&by_passkey), serde_json::json!(["hwk", "user"]));
    // The session signed in by password before the passkey was added: a password only
    // (not what the account has enrolled since).
    assert_eq!(amr_of(&by_password), serde_json::json!(["pwd"]));
}
