//! Warnings and errors that repeat: logged once per cause, then as a count every hour.
//!
//! `watch` looks at the same trouble again and again: a directory over the inotify limit at
//! every event of a busy neighbour, a failing action at every rescan. Logged each time, a
//! lasting cause floods the journal (hundreds of identical lines a day) and hides what is
//! new; never logged again, it goes quiet while it still breaks a promise. So each cause is
//! logged when first seen, then with a count of its repeats once an hour, and is news again
//! once it has cleared. This module decides only what is logged: it must never hide a cause
//! from the metrics or the exit status, which count every occurrence.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a lasting cause is logged again, with its count.
pub const REPEAT: Duration = Duration::from_secs(3600);

/// Causes seen and not yet cleared: cause → (when last logged, repeats since).
#[derive(Default)]
pub struct Repeats {
    seen: HashMap<String, (Instant, u64)>,
}

impl Repeats {
    /// Logs `msg` at `level` if `cause` is new or was last logged [`REPEAT`] ago; says
    /// whether it did.
    pub fn log(&mut self, level: log::Level, cause: &str, msg: &dyn std::fmt::Display) -> bool {
        self.log_at(Instant::now(), level, cause, msg)
    }

    fn log_at(
        &mut self,
        now: Instant,
        level: log::Level,
        cause: &str,
        msg: &dyn std::fmt::Display,
    ) -> bool {
        match self.seen.get_mut(cause) {
            None => {
                log::log!(level, "{msg}");
                self.seen.insert(cause.to_string(), (now, 0));
                true
            }
            Some((last, n)) => {
                *n += 1;
                if now.duration_since(*last) < REPEAT {
                    return false;
                }
                log::log!(level, "{msg} (repeated {n} times since it was last logged)");
                *last = now;
                *n = 0;
                true
            }
        }
    }

    /// The cause is gone: a new occurrence is news again. Whether it had been seen.
    pub fn clear(&mut self, cause: &str) -> bool {
        self.seen.remove(cause).is_some()
    }

    /// Clears every cause that starts with `prefix` (all outcomes of one action).
    pub fn clear_prefix(&mut self, prefix: &str) {
        self.seen.retain(|cause, _| !cause.starts_with(prefix));
    }
}

/// The process's outcomes of actions: one `enforce` sees each cause once, so it logs them
/// all; `watch` lives on and logs a lasting one hourly.
pub fn of_actions() -> std::sync::MutexGuard<'static, Repeats> {
    static ACTIONS: std::sync::LazyLock<Mutex<Repeats>> =
        std::sync::LazyLock::new(|| Mutex::new(Repeats::default()));
    ACTIONS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_logged_once_then_hourly_and_is_news_again_once_cleared() {
        let mut r = Repeats::default();
        let t0 = Instant::now();
        let warn = log::Level::Warn;
        assert!(r.log_at(t0, warn, "rotate a x", &"first"));
        assert!(!r.log_at(t0 + Duration::from_secs(300), warn, "rotate a x", &"again"));
        assert!(r.log_at(t0, warn, "rotate b x", &"another cause"));
        assert!(r.log_at(t0 + REPEAT, warn, "rotate a x", &"an hour on"));
        assert!(!r.log_at(t0 + REPEAT, warn, "rotate a x", &"same hour"));
        r.clear_prefix("rotate a");
        assert!(r.log_at(t0 + REPEAT, warn, "rotate a x", &"news again"));
        assert!(!r.log_at(
            t0 + Duration::from_secs(60),
            warn,
            "rotate b x",
            &"b still lasting"
        ));
        assert!(r.clear("rotate b x"));
        assert!(!r.clear("rotate b x"));
    }
}
