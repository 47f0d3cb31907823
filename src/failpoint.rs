//! Crash injection for the crash-safety tests.
//!
//! The guarantee that a kill at any instant loses nothing can only be shown by killing the
//! process at the worst instants. When `LOGWARDEN_FAILPOINT` names a point, the process
//! kills itself with SIGKILL there (no destructors, no flushing: the same as a power cut
//! for the files, short of the page cache). Unset, a failpoint costs one cached lookup.
//! It must never do anything else.

use std::sync::OnceLock;

/// The points where tests may kill a pass.
pub const POINTS: &[&str] = &[
    "rotate.prepared",
    "rotate.renamed",
    "rewrite.partial",
    "rewrite.written",
    "rewrite.committed",
    "remove.before",
];

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var("LOGWARDEN_FAILPOINT").ok())
        .as_deref()
}

/// Dies here if the tests asked for it.
pub fn hit(point: &'static str) {
    debug_assert!(POINTS.contains(&point), "unknown failpoint {point}");
    if armed() == Some(point) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
