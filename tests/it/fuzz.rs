//! Property tests: thousands of random cookies and form bodies, and never a 5xx or a
//! panic. Bounded (a fixed number of cases) so CI time stays fixed.

use crate::common::*;
use gatehouse::accounts::Role;
use proptest::prelude::*;
use rocket::http::{ContentType, Cookie};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const COOKIES: [&str; 3] = ["__Host-access", "__Host-refresh", "__Host-presession"];
const PAGES: [&str; 7] = [
    "/",
    "/dashboard",
    "/account",
    "/login",
    "/logout",
    "/admin/users",
    "/account/password",
];
const FORMS: [&str; 9] = [
    "/login",
    "/logout",
    "/setup",
    "/signup",
    "/account/password",
    "/sessions/revoke-others",
    "/admin/users/new",
    "/admin/users/1/role",
    "/admin/users/1/delete",
];

fn regex(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(pattern).unwrap()
}

fn cookie_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,200}",
        "[A-Za-z0-9_-]{43}",
        "eyJ[A-Za-z0-9_-]{10,80}\\.[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,50}",
        any::<String>(),
    ]
}

#[test]
fn random_cookies_never_cause_a_server_error() {
    let app = app();
    app.create_user("alice", Role::User);
    proptest!(config(2000), |(which in 0..3usize, value in cookie_value(), page in 0..PAGES.len())| {
        let r = app.client.get(PAGES[page]).cookie(Cookie::new(COOKIES[which], value.clone())).dispatch();
        prop_assert!(r.status().code < 500, "{}={value:?} on {} → {}", COOKIES[which], PAGES[page], r.status());
    });
}

#[test]
fn random_form_bodies_never_cause_a_server_error() {
    let app = app();
    let (_, signed_in) = app.signed_in("boss", Role::Admin);
    let access = signed_in.cookie("__Host-access").unwrap();
    let token = signed_in.token("/logout");
    let fields = "(username|password|confirm|current|csrf_token|next|remember|role|token|confirm)";
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|b| b),
        regex(&format!("({fields}=[ -~]{{0,40}}&){{0,8}}")).prop_map(|s| s.into_bytes()),
        regex(&format!("({fields}=%[0-9A-F]{{2}}%[0-9A-F]{{2}}&){{1,6}}"))
            .prop_map(|s| s.into_bytes()),
    ];
    proptest!(config(2000), |(form in 0..FORMS.len(), mut bytes in body, with_token in any::<bool>())| {
        if with_token {
            bytes.extend_from_slice(format!("&csrf_token={token}").as_bytes());
        }
        let r = app
            .client
            .post(FORMS[form])
            .header(ContentType::Form)
            .cookie(Cookie::new("__Host-access", access.clone()))
            .body(bytes.clone())
            .dispatch();
        prop_assert!(r.status().code < 500, "{} with {:?} → {}", FORMS[form], String::from_utf8_lossy(&bytes), r.status());
    });
}
