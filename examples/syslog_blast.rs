//! A synthetic nginx for `bench/receive.sh`: sends syslog datagrams in the exact shape of
//! nginx's `access_log syslog:server=unix:SOCK,nohostname combined;` to a unix socket, at a
//! paced rate or as fast as it can, and counts the sends that failed.
//!
//! It sends as nginx does: non-blocking, and a datagram the socket refuses (its queue is
//! full: `EAGAIN`) is lost, not retried. So `failed` is what nginx would have lost.
//!
//!   cargo run --release --example syslog_blast -- SOCKET RATE SECONDS [FIRST]
//!
//! RATE is lines per second (0: unpaced); FIRST numbers the first request (default 0), so
//! runs one after another write distinct lines. Prints `sent N failed F seconds S`.
//!
//! `SNDBUF=BYTES` in the environment gives the sending socket that buffer (as root beyond
//! `net.core.wmem_max`): what nginx's socket gets from `net.core.wmem_default`. A unix
//! datagram waiting in the receiver's queue counts against its sender's buffer, so the
//! default (208 KiB, a few hundred lines) bounds a burst as much as `max_dgram_qlen` does.

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: syslog_blast SOCKET RATE SECONDS [FIRST]");
        std::process::exit(2);
    }
    let rate: f64 = args[1].parse().expect("RATE: lines per second");
    let secs: f64 = args[2].parse().expect("SECONDS");
    let first: u64 = args.get(3).map_or(0, |s| s.parse().expect("FIRST"));
    let socket = UnixDatagram::unbound().expect("socket");
    socket.connect(&args[0]).expect("connect to the socket");
    socket.set_nonblocking(true).expect("non-blocking");
    if let Ok(size) = std::env::var("SNDBUF") {
        use nix::sys::socket::{setsockopt, sockopt};
        let size: usize = size.parse().expect("SNDBUF: bytes");
        setsockopt(&socket, sockopt::SndBufForce, &size)
            .or_else(|_| setsockopt(&socket, sockopt::SndBuf, &size))
            .expect("SNDBUF");
    }

    let start = Instant::now();
    let end = Duration::from_secs_f64(secs);
    let (mut sent, mut failed) = (0u64, 0u64);
    let mut buf = Vec::with_capacity(512);
    // The two stamps change once a second; formatted once a second.
    let mut stamp_at = None;
    let (mut header, mut local) = (String::new(), String::new());
    loop {
        let elapsed = start.elapsed();
        if elapsed >= end {
            break;
        }
        let due = if rate > 0.0 {
            (elapsed.as_secs_f64() * rate) as u64
        } else {
            sent + failed + 1024
        };
        if sent + failed >= due {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        let now = jiff::Timestamp::now();
        let second = now.as_second();
        if stamp_at != Some(second) {
            stamp_at = Some(second);
            // RFC 3164 as nginx writes it: `Dec  1 16:12:49`, day padded with a space.
            header = now.strftime("%b %e %H:%M:%S").to_string();
            local = now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string();
        }
        while sent + failed < due {
            let n = first + sent + failed;
            buf.clear();
            let _ = write!(
                buf,
                "<190>{header} nginx: 127.0.0.1 - - [{local}] \"GET /r/{n}?ip=203.0.113.{} HTTP/1.1\" 200 3 \"http://[2001:db8:abcd:{:x}::{:x}]/from\" \"bench/1.0 (via 198.51.100.{})\"",
                n % 250 + 1,
                n % 65000 + 1,
                n % 4000 + 1,
                n % 200 + 1,
            );
            match socket.send(&buf) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => failed += 1,
                Err(e) => panic!("send: {e}"),
            }
            if rate <= 0.0 && start.elapsed() >= end {
                break;
            }
        }
    }
    println!(
        "sent {sent} failed {failed} seconds {:.3}",
        start.elapsed().as_secs_f64()
    );
}
