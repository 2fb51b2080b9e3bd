//! Micro-benchmarks of the signed-in hot path: access-token verification, the
//! revocation check, a whole `GET /dashboard` served in-process, and forward auth's
//! answer (`GET /auth/nginx`) beside `GET /healthz`.
//!
//!     cargo bench --bench hot_path
//!
//! At the end it prints what share of a dashboard request the revocation check costs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use gatehouse::accounts::Role;
use gatehouse::clock::system_now as now;
use gatehouse::sessions::revocations::Revocations;
use gatehouse::sessions::tokens::{Claims, JwtKeys, Key};

use rocket::local::blocking::Client;

const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(std::time::Duration::from_millis(500));
    let keys = JwtKeys::new(&[Key::hmac("k1", vec![1u8; 32])], 300).unwrap();
    let claims = Claims::new(1, "alice", Role::User, "session-id-0000000000", now(), 300).unwrap();
    let token = keys.sign(&claims).unwrap();

    c.bench_function("verify access token (full check)", |b| {
        b.iter(|| keys.verify_signature(black_box(&token), now()))
    });
    c.bench_function("verify access token (seen before)", |b| {
        b.iter(|| keys.verify(black_box(&token), now()))
    });

    let empty = Revocations::new(300);
    c.bench_function("revocation check, empty view", |b| {
        b.iter(|| empty.refuses(black_box(&claims)))
    });
    let full = Revocations::new(300);
    let t = now();
    for i in 0..10_000 {
        full.end_session(&format!("ended-session-{i:08}"), t);
        full.set_claims(100_000 + i, Role::User, Some(vec!["ops".into()]), t);
    }
    c.bench_function(
        "revocation check, 10k ended sessions + 10k role changes",
        |b| b.iter(|| full.refuses(black_box(&claims))),
    );

    // The whole request, in-process (no network): guard + template + headers.
    let dir = tempfile::tempdir().unwrap();
    let figment = gatehouse::figment()
        .merge((
            "database_url",
            dir.path()
                .join("bench.sqlite")
                .to_string_lossy()
                .to_string(),
        ))
        .merge(("bcrypt_cost", 4))
        .merge(("log_level", "off"))
        .merge(("trusted_proxies", vec!["127.0.0.1"]))
        .merge((
            "jwt_keys",
            vec![serde_json::json!({ "kid": "k1", "secret": KEY })],
        ));
    let client = Client::untracked(gatehouse::rocket(figment)).unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    app.create_user("alice", Role::User, "correct horse battery staple")
        .unwrap();
    for i in 0..10_000 {
        app.revocations()
            .end_session(&format!("ended-session-{i:08}"), t);
    }
    let access = common::sign_in(&client, "alice", "correct horse battery staple");
    c.bench_function("GET /dashboard in-process", |b| {
        b.iter(|| {
            client
                .get("/dashboard")
                .cookie(access.clone())
                .dispatch()
                .into_string()
        })
    });

    // Forward auth (figure 7's request): the target parsed, and the whole answer.
    let target = "https://app.example.com/page";
    c.bench_function("forward auth: target parsed", |b| {
        b.iter(|| gatehouse::forward::Target::from_url(black_box(target)))
    });
    let proxy: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    c.bench_function("GET /auth/nginx in-process", |b| {
        b.iter(|| {
            client
                .get("/auth/nginx")
                .remote(proxy)
                .header(rocket::http::Header::new("X-Original-URL", target))
                .header(rocket::http::Header::new("X-Original-Method", "GET"))
                .cookie(access.clone())
                .dispatch()
                .status()
        })
    });
    c.bench_function("GET /healthz in-process", |b| {
        b.iter(|| client.get("/healthz").remote(proxy).dispatch().status())
    });

    // The share, measured directly once more so that it can be printed as one figure.
    let n = 20_000;
    let t0 = Instant::now();
    for _ in 0..n {
        black_box(full.refuses(black_box(&claims)));
    }
    let check = t0.elapsed() / n;
    let t0 = Instant::now();
    for _ in 0..2_000 {
        black_box(
            client
                .get("/dashboard")
                .cookie(access.clone())
                .dispatch()
                .into_string(),
        );
    }
    let request = t0.elapsed() / 2_000;
    println!(
        "\nrevocation check {check:?} of a {request:?} dashboard request = {:.3}% of the hot path",
        100.0 * check.as_secs_f64() / request.as_secs_f64()
    );
    c.final_summary();
}
