#!/bin/sh
# tests/fuzz/run.sh [BUILD-FUZZ] - run every libFuzzer program that `make fuzz`
# built (BUILD-FUZZ/fuzz_<name>, default build-fuzz) for FUZZ_SECONDS each
# (default 60), one after the other, on a fresh copy of its seed corpus
# tests/fuzz/corpus/<name>/ when that folder exists (the committed seeds are
# never written to). A crash, leak or sanitizer report stops the run with the
# fuzzer's exit status; the reproducer is saved as BUILD-FUZZ/crash-<name>-*.
# Each run's last lines (executions, coverage) are printed.
set -eu
B=${1:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
n=0
for src in "$HERE"/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    bin=$B/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing (run make fuzz)" >&2
        exit 1
    fi
    work=$B/corpus-$name
    rm -rf "$work"
    mkdir -p "$work"
    seeds=
    if [ -d "$HERE/corpus/$name" ]; then
        seeds="$HERE/corpus/$name"
        echo "== fuzz_$name: ${SECS} s, seeds from tests/fuzz/corpus/$name ($(ls "$seeds" | wc -l) files)"
    else
        echo "== fuzz_$name: ${SECS} s, no seed corpus (tests/fuzz/corpus/$name absent)"
    fi
    log=$B/fuzz_$name.log
    # -rss_limit_mb: an input that makes the library allocate more than this
    # is a finding too (metadata must be checked before it sizes a buffer).
    if ! "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$B/crash-$name-" "$work" $seeds >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz_$name FAILED (log: $log)" >&2
        exit 1
    fi
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || tail -n 3 "$log"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "fuzz: no tests/fuzz/fuzz_*.c" >&2; exit 1; }
echo "== $n fuzz targets ran ${SECS} s each without a finding"
