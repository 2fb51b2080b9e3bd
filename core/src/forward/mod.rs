//! What the apps behind forward auth allow, and to whom: `access_rules` (first match wins)
//! and `default_policy`, checked at start (a bad rule names itself) and decided per
//! request from the signed-in identity alone (no database).

pub mod target;

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

pub use target::{Authority, BadTarget, Scheme, Target};

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
            HostPattern::Subdomains(suffix) => target::within_domain(host, suffix, false),
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    host: HostPattern,
    /// The pattern, and for `/x/*` also `/x` itself.
    path: Option<(GlobMatcher, Option<GlobMatcher>)>,
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

impl Rules {
    /// The rules as configured; path patterns match case-insensitively unless
    /// `case_sensitive` (`case_sensitive_paths`).
    pub fn from_config(
        rules: &[RuleConfig],
        default: &str,
        case_sensitive: bool,
    ) -> Result<Rules, String> {
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
            // Canonical as the targets' hosts are (`target::canonical_host`: lower case,
            // IDNA, one trailing dot dropped), so that a rule matches the hosts it names.
            let host = r.host.trim();
            let host = match host.strip_prefix("*.") {
                Some(suffix) => target::canonical_host(suffix)
                    .ok()
                    .filter(|d| d.parse::<std::net::IpAddr>().is_err() && !d.starts_with('['))
                    .map(HostPattern::Subdomains),
                None => target::canonical_host(host).ok().map(HostPattern::Exact),
            };
            let Some(host) = host else {
                return Err(bad(
                    "`host` must be a host name, or *.domain for its subdomains",
                ));
            };
            let glob = |p: &str| {
                GlobBuilder::new(p)
                    .literal_separator(false)
                    .case_insensitive(!case_sensitive)
                    .build()
                    .map(|g| g.compile_matcher())
                    .map_err(|e| bad(&format!("`path` is not a valid pattern: {e}")))
            };
            let path = match r.path.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(p) if p.starts_with('/') => {
                    // `/admin/*` covers `/admin` too: it is the same page to most apps.
                    let bare = match p.strip_suffix("/*") {
                        Some(dir) if !dir.is_empty() => Some(glob(dir)?),
                        _ => None,
                    };
                    Some((glob(p)?, bare))
                }
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

    /// Whether a request for `target` (any port) may go to the app, for `who` (none: not
    /// signed in). The first rule whose host and path match the canonical target decides.
    pub fn decide(&self, target: &Target, who: Option<Identity<'_>>) -> Decision {
        let (host, path) = (target.host(), target.path());
        let rule = self.rules.iter().find(|r| {
            r.host.matches(host)
                && r.path.as_ref().is_none_or(|(p, bare)| {
                    p.is_match(path) || bare.as_ref().is_some_and(|b| b.is_match(path))
                })
        });
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

    fn at(host: &str, path: &str) -> Result<Target, String> {
        Target::from_url(&format!("https://{host}{path}")).map_err(|e| e.to_string())
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
            false,
        )?;
        let ops = ["ops".to_string()];
        let none: [String; 0] = [];
        let (member, other) = (Identity { groups: &ops }, Identity { groups: &none });
        assert_eq!(
            rules.decide(&at("app.example.com", "/public/a/b")?, None),
            Decision::Allow
        );
        assert_eq!(
            rules.decide(&at("APP.example.com:8443", "/x?y")?, None),
            Decision::SignIn
        );
        assert_eq!(
            rules.decide(&at("app.example.com", "/x")?, Some(other)),
            Decision::Allow
        );
        assert_eq!(
            rules.decide(&at("app.example.com", "/admin/x")?, Some(other)),
            Decision::Deny
        );
        assert_eq!(
            rules.decide(&at("app.example.com", "/admin/x")?, Some(member)),
            Decision::Allow
        );
        assert_eq!(
            rules.decide(&at("db.internal.example.com", "/")?, Some(member)),
            Decision::Deny
        );
        assert_eq!(
            rules.decide(&at("internal.example.com", "/")?, None),
            Decision::Deny,
            "default"
        );
        assert_eq!(
            rules.decide(&at("evilapp.example.com", "/")?, Some(member)),
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
    fn rule_hosts_are_canonical_as_targets_are() -> Result<(), String> {
        let rules = Rules::from_config(
            &[
                rule("Bücher.Example.", None, "allow", &[]),
                rule("*.APPS.example", None, "allow", &[]),
            ],
            "deny",
            false,
        )?;
        for (url, decision) in [
            ("https://xn--bcher-kva.example/", Decision::Allow),
            ("https://a.apps.example/", Decision::Allow),
            ("https://apps.example/", Decision::Deny),
        ] {
            let target = Target::from_url(url).map_err(|e| e.to_string())?;
            assert_eq!(rules.decide(&target, None), decision, "{url}");
        }
        for host in ["*.192.0.2.1", "*.[::1]", "a b.example", "*.", ""] {
            let r = Rules::from_config(&[rule(host, None, "allow", &[])], "deny", false);
            assert!(r.is_err(), "{host:?} accepted");
        }
        Ok(())
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
            let err = Rules::from_config(&[r], "signed_in", false)
                .err()
                .unwrap_or_default();
            assert!(err.contains(needle), "{err}");
        }
        assert!(
            Rules::from_config(&[], "allow", false).is_err(),
            "allow is not a default"
        );
    }
}

/// Many spellings of one target get one decision (SPEC §9: canonicalised once, before any
/// rule sees it).
#[cfg(test)]
mod spellings {
    use super::*;
    use proptest::prelude::*;

    fn rules() -> Rules {
        let rule = |path: &str, policy: &str| RuleConfig {
            host: "app.gh.test".into(),
            path: Some(path.into()),
            policy: policy.into(),
            groups: None,
        };
        Rules::from_config(
            &[rule("/admin/*", "deny"), rule("/public/*", "allow")],
            "signed_in",
            false,
        )
        .unwrap_or_default()
    }

    /// One way of writing `segment`: each unreserved character as itself or `%XX`, in
    /// either case of letter and hex digit.
    fn spell_segment(segment: &'static str) -> impl Strategy<Value = String> {
        proptest::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), segment.len())
            .prop_map(move |choices| {
                segment
                    .chars()
                    .zip(choices)
                    .map(|(c, (encode, upper, lower_hex))| {
                        let c = if upper { c.to_ascii_uppercase() } else { c };
                        match (encode, lower_hex) {
                            (false, _) => c.to_string(),
                            (true, false) => format!("%{:02X}", c as u8),
                            (true, true) => format!("%{:02x}", c as u8),
                        }
                    })
                    .collect()
            })
    }

    /// Noise that means nothing before a segment: extra slashes, `./`, `x/../`, `%2e/`.
    /// (`..;` is refused outright: `target::tests`.)
    fn noise() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("/".to_string()),
                Just("./".to_string()),
                Just("%2e/".to_string()),
                Just("zz/../".to_string()),
                Just("zz/%2E%2E/".to_string()),
            ],
            0..3,
        )
        .prop_map(|v| v.concat())
    }

    /// `/admin/secret`, `/public/page` or `/other` spelt in many ways, and how the rules
    /// above must answer a signed-in user for it.
    fn spelling() -> impl Strategy<Value = (String, Decision)> {
        let target = prop_oneof![
            Just(("admin", "secret", Decision::Deny)),
            Just(("public", "page", Decision::Allow)),
            Just(("other", "page", Decision::Allow)),
        ];
        target.prop_flat_map(|(dir, leaf, decision)| {
            (
                noise(),
                spell_segment(dir),
                prop_oneof![Just(""), Just(";p"), Just(";jsessionid=1")],
                noise(),
                spell_segment(leaf),
                prop_oneof![Just(""), Just("?q=1"), Just("?a=%2F")],
                prop_oneof![
                    Just("app.gh.test"),
                    Just("APP.gh.Test."),
                    Just("app.gh.test:443")
                ],
            )
                .prop_map(move |(n1, d, param, n2, l, query, host)| {
                    (
                        format!("https://{host}/{n1}{d}{param}/{n2}{l}{query}"),
                        decision,
                    )
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn every_spelling_gets_the_decision_of_its_canonical_form((url, decision) in spelling()) {
            let rules = rules();
            let target = Target::from_url(&url);
            prop_assert!(target.is_ok(), "{url} refused: {target:?}");
            if let Ok(target) = target {
                let groups: [String; 0] = [];
                let who = Some(Identity { groups: &groups });
                prop_assert_eq!(rules.decide(&target, who), decision, "{} → {}", url, target.path());
            }
        }
    }

    #[test]
    fn the_directory_itself_is_covered_by_its_star_rule() -> Result<(), BadTarget> {
        let groups: [String; 0] = [];
        let who = Some(Identity { groups: &groups });
        for url in [
            "https://app.gh.test/admin",
            "https://app.gh.test/ADMIN/",
            "https://app.gh.test/Admin;x",
        ] {
            assert_eq!(
                rules().decide(&Target::from_url(url)?, who),
                Decision::Deny,
                "{url}"
            );
        }
        assert_eq!(
            rules().decide(&Target::from_url("https://app.gh.test/administrator")?, who),
            Decision::Allow
        );
        Ok(())
    }
}
