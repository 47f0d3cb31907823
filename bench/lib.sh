# Helpers the bench scripts share (sourced, not run): they need $work (a scratch directory)
# and $runs (how many runs to take the best of), and bash 5 ($EPOCHREALTIME).

[[ -n ${EPOCHREALTIME:-} ]] || { echo "bash 5 or later is needed (EPOCHREALTIME)" >&2; exit 1; }

# timed CMD...: runs CMD once (its input the file $input when that is set, else the caller's;
# its output to /dev/null) and prints "seconds rss_kb": the wall time to the millisecond,
# from bash's clock around /usr/bin/time (whose own %e has hundredths: 7 % of a 0.14 s
# run), and the peak RSS.
timed() {
    local t0 t1 us m
    t0=${EPOCHREALTIME/[.,]/}
    if [[ -n ${input:-} ]]; then
        /usr/bin/time -f "%M" -o "$work/time" "$@" <"$input" >/dev/null 2>"$work/stderr" || return 1
    else
        /usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || return 1
    fi
    t1=${EPOCHREALTIME/[.,]/}
    us=$((t1 - t0))
    m=$(tail -n 1 "$work/time")
    printf '%d.%03d %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "$m"
}

# run SETUP CMD...: the best wall time of $runs runs of CMD (SETUP, a shell snippet, runs
# untimed before each; `true` for none) and that run's peak RSS: prints "seconds rss_kb".
run() {
    local setup=$1 best="" rss="" out t m
    shift
    for _ in $(seq "$runs"); do
        bash -c "$setup"
        out=$(timed "$@") || { echo "failed: $*" >&2; cat "$work/stderr" >&2; exit 1; }
        read -r t m <<<"$out"
        if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t rss=$m; fi
    done
    echo "$best $rss"
}

# ratio A B: A / B to two decimals ("n/a" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else printf "n/a" }'; }
