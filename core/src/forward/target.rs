//! The request a proxy asks about, parsed once into one canonical form that every access
//! rule sees (SPEC §9): scheme, host (lower case, one trailing dot removed, a valid DNS
//! name or IP literal), port (numeric, dropped when it is the scheme's default) and path
//! (unreserved characters decoded once, dot segments resolved, repeated slashes merged,
//! `;parameters` dropped from each segment). What does not parse is refused: never
//! judged "as if `/`".

use std::fmt;

/// The longest target accepted (URL, or `X-Forwarded-Uri`), in bytes.
pub const MAX_TARGET: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn parse(s: &str) -> Option<Scheme> {
        if s.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if s.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Why a target was refused (each is a 400 to the proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadTarget {
    #[error("no target was given")]
    Missing,
    #[error("a header that names the target was sent more than once")]
    Duplicate,
    #[error("the method is not an HTTP method name")]
    Method,
    #[error("the target is longer than {MAX_TARGET} bytes")]
    TooLong,
    #[error("the scheme is not http or https")]
    Scheme,
    #[error("the host is not a DNS name or an IP literal")]
    Host,
    #[error("the port is not a number from 1 to 65535")]
    Port,
    #[error("the path is not an absolute path of printable ASCII")]
    Path,
    #[error("the path encodes a separator, a control character or a second level of encoding, or gives a dot segment parameters")]
    Encoding,
}

/// A host and port as a proxy or a browser names them (`Host`, `X-Forwarded-Host`, the
/// authority of a URL), in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Lower case, no trailing dot; an IPv6 literal keeps its brackets.
    pub host: String,
    /// None when it is the scheme's default.
    pub port: Option<u16>,
}

impl Authority {
    pub fn parse(scheme: Scheme, authority: &str) -> Result<Authority, BadTarget> {
        if authority.is_empty()
            || !authority.bytes().all(|b| b.is_ascii_graphic())
            || authority.contains(['@', '/', '\\', '?', '#', ','])
        {
            return Err(BadTarget::Host);
        }
        let (host, port) = if authority.starts_with('[') {
            let end = authority.find(']').ok_or(BadTarget::Host)?;
            let (host, rest) = authority.split_at(end + 1);
            match rest {
                "" => (host, None),
                _ => (host, Some(rest.strip_prefix(':').ok_or(BadTarget::Port)?)),
            }
        } else {
            match authority.split_once(':') {
                None => (authority, None),
                Some((host, port)) => (host, Some(port)),
            }
        };
        let port = match port {
            None => None,
            Some(p) => {
                let n = (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| p.parse::<u16>().ok())
                    .flatten()
                    .filter(|n| *n != 0)
                    .ok_or(BadTarget::Port)?;
                (n != scheme.default_port()).then_some(n)
            }
        };
        Ok(Authority {
            host: canonical_host(host)?,
            port,
        })
    }
}

impl Authority {
    /// Whether the host is a loopback name or address (browsers treat plain HTTP to it
    /// as secure).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// The scheme and authority of an absolute URL (an `Origin` or `Referer` header, a
/// setting), canonical; the rest of the URL is not looked at.
pub fn origin_of(url: &str) -> Result<(Scheme, Authority), BadTarget> {
    if url.len() > MAX_TARGET {
        return Err(BadTarget::TooLong);
    }
    let (scheme, rest) = url.split_once("://").ok_or(BadTarget::Scheme)?;
    let scheme = Scheme::parse(scheme).ok_or(BadTarget::Scheme)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Ok((scheme, Authority::parse(scheme, authority)?))
}

/// The scheme and authority of a URL that is nothing more (`https://host[:port]`, no
/// path, query or fragment; a setting such as `public_url`), canonical.
pub fn bare_origin(url: &str) -> Result<(Scheme, Authority), BadTarget> {
    let origin = origin_of(url)?;
    let rest = url.split_once("://").map_or("", |(_, r)| r);
    if rest.contains(['/', '?', '#']) {
        return Err(BadTarget::Path);
    }
    Ok(origin)
}

/// Whether canonical `host` is a subdomain of `domain` (`a.example.com` of
/// `example.com`, not `evilexample.com`), or, with `or_itself`, the domain itself.
pub fn within_domain(host: &str, domain: &str, or_itself: bool) -> bool {
    (or_itself && host == domain)
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.'))
}

/// A host name or IP literal in canonical form (lower case, IDNA, IPv4 in dotted
/// decimal, one trailing dot removed), or refused.
pub fn canonical_host(host: &str) -> Result<String, BadTarget> {
    let host = host.strip_suffix('.').unwrap_or(host);
    match url::Host::parse(host).map_err(|_| BadTarget::Host)? {
        url::Host::Domain(d) => {
            let labels_ok = d.len() <= 253
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                        })
                });
            if labels_ok {
                Ok(d)
            } else {
                Err(BadTarget::Host)
            }
        }
        url::Host::Ipv4(ip) => Ok(ip.to_string()),
        url::Host::Ipv6(ip) => Ok(format!("[{ip}]")),
    }
}

/// The request behind a forward-auth question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    scheme: Scheme,
    authority: Authority,
    /// What rules are matched against.
    path: String,
    /// The path and query as sent (checked: printable ASCII), for the way back after a
    /// sign-in.
    path_and_query: String,
}

impl Target {
    /// From one absolute URL (`X-Original-URL`).
    pub fn from_url(url: &str) -> Result<Target, BadTarget> {
        if url.is_empty() {
            return Err(BadTarget::Missing);
        }
        if url.len() > MAX_TARGET {
            return Err(BadTarget::TooLong);
        }
        let (scheme, rest) = url.split_once("://").ok_or(BadTarget::Scheme)?;
        let scheme = Scheme::parse(scheme).ok_or(BadTarget::Scheme)?;
        let (authority, path_and_query) = match rest.find(['/', '?', '#']) {
            None => (rest, "/".to_string()),
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(_) => return Err(BadTarget::Path),
        };
        Self::build(scheme, authority, &path_and_query)
    }

    /// From the parts a proxy sends separately (`X-Forwarded-Proto`, `-Host`, `-Uri`).
    pub fn from_parts(
        proto: Option<&str>,
        host: Option<&str>,
        uri: Option<&str>,
    ) -> Result<Target, BadTarget> {
        let (Some(proto), Some(host), Some(uri)) = (proto, host, uri) else {
            return Err(BadTarget::Missing);
        };
        if uri.len() > MAX_TARGET || host.len() > 255 {
            return Err(BadTarget::TooLong);
        }
        let scheme = Scheme::parse(proto).ok_or(BadTarget::Scheme)?;
        Self::build(scheme, host, uri)
    }

    fn build(scheme: Scheme, authority: &str, path_and_query: &str) -> Result<Target, BadTarget> {
        let authority = Authority::parse(scheme, authority)?;
        let path = canonical_path(path_and_query)?;
        Ok(Target {
            scheme,
            authority,
            path,
            path_and_query: uri_safe(path_and_query),
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &str {
        &self.authority.host
    }

    /// The canonical path (no query).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The URL to come back to after signing in: canonical scheme and authority, the
    /// path and query as sent.
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority,
            self.path_and_query
        )
    }
}

/// `s` (printable ASCII) with every byte that RFC 3986 does not allow in a path or query
/// percent-encoded, so that the URL can stand in a `Location` header as it is.
fn uri_safe(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    for (i, &b) in bytes.iter().enumerate() {
        let escape = b == b'%'
            && bytes.get(i + 1).copied().and_then(hex).is_some()
            && bytes.get(i + 2).copied().and_then(hex).is_some();
        if escape || unreserved(b) || b"!$&'()*+,;=:@/?".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The canonical path of a request target (`/path?query`).
pub fn canonical_path(path_and_query: &str) -> Result<String, BadTarget> {
    if path_and_query.is_empty() {
        return Err(BadTarget::Missing);
    }
    if path_and_query.len() > MAX_TARGET {
        return Err(BadTarget::TooLong);
    }
    if !path_and_query.starts_with('/')
        || !path_and_query.bytes().all(|b| b.is_ascii_graphic())
        || path_and_query.contains(['\\', '#'])
    {
        return Err(BadTarget::Path);
    }
    let raw = path_and_query
        .split_once('?')
        .map_or(path_and_query, |(p, _)| p);
    // Decode once: unreserved characters become themselves, everything else stays
    // encoded (upper-case hex). What the path says once fully decoded must not hide a
    // separator, a control character or another level of encoding.
    let bytes = raw.as_bytes();
    let mut once = String::with_capacity(raw.len());
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(BadTarget::Encoding);
            };
            let d = hi << 4 | lo;
            if matches!(d, b'%' | b'/' | b'\\') || d.is_ascii_control() {
                return Err(BadTarget::Encoding);
            }
            if unreserved(d) {
                once.push(d as char);
            } else {
                once.push_str(&format!("%{d:02X}"));
            }
            decoded.push(d);
            i += 3;
        } else {
            once.push(b as char);
            decoded.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(decoded).map_err(|_| BadTarget::Encoding)?;
    if text.chars().any(char::is_control) {
        return Err(BadTarget::Encoding);
    }
    // Segments: `;parameters` are not part of a name (`/admin;p/x`), `.` and `..`
    // resolved, empty segments (`//`) merged. A dot segment with parameters (`..;`,
    // `.;x`) is refused: some servers resolve it as `..`, most serve it as a name, and a
    // rule must not guess which one the app behind does.
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in once.split('/').skip(1) {
        let name = segment.split(';').next().unwrap_or("");
        if matches!(name, "." | "..") && name.len() < segment.len() {
            return Err(BadTarget::Encoding);
        }
        trailing_slash = matches!(name, "" | "." | "..");
        match name {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            name => segments.push(name),
        }
    }
    let mut path = String::with_capacity(once.len());
    for s in &segments {
        path.push('/');
        path.push_str(s);
    }
    if trailing_slash || path.is_empty() {
        path.push('/');
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_path_become_one_path() {
        for spelling in [
            "/admin/secret",
            "/%61dmin/secret",
            "//admin/secret",
            "/./admin/secret",
            "/x/../admin/secret",
            "/%2e%2e/admin/secret",
            "/%2E/admin/./secret",
            "/admin;p/secret",
            "/admin/secret;jsessionid=1",
            "/admin//secret?q=1",
            "/a/b/../../admin/secret",
        ] {
            assert_eq!(
                canonical_path(spelling).as_deref(),
                Ok("/admin/secret"),
                "{spelling}"
            );
        }
        assert_eq!(canonical_path("/admin/").as_deref(), Ok("/admin/"));
        assert_eq!(canonical_path("/admin/.").as_deref(), Ok("/admin/"));
        assert_eq!(canonical_path("/..").as_deref(), Ok("/"));
        assert_eq!(canonical_path("/a%20b").as_deref(), Ok("/a%20b"));
        assert_eq!(canonical_path("/a%c3%a9").as_deref(), Ok("/a%C3%A9"));
    }

    #[test]
    fn paths_that_hide_something_are_refused() {
        for (spelling, why) in [
            ("/admin%2Fsecret", BadTarget::Encoding),
            ("/admin%2fsecret", BadTarget::Encoding),
            ("/admin%5Csecret", BadTarget::Encoding),
            ("/admin%00", BadTarget::Encoding),
            ("/%2561dmin/x", BadTarget::Encoding),
            ("/a%0a", BadTarget::Encoding),
            ("/a%C2%9F", BadTarget::Encoding),
            ("/a%ff", BadTarget::Encoding),
            ("/a%zz", BadTarget::Encoding),
            ("/a%2", BadTarget::Encoding),
            ("/admin/..;/public/x", BadTarget::Encoding),
            ("/x/..;/admin/secret", BadTarget::Encoding),
            ("/admin/.;x/y", BadTarget::Encoding),
            ("/admin/%2e%2e;/public", BadTarget::Encoding),
            ("/?\u{9f}=1", BadTarget::Path),
            ("/a\\b", BadTarget::Path),
            ("/a b", BadTarget::Path),
            ("/a#b", BadTarget::Path),
            ("admin", BadTarget::Path),
            ("", BadTarget::Missing),
        ] {
            assert_eq!(canonical_path(spelling), Err(why), "{spelling:?}");
        }
        let long = format!("/{}", "a".repeat(MAX_TARGET));
        assert_eq!(canonical_path(&long), Err(BadTarget::TooLong));
    }

    #[test]
    fn hosts_and_ports_are_canonical_or_refused() -> Result<(), BadTarget> {
        let a = |s| Authority::parse(Scheme::Https, s);
        assert_eq!(a("Staff.GH.test.")?.to_string(), "staff.gh.test");
        assert_eq!(a("staff.gh.test:443")?.to_string(), "staff.gh.test");
        assert_eq!(a("staff.gh.test:8443")?.to_string(), "staff.gh.test:8443");
        assert_eq!(a("[::1]:8443")?.to_string(), "[::1]:8443");
        assert_eq!(a("127.0.0.1")?.to_string(), "127.0.0.1");
        assert_eq!(a("0x7f.1")?.to_string(), "127.0.0.1");
        for bad in [
            "closed.gh.test:19410x",
            "closed.gh.test:",
            "closed.gh.test:99999",
            "closed.gh.test:0",
            "a:1:2",
            "user@host",
            "host..",
            "a..b",
            "",
            "a b",
            "h\u{e9}",
            "a,b",
            "[::1",
            "[::1]x",
            "under*score",
        ] {
            assert!(a(bad).is_err(), "{bad:?}");
        }
        Ok(())
    }

    #[test]
    fn urls_keep_the_way_back_and_refuse_other_schemes() -> Result<(), BadTarget> {
        let t = Target::from_url("HTTPS://App.Example.com:443/x/../a?b=c")?;
        assert_eq!(t.host(), "app.example.com");
        assert_eq!(t.path(), "/a");
        assert_eq!(t.url(), "https://app.example.com/x/../a?b=c");
        assert_eq!(Target::from_url("https://a.example.com")?.path(), "/");
        assert_eq!(
            Target::from_url("https://a.example.com/a|b^c?x=%zz&y={}")?.url(),
            "https://a.example.com/a%7Cb%5Ec?x=%25zz&y=%7B%7D"
        );
        assert_eq!(
            Target::from_url("https://a.example.com?x")?.url(),
            "https://a.example.com/?x"
        );
        assert_eq!(
            Target::from_url("ftp://a.example.com/"),
            Err(BadTarget::Scheme)
        );
        assert_eq!(
            Target::from_url("https://a.example.com#f"),
            Err(BadTarget::Path)
        );
        assert_eq!(
            Target::from_parts(Some("https"), Some("a.example.com"), None),
            Err(BadTarget::Missing)
        );
        assert_eq!(
            Target::from_parts(None, Some("a.example.com"), Some("/")),
            Err(BadTarget::Missing)
        );
        Ok(())
    }
}
