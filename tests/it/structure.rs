//! The shape of `src/`, read as text: rules of the design that no compiler error would
//! catch if they were broken again.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as (path relative to `src/`, text).
fn sources(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
        }
    }
}

/// Whether `text` names the crate's module `module`: `crate::module`, `super::module` or
/// `module` in a `use crate::{…}` group.
fn names(text: &str, module: &str) -> bool {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let paths = [format!("crate::{module}"), format!("super::{module}")];
    let direct = paths.iter().any(|path| {
        code.match_indices(path.as_str())
            .any(|(i, _)| !code[i + path.len()..].starts_with(ident))
    });
    let grouped = code.match_indices("crate::{").any(|(i, m)| {
        let group = &code[i + m.len()..];
        let (mut depth, mut start) = (0, 0);
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => return is(module, &group[start..j]),
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    if is(module, &group[start..j]) {
                        return true;
                    }
                    start = j + 1;
                }
                _ => {}
            }
        }
        false
    });
    direct || grouped
}

/// Whether a `use` item (spaces removed) is `module` or something in it.
fn is(module: &str, item: &str) -> bool {
    item.strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with("as"))
}

fn names_app(text: &str) -> bool {
    names(text, "app")
}

#[test]
fn the_app_detector_sees_every_spelling() {
    assert!(names_app("use crate::app::{self, Exit};"));
    assert!(names_app("use crate::app;"));
    assert!(names_app("let p = crate::app::load_policy(x);"));
    assert!(names_app("use crate::{\n    app,\n    plan,\n};"));
    assert!(names_app("use crate::{plan::{self, Action}, app::Exit};"));
    assert!(names_app("use super::app;"));
    assert!(!names_app("use crate::apply;"));
    assert!(!names_app("use crate::{plan, pass};"));
    assert!(!names_app("// see crate::app for the commands"));
    assert!(!names("use crate::watches::{site_dirs, Watches};", "watch"));
    assert!(names("use crate::{watch as w, pass};", "watch"));
}

/// `app` turns arguments into commands and errors into exit codes: only `main` calls it.
/// Another module that did would bring back the `app` ↔ `watch` cycle, or put the pass that
/// `enforce`, `watch` and the simulations share back in the CLI.
#[test]
fn no_module_but_main_imports_app() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    assert!(files.len() > 10, "src/ was not found: {files:?}");
    let offenders: Vec<String> = files
        .iter()
        .filter(|(path, _)| path != Path::new("main.rs") && path != Path::new("lib.rs"))
        .filter(|(_, text)| names_app(text))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these modules use crate::app, which only main.rs may: {offenders:?}"
    );
}

/// `pass` is what `app` and `watch` share: it depends on neither, so the three have no
/// cycle.
#[test]
fn the_pass_depends_on_neither_the_cli_nor_the_service() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pass.rs");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!names(&text, "app"), "src/pass.rs uses crate::app");
    assert!(!names(&text, "watch"), "src/pass.rs uses crate::watch");
}

/// The schedule is pure so its tests can drive time by hand: it reads no clock and touches
/// no file.
#[test]
fn the_schedule_reads_no_clock_and_does_no_io() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/schedule.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap();
    for banned in [
        "::now()",
        "std::fs",
        "std::io",
        "std::env",
        "std::thread",
        "elapsed()",
    ] {
        assert!(
            !code.contains(banned),
            "src/schedule.rs uses {banned} outside its tests"
        );
    }
}
