//! The service manager's side of `watch`: readiness and status notes, and the watchdog.
//!
//! It exists so `watch` can say `READY=1`, `RELOADING=1`, `STOPPING=1` and its status over
//! systemd's `NOTIFY_SOCKET`, and feed the watchdog from a thread of its own while the main
//! loop shows signs of life. Without `NOTIFY_SOCKET` every note is silently skipped.
//!
//! What it must never do: feed the watchdog for a main loop that has gone silent (a hung
//! service must be restarted); or fail the service because a note could not be sent.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Signs of life of the main thread, for the watchdog thread.
pub struct Liveness {
    origin: Instant,
    /// Milliseconds after `origin` of the last sign of life.
    beat_ms: AtomicU64,
    /// A pass runs: I/O of the main thread counts as life (a long compression).
    pub in_pass: AtomicBool,
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness {
            origin: Instant::now(),
            beat_ms: AtomicU64::new(0),
            in_pass: AtomicBool::new(false),
        }
    }

    pub fn beat(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.beat_ms.store(ms, Ordering::Relaxed);
    }

    fn since_beat(&self) -> Duration {
        self.origin
            .elapsed()
            .saturating_sub(Duration::from_millis(self.beat_ms.load(Ordering::Relaxed)))
    }
}

/// Bytes the main thread has read and written (its `/proc` I/O counters), which grow while a
/// pass compresses or rewrites an archive. The watchdog thread reads another thread's file,
/// so its own reading does not count.
fn main_thread_io(main: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{main}/io")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    };
    Some(field("rchar:")? + field("wchar:")?)
}

/// Feeds systemd's watchdog every `every` while the main thread shows life within twice
/// that (systemd's own limit), until `stop`.
pub fn spawn_watchdog(
    sd: Arc<SdNotify>,
    every: Duration,
    life: Arc<Liveness>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let main = std::process::id();
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut last_io = main_thread_io(main);
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(every);
                let io = main_thread_io(main);
                let working = life.in_pass.load(Ordering::SeqCst) && io.is_some() && io != last_io;
                last_io = io;
                if life.since_beat() < every * 2 || working {
                    sd.send("WATCHDOG=1");
                } else {
                    log::warn!(
                        "no sign of life from the main loop for {:?}; the watchdog is left to fire",
                        life.since_beat()
                    );
                }
            }
        })?;
    Ok(())
}

/// systemd's notification socket (`NOTIFY_SOCKET`), if any.
pub struct SdNotify {
    addr: std::os::unix::net::SocketAddr,
    sock: std::os::unix::net::UnixDatagram,
    /// How often to feed the watchdog, if the service manager wants it fed.
    pub watchdog: Option<Duration>,
}

impl SdNotify {
    pub fn from_env() -> Option<SdNotify> {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let bytes = path.as_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name),
            None => SocketAddr::from_pathname(Path::new(&path)),
        };
        let addr = addr
            .map_err(|e| log::warn!("NOTIFY_SOCKET {path:?}: {e}"))
            .ok()?;
        let sock = UnixDatagram::unbound()
            .map_err(|e| log::warn!("cannot create the notification socket: {e}"))
            .ok()?;
        let pid_ok = std::env::var("WATCHDOG_PID")
            .map_or(true, |p| p.trim() == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|&u| u > 0 && pid_ok)
            .map(|u| Duration::from_micros(u / 2));
        Some(SdNotify {
            addr,
            sock,
            watchdog,
        })
    }

    pub fn send(&self, msg: &str) {
        if let Err(e) = self.sock.send_to_addr(msg.as_bytes(), &self.addr) {
            log::debug!("sd_notify {msg:?}: {e}");
        }
    }
}

/// Sends `msg` if there is a service manager to hear it.
pub fn send(sd: Option<&Arc<SdNotify>>, msg: &str) {
    if let Some(sd) = sd {
        sd.send(msg);
    }
}

/// `CLOCK_MONOTONIC` in microseconds, as `RELOADING=1` wants it.
pub fn monotonic_usec() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => ts.tv_sec() as u64 * 1_000_000 + ts.tv_nsec() as u64 / 1000,
        Err(_) => 0,
    }
}
