//! A receive socket: bound (or taken from systemd), tuned, and emptied into the queue.
//!
//! The thread that runs [`receive`] does nothing but move datagrams from the kernel to the
//! [`Queue`], so the kernel's buffer drains as fast as the socket is fed; every loss is
//! counted where it is seen (the kernel's own count through `SO_RXQ_OVFL`, a full queue, a
//! datagram longer than the buffer). It must never wait on the disk, never bind a socket
//! others could send to outside the policy's group, and never take a socket path through a
//! symlink.

use std::io::IoSliceMut;
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, MultiHeaders, recvmmsg, setsockopt, sockopt,
};

use super::queue::Queue;
use crate::dir::{DirHandle, FileError};
use crate::policy::{Receive, Receiving};

/// The kernel buffer asked for each socket: a burst of this much waits in the kernel while
/// the receiving thread is not scheduled.
const RCVBUF: usize = 8 << 20;
/// The largest datagram kept whole; nginx's lines reach 64 KiB, a unix datagram can be
/// larger still. A longer one is written cut, and counted.
pub const MAX_DATAGRAM: usize = 256 << 10;

/// A bound datagram socket.
#[derive(Debug)]
pub enum Socket {
    Unix(UnixDatagram),
    Udp(UdpSocket),
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Socket::Unix(s) => s.as_fd(),
            Socket::Udp(s) => s.as_fd(),
        }
    }
}

/// What one socket lost, by cause; the writer adds its own.
#[derive(Debug, Default)]
pub struct Losses {
    /// Datagrams the kernel dropped because the socket's buffer was full (`SO_RXQ_OVFL`).
    pub kernel: AtomicU64,
    /// Datagrams dropped because the queue was at its bound.
    pub queue: AtomicU64,
    /// Datagrams longer than [`MAX_DATAGRAM`], written cut.
    pub truncated: AtomicU64,
    /// Datagrams received in all.
    pub received: AtomicU64,
}

/// Binds the socket `r` names, with the mode and group `receiving` sets: 0660 and that
/// group, else 0600 (root alone may send).
pub fn bind(r: &Receive, receiving: &Receiving) -> Result<Socket, FileError> {
    match r {
        Receive::Unix(path) => {
            let fail = |why: &str| {
                FileError::new(path.clone(), "bind", std::io::Error::other(why.to_string()))
            };
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(fail("not a socket path"));
            };
            let dir = DirHandle::open(dir)?;
            if dir.others_may_write() {
                return Err(fail(
                    "its directory may be written by others, who could put their own socket in its place; use a directory only root may write (e.g. /run/logwarden)",
                ));
            }
            dir.remove_stale_socket(name)?;
            let group = receiving.group.as_ref().and_then(|g| g.id);
            let mode = if group.is_some() { 0o660 } else { 0o600 };
            let socket = dir.bind_datagram(name, mode, group)?;
            dir.sync()?;
            Ok(Socket::Unix(socket))
        }
        Receive::Udp(addr) => UdpSocket::bind(addr).map(Socket::Udp).map_err(|e| {
            FileError::new(std::path::PathBuf::from(format!("udp:{addr}")), "bind", e)
        }),
        Receive::Pipe => Err(FileError::new(
            std::path::PathBuf::from("pipe"),
            "bind",
            std::io::Error::other("a pipe is not a socket"),
        )),
    }
}

/// Asks for a large kernel buffer (beyond `rmem_max` as root) and the kernel's drop count.
/// Neither is essential: a refusal is logged and receiving goes on.
pub fn tune(socket: &Socket, name: &str) {
    if setsockopt(socket, sockopt::RcvBufForce, &RCVBUF).is_err() {
        if let Err(e) = setsockopt(socket, sockopt::RcvBuf, &RCVBUF) {
            log::warn!("{name}: cannot enlarge the receive buffer: {e}");
        }
    }
    if let Err(e) = setsockopt(socket, sockopt::RxqOvfl, &1) {
        log::debug!("{name}: the kernel will not count its drops (SO_RXQ_OVFL): {e}");
    }
}

/// The pauses that let datagrams gather between batches while they keep coming, so a
/// steady stream wakes the receiving thread once a pause, not per datagram. A pause is
/// sized to let [`GATHER_FOR`] datagrams arrive at the rate just seen, within these bounds.
/// A unix socket's sender fails once the datagrams not yet taken fill its send buffer
/// (`net.core.wmem_default`, 208 KiB: about 160 nginx lines of 300 bytes, each counted with
/// the kernel's 1 KiB of overhead, fewer when lines are longer) or the socket's queue
/// (`max_dgram_qlen`, 512). The longest pause still takes a sudden burst of 20,000 lines a
/// second, and at any rate most of the buffer is left for the time this thread waits for
/// a core after its pause.
const GATHER_MIN: Duration = Duration::from_micros(250);
const GATHER_MAX: Duration = Duration::from_millis(8);
/// A fifth of what a default send buffer holds of short lines.
const GATHER_FOR: u32 = 32;

/// The pause after `n` datagrams came in `over`.
fn gather(n: usize, over: Duration) -> Duration {
    let Ok(n) = u32::try_from(n) else {
        return GATHER_MIN;
    };
    if n == 0 {
        return GATHER_MAX;
    }
    (over * GATHER_FOR / n).clamp(GATHER_MIN, GATHER_MAX)
}

/// How long a receive waits before it looks whether it should stop: the only wake-up of
/// an idle input.
const STOP_LOOK: Duration = Duration::from_secs(1);

/// Datagrams taken per system call. Each has a [`MAX_DATAGRAM`] buffer, allocated zeroed
/// and so resident only where the kernel wrote: short lines cost a page each, and even a
/// flood of the longest datagrams holds 4 MiB.
const BATCH: usize = 16;

/// One datagram as the kernel handed it over.
struct Got {
    len: usize,
    cut: bool,
    /// The socket's running drop count, when the kernel attached it.
    dropped: Option<u32>,
}

/// The headers `recvmmsg` fills. A unix socket's receiver never drops a datagram (its
/// sender's send fails instead), so it reads no drop count and keeps one set of headers
/// for good; a UDP socket's are made afresh per call, because nix leaves each header's
/// control length as the kernel last set it (0 after a datagram without a drop count),
/// which would hide the next count.
enum Headers {
    Kept(MultiHeaders<()>),
    PerCall,
}

impl Headers {
    fn for_socket(socket: &Socket) -> Headers {
        match socket {
            Socket::Unix(_) => Headers::Kept(MultiHeaders::preallocate(BATCH, None)),
            Socket::Udp(_) => Headers::PerCall,
        }
    }
}

/// Takes up to [`BATCH`] datagrams in one `recvmmsg`: with `wait`, blocks (up to the
/// socket's timeout) for the first and takes what is there with it, else none is waited
/// for.
fn take(
    socket: &Socket,
    headers: &mut Headers,
    slots: &mut [u8],
    wait: bool,
    got: &mut Vec<Got>,
) -> nix::Result<()> {
    let mut fresh;
    let headers = match headers {
        Headers::Kept(h) => h,
        Headers::PerCall => {
            fresh = MultiHeaders::<()>::preallocate(BATCH, Some(nix::cmsg_space!(u32)));
            &mut fresh
        }
    };
    let mut iovs: Vec<[IoSliceMut<'_>; 1]> = slots
        .chunks_mut(MAX_DATAGRAM)
        .map(|s| [IoSliceMut::new(s)])
        .collect();
    let flags = if wait {
        MsgFlags::MSG_WAITFORONE
    } else {
        MsgFlags::MSG_DONTWAIT
    };
    let results = recvmmsg(
        socket.as_fd().as_raw_fd(),
        headers,
        iovs.iter_mut(),
        flags,
        None,
    )?;
    got.clear();
    got.extend(results.map(|m| Got {
        len: m.bytes,
        cut: m.flags.contains(MsgFlags::MSG_TRUNC),
        dropped: m.cmsgs().ok().and_then(|c| {
            c.filter_map(|c| match c {
                ControlMessageOwned::RxqOvfl(n) => Some(n),
                _ => None,
            })
            .last()
        }),
    }));
    Ok(())
}

/// Moves datagrams from `socket` into `queue` until `stop` is set (seen within
/// [`STOP_LOOK`]), and then what the socket still holds. One `recvmmsg` per batch of
/// datagrams and nothing else: no poll, and the queue wakes the writer only when it waits.
pub fn receive(socket: &Socket, stop: &AtomicBool, queue: &Queue, losses: &Losses) {
    let timeout = nix::sys::time::TimeVal::new(STOP_LOOK.as_secs() as _, 0);
    if let Err(e) = setsockopt(socket, sockopt::ReceiveTimeout, &timeout) {
        log::error!("receiving stopped: cannot set a receive timeout: {e}");
        return;
    }
    let mut slots = vec![0u8; BATCH * MAX_DATAGRAM];
    let mut headers = Headers::for_socket(socket);
    let mut got = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    let mut kernel_seen: Option<u32> = None;
    // A batch that empties the socket is followed by a pause (see [`gather`]) and a look
    // that does not wait, and a full batch at once by the next. Only a look that finds
    // nothing goes back to waiting.
    let mut wait = true;
    // Datagrams taken since the last pause (or the wake) began, and when it began.
    let mut cycle = (0, Instant::now());
    loop {
        // Once told to stop, what the kernel already holds is still taken, then no more.
        let stopping = stop.load(Ordering::Relaxed);
        match take(
            socket,
            &mut headers,
            &mut slots,
            wait && !stopping,
            &mut got,
        ) {
            Ok(()) => {
                for (g, slot) in got.iter().zip(slots.chunks(MAX_DATAGRAM)) {
                    if let Some(n) = g.dropped {
                        // A running count since the socket was made.
                        let before = kernel_seen.unwrap_or(0);
                        if n > before {
                            losses
                                .kernel
                                .fetch_add(u64::from(n - before), Ordering::Relaxed);
                        }
                        kernel_seen = Some(n);
                    }
                    if g.cut {
                        losses.truncated.fetch_add(1, Ordering::Relaxed);
                    }
                    batch.push(slot[..g.len.min(MAX_DATAGRAM)].to_vec());
                }
                losses
                    .received
                    .fetch_add(got.len() as u64, Ordering::Relaxed);
                let refused = queue.try_push_all(&mut batch);
                if refused > 0 {
                    losses.queue.fetch_add(refused, Ordering::Relaxed);
                }
                if wait {
                    // A stream (or a lone datagram) begins: it is measured from here.
                    cycle = (0, Instant::now());
                }
                cycle.0 += got.len();
                if got.len() < BATCH && !stopping {
                    // The first pause after waiting knows no rate yet: the shortest.
                    let pause = if wait {
                        GATHER_MIN
                    } else {
                        gather(cycle.0, cycle.1.elapsed())
                    };
                    cycle = (0, Instant::now());
                    std::thread::sleep(pause);
                }
                wait = false;
            }
            Err(Errno::EAGAIN) if stopping => return,
            // Nothing came during a gather: wait for the next datagram.
            Err(Errno::EAGAIN) if !wait => wait = true,
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(e) => {
                log::warn!("receive failed: {e}");
                if stopping {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_lets_a_fifth_of_a_senders_buffer_gather_within_its_bounds() {
        let ms = Duration::from_millis;
        // 5,000 a second: 32 in 6.4 ms.
        assert_eq!(gather(10, ms(2)), Duration::from_micros(6400));
        // 1,000 a second: 32 would take 32 ms, more than the longest pause.
        assert_eq!(gather(2, ms(2)), GATHER_MAX);
        // 50,000 a second: 32 in 0.64 ms.
        assert_eq!(gather(400, ms(8)), Duration::from_micros(640));
        // 200,000 a second: 32 would take 0.16 ms, less than the shortest pause.
        assert_eq!(gather(400, ms(2)), GATHER_MIN);
        assert_eq!(gather(0, ms(2)), GATHER_MAX);
    }
}
