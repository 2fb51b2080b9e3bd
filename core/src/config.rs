//! Typed settings, read from Rocket's figment (Rocket.toml and `ROCKET_*` variables)
//! and validated before the server starts.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use figment::Figment;
use serde::Deserialize;

use crate::accounts::policy::{PASSWORD_MAX, PASSWORD_MIN_FLOOR};
use crate::db::DatabaseUrl;
use crate::sessions::keys::{Alg, Key};

/// Shortest secret accepted for signing keys, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// One `jwt_keys` entry: `{ kid, secret }` (HS256), or `{ kid, alg = "EdDSA" | "ES256" |
/// "RS256", private_key = "<PKCS#8 PEM>" }` (or `private_key_file = "<path>"`).
#[derive(Debug, Clone, Deserialize)]
pub struct KeyConfig {
    pub kid: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub private_key: Option<String>,
    #[serde(default)]
    pub private_key_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    Open,
    Closed,
}

/// Which accounts must have a second factor (`require_2fa`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require2fa {
    None,
    Admins,
    All,
}

impl Require2fa {
    /// Whether an account of `role` must have a second factor.
    pub fn covers(self, role: crate::accounts::Role) -> bool {
        match self {
            Require2fa::None => false,
            Require2fa::Admins => role == crate::accounts::Role::Admin,
            Require2fa::All => true,
        }
    }
}

/// The database alone, for commands that need nothing else (backup, restore).
pub fn database_url(figment: &Figment) -> Result<DatabaseUrl, String> {
    let raw: String = match figment.extract_inner("database_url") {
        Ok(url) => url,
        Err(e) if e.missing() => default_database_url(),
        Err(e) => return Err(format!("setting `database_url`: {e}")),
    };
    DatabaseUrl::parse(&raw)
}

fn default_database_url() -> String {
    "data/gatehouse.sqlite".into()
}
fn default_bcrypt_cost() -> u32 {
    12
}
fn default_access_ttl() -> i64 {
    300
}
fn default_refresh_grace() -> i64 {
    30
}
fn default_signup() -> Signup {
    Signup::Closed
}
fn default_true() -> bool {
    true
}
fn default_password_min_length() -> usize {
    15
}
fn default_data_dir() -> String {
    "data".into()
}
fn default_hash_queue() -> usize {
    256
}
fn default_hash_wait() -> u64 {
    2
}
fn default_address_in_flight() -> usize {
    8
}
fn default_lockout_threshold() -> i32 {
    5
}
fn default_lockout_base_wait() -> i64 {
    60
}
fn default_lockout_max_wait() -> i64 {
    900
}
fn default_account_failures_per_hour() -> i32 {
    100
}
fn default_address_failures() -> u32 {
    30
}
fn default_address_window() -> u64 {
    600
}
fn default_signup_address_limit() -> u32 {
    10
}
fn default_signup_address_window() -> u64 {
    3600
}
fn default_retention_days() -> i64 {
    30
}
fn default_audit_retention_days() -> i64 {
    365
}
fn default_max_sessions() -> usize {
    50
}
fn default_require_2fa() -> Require2fa {
    Require2fa::Admins
}
fn default_reauth_window() -> i64 {
    600
}
fn default_default_policy() -> String {
    "signed_in".into()
}
fn default_metrics_allow() -> Vec<IpAddr> {
    vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
    ]
}

/// The peers whose forwarding headers are believed (`trusted_proxies`): addresses and
/// CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<ipnet::IpNet>()
                    .map(|n| n.trunc())
                    .or_else(|_| e.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!(
                            "setting `trusted_proxies`: {e:?} is not an address or a CIDR range \
                             (e.g. \"10.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\")"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether `ip` (an IPv4-mapped IPv6 address counts as its IPv4 address) is one.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Settings as written by the operator.
#[derive(Debug, Clone, Deserialize)]
struct RawSettings {
    #[serde(default = "default_database_url")]
    database_url: String,
    #[serde(default = "default_bcrypt_cost")]
    bcrypt_cost: u32,
    #[serde(default = "default_access_ttl")]
    access_token_ttl: i64,
    #[serde(default = "default_refresh_grace")]
    refresh_grace: i64,
    #[serde(default)]
    jwt_keys: Vec<KeyConfig>,
    #[serde(default = "default_signup")]
    signup: Signup,
    #[serde(default = "default_true")]
    cookie_secure: bool,
    #[serde(default = "default_password_min_length")]
    password_min_length: usize,
    #[serde(default = "default_data_dir")]
    data_dir: String,
    #[serde(default)]
    static_dir: Option<String>,
    #[serde(default)]
    template_dir: Option<String>,
    #[serde(default)]
    hash_workers: usize,
    #[serde(default = "default_hash_queue")]
    hash_queue: usize,
    #[serde(default = "default_hash_wait")]
    hash_wait: u64,
    #[serde(default = "default_address_in_flight")]
    address_in_flight: usize,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    case_sensitive_paths: bool,
    #[serde(default = "default_lockout_threshold")]
    lockout_threshold: i32,
    #[serde(default = "default_lockout_base_wait")]
    lockout_base_wait: i64,
    #[serde(default = "default_lockout_max_wait")]
    lockout_max_wait: i64,
    #[serde(default = "default_account_failures_per_hour")]
    account_failures_per_hour: i32,
    #[serde(default = "default_address_failures")]
    address_failures: u32,
    #[serde(default = "default_address_window")]
    address_window: u64,
    #[serde(default = "default_signup_address_limit")]
    signup_address_limit: u32,
    #[serde(default = "default_signup_address_window")]
    signup_address_window: u64,
    #[serde(default = "default_retention_days")]
    retention_days: i64,
    #[serde(default = "default_audit_retention_days")]
    audit_retention_days: i64,
    #[serde(default = "default_max_sessions")]
    max_sessions: usize,
    #[serde(default = "default_require_2fa")]
    require_2fa: Require2fa,
    #[serde(default = "default_reauth_window")]
    reauth_window: i64,
    #[serde(default)]
    encryption_key: Option<String>,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    cookie_domain: Option<String>,
    #[serde(default)]
    access_rules: Vec<crate::forward::RuleConfig>,
    #[serde(default = "default_default_policy")]
    default_policy: String,
    #[serde(default)]
    smtp_url: Option<String>,
    #[serde(default)]
    mail_from: Option<String>,
    #[serde(default)]
    smtp_ca_file: Option<String>,
    #[serde(default = "default_metrics_allow")]
    metrics_allow: Vec<IpAddr>,
    #[serde(default)]
    metrics_token: Option<String>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseUrl,
    pub bcrypt_cost: u32,
    pub access_token_ttl: i64,
    pub refresh_grace: i64,
    pub keys: Vec<Key>,
    pub signup: Signup,
    pub cookie_secure: bool,
    pub password_min_length: usize,
    pub data_dir: PathBuf,
    /// A folder of customised static files (`/static/…`), served instead of the
    /// built-in ones of the same name.
    pub static_dir: Option<PathBuf>,
    /// A folder of customised page templates, used instead of the built-in ones of the
    /// same name.
    pub template_dir: Option<PathBuf>,
    pub hash_workers: usize,
    pub hash_queue: usize,
    /// Seconds an attempt may wait for a hashing worker; after that it is answered 503
    /// (with `Retry-After`) rather than checked late.
    pub hash_wait: u64,
    /// Sign-in attempts (and second steps) one client address (an IPv6 /64) may have in
    /// flight at once.
    pub address_in_flight: usize,
    pub trusted_proxies: TrustedProxies,
    pub throttle: crate::accounts::throttle::Limits,
    pub address_failures: u32,
    pub address_window: u64,
    /// Sign-ups one address may make in `signup_address_window` seconds.
    pub signup_address_limit: u32,
    pub signup_address_window: u64,
    /// Days ended sessions, used refresh tokens and failure counts are kept.
    pub retention_days: i64,
    /// Days audit events are kept.
    pub audit_retention_days: i64,
    /// Live sessions one account may have; the oldest end beyond it.
    pub max_sessions: usize,
    pub require_2fa: Require2fa,
    /// Seconds a confirmation ("confirm it's you") stays good for sensitive actions.
    pub reauth_window: i64,
    /// Encrypts second-factor secrets at rest (32 bytes).
    pub encryption_key: [u8; 32],
    /// Where people reach Gatehouse (`https://auth.example.com`), for links and the
    /// forward-auth redirect.
    pub public_url: Option<String>,
    /// The domain the session cookies cover (`__Secure-` cookies with `Domain=`), so that
    /// its subdomains' proxies receive them; none: `__Host-` cookies for this host only.
    pub cookie_domain: Option<String>,
    /// What the apps behind forward auth allow, and to whom.
    pub rules: crate::forward::Rules,
    /// Where mail goes out (`smtp_url`); none: no mail, and no page that needs it.
    pub smtp: Option<crate::mail::sender::SmtpSettings>,
    /// The sender of mail, e.g. `Gatehouse <auth@example.com>`.
    pub mail_from: String,
    pub metrics_allow: Vec<IpAddr>,
    pub metrics_token: Option<String>,
}

impl Settings {
    /// Reads and checks every setting. The error names the setting to fix.
    pub fn from_figment(figment: &Figment) -> Result<Settings, String> {
        Self::from_figment_for(figment, cfg!(debug_assertions))
    }

    /// As `from_figment`; `development` allows a generated key when `jwt_keys` is unset
    /// (debug builds only).
    pub fn from_figment_for(figment: &Figment, development: bool) -> Result<Settings, String> {
        let raw: RawSettings = figment
            .extract()
            .map_err(|e| format!("invalid settings: {e}"))?;
        let database = DatabaseUrl::parse(&raw.database_url)?;
        if !(4..=31).contains(&raw.bcrypt_cost) {
            return Err(format!(
                "setting `bcrypt_cost` must be between 4 and 31, not {}",
                raw.bcrypt_cost
            ));
        }
        if raw.access_token_ttl < 10 || raw.access_token_ttl > 86_400 {
            return Err("setting `access_token_ttl` must be between 10 and 86400 seconds".into());
        }
        if !(0..=300).contains(&raw.refresh_grace) {
            return Err("setting `refresh_grace` must be between 0 and 300 seconds".into());
        }
        if raw.password_min_length < PASSWORD_MIN_FLOOR || raw.password_min_length > PASSWORD_MAX {
            return Err(format!(
                "setting `password_min_length` must be between {PASSWORD_MIN_FLOOR} and {PASSWORD_MAX}"
            ));
        }
        if raw.lockout_threshold < 1
            || raw.account_failures_per_hour < 1
            || raw.address_failures < 1
        {
            return Err("settings `lockout_threshold`, `account_failures_per_hour` and `address_failures` must be at least 1".into());
        }
        if raw.lockout_base_wait < 1
            || raw.lockout_max_wait < raw.lockout_base_wait
            || raw.address_window < 1
        {
            return Err("settings `lockout_base_wait` and `address_window` must be positive, and `lockout_max_wait` at least `lockout_base_wait`".into());
        }
        if raw.signup_address_limit < 1 || raw.signup_address_window < 1 {
            return Err(
                "settings `signup_address_limit` and `signup_address_window` must be at least 1"
                    .into(),
            );
        }
        if raw.retention_days < 1 || raw.audit_retention_days < 1 {
            return Err(
                "settings `retention_days` and `audit_retention_days` must be at least 1".into(),
            );
        }
        if raw.max_sessions < 1 {
            return Err("setting `max_sessions` must be at least 1".into());
        }
        if !(30..=86_400).contains(&raw.reauth_window) {
            return Err("setting `reauth_window` must be between 30 and 86400 seconds".into());
        }
        if raw
            .metrics_token
            .as_ref()
            .is_some_and(|t| !t.is_empty() && t.len() < 16)
        {
            return Err("setting `metrics_token` must be at least 16 characters (or unset)".into());
        }
        let data_dir = PathBuf::from(&raw.data_dir);
        let keys = if raw.jwt_keys.is_empty() {
            if development {
                vec![development_key(&data_dir)?]
            } else {
                return Err(missing_keys_message());
            }
        } else {
            decode_keys(&raw.jwt_keys)?
        };
        let encryption_key = match raw.encryption_key.as_deref().map(str::trim) {
            Some(k) if !k.is_empty() => decode_base64(k)
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or("setting `encryption_key` must be the base64 of exactly 32 random bytes (make one with: head -c 32 /dev/urandom | base64)")?,
            _ if development => development_secret(&data_dir, "dev-encryption-key", "encryption_key")?,
            _ => return Err(missing_encryption_key_message()),
        };
        let public_url = raw
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(check_public_url)
            .transpose()?;
        let cookie_domain = raw
            .cookie_domain
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(check_cookie_domain)
            .transpose()?;
        let rules = crate::forward::Rules::from_config(
            &raw.access_rules,
            &raw.default_policy,
            raw.case_sensitive_paths,
        )?;
        let trusted_proxies = TrustedProxies::parse(&raw.trusted_proxies)?;
        let smtp = match raw
            .smtp_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(url) => {
                let mut smtp = crate::mail::sender::SmtpSettings::parse(url)?;
                if public_url.is_none() {
                    return Err(
                        "setting `public_url` is needed with `smtp_url`: mail links point to it"
                            .into(),
                    );
                }
                if let Some(path) = raw.smtp_ca_file.as_deref().filter(|p| !p.is_empty()) {
                    smtp.ca_pem =
                        Some(std::fs::read_to_string(path).map_err(|e| {
                            format!("setting `smtp_ca_file`: cannot read {path}: {e}")
                        })?);
                }
                Some(smtp)
            }
        };
        let mail_from = raw.mail_from.clone().unwrap_or_default();
        if smtp.is_some() && mail_from.trim().is_empty() {
            return Err("setting `mail_from` is needed with `smtp_url`, e.g. \"Gatehouse <auth@example.com>\"".into());
        }
        let hash_workers = if raw.hash_workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            raw.hash_workers
        };
        Ok(Settings {
            database,
            bcrypt_cost: raw.bcrypt_cost,
            access_token_ttl: raw.access_token_ttl,
            refresh_grace: raw.refresh_grace,
            keys,
            signup: raw.signup,
            cookie_secure: raw.cookie_secure,
            password_min_length: raw.password_min_length,
            data_dir,
            static_dir: raw.static_dir.filter(|d| !d.is_empty()).map(PathBuf::from),
            template_dir: raw
                .template_dir
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            hash_workers,
            hash_queue: raw.hash_queue.max(1),
            hash_wait: raw.hash_wait.max(1),
            address_in_flight: raw.address_in_flight.max(1),
            trusted_proxies,
            throttle: crate::accounts::throttle::Limits {
                lockout_after: raw.lockout_threshold,
                base_wait: raw.lockout_base_wait,
                max_wait: raw.lockout_max_wait,
                per_hour: raw.account_failures_per_hour,
            },
            address_failures: raw.address_failures,
            address_window: raw.address_window,
            signup_address_limit: raw.signup_address_limit,
            signup_address_window: raw.signup_address_window,
            retention_days: raw.retention_days,
            audit_retention_days: raw.audit_retention_days,
            max_sessions: raw.max_sessions,
            require_2fa: raw.require_2fa,
            reauth_window: raw.reauth_window,
            encryption_key,
            public_url,
            cookie_domain,
            rules,
            smtp,
            mail_from,
            metrics_allow: raw.metrics_allow,
            metrics_token: raw.metrics_token.filter(|t| !t.is_empty()),
        })
    }
}

impl Settings {
    /// A customised static folder must exist (templates are checked when loaded).
    pub fn check_asset_folders(&self) -> Result<(), String> {
        match &self.static_dir {
            Some(dir) if !dir.is_dir() => {
                let cwd = std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                Err(format!(
                    "setting `static_dir`: {:?} is not a folder (relative paths are read \
                     from the working directory, {cwd}); leave it unset to use the built-in \
                     files",
                    dir.display().to_string()
                ))
            }
            _ => Ok(()),
        }
    }
}

fn missing_keys_message() -> String {
    "setting `jwt_keys` is missing: a release build needs at least one signing key of 32 or more \
     random bytes, e.g. ROCKET_JWT_KEYS='[{kid=\"k1\",secret=\"<base64 of 32 random bytes>\"}]' \
     (make one with: head -c 32 /dev/urandom | base64)"
        .into()
}

/// `https://host[:port]` (or http), without a path, query or credentials; no trailing `/`.
fn check_public_url(url: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "setting `public_url` must be like https://auth.example.com (a scheme and a host, \
             no path), not {url:?}"
        )
    };
    // The same parser as every URL a client sends (`forward::target`).
    let trimmed = url.trim_end_matches('/');
    let (scheme, authority) = crate::forward::target::bare_origin(trimmed).map_err(|_| bad())?;
    Ok(format!("{}://{authority}", scheme.as_str()))
}

/// A domain name (a leading dot is dropped), lower case; not an IP address.
fn check_cookie_domain(domain: &str) -> Result<String, String> {
    let d = domain.trim_start_matches('.');
    match crate::forward::target::canonical_host(d) {
        Ok(host) if host.parse::<IpAddr>().is_err() && !host.starts_with('[') => Ok(host),
        _ => Err(format!(
            "setting `cookie_domain` must be a domain name like example.com, not {domain:?}"
        )),
    }
}

fn missing_encryption_key_message() -> String {
    "setting `encryption_key` is missing: a release build needs 32 random bytes in base64 to \
     encrypt second-factor secrets, e.g. ROCKET_ENCRYPTION_KEY=\"$(head -c 32 /dev/urandom | base64)\""
        .into()
}

/// In debug builds only: 32 random bytes generated once and kept in the data folder.
fn development_secret(data_dir: &Path, file: &str, setting: &str) -> Result<[u8; 32], String> {
    let path = data_dir.join(file);
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) => decode_base64(text.trim())
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| format!("{} is damaged; delete it to make a new key", path.display()))?,
        Err(_) => {
            let secret = crate::random::bytes::<32>().map_err(|e| e.to_string())?;
            std::fs::create_dir_all(data_dir)
                .map_err(|e| format!("cannot create the folder {}: {e}", data_dir.display()))?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
            write_private(&path, &encoded)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            secret
        }
    };
    eprintln!(
        "warning: setting `{setting}` is not set; using the development key in {} \
         (a release build refuses to start without `{setting}`)",
        path.display()
    );
    Ok(secret)
}

fn decode_keys(keys: &[KeyConfig]) -> Result<Vec<Key>, String> {
    let mut out: Vec<Key> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let kid = k.kid.trim();
        if kid.is_empty()
            || kid.len() > 64
            || !kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "setting `jwt_keys[{i}].kid` must be 1–64 characters of letters, digits, '-', '_' or '.'"
            ));
        }
        if out.iter().any(|o| o.kid == kid) {
            return Err(format!("setting `jwt_keys`: the kid {kid:?} appears twice"));
        }
        let alg = match k.alg.as_deref().map(str::trim) {
            None | Some("HS256") => Alg::HS256,
            Some(a) => Alg::parse(a).ok_or_else(|| {
                format!("setting `jwt_keys[{i}].alg` (kid {kid:?}) must be \"HS256\", \"EdDSA\", \"ES256\" or \"RS256\", not {a:?}")
            })?,
        };
        if alg == Alg::HS256 {
            let secret = k.secret.as_deref().unwrap_or_default();
            let secret = decode_base64(secret.trim()).ok_or_else(|| {
                format!("setting `jwt_keys[{i}].secret` (kid {kid:?}) is not valid base64")
            })?;
            if secret.len() < MIN_KEY_BYTES {
                return Err(format!(
                    "setting `jwt_keys[{i}].secret` (kid {kid:?}) is {} bytes; it must be at least {MIN_KEY_BYTES} random bytes",
                    secret.len()
                ));
            }
            out.push(Key::hmac(kid, secret));
            continue;
        }
        let pem = match (&k.private_key, &k.private_key_file) {
            (Some(pem), None) => pem.clone(),
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                format!("setting `jwt_keys[{i}].private_key_file` (kid {kid:?}): cannot read {path}: {e}")
            })?,
            _ => {
                return Err(format!(
                    "setting `jwt_keys[{i}]` (kid {kid:?}, {}) needs exactly one of `private_key` or `private_key_file` (make one with: gatehouse generate-key --alg {})",
                    alg.as_str(),
                    alg.as_str()
                ))
            }
        };
        let key = Key::from_pem(kid, alg, &pem)
            .map_err(|e| format!("setting `jwt_keys[{i}]` (kid {kid:?}): {e}"))?;
        out.push(key);
    }
    Ok(out)
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

/// In debug builds only: a signing key generated once and kept in the data folder.
fn development_key(data_dir: &Path) -> Result<Key, String> {
    Ok(Key::hmac(
        "dev",
        development_secret(data_dir, "dev-signing-key", "jwt_keys")?.to_vec(),
    ))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// Seconds a request head may take to arrive, and a body or response may go without
/// progress (`header_timeout`).
pub const DEFAULT_HEADER_TIMEOUT: u64 = 10;
/// Open connections one client address may hold (`max_connections_per_address`).
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: u64 = 64;
/// The urlencoded form limit (`limits.form`), also used for `limits.data-form`: the
/// largest real form, the sign-in form with an `rd` of 4,096 bytes, is at most 12.3 KiB
/// even if a browser percent-encodes every byte of it.
pub const DEFAULT_FORM_LIMIT: &str = "16 KiB";

/// Connection limits. They are enforced by the patched Rocket (`vendor/rocket`, see
/// `conn_guard.rs` there), which reads them from the figment; this only checks them, so
/// that a bad value stops the server with a message naming the setting.
pub fn check_connection_limits(figment: &Figment) -> Result<(), String> {
    for name in ["header_timeout", "max_connections_per_address"] {
        match figment.extract_inner::<u64>(name) {
            Ok(n) if n >= 1 => {}
            Ok(_) => return Err(format!("setting `{name}` must be at least 1")),
            Err(e) if e.missing() => {}
            Err(e) => return Err(format!("setting `{name}`: {e}")),
        }
    }
    Ok(())
}

/// The figment with the connection limits and form limits that Gatehouse uses where the
/// operator set none.
pub fn with_connection_defaults(figment: Figment) -> Figment {
    figment
        .join(("header_timeout", DEFAULT_HEADER_TIMEOUT))
        .join((
            "max_connections_per_address",
            DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        ))
        .join(("limits.form", DEFAULT_FORM_LIMIT))
        .join(("limits.data-form", DEFAULT_FORM_LIMIT))
}
