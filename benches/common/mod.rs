//! What the in-process benchmarks share.

use rocket::http::{ContentType, Cookie, RawStr};
use rocket::local::blocking::Client;

/// Signs `username` in through the app's own login form; returns the access cookie.
pub fn sign_in(client: &Client, username: &str, password: &str) -> Cookie<'static> {
    let page = client.get("/login").dispatch();
    let presession = page
        .cookies()
        .get("__Host-presession")
        .expect("the login page sets a pre-session cookie")
        .clone();
    let html = page.into_string().unwrap_or_default();
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("the login form has a token") + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap_or(0)];
    let r = client
        .post("/login")
        .header(ContentType::Form)
        .cookie(presession)
        .body(format!(
            "username={username}&password={}&csrf_token={token}",
            RawStr::new(password).percent_encode()
        ))
        .dispatch();
    r.cookies()
        .get("__Host-access")
        .expect("the sign-in succeeds")
        .clone()
}
