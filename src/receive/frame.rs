//! The syslog header of a received datagram. Placeholder until the frame work lands: no
//! header is recognised.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub tag: Option<&'a [u8]>,
    pub message: &'a [u8],
}

pub fn split(datagram: &[u8]) -> Frame<'_> {
    Frame {
        tag: None,
        message: datagram,
    }
}
