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
fn serving_from_a_folder_without_the_assets_names_the_setting_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    for (template_dir, expect) in [
        (None, "setting `template_dir`"),
        (Some(format!("{root}/templates")), "setting `static_dir`"),
    ] {
        let mut cmd = gatehouse(&dir);
        cmd.current_dir(dir.path())
            .env("ROCKET_PORT", free_port().to_string());
        if let Some(t) = &template_dir {
            cmd.env("ROCKET_TEMPLATE_DIR", t);
        }
        let (ok, _, err) = run(cmd, "");
        assert!(!ok, "the server must not start");
        assert!(err.contains(expect), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Absolute paths make it start from anywhere.
    let port = free_port();
    let mut cmd = gatehouse(&dir);
    cmd.current_dir(dir.path())
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_TEMPLATE_DIR", format!("{root}/templates"))
        .env("ROCKET_STATIC_DIR", format!("{root}/static"));
    let mut child = cmd.spawn().unwrap();
    let started = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        ureq::get(&format!("http://127.0.0.1:{port}/static/app.css"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "serves its pages with absolute asset folders");
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
