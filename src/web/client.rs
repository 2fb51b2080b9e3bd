//! Who is on the other end: the client address and user agent.

use std::net::IpAddr;

use rocket::request::{FromRequest, Outcome, Request};

use crate::app::App;
use crate::config::{Settings, TrustedProxies};

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl ClientInfo {
    pub fn of(req: &Request<'_>, settings: &Settings) -> ClientInfo {
        let ip = client_ip(req, &settings.trusted_proxies)
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into());
        let user_agent = req
            .headers()
            .get_one("User-Agent")
            .map(|ua| crate::text::printable(ua, 256))
            .unwrap_or_default();
        ClientInfo { ip, user_agent }
    }
}

/// The peer address, unless the peer is a trusted proxy: then walk `X-Forwarded-For`
/// from the right; the client is the first entry that is not itself a trusted proxy. An
/// entry that does not parse ends the walk, and the proxy that reported it counts as the
/// client (a client cannot pick its own address by sending garbage after a real one).
pub fn client_ip(req: &Request<'_>, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.remote()?.ip().to_canonical();
    let entries: Vec<&str> = req
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|h| h.split(','))
        .collect();
    Some(walk_forwarded(peer, entries.into_iter(), trusted))
}

/// The walk of `client_ip`, over the entries as they stand in the header(s).
pub fn walk_forwarded<'a>(
    peer: IpAddr,
    entries: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut reporter = peer;
    if !trusted.contains(&reporter) {
        return reporter;
    }
    for entry in entries.rev() {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => reporter = ip.to_canonical(),
            Ok(ip) => return ip.to_canonical(),
            Err(_) => return reporter,
        }
    }
    reporter
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.rocket().state::<App>() {
            Some(app) => Outcome::Success(ClientInfo::of(req, app.settings())),
            None => Outcome::Error((rocket::http::Status::InternalServerError, ())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(peer: &str, xff: &str, trusted: &[&str]) -> String {
        let trusted =
            TrustedProxies::parse(&trusted.iter().map(|t| t.to_string()).collect::<Vec<_>>())
                .unwrap_or_default();
        walk_forwarded(
            peer.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            xff.split(','),
            &trusted,
        )
        .to_string()
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_entry_and_garbage_ends_the_walk() {
        let proxies = ["10.0.0.0/8", "::1"];
        assert_eq!(walk("10.0.0.1", "203.0.113.9", &proxies), "203.0.113.9");
        assert_eq!(
            walk("10.0.0.1", "1.1.1.1, 203.0.113.9, 10.2.3.4", &proxies),
            "203.0.113.9"
        );
        // An entry that does not parse: the proxy that reported it is the client.
        assert_eq!(walk("10.0.0.1", "1.1.1.1, bogus", &proxies), "10.0.0.1");
        assert_eq!(
            walk("10.0.0.1", "1.1.1.1, bogus, 10.9.9.9", &proxies),
            "10.9.9.9"
        );
        assert_eq!(
            walk("10.0.0.1", "1.1.1.1, 203.0.113.9:80", &proxies),
            "10.0.0.1"
        );
        // Only proxies: the left-most of them.
        assert_eq!(walk("10.0.0.1", "10.0.0.7", &proxies), "10.0.0.7");
        // Not from a proxy: the header is not read.
        assert_eq!(walk("192.0.2.1", "1.1.1.1", &proxies), "192.0.2.1");
        // IPv4-mapped peers are their IPv4 address.
        assert_eq!(
            walk("::ffff:10.0.0.1", "203.0.113.9", &proxies),
            "203.0.113.9"
        );
        assert_eq!(walk("::1", "2001:db8::1", &proxies), "2001:db8::1");
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges_and_name_a_bad_entry() {
        let ok =
            TrustedProxies::parse(&["10.0.0.0/8".into(), "fd00::/8".into(), "192.0.2.7".into()]);
        let ok = ok.unwrap_or_default();
        assert!(ok.contains(&"10.200.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(ok.contains(&"fd12::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!ok.contains(&"192.0.2.8".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        let err = TrustedProxies::parse(&["10.0.0.0/33".into()])
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("trusted_proxies") && err.contains("10.0.0.0/33"),
            "{err}"
        );
    }
}
