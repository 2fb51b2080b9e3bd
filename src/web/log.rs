//! The server's log: Rocket's own messages in Rocket's layout, with the values of secret
//! query parameters (the setup link's `token`) hidden, so that a request log never holds
//! a working link. Installed by the binary before Rocket, which then keeps it.

use std::io::Write;

/// Query parameters whose values never reach the log.
const SECRET_PARAMETERS: [&str; 1] = ["token="];

/// `message` with the value of every secret parameter replaced by `…`.
pub fn redact(message: &str) -> std::borrow::Cow<'_, str> {
    if !SECRET_PARAMETERS.iter().any(|p| message.contains(p)) {
        return message.into();
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some((at, name)) = SECRET_PARAMETERS
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, *p)))
        .min()
    {
        out.push_str(&rest[..at + name.len()]);
        out.push('…');
        let value = &rest[at + name.len()..];
        let end = value
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
            .unwrap_or(value.len());
        rest = &value[end..];
    }
    out.push_str(rest);
    out.into()
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() || metadata.target().contains("rocket::launch")
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // As Rocket does: dependencies' chatter only when debugging.
        let from = |path| record.module_path().is_some_and(|m| m.starts_with(path));
        if (from("hyper") || from("rustls") || from("r2d2"))
            && log::max_level() < log::LevelFilter::Trace
        {
            return;
        }
        let text = record.args().to_string();
        let text = redact(&text);
        // Rocket marks continuation lines with a target ending in `_`.
        let indent = if record.target().ends_with('_') {
            "   >> "
        } else {
            ""
        };
        let launch = record.target().contains("rocket::launch");
        let prefix = match record.level() {
            log::Level::Error if indent.is_empty() => "Error: ",
            log::Level::Warn if indent.is_empty() && !launch => "Warning: ",
            _ => "",
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{indent}{prefix}{text}");
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// Installs the logger at Rocket's `log_level` (`off`, `critical`, `normal`, `debug`).
pub fn init(level: rocket::config::LogLevel) {
    use rocket::config::LogLevel;
    let filter = match level {
        LogLevel::Off => log::LevelFilter::Off,
        LogLevel::Critical => log::LevelFilter::Warn,
        LogLevel::Normal => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Trace,
    };
    if log::set_boxed_logger(Box::new(Logger)).is_ok() {
        log::set_max_level(filter);
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn setup_tokens_are_hidden() {
        assert_eq!(
            redact("GET /setup?token=abc-DEF_123 text/html:"),
            "GET /setup?token=… text/html:"
        );
        assert_eq!(
            redact("GET /setup?lang=ko&token=abc&x=1:"),
            "GET /setup?lang=ko&token=…&x=1:"
        );
        assert_eq!(redact("GET /dashboard:"), "GET /dashboard:");
    }
}
