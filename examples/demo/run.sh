#!/usr/bin/env bash
# Runs one `logwarden enforce` pass over a copy of the bundled example logs and shows
# them before and after. The clock is fixed (--now) so the result is the same every day.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
demo="$root/target/demo"
now="2026-11-29T12:00:00Z"

rm -rf "$demo"
mkdir -p "$demo"
cp -r "$here/logs" "$here/config.yaml" "$demo/"
# As a distribution installs them: logs readable by their group only.
chmod 750 "$demo/logs" "$demo/logs/"*
chmod 640 "$demo/logs/"*/*

if [ -x "$root/target/debug/logwarden" ]; then
    echo "== building logwarden (up to date unless the sources changed)"
else
    echo "== building logwarden: the first run compiles it and its crates, a few minutes on a"
    echo "   fresh clone (cargo shows its progress below); later runs start at once"
fi
cargo build --manifest-path "$root/Cargo.toml"
echo
lw="$root/target/debug/logwarden"

show() {
    (cd "$demo/logs" && for f in */*; do
        printf '  %-40s %8s bytes\n' "$f" "$(stat -c %s "$f")"
    done)
}

echo "== before (the logs as a default setup leaves them; now = $now)"
show
echo
echo "== the audit before (logwarden check)"
"$lw" --config "$demo/config.yaml" --now "$now" check || true
echo
echo "== the plan (logwarden enforce --dry-run)"
"$lw" --config "$demo/config.yaml" --now "$now" enforce --dry-run
echo
echo "== enforce"
"$lw" --config "$demo/config.yaml" --now "$now" enforce || true
echo
echo "== after"
show
echo
echo "== the audit after (logwarden check)"
"$lw" --config "$demo/config.yaml" --now "$now" check
echo
echo "== the oldest records kept for main, now with truncated addresses:"
# head closes the pipe early: zcat's SIGPIPE is expected, not a failure.
zcat "$demo"/logs/main/access.log-*.gz | head -n 3 || true
echo
echo "== what to write in the privacy policy (logwarden describe)"
"$lw" --config "$demo/config.yaml" describe --format text
echo
echo "Look around in $demo; run this script again to start over."
