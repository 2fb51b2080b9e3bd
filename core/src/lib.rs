//! Gatehouse's core: the domain, the database, the clock, the outbox and the use cases
//! (`App`). It knows no HTTP: this crate does not depend on rocket, so the compiler holds
//! the line that routes (the `gatehouse` crate) sit above it.
//!
//! Layers, each importing only those below it: `app` (the state and the use cases) →
//! `config` → the domain (`admin` → `sessions` → `accounts`, `audit`, `effect`) → `db`,
//! `error`, `i18n`, `clock`, `random`, `text`. See docs/architecture.md.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod clock;
pub mod config;
pub mod db;
pub mod effect;
pub mod error;
pub mod forward;
pub mod groups;
pub mod i18n;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod outbox;
pub mod random;
pub mod retention;
pub mod second_factor;
pub mod sessions;
pub mod signer;
pub mod text;

pub use app::App;
