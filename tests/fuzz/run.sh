#!/bin/sh
# Runs every libFuzzer target built in a directory for N seconds each:
#   sh tests/fuzz/run.sh build-fuzz 60        (what `make fuzz` does)
#   sh tests/fuzz/run.sh build-fuzz 1800 fuzz_png fuzz_report   (only those)
# Each target gets a scratch corpus BUILD/corpus/<target>/ (new inputs are
# written there and reused by the next run) plus, read-only (libFuzzer only
# writes to the first directory), the checked-in seeds tests/fuzz/seeds/<target>/
# and regression inputs tests/corpus/<target>/ when those directories exist.
# Crash reproducers go to BUILD/artifacts/<target>/, full logs to BUILD/logs/.
# FUZZ_TIMEOUT (default 25 s) is libFuzzer's per-input hang limit; it counts
# wall time, so long runs on a shared machine raise it and read the slowest
# input's time from the summary line instead.
# Prints one line per target with executions, final coverage and the CPU
# seconds it really got (a long run shares the machine); exits 1 if
# any target crashed, leaked, ran out of memory or hit the per-input timeout.
set -u
build=${1:?usage: sh tests/fuzz/run.sh BUILD_DIR SECONDS}
seconds=${2:-60}
shift 2 2>/dev/null || shift $#
only=" $* "
seeds_root=$(dirname "$0")/seeds
replay_root=$(dirname "$0")/../corpus
status=0
found=0
for bin in "$build"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    found=$((found + 1))
    name=$(basename "$bin")
    [ "$only" = "  " ] || case $only in *" $name "*) ;; *) continue ;; esac
    corpus=$build/corpus/$name
    artifacts=$build/artifacts/$name
    log=$build/logs/$name.log
    mkdir -p "$corpus" "$artifacts" "$build/logs"
    set -- "$corpus"
    [ -d "$seeds_root/$name" ] && set -- "$@" "$seeds_root/$name"
    [ -d "$replay_root/$name" ] && set -- "$@" "$replay_root/$name"
    # -timeout: one input taking this long is a hang; decoders here are
    # bounded far below it. -rss_limit_mb also bounds single allocations.
    cpu_file=$build/logs/$name.cpu
    timer=""
    [ -x /usr/bin/time ] && timer="/usr/bin/time -o $cpu_file -f %U+%S"
    $timer "$bin" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-25}" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$@" >"$log" 2>&1
    rc=$?
    slowest=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log" | tail -n 1)
    cpu=$(tail -n 1 "$cpu_file" 2>/dev/null | awk -F+ '/^[0-9.]+\+[0-9.]+$/ {printf "%d", $1 + $2}')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    files=$(find "$corpus" -type f | wc -l | tr -d ' ')
    # coverage from libFuzzer's last status line ("#N DONE cov: X ft: Y ...")
    last=$(grep -E '^#[0-9]+.* cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    if [ "$rc" -eq 0 ]; then
        echo "$name: ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?} (${seconds}s, ${cpu:-?} CPU s, slowest input ${slowest:-?} s, corpus $files files)"
    else
        status=1
        echo "$name: FAILED (exit $rc) after ${execs:-?} execs; log $log, reproducers in $artifacts/"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -n 8
    fi
done
if [ "$found" -eq 0 ]; then
    echo "no fuzz targets in $build (build them with: make fuzz-build)"
    exit 1
fi
exit "$status"
