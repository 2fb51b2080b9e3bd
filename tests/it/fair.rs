//! Fair sign-ins under a flood (issue 19, item 4): an IPv6 /64 counts as one client for
//! every per-address limit; one client address has only a few attempts in flight; an
//! attempt that waited too long for a hashing worker is answered 503 rather than checked
//! late; the owner's browser (a known-device cookie) is verified ahead of strangers; and
//! the hashing threads run at a lower scheduling priority. The hashing pool is paused and
//! stepped through its test hooks, and time moved with the settable clock: nothing here
//! depends on how fast anything runs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::common::*;
use gatehouse::accounts::{throttle, Role};
use gatehouse::App;
use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::Client as AsyncClient;
use rocket::local::blocking::Client;

/// How long a test here waits for the queue or an answer before it fails.
const UNTIL: std::time::Duration = std::time::Duration::from_secs(30);

const WRONG: &str = "not the password at all, sorry";

fn at(ip: &str) -> SocketAddr {
    format!("[{ip}]:4000")
        .parse()
        .or_else(|_| format!("{ip}:4000").parse())
        .unwrap()
}

/// One sign-in from `ip` with a fresh pre-session (blocking client).
fn login_from(client: &Client, ip: &str, name: &str, password: &str) -> Status {
    let page = client.get("/login").remote(at(ip)).dispatch();
    let cookie = page.cookies().get("__Host-presession").unwrap().clone();
    let token = csrf_token(&page.into_string().unwrap_or_default());
    client
        .post("/login")
        .remote(at(ip))
        .header(ContentType::Form)
        .cookie(cookie)
        .body(login_body(name, password, &token))
        .dispatch()
        .status()
}

fn signup_from(client: &Client, ip: &str, name: &str) -> Status {
    let page = client.get("/signup").remote(at(ip)).dispatch();
    let cookie = page.cookies().get("__Host-presession").unwrap().clone();
    let token = csrf_token(&page.into_string().unwrap_or_default());
    client
        .post("/signup")
        .remote(at(ip))
        .header(ContentType::Form)
        .cookie(cookie)
        .body(format!(
            "username={name}&password={0}&confirm={0}&csrf_token={token}",
            enc(PASSWORD)
        ))
        .dispatch()
        .status()
}

#[test]
fn addresses_in_one_ipv6_64_share_the_failed_sign_in_limit_and_another_64_does_not() {
    let app = app_with(|f| f.merge(("address_failures", 2)));
    // Each guess at another name: only the address limit can refuse them.
    assert_eq!(
        login_from(&app.client, "2001:db8:1:2::1", "nobody1", WRONG),
        Status::Unauthorized
    );
    assert_eq!(
        login_from(&app.client, "2001:db8:1:2::99", "nobody2", WRONG),
        Status::Unauthorized
    );
    assert_eq!(
        login_from(
            &app.client,
            "2001:db8:1:2:abcd:ef01:2345:6789",
            "nobody3",
            WRONG
        ),
        Status::TooManyRequests,
        "a third address in the same /64 is the same client"
    );
    assert_eq!(
        login_from(&app.client, "2001:db8:1:3::1", "nobody4", WRONG),
        Status::Unauthorized,
        "the next /64 is another client"
    );
    assert_eq!(
        login_from(&app.client, "203.0.113.7", "nobody5", WRONG),
        Status::Unauthorized
    );
}

#[test]
fn addresses_in_one_ipv6_64_share_the_sign_up_limit() {
    let app = app_with(|f| {
        f.merge(("signup", "open"))
            .merge(("signup_address_limit", 1))
    });
    assert_eq!(
        signup_from(&app.client, "2001:db8:7:7::1", "first"),
        Status::SeeOther
    );
    assert_eq!(
        signup_from(&app.client, "2001:db8:7:7::2", "second"),
        Status::TooManyRequests,
        "the same /64"
    );
    assert_eq!(
        signup_from(&app.client, "2001:db8:7:8::1", "third"),
        Status::SeeOther,
        "another /64"
    );
}

/// A sign-in from `ip` (async client): its status, with a label, pushed to `answered`
/// when it comes.
async fn sign_in_from(
    client: &AsyncClient,
    ip: &str,
    name: &str,
    password: &str,
    cookies: Vec<Cookie<'static>>,
    answered: &Mutex<Vec<(String, Status)>>,
) -> AsyncResp {
    let page = client
        .get("/login")
        .remote(at(ip))
        .cookies(cookies.clone())
        .dispatch()
        .await;
    let pre = page.cookies().get("__Host-presession").unwrap().clone();
    let token = csrf_token(&page.into_string().await.unwrap_or_default());
    let r = client
        .post("/login")
        .remote(at(ip))
        .header(ContentType::Form)
        .cookies(cookies)
        .cookie(pre)
        .body(login_body(name, password, &token))
        .dispatch()
        .await;
    let status = r.status();
    answered.lock().unwrap().push((name.to_string(), status));
    let retry_after = r.headers().get_one("Retry-After").map(String::from);
    let cookies = r.cookies().iter().map(|c| c.clone().into_owned()).collect();
    AsyncResp {
        status,
        location: retry_after.unwrap_or_default(),
        cookies,
        body: r.into_string().await.unwrap_or_default(),
    }
}

#[test]
fn one_prefix_has_only_so_many_attempts_in_flight() {
    with_async_app(
        |f| {
            f.merge(("address_in_flight", 2))
                .merge(("address_failures", 1000))
                .merge(("hash_workers", 1))
        },
        |client, _dir| async move {
            let app: &App = async_state(&client);
            for i in 0..5 {
                app.create_user(&format!("user{i}"), Role::User, PASSWORD)
                    .unwrap();
            }
            app.hasher().pause();
            let answered = Mutex::new(Vec::new());
            // Four from one /64 (each at its own name), one from the next /64, together.
            let ips = [
                "2001:db8:5:5::1",
                "2001:db8:5:5::2",
                "2001:db8:5:5::3",
                "2001:db8:5:5::4",
                "2001:db8:5:6::1",
            ];
            let names: Vec<String> = (0..ips.len()).map(|i| format!("user{i}")).collect();
            let attempts = ips
                .iter()
                .zip(&names)
                .map(|(ip, name)| sign_in_from(&client, ip, name, PASSWORD, vec![], &answered));
            let control = async {
                // Every attempt is either queued for hashing or answered already.
                within_async("all queued or answered", UNTIL, || {
                    std::future::ready(
                        app.hasher().waiting() + answered.lock().unwrap().len() == ips.len(),
                    )
                })
                .await;
                app.hasher().resume();
            };
            let (results, ()) = futures::join!(futures::future::join_all(attempts), control);
            let statuses: Vec<Status> = results.iter().map(|r| r.status).collect();
            let from_prefix = &statuses[..4];
            assert_eq!(
                from_prefix
                    .iter()
                    .filter(|s| **s == Status::SeeOther)
                    .count(),
                2,
                "two in flight from the /64: {statuses:?}"
            );
            assert_eq!(
                from_prefix
                    .iter()
                    .filter(|s| **s == Status::TooManyRequests)
                    .count(),
                2,
                "the others refused at once: {statuses:?}"
            );
            assert_eq!(statuses[4], Status::SeeOther, "another /64: {statuses:?}");
            // The places are given back: the prefix signs in again.
            let again = sign_in_from(&client, ips[0], "user0", PASSWORD, vec![], &answered).await;
            assert_eq!(again.status, Status::SeeOther);
        },
    );
}

#[test]
fn an_attempt_that_waited_too_long_for_a_hashing_worker_is_answered_503_not_verified() {
    with_async_app(
        |f| f.merge(("hash_workers", 1)).merge(("hash_wait", 2)),
        |client, _dir| async move {
            let app: &App = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let before = app.hasher().verifications().0;
            app.hasher().pause();
            let answered = Mutex::new(Vec::new());
            let attempt = sign_in_from(
                &client,
                "198.51.100.1",
                "alice",
                PASSWORD,
                vec![],
                &answered,
            );
            let control = async {
                within_async("queued", UNTIL, || {
                    std::future::ready(app.hasher().waiting() == 1)
                })
                .await;
                // Three seconds pass (on the app's clock) before a worker is free.
                app.clock().advance(3);
                app.hasher().resume();
            };
            let (r, ()) = futures::join!(attempt, control);
            assert_eq!(r.status, Status::ServiceUnavailable, "{}", r.body);
            assert_eq!(r.location, "2", "Retry-After");
            assert!(r.body.contains("Temporarily unavailable"), "{}", r.body);
            assert!(
                r.cookies.iter().all(|c| c.name() != "__Host-access"),
                "not signed in"
            );
            assert_eq!(app.hasher().verifications().0, before, "not verified late");
            assert_eq!(app.hasher().too_late(), 1);
            let now = app.now();
            let counted = app
                .db()
                .run(move |c| throttle::status(c, "alice", now))
                .await
                .unwrap();
            assert_eq!(counted, (0, None), "load is not counted as a failure");
            // With a worker free, the same sign-in goes through.
            let r = sign_in_from(
                &client,
                "198.51.100.1",
                "alice",
                PASSWORD,
                vec![],
                &answered,
            )
            .await;
            assert_eq!(r.status, Status::SeeOther);
        },
    );
}

#[test]
fn the_owners_browser_is_verified_ahead_of_a_queued_flood_of_strangers() {
    with_async_app(
        |f| {
            f.merge(("hash_workers", 1))
                .merge(("address_failures", 1000))
        },
        |client, _dir| async move {
            let app: &App = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let none = Mutex::new(Vec::new());
            // Alice signed in from this browser before: it holds her device cookie.
            let first = sign_in_from(&client, "192.0.2.1", "alice", PASSWORD, vec![], &none).await;
            assert_eq!(first.status, Status::SeeOther);
            let device: Vec<Cookie<'static>> = first
                .cookies
                .iter()
                .filter(|c| c.name() == "__Host-device")
                .cloned()
                .collect();
            assert_eq!(device.len(), 1, "a device cookie");

            app.hasher().pause();
            let answered = Arc::new(Mutex::new(Vec::new()));
            // Strangers, each from its own address: two guess at alice (all the places
            // her name has), six at other names.
            let names: Vec<String> = (0..8)
                .map(|i| {
                    if i < 2 {
                        "alice".into()
                    } else {
                        format!("guess{i}")
                    }
                })
                .collect();
            let ips: Vec<String> = (0..8).map(|i| format!("203.0.113.{}", i + 10)).collect();
            let strangers = names
                .iter()
                .zip(&ips)
                .map(|(name, ip)| sign_in_from(&client, ip, name, WRONG, vec![], &answered));
            let owner = async {
                within_async("the strangers queued", UNTIL, || {
                    std::future::ready(app.hasher().waiting() == 8)
                })
                .await;
                sign_in_from(
                    &client,
                    "192.0.2.1",
                    "alice",
                    PASSWORD,
                    device.clone(),
                    &answered,
                )
                .await
            };
            let control = async {
                within_async("everyone queued", UNTIL, || {
                    std::future::ready(app.hasher().waiting() == 9)
                })
                .await;
                // One worker turn: whoever the pool serves first is answered first.
                app.hasher().let_one_through();
                within_async("one answer", UNTIL, || {
                    std::future::ready(!answered.lock().unwrap().is_empty())
                })
                .await;
                let first = answered.lock().unwrap()[0].clone();
                app.hasher().resume();
                first
            };
            let (strangers, owner, first) =
                futures::join!(futures::future::join_all(strangers), owner, control);
            assert_eq!(
                first,
                ("alice".to_string(), Status::SeeOther),
                "the owner first: {:?}",
                answered.lock().unwrap()
            );
            assert_eq!(owner.status, Status::SeeOther);
            assert!(owner.cookies.iter().any(|c| c.name() == "__Host-access"));
            assert!(
                strangers.iter().all(|r| r.status == Status::Unauthorized),
                "{:?}",
                strangers.iter().map(|r| r.status).collect::<Vec<_>>()
            );
        },
    );
}

/// Linux: the threads named `gatehouse-hash-*` run under `SCHED_BATCH` at nice 19; the
/// others (request workers among them) keep the normal priority.
#[cfg(target_os = "linux")]
#[test]
fn the_hashing_threads_run_at_a_lower_priority_than_the_request_workers() {
    let app = app_with(|f| f.merge(("hash_workers", 2)));
    let _ = app.state();
    let mut hashing = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // "pid (name) state …": the fields after the name, from the third on.
        let Some((name, rest)) = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(") "))
        else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Field 19 is nice, field 41 the policy (3 = SCHED_BATCH); `rest` starts at 3.
        let (nice, policy) = (fields[19 - 3].to_string(), fields[41 - 3].to_string());
        if name.starts_with("gatehouse-hash") {
            hashing.push((nice, policy));
        }
    }
    assert!(hashing.len() >= 2, "{hashing:?}");
    assert!(
        hashing.iter().all(|(n, p)| n == "19" && p == "3"),
        "{hashing:?}"
    );
    // This test's own thread (like the request workers) keeps the normal priority.
    let own = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let own: Vec<&str> = own
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    assert_eq!((own[19 - 3], own[41 - 3]), ("0", "0"));
}
