#!/usr/bin/env bash
# What an idle pass costs over archives without our header: 1,000 `.xz` archives that
# logwarden has masked already (logrotate's names, `access.log.N.xz`), a pass an hour later
# with nothing due. Before the facts cache each such pass decompressed every one of them
# (0.4 s per 34 MB); now it reads none. Goal: under 0.2 s. Reported next to references
# measured in the same run: `find | wc -l` over the same files, and `xz -dc` of all of
# them (what every idle pass used to cost at least).
#
#   bench/foreign.sh                             # 1,000 archives, best of 3
#   ARCHIVES=200 RUNS=5 bench/foreign.sh
#   LOGWARDEN=/path/to/logwarden bench/foreign.sh  # skip the release build
#
# Called by bench/run.sh (section 5). Needs bash, xz and /usr/bin/time; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
archives=${ARCHIVES:-1000}
runs=${RUNS:-3}
bin=${LOGWARDEN:-}
if [[ -z $bin ]]; then
    cargo build --release --quiet --bins
    bin=${CARGO_TARGET_DIR:-target}/release/logwarden
fi
command -v xz >/dev/null || { echo "xz is missing: apt-get install -y xz-utils" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing: apt-get install -y time" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/logs"

# A day of records a minute apart, a week and more before the pass: all due for masking.
awk 'BEGIN {
    for (i = 0; i < 1440; i++) {
        printf "198.51.%d.%d - - [20/Nov/2026:%02d:%02d:00 +0000] \"GET /page/%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0\"\n",
            i % 256, i % 250 + 1, i / 60, i % 60, i, i % 9000
    }
}' | xz -1 >"$work/tpl.xz"
for n in $(seq 1 "$archives"); do cp "$work/tpl.xz" "$work/logs/access.log.$n.xz"; done
cat >"$work/config.yaml" <<YAML
lock_file: $work/logwarden.lock
sites:
  main:
    logs: [$work/logs/access.log]
    rotate: { every: 1d }
    retention: 30d
    anonymize: { after: 7d }
YAML
# The pass that masks them all (each rewritten once, in its own format).
"$bin" -q --config "$work/config.yaml" --now 2026-11-29T00:00:00Z enforce
ls -i "$work/logs" >"$work/inodes"

# run, ratio
source "$(dirname "$0")/lib.sh"
# best CMD...: the best wall time of $runs runs, in seconds.
best() { local out; out=$(run true "$@") || exit 1; echo "${out%% *}"; }
row() { printf '%-40s %8s %8s\n' "$@"; }

fd=$(best bash -c "find '$work/logs' -type f | wc -l")
xzc=$(best bash -c "cat '$work'/logs/*.xz | xz -dc")
idle=$(best "$bin" -q --config "$work/config.yaml" --now 2026-11-29T01:00:00Z enforce)
# The passes must have been idle: no archive rewritten since the masking pass.
ls -i "$work/logs" | cmp -s - "$work/inodes" || { echo "an idle pass rewrote archives" >&2; exit 1; }
row "find -type f | wc -l (reference)" "$fd" 1.00
row "xz -dc of all (the old idle cost)" "$xzc" "$(ratio "$xzc" "$fd")"
row "enforce, nothing due, $archives masked .xz" "$idle" "$(ratio "$idle" "$fd")"
verdict=$(awk -v s="$idle" 'BEGIN{ print (s < 0.2) ? "met" : "NOT met" }')
echo "  goal: an idle pass under 0.2 s: $verdict"
