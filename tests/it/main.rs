//! The integration tests, one module per area, in one binary (linked once). Each test
//! drives the real app on a database of its own; see `common`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod account;
mod admin;
mod attempts;
mod backup;
mod cli;
mod crash;
mod csrf;
mod fail_closed;
mod fair;
mod faults;
mod forward;
mod fuzz;
mod growth;
mod hostile;
mod i18n;
mod installed;
mod instances;
mod keys_and_policy;
mod login;
mod mail;
mod mail_delivery;
mod mail_links;
mod oidc;
mod operations;
mod pages;
mod passkeys;
mod proxies;
mod python_example;
mod second_factor;
mod sessions;
mod setup;
mod slow_clients;
mod throttle;
mod tls;
