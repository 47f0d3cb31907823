#!/usr/bin/env bash
# Throughput of the release binary's IP truncation against cat and gzip -1 on the same
# 200 MB synthetic access log, plus peak RSS. Run from anywhere: bash bench/anonymize.sh
# Env: SIZE (default 200M), SEED (1), RUNS (best of, 3), WORK (scratch dir), CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
size=${SIZE:-200M}
seed=${SEED:-1}
runs=${RUNS:-3}
target=${CARGO_TARGET_DIR:-$root/target}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
log=$work/access-$size-$seed.log

if [[ ! -x /usr/bin/time ]]; then
    echo "/usr/bin/time is missing (peak RSS); install it: apt-get install -y time" >&2
    exit 1
fi

(cd "$root" && cargo build --release --quiet --examples --bins)

if [[ ! -s $log ]]; then
    gen=$root/../shared/bench/gen_access_log.py
    if [[ -f $gen ]] && command -v python3 >/dev/null; then
        echo "generating $size with $gen" >&2
        python3 "$gen" --size "$size" --seed "$seed" -o "$log"
    else
        echo "generating $size with examples/genlog" >&2
        "$target/release/examples/genlog" --size "$size" --seed "$seed" -o "$log"
    fi
fi
bytes=$(stat -L -c %s "$log")

# Prefer the real CLI when its subcommand really masks (a placeholder main exits 0 on
# anything); otherwise the engine's stdin→stdout example.
bin=$target/release/logwarden
if [[ -x $bin ]] &&
    [[ $(printf '192.0.2.77\n' | "$bin" anonymize --scope all 2>/dev/null) == 192.0.2.0 ]]; then
    filter=("$bin" anonymize)
else
    filter=("$target/release/examples/anonymize_filter")
fi
echo "filter: ${filter[*]}" >&2

# best wall time of $runs runs and the peak RSS of that run (`run` of lib.sh); output goes
# to /dev/null through a pipe-free redirect, input from the file (page cache warm after the
# first run)
source "$(dirname "$0")/lib.sh"
measure() { input=$log run true "$@"; }

cat "$log" >/dev/null # warm the page cache
printf '%-16s %8s %10s %10s %10s %12s\n' case seconds MB/s "x cat" "x gzip-1" "peak RSS"
declare -A secs rsss
names=(cat gzip1 all client)
# A file is masked on every core logwarden may use; `all-1core` pins it to one, as gzip is.
command -v taskset >/dev/null && names+=(all-1core)
for name in "${names[@]}"; do
    case $name in
    cat) r=$(measure cat) ;;
    gzip1) r=$(measure gzip -1) ;;
    all) r=$(measure "${filter[@]}" --scope all) ;;
    client) r=$(measure "${filter[@]}" --scope client) ;;
    all-1core) r=$(measure taskset -c 0 "${filter[@]}" --scope all) ;;
    esac
    read -r s m <<<"$r"
    secs[$name]=$s rsss[$name]=$m
done
for name in "${names[@]}"; do
    awk -v n="$name" -v s="${secs[$name]}" -v b="$bytes" -v c="${secs[cat]}" \
        -v g="${secs[gzip1]}" -v m="${rsss[$name]}" 'BEGIN {
        s = (s > 0 ? s : 0.005)
        mbs = b / 1048576 / s
        printf "%-16s %8.3f %10.0f %10.2f %10.2f %9.1f MB\n", n, s, mbs, (c > 0 ? c : 0.005) / s, g / s, m / 1024
    }'
done
echo "input: $log ($bytes bytes); MB = 2^20 bytes; best of $runs; 'x' columns = speed relative to that tool" >&2
