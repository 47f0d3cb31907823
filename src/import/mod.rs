//! Moving from logrotate: its stanzas read (`logrotate`), their reopen scripts recognised
//! (`script`), and a policy written from them (`translate`); and the check `validate` runs so
//! that logrotate and logwarden never rotate the same file.
//!
//! Nothing here changes a file: `import` prints, `validate` warns. The overlap check must
//! never miss a shared file (two tools renaming one log lose lines between them), so it
//! compares patterns, not the files present today, with the policy's own pattern rule.

pub mod logrotate;
mod script;
mod translate;

use std::path::{Path, PathBuf};

pub use logrotate::ImportError;

use crate::policy::{NamePattern, Policy, normal_path};

/// `logwarden import logrotate FILE...`: the policy text for these files.
pub fn logrotate_policy(files: &[PathBuf]) -> Result<String, ImportError> {
    let found = logrotate::load(files)?;
    Ok(translate::policy(&found))
}

/// Warnings for every site log that a stanza in `dir` (`/etc/logrotate.d`) rotates too
/// (but for a site with `rotate: false`, and a stanza with logwarden as its compressor). A
/// file there that cannot be read or parsed is a warning of its own: its stanzas could not be
/// compared. A missing directory is no warning: logrotate is simply not installed.
pub fn logrotate_overlaps(policy: &Policy, dir: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    let Ok(files) = logrotate::dir_files(dir) else {
        log::debug!("{}: no logrotate stanzas to compare with", dir.display());
        return warnings;
    };
    for file in files {
        let stanzas = std::fs::read_to_string(&file)
            .map_err(|source| ImportError::Read {
                path: file.clone(),
                source,
            })
            .and_then(|text| logrotate::parse(&file, &text));
        let items = match stanzas {
            Ok(items) => items,
            Err(e) => {
                warnings.push(format!(
                    "{e}; its stanzas were not compared with the policy's logs"
                ));
                continue;
            }
        };
        for item in items {
            let logrotate::Item::Stanza(stanza) = item else {
                continue;
            };
            // logwarden as logrotate's compressor ("Use with logrotate" in the README):
            // logrotate alone rotates these files, on purpose.
            let compressor = stanza.directives.iter().any(|d| {
                matches!(&d.kind, logrotate::Kind::CompressCmd(c) if c.rsplit('/').next() == Some("logwarden"))
            });
            if compressor {
                continue;
            }
            for path in &stanza.paths {
                for site in policy.sites.iter().filter(|s| !s.rotation.by_server) {
                    for log in site.logs.iter().filter(|l| may_match(path, l)) {
                        warnings.push(format!(
                            "{}:{}: logrotate also rotates {path}, which covers {} of site {} ({}): two tools rotating one file lose data; remove this stanza (or that path from it) once logwarden rotates the file",
                            file.display(),
                            stanza.line,
                            log.display(),
                            site.name,
                            log.key,
                        ));
                    }
                }
            }
        }
    }
    warnings
}

/// Whether a logrotate glob (wildcards anywhere) and a site's pattern (wildcards in the file
/// name only) can name one file.
fn may_match(glob: &str, log: &crate::policy::LogPattern) -> bool {
    let glob = Path::new(glob);
    let (Some(gdir), Some(gname)) = (glob.parent(), glob.file_name()) else {
        return false;
    };
    let (gdir, ldir) = (normal_path(gdir), normal_path(&log.dir));
    let (gparts, lparts): (Vec<_>, Vec<_>) =
        (gdir.components().collect(), ldir.components().collect());
    gparts.len() == lparts.len()
        && gparts.iter().zip(&lparts).all(|(g, l)| {
            NamePattern::new(&g.as_os_str().to_string_lossy())
                .matches(&l.as_os_str().to_string_lossy())
        })
        && NamePattern::new(&gname.to_string_lossy()).may_share_a_name(&log.name)
}
