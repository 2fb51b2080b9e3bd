//! Mail: the outbox (written in the same transaction as the event that causes a mail),
//! one-time links, what each mail says, and the sender that delivers the outbox through
//! SMTP. Without `smtp_url` no address can be set, so nothing is queued.

pub mod flows;
pub mod render;
pub mod sender;
pub mod tokens;

pub use crate::outbox::{
    address_key, counts, kind, notify, notify_id, parse_address, prune, queue, AddressError,
    MailAddress, OutboxCounts,
};
