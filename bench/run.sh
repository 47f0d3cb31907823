#!/usr/bin/env bash
# The whole pipeline against the tools users have today, in one run, as ratios (the
# machines are shared and noisy: only ratios measured side by side mean anything).
#
#   1. one `enforce` pass rotating a SIZE live log (truncation at rotation, gzip -6)
#      against `gzip -6` and against logrotate with `compress`; archive size against gzip's;
#      the same pass writing zstd archives at levels 3 and 19, time and size against gzip -6;
#      the same pass on a Caddy-shaped JSON log (`format: json`) against `gzip -6` of it
#   2. `anonymize` (both scopes, and pinned to one core) against cat, gzip -1 and, when
#      installed, anonip
#   3. `check` over the archives against `zcat > /dev/null` (gzip -6's, then logwarden's own)
#   4. an idle pass over 10,000 archives in 100 site directories against `find | wc -l`
#   5. an idle pass over 1,000 masked `.xz` archives against `find | wc -l` (bench/foreign.sh)
#   6. scaling: the rotation pass (against `gzip -6`) and `anonymize --scope all` (against
#      `gzip -1`) at each size of SCALES, on logs of the project's own generator, so the cost
#      can be read as linear in the size and the memory as constant
#   7. a thousand sites (bench/many.sh): an idle pass over 1,000 sites x 2 logs x 30 archives
#      against `find | wc -l` (goal < 0.5 s, < 32 MB), and `watch` over them: idle CPU ticks
#      (goal 0), VmHWM (goal < 32 MB), max_size crossed -> archive (goal within 2 s)
#   and the peak RSS of each (1 to 4, 6, 7)
#
# Env: SIZE (200M), SEED (1), RUNS (best of, 3), WORK (scratch dir), CARGO_TARGET_DIR,
# SCALES ("50M 200M 1G"; empty to skip section 6; the 1 GB step needs about 2.2 GB of disk
# for a moment and a few minutes), MANY (1; 0 to skip section 7), MANY_IDLE_SECS (60).
# Plain tools only: bash, python3 (the data generator, optional), /usr/bin/time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
size=${SIZE:-200M}
seed=${SEED:-1}
runs=${RUNS:-3}
target=${CARGO_TARGET_DIR:-$root/target}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
lw=$target/release/logwarden
now=2026-11-29T00:00:00Z

[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing: apt-get install -y time" >&2; exit 1; }
(cd "$root" && cargo build --release --quiet --bins --examples)

log=$work/access-$size-$seed.log
if [[ ! -s $log ]]; then
    gen=$root/../shared/bench/gen_access_log.py
    # One day of records, the first a minute over a day old at $now (a small SIZE still
    # reaches rotate.every: the generators may start a second late), so a pass rotates and
    # masks it all.
    start=$(( $(date -d "$now" +%s) - 86460 ))
    if [[ -f $gen ]] && command -v python3 >/dev/null; then
        python3 "$gen" --size "$size" --seed "$seed" --start "$start" --span 86000 -o "$log"
    else
        "$target/release/examples/genlog" --size "$size" --seed "$seed" --start "$start" --span 86000 -o "$log"
    fi
fi
bytes=$(stat -c %s "$log")
cat "$log" >/dev/null

# run, ratio
source "$root/bench/lib.sh"
mbps() { awk -v s="$1" -v n="$bytes" 'BEGIN{ if (s > 0) printf "%.0f", n/s/1e6; else printf "inf" }'; }
row() { printf '%-34s %8s %8s %9s %10s\n' "$@"; }

echo "logwarden pipeline benchmark: $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), input $size ($bytes bytes)"
echo
row case seconds MB/s ratio "peak RSS"
row ---- ------- ---- ----- --------

# 1. rotation pass
site=$work/site
cat >"$work/rotate.yaml" <<EOF
lock_file: $work/lw.lock
sites:
  bench:
    logs: [$site/access.log]
    anonymize: { after: 0s }
    compress: { method: gzip, level: 6 }
EOF
fresh_site="rm -rf '$site' && mkdir -p '$site' && cp '$log' '$site/access.log'"
read -r g6 g6m < <(run "true" bash -c "gzip -6 -c '$log' > '$work/ref.gz'")
read -r lwp lwpm < <(run "$fresh_site" "$lw" -q --config "$work/rotate.yaml" --now "$now" enforce)
lw_size=$(stat -c %s "$site"/access.log-*.gz)
cp "$site"/access.log-*.gz "$work/own.gz"  # section 3 audits it too
g6_size=$(stat -c %s "$work/ref.gz")
row "gzip -6 (reference)" "$g6" "$(mbps "$g6")" 1.00 "${g6m} KB"
row "enforce: rotate+mask+gzip 6" "$lwp" "$(mbps "$lwp")" "$(ratio "$lwp" "$g6")" "${lwpm} KB"
if command -v logrotate >/dev/null; then
    cat >"$work/logrotate.conf" <<EOF
$site/access.log {
    rotate 5
    compress
    nodelaycompress
    missingok
}
EOF
    read -r lr lrm < <(run "$fresh_site; rm -f '$work/lr.state'" logrotate -f -s "$work/lr.state" "$work/logrotate.conf")
    row "logrotate compress (gzip -6)" "$lr" "$(mbps "$lr")" "$(ratio "$lr" "$g6")" "${lrm} KB"
else
    row "logrotate compress" "-" "-" "not installed" "-"
fi
echo "  archive: logwarden $lw_size bytes, gzip -6 $g6_size bytes ($(ratio "$lw_size" "$g6_size")x)"

# 1c. the same pass writing zstd archives (`compress: { method: zstd }`), levels 3 and 19,
# against the same gzip -6 run: time and archive size. Level 19 compresses at a few MB/s:
# run once.
for zl in 3 19; do
    sed "s/method: gzip, level: 6/method: zstd, level: $zl/" "$work/rotate.yaml" >"$work/rotate-zstd.yaml"
    zruns=$runs
    [[ $zl == 19 ]] && runs=1
    read -r zp zpm < <(run "$fresh_site" "$lw" -q --config "$work/rotate-zstd.yaml" --now "$now" enforce)
    runs=$zruns
    z_size=$(stat -c %s "$site"/access.log-*.zst)
    row "enforce: rotate+mask+zstd $zl" "$zp" "$(mbps "$zp")" "$(ratio "$zp" "$g6")" "${zpm} KB"
    echo "  archive: logwarden zstd $zl $z_size bytes ($(ratio "$z_size" "$g6_size")x gzip -6's)"
done

# 1b. the same pass on a Caddy-shaped JSON log of the same size (`format: json`, `ts`), by
# the project's own generator (the reference one writes nginx JSON only)
jlog=$work/caddy-$size-$seed.json
if [[ ! -s $jlog ]]; then
    start=$(( $(date -d "$now" +%s) - 86460 ))
    "$target/release/examples/genlog" --format caddy --xff --size "$size" --seed "$seed" \
        --start "$start" --span 86000 -o "$jlog"
fi
cat "$jlog" >/dev/null
cat >"$work/rotate-json.yaml" <<EOF
lock_file: $work/lw.lock
sites:
  bench:
    logs: [{ path: $site/caddy.log, format: json, time_field: ts }]
    anonymize: { after: 0s }
    compress: { method: gzip, level: 6 }
EOF
fresh_json="rm -rf '$site' && mkdir -p '$site' && cp '$jlog' '$site/caddy.log'"
read -r jg6 jg6m < <(run "true" bash -c "gzip -6 -c '$jlog' > '$work/ref-json.gz'")
read -r jlw jlwm < <(run "$fresh_json" "$lw" -q --config "$work/rotate-json.yaml" --now "$now" enforce)
jlw_size=$(stat -c %s "$site"/caddy.log-*.gz)
row "gzip -6, Caddy JSON (reference)" "$jg6" "$(mbps "$jg6")" 1.00 "${jg6m} KB"
row "enforce on Caddy JSON" "$jlw" "$(mbps "$jlw")" "$(ratio "$jlw" "$jg6")" "${jlwm} KB"
echo "  archive: logwarden $jlw_size bytes, gzip -6 $(stat -c %s "$work/ref-json.gz") bytes"
echo

# 2. anonymize
# Input from the file by redirection, no shell in between (`input` of lib.sh's `timed`).
read -r tc tcm < <(run true cat "$log")
read -r g1 g1m < <(input=$log run true gzip -1 -c)
read -r aa aam < <(input=$log run true "$lw" anonymize)
read -r ac acm < <(input=$log run true "$lw" anonymize --scope client)
row "cat" "$tc" "$(mbps "$tc")" "-" "${tcm} KB"
row "gzip -1 (reference)" "$g1" "$(mbps "$g1")" 1.00 "${g1m} KB"
row "anonymize --scope all" "$aa" "$(mbps "$aa")" "$(ratio "$g1" "$aa")x faster" "${aam} KB"
row "anonymize --scope client" "$ac" "$(mbps "$ac")" "$(ratio "$g1" "$ac")x faster" "${acm} KB"
# The same on section 1b's Caddy-shaped JSON log (issue #19 asks for both shapes).
read -r jg1 jg1m < <(input=$jlog run true gzip -1 -c)
read -r ja jam < <(input=$jlog run true "$lw" anonymize)
row "gzip -1, Caddy JSON (reference)" "$jg1" "$(mbps "$jg1")" 1.00 "${jg1m} KB"
row "anonymize --scope all, Caddy JSON" "$ja" "$(mbps "$ja")" "$(ratio "$jg1" "$ja")x faster" "${jam} KB"
# anonymize masks a file on every core it may use; gzip -1 uses one. The same run pinned to
# one core shows what the engine does alone.
if command -v taskset >/dev/null; then
    read -r a1 a1m < <(input=$log run true taskset -c 0 "$lw" anonymize)
    row "anonymize --scope all, one core" "$a1" "$(mbps "$a1")" "$(ratio "$g1" "$a1")x faster" "${a1m} KB"
fi
if command -v anonip >/dev/null; then
    head -c 20000000 "$log" >"$work/slice.log"
    sb=$(stat -c %s "$work/slice.log")
    read -r an anm < <(input=$work/slice.log run true anonip)
    read -r as asm < <(input=$work/slice.log run true "$lw" anonymize)
    row "anonip (20 MB slice)" "$an" "$(awk -v s="$an" -v n="$sb" 'BEGIN{printf "%.0f", n/s/1e6}')" 1.00 "${anm} KB"
    row "anonymize (same slice)" "$as" "$(awk -v s="$as" -v n="$sb" 'BEGIN{printf "%.0f", n/s/1e6}')" "$(ratio "$an" "$as")x faster" "${asm} KB"
else
    row "anonip" "-" "-" "not installed" "-"
fi
echo

# 3. check over the archives
if "$lw" check --help >/dev/null 2>&1; then
    arch=$work/arch
    rm -rf "$arch" && mkdir -p "$arch"
    for i in 1 2 3 4; do cp "$work/ref.gz" "$arch/access.log-2026112${i}-000000.gz"; done
    cat >"$work/check.yaml" <<EOF
lock_file: $work/lw.lock
sites:
  bench:
    logs: [$arch/access.log]
    retention: 3650d
EOF
    read -r zc zcm < <(run "true" bash -c "zcat '$arch'/*.gz > /dev/null")
    read -r ck ckm < <(run "true" bash -c "'$lw' -q --config '$work/check.yaml' --now '$now' check > /dev/null; test \$? -le 1")
    row "zcat > /dev/null (reference)" "$zc" "-" 1.00 "${zcm} KB"
    row "check" "$ck" "-" "$(ratio "$ck" "$zc")" "${ckm} KB"
    # The same audit over four copies of section 1's archive: masked, as an audit of a
    # compliant site finds its archives. Every record is then read by the masker (no full
    # address is found that would end the search), so this is the masker's speed.
    for i in 1 2 3 4; do cp "$work/own.gz" "$arch/access.log-2026112${i}-000000.gz"; done
    read -r zo zom < <(run "true" bash -c "zcat '$arch'/*.gz > /dev/null")
    read -r co com < <(run "true" bash -c "'$lw' -q --config '$work/check.yaml' --now '$now' check > /dev/null; test \$? -le 1")
    row "zcat, logwarden's archives (ref.)" "$zo" "-" 1.00 "${zom} KB"
    row "check, logwarden's archives" "$co" "-" "$(ratio "$co" "$zo")" "${com} KB"
else
    row "check" "-" "-" "not built" "-"
fi
echo

# 4. an idle pass over 10,000 archives in 100 site directories
# (its own config name: bench/many.sh writes $work/many.yaml for section 7, and a WORK used
# for both measured a thousand sites here)
many=$work/many
many_yaml=$work/many-10k.yaml
if [[ ! -d $many || ! -s $many_yaml ]]; then
    rm -rf "$many"
    mkdir -p "$many/tpl"
    printf '198.51.100.7 - - [28/Nov/2026:23:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"\n' >"$many/tpl/access.log"
    printf 'lock_file: %s/lw.lock\nsites:\n  tpl:\n    logs: [%s/tpl/access.log]\n    anonymize: { after: 0s }\n' "$work" "$many" >"$work/tpl.yaml"
    # A day later the template's one record is due: one archive of ours, with its header.
    "$lw" -q --config "$work/tpl.yaml" --now 2026-11-30T00:00:00Z enforce
    tpl=$(ls "$many"/tpl/access.log-*.gz)
    {
        echo "lock_file: $work/lw.lock"
        echo "sites:"
        for s in $(seq -w 1 100); do
            mkdir -p "$many/s$s"
            : >"$many/s$s/access.log"
            for a in $(seq 0 99); do
                cp "$tpl" "$many/s$s/access.log-20261129-00$(printf '%02d%02d' $((a / 60)) $((a % 60))).gz"
            done
            echo "  s$s: { logs: [$many/s$s/access.log] }"
        done
    } >"$many_yaml"
    rm -rf "$many/tpl"
fi
read -r fd fdm < <(run "true" bash -c "find '$many' -type f | wc -l")
read -r idle idlem < <(run "true" "$lw" -q --config "$many_yaml" --now 2026-11-30T01:00:00Z enforce)
row "find -type f | wc -l (reference)" "$fd" "-" 1.00 "${fdm} KB"
row "enforce, nothing due, 10k files" "$idle" "-" "$(ratio "$idle" "$fd")" "${idlem} KB"
echo

# 5. an idle pass over 1,000 masked .xz archives (no facts header: the facts cache)
LOGWARDEN=$lw RUNS=$runs "$root/bench/foreign.sh"

# 6. scaling: the rotation pass and `anonymize --scope all` at each size, every log made by
# the project's own generator (never ../shared: the sizes must be comparable with each other)
scales=${SCALES-50M 200M 1G}
if [[ -n $scales ]]; then
    echo
    echo "scaling: genlog --seed $seed, best of $runs (seconds per GB: flat when linear)"
    srow() { printf '%-6s %11s %8s %8s %6s %6s %10s %8s %10s %8s %6s %10s\n' "$@"; }
    srow size bytes "gzip -6" enforce ratio "s/GB" "RSS" "gzip -1" anonymize "x faster" "s/GB" "RSS"
    srow ---- ----- ------- ------- ----- ---- --- ------- --------- -------- ---- ---
    slog=$work/scale.log
    for sz in $scales; do
        # A day and a minute before $now: the oldest record is due whatever the seed makes
        # of the first seconds (a small log's first record may come a few seconds late).
        start=$(( $(date -d "$now" +%s) - 86460 ))
        "$target/release/examples/genlog" --size "$sz" --seed "$seed" --start "$start" --span 86000 -o "$slog"
        sb=$(stat -c %s "$slog")
        cat "$slog" >/dev/null
        pgb() { awk -v s="$1" -v n="$sb" 'BEGIN{ printf "%.2f", s / (n / 1e9) }'; }
        fresh_scale="rm -rf '$site' && mkdir -p '$site' && cp '$slog' '$site/access.log'"
        read -r s6 s6m < <(run "true" bash -c "gzip -6 -c '$slog' > '$work/scale.gz'")
        read -r sp spm < <(run "$fresh_scale" "$lw" -q --config "$work/rotate.yaml" --now "$now" enforce)
        rm -rf "$site" "$work/scale.gz"
        read -r s1 s1m < <(input=$slog run true gzip -1 -c)
        read -r sa sam < <(input=$slog run true "$lw" anonymize)
        rm -f "$slog"
        srow "$sz" "$sb" "$s6" "$sp" "$(ratio "$sp" "$s6")" "$(pgb "$sp")" "${spm} KB" \
            "$s1" "$sa" "$(ratio "$s1" "$sa")" "$(pgb "$sa")" "${sam} KB"
    done
fi

# 7. a thousand sites: an idle pass, and watch over them (bench/many.sh)
if [[ ${MANY:-1} == 1 ]]; then
    echo
    LOGWARDEN=$lw RUNS=$runs IDLE_SECS=${MANY_IDLE_SECS:-60} "$root/bench/many.sh"
fi
