//! Reads the files of an audit across cores.
//!
//! Each file is opened without following links, decompressed and scanned by one worker;
//! the results come back in the order of the jobs, one per job, so a file that could not be
//! read is reported, never dropped. It must never write and never stop the audit for one
//! file's failure.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::rules::FileRules;
use super::scan::{FileScan, scan_reader};
use crate::archive::{self, Format};
use crate::dir::DirHandle;
use crate::timestamp::{LogFormat, StampReader};
use jiff::Timestamp;

/// One file to read, and what it is held to.
pub(super) struct Job<'a> {
    /// The index of its site in the listing.
    pub(super) site: usize,
    /// The site's `su:` user, whose directories may be passed through.
    pub(super) su: Option<u32>,
    pub(super) path: &'a Path,
    pub(super) format: Format,
    pub(super) size: u64,
    pub(super) rules: FileRules,
    /// Where its records carry their time (the log's `format:`).
    pub(super) log_format: &'a LogFormat,
    pub(super) mtime: Timestamp,
}

/// Opens a listed file without following links and scans every record in it.
fn read_file(job: &Job, stamps: &StampReader) -> Result<FileScan, String> {
    let (Some(parent), Some(name)) = (job.path.parent(), job.path.file_name()) else {
        return Err("not a file path".into());
    };
    let dir = DirHandle::open_trusting(parent, job.su).map_err(|e| e.to_string())?;
    let file = dir.open_read(name).map_err(|e| e.to_string())?;
    let mut input = archive::decoder(file, job.format).map_err(|e| format!("cannot read: {e}"))?;
    let stamps = stamps.with_format(job.log_format).for_file(Some(job.mtime));
    scan_reader(&mut *input, &job.rules, &stamps).map_err(|e| match job.format {
        Format::Plain => format!("cannot read: {e}"),
        _ => format!("cannot decompress: {e}"),
    })
}

/// Reads every job, biggest first, on as many workers as there are cores (and jobs). Each
/// job comes back with what reading it gave: `None` if no worker got to it.
pub(super) fn read_all<'a>(
    mut jobs: Vec<Job<'a>>,
    stamps: &StampReader,
) -> Vec<(Job<'a>, Option<Result<FileScan, String>>)> {
    // Biggest first, so two workers finish together.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.size));
    let results: Vec<Mutex<Option<Result<FileScan, String>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(jobs.len())
        .max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    log::debug!("check: reading {}", crate::escape::path(job.path));
                    let r = read_file(job, stamps);
                    *results[i]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
                }
            });
        }
    });
    jobs.into_iter()
        .zip(results)
        .map(|(job, result)| {
            let result = result
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (job, result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use jiff::tz::TimeZone;

    use super::super::testing::{NOW, line, site, t};
    use super::*;

    fn job(site: usize, path: &Path, size: u64, rules: FileRules) -> Job<'_> {
        Job {
            site,
            su: None,
            path,
            format: Format::Plain,
            size,
            rules,
            log_format: &LogFormat::Auto,
            mtime: t(NOW),
        }
    }

    #[test]
    fn every_job_comes_back_with_what_reading_it_gave_biggest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let (small, gone, big) = (
            tmp.path().join("small.log"),
            tmp.path().join("gone.log"),
            tmp.path().join("big.log"),
        );
        let record = line("198.51.100.0", "2026-11-28T00:00:00Z");
        std::fs::write(&small, &record).unwrap();
        std::fs::write(&big, record.repeat(3)).unwrap();
        let s = site("    anonymize: false\n");
        let rules = FileRules::for_site(&s, false, t(NOW), SignedDuration::ZERO);
        let jobs = vec![
            job(0, &small, 1, rules),
            job(1, &gone, 2, rules),
            job(2, &big, 3, rules),
        ];
        let got = read_all(jobs, &StampReader::new(TimeZone::UTC));
        let order: Vec<usize> = got.iter().map(|(j, _)| j.site).collect();
        assert_eq!(order, [2, 1, 0]);
        let records = |r: &Option<Result<FileScan, String>>| r.clone().unwrap().unwrap().records;
        assert_eq!(records(&got[0].1), 3);
        assert!(matches!(&got[1].1, Some(Err(_))), "{:?}", got[1].1);
        assert_eq!(records(&got[2].1), 1);
    }

    #[test]
    fn no_jobs_means_no_results() {
        assert!(read_all(Vec::new(), &StampReader::new(TimeZone::UTC)).is_empty());
    }
}
