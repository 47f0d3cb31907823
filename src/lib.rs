//! logwarden: makes a website's log-retention promise true.
//!
//! The pipeline is `config` (the YAML as written) → `policy` (validated, typed) →
//! `inventory` (what is on disk) → `plan` (pure: a list of actions) → `execute` (the only
//! place with side effects). `anonymize` is the streaming IP-truncation engine shared by the
//! `anonymize` filter and the archive rewriter.
//!
//! Only what the binary, the integration tests, the benches, the examples and the fuzz
//! targets use is public; the rest is private, so rustc reports code nothing uses.

mod aligned;
pub mod anonymize;
pub mod app;
pub mod archive;
pub mod check;
pub mod cli;
pub mod config;
mod creds;
mod describe;
mod dir;
pub mod escape;
mod execute;
pub mod failpoint;
mod foreign;
mod gzip;
mod import;
mod inventory;
mod livescan;
mod lock;
mod metrics;
pub mod pass;
mod plan;
pub mod policy;
pub mod receive;
mod reopen;
mod repeats;
mod rotate;
mod schedule;
mod status;
mod syslog;
mod systemd;
pub mod timestamp;
mod watch;
mod watches;
