//! A paced HTTP load for `bench/receive.sh`: COUNT requests at RATE per second to
//! 127.0.0.1:PORT over one keep-alive connection (pipelined, every response read), each
//! with its own path and addresses in the query string, the referer and the user agent, so
//! the logged lines differ and hold addresses to mask besides the client's.
//!
//!   cargo run --release --example http_load -- PORT RATE COUNT
//!
//! Prints `sent N answered A seconds S`; exits 1 unless every request was answered with
//! 200. The server must allow COUNT requests on one connection (`keepalive_requests`) and
//! answer each with a body of `ok\n`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How many requests may be unanswered at once: bounds the load nginx sees in one burst.
const IN_FLIGHT: u64 = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        eprintln!("usage: http_load PORT RATE COUNT");
        std::process::exit(2);
    }
    let port: u16 = args[0].parse().expect("PORT");
    let rate: f64 = args[1].parse().expect("RATE: requests per second");
    let count: u64 = args[2].parse().expect("COUNT");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_millis(2)))
        .expect("timeout");

    let start = Instant::now();
    let (mut sent, mut answered) = (0u64, 0u64);
    let mut out = Vec::with_capacity(64 << 10);
    let mut inbuf = vec![0u8; 256 << 10];
    // Bytes of a response end read so far, kept across reads (a response may be split).
    let mut tail: Vec<u8> = Vec::new();
    let end = b"\r\n\r\nok\n";
    let mut last_progress = Instant::now();
    while answered < count {
        let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(count);
        out.clear();
        while sent < due && sent - answered < IN_FLIGHT {
            let n = sent;
            let _ = write!(
                out,
                "GET /r/{n}?ip=203.0.113.{}&v6=2001:db8:abcd:{:x}::{:x} HTTP/1.1\r\nHost: bench\r\nReferer: http://[2001:db8:abcd:{:x}::1]/from\r\nUser-Agent: bench/1.0 (via 198.51.100.{})\r\n\r\n",
                n % 250 + 1,
                n % 65000 + 1,
                n % 4000 + 1,
                n % 3000 + 1,
                n % 200 + 1,
            );
            sent += 1;
        }
        if !out.is_empty() {
            stream.write_all(&out).expect("send requests");
        }
        if answered < sent {
            match stream.read(&mut inbuf) {
                Ok(0) => {
                    eprintln!(
                        "http_load: the server closed the connection after {answered} answers"
                    );
                    break;
                }
                Ok(got) => {
                    tail.extend_from_slice(&inbuf[..got]);
                    let mut from = 0;
                    while let Some(at) = find(&tail[from..], end) {
                        answered += 1;
                        from += at + end.len();
                    }
                    tail.drain(..from);
                    last_progress = Instant::now();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
            if last_progress.elapsed() > Duration::from_secs(10) {
                eprintln!("http_load: no answer for 10 s after {answered}");
                break;
            }
        } else {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    println!(
        "sent {sent} answered {answered} seconds {:.3}",
        start.elapsed().as_secs_f64()
    );
    if answered != count {
        std::process::exit(1);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
