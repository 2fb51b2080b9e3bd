//! What each mail says, in the account's language: a subject and a body from the
//! catalogue (`mail-<kind>-subject`, `mail-<kind>-body`), as plain text and as simple HTML
//! (no images, no external resources). Links are built from `public_url`.

use serde_json::Value;

use crate::i18n::{self, Arg};
use crate::text::escape_html;

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The link a mail of `kind` carries, if any.
fn link(kind: &str, data: &Value, public_url: &str) -> String {
    let token = data
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let q = crate::text::query_value(token);
    match kind {
        super::kind::VERIFY_EMAIL => format!("{public_url}/account/email/verify?token={q}"),
        super::kind::RESET_LINK => format!("{public_url}/password/reset?token={q}"),
        super::kind::INVITATION => format!("{public_url}/invite?token={q}"),
        _ => format!("{public_url}/account"),
    }
}

/// The mail of `kind` for `data`, in `lang`.
pub fn render(kind: &str, lang: &str, data: &Value, public_url: &str) -> Rendered {
    let link = link(kind, data, public_url);
    let field = |name: &str| {
        data.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (name, new, ip, device) = (field("name"), field("new"), field("ip"), field("device"));
    let args = [
        ("name", Arg::Text(&name)),
        ("link", Arg::Text(&link)),
        ("new", Arg::Text(&new)),
        ("ip", Arg::Text(&ip)),
        ("device", Arg::Text(&device)),
        ("site", Arg::Text(public_url)),
    ];
    let subject = i18n::format(lang, &format!("mail-{kind}-subject"), &args);
    let body = i18n::format(lang, &format!("mail-{kind}-body"), &args);
    let footer = i18n::format(lang, "mail-footer", &args);
    let text = format!("{body}\n\n-- \n{footer}\n");
    let mut html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5; max-width: 40em\">",
        escape_html(lang),
        escape_html(&subject)
    );
    for paragraph in body.split("\n\n") {
        let escaped = escape_html(paragraph.trim()).replace('\n', "<br>");
        // The one link, made clickable where the text shows it.
        let escaped_link = escape_html(&link);
        let escaped = escaped.replace(
            &escaped_link,
            &format!("<a href=\"{escaped_link}\">{escaped_link}</a>"),
        );
        html.push_str(&format!("<p>{escaped}</p>"));
    }
    html.push_str(&format!(
        "<hr><p style=\"color: #555; font-size: .9em\">{}</p></body></html>",
        escape_html(&footer)
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_subject_and_a_body_in_every_language() {
        let data = serde_json::json!({ "token": "t0k", "name": "alice", "new": "a@example.com", "ip": "192.0.2.1", "device": "Firefox on Linux" });
        for kind in super::super::kind::ALL {
            for lang in crate::i18n::SUPPORTED {
                let r = render(kind, lang, &data, "https://auth.example.com");
                assert!(
                    !r.subject.is_empty() && !r.subject.contains("mail-"),
                    "{kind} {lang}: {}",
                    r.subject
                );
                assert!(
                    !r.text.contains("mail-") && r.text.len() > 40,
                    "{kind} {lang}: {}",
                    r.text
                );
                assert!(
                    r.html.contains("<p>") && !r.html.contains("<img"),
                    "{kind} {lang}"
                );
            }
        }
        let r = render(
            super::super::kind::RESET_LINK,
            "en",
            &data,
            "https://auth.example.com",
        );
        assert!(
            r.text
                .contains("https://auth.example.com/password/reset?token=t0k"),
            "{}",
            r.text
        );
        assert!(
            r.html
                .contains("<a href=\"https://auth.example.com/password/reset?token=t0k\">"),
            "{}",
            r.html
        );
    }

    #[test]
    fn what_the_data_says_is_escaped_in_html() {
        let data = serde_json::json!({ "name": "<b>x</b>", "device": "\"><script>" });
        let r = render(
            super::super::kind::NEW_DEVICE,
            "en",
            &data,
            "https://auth.example.com",
        );
        assert!(!r.html.contains("<script>") && !r.html.contains("<b>"));
    }
}
