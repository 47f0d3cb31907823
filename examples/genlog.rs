//! Writes a deterministic synthetic nginx access log with the project's generator,
//! `tests/it/synth.rs` (dev-side code: the library does not ship it).
//!
//! `genlog --size 200M --seed 1 [--format json|caddy] [--xff] [--start UNIX --span SECS] [-o FILE]`

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;

// The numbered test lines in there are unused here.
#[allow(dead_code)]
#[path = "../tests/it/synth.rs"]
mod synth;

use synth::{Format, SynthLog};

fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix('B').unwrap_or(&t);
    let (num, mult) = match t.chars().last()? {
        'K' => (&t[..t.len() - 1], 1u64 << 10),
        'M' => (&t[..t.len() - 1], 1 << 20),
        'G' => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let v = (num.parse::<f64>().ok()? * mult as f64) as u64;
    (v > 0).then_some(v)
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut size, mut seed, mut output) = (None, 1u64, None::<String>);
    let mut log = SynthLog::new(Format::Combined, 1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--size" => size = Some(parse_size(&value()?).ok_or("bad --size")?),
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--format" => {
                log.format = match value()?.as_str() {
                    "combined" => Format::Combined,
                    "json" => Format::Json,
                    "caddy" => Format::Caddy,
                    other => return Err(format!("unknown format {other}")),
                }
            }
            "--xff" => log.xff = true,
            "--start" => log.start = value()?.parse().map_err(|e| format!("--start: {e}"))?,
            "--span" => log.span_secs = value()?.parse().map_err(|e| format!("--span: {e}"))?,
            "-o" | "--output" => output = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "genlog --size 200M --seed 1 [--format combined|json|caddy] [--xff] \
                     [--start UNIX --span SECS] [-o FILE]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    log.seed = seed;
    let size = size.ok_or("--size is required")?;
    let out: Box<dyn Write> = match output.as_deref() {
        None | Some("-") => Box::new(io::stdout().lock()),
        Some(path) => Box::new(File::create(path).map_err(|e| format!("{path}: {e}"))?),
    };
    log.write_lines(out, size).map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genlog: {e}");
            ExitCode::from(2)
        }
    }
}
