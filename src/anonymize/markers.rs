//! Under `scope: client`, where the record's client address is after the first field: the
//! text that precedes it in nginx and Apache error logs and in JSON records, and the cheap
//! test for whether a line's rest can hold such a marker at all.
//!
//! It exists so that whole-line masking and the streaming writer agree on one list. A run is
//! masked under this scope only right after a marker, so a marker missing here is a client
//! address left unmasked: every marker must contain one of the hints that `might_hold_marker`
//! searches for (a test checks that), and the hints must never skip a line holding a marker.

/// What precedes an Apache error log's client address; its last `:N` is a port.
pub(super) const APACHE_CLIENT: &[u8] = b"[client ";

/// Under `scope: client`, what precedes the record's client address after the first field:
/// nginx error logs (`client: 1.2.3.4,`), Apache error logs (`[client 1.2.3.4:5678]`), and
/// the client fields of JSON records (`"remote_addr":"1.2.3.4"`, wherever nested).
pub(super) const CLIENT_MARKERS: &[&[u8]] = &[
    b"client: ",
    APACHE_CLIENT,
    b"\"remote_addr\":\"",
    b"\"remote_ip\":\"",
    b"\"client_ip\":\"",
    b"\"client\":\"",
    b"\"ip\":\"",
    b"\"remote_addr\": \"",
    b"\"remote_ip\": \"",
    b"\"client_ip\": \"",
    b"\"client\": \"",
    b"\"ip\": \"",
];

/// Whether `d` may hold one of `CLIENT_MARKERS`: each contains `client`, `ip"` or `addr"`.
/// Looking for those with memchr's SIMD search is far cheaper than walking the separators.
pub(super) fn might_hold_marker(d: &[u8]) -> bool {
    HINTS.iter().any(|f| f.find(d).is_some())
}

static HINTS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 3]> =
    std::sync::LazyLock::new(|| {
        [b"client".as_slice(), b"ip\"", b"addr\""].map(memchr::memmem::Finder::new)
    });

/// Where the hints of a marker (see [`might_hold_marker`]) next start in a buffer, one
/// position per hint, each searched again only once the caller has passed it. A line whose
/// rest ends before all of them holds no marker, so each hint's search runs once per
/// stretch of lines rather than once per line (and a hint that never occurs, once).
pub(super) struct NextHints([usize; 3]);

impl NextHints {
    pub(super) fn new() -> NextHints {
        NextHints([usize::MAX; 3])
    }

    /// The first hint at or after `from` in `d`, or `d.len()`.
    pub(super) fn at(&mut self, d: &[u8], from: usize) -> usize {
        for (p, f) in self.0.iter_mut().zip(HINTS.iter()) {
            if *p == usize::MAX || *p < from {
                *p = f.find(&d[from..]).map_or(d.len(), |k| from + k);
            }
        }
        self.0.iter().copied().min().unwrap_or(d.len())
    }
}

/// What `held_tail` keeps with a run when all addresses are masked.
pub(super) const ALL_MARKERS: &[&[u8]] = &[APACHE_CLIENT];

/// Whether a run after `before` is to be masked: always without markers, else when
/// `before` ends with one.
#[inline]
pub(super) fn marked(before: &[u8], markers: &[&[u8]]) -> bool {
    markers.is_empty() || markers.iter().any(|m| before.ends_with(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::test_support::{masked, stream};
    use crate::anonymize::{Mask, Scope};

    #[test]
    fn every_client_marker_holds_a_hint() {
        for m in CLIENT_MARKERS {
            assert!(might_hold_marker(m), "{}", String::from_utf8_lossy(m));
        }
        assert!(!might_hold_marker(b"GET /?ip=1.2.3.4 \"x\" 203.0.113.9"));
    }

    /// `scope: client` masks the record's client in every format, and nothing else.
    #[test]
    fn client_scope_masks_the_client_of_error_logs_and_json_records() {
        let mask = Mask::new(24, 40, Scope::Client).unwrap();
        let input = "\
2026/11/30 22:10:56 [error] 1#1: *2 open() \"/h/198.51.100.23\" failed, client: 203.0.113.195, server: , request: \"GET /?ip=198.51.100.7 HTTP/1.1\", referrer: \"http://[2a02:8108:1234:5600::789a]/\"
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8:abcd:12::1:37879] AH00128: File does not exist: /h/198.51.100.23, referer: http://203.0.113.9/
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8::7:5678] AH00128
{\"time\":\"2026-11-30T22:10:56+00:00\",\"remote_addr\":\"203.0.113.195\",\"request\":\"GET /?ip=198.51.100.7\",\"xff\":\"198.51.100.7, 2001:db8::1\"}
{\"request\": {\"remote_ip\": \"2001:db8:abcd::1\", \"client_ip\": \"198.51.100.7\", \"host\": \"203.0.113.9\"}}
2001:db8:abcd:12::1:56177 [30/Nov/2026:22:10:56.352] fe be/nginx {198.51.100.7||} \"GET /?q=#22203.0.113.9#22\"
";
        let want = "\
2026/11/30 22:10:56 [error] 1#1: *2 open() \"/h/198.51.100.23\" failed, client: 203.0.113.0, server: , request: \"GET /?ip=198.51.100.7 HTTP/1.1\", referrer: \"http://[2a02:8108:1234:5600::789a]/\"
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8:ab00:::37879] AH00128: File does not exist: /h/198.51.100.23, referer: http://203.0.113.9/
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8:::5678] AH00128
{\"time\":\"2026-11-30T22:10:56+00:00\",\"remote_addr\":\"203.0.113.0\",\"request\":\"GET /?ip=198.51.100.7\",\"xff\":\"198.51.100.7, 2001:db8::1\"}
{\"request\": {\"remote_ip\": \"2001:db8:ab00::\", \"client_ip\": \"198.51.100.0\", \"host\": \"203.0.113.9\"}}
2001:db8:ab00:::56177 [30/Nov/2026:22:10:56.352] fe be/nginx {198.51.100.7||} \"GET /?q=#22203.0.113.9#22\"
";
        let (out, n) = masked(&mask, input.as_bytes());
        assert_eq!(String::from_utf8(out.clone()).unwrap(), want);
        assert_eq!(n, 7);
        assert_eq!(masked(&mask, &out), (out.clone(), 0));
        for at in 1..input.len() {
            assert_eq!(
                stream(&mask, input.as_bytes(), &[at]).0,
                out,
                "split at {at}"
            );
        }
        assert_eq!(
            stream(&mask, input.as_bytes(), &vec![1; input.len()]).0,
            out
        );
    }
}
