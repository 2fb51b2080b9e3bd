//! The Debian package, installed (`.ci/run` builds it with `cargo deb`, installs it with
//! `dpkg -i`, runs this with `--ignored`, then purges it): the files and
//! their owners, the user, and the installed binary started as that user with the
//! packaged configuration and keys: `/healthz`, the setup link, and a sign-in.
//!
//! systemd does not run on the CI machine, so the unit is checked with
//! `systemd-analyze verify` and its command, user, environment and working folder are
//! reproduced here; its sandboxing options are not exercised.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

use crate::common::*;

fn owner_group_mode(path: &str) -> (String, String, u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let name = |cmd: &str, id: u32| {
        let out = Command::new("getent")
            .args([cmd, &id.to_string()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    (
        name("passwd", m.uid()),
        name("group", m.gid()),
        m.mode() & 0o7777,
    )
}

#[test]
#[ignore = "needs the installed Debian package (CI installs it, then runs this with --ignored)"]
fn the_installed_package_runs_as_its_user_with_its_configuration() {
    // Files, owners and modes.
    assert!(std::path::Path::new("/usr/bin/gatehouse").is_file());
    for (path, mode) in [
        ("/etc/gatehouse/Rocket.toml", 0o640),
        ("/etc/gatehouse/ed25519.pem", 0o640),
        ("/etc/gatehouse/gatehouse.env", 0o640),
    ] {
        assert_eq!(
            owner_group_mode(path),
            ("root".into(), "gatehouse".into(), mode),
            "{path}"
        );
    }
    assert_eq!(
        owner_group_mode("/var/lib/gatehouse"),
        ("gatehouse".into(), "gatehouse".into(), 0o750)
    );
    let shell = Command::new("getent")
        .args(["passwd", "gatehouse"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shell.stdout)
        .trim_end()
        .ends_with("/usr/sbin/nologin"));
    if std::path::Path::new("/usr/bin/systemd-analyze").exists() {
        let out = Command::new("systemd-analyze")
            .args(["verify", "/usr/lib/systemd/system/gatehouse.service"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("gatehouse.service:"),
            "systemd-analyze finds fault with the unit: {text}"
        );
    }

    // The unit's command, as its user, with its environment (the packaged Rocket.toml and
    // the keys made at install), in its working folder; only the port is ours.
    let env_file = std::fs::read_to_string("/etc/gatehouse/gatehouse.env").unwrap();
    let port = free_port();
    // setpriv execs the server in its own process (runuser would fork and wait, and
    // killing it would leave the server running).
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=gatehouse",
        "--regid=gatehouse",
        "--init-groups",
        "--",
        "env",
        "-i",
    ])
    .arg("ROCKET_CONFIG=/etc/gatehouse/Rocket.toml")
    .arg(format!("ROCKET_PORT={port}"));
    for line in env_file
        .lines()
        .filter(|l| l.contains('=') && !l.starts_with('#'))
    {
        cmd.arg(line);
    }
    cmd.arg("/usr/bin/gatehouse")
        .arg("serve")
        .current_dir("/var/lib/gatehouse")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Killed(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let setup = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the setup link is printed (is /var/lib/gatehouse fresh?)");
        if let Some(at) = line.find("http://") {
            if line.contains("/setup?token=") {
                break line[at..].trim().to_string();
            }
        }
    };
    assert!(
        setup.starts_with(&format!("http://127.0.0.1:{port}/setup?token=")),
        "{setup}"
    );
    // The link is printed while the server starts, before it listens.
    wait_for_port(port, "the installed server listens");
    let base = format!("http://127.0.0.1:{port}");
    let agent = http_agent(std::time::Duration::from_secs(10));
    assert_eq!(
        agent
            .get(&format!("{base}/healthz"))
            .call()
            .unwrap()
            .status(),
        200
    );
    // The setup link makes the first administrator.
    let mut page = agent.get(&setup).call().unwrap();
    assert_eq!(page.status(), 200);
    let jar = cookie_header(&set_cookies(&page));
    let csrf = csrf_token(&page.body_mut().read_to_string().unwrap());
    let token = setup.split("token=").nth(1).unwrap();
    let password = enc("a long and unguessable passphrase");
    let done = agent
        .post(&format!("{base}/setup"))
        .header("Cookie", &jar)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!(
            "token={token}&username=root&password={password}&confirm={password}&csrf_token={csrf}"
        ))
        .unwrap();
    assert_eq!(done.status(), 303, "setup");
    // And it signs in.
    let mut login = agent.get(&format!("{base}/login")).call().unwrap();
    let jar = cookie_header(&set_cookies(&login));
    let csrf = csrf_token(&login.body_mut().read_to_string().unwrap());
    let signed_in = agent
        .post(&format!("{base}/login"))
        .header("Cookie", &jar)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!(
            "username=root&password={password}&csrf_token={csrf}"
        ))
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    // Signed in: an administrator is sent to add a second factor first (the default
    // `require_2fa = "admins"`), which the page for it shows.
    let session = cookie_header(&set_cookies(&signed_in));
    let dashboard = agent
        .get(&format!("{base}/dashboard"))
        .header("Cookie", &session)
        .call()
        .unwrap();
    assert_eq!(dashboard.status(), 303);
    let to = dashboard.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(to.starts_with("/account/2fa"), "{to}");
    let enrol = agent
        .get(&format!("{base}{to}"))
        .header("Cookie", &session)
        .call()
        .unwrap();
    assert_eq!(enrol.status(), 200);
    // The database is the packaged path, owned by the service user.
    assert_eq!(
        owner_group_mode("/var/lib/gatehouse/gatehouse.sqlite").0,
        "gatehouse"
    );
}
