//! The syslog header of a received datagram: to be written.
