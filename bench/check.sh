#!/usr/bin/env bash
# Times `logwarden check` over generated gzip archives against `zcat > /dev/null` of the
# same archives, in the same run, and prints the ratio (goal: <= 1.3x).
# Usage: bench/check.sh [SIZE_PER_ARCHIVE (default 40M)] [ARCHIVES (default 4)]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-40M}
count=${2:-4}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
bin=$CARGO_TARGET_DIR/release/logwarden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs"
chmod 700 "$work"
gen=../shared/bench/gen_access_log.py
for i in $(seq 1 "$count"); do
    out="$work/logs/access.log.$i"
    start=$(( $(date +%s) - i * 86400 ))
    if grep -q 'genlog' Cargo.toml 2>/dev/null || [ -f examples/genlog.rs ]; then
        cargo run --release --quiet --example genlog -- --size "$size" --seed "$i" -o "$out"
    elif [ -f "$gen" ]; then
        python3 "$gen" --size "$size" --seed "$i" --start "$start" --span 86400 -o "$out"
    else
        # Fallback: a repeated combined-format line with a moving time stamp.
        python3 - "$out" "$size" "$start" <<'PY'
import sys, time
out, size, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
mult = {"k": 1 << 10, "M": 1 << 20, "G": 1 << 30}
n = int(size[:-1]) * mult[size[-1]] if size[-1] in mult else int(size)
with open(out, "w") as f:
    written, i = 0, 0
    while written < n:
        t = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(start + i % 86400))
        line = f'198.51.{i % 256}.{i % 250 + 1} - - [{t}] "GET /p/{i} HTTP/1.1" 200 {i % 9000} "-" "Mozilla/5.0"\n'
        f.write(line); written += len(line); i += 1
PY
    fi
    gzip -6 "$out"
done
cat > "$work/config.yaml" <<YAML
lock_file: $work/lock
sites:
  bench:
    logs: [$work/logs/access.log]
    retention: 400d
    anonymize: { after: 0s }
YAML
secs() { python3 -c 'import sys,time; print(f"{time.time():.3f}")'; }
t0=$(secs); zcat "$work"/logs/*.gz > /dev/null; t1=$(secs)
"$bin" --config "$work/config.yaml" -q check > "$work/report.txt" || true
t2=$(secs)
python3 - "$t0" "$t1" "$t2" "$(du -sh "$work/logs" | cut -f1)" <<'PY'
import sys
t0, t1, t2, size = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
z, c = t1 - t0, t2 - t1
print(f"archives: {size} compressed; zcat: {z:.2f}s; logwarden check: {c:.2f}s; ratio {c / z:.2f}x (goal <= 1.3x)")
PY
