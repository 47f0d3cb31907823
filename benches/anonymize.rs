//! Engine throughput on generated logs (the release-binary comparison with gzip is
//! `bench/anonymize.sh`).

use std::hint::black_box;
use std::io;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logwarden::anonymize::{Mask, Scope, mask_line, mask_stream};

// The project's log generator (dev-side, not in the library); only its stream is used here.
#[allow(dead_code)]
#[path = "../tests/it/synth.rs"]
mod synth;

use synth::{Format, SynthLog};

fn bench(c: &mut Criterion) {
    for (fmt, name) in [(Format::Combined, "combined"), (Format::Json, "json")] {
        let mut log = SynthLog::new(fmt, 1);
        log.xff = true;
        let mut data = Vec::new();
        log.write_lines(&mut data, 32 << 20)
            .expect("in-memory write");
        let mut group = c.benchmark_group(format!("anonymize/{name}"));
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.sample_size(10);
        for (scope, sname) in [(Scope::All, "all"), (Scope::Client, "client")] {
            let mask = Mask::new(24, 40, scope).expect("valid prefixes");
            group.bench_function(format!("stream/{sname}"), |b| {
                b.iter(|| mask_stream(&mask, black_box(&data[..]), io::sink(), false));
            });
            let mut out = Vec::with_capacity(data.len());
            group.bench_function(format!("whole_buffer/{sname}"), |b| {
                b.iter(|| {
                    out.clear();
                    mask_line(&mask, black_box(&data), &mut out)
                });
            });
            // One call per line, as `watch` masks each received line: the fixed cost of a
            // call shows here and not in the whole-buffer figure.
            group.bench_function(format!("per_line/{sname}"), |b| {
                b.iter(|| {
                    let mut n = 0;
                    for line in data.split_inclusive(|&b| b == b'\n') {
                        out.clear();
                        n += mask_line(&mask, black_box(line), &mut out);
                    }
                    n
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
