#!/usr/bin/env bash
# A thousand sites (issue #19, goal 5): SITES (1,000) site directories, each with an access
# log and an error log and ARCHIVES (30) archives of each that logwarden made itself (with
# their facts header, so an idle pass reads none of them): 62,000 files. It measures
#
#   1. an idle `enforce` (nothing due) over them, best of RUNS, against `find -type f | wc -l`
#      over the same tree in the same run. Goals: under 0.5 s, peak RSS under 32 MB.
#   2. `logwarden watch` over the same sites (`rotate: { every: 1d, max_size: 1MiB }`):
#      - the start: seconds and CPU ticks until its first look at every site is done;
#      - CPU ticks (utime+stime, /proc/PID/stat) over IDLE_SECS idle. Goal: 0;
#      - peak RSS (VmHWM). Goal: under 32 MB;
#      - LATENCY_RUNS times, in a different site each time, one access log appended past its
#        max_size (1.1 MB in one `cat >>`) and the time until its archive appears. Goal:
#        within 2 s, every time.
#
#   bench/many.sh                                    # 1,000 sites, one idle minute
#   SITES=100 IDLE_SECS=10 bench/many.sh             # short run
#   WATCH=0 bench/many.sh                            # the idle enforce only
#   LOGWARDEN=/path/to/logwarden bench/many.sh       # skip the release build
#   WORK=/tmp/dir bench/many.sh                      # keep (and reuse) the tree there
#
# Called by bench/run.sh (section 7). Needs bash >= 5 (EPOCHREALTIME), gzip, /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${SITES:-1000}
archives=${ARCHIVES:-30}
runs=${RUNS:-3}
idle_secs=${IDLE_SECS:-60}
latency_runs=${LATENCY_RUNS:-5}
watch=${WATCH:-1}
bin=${LOGWARDEN:-}
if [[ -z $bin ]]; then
    cargo build --release --quiet --bins
    bin=${CARGO_TARGET_DIR:-target}/release/logwarden
fi
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing: apt-get install -y time" >&2; exit 1; }
# run, ratio (and the check for bash 5)
source "$(dirname "$0")/lib.sh"
if [[ -n ${WORK:-} ]]; then
    work=$WORK
    mkdir -p "$work"
else
    work=$(mktemp -d)
fi
pid=
cleanup() {
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    [[ -n ${WORK:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
tree=$work/sites
# The archives' records are of 2026-11-28; the passes run a day later.
built=2026-11-30T00:00:00Z
now=2026-11-30T01:00:00Z

# The tree: one access and one error archive of ours (from a template site with one record
# in each log, a day later: rotated and masked), copied ARCHIVES times into every site.
# tee writes them all from one process per site and log.
if [[ ! -f $tree/.done-$sites-$archives || ! -s $work/many.yaml ]]; then
    rm -rf "$tree" && mkdir -p "$tree/tpl"
    printf '198.51.100.7 - - [28/Nov/2026:23:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"\n' >"$tree/tpl/access.log"
    printf '2026/11/28 23:00:00 [error] 812#812: *1 open() "/srv/www/favicon.ico" failed (2: No such file or directory), client: 198.51.100.7, server: example.org, request: "GET /favicon.ico HTTP/1.1", host: "example.org"\n' >"$tree/tpl/error.log"
    cat >"$work/tpl.yaml" <<EOF
lock_file: $work/lw.lock
sites:
  tpl:
    logs: [$tree/tpl/access.log, $tree/tpl/error.log]
    anonymize: { after: 0s }
EOF
    "$bin" -q --config "$work/tpl.yaml" --now "$built" enforce
    tpl_a=$(ls "$tree"/tpl/access.log-*.gz)
    tpl_e=$(ls "$tree"/tpl/error.log-*.gz)
    mode=$(stat -c %a "$tpl_a")
    {
        echo "lock_file: $work/lw.lock"
        echo "sites:"
        for n in $(seq -w 1 "$sites"); do
            d=$tree/s$n
            mkdir "$d"
            : >"$d/access.log"
            : >"$d/error.log"
            names_a=() names_e=()
            for a in $(seq 0 $((archives - 1))); do
                stamp=20261129-00$(printf '%02d%02d' $((a / 60)) $((a % 60)))
                names_a+=("$d/access.log-$stamp.gz")
                names_e+=("$d/error.log-$stamp.gz")
            done
            (umask "$(printf '%03o' $((0777 & ~0$mode)))"
             tee "${names_a[@]}" <"$tpl_a" >/dev/null
             tee "${names_e[@]}" <"$tpl_e" >/dev/null)
            echo "  s$n:"
            echo "    logs: [$d/access.log, $d/error.log]"
            echo "    rotate: { every: 1d, max_size: 1MiB }"
        done
    } >"$work/many.yaml"
    rm -rf "$tree/tpl"
    touch "$tree/.done-$sites-$archives"
fi
files=$(find "$tree" -type f -name '*.gz' | wc -l)

row() { printf '%-46s %8s %8s %10s\n' "$@"; }
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN{ print (v < lim) ? "met" : "NOT met" }'; }

echo "a thousand sites: $sites sites x (access + error) x $archives archives = $files archives; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
row case seconds ratio "peak RSS"
row ---- ------- ----- --------

# 1. the idle pass
find "$tree" -type f -printf '%i %p\n' | sort >"$work/inodes"
read -r fd fdm < <(run true bash -c "find '$tree' -type f | wc -l")
read -r idle idlem < <(run true "$bin" -q --config "$work/many.yaml" --now "$now" enforce)
find "$tree" -type f -printf '%i %p\n' | sort | cmp -s - "$work/inodes" || {
    echo "an idle pass changed files" >&2; exit 1; }
row "find -type f | wc -l (reference)" "$fd" 1.00 "${fdm} KB"
row "enforce, nothing due, $sites sites" "$idle" "$(ratio "$idle" "$fd")" "${idlem} KB"
echo "  goal: under 0.5 s: $(verdict "$idle" 0.5); peak RSS under 32 MB: $(verdict "$idlem" 32768)"
[[ $watch == 1 ]] || exit 0
echo

# 2. watch
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
start=$EPOCHREALTIME
"$bin" -q --config "$work/many.yaml" --now "$now" watch 2>"$work/watch.err" &
pid=$!
# The start is over when its ticks stop moving for a second (the first look at every site).
prev=-1
while :; do
    sleep 1
    kill -0 "$pid" 2>/dev/null || { echo "watch died:" >&2; cat "$work/watch.err" >&2; exit 1; }
    t=$(ticks)
    [[ $t == "$prev" ]] && break
    prev=$t
done
started=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a - 1}')
start_ticks=$prev
start_hwm=$(hwm)
t0=$(ticks)
sleep "$idle_secs"
t1=$(ticks)
idle_ticks=$((t1 - t0))
idle_hwm=$(hwm)

# A log of this site crosses its max_size: 1.1 MB of records of the last hour.
awk 'BEGIN {
    for (i = 0; i < 12000; i++)
        printf "203.0.113.%d - - [30/Nov/2026:00:30:00 +0000] \"GET /page/%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0\"\n",
            i % 250 + 1, i, i % 9000
}' >"$work/chunk"
lat=()
worst=0
for i in $(seq 1 "$latency_runs"); do
    n=$(printf "%0${#sites}d" $(( (i * 397) % sites + 1 )))
    d=$tree/s$n
    shopt -s nullglob
    before=("$d"/access.log-*.gz)
    t_a=$EPOCHREALTIME
    cat "$work/chunk" >>"$d/access.log"
    while :; do
        after=("$d"/access.log-*.gz)
        (( ${#after[@]} > ${#before[@]} )) && break
        awk -v a="$t_a" -v b="$EPOCHREALTIME" 'BEGIN{exit !(b - a > 30)}' && {
            echo "s$n: no archive within 30 s" >&2; cat "$work/watch.err" >&2; exit 1; }
        sleep 0.01
    done
    t_b=$EPOCHREALTIME
    shopt -u nullglob
    l=$(awk -v a="$t_a" -v b="$t_b" 'BEGIN{printf "%.2f", b - a}')
    lat+=("$l")
    worst=$(awk -v a="$l" -v b="$worst" 'BEGIN{print (a > b) ? a : b}')
    sleep 2
done
end_hwm=$(hwm)
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=

row "watch: start, first look at every site" "$started" "-" "${start_hwm} KB"
echo "  $start_ticks CPU ticks for the start (CLK_TCK=$hz)"
echo "  idle: $idle_ticks CPU ticks in ${idle_secs}s (goal 0: $( ((idle_ticks == 0)) && echo met || echo NOT met))"
echo "  max_size crossed -> archive: ${lat[*]} s (worst $worst; goal within 2 s: $(verdict "$worst" 2.0001))"
echo "  peak RSS (VmHWM): ${idle_hwm} KB idle, ${end_hwm} KB after the rotations (goal under 32 MB: $(verdict "$end_hwm" 32768))"
echo "  exit status on SIGTERM: $status"
