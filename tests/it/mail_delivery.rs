//! Mail through a real SMTP server (aiosmtpd, started here on loopback): what arrives, its
//! headers and both parts, links that work, a server that is down and comes back, two
//! instances sending one outbox, and TLS. Ignored by a plain `cargo test`; CI makes a Python
//! with aiosmtpd, names it in `GATEHOUSE_TEST_PYTHON` and runs these with `--ignored` (a
//! missing Python then fails them).

use crate::common::*;
use crate::mail::{give_verified_email, mail_app_to, SITE};
use diesel::prelude::*;
use gatehouse::accounts::Role;
use gatehouse::db::schema::outbox;
use mail_parser::{Message, MessageParser};
use rocket::http::Status;

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default().parse(raw).expect("a mail message")
}

fn to_of(m: &Message<'_>) -> String {
    m.to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string()
}

/// The one link of the mail's text part that points at the site, as a local path.
fn link_in(m: &Message<'_>) -> String {
    let text = m.body_text(0).expect("a text part");
    let start = text.find(SITE).expect("a link to public_url");
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    url.trim_start_matches(SITE).to_string()
}

fn ask_reset(app: &TestApp, login: &str) {
    let b = app.browser();
    let csrf = b.token("/password/forgot");
    let r = b.post(
        "/password/forgot",
        &format!("login={}&csrf_token={csrf}", enc(login)),
    );
    assert_eq!(r.status, Status::Ok);
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn a_reset_mail_arrives_with_its_headers_and_parts_and_its_link_works() {
    let smtp = SmtpServer::start().unwrap();
    let app = mail_app_to(&format!("smtp://127.0.0.1:{}?tls=none", smtp.port));
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    ask_reset(&app, "alice");
    let raw = smtp.wait_for(1);
    let m = parse(&raw[0]);
    let from = m.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.address(), Some("auth@auth.test"));
    assert_eq!(from.name(), Some("Gatehouse"));
    assert_eq!(to_of(&m), "alice@example.com");
    assert_eq!(m.subject(), Some("Choose a new password"));
    assert!(m.date().is_some(), "a Date header");
    let id = m.message_id().expect("a Message-ID");
    assert!(id.ends_with("@auth.test"), "{id}");
    let html = m.body_html(0).expect("an HTML part");
    let path = link_in(&m);
    assert!(path.starts_with("/password/reset?token="), "{path}");
    assert!(
        html.contains(&format!("<a href=\"{SITE}{path}\">")),
        "{html}"
    );
    assert!(
        !html.contains("<img") && !html.contains("src="),
        "no images"
    );
    // Sent: the link is no longer kept in the outbox. (It is marked sent just after the
    // server has taken it.)
    wait_until("the mail is marked sent", || {
        outbox_state(&app) == vec![(1, true)]
    });
    let data = app
        .state()
        .db()
        .run_blocking(|c| Ok(outbox::table.select(outbox::data).first::<String>(c)?))
        .unwrap();
    assert_eq!(data, "{}");
    // Follow it.
    let b = app.browser();
    let page = b.get(&path);
    assert_eq!(page.status, Status::Ok);
    let token = path.split('=').nth(1).unwrap();
    let r = b.post(
        "/password/reset",
        &format!(
            "token={token}&password=a+fresh+passphrase&confirm=a+fresh+passphrase&csrf_token={}",
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(
        app.browser()
            .login("alice", "a fresh passphrase", false)
            .status,
        Status::SeeOther
    );
    // And the notice that the password was reset.
    let raw = smtp.wait_for(2);
    let notice = parse(&raw[1]);
    assert_eq!(notice.subject(), Some("Your password was reset"));
    assert_eq!(to_of(&notice), "alice@example.com");
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn korean_accounts_get_korean_mail() {
    let smtp = SmtpServer::start().unwrap();
    let app = mail_app_to(&format!("smtp://127.0.0.1:{}?tls=none", smtp.port));
    let minji = app.create_user("minji", Role::User);
    // Mail goes out in the account's stored language (the owner's choice).
    set_stored_language(app.state(), minji, "ko");
    let mut b = app.browser();
    b.headers
        .push(rocket::http::Header::new("Accept-Language", "ko"));
    b.login("minji", PASSWORD, false);
    let csrf = b.token("/account/email");
    b.post(
        "/account/email",
        &format!("email=minji%40example.com&csrf_token={csrf}"),
    );
    let raw = smtp.wait_for(1);
    let m = parse(&raw[0]);
    assert_eq!(m.subject(), Some("이메일 주소를 확인하세요"));
    assert!(m.body_text(0).unwrap().contains("안녕하세요"));
    assert!(m.body_html(0).unwrap().contains("lang=\"ko\""));
    // Following the link verifies the address.
    let path = link_in(&m);
    let other = app.browser();
    let page = other.get(&path);
    assert_eq!(page.status, Status::Ok);
    let token = path.split('=').nth(1).unwrap();
    let r = other.post(
        "/account/email/verify",
        &format!("token={token}&csrf_token={}", csrf_token(&page.body)),
    );
    assert_eq!(r.location(), "/login?notice=email_verified");
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn an_invitation_arrives_and_its_link_sets_the_password() {
    let smtp = SmtpServer::start().unwrap();
    let app = mail_app_to(&format!("smtp://127.0.0.1:{}?tls=none", smtp.port));
    let (_, admin) = app.signed_in("root", Role::Admin);
    let csrf = admin.token("/admin/users/new");
    let r = admin.post(
        "/admin/users/new",
        &format!("username=carol&role=user&email=carol%40example.com&csrf_token={csrf}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    let m = parse(&smtp.wait_for(1)[0]).into_owned();
    assert_eq!(to_of(&m), "carol@example.com");
    assert_eq!(m.subject(), Some("You are invited to Gatehouse"));
    let path = link_in(&m);
    assert!(path.starts_with("/invite?token="), "{path}");
    let b = app.browser();
    let page = b.get(&path);
    let token = path.split('=').nth(1).unwrap();
    let r = b.post(
        "/invite",
        &format!(
            "token={token}&password=my+own+passphrase&confirm=my+own+passphrase&csrf_token={}",
            csrf_token(&page.body)
        ),
    );
    assert_eq!(r.location(), "/login?notice=invitation_accepted");
    assert_eq!(
        app.browser()
            .login("carol", "my own passphrase", false)
            .status,
        Status::SeeOther
    );
}

/// The outbox row's attempts and whether it was sent.
fn outbox_state(app: &TestApp) -> Vec<(i32, bool)> {
    app.state()
        .db()
        .run_blocking(|c| {
            Ok(outbox::table
                .order(outbox::id.asc())
                .select((outbox::attempts, outbox::sent_at.is_not_null()))
                .load::<(i32, bool)>(c)?)
        })
        .unwrap()
}

/// Waits for the first delivery attempt, and checks that it failed: the row is kept.
fn first_attempt_failed(app: &TestApp) {
    wait_until("the first delivery attempt", || {
        outbox_state(app).first().is_some_and(|s| s.0 >= 1)
    });
    assert_eq!(outbox_state(app), vec![(1, false)]);
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn mail_waits_while_the_server_is_down_and_goes_once_it_is_back() {
    let port = free_port();
    let app = mail_app_to(&format!("smtp://127.0.0.1:{port}?tls=none"));
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    ask_reset(&app, "alice");
    // The first attempt fails (nothing listens) and the row waits, with a growing delay.
    first_attempt_failed(&app);
    let smtp = SmtpServer::start_on(port, None).unwrap();
    stays(
        "not before its next attempt is due",
        std::time::Duration::from_millis(1500),
        || smtp.messages().is_empty(),
    );
    app.state().clock().advance(31);
    let got = smtp.wait_for(1);
    assert_eq!(to_of(&parse(&got[0])), "alice@example.com");
    wait_until("the mail is marked sent", || {
        outbox_state(&app) == vec![(2, true)]
    });
    // Nothing more, however long we wait.
    app.state().clock().advance(3600);
    stays(
        "nothing more is sent",
        std::time::Duration::from_millis(2500),
        || smtp.messages().len() == 1,
    );
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(outbox_state(&app), vec![(2, true)]);
    let metrics = app
        .client
        .get("/metrics")
        .remote("127.0.0.1:4000".parse().unwrap())
        .dispatch()
        .into_string()
        .unwrap_or_default();
    assert!(metrics.contains("gatehouse_mail_sent_total 1"), "{metrics}");
    assert!(metrics.contains("gatehouse_mail_waiting 0"), "{metrics}");
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn two_instances_on_one_database_send_each_mail_once() {
    let smtp = SmtpServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let instance = || {
        rocket::local::blocking::Client::untracked(gatehouse::rocket(
            figment_with_url(dir.path(), &url)
                .merge((
                    "smtp_url",
                    format!("smtp://127.0.0.1:{}?tls=none", smtp.port),
                ))
                .merge(("public_url", SITE))
                .merge(("mail_from", "auth@auth.test")),
        ))
        .unwrap()
    };
    let (a, b) = (instance(), instance());
    let state = a.rocket().state::<gatehouse::App>().unwrap();
    let now = state.now();
    state
        .db()
        .run_blocking(move |c| {
            for i in 0..40 {
                gatehouse::mail::queue(
                    c,
                    &format!("person{i}@example.com"),
                    "en",
                    gatehouse::mail::kind::ACCOUNT_DISABLED,
                    None,
                    &serde_json::json!({ "name": format!("person{i}") }),
                    now,
                )?;
            }
            Ok(())
        })
        .unwrap();
    // Queued behind both senders' backs: wake both, as the instance that queues a mail
    // wakes its own (an idle sender otherwise looks again only every IDLE_RECHECK).
    for c in [&a, &b] {
        c.rocket()
            .state::<gatehouse::App>()
            .unwrap()
            .mail_wake()
            .notify_one();
    }
    let got = smtp.wait_for(40);
    stays(
        "each mail once",
        std::time::Duration::from_millis(2500),
        || smtp.messages().len() == 40,
    );
    let got_after = smtp.messages();
    assert_eq!(got_after.len(), 40, "each mail once");
    let mut to: Vec<String> = got.iter().map(|r| to_of(&parse(r))).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 40);
    let sent = |c: &rocket::local::blocking::Client| {
        c.rocket()
            .state::<gatehouse::App>()
            .unwrap()
            .metrics()
            .mail
            .sent
            .get()
    };
    wait_until("both instances have counted what they sent", || {
        sent(&a) + sent(&b) >= 40
    });
    let (sa, sb) = (sent(&a), sent(&b));
    assert_eq!(sa + sb, 40, "a: {sa}, b: {sb}");
    println!("two instances: {sa} and {sb} of 40 mails");
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn starttls_is_required_and_checked_against_smtp_ca_file() {
    let cert = test_certificate(&["localhost"]);
    let smtp = SmtpServer::start_on(free_port(), Some(("--tlscert", &cert))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.ca_pem).unwrap();
    // Without the CA the certificate is not trusted: nothing is sent in the clear either.
    let untrusted = mail_app_to(&format!("smtp://localhost:{}", smtp.port));
    let alice = untrusted.create_user("alice", Role::User);
    give_verified_email(&untrusted, alice, "alice@example.com");
    ask_reset(&untrusted, "alice");
    wait_until("the first delivery attempt", || {
        outbox_state(&untrusted).first().is_some_and(|s| s.0 >= 1)
    });
    assert!(smtp.messages().is_empty());
    // With it, the mail goes through STARTTLS.
    let (port, ca_file) = (smtp.port, ca.to_string_lossy().to_string());
    let trusted = app_with(move |f| {
        f.merge(("smtp_url", format!("smtp://localhost:{port}")))
            .merge(("public_url", SITE))
            .merge(("mail_from", "Gatehouse <auth@auth.test>"))
            .merge(("smtp_ca_file", ca_file))
    });
    let bob = trusted.create_user("bob", Role::User);
    give_verified_email(&trusted, bob, "bob@example.com");
    ask_reset(&trusted, "bob");
    let got = smtp.wait_for(1);
    assert_eq!(to_of(&parse(&got[0])), "bob@example.com");
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn implicit_tls_works_with_smtps() {
    let cert = test_certificate(&["localhost"]);
    let smtp = SmtpServer::start_on(free_port(), Some(("--smtpscert", &cert))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.ca_pem).unwrap();
    let (port, ca_file) = (smtp.port, ca.to_string_lossy().to_string());
    let app = app_with(move |f| {
        f.merge(("smtp_url", format!("smtps://localhost:{port}")))
            .merge(("public_url", SITE))
            .merge(("mail_from", "auth@auth.test"))
            .merge(("smtp_ca_file", ca_file))
    });
    let bob = app.create_user("bob", Role::User);
    give_verified_email(&app, bob, "bob@example.com");
    ask_reset(&app, "bob");
    assert_eq!(to_of(&parse(&smtp.wait_for(1)[0])), "bob@example.com");
}

#[test]
#[ignore = "needs aiosmtpd (GATEHOUSE_TEST_PYTHON); CI runs it with --ignored"]
fn a_server_without_starttls_gets_nothing_unless_tls_none_is_asked() {
    let smtp = SmtpServer::start().unwrap(); // offers no STARTTLS
    let app = mail_app_to(&format!("smtp://127.0.0.1:{}", smtp.port));
    let alice = app.create_user("alice", Role::User);
    give_verified_email(&app, alice, "alice@example.com");
    ask_reset(&app, "alice");
    first_attempt_failed(&app);
    assert!(smtp.messages().is_empty(), "nothing sent in the clear");
}
