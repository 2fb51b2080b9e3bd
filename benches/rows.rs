//! Growth and the prune (issue 19, items 3 and 7), in one run:
//!
//!     cargo bench --profile dev --bench rows
//!
//! 1. Hostile rows: 5,000 failed sign-ins for random names and 5,000 correct passwords of
//!    one account with a second factor (each a pending second step), through the app's
//!    own pages (local client, bcrypt cost 4); the `login_attempts` and
//!    `pending_sign_ins` rows right after, and after an hour and a prune.
//! 2. Rotation: one client renewing 2,000 times without its access cookie; the
//!    refresh-token rows of its session.
//! 3. The prune under writes: 1.5 M used refresh tokens older than the retention (the
//!    rows of a month of fast rotation), one prune, and meanwhile a stream of small write
//!    transactions (one every 5 ms) each timed: the longest wait, p99, and how many took
//!    over 100 ms. `GATEHOUSE_BENCH_ROWS` sets the 1.5 M.
//!
//! Only APIs that existed before the change are used, so the same file measures the
//! code before it (check the older `src/` out beside it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use gatehouse::accounts::Role;
use rocket::http::{ContentType, Cookie, RawStr};
use rocket::local::blocking::Client;

const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const KEY2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
const PASSWORD: &str = "correct horse battery staple";
const HOSTILE: usize = 5_000;

fn figment(dir: &std::path::Path) -> rocket::figment::Figment {
    gatehouse::figment()
        .merge((
            "database_url",
            dir.join("bench.sqlite").to_string_lossy().to_string(),
        ))
        .merge(("data_dir", dir.to_string_lossy().to_string()))
        .merge(("bcrypt_cost", 4))
        .merge(("log_level", "off"))
        .merge(("require_2fa", "none"))
        .merge(("address_failures", 1_000_000))
        .merge((
            "jwt_keys",
            vec![serde_json::json!({ "kid": "k1", "secret": KEY })],
        ))
        .merge(("encryption_key", KEY2))
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body.find(start).expect(start) + start.len();
    &body[i..i + body[i..].find(end).expect(end)]
}

/// A browser's cookies, by hand (the local client is untracked).
#[derive(Default, Clone)]
struct Jar(Vec<Cookie<'static>>);

impl Jar {
    fn take(&mut self, r: &rocket::local::blocking::LocalResponse<'_>) {
        for c in r.cookies().iter() {
            self.0.retain(|o| o.name() != c.name());
            if !c.value().is_empty() {
                self.0.push(c.clone().into_owned());
            }
        }
    }
    fn on<'c>(
        &self,
        mut req: rocket::local::blocking::LocalRequest<'c>,
    ) -> rocket::local::blocking::LocalRequest<'c> {
        for c in &self.0 {
            req = req.cookie(Cookie::new(c.name().to_string(), c.value().to_string()));
        }
        req
    }
    fn drop(&mut self, name: &str) {
        self.0.retain(|c| c.name() != name);
    }
}

fn get(client: &Client, jar: &mut Jar, path: &str) -> (u16, String) {
    let r = jar.on(client.get(path.to_string())).dispatch();
    jar.take(&r);
    let status = r.status().code;
    (status, r.into_string().unwrap_or_default())
}

fn post(client: &Client, jar: &mut Jar, path: &str, body: String) -> u16 {
    let r = jar
        .on(client.post(path.to_string()).header(ContentType::Form))
        .body(body)
        .dispatch();
    jar.take(&r);
    r.status().code
}

fn login(client: &Client, jar: &mut Jar, name: &str, password: &str) -> u16 {
    let (_, page) = get(client, jar, "/login");
    let token = between(&page, "name=\"csrf_token\" value=\"", "\"").to_string();
    post(
        client,
        jar,
        "/login",
        format!(
            "username={name}&password={}&csrf_token={token}",
            RawStr::new(password).percent_encode()
        ),
    )
}

fn count(app: &gatehouse::App, sql: &'static str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.db()
        .run_blocking(move |c| Ok(diesel::sql_query(sql).get_result::<N>(c)?.n))
        .unwrap()
}

fn hostile_rows() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::untracked(gatehouse::rocket(figment(dir.path()))).unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    app.create_user("alice", Role::User, PASSWORD).unwrap();
    // Alice enrols a second factor through the page.
    let mut alice = Jar::default();
    assert_eq!(login(&client, &mut alice, "alice", PASSWORD), 303);
    let (_, page) = get(&client, &mut alice, "/account/2fa");
    let secret = data_encoding::BASE32_NOPAD
        .decode(
            between(&page, "<code class=\"secret\" id=\"secret\">", "</code>")
                .trim_end_matches('=')
                .as_bytes(),
        )
        .unwrap();
    let code = gatehouse::second_factor::totp::code_at(&secret, app.now()).unwrap();
    let status = post(
        &client,
        &mut alice,
        "/account/2fa",
        format!(
            "enrolment={}&code={code}&csrf_token={}",
            between(&page, "name=\"enrolment\" value=\"", "\""),
            between(&page, "name=\"csrf_token\" value=\"", "\"")
        ),
    );
    assert_eq!(status, 200, "enrolment");

    let started = Instant::now();
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..HOSTILE {
        let mut jar = Jar::default();
        let name = format!("random-{i:05}-{}", i * 7919 % 10_007);
        *answers
            .entry(login(
                &client,
                &mut jar,
                &name,
                "wrong password, long enough",
            ))
            .or_default() += 1;
    }
    for _ in 0..HOSTILE {
        let mut jar = Jar::default();
        *answers
            .entry(login(&client, &mut jar, "alice", PASSWORD))
            .or_default() += 1;
    }
    let took = started.elapsed();
    let attempts = "SELECT count(*) AS n FROM login_attempts";
    let pending = "SELECT count(*) AS n FROM pending_sign_ins";
    println!(
        "hostile rows: {HOSTILE} failed sign-ins for random names + {HOSTILE} password steps \
         of one account with a second factor in {took:.1?} (answers {answers:?})"
    );
    println!(
        "  right after:                 login_attempts {:>6}, pending_sign_ins {:>6}",
        count(app, attempts),
        count(app, pending)
    );
    app.clock().advance(3_601);
    let (now, keep) = (app.now(), app.retention());
    app.db()
        .run_blocking(move |c| gatehouse::retention::prune(c, now, &keep))
        .unwrap();
    println!(
        "  an hour later, after a prune: login_attempts {:>6}, pending_sign_ins {:>6}",
        count(app, attempts),
        count(app, pending)
    );
}

fn rotation_rows() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::untracked(gatehouse::rocket(figment(dir.path()))).unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    app.create_user("alice", Role::User, PASSWORD).unwrap();
    let mut jar = Jar::default();
    assert_eq!(login(&client, &mut jar, "alice", PASSWORD), 303);
    let n = 2_000;
    let started = Instant::now();
    for _ in 0..n {
        jar.drop("__Host-access");
        assert_eq!(get(&client, &mut jar, "/dashboard").0, 200);
    }
    println!(
        "rotation rows: {n} rotations of one session in {:.1?}: refresh_tokens {} rows, \
         {} KiB of database",
        started.elapsed(),
        count(app, "SELECT count(*) AS n FROM refresh_tokens"),
        count(
            app,
            "SELECT page_count * page_size / 1024 AS n FROM pragma_page_count, pragma_page_size"
        )
    );
}

fn prune_under_writes() {
    let rows: i64 = std::env::var("GATEHOUSE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500_000);
    let dir = tempfile::tempdir().unwrap();
    let client = Client::untracked(gatehouse::rocket(figment(dir.path()))).unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    let id = app.create_user("alice", Role::User, PASSWORD).unwrap().id;
    let seeded = Instant::now();
    // One live session with a month of used tokens, all older than the retention when the
    // prune below runs (a month on), none yet for the server's own pass.
    let used = app.now() - 1_000;
    app.db()
        .run_blocking(move |c| {
            c.batch_execute(&format!(
                "BEGIN;
                 INSERT INTO sessions (id, account_id, remember, user_agent, ip, created_at,
                                       last_seen_at, expires_at, account_version, reauth_at)
                     VALUES ('bench', {id}, TRUE, 'bench', '127.0.0.1', 0, 0, 99999999999, 1, 0);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
                 INSERT INTO refresh_tokens (session_id, token_hash, parent_id, created_at,
                                             expires_at, used_at, used_by)
                     SELECT 'bench', printf('%064x', i), i - 1, {used}, {used} + 2592000, {used},
                            printf('%064x', i * 31)
                     FROM n;
                 COMMIT;"
            ))?;
            Ok(())
        })
        .unwrap();
    println!(
        "prune under writes: seeded {rows} used refresh tokens in {:.1?}",
        seeded.elapsed()
    );
    let now = app.now() + 31 * 86_400;
    let keep = app.retention();
    let done = Arc::new(AtomicBool::new(false));
    let db = app.db().clone();
    let pruner = {
        let done = done.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            let p = db
                .run_blocking(move |c| gatehouse::retention::prune(c, now, &keep))
                .unwrap();
            done.store(true, Ordering::Relaxed);
            (t.elapsed(), format!("{p:?}"))
        })
    };
    // Each write as the app does one (`BEGIN IMMEDIATE`, a row, `COMMIT`), timed whole
    // and for the lock alone.
    let mut waits = Vec::new();
    let mut locks = Vec::new();
    let mut i = 0u64;
    while !done.load(Ordering::Relaxed) {
        let t = Instant::now();
        let ok = app.db().run_blocking(move |c| {
            c.batch_execute("BEGIN IMMEDIATE")?;
            let locked = t.elapsed();
            let wrote = c.batch_execute(&format!(
                "INSERT INTO changes (at, kind, session_id) VALUES ({i}, 'session_ended', 'w')"
            ));
            match wrote {
                Ok(()) => c.batch_execute("COMMIT")?,
                Err(e) => {
                    c.batch_execute("ROLLBACK")?;
                    return Err(e.into());
                }
            }
            Ok(locked)
        });
        waits.push((t.elapsed(), ok.is_ok()));
        if let Ok(l) = ok {
            locks.push(l);
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let (took, pruned) = pruner.join().unwrap();
    let failed = waits.iter().filter(|(_, ok)| !ok).count();
    let mut d: Vec<Duration> = waits.iter().map(|(d, _)| *d).collect();
    d.sort();
    let pct = |p: f64| d[((d.len() as f64 - 1.0) * p) as usize];
    println!(
        "  the prune took {took:.1?}: {pruned}; refresh_tokens left: {}",
        count(app, "SELECT count(*) AS n FROM refresh_tokens")
    );
    locks.sort();
    println!(
        "  {} writes during it: median {:.1?}, p99 {:.1?}, max {:.1?}; {} over 100 ms; {failed} failed",
        d.len(),
        pct(0.5),
        pct(0.99),
        d[d.len() - 1],
        d.iter().filter(|w| **w > Duration::from_millis(100)).count()
    );
    println!(
        "  waiting for the write lock alone: p99 {:.1?}, max {:.1?}; the five longest writes {:.1?}",
        locks[((locks.len() as f64 - 1.0) * 0.99) as usize],
        locks[locks.len() - 1],
        &d[d.len().saturating_sub(5)..]
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("on {} cores", std::thread::available_parallelism().unwrap());
    let only = std::env::var("GATEHOUSE_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "hostile" {
        hostile_rows();
    }
    if only.is_empty() || only == "rotation" {
        rotation_rows();
    }
    if only.is_empty() || only == "prune" {
        prune_under_writes();
    }
}
