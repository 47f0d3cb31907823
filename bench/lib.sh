# Helpers the bench scripts share (sourced, not run): they need $work (a scratch directory)
# and $runs (how many runs to take the best of).

# run SETUP CMD...: the best wall time of $runs runs of CMD (SETUP, a shell snippet, runs
# untimed before each; `true` for none) and that run's peak RSS: prints "seconds rss_kb".
run() {
    local setup=$1 best="" rss="" t m
    shift
    for _ in $(seq "$runs"); do
        bash -c "$setup"
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
            echo "failed: $*" >&2; cat "$work/stderr" >&2; exit 1; }
        read -r t m <"$work/time"
        if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t rss=$m; fi
    done
    echo "$best $rss"
}

# ratio A B: A / B to two decimals ("n/a" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else printf "n/a" }'; }
