//! The rules of the promise, each with one home: when a record is past retention, which
//! records must hold no full address (the one reading of `after: 0s`), when a live file
//! must rotate and where its archives go.
//!
//! Plan, check, describe and the validator's ceilings all ask these, so what is enforced,
//! what is audited and what is said cannot drift apart. They must never panic or wrap:
//! time arithmetic saturates at the ends of the calendar.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use super::Site;
use crate::anonymize::{Clients, Mask};
use crate::timestamp::LogFormat;

/// How long a record may keep its full client address: `anonymize:` read once, so that no
/// caller spells out what `after: 0s` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullIpWindow {
    /// `anonymize: false`: a full address lives as long as its record.
    Off,
    /// `after: 0s`: only the live file holds full addresses and an archive is masked whole,
    /// so a record keeps its address until rotation, at most `every` (`rotate.every`).
    UntilRotation { every: SignedDuration },
    /// `after: <d>`: a record older than `d` holds no full address, live or archived.
    After(SignedDuration),
}

impl FullIpWindow {
    /// The longest a record keeps a full address as the policy is enforced; `None` when
    /// truncation is off.
    pub fn max_age(self) -> Option<SignedDuration> {
        match self {
            FullIpWindow::Off => None,
            FullIpWindow::UntilRotation { every } => Some(every),
            FullIpWindow::After(d) => Some(d),
        }
    }
}

/// Which records of one file must hold no full client address, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullIpLimit {
    /// `anonymize: false`: none.
    Off,
    /// Records stamped before this instant (and, for the pass, at it).
    Before(Timestamp),
    /// Every record, dated or not (an archive under `after: 0s`).
    All,
}

impl FullIpLimit {
    /// `check`'s verdict: whether a record stamped `t` (`None`: of unknown time) must no
    /// longer hold a full address. One stamped exactly at the limit still may.
    pub fn passed_by(self, t: Option<Timestamp>) -> bool {
        match self {
            FullIpLimit::Off => false,
            FullIpLimit::All => true,
            FullIpLimit::Before(cut) => t.is_some_and(|t| t < cut),
        }
    }

    /// The pass's rule: whether a record stamped `t` is masked now. One stamped at the limit
    /// is (early by nothing), so `check` never finds it late.
    pub fn reached_by(self, t: Option<Timestamp>) -> bool {
        match self {
            FullIpLimit::Off => false,
            FullIpLimit::All => true,
            FullIpLimit::Before(cut) => t.is_some_and(|t| t <= cut),
        }
    }
}

/// `at - d`, saturated at the ends of the calendar: a limit reaching back beyond the first
/// representable instant means no record is old enough, which is a verdict, not a panic.
fn minus(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_sub(d).unwrap_or(if d.is_negative() {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    })
}

/// `t + d`, or `None` (never) beyond the last representable instant.
fn plus(t: Timestamp, d: SignedDuration) -> Option<Timestamp> {
    t.checked_add(d).ok()
}

/// The rules of the promise, each in one place: plan, check, describe and the ceilings all
/// ask these, so what is enforced, what is audited and what is said cannot drift apart.
impl Site {
    /// Records stamped before this are past retention at `now`.
    pub fn retention_cutoff(&self, now: Timestamp) -> Timestamp {
        minus(now, self.retention)
    }

    /// The first whole second at which a record stamped `t` is past retention (the inverse
    /// of [`Site::retention_cutoff`]); `None` when that lies beyond the calendar.
    pub fn expires_at(&self, t: Timestamp) -> Option<Timestamp> {
        plus(t, self.retention).and_then(|t| plus(t, SignedDuration::from_secs(1)))
    }

    /// What `anonymize:` promises; the one reading of `after: 0s`.
    pub fn full_ip_window(&self) -> FullIpWindow {
        match self.truncation {
            None => FullIpWindow::Off,
            Some(t) if t.after.is_zero() => FullIpWindow::UntilRotation {
                every: self.rotation.every,
            },
            Some(t) => FullIpWindow::After(t.after),
        }
    }

    /// How long a record may keep a full client address at the most, as the policy is
    /// enforced: the window itself, or with `after: 0s` the rotation interval.
    pub fn full_ip_age(&self) -> Option<SignedDuration> {
        self.full_ip_window().max_age()
    }

    /// Which records of a live log (`archive: false`) or of an archive must hold no full
    /// address at `at`.
    pub fn full_ip_limit(&self, archive: bool, at: Timestamp) -> FullIpLimit {
        match self.full_ip_window() {
            FullIpWindow::Off => FullIpLimit::Off,
            FullIpWindow::UntilRotation { .. } if archive => FullIpLimit::All,
            FullIpWindow::UntilRotation { every: d } | FullIpWindow::After(d) => {
                FullIpLimit::Before(minus(at, d))
            }
        }
    }

    /// When an archived record stamped `t` is due to be masked (the inverse of
    /// [`Site::full_ip_limit`] with [`FullIpLimit::reached_by`]): at once under `after: 0s`,
    /// never when truncation is off or the instant lies beyond the calendar.
    pub fn mask_due_at(&self, t: Timestamp) -> Option<Timestamp> {
        match self.full_ip_window() {
            FullIpWindow::Off => None,
            FullIpWindow::UntilRotation { .. } => Some(t),
            FullIpWindow::After(d) => plus(t, d),
        }
    }

    /// How old the oldest record of a live file may get before it must rotate: the least of
    /// `rotate.every`, retention and a non-zero `anonymize.after`, with the key that sets it.
    /// Under `rotate: false` (the server closes its files), the least of the last two: past
    /// it, the server's file breaks a promise.
    pub fn live_window(&self) -> (SignedDuration, &'static str) {
        let mut w = if self.rotation.by_server {
            (self.retention, "retention")
        } else {
            (self.rotation.every, "rotate.every")
        };
        if self.retention < w.0 {
            w = (self.retention, "retention");
        }
        if let FullIpWindow::After(after) = self.full_ip_window() {
            if after < w.0 {
                w = (after, "anonymize.after");
            }
        }
        w
    }

    /// When a live file whose oldest record is stamped `oldest` must rotate (see
    /// [`Site::live_window`]); `None` when that lies beyond the calendar.
    pub fn rotate_due_at(&self, oldest: Timestamp) -> Option<Timestamp> {
        plus(oldest, self.live_window().0)
    }

    /// When a live file with no dated record, created at `created`, must rotate:
    /// `rotate.every` later, so its records get a rotation time to expire by.
    pub fn undated_rotate_due_at(&self, created: Timestamp) -> Option<Timestamp> {
        plus(created, self.rotation.every)
    }

    /// The mask a log in `format` is truncated with: the site's, with the JSON client field
    /// the format names (`client_field:`) for `scope: client`.
    pub fn mask_for(&self, format: &LogFormat) -> Option<Mask> {
        let mut mask = self.truncation?.mask;
        if let LogFormat::Json {
            client_field: Some(field),
            ..
        } = format
        {
            // Validated with the policy; a name it refused cannot reach here.
            mask.client = Clients::json_field(field).unwrap_or_default();
        }
        Some(mask)
    }

    /// The `receive:` entry whose file is `path`: a log logwarden writes itself.
    pub fn received(&self, path: &Path) -> Option<&super::LogPattern> {
        self.logs.iter().find(|l| {
            l.receive.is_some()
                && path.parent() == Some(l.dir.as_path())
                && path.file_name().and_then(|n| n.to_str()) == l.name.literal()
        })
    }

    /// The directory the archives of a log in `log_dir` go to: `archive_dir:`, else beside
    /// the log.
    pub fn archive_home<'a>(&'a self, log_dir: &'a Path) -> &'a Path {
        self.archive_dir.as_deref().unwrap_or(log_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::policy;
    use super::*;

    fn site(extra: &str) -> Site {
        let text = format!("sites:\n  a:\n    logs: [/l/x.log]\n{extra}");
        policy(&text).unwrap().sites.remove(0)
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const DAY: SignedDuration = SignedDuration::from_hours(24);
    const SEC: SignedDuration = SignedDuration::from_secs(1);

    #[test]
    fn the_retention_cutoff_and_the_expiry_instant_are_one_rule() {
        let s = site("    retention: 14d\n");
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(s.retention_cutoff(now), now - 14 * DAY);
        let rec = ts("2026-11-01T08:00:00Z");
        let at = s.expires_at(rec).unwrap();
        assert_eq!(at, rec + 14 * DAY + SEC);
        // Past retention from that second on, not one second earlier.
        assert!(rec < s.retention_cutoff(at));
        assert!(rec >= s.retention_cutoff(at - SEC));
    }

    #[test]
    fn after_0s_means_until_rotation_and_archives_masked_whole() {
        let s = site("    rotate: { every: 6h }\n    anonymize: { after: 0s }\n");
        let six = SignedDuration::from_hours(6);
        assert_eq!(
            s.full_ip_window(),
            FullIpWindow::UntilRotation { every: six }
        );
        assert_eq!(s.full_ip_age(), Some(six));
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(s.full_ip_limit(true, now), FullIpLimit::All);
        assert_eq!(s.full_ip_limit(false, now), FullIpLimit::Before(now - six));
        // An archived record is due at once, and every one is reached, dated or not.
        let rec = ts("2026-11-30T11:59:00Z");
        assert_eq!(s.mask_due_at(rec), Some(rec));
        assert!(FullIpLimit::All.reached_by(None) && FullIpLimit::All.passed_by(None));
        // The anonymize window does not shorten the live file's (rotation is the window).
        assert_eq!(s.live_window(), (six, "rotate.every"));
    }

    #[test]
    fn the_full_ip_window_is_reached_at_the_instant_and_passed_just_after() {
        let s = site("    anonymize: { after: 7d }\n");
        assert_eq!(s.full_ip_window(), FullIpWindow::After(7 * DAY));
        let rec = ts("2026-11-01T00:00:00Z");
        let due = s.mask_due_at(rec).unwrap();
        assert_eq!(due, rec + 7 * DAY);
        let archived = s.full_ip_limit(true, due);
        assert_eq!(archived, s.full_ip_limit(false, due));
        // The pass masks it at the instant (early by nothing); check finds it late after.
        assert!(archived.reached_by(Some(rec)));
        assert!(!archived.passed_by(Some(rec)));
        assert!(s.full_ip_limit(true, due + SEC).passed_by(Some(rec)));
        assert!(!s.full_ip_limit(true, due - SEC).reached_by(Some(rec)));
        // A record of unknown time is judged only where every record is.
        assert!(!archived.reached_by(None) && !archived.passed_by(None));
    }

    #[test]
    fn with_truncation_off_no_record_is_ever_due_for_masking() {
        let s = site("    anonymize: false\n");
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(s.full_ip_window(), FullIpWindow::Off);
        assert_eq!(s.full_ip_age(), None);
        assert_eq!(s.full_ip_limit(true, now), FullIpLimit::Off);
        assert_eq!(s.mask_due_at(now), None);
        assert!(!FullIpLimit::Off.reached_by(Some(Timestamp::MIN)));
        assert!(!FullIpLimit::Off.passed_by(Some(Timestamp::MIN)));
    }

    #[test]
    fn the_live_window_is_the_least_limit_and_names_its_key() {
        let s =
            site("    rotate: { every: 7d }\n    retention: 30d\n    anonymize: { after: 1d }\n");
        assert_eq!(s.live_window(), (DAY, "anonymize.after"));
        let rec = ts("2026-11-01T00:00:00Z");
        assert_eq!(s.rotate_due_at(rec), Some(rec + DAY));
        let s = site("    rotate: { every: 7d }\n    retention: 2d\n");
        assert_eq!(s.live_window(), (2 * DAY, "retention"));
        let s = site("    anonymize: false\n");
        assert_eq!(s.live_window(), (DAY, "rotate.every"));
        // Without a dated record, rotate.every from the file's creation, whatever the rest.
        let s = site("    rotate: { every: 7d }\n    retention: 2d\n");
        assert_eq!(s.undated_rotate_due_at(rec), Some(rec + 7 * DAY));
    }

    #[test]
    fn archives_go_to_archive_dir_or_beside_their_log() {
        let s = site("");
        assert_eq!(s.archive_home(Path::new("/l")), Path::new("/l"));
        let s = site("    archive_dir: /arch/./old\n");
        assert_eq!(s.archive_home(Path::new("/l")), Path::new("/arch/old"));
    }

    /// The fields are public, so a site built by hand can hold any duration: every rule
    /// saturates at the ends of the calendar instead of panicking or wrapping.
    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let mut s = site("    anonymize: { after: 7d }\n");
        let now = ts("2026-11-30T12:00:00Z");
        s.retention = SignedDuration::MAX;
        s.rotation.every = SignedDuration::MAX;
        s.truncation.as_mut().unwrap().after = SignedDuration::MAX;
        assert_eq!(s.retention_cutoff(now), Timestamp::MIN);
        assert_eq!(s.retention_cutoff(Timestamp::MIN), Timestamp::MIN);
        assert_eq!(s.expires_at(now), None);
        assert_eq!(s.mask_due_at(now), None);
        assert_eq!(s.rotate_due_at(now), None);
        assert_eq!(
            s.full_ip_limit(true, now),
            FullIpLimit::Before(Timestamp::MIN)
        );
        assert!(!s.full_ip_limit(true, now).passed_by(Some(Timestamp::MIN)));
        // Near the last instant even a short window cannot be added.
        let s = site("    retention: 1d\n    anonymize: { after: 0s }\n");
        assert_eq!(s.expires_at(Timestamp::MAX), None);
        assert_eq!(s.rotate_due_at(Timestamp::MAX), None);
        assert_eq!(s.undated_rotate_due_at(Timestamp::MAX), None);
        assert_eq!(s.mask_due_at(Timestamp::MAX), Some(Timestamp::MAX));
        assert_eq!(s.retention_cutoff(Timestamp::MIN), Timestamp::MIN);
        // A negative duration (never validated, but representable) saturates the other way.
        let mut s = site("");
        s.retention = SignedDuration::MIN;
        assert_eq!(s.retention_cutoff(now), Timestamp::MAX);
    }
}
