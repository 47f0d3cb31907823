//! Every sentence `describe` says, in English, one function per sentence or phrase.
//!
//! The facts (durations, prefixes, formats, file lists) are decided in the parent module;
//! this file only words them, so a translation is a copy of this one file. It must never
//! decide what is promised, only say it, and never say more than the facts it is given:
//! periods are "at most" or "within", never "exactly", and a log is never said to record
//! each request (an error log records problems, not requests).

use jiff::SignedDuration;

/// A bound in days and hours, rounded up (never down: a promise said shorter than it is
/// would be false): "15 days", "14 days and 1 hour", "7 hours", "30 minutes".
pub fn period(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0).unsigned_abs();
    let unit = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let (day, hour) = (86_400u64, 3600u64);
    if secs >= day {
        let mut days = secs / day;
        let mut hours = (secs % day).div_ceil(hour);
        if hours == 24 {
            days += 1;
            hours = 0;
        }
        if hours == 0 {
            unit(days, "day")
        } else {
            format!("{} and {}", unit(days, "day"), unit(hours, "hour"))
        }
    } else if secs >= hour {
        unit(secs.div_ceil(hour), "hour")
    } else {
        unit(secs.div_ceil(60).max(1), "minute")
    }
}

/// A list: "a", "a and b", "a, b and c".
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The heading of a site's paragraph.
pub fn heading(site: &str) -> String {
    format!("Site {site}")
}

/// What the logs are; `paths`: the files, when asked for.
pub fn logs_intro(paths: Option<&str>) -> String {
    let which = paths.map_or(String::new(), |p| format!(" ({p})"));
    format!(
        "The web server keeps logs{which} of its work, such as the requests it serves; a record can include the IP address a request came from. "
    )
}

/// `after: <d>`: how long a full address is kept at the most.
pub fn full_ip_kept(bound: &str) -> String {
    format!("Full IP addresses are kept for at most {bound}. ")
}

/// `after: 0s`: only the current file holds full addresses.
pub fn full_ip_until_rotation(every: &str, bound: &str) -> String {
    format!(
        "Full IP addresses are kept only in the current log file, which is closed at the latest after {every}, so for at most {bound}. "
    )
}

/// `after: 0s` on logs logwarden writes itself: masked before the write. `which`: the
/// logs it holds for, when not every log of the site is such a log.
pub fn never_stored(which: Option<&str>) -> String {
    match which {
        None => "Addresses are truncated before a record is written, so a full IP address is never stored. ".into(),
        Some(logs) => format!(
            "In {logs}, addresses are truncated before a record is written, so a full IP address is never stored there. In the other logs: "
        ),
    }
}

/// Where addresses are truncated, by `scope:`.
pub const WHERE_ALL: &str = "wherever an address appears in a record";
pub const WHERE_CLIENT: &str = "in the client address field (the first field of an access log line or of a message behind a syslog header, `client:` in nginx error logs, `[client …]` in Apache error logs, and the remote_addr, remote_ip, client_ip, client and ip fields of JSON records; addresses elsewhere in a record, such as forwarded-for headers, are not truncated)";

/// How addresses are truncated once the window has passed.
pub fn truncated(where_: &str, ipv4: &str, ipv6: &str) -> String {
    format!("After that they are truncated {where_}: {ipv4}, and {ipv6}. ")
}

/// `anonymize: false`.
pub const NOT_TRUNCATED: &str =
    "IP addresses in these logs are not truncated; they are deleted together with their record. ";

/// Retention.
pub fn deleted_within(bound: &str) -> String {
    format!("Every record is deleted within {bound} after it was written.")
}

/// Why the periods above are a little longer than the policy's settings.
pub fn rhythm(gap: &str) -> String {
    format!(
        " These periods include the wait for logwarden's next run, which comes at most {gap} after the previous one."
    )
}

/// `rotate: false`.
pub const SERVER_ROTATES: &str = " The web server starts its new log files itself; the current one is truncated and deleted only once the server has closed it.";

/// Where records carry their time, for the logs whose format the policy chose.
pub fn time_read_from(what: &str) -> String {
    format!(" The time of a record is read from {what}.")
}

/// One log and its format (`--paths`).
pub fn log_as(path: &str, format: &str) -> String {
    format!("{path} as {format}")
}

pub fn ipv4(prefix: u8) -> String {
    let zeroed = ["", "last", "last two", "last three"];
    match prefix {
        32 => "IPv4 addresses are kept in full".into(),
        0 => "all four numbers of an IPv4 address are set to zero".into(),
        24 => "the last of the four numbers of an IPv4 address is set to zero".into(),
        16 | 8 => format!(
            "the {} of the four numbers of an IPv4 address are set to zero",
            zeroed[(32 - prefix as usize) / 8]
        ),
        n => format!(
            "IPv4 addresses are cut to their first {n} of 32 bits and the rest is set to zero"
        ),
    }
}

pub fn ipv6(prefix: u8) -> String {
    match prefix {
        128 => "IPv6 addresses are kept in full".into(),
        0 => "IPv6 addresses are set to zero entirely".into(),
        n => format!(
            "IPv6 addresses are cut to their first {n} bits (of 128) and the rest is set to zero"
        ),
    }
}

/// The log formats, as `describe` names them.
pub const FORMAT_AUTO: &str = "any known format";
pub const FORMAT_CLF: &str = "an access log (format clf, the bracketed time field)";
pub fn format_json(time_field: Option<&str>, client_field: Option<&str>) -> String {
    format!(
        "JSON records (format json, the field {}{})",
        time_field.unwrap_or("time, timestamp, @timestamp or ts"),
        client_field.map_or(String::new(), |c| format!(", the client in {c}"))
    )
}
pub const FORMAT_HAPROXY: &str = "an HAProxy log (format haproxy, the accept date)";
pub const FORMAT_NGINX_ERROR: &str = "an nginx error log (format nginx-error)";
pub const FORMAT_APACHE_ERROR: &str = "an Apache error log (format apache-error)";
pub const FORMAT_SYSLOG: &str = "a syslog file (format syslog, the header's time)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_up_never_down() {
        let h = SignedDuration::from_hours;
        assert_eq!(period(h(14 * 24)), "14 days");
        assert_eq!(period(h(15 * 24)), "15 days");
        assert_eq!(period(h(14 * 24 + 1)), "14 days and 1 hour");
        assert_eq!(
            period(h(24) + SignedDuration::from_mins(65)),
            "1 day and 2 hours"
        );
        assert_eq!(period(h(48) - SignedDuration::from_secs(1)), "2 days");
        assert_eq!(period(h(7)), "7 hours");
        assert_eq!(period(SignedDuration::from_mins(30)), "30 minutes");
    }
}
