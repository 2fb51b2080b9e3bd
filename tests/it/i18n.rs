//! English and Korean: every key used is in both catalogues, every page renders in both,
//! the language follows Accept-Language and the switch, and the choice is remembered.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{Header, Status};

fn source_files(dir: &str, ext: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p);
            }
        }
    }
    out
}

/// Every literal key used by templates (`t(key="…"`) and by Rust (`Message::new("…")`).
fn used_keys() -> Vec<String> {
    let mut keys = Vec::new();
    let grab = |text: &str, marker: &str, keys: &mut Vec<String>| {
        for part in text.split(marker).skip(1) {
            if let Some(end) = part.find('"') {
                if !part[..end].ends_with('-') {
                    keys.push(part[..end].to_string()); // (prefixes like "lang-" are completed below)
                }
            }
        }
    };
    for f in source_files("templates", ".tera") {
        grab(&std::fs::read_to_string(f).unwrap(), "t(key=\"", &mut keys);
    }
    for f in source_files("src", ".rs") {
        let text = std::fs::read_to_string(f).unwrap();
        grab(&text, "Message::new(\"", &mut keys);
        grab(&text, "title_key: \"", &mut keys);
    }
    // Keys made at run time.
    for code in [
        "400", "401", "403", "404", "409", "413", "415", "422", "429", "503", "other",
    ] {
        keys.push(format!("error-title-{code}"));
        keys.push(format!("error-message-{code}"));
    }
    for n in [
        "signed_out",
        "setup_done",
        "signed_up",
        "must_change",
        "password_changed",
        "session_revoked",
        "others_revoked",
        "created",
        "role_changed",
        "disabled",
        "enabled",
        "unlocked",
        "password_reset",
        "sessions_revoked",
        "deleted",
        "must_enrol",
        "2fa_disabled",
        "2fa_reset",
        "second_step_over",
        "groups_changed",
        "group_created",
        "group_deleted",
        "email_sent",
        "email_verified",
        "password_reset_done",
        "invitation_accepted",
        "invited",
        "invitation_resent",
        "invitation_cancelled",
        "passkey_added",
        "passkey_renamed",
        "passkey_removed",
    ] {
        keys.push(gatehouse::web::notice::text(Some(n)).unwrap().to_string());
    }
    keys.extend(
        [
            "lang-en",
            "lang-ko",
            "sign-in-failed",
            "mail-footer",
            "passkey-sign-in-failed",
            "msg-passkey-wrong",
        ]
        .map(String::from),
    );
    for kind in gatehouse::mail::kind::ALL {
        keys.push(format!("mail-{kind}-subject"));
        keys.push(format!("mail-{kind}-body"));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The keys defined in `locales/<lang>/main.ftl` itself (no falling back to English).
fn catalogue(lang: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(lang)
        .join("main.ftl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
        .collect()
}

#[test]
fn every_key_used_is_in_both_catalogues() {
    let keys = used_keys();
    assert!(keys.len() > 150, "found only {} keys", keys.len());
    for lang in ["en", "ko"] {
        let defined = catalogue(lang);
        let missing: Vec<&String> = keys.iter().filter(|k| !defined.contains(k)).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
    }
}

fn korean(b: &mut Browser<'_>) {
    b.headers
        .push(Header::new("Accept-Language", "ko-KR,ko;q=0.9,en;q=0.5"));
}

#[test]
fn every_page_renders_in_korean_and_in_english() {
    let app = app_with(|f| f.merge(("signup", "open")));
    let (target, _) = app.signed_in("alice", Role::User);
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let token = app.state().setup().issue(app.state().now()).unwrap();
    let mut admin_ko = admin.copy();
    korean(&mut admin_ko);
    let mut anon_ko = app.browser();
    korean(&mut anon_ko);
    let anon_en = app.browser();
    let pages: Vec<(&Browser<'_>, &Browser<'_>, String, &str, &str)> = vec![
        (&anon_ko, &anon_en, "/login".into(), "로그인", "Sign in"),
        (
            &anon_ko,
            &anon_en,
            "/signup".into(),
            "계정 만들기",
            "Create an account",
        ),
        (
            &anon_ko,
            &anon_en,
            format!("/setup?token={token}"),
            "관리자 계정 만들기",
            "Create the administrator",
        ),
        (
            &anon_ko,
            &anon_en,
            "/no-such-page".into(),
            "페이지를 찾을 수 없음",
            "Page not found",
        ),
        (
            &admin_ko,
            &admin,
            "/dashboard".into(),
            "대시보드",
            "Dashboard",
        ),
        (
            &admin_ko,
            &admin,
            "/account".into(),
            "내 기기",
            "Your devices",
        ),
        (
            &admin_ko,
            &admin,
            "/account/password".into(),
            "현재 비밀번호",
            "Current password",
        ),
        (
            &admin_ko,
            &admin,
            "/logout".into(),
            "로그인 유지",
            "Stay signed in",
        ),
        (
            &admin_ko,
            &admin,
            "/admin/users".into(),
            "사용자 이름 시작 문자",
            "Username starts with",
        ),
        (
            &admin_ko,
            &admin,
            format!("/admin/users/{target}"),
            "계정을 비활성화하고 세션 종료",
            "Disable account",
        ),
        (
            &admin_ko,
            &admin,
            "/admin/users/new".into(),
            "초기 비밀번호",
            "Initial password",
        ),
        (
            &admin_ko,
            &admin,
            "/admin/audit".into(),
            "감사 로그",
            "Audit log",
        ),
    ];
    for (ko, en, path, korean_text, english_text) in pages {
        let r = ko.get(&path);
        assert!(r.status.code < 500, "{path}");
        assert!(
            r.body.contains("<html lang=\"ko\">"),
            "{path}: lang attribute"
        );
        assert!(
            r.body.contains(korean_text),
            "{path}: Korean text {korean_text:?}"
        );
        let r = en.get(&path);
        assert!(r.body.contains("<html lang=\"en\">"), "{path}");
        assert!(
            r.body.contains(english_text),
            "{path}: English text {english_text:?}"
        );
    }
}

#[test]
fn messages_from_the_server_are_translated_too() {
    let app = app();
    app.create_user("alice", Role::User);
    let mut b = app.browser();
    korean(&mut b);
    let r = b.login("alice", "wrong password for alice", false);
    assert_eq!(r.status, Status::Unauthorized);
    assert!(r
        .body
        .contains("사용자 이름 또는 비밀번호가 올바르지 않습니다."));
    let r = b.post("/logout", "csrf_token=x");
    assert!(r.status == Status::Forbidden || r.is_login_redirect());
    let (_, mut user) = app.signed_in("bobby", Role::User);
    korean(&mut user);
    let token = user.token("/account/password");
    let r = user.post(
        "/account/password",
        &format!(
            "current={}&password=short&confirm=short&csrf_token={token}",
            enc(PASSWORD)
        ),
    );
    assert!(
        r.body.contains("15자 이상의 비밀번호를 정하세요"),
        "policy message in Korean"
    );
    assert_eq!(user.get("/admin/users").status, Status::Forbidden);
    assert!(user
        .get("/admin/users")
        .body
        .contains("이 작업을 할 권한이 없습니다"));
}

#[test]
fn accept_language_picks_a_supported_language_and_the_switch_is_remembered() {
    let app = app();
    for (header, lang) in [
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("fr-FR,fr;q=0.9", "en"),
        ("en-GB,ko;q=0.5", "en"),
        ("fr,ko;q=0.8", "ko"),
        ("", "en"),
        ("*", "en"),
    ] {
        let mut b = app.browser();
        b.headers.push(Header::new("Accept-Language", header));
        assert!(
            b.get("/login")
                .body
                .contains(&format!("<html lang=\"{lang}\">")),
            "{header:?} → {lang}"
        );
    }
    // The visible switch: a link per language on every page.
    let b = app.browser();
    let page = b.get("/login");
    assert!(
        page.body.contains("href=\"&#x2F;login?lang=ko\"")
            || page.body.contains("href=\"/login?lang=ko\"")
    );
    assert!(page.body.contains(">한국어</a>"));
    // Choosing Korean sets a cookie that wins over Accept-Language from then on.
    let mut b = app.browser();
    b.headers.push(Header::new("Accept-Language", "en"));
    let r = b.get("/login?lang=ko");
    assert!(r.body.contains("<html lang=\"ko\">"));
    let cookie = r.set_cookies("lang");
    assert_eq!(cookie.len(), 1);
    assert!(
        cookie[0].contains("lang=ko") && cookie[0].contains("Max-Age=31536000"),
        "{}",
        cookie[0]
    );
    assert!(
        b.get("/login").body.contains("<html lang=\"ko\">"),
        "remembered"
    );
    assert!(b.get("/login?lang=en").body.contains("<html lang=\"en\">"));
    assert!(b.get("/login").body.contains("<html lang=\"en\">"));
    // Unknown values change nothing.
    assert!(b.get("/login?lang=xx").body.contains("<html lang=\"en\">"));
}

#[test]
fn every_t_call_in_the_templates_is_understood_by_the_start_up_translator() {
    use gatehouse::web::templates::{call_counts, translate_source, unhandled_calls};
    let mut fixed_total = 0;
    for f in source_files("templates", ".tera") {
        let source = std::fs::read_to_string(&f).unwrap();
        let unhandled = unhandled_calls(&source);
        assert!(
            unhandled.is_empty(),
            "{}: t() spelled in a way the start-up translator does not handle: {unhandled:?}",
            f.display()
        );
        let (fixed, dynamic) = call_counts(&source);
        fixed_total += fixed;
        for lang in gatehouse::i18n::SUPPORTED {
            let compiled = translate_source(&source, lang);
            assert_eq!(
                call_counts(&compiled),
                (0, dynamic),
                "{} in {lang}: every fixed text is compiled in, the rest stay",
                f.display()
            );
        }
    }
    assert!(fixed_total > 100, "only {fixed_total} fixed texts found");
}
