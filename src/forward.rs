//! What the apps behind forward auth allow, and to whom: `access_rules` (first match wins)
//! and `default_policy`, checked at start (a bad rule names itself) and decided per
//! request from the signed-in identity alone (no database).

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

/// One `access_rules` entry as written.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleConfig {
    pub host: String,
    #[serde(default)]
    pub path: Option<String>,
    pub policy: String,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Anyone, signed in or not.
    Allow,
    /// No one.
    Deny,
    /// Anyone signed in (and, where the rule names groups, a member of one of them).
    SignedIn,
}

impl Policy {
    fn parse(s: &str) -> Option<Policy> {
        match s {
            "allow" => Some(Policy::Allow),
            "deny" => Some(Policy::Deny),
            "signed_in" => Some(Policy::SignedIn),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: any name ending in `.example.com`.
    Subdomains(String),
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(h) => host == h,
            HostPattern::Subdomains(suffix) => {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix.as_str())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    host: HostPattern,
    path: Option<GlobMatcher>,
    policy: Policy,
    groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    default: Policy,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            rules: Vec::new(),
            default: Policy::SignedIn,
        }
    }
}

/// Who is asking, as far as forward auth needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub groups: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Signed in (or not) and not allowed: 403.
    Deny,
    /// Allowed once signed in.
    SignIn,
}

/// The host part of `host[:port]`, lower case (`[v6]` kept whole).
pub fn host_only(host: &str) -> String {
    let h = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| h).to_string() + "]"
    } else {
        host.rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
            .to_string()
    };
    h.to_ascii_lowercase()
}

impl Rules {
    pub fn from_config(rules: &[RuleConfig], default: &str) -> Result<Rules, String> {
        let default = Policy::parse(default.trim())
            .filter(|p| *p != Policy::Allow)
            .ok_or_else(|| {
                format!(
                    "setting `default_policy` must be \"signed_in\" or \"deny\", not {default:?}"
                )
            })?;
        let mut out = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let bad = |why: &str| format!("setting `access_rules[{i}]` (host {:?}): {why}", r.host);
            let host = r.host.trim().to_ascii_lowercase();
            let name_ok = |h: &str| {
                !h.is_empty()
                    && h.split('.').all(|l| {
                        !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
            };
            let host = match host.strip_prefix("*.") {
                Some(suffix) if name_ok(suffix) => HostPattern::Subdomains(suffix.to_string()),
                None if name_ok(&host) => HostPattern::Exact(host),
                _ => {
                    return Err(bad(
                        "`host` must be a host name, or *.domain for its subdomains",
                    ))
                }
            };
            let path = match r.path.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(p) if p.starts_with('/') => Some(
                    GlobBuilder::new(p)
                        .literal_separator(false)
                        .build()
                        .map_err(|e| bad(&format!("`path` is not a valid pattern: {e}")))?
                        .compile_matcher(),
                ),
                Some(_) => return Err(bad("`path` must start with '/', e.g. \"/admin/*\"")),
            };
            let policy = Policy::parse(r.policy.trim())
                .ok_or_else(|| bad("`policy` must be \"allow\", \"deny\" or \"signed_in\""))?;
            let groups: Vec<String> = r
                .groups
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|g| g.trim().to_string())
                .collect();
            if groups
                .iter()
                .any(|g| crate::groups::validate_name(g).is_err())
            {
                return Err(bad("every name in `groups` must be a valid group name"));
            }
            if !groups.is_empty() && policy != Policy::SignedIn {
                return Err(bad("`groups` goes only with policy \"signed_in\""));
            }
            out.push(Rule {
                host,
                path,
                policy,
                groups,
            });
        }
        Ok(Rules {
            rules: out,
            default,
        })
    }

    /// Whether a request for `host` (any port) and `path` may go to the app, for `who`
    /// (none: not signed in). The first rule whose host and path match decides.
    pub fn decide(&self, host: &str, path: &str, who: Option<Identity<'_>>) -> Decision {
        let host = host_only(host);
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let rule = self
            .rules
            .iter()
            .find(|r| r.host.matches(&host) && r.path.as_ref().is_none_or(|p| p.is_match(path)));
        let (policy, groups) = match rule {
            Some(r) => (r.policy, r.groups.as_slice()),
            None => (self.default, &[][..]),
        };
        match (policy, who) {
            (Policy::Allow, _) => Decision::Allow,
            (Policy::Deny, _) => Decision::Deny,
            (Policy::SignedIn, None) => Decision::SignIn,
            (Policy::SignedIn, Some(id)) => {
                if groups.is_empty() || groups.iter().any(|g| id.groups.contains(g)) {
                    Decision::Allow
                } else {
                    Decision::Deny
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(host: &str, path: Option<&str>, policy: &str, groups: &[&str]) -> RuleConfig {
        RuleConfig {
            host: host.into(),
            path: path.map(Into::into),
            policy: policy.into(),
            groups: (!groups.is_empty()).then(|| groups.iter().map(|g| g.to_string()).collect()),
        }
    }

    #[test]
    fn the_first_matching_rule_decides() -> Result<(), String> {
        let rules = Rules::from_config(
            &[
                rule("app.example.com", Some("/public/*"), "allow", &[]),
                rule("app.example.com", Some("/admin/*"), "signed_in", &["ops"]),
                rule("*.internal.example.com", None, "deny", &[]),
                rule("app.example.com", None, "signed_in", &[]),
            ],
            "deny",
        )?;
        let ops = ["ops".to_string()];
        let none: [String; 0] = [];
        let (member, other) = (Identity { groups: &ops }, Identity { groups: &none });
        assert_eq!(
            rules.decide("app.example.com", "/public/a/b", None),
            Decision::Allow
        );
        assert_eq!(
            rules.decide("APP.example.com:8443", "/x?y", None),
            Decision::SignIn
        );
        assert_eq!(
            rules.decide("app.example.com", "/x", Some(other)),
            Decision::Allow
        );
        assert_eq!(
            rules.decide("app.example.com", "/admin/x", Some(other)),
            Decision::Deny
        );
        assert_eq!(
            rules.decide("app.example.com", "/admin/x", Some(member)),
            Decision::Allow
        );
        assert_eq!(
            rules.decide("db.internal.example.com", "/", Some(member)),
            Decision::Deny
        );
        assert_eq!(
            rules.decide("internal.example.com", "/", None),
            Decision::Deny,
            "default"
        );
        assert_eq!(
            rules.decide("evilapp.example.com", "/", Some(member)),
            Decision::Deny
        );
        Ok(())
    }

    #[test]
    fn subdomain_patterns_need_the_dot_boundary() {
        let p = HostPattern::Subdomains("example.com".into());
        assert!(p.matches("a.example.com") && p.matches("a.b.example.com"));
        assert!(!p.matches("example.com") && !p.matches("evilexample.com"));
    }

    #[test]
    fn bad_rules_name_themselves() {
        for (r, needle) in [
            (rule("", None, "allow", &[]), "access_rules[0]"),
            (
                rule("a.example.com", Some("admin"), "allow", &[]),
                "start with '/'",
            ),
            (rule("a.example.com", None, "maybe", &[]), "`policy`"),
            (rule("a.example.com", None, "allow", &["ops"]), "signed_in"),
            (
                rule("a.example.com", Some("/[x"), "deny", &[]),
                "not a valid pattern",
            ),
        ] {
            let err = Rules::from_config(&[r], "signed_in")
                .err()
                .unwrap_or_default();
            assert!(err.contains(needle), "{err}");
        }
        assert!(
            Rules::from_config(&[], "allow").is_err(),
            "allow is not a default"
        );
    }
}
