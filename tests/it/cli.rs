//! The command line of the same binary, and start-up checks of the settings.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::*;

fn gatehouse(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ROCKET_DATABASE_URL", dir.path().join("cli.sqlite"))
        .env("ROCKET_DATA_DIR", dir.path())
        .env("ROCKET_BCRYPT_COST", "4")
        .env(
            "ROCKET_JWT_KEYS",
            format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(mut cmd: Command, stdin: &str) -> (bool, String, String) {
    let mut child = cmd.spawn().expect("binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn create_user_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = gatehouse(&dir);
    cmd.args([
        "create-user",
        "carol",
        "--role",
        "admin",
        "--password-stdin",
    ]);
    let (ok, out, err) = run(cmd, &format!("{PASSWORD}\n"));
    assert!(ok, "{out}{err}");
    assert!(out.contains("created carol (admin)"));
    // The account signs in through the web app.
    let client =
        rocket::local::blocking::Client::untracked(gatehouse::rocket(figment(&dir).merge((
            "database_url",
            dir.path().join("cli.sqlite").to_string_lossy().to_string(),
        ))))
        .unwrap();
    let app = TestApp { client, dir };
    let b = app.browser();
    assert_eq!(
        b.login("carol", PASSWORD, false).status,
        rocket::http::Status::SeeOther
    );
    assert!(b.get("/dashboard").body.contains(">admin<"));
}

#[test]
fn create_user_refuses_weak_passwords_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = gatehouse(&dir);
    cmd.args(["create-user", "carol", "--role", "user", "--password-stdin"]);
    let (ok, _, err) = run(cmd, "short\n");
    assert!(!ok);
    assert!(err.contains("at least 15 characters"), "{err}");
    let mut cmd = gatehouse(&dir);
    cmd.args(["create-user", "carol", "--role", "user", "--password-stdin"]);
    assert!(run(cmd, PASSWORD).0);
    let mut cmd = gatehouse(&dir);
    cmd.args(["create-user", "CAROL", "--role", "user", "--password-stdin"]);
    let (ok, _, err) = run(cmd, PASSWORD);
    assert!(!ok);
    assert!(err.contains("taken"), "{err}");
}

#[test]
fn bad_arguments_print_usage_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["create-user", "carol", "--role", "root", "--password-stdin"],
        vec!["create-user", "carol", "--role", "user"],
        vec!["create-user"],
        vec!["frobnicate"],
        vec!["serve", "--port"],
    ] {
        let mut cmd = gatehouse(&dir);
        cmd.args(&args);
        let (ok, _, err) = run(cmd, "");
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains("Usage"), "{args:?}: {err}");
    }
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = gatehouse(&dir);
    cmd.arg("migrate");
    let (ok, out, err) = run(cmd, "");
    assert!(ok, "{err}");
    assert!(out.contains("migrations applied"));
    assert!(dir.path().join("cli.sqlite").exists());
}

#[test]
fn an_unreachable_postgresql_is_reported_with_its_cause_and_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = gatehouse(&dir);
    cmd.env(
        "ROCKET_DATABASE_URL",
        format!("postgres://gatehouse:s3cret-pw@127.0.0.1:{port}/gatehouse"),
    )
    .arg("migrate");
    let (ok, _, err) = run(cmd, "");
    assert!(!ok);
    assert!(err.contains("cannot open the database"), "{err}");
    // libpq's own reason, not a generic "invalid URL".
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!err.contains("Invalid connection url"), "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
    // No SQLite file was made from the URL.
    assert!(!std::path::Path::new("postgres:").exists());
}

#[test]
fn short_or_malformed_keys_are_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    for (keys, expect) in [
        ("[{kid=\"k1\",secret=\"c2hvcnQ=\"}]", "jwt_keys[0].secret"),
        (
            "[{kid=\"k1\",secret=\"!!!not base64!!!\"}]",
            "jwt_keys[0].secret",
        ),
        (
            "[{kid=\"\",secret=\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}]",
            "jwt_keys[0].kid",
        ),
    ] {
        let mut cmd = gatehouse(&dir);
        cmd.env("ROCKET_JWT_KEYS", keys).arg("migrate");
        let (ok, _, err) = run(cmd, "");
        assert!(!ok, "{keys}");
        assert!(err.contains(expect), "{keys}: {err}");
    }
}

#[test]
fn release_builds_refuse_to_start_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let figment = figment(&dir).merge(("jwt_keys", Vec::<String>::new()));
    let err = gatehouse::config::Settings::from_figment_for(&figment, false).unwrap_err();
    assert!(err.contains("`jwt_keys` is missing"), "{err}");
    // A debug build makes and keeps a development key instead.
    let a = gatehouse::config::Settings::from_figment_for(&figment, true).unwrap();
    let b = gatehouse::config::Settings::from_figment_for(&figment, true).unwrap();
    assert_eq!(a.keys[0].secret, b.keys[0].secret);
    assert!(a.keys[0].secret.len() >= 32);
}

#[test]
fn the_binary_alone_runs_from_an_empty_folder() {
    // Only the binary, copied into an empty folder, with settings from the environment.
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("gatehouse");
    std::fs::copy(env!("CARGO_BIN_EXE_gatehouse"), &binary).unwrap();
    let only = |cmd: &mut Command| {
        cmd.current_dir(dir.path())
            .env_clear()
            .env("ROCKET_DATABASE_URL", "gatehouse.sqlite")
            .env("ROCKET_BCRYPT_COST", "4")
            .env("ROCKET_REQUIRE_2FA", "none")
            .env("ROCKET_LOG_LEVEL", "critical")
            .env(
                "ROCKET_JWT_KEYS",
                format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
            )
            .env("ROCKET_ENCRYPTION_KEY", KEY1_SECRET);
    };
    let mut create = Command::new(&binary);
    only(&mut create);
    create
        .args(["create-user", "alice", "--role", "user", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (ok, out, err) = run(create, PASSWORD);
    assert!(ok, "{out}{err}");
    let port = free_port();
    let mut serve = Command::new(&binary);
    only(&mut serve);
    serve
        .arg("serve")
        .env("ROCKET_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = serve.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let agent = http_agent(std::time::Duration::from_secs(10));
    let up = comes_true(std::time::Duration::from_secs(10), || {
        agent.get(&format!("{base}/healthz")).call().is_ok()
    });
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(up, "the server started from the empty folder");
        let css = agent.get(&format!("{base}/static/app.css")).call().unwrap();
        assert_eq!(css.status(), 200);
        assert!(css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css"));
        let mut login = agent.get(&format!("{base}/login")).call().unwrap();
        assert_eq!(login.status(), 200);
        let jar = cookie_header(&set_cookies(&login));
        let token = csrf_token(&login.body_mut().read_to_string().unwrap());
        let signed_in = agent
            .post(&format!("{base}/login"))
            .header("Cookie", &jar)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!(
                "username=alice&password={}&csrf_token={token}",
                enc(PASSWORD)
            ))
            .unwrap();
        assert_eq!(signed_in.status(), 303);
        let session = cookie_header(&set_cookies(&signed_in));
        let mut dashboard = agent
            .get(&format!("{base}/dashboard"))
            .header("Cookie", &session)
            .call()
            .unwrap();
        assert_eq!(dashboard.status(), 200);
        assert!(dashboard
            .body_mut()
            .read_to_string()
            .unwrap()
            .contains("alice"));
    }));
    let _ = child.kill();
    let _ = child.wait();
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
    assert!(
        files.iter().all(|f| f.starts_with("gatehouse")),
        "nothing but the binary and its database: {files:?}"
    );
}

#[test]
fn customised_pages_and_files_override_the_built_in_ones() {
    let custom = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(custom.path().join("templates")).unwrap();
    std::fs::create_dir_all(custom.path().join("static")).unwrap();
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/base.html.tera"
    ))
    .unwrap();
    std::fs::write(
        custom.path().join("templates/base.html.tera"),
        base.replace("</body>", "<p id=\"ours\">Our company</p></body>"),
    )
    .unwrap();
    std::fs::write(custom.path().join("static/logo.svg"), "<svg/>").unwrap();
    let (t, s) = (
        custom
            .path()
            .join("templates")
            .to_string_lossy()
            .to_string(),
        custom.path().join("static").to_string_lossy().to_string(),
    );
    let app = app_with(move |f| f.merge(("template_dir", t)).merge(("static_dir", s)));
    let b = app.browser();
    assert!(b
        .get("/login")
        .body
        .contains("<p id=\"ours\">Our company</p>"));
    assert_eq!(b.get("/static/logo.svg").body, "<svg/>");
    // What is not customised stays built in.
    assert_eq!(b.get("/static/app.css").status, rocket::http::Status::Ok);
    // A folder that is not there names its setting.
    for key in ["template_dir", "static_dir"] {
        let dir = tempfile::tempdir().unwrap();
        let f = figment(&dir).merge((key, "/nonexistent/folder"));
        match rocket::local::blocking::Client::untracked(gatehouse::rocket(f)) {
            Ok(_) => panic!("{key}: started"),
            // (Looking at the error marks it handled: Rocket panics on unhandled ones.)
            Err(e) => assert!(matches!(
                e.kind(),
                rocket::error::ErrorKind::FailedFairings(_)
            )),
        }
        let settings = gatehouse::config::Settings::from_figment(
            &figment(&dir).merge((key, "/nonexistent/folder")),
        )
        .unwrap();
        let message = match key {
            "static_dir" => settings.check_asset_folders().unwrap_err(),
            _ => match gatehouse::web::engine::Pages::load(settings.template_dir.as_deref()) {
                Ok(_) => panic!("loaded"),
                Err(e) => e,
            },
        };
        assert!(message.contains(&format!("setting `{key}`")), "{message}");
    }
}

#[test]
fn other_bad_settings_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value, expect) in [
        ("bcrypt_cost", "3", "bcrypt_cost"),
        ("access_token_ttl", "0", "access_token_ttl"),
        ("password_min_length", "6", "password_min_length"),
        ("database_url", "mysql://x", "database_url"),
        ("signup", "maybe", "signup"),
    ] {
        let figment = figment(&dir).merge((key, value));
        let err = gatehouse::config::Settings::from_figment(&figment).unwrap_err();
        assert!(err.contains(expect), "{key}={value}: {err}");
    }
}

/// A customised template that does not compile stops the start, and is named.
#[test]
fn a_customised_template_that_does_not_compile_stops_the_start() {
    let custom = tempfile::tempdir().unwrap();
    std::fs::write(custom.path().join("base.html.tera"), "{% if %}").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = custom.path().to_string_lossy().to_string();
    let f = figment(&dir).merge(("template_dir", folder));
    match rocket::local::blocking::Client::untracked(gatehouse::rocket(f)) {
        Ok(_) => panic!("started"),
        Err(e) => assert!(matches!(
            e.kind(),
            rocket::error::ErrorKind::FailedFairings(_)
        )),
    }
    let message = match gatehouse::web::engine::Pages::load(Some(custom.path())) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    };
    assert!(message.contains("base"), "{message}");
}

/// The template engine's loader refuses a folder that does not exist: an empty
/// `template_dir` setting (unset) and an empty folder both start with the built-in pages.
#[test]
fn an_empty_template_dir_setting_or_folder_serves_the_built_in_pages() {
    let empty = tempfile::tempdir().unwrap();
    let folder = empty.path().to_string_lossy().to_string();
    for value in [String::new(), folder] {
        let app = app_with(|f| f.merge(("template_dir", value.clone())));
        let r = app.browser().get("/login");
        assert_eq!(r.status, rocket::http::Status::Ok, "{value:?}");
        assert!(r.body.contains("name=\"csrf_token\""), "{value:?}");
        assert_eq!(
            r.header("Content-Type"),
            Some("text/html; charset=utf-8"),
            "{value:?}"
        );
    }
    assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none());
}

#[test]
fn the_command_line_works_from_any_folder() {
    // Only the server reads templates and static files; migrate and create-user do not.
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = gatehouse(&dir);
    cmd.current_dir(elsewhere.path()).arg("migrate");
    let (ok, out, err) = run(cmd, "");
    assert!(ok, "migrate: {out}{err}");
    let mut cmd = gatehouse(&dir);
    cmd.current_dir(elsewhere.path()).args([
        "create-user",
        "dave",
        "--role",
        "user",
        "--password-stdin",
    ]);
    let (ok, out, err) = run(cmd, PASSWORD);
    assert!(ok, "create-user: {out}{err}");
    assert!(out.contains("created dave (user)"));
}
