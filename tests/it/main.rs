//! The integration tests: one binary, one module per area, all driving the real
//! `logwarden` binary over temp dirs through the `LogDir` builder in `support`.

mod crash;
mod enforce;
mod hostile;
mod leaks;
mod nginx;
mod packaging;
mod record_time;
mod simulation;
mod structure;
mod support;
mod validate;
mod watch;
