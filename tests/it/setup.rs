//! First run: the one-time setup link creates the first administrator, once; the token
//! never appears in the request log.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::Status;

fn setup_token(app: &TestApp) -> String {
    // The server printed it at start; tests take a new one the same way.
    app.state().setup().issue(app.state().now()).unwrap()
}

fn post_setup(b: &Browser<'_>, token: &str, name: &str, pw: &str, confirm: &str) -> Resp {
    let csrf = b.token(&format!("/setup?token={token}"));
    b.post(
        "/setup",
        &format!(
            "token={token}&username={}&password={}&confirm={}&csrf_token={csrf}",
            enc(name),
            enc(pw),
            enc(confirm)
        ),
    )
}

#[test]
fn setup_creates_the_first_administrator_once() {
    let app = app();
    let token = setup_token(&app);
    let b = app.browser();
    let page = b.get(&format!("/setup?token={token}"));
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Create the administrator"));
    assert!(page.body.contains("autocomplete=\"new-password\""));
    let r = post_setup(&b, &token, "root-admin", PASSWORD, PASSWORD);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/login?notice=setup_done");
    // The link is spent.
    assert_eq!(
        b.get(&format!("/setup?token={token}")).status,
        Status::NotFound
    );
    // The administrator can sign in and is an admin.
    let admin = app.browser();
    assert_eq!(
        admin.login("root-admin", PASSWORD, false).status,
        Status::SeeOther
    );
    assert!(admin
        .get("/dashboard")
        .body
        .contains("<strong class=\"role\">admin</strong>"));
    assert_eq!(app.audit_kinds("setup_admin_created").len(), 1);
}

#[test]
fn setup_refuses_bad_links() {
    let app = app();
    let _token = setup_token(&app);
    for path in [
        "/setup",
        "/setup?token=",
        "/setup?token=wrong",
        "/setup?token=%FF",
    ] {
        let r = app.browser().get(path);
        assert_eq!(r.status, Status::NotFound, "{path}");
    }
    // Posting with a made-up token does nothing.
    let b = app.browser();
    let csrf = b.token("/login");
    let r = b.post(
        "/setup",
        &format!(
            "token=made-up&username=mallory&password={0}&confirm={0}&csrf_token={csrf}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(
        app.browser().login("mallory", PASSWORD, false).status,
        Status::Unauthorized
    );
}

#[test]
fn setup_applies_the_password_policy_and_keeps_the_link() {
    let app = app();
    let token = setup_token(&app);
    let b = app.browser();
    let r = post_setup(&b, &token, "root-admin", "too short", "too short");
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("at least 15 characters"));
    let r = post_setup(
        &b,
        &token,
        "root-admin",
        PASSWORD,
        "something else entirely",
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("do not match"));
    let r = post_setup(
        &b,
        &token,
        "root-admin",
        "root-admin-password-123",
        "root-admin-password-123",
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("does not contain your username"));
    let r = post_setup(&b, &token, "a", PASSWORD, PASSWORD);
    assert_eq!(r.status, Status::UnprocessableEntity);
    // Still usable after the refusals.
    assert_eq!(
        post_setup(&b, &token, "root-admin", PASSWORD, PASSWORD).status,
        Status::SeeOther
    );
}

#[test]
fn no_setup_link_once_an_administrator_exists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let client =
            rocket::local::blocking::Client::untracked(gatehouse::rocket(figment(&dir))).unwrap();
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        assert!(app.setup().is_offered(), "a fresh install offers setup");
        app.create_user("admin", Role::Admin, PASSWORD).unwrap();
    }
    let client =
        rocket::local::blocking::Client::untracked(gatehouse::rocket(figment(&dir))).unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    assert!(
        !app.setup().is_offered(),
        "no setup link with an administrator present"
    );
}

#[test]
fn setup_never_creates_a_second_administrator() {
    let app = app();
    let token = setup_token(&app);
    app.create_user("first-admin", Role::Admin);
    let b = app.browser();
    let r = post_setup(&b, &token, "second-admin", PASSWORD, PASSWORD);
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(
        app.browser().login("second-admin", PASSWORD, false).status,
        Status::Unauthorized
    );
}

// The setup token never appears in the logs.

#[test]
fn the_setup_token_never_appears_in_the_request_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = {
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_DATABASE_URL", database_url(&dir))
            .env("ROCKET_DATA_DIR", dir.path())
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_BCRYPT_COST", "4")
            .env("ROCKET_LOG_LEVEL", "normal")
            .env("ROCKET_CLI_COLORS", "false")
            .env(
                "ROCKET_JWT_KEYS",
                format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    // Both outputs read as they come, so that the test can wait for a line.
    let (out, err) = (
        std::sync::Arc::new(std::sync::Mutex::new(String::new())),
        std::sync::Arc::new(std::sync::Mutex::new(String::new())),
    );
    let readers = [
        read_into(server.stdout.take().unwrap(), out.clone()),
        read_into(server.stderr.take().unwrap(), err.clone()),
    ];
    let agent = http_agent(std::time::Duration::from_secs(5));
    let base = format!("http://127.0.0.1:{port}");
    let started = comes_true(std::time::Duration::from_secs(10), || {
        agent.get(&format!("{base}/healthz")).call().is_ok()
    });
    assert!(started);
    let status = agent
        .get(&format!("{base}/setup?token=GuessedSetupToken1234&lang=en"))
        .call()
        .unwrap()
        .status();
    assert_eq!(status, 404);
    // The request's lines are logged, and the guessed token in none of them, however
    // long we wait.
    wait_until("the request is logged", || {
        out.lock().unwrap().contains("GET /setup")
    });
    stays(
        "the guessed token is never logged",
        std::time::Duration::from_millis(300),
        || {
            !out.lock().unwrap().contains("GuessedSetupToken1234")
                && !err.lock().unwrap().contains("GuessedSetupToken1234")
        },
    );
    let _ = server.kill();
    let _ = server.wait();
    for r in readers {
        r.join().unwrap();
    }
    let (out, err) = (out.lock().unwrap().clone(), err.lock().unwrap().clone());
    assert!(out.contains("GET /setup"), "the request is logged: {out}");
    assert!(!out.contains("GuessedSetupToken1234") && !err.contains("GuessedSetupToken1234"));
    // The real link was printed once, at start, as it must be; never again.
    let printed = err
        .split("token=")
        .nth(1)
        .map(|t| t.split_whitespace().next().unwrap_or_default().to_string())
        .unwrap_or_default();
    assert_eq!(printed.len(), 43, "the setup link at start: {err}");
    assert!(!out.contains(&printed));
}

/// Reads `from` into `into` as it comes, until it closes.
fn read_into(
    from: impl std::io::Read + Send + 'static,
    into: std::sync::Arc<std::sync::Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(from)
            .split(b'\n')
            .map_while(Result::ok)
        {
            let mut s = into.lock().unwrap();
            s.push_str(&String::from_utf8_lossy(&line));
            s.push('\n');
        }
    })
}
