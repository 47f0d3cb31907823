#![no_main]
//! Arbitrary bytes as a received datagram: the header split never panics, the message is
//! the datagram's own tail, the tag lies inside the header, and an nginx header put before
//! any bytes comes off to give those bytes back.

use libfuzzer_sys::fuzz_target;
use logwarden::receive::frame::split;

fuzz_target!(|datagram: &[u8]| {
    let f = split(datagram);
    let header = datagram.len() - f.message.len();
    assert!(std::ptr::eq(&datagram[header..], f.message), "not a suffix");
    assert!(header == 0 || datagram[0] == b'<', "a header without <PRI>");
    if let Some(tag) = f.tag {
        let at = tag.as_ptr() as usize - datagram.as_ptr() as usize;
        assert!(!tag.is_empty() && at + tag.len() < header, "tag outside the header");
    }
    assert_eq!(split(datagram), f);

    for prefix in [
        &b"<190>Dec  1 10:16:50 web-1 nginx: "[..],
        b"<134>1 2026-12-01T16:00:15.121143+00:00 - haproxy 7 - [a b=\"\\]\"] ",
    ] {
        let sent = [prefix, datagram].concat();
        assert_eq!(split(&sent).message, datagram);
    }
});
