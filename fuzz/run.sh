#!/usr/bin/env bash
# Bounded fuzzing of every target (the anonymizer, the timestamp reader, the policy loader,
# the archive rewrite and the received datagram's syslog header), as CI runs it:
# FUZZ_SECONDS each (default 20).
#
# cargo-fuzz needs nightly-only compiler flags (sanitizers); where only the stable
# toolchain exists, RUSTC_BOOTSTRAP=1 lets stable accept them. A crash fails the run and
# leaves its input in fuzz/artifacts/<target>/: turn it into a regression test (a unit test
# in the module it broke, named after what it guards) before fixing.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-20}
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
for t in $(cargo fuzz list --fuzz-dir .); do
    echo "== fuzz: $t for ${seconds}s"
    mkdir -p "corpus/$t"
    # seeds/<target> (committed) holds forms worth starting from and past finds.
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    status=0
    cargo fuzz run "$t" --fuzz-dir . "corpus/$t" "${seeds[@]}" -- -max_total_time="$seconds" >"$t.log" 2>&1 || status=$?
    grep -E "^(Done|==[0-9]+==ERROR|SUMMARY|thread '.*' panicked)" "$t.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$t.log"
        exit "$status"
    fi
    rm -f "$t.log"
done
