// gatehouse: this whole file is Gatehouse's addition to Rocket 0.5.2 (see
// vendor/rocket/README.gatehouse.md). It bounds what a slow or greedy client can hold:
//
//   * `header_timeout` (seconds): a new connection must deliver a complete request head
//     within it (a TLS handshake included); after a response, the next head must arrive
//     within it too; a request body and a response must make progress (a read or a write
//     that moves at least one byte) at least once in it.
//   * `keep_alive` (Rocket's own setting, seconds): a connection that has been served and
//     has sent nothing since its last response is closed after it.
//   * `max_connections_per_address`: open connections from one peer address; a further
//     one is closed as soon as it is accepted. Addresses in Gatehouse's `trusted_proxies`
//     (addresses or CIDR ranges) are not capped: a proxy carries many clients.
//
// All three are off unless `header_timeout` / `max_connections_per_address` are present
// in the figment (Gatehouse always sets them), so Rocket's own behaviour is unchanged
// otherwise.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// The limits, read once when the server starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The head deadline and the progress bound for bodies; `None`: no timeouts.
    pub header_timeout: Option<Duration>,
    /// How long a served connection may sit idle; `None`: the head deadline alone.
    pub idle: Option<Duration>,
    /// Open connections per peer address; `None`: no cap.
    pub per_address: Option<usize>,
}

/// Peer addresses the cap does not apply to (`trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Exempt(Vec<(IpAddr, u32)>);

impl Exempt {
    fn from_figment(figment: &figment::Figment) -> Exempt {
        let list: Vec<String> = figment.extract_inner("trusted_proxies").unwrap_or_default();
        Exempt(list.iter().filter_map(|s| parse_net(s)).collect())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|&(net, bits)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }
}

/// `address` or `address/prefix` (canonical: IPv4-mapped IPv6 as IPv4).
fn parse_net(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match s.trim().split_once('/') {
        Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u32>().ok()?)),
        None => (s.trim().parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    if bits > max {
        return None;
    }
    match addr.to_canonical() {
        IpAddr::V4(v4) if addr.is_ipv6() => Some((IpAddr::V4(v4), bits.saturating_sub(96))),
        canonical => Some((canonical, bits)),
    }
}

impl Limits {
    pub fn from_figment(figment: &figment::Figment, keep_alive: u32) -> Limits {
        let secs = |name: &str| figment.extract_inner::<u64>(name).ok().filter(|s| *s > 0);
        let header_timeout = secs("header_timeout").map(Duration::from_secs);
        let idle = match keep_alive {
            0 => None,
            n => header_timeout.map(|h| h.min(Duration::from_secs(n as u64))),
        };
        let per_address = secs("max_connections_per_address").map(|n| n as usize);
        Limits { header_timeout, idle, per_address }
    }
}

/// Open connections per peer address, shared by the accept loop and the connections.
pub(crate) struct Guard {
    limits: Limits,
    exempt: Exempt,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Guard {
    pub fn new(limits: Limits, figment: &figment::Figment) -> Guard {
        Guard { limits, exempt: Exempt::from_figment(figment), open: Arc::default() }
    }

    /// A connection from `peer` may be served: its slot (and its watch), or `None` when
    /// its address already holds `max_connections_per_address` connections.
    pub fn admit(&self, peer: Option<SocketAddr>) -> Option<Slot> {
        let ip = peer.map(|p| p.ip().to_canonical()).filter(|ip| !self.exempt.contains(*ip));
        if let (Some(cap), Some(ip)) = (self.limits.per_address, ip) {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            let n = open.entry(ip).or_insert(0);
            if *n >= cap {
                return None;
            }
            *n += 1;
        }
        let ip = ip.filter(|_| self.limits.per_address.is_some());
        Some(Slot { ip, open: self.open.clone(), watch: Arc::new(Watch::new(self.limits)) })
    }
}

/// One admitted connection: gives its place back when dropped.
pub(crate) struct Slot {
    ip: Option<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    pub watch: Arc<Watch>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = open.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&ip);
                }
            }
        }
    }
}

/// What one connection has done, as its deadlines need it. Times are milliseconds since
/// `base`, plus one (0: never).
pub(crate) struct Watch {
    limits: Limits,
    base: Instant,
    /// Requests whose handling has not finished.
    in_flight: AtomicUsize,
    /// Requests finished on this connection.
    served: AtomicUsize,
    /// When the last request finished (or the connection was accepted).
    since: AtomicU64,
    /// When a byte was last read.
    last_read: AtomicU64,
    wake: Notify,
}

impl Watch {
    fn new(limits: Limits) -> Watch {
        Watch {
            limits,
            base: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            since: AtomicU64::new(1),
            last_read: AtomicU64::new(0),
            wake: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64 + 1
    }

    /// How long a body or a response may go without progress.
    pub fn progress_bound(&self) -> Option<Duration> {
        self.limits.header_timeout
    }

    /// Marks a request as being handled until the returned value is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Resolves when the connection must be closed: no request is being handled and the
    /// next head is late (or, on a served connection, nothing came in `keep_alive`).
    /// Never resolves when there is no `header_timeout`.
    pub async fn expired(&self) {
        let Some(head) = self.limits.header_timeout else {
            return std::future::pending().await;
        };
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                notified.await;
                continue;
            }
            let since = self.since.load(Ordering::SeqCst);
            let quiet = self.last_read.load(Ordering::SeqCst) < since;
            let served = self.served.load(Ordering::SeqCst) > 0;
            let allowed = match self.limits.idle {
                Some(idle) if served && quiet => idle,
                _ => head,
            };
            let deadline = since + allowed.as_millis() as u64;
            let now = self.now();
            if now >= deadline {
                return;
            }
            let sleep = tokio::time::sleep(Duration::from_millis(deadline - now));
            tokio::select! {
                _ = sleep => {},
                _ = notified => {},
            }
        }
    }
}

/// A request being handled (see [`Watch::busy`]).
pub(crate) struct Busy(Arc<Watch>);

impl Busy {
    pub fn progress_bound(&self) -> Option<Duration> {
        self.0.progress_bound()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let w = &self.0;
        w.since.store(w.now(), Ordering::SeqCst);
        w.served.fetch_add(1, Ordering::SeqCst);
        w.in_flight.fetch_sub(1, Ordering::SeqCst);
        w.wake.notify_one();
    }
}

/// A stall timer: started when an operation is pending, cleared on progress; reports
/// `TimedOut` once the operation has been pending for the whole bound.
pub(crate) struct Stall {
    bound: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Stall {
    pub fn new(bound: Option<Duration>) -> Stall {
        Stall { bound, timer: None }
    }

    /// Call with the operation's outcome: progress clears the timer, `Pending` starts it
    /// (or polls it, registering the waker), and a timer that ran out becomes an error.
    pub fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(r) => {
                self.progress();
                Poll::Ready(r)
            }
            Poll::Pending => match self.pending(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
        }
    }

    /// The operation moved on.
    pub fn progress(&mut self) {
        self.timer = None;
    }

    /// The operation is pending: `Some(TimedOut)` once it has been for the whole bound.
    pub fn pending(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let bound = self.bound?;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(bound)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timer = None;
                Some(io::Error::new(io::ErrorKind::TimedOut, "no progress within header_timeout"))
            }
            Poll::Pending => None,
        }
    }
}

/// A connection's I/O, noting reads for its [`Watch`] and bounding stalled writes.
pub(crate) struct Watched<C> {
    inner: C,
    watch: Arc<Watch>,
    write_stall: Stall,
}

impl<C> Watched<C> {
    pub fn new(inner: C, watch: Arc<Watch>) -> Watched<C> {
        let write_stall = Stall::new(watch.progress_bound());
        Watched { inner, watch, write_stall }
    }
}

impl<C: AsyncRead + Unpin> AsyncRead for Watched<C> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = self.watch.now();
            self.watch.last_read.store(now, Ordering::SeqCst);
        }
        poll
    }
}

impl<C: AsyncWrite + Unpin> AsyncWrite for Watched<C> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.write_stall.check(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.write_stall.check(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.write_stall.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
