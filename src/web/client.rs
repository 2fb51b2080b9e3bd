//! Who is on the other end: the client address and user agent.

use std::net::IpAddr;

use rocket::request::{FromRequest, Outcome, Request};

use crate::app::App;
use crate::config::Settings;

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

/// The peer address, unless the peer is a trusted proxy: then the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Forwarding headers from anyone
/// else are ignored, so they cannot be spoofed.
pub fn client_ip(req: &Request<'_>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.remote()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|h| h.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer),
    )
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.rocket().state::<App>() {
            Some(app) => Outcome::Success(ClientInfo::of(req, &app.settings)),
            None => Outcome::Error((rocket::http::Status::InternalServerError, ())),
        }
    }
}
