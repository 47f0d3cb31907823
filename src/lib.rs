//! logwarden: makes a website's log-retention promise true.
//!
//! The pipeline is `config` (the YAML as written) → `policy` (validated, typed) →
//! `inventory` (what is on disk) → `plan` (pure: a list of actions) → `execute` (the only
//! place with side effects). `anonymize` is the streaming IP-truncation engine shared by the
//! `anonymize` filter and the archive rewriter.

pub mod aligned;
pub mod anonymize;
pub mod app;
pub mod archive;
pub mod check;
pub mod cli;
pub mod config;
pub mod creds;
pub mod describe;
pub mod dir;
pub mod escape;
pub mod execute;
pub mod failpoint;
mod foreign;
pub mod gzip;
pub mod inventory;
pub mod livescan;
pub mod lock;
pub mod metrics;
pub mod plan;
pub mod policy;
pub mod reopen;
pub mod repeats;
pub mod rotate;
pub mod synth;
pub mod timestamp;
pub mod watch;
