//! Admin search over many accounts: the first page, a deep page, and filtered pages,
//! timed at the query and through the whole page (local client, signed-in admin).
//!
//!     cargo bench --bench admin_search                    # 100,000 accounts
//!     GATEHOUSE_BENCH_ACCOUNTS=1000000 cargo bench --bench admin_search

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use diesel::prelude::*;
use gatehouse::accounts::{self, Role, Search, StatusFilter};
use gatehouse::db::schema::accounts as table;

use rocket::local::blocking::Client;

const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const PASSWORD: &str = "correct horse battery staple";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    let worst = *samples.iter().max().unwrap();
    (median(samples), worst)
}

fn main() {
    let n: usize = std::env::var("GATEHOUSE_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let figment = gatehouse::figment()
        .merge((
            "database_url",
            dir.path()
                .join("bench.sqlite")
                .to_string_lossy()
                .to_string(),
        ))
        .merge(("data_dir", dir.path().to_string_lossy().to_string()))
        .merge(("bcrypt_cost", 4))
        .merge(("log_level", "off"))
        .merge((
            "jwt_keys",
            vec![serde_json::json!({ "kid": "k1", "secret": KEY })],
        ));
    let client = Client::untracked(gatehouse::rocket(figment)).unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    app.create_user("aaa-admin", Role::Admin, PASSWORD).unwrap();

    let seeded = Instant::now();
    let hash =
        gatehouse::accounts::password::hash_blocking("unused password for seeding", 4).unwrap();
    app.db()
        .run_blocking(|c| {
            gatehouse::db::write_tx(c, |c| {
                for chunk in (0..n).collect::<Vec<_>>().chunks(2_000) {
                    let rows: Vec<_> = chunk
                        .iter()
                        .map(|i| {
                            let name = format!("user{i:07}");
                            (
                                table::username_key.eq(name.clone()),
                                table::username.eq(name),
                                table::password_hash.eq(hash.clone()),
                                table::role.eq(if i % 100 == 0 { "admin" } else { "user" }),
                                table::disabled.eq(i % 50 == 0),
                                table::created_at.eq(1_700_000_000 + *i as i64),
                            )
                        })
                        .collect();
                    gatehouse::on_backend!(&mut *c, |c| diesel::insert_into(table::table)
                        .values(&rows)
                        .execute(c))?;
                }
                Ok(())
            })
        })
        .unwrap();
    println!("seeded {n} accounts in {:.1?}", seeded.elapsed());

    let deep = format!("user{:07}", n * 9 / 10);
    let cases: Vec<(&str, Search)> = vec![
        ("first page", Search::default()),
        (
            "deep page (90%)",
            Search {
                after: Some(deep.clone()),
                ..Search::default()
            },
        ),
        (
            "prefix q=user00123",
            Search {
                prefix: "user00123".into(),
                ..Search::default()
            },
        ),
        (
            "role=admin",
            Search {
                role: Some(Role::Admin),
                ..Search::default()
            },
        ),
        (
            "role=admin, deep",
            Search {
                role: Some(Role::Admin),
                after: Some(deep.clone()),
                ..Search::default()
            },
        ),
        (
            "status=disabled",
            Search {
                status: Some(StatusFilter::Disabled),
                ..Search::default()
            },
        ),
        (
            "status=locked (none)",
            Search {
                status: Some(StatusFilter::Locked),
                ..Search::default()
            },
        ),
    ];
    println!("\nquery (median / worst of 50):");
    for (name, search) in &cases {
        let (med, worst) = time(50, || {
            app.db()
                .run_blocking(|c| accounts::search(c, search, 1_800_000_000))
                .unwrap()
        });
        println!("  {name:<24} {med:>10.2?} {worst:>10.2?}");
    }

    // The whole page, as an administrator's browser gets it.
    let access = common::sign_in(&client, "aaa-admin", PASSWORD);
    println!("\nGET page through the app (median / worst of 50):");
    let half = format!("user{:07}", n / 2);
    for path in [
        "/admin/users".to_string(),
        format!("/admin/users?after={deep}"),
        format!("/admin/users?role=admin&after={half}"),
    ] {
        let (med, worst) = time(50, || {
            let r = client.get(path.clone()).cookie(access.clone()).dispatch();
            assert_eq!(r.status(), rocket::http::Status::Ok);
            r.into_string()
        });
        println!("  {path:<44} {med:>10.2?} {worst:>10.2?}");
    }
}
