#!/usr/bin/env bash
# What `logwarden watch` costs: CPU ticks (utime+stime from /proc/PID/stat) while idle and
# while a log grows at RATE lines/s (one write(2) per line, as nginx without buffer= does),
# and peak RSS (VmHWM). Goals: idle ~0 ticks, busy < 2% of one core, VmHWM <= 16 MB.
#
#   bench/watch.sh                          # one minute idle, one minute busy
#   IDLE_SECS=10 BUSY_SECS=10 bench/watch.sh  # short run
#   LOGWARDEN=/path/to/logwarden bench/watch.sh  # skip the release build
set -euo pipefail
IDLE_SECS=${IDLE_SECS:-60}
BUSY_SECS=${BUSY_SECS:-60}
RATE=${RATE:-5000}
cd "$(dirname "$0")/.."
BIN=${LOGWARDEN:-}
if [ -z "$BIN" ]; then
    cargo build --release --quiet
    BIN=${CARGO_TARGET_DIR:-target}/release/logwarden
fi
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir "$tmp/logs"
: > "$tmp/logs/access.log"
cat > "$tmp/config.yaml" <<YAML
lock_file: $tmp/logwarden.lock
sites:
  main:
    logs: [$tmp/logs/access.log]
    rotate: { every: 1d, max_size: 1GiB }
YAML
"$BIN" --config "$tmp/config.yaml" -q watch &
pid=$!
sleep 1
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
pct() { awk -v t="$1" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.2f", t / hz / s * 100 }'; }

t0=$(ticks)
sleep "$IDLE_SECS"
t1=$(ticks)
idle=$((t1 - t0))

python3 - "$tmp/logs/access.log" "$RATE" "$BUSY_SECS" > "$tmp/written" <<'PY'
import os, sys, time
path, rate, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
start, n = time.monotonic(), 0
while (el := time.monotonic() - start) < secs:
    stamp = time.strftime('%d/%b/%Y:%H:%M:%S +0000', time.gmtime())
    while n < int(el * rate):
        os.write(fd, f'198.51.100.{n % 250 + 1} - - [{stamp}] "GET /page/{n} HTTP/1.1" 200 512 "-" "bench"\n'.encode())
        n += 1
    time.sleep(0.002)
print(n)
PY
t2=$(ticks)
busy=$((t2 - t1))
hwm=$(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=

echo "idle:  $idle ticks in ${IDLE_SECS}s ($(pct "$idle" "$IDLE_SECS")% of one core; CLK_TCK=$hz)"
echo "busy:  $busy ticks in ${BUSY_SECS}s at $RATE lines/s, $(cat "$tmp/written") lines ($(pct "$busy" "$BUSY_SECS")% of one core)"
echo "peak RSS (VmHWM): $hwm"
echo "exit status on SIGTERM: $status"
