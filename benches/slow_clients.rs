//! Slow and greedy clients against the real server, on loopback, bounded in count and
//! time (issue 19, items 1 and 2):
//!
//!     cargo bench --bench slow_clients
//!
//! Starts the server (this build's, or `GATEHOUSE_BENCH_BINARY`) in a temp folder with a
//! descriptor limit of `GATEHOUSE_BENCH_NOFILE` (default 65536, the systemd unit's; 1024
//! is what the unit gave before it set `LimitNOFILE`), then runs two scenarios and stops
//! everything it started:
//!
//! * `slow`: `GATEHOUSE_BENCH_SLOW` (default 1,000) connections opened within 2 s from 20
//!   loopback addresses (127.0.1.x, each under the per-address cap), a quarter each
//!   silent, half a head, a head trickled one byte per 5 s, and a body that stops early;
//!   meanwhile a fresh `/healthz` from 127.0.0.1 every 200 ms for 25 s (5 s timeout).
//!   Prints `/healthz` latency (p50, p99, max, failures), how many slow connections the
//!   server still holds over time, and its RSS.
//!   `GATEHOUSE_BENCH_ADDRESSES` (default 20) sets the number of addresses.
//! * `bodies`: `GATEHOUSE_BENCH_BODIES` (default 1,500) connections from 30 loopback
//!   addresses, each sending a 2 MiB multipart form to `/login` without reading the answer;
//!   prints the server's RSS before, while they are held (10 s), and after they close.
//! * `forms`: the same with 2 MiB urlencoded forms that carry a valid pre-session cookie
//!   (so that the server reads them, up to its form limit).
//!
//! `GATEHOUSE_BENCH_ONLY=slow|bodies|forms` runs one of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn server_binary() -> PathBuf {
    std::env::var_os("GATEHOUSE_BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gatehouse")))
}

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(nofile: usize) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bin = server_binary();
        // `exec` keeps the pid: the child is the server itself.
        let child = Command::new("sh")
            .arg("-c")
            // At most the hard limit this shell may raise to.
            .arg(format!(
                "ulimit -n {nofile} 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; exec \"$0\""
            ))
            .arg(&bin)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_PROFILE", "release")
            .env(
                "ROCKET_DATABASE_URL",
                dir.path().join("db.sqlite").to_string_lossy().to_string(),
            )
            .env("ROCKET_DATA_DIR", dir.path())
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_BCRYPT_COST", "4")
            .env("ROCKET_LOG_LEVEL", "off")
            .env("ROCKET_REQUIRE_2FA", "none")
            .env("ROCKET_ENCRYPTION_KEY", KEY)
            .env(
                "ROCKET_JWT_KEYS",
                format!("[{{kid=\"k1\",secret=\"{KEY}\"}}]"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server {
            child,
            port,
            _dir: dir,
        }
    }

    /// The server's descriptor limit, as the kernel has it.
    fn nofile(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/limits", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .unwrap_or("?")
            .to_string()
    }

    /// Resident memory in MB.
    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    }

    /// Open descriptors of the server (its sockets, mostly).
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

async fn connect_from(ip: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((ip, 0)))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

/// One `/healthz` over a fresh connection: its latency, or `None` past 5 s or on error.
async fn healthz(port: u16) -> Option<Duration> {
    let start = Instant::now();
    let once = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        out.starts_with(b"HTTP/1.1 200").then_some(())
    };
    match tokio::time::timeout(Duration::from_secs(5), once).await {
        Ok(Some(())) => Some(start.elapsed()),
        _ => None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A slow client of kind `k`, held until the server closes it or `until`.
async fn slow_client(k: usize, ip: Ipv4Addr, port: u16, until: Instant, open: Arc<AtomicUsize>) {
    let Ok(mut s) = connect_from(ip, port).await else {
        return;
    };
    open.fetch_add(1, Ordering::SeqCst);
    let start: &[u8] = match k % 4 {
        0 => b"",
        1 => b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        2 => b"G",
        _ => b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nusername=a",
    };
    let trickle =
        b"ET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut i = 0;
    let mut buf = [0u8; 1024];
    if s.write_all(start).await.is_ok() {
        loop {
            let wait = tokio::time::sleep(Duration::from_secs(5));
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break, // closed by the server
                    Ok(_) => continue,
                },
                _ = wait => {}
            }
            if Instant::now() >= until {
                break;
            }
            if k % 4 == 2 && i < trickle.len() {
                if s.write_all(&trickle[i..i + 1]).await.is_err() {
                    break;
                }
                i += 1;
            }
        }
    }
    open.fetch_sub(1, Ordering::SeqCst);
}

async fn slow(server: &Server, n: usize) {
    let port = server.port;
    let rss_before = server.rss_mb();
    let open = Arc::new(AtomicUsize::new(0));
    // Past the end of the probes (opening takes up to n / 500 s, then 25 s of probes).
    let hold_until = Instant::now() + Duration::from_secs(30 + n as u64 / 500);
    let mut tasks = Vec::new();
    let started = Instant::now();
    let addresses = env_or("GATEHOUSE_BENCH_ADDRESSES", 20).clamp(1, 250);
    for k in 0..n {
        let ip = Ipv4Addr::new(127, 0, 1, 1 + (k % addresses) as u8);
        tasks.push(tokio::spawn(slow_client(
            k,
            ip,
            port,
            hold_until,
            open.clone(),
        )));
        // All of them within 2 s.
        if k % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    println!(
        "slow: {n} slow connections from {addresses} addresses started in {:.1} s; \
         client holds {} open",
        started.elapsed().as_secs_f64(),
        open.load(Ordering::SeqCst)
    );
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut rss_peak = server.rss_mb();
    let probe_start = Instant::now();
    let mut next_report = 0;
    while probe_start.elapsed() < Duration::from_secs(25) {
        match healthz(port).await {
            Some(d) => latencies.push(d),
            None => failures += 1,
        }
        rss_peak = rss_peak.max(server.rss_mb());
        let t = probe_start.elapsed().as_secs();
        if t >= next_report {
            println!(
                "slow: t={t:>2} s  server descriptors {:>5}  slow connections still open {:>5}  RSS {:.1} MB",
                server.fds(),
                open.load(Ordering::SeqCst),
                server.rss_mb()
            );
            next_report = t + 5;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    latencies.sort();
    println!(
        "slow: /healthz answered {} of {} within 5 s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        latencies.len() + failures,
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    println!(
        "slow: server RSS {rss_before:.1} MB before, {rss_peak:.1} MB peak; \
         slow connections still open after 25 s: {}",
        open.load(Ordering::SeqCst)
    );
    for t in tasks {
        t.abort();
    }
}

/// A pre-session cookie (`name=value; …`) from the sign-in page.
async fn presession(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    let cookies: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.trim().split(';').next())
        .collect();
    assert!(!cookies.is_empty(), "no pre-session cookie");
    cookies.join("; ")
}

async fn big_body(
    ip: Ipv4Addr,
    port: u16,
    hold: Duration,
    sent: Arc<AtomicUsize>,
    cookie: Option<Arc<String>>,
) {
    let Ok(Ok(mut s)) = tokio::time::timeout(hold, connect_from(ip, port)).await else {
        return;
    };
    let size = 2 * 1024 * 1024;
    let boundary = "b0undary";
    let head = match cookie {
        None => format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
             Content-Length: {size}\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n"
        ),
        Some(cookie) => format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {size}\r\n\r\nusername="
        ),
    };
    let mut body = head.into_bytes();
    body.resize(body.len() + size, b'a');
    let end = Instant::now() + hold;
    // Send what the server takes, then hold the connection without reading the answer.
    let _ = tokio::time::timeout_at(end.into(), async {
        if s.write_all(&body).await.is_ok() {
            sent.fetch_add(1, Ordering::SeqCst);
        }
        std::future::pending::<()>().await
    })
    .await;
}

async fn bodies(server: &Server, n: usize, with_cookie: bool) {
    let port = server.port;
    let cookie = match with_cookie {
        true => Some(Arc::new(presession(port).await)),
        false => None,
    };
    let rss_before = server.rss_mb();
    let sent = Arc::new(AtomicUsize::new(0));
    let hold = Duration::from_secs(10);
    let mut tasks = Vec::new();
    for k in 0..n {
        let ip = Ipv4Addr::new(127, 0, 2, 1 + (k % 30) as u8);
        tasks.push(tokio::spawn(big_body(
            ip,
            port,
            hold,
            sent.clone(),
            cookie.clone(),
        )));
    }
    let start = Instant::now();
    let mut rss_peak = rss_before;
    while start.elapsed() < hold {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rss_peak = rss_peak.max(server.rss_mb());
    }
    let held = server.rss_mb();
    for t in tasks {
        let _ = t.await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (name, what) = match with_cookie {
        false => ("bodies", "multipart form, anonymously"),
        true => ("forms", "urlencoded form with a pre-session cookie"),
    };
    println!(
        "{name}: {n} connections each sending a 2 MiB {what} ({} sent in full); \
         server RSS {rss_before:.1} MB before, {rss_peak:.1} MB peak, {held:.1} MB while held, \
         {:.1} MB 3 s after they closed (+{:.1} MB at peak)",
        sent.load(Ordering::SeqCst),
        server.rss_mb(),
        rss_peak - rss_before
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let nofile = env_or("GATEHOUSE_BENCH_NOFILE", 65536);
    let slow_n = env_or("GATEHOUSE_BENCH_SLOW", 1000);
    let bodies_n = env_or("GATEHOUSE_BENCH_BODIES", 1500);
    let only = std::env::var("GATEHOUSE_BENCH_ONLY").unwrap_or_default();
    println!(
        "server {} with {nofile} descriptors; {} cores",
        server_binary().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if only.is_empty() || only == "slow" {
        let server = Server::start(nofile);
        println!("slow: server descriptor limit {}", server.nofile());
        rt.block_on(slow(&server, slow_n));
    }
    if only.is_empty() || only == "bodies" {
        let server = Server::start(nofile);
        rt.block_on(bodies(&server, bodies_n, false));
    }
    if only.is_empty() || only == "forms" {
        let server = Server::start(nofile);
        rt.block_on(bodies(&server, bodies_n, true));
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
