//! stdin → stdout through `mask_stream`, for benchmarking the engine without the CLI.
//!
//! `anonymize_filter [--scope all|client] [--ipv4-prefix 24] [--ipv6-prefix 40] [--flush]`

use std::io;
use std::process::ExitCode;

use logwarden::anonymize::{Mask, Scope, mask_stream};

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut v4, mut v6, mut scope, mut flush) = (24u8, 40u8, Scope::All, false);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--scope" => {
                scope = match value()?.as_str() {
                    "all" => Scope::All,
                    "client" => Scope::Client,
                    other => return Err(format!("unknown scope {other}")),
                }
            }
            "--ipv4-prefix" => v4 = value()?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--ipv6-prefix" => v6 = value()?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--flush" => flush = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let mask = Mask::new(v4, v6, scope).map_err(|e| e.to_string())?;
    let stats = mask_stream(&mask, io::stdin().lock(), io::stdout().lock(), flush)
        .map_err(|e| e.to_string())?;
    eprintln!(
        "anonymize_filter: {} bytes in, {} out, {} lines, {} addresses masked",
        stats.bytes_in, stats.bytes_out, stats.lines, stats.masked
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("anonymize_filter: {e}");
            ExitCode::from(2)
        }
    }
}
