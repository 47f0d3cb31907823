//! Crash and I/O-error injection for the crash-safety tests.
//!
//! The guarantee that a kill at any instant loses nothing can only be shown by killing the
//! process at the worst instants. When `LOGWARDEN_FAILPOINT` names a point, the process
//! kills itself with SIGKILL there (no destructors, no flushing: the same as a power cut
//! for the files, short of the page cache). Set to `<point>=eio`, the I/O at that point
//! fails with EIO instead, as a failing disk would, so the tests can show that one file's
//! failure loses nothing and does not stop the pass. Set to `<point>=unsupported`, a kernel
//! feature is taken as missing, so the fallback that older kernels and some file systems
//! need is tested too. Unset, a failpoint costs one cached lookup. It must never do
//! anything else.

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

/// Kernel features tests may pretend are missing (`<point>=unsupported`), to reach the
/// fallback paths of older kernels and other file systems.
pub const FALLBACKS: &[&str] = &["rename.exchange"];

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var("LOGWARDEN_FAILPOINT").ok())
        .as_deref()
}

/// Fails with EIO here if the tests asked for it (`<point>=eio`).
pub fn io(point: &'static str) -> std::io::Result<()> {
    debug_assert!(POINTS.contains(&point), "unknown failpoint {point}");
    match armed().and_then(|a| a.strip_suffix("=eio")) {
        Some(p) if p == point => Err(std::io::Error::from_raw_os_error(nix::libc::EIO)),
        _ => Ok(()),
    }
}

/// Whether the tests asked to act as if the feature at `point` were missing.
pub fn unsupported(point: &'static str) -> bool {
    debug_assert!(FALLBACKS.contains(&point), "unknown fallback {point}");
    armed().and_then(|a| a.strip_suffix("=unsupported")) == Some(point)
}

/// Dies here if the tests asked for it.
pub fn hit(point: &'static str) {
    debug_assert!(POINTS.contains(&point), "unknown failpoint {point}");
    if armed() == Some(point) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
