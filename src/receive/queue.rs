//! The bounded queue between receiving and writing.
//!
//! It exists so the thread that empties a socket never waits on the disk: a slow disk fills
//! the queue, not the kernel's socket buffer, and only a queue full to its bound loses a
//! message, counted by the caller. It must never grow past its bound (a flood from a local
//! process cannot exhaust memory) and never lose an item once it took it.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What an item costs beyond its bytes (its `Vec` and the allocator's rounding), so a flood
/// of empty datagrams is bounded too.
const OVERHEAD: u64 = 64;

pub struct Queue {
    inner: Mutex<Inner>,
    not_empty: Condvar,
    has_room: Condvar,
    bound: u64,
}

#[derive(Default)]
struct Inner {
    items: VecDeque<Vec<u8>>,
    bytes: u64,
    closed: bool,
    /// The taker waits for an item: only then does a push pay for a wake-up.
    taker_waits: bool,
    /// The taker lets items gather ([`Queue::gather`]): a push wakes it only once the
    /// queue is half full.
    taker_gathers: bool,
    /// Pushers waiting for room.
    pushers_wait: usize,
}

/// What [`Queue::take`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Took {
    /// Items were moved into the caller's batch.
    Items,
    /// The wait ran out with nothing queued.
    TimedOut,
    /// Closed, and everything queued has been taken.
    Closed,
}

impl Queue {
    pub fn new(bound: u64) -> Queue {
        Queue {
            inner: Mutex::new(Inner::default()),
            not_empty: Condvar::new(),
            has_room: Condvar::new(),
            bound,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not make every later message a loss.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues what `items` holds, in order, as far as the bound lets it, under one lock;
    /// never waits. `items` is left empty; returns how many were refused (the caller counts
    /// them as drops).
    pub fn try_push_all(&self, items: &mut Vec<Vec<u8>>) -> u64 {
        if items.is_empty() {
            return 0;
        }
        let mut refused = 0;
        let mut inner = self.lock();
        for item in items.drain(..) {
            let cost = item.len() as u64 + OVERHEAD;
            if inner.bytes + cost > self.bound && !inner.items.is_empty() {
                refused += 1;
                continue;
            }
            inner.bytes += cost;
            inner.items.push_back(item);
        }
        self.wake_taker(inner);
        refused
    }

    /// Ends a push: a wake-up is paid only when the taker waits, or gathers and the queue
    /// is half full.
    fn wake_taker(&self, inner: MutexGuard<'_, Inner>) {
        let wake = inner.taker_waits || (inner.taker_gathers && self.half_full(&inner));
        drop(inner);
        if wake {
            self.not_empty.notify_one();
        }
    }

    /// Queues `item`, waiting for room: a pipe's writer is slowed down instead of losing
    /// lines.
    pub fn push_wait(&self, item: Vec<u8>) {
        let cost = item.len() as u64 + OVERHEAD;
        let mut inner = self.lock();
        while inner.bytes + cost > self.bound && !inner.items.is_empty() && !inner.closed {
            inner.pushers_wait += 1;
            inner = self
                .has_room
                .wait(inner)
                .unwrap_or_else(PoisonError::into_inner);
            inner.pushers_wait -= 1;
        }
        inner.bytes += cost;
        inner.items.push_back(item);
        self.wake_taker(inner);
    }

    /// Moves everything queued into `batch`, waiting until `deadline` (or for ever) while
    /// the queue is empty and open.
    pub fn take(&self, deadline: Option<Instant>, batch: &mut Vec<Vec<u8>>) -> Took {
        let mut inner = self.lock();
        loop {
            if !inner.items.is_empty() {
                batch.extend(inner.items.drain(..));
                inner.bytes = 0;
                let wake = inner.pushers_wait > 0;
                drop(inner);
                if wake {
                    self.has_room.notify_all();
                }
                return Took::Items;
            }
            if inner.closed {
                return Took::Closed;
            }
            let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Took::TimedOut;
            }
            inner.taker_waits = true;
            inner = match left {
                None => self
                    .not_empty
                    .wait(inner)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(left) => {
                    self.not_empty
                        .wait_timeout(inner, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            inner.taker_waits = false;
        }
    }

    fn half_full(&self, inner: &Inner) -> bool {
        inner.bytes >= self.bound / 2
    }

    /// Lets items gather until `until`, or less while the queue is half full or closed: a
    /// trickle is taken in batches, and a flood never meets a full queue for it.
    pub fn gather(&self, until: Instant) {
        let mut inner = self.lock();
        while !inner.closed && !self.half_full(&inner) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            inner.taker_gathers = true;
            inner = self
                .not_empty
                .wait_timeout(inner, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            inner.taker_gathers = false;
        }
    }

    /// No more items will come: [`Queue::take`] returns what is left, then `Closed`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_all();
        self.has_room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_instead_of_growing_and_keeps_what_it_took() {
        let q = Queue::new(1000);
        let mut items: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 100]).collect();
        // 164 bytes each: six fit in 1000.
        assert_eq!(q.try_push_all(&mut items), 94);
        assert!(items.is_empty());
        let mut batch = Vec::new();
        assert_eq!(q.take(Some(Instant::now()), &mut batch), Took::Items);
        assert_eq!(batch.len(), 6);
        assert_eq!(batch[5], vec![5u8; 100]);
        assert_eq!(
            q.try_push_all(&mut vec![vec![0; 100]]),
            0,
            "room again once taken"
        );
    }

    #[test]
    fn one_item_larger_than_the_bound_still_goes_through_an_empty_queue() {
        let q = Queue::new(100);
        assert_eq!(q.try_push_all(&mut vec![vec![0; 1000], vec![0; 1]]), 1);
    }

    #[test]
    fn close_hands_over_what_is_left_then_says_closed() {
        let q = Queue::new(1 << 20);
        q.try_push_all(&mut vec![b"a".to_vec()]);
        q.close();
        let mut batch = Vec::new();
        assert_eq!(q.take(None, &mut batch), Took::Items);
        assert_eq!(q.take(None, &mut batch), Took::Closed);
        assert_eq!(batch, vec![b"a".to_vec()]);
    }

    #[test]
    fn push_wait_waits_for_room_and_loses_nothing() {
        let q = std::sync::Arc::new(Queue::new(200));
        let writer = {
            let q = std::sync::Arc::clone(&q);
            std::thread::spawn(move || {
                for i in 0..1000u32 {
                    q.push_wait(i.to_le_bytes().to_vec());
                }
                q.close();
            })
        };
        let mut all = Vec::new();
        let mut batch = Vec::new();
        while q.take(None, &mut batch) == Took::Items {
            all.append(&mut batch);
        }
        writer.join().unwrap();
        let want: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_le_bytes().to_vec()).collect();
        assert_eq!(all, want);
    }

    #[test]
    fn gather_ends_early_once_the_queue_is_half_full() {
        let q = std::sync::Arc::new(Queue::new(1 << 20));
        let pusher = {
            let q = std::sync::Arc::clone(&q);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                q.try_push_all(&mut vec![vec![0; 600 << 10]]);
            })
        };
        let start = Instant::now();
        q.gather(start + Duration::from_secs(60));
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "woken by the push"
        );
        pusher.join().unwrap();
        let mut batch = Vec::new();
        q.take(None, &mut batch);
        // A small push does not end a gather.
        q.try_push_all(&mut vec![vec![0; 10]]);
        let at = Instant::now() + Duration::from_millis(20);
        q.gather(at);
        assert!(Instant::now() >= at);
    }

    #[test]
    fn take_times_out_on_an_empty_open_queue() {
        let q = Queue::new(100);
        let mut batch = Vec::new();
        let at = Instant::now() + Duration::from_millis(20);
        assert_eq!(q.take(Some(at), &mut batch), Took::TimedOut);
        assert!(Instant::now() >= at);
    }
}
