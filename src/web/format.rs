//! Template filters.

use std::collections::HashMap;

use rocket_dyn_templates::tera::{self, Value};
use time::macros::format_description;
use time::OffsetDateTime;

/// `{{ t | when }}`: Unix seconds as `2026-11-27 21:40 UTC` (empty for none).
pub fn when(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let Some(secs) = value.as_i64() else {
        return Ok(Value::String(String::new()));
    };
    let text = OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default();
    Ok(Value::String(text))
}
