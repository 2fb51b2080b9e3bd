//! Passkey sign-ins per second beside password sign-ins at bcrypt cost 12, each with 16
//! concurrent clients, in one run, in-process (Rocket's local client: the whole request
//! path of `GET /login` and `POST /login/passkey` or `POST /login`, no network):
//!
//!     cargo bench --bench passkeys
//!
//! A passkey sign-in is an ECDSA P-256 verification and one write transaction; a password
//! sign-in is a bcrypt verification at cost 12 on the hashing pool. Each client has an
//! account (and a software passkey) of its own. `GATEHOUSE_BENCH_SECONDS` (default 5)
//! sets each run's length.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::accounts::Role;
use rocket::http::{ContentType, Cookie};
use rocket::local::asynchronous::Client;
use webauthn_authenticator_rs::prelude::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const PASSWORD: &str = "correct horse battery staple";
const ORIGIN: &str = "https://auth.example.com";
const CLIENTS: usize = 16;

fn enc(s: &str) -> String {
    rocket::http::RawStr::new(s).percent_encode().to_string()
}

fn between(body: &str, marker: &str) -> String {
    let start = body.find(marker).unwrap() + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end]
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

struct Key {
    soft: SoftPasskey,
    id: Vec<u8>,
    user: Vec<u8>,
}

async fn page(
    client: &Client,
    path: &str,
    cookies: Vec<Cookie<'static>>,
) -> (String, Vec<Cookie<'static>>) {
    // Each page from an address of its own: the sign-in page makes at most 300 passkey
    // ceremonies per address in ten minutes (then offers the password only), and every
    // client here would otherwise be the local client's one address.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let remote =
        std::net::SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40000));
    let r = client
        .get(path.to_string())
        .remote(remote)
        .cookies(cookies)
        .dispatch()
        .await;
    let cookies = r.cookies().iter().map(|c| c.clone().into_owned()).collect();
    (r.into_string().await.unwrap_or_default(), cookies)
}

async fn post(
    client: &Client,
    path: &str,
    body: String,
    cookies: Vec<Cookie<'static>>,
) -> (u16, Vec<Cookie<'static>>) {
    let r = client
        .post(path.to_string())
        .header(ContentType::Form)
        .cookies(cookies)
        .body(body)
        .dispatch()
        .await;
    let status = r.status().code;
    (
        status,
        r.cookies().iter().map(|c| c.clone().into_owned()).collect(),
    )
}

/// Signs `name` in with the password, adds a passkey; returns it.
async fn enrol(client: &Client, name: &str) -> Key {
    let (login, presession) = page(client, "/login", vec![]).await;
    let token = between(&login, "name=\"csrf_token\" value=\"");
    let (status, session) = post(
        client,
        "/login",
        format!(
            "username={name}&password={}&csrf_token={token}",
            enc(PASSWORD)
        ),
        presession,
    )
    .await;
    assert_eq!(status, 303);
    let session: Vec<_> = session
        .into_iter()
        .filter(|c| c.name() != "__Host-device")
        .collect();
    let (body, _) = page(client, "/account/passkeys", session.clone()).await;
    let mut ccr: CreationChallengeResponse =
        serde_json::from_str(&between(&body, "data-passkey-options=\"")).unwrap();
    if let Some(s) = ccr.public_key.authenticator_selection.as_mut() {
        s.require_resident_key = false;
        s.resident_key = None;
    }
    let user = ccr.public_key.user.id.clone();
    let mut soft = SoftPasskey::new(true);
    let cred = AuthenticatorBackend::perform_register(
        &mut soft,
        Url::parse(ORIGIN).unwrap(),
        ccr.public_key,
        60_000,
    )
    .unwrap();
    let token = between(&body, "name=\"csrf_token\" value=\"");
    let (status, _) = post(
        client,
        "/account/passkeys/register",
        format!(
            "name=k&credential={}&csrf_token={token}",
            enc(&serde_json::to_string(&cred).unwrap())
        ),
        session,
    )
    .await;
    assert!(status == 200 || status == 303, "{status}");
    Key {
        soft,
        id: cred.raw_id,
        user,
    }
}

async fn passkey_sign_in(client: &Client, key: &mut Key) -> bool {
    let (body, presession) = page(client, "/login", vec![]).await;
    let rcr: RequestChallengeResponse =
        serde_json::from_str(&between(&body, "data-passkey-options=\"")).unwrap();
    let mut options = rcr.public_key;
    options.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: key.id.clone(),
        transports: None,
    }];
    let mut cred: PublicKeyCredential = AuthenticatorBackend::perform_auth(
        &mut key.soft,
        Url::parse(ORIGIN).unwrap(),
        options,
        60_000,
    )
    .unwrap();
    cred.response.user_handle = Some(key.user.clone());
    let token = between(&body, "name=\"csrf_token\" value=\"");
    let (status, _) = post(
        client,
        "/login/passkey",
        format!(
            "credential={}&csrf_token={token}",
            enc(&serde_json::to_string(&cred).unwrap())
        ),
        presession,
    )
    .await;
    status == 303
}

async fn password_sign_in(client: &Client, name: &str) -> bool {
    let (body, presession) = page(client, "/login", vec![]).await;
    let token = between(&body, "name=\"csrf_token\" value=\"");
    let (status, _) = post(
        client,
        "/login",
        format!(
            "username={name}&password={}&csrf_token={token}",
            enc(PASSWORD)
        ),
        presession,
    )
    .await;
    status == 303
}

fn main() {
    let seconds: u64 = std::env::var("GATEHOUSE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
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
        .merge(("bcrypt_cost", 12))
        .merge(("log_level", "off"))
        .merge((
            "jwt_keys",
            vec![serde_json::json!({ "kid": "k1", "secret": KEY })],
        ))
        .merge(("encryption_key", KEY))
        .merge(("require_2fa", "none"))
        .merge(("public_url", ORIGIN))
        .merge(("address_failures", 1_000_000))
        .merge(("address_in_flight", 1_000))
        .merge(("max_sessions", 1_000_000));
    rocket::execute(async move {
        let client = Arc::new(Client::untracked(gatehouse::rocket(figment)).await.unwrap());
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        let mut keys = Vec::new();
        for i in 0..CLIENTS {
            app.create_user(&format!("pk{i}"), Role::User, PASSWORD)
                .unwrap();
            app.create_user(&format!("pw{i}"), Role::User, PASSWORD)
                .unwrap();
            keys.push(enrol(&client, &format!("pk{i}")).await);
        }
        let run = |label: &'static str, passkeys: bool, keys: Vec<Key>| {
            let client = client.clone();
            async move {
                let done = Arc::new(AtomicU64::new(0));
                let failed = Arc::new(AtomicU64::new(0));
                let until = Instant::now() + Duration::from_secs(seconds);
                let mut tasks = Vec::new();
                let mut keys = keys.into_iter();
                for i in 0..CLIENTS {
                    let (client, done, failed) = (client.clone(), done.clone(), failed.clone());
                    let mut key = if passkeys { keys.next() } else { None };
                    tasks.push(rocket::tokio::spawn(async move {
                        while Instant::now() < until {
                            let ok = match key.as_mut() {
                                Some(k) => passkey_sign_in(&client, k).await,
                                None => password_sign_in(&client, &format!("pw{i}")).await,
                            };
                            if ok { &done } else { &failed }.fetch_add(1, Ordering::Relaxed);
                        }
                        key
                    }));
                }
                let mut back = Vec::new();
                for t in tasks {
                    if let Some(k) = t.await.unwrap() {
                        back.push(k);
                    }
                }
                let n = done.load(Ordering::Relaxed);
                println!(
                    "{label}: {:.1} sign-ins/s ({n} in {seconds} s, {} failed, {CLIENTS} clients, {} cores)",
                    n as f64 / seconds as f64,
                    failed.load(Ordering::Relaxed),
                    std::thread::available_parallelism().map_or(0, |n| n.get())
                );
                (n as f64 / seconds as f64, back)
            }
        };
        let (passkey_rate, _) = run("passkey sign-in", true, keys).await;
        let (password_rate, _) = run("password sign-in (bcrypt cost 12)", false, Vec::new()).await;
        println!(
            "passkey sign-ins are {:.1}x password sign-ins",
            passkey_rate / password_rate.max(f64::MIN_POSITIVE)
        );
    });
}
