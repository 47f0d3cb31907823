//! The integration tests: one binary, one module per area, all driving the real
//! `logwarden` binary over temp dirs through the `LogDir` builder in `support`. `synth`
//! is the project's log generator, kept here on the dev side (the examples and benches
//! include it by path) so that the library never ships it.

mod crash;
mod enforce;
mod hostile;
mod import;
mod leaks;
mod metrics;
mod nginx;
mod packaging;
mod receive_input;
mod record_time;
mod servers;
mod simulation;
mod status;
mod structure;
mod support;
mod synth;
mod validate;
mod watch;
