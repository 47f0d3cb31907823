//! Sockets systemd passed to the service (socket activation): to be written.
