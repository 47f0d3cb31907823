//! Under `scope: client`, where the record's client address is after the first field: the
//! text that precedes it in nginx and Apache error logs and in JSON records, and the cheap
//! test for whether a line's rest can hold such a marker at all.
//!
//! It exists so that whole-line masking and the streaming writer agree on one list. A run is
//! masked under this scope only right after a marker, so a marker missing here is a client
//! address left unmasked: every marker must contain one of the hints that `Clients::might_hold`
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

/// The markers of one choice of JSON client field, with the hints that find them.
#[derive(Debug)]
struct Markers {
    markers: Vec<&'static [u8]>,
    /// Every marker contains one of these; a buffer without any holds no marker.
    hints: Vec<memchr::memmem::Finder<'static>>,
}

/// Where a record's client address is after its first field: [`CLIENT_MARKERS`], or, with a
/// `client_field:` of the policy's, the error-log markers and that JSON field alone. Copy,
/// so a [`Mask`](super::Mask) stays a value: each field name's markers are made once per
/// process and kept (a policy names a handful).
#[derive(Clone, Copy)]
pub struct Clients(&'static Markers);

impl Clients {
    /// The JSON client field `name` (wherever nested) instead of the default ones. `None`
    /// for a name that cannot be a JSON key as written (a quote, a backslash, a control
    /// byte, or empty).
    #[must_use]
    pub fn json_field(name: &str) -> Option<Clients> {
        if name.is_empty() || name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            return None;
        }
        static MADE: std::sync::Mutex<Vec<(String, &'static Markers)>> =
            std::sync::Mutex::new(Vec::new());
        let mut made = MADE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, m)) = made.iter().find(|(n, _)| n == name) {
            return Some(Clients(m));
        }
        let leak = |s: String| -> &'static [u8] { Box::leak(s.into_bytes().into_boxed_slice()) };
        let key = leak(format!("\"{name}\""));
        let markers = Markers {
            markers: vec![
                b"client: ",
                APACHE_CLIENT,
                leak(format!("\"{name}\":\"")),
                leak(format!("\"{name}\": \"")),
            ],
            hints: [b"client".as_slice(), key]
                .into_iter()
                .map(memchr::memmem::Finder::new)
                .collect(),
        };
        let m: &'static Markers = Box::leak(Box::new(markers));
        made.push((name.to_string(), m));
        Some(Clients(m))
    }

    pub(super) fn markers(self) -> &'static [&'static [u8]] {
        &self.0.markers
    }

    /// Whether `d` may hold one of the markers. Looking for the hints with memchr's SIMD
    /// search is far cheaper than walking the separators.
    pub(super) fn might_hold(self, d: &[u8]) -> bool {
        self.0.hints.iter().any(|f| f.find(d).is_some())
    }
}

impl Default for Clients {
    /// nginx and Apache error logs and the JSON fields of [`CLIENT_MARKERS`], whose hints
    /// are `client`, `ip"` and `addr"`.
    fn default() -> Clients {
        static DEFAULT: std::sync::LazyLock<Markers> = std::sync::LazyLock::new(|| Markers {
            markers: CLIENT_MARKERS.to_vec(),
            hints: [b"client".as_slice(), b"ip\"", b"addr\""]
                .into_iter()
                .map(memchr::memmem::Finder::new)
                .collect(),
        });
        Clients(&DEFAULT)
    }
}

impl PartialEq for Clients {
    fn eq(&self, other: &Clients) -> bool {
        self.0.markers == other.0.markers
    }
}

impl Eq for Clients {}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.markers.iter().map(|m| String::from_utf8_lossy(m)))
            .finish()
    }
}

/// Where the hints of a marker (see [`Clients::might_hold`]) next start in a buffer, one
/// position per hint, each searched again only once the caller has passed it. A line whose
/// rest ends before all of them holds no marker, so each hint's search runs once per
/// stretch of lines rather than once per line (and a hint that never occurs, once).
pub(super) struct NextHints {
    clients: Clients,
    at: [usize; 3],
}

impl NextHints {
    pub(super) fn new(clients: Clients) -> NextHints {
        NextHints {
            clients,
            at: [usize::MAX; 3],
        }
    }

    /// The first hint at or after `from` in `d`, or `d.len()`.
    pub(super) fn at(&mut self, d: &[u8], from: usize) -> usize {
        for (p, f) in self.at.iter_mut().zip(self.clients.0.hints.iter()) {
            if *p == usize::MAX || *p < from {
                *p = f.find(&d[from..]).map_or(d.len(), |k| from + k);
            }
        }
        let hints = self.clients.0.hints.len();
        self.at[..hints].iter().copied().min().unwrap_or(d.len())
    }
}

/// What `held_tail` keeps with a run when all addresses are masked.
pub(super) const ALL_MARKERS: &[&[u8]] = &[APACHE_CLIENT];

/// Whether a run after `before` is to be masked: always without markers, else when
/// `before` ends with one.
#[inline]
pub(super) fn marked(before: &[u8], markers: &[&[u8]]) -> bool {
    // Comparing the last byte first keeps a call to memcmp per marker off every run (the
    // JSON of a record has runs after `"status":` and the like in every line).
    markers.is_empty()
        || markers
            .iter()
            .any(|m| (m.is_empty() || m.last() == before.last()) && before.ends_with(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::test_support::{masked, stream};
    use crate::anonymize::{Mask, Scope};

    #[test]
    fn every_client_marker_holds_a_hint() {
        let custom = Clients::json_field("visitor.addr_v4").unwrap();
        for clients in [Clients::default(), custom] {
            for m in clients.markers() {
                assert!(clients.might_hold(m), "{}", String::from_utf8_lossy(m));
            }
            assert!(!clients.might_hold(b"GET /?ip=1.2.3.4 \"x\" 203.0.113.9"));
        }
        assert_eq!(Clients::json_field("visitor.addr_v4"), Some(custom));
        assert_ne!(Clients::default(), custom);
        for bad in ["", "a\"b", "a\\b", "a\nb"] {
            assert_eq!(Clients::json_field(bad), None, "{bad:?}");
        }
    }

    /// With `client_field:`, that JSON field is the client (wherever nested), and the
    /// default ones are not; error-log markers stay.
    #[test]
    fn a_chosen_json_client_field_is_masked_and_the_default_ones_are_not() {
        let mask = Mask {
            client: Clients::json_field("visitor").unwrap(),
            ..Mask::new(24, 40, Scope::Client).unwrap()
        };
        let input = "{\"remote_addr\":\"198.51.100.7\",\"req\":{\"visitor\": \"203.0.113.9\"}}\n\
2026/11/30 22:10:56 [error] 1#1: *2 x, client: 203.0.113.195, server: y\n";
        let want = "{\"remote_addr\":\"198.51.100.7\",\"req\":{\"visitor\": \"203.0.113.0\"}}\n\
2026/11/30 22:10:56 [error] 1#1: *2 x, client: 203.0.113.0, server: y\n";
        let (out, n) = masked(&mask, input.as_bytes());
        assert_eq!(String::from_utf8(out.clone()).unwrap(), want);
        assert_eq!(n, 2);
        for at in 1..input.len() {
            assert_eq!(
                stream(&mask, input.as_bytes(), &[at]).0,
                out,
                "split at {at}"
            );
        }
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
