#!/bin/sh
# Runs every test program in BUILD/tests (cmocka) and prints one summary line.
# A program that crashes or prints no cmocka summary counts as one failure.
set -u
build=${1:-build}
passed=0 failed=0 skipped=0 broken=""
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    echo "=== $name"
    out=$(CLIENTSCAN_CLI="$build/clientscan" "$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' | tail -n 1)
    s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' | tail -n 1)
    passed=$((passed + ${p:-0}))
    skipped=$((skipped + ${s:-0}))
    failed=$((failed + ${f:-0}))
    if [ -z "$p$f" ] || { [ "$rc" -ne 0 ] && [ -z "$f" ]; }; then
        failed=$((failed + 1))
        broken="$broken $name(exit $rc)"
    fi
done
[ -n "$broken" ] && echo "test programs that crashed or printed no summary:$broken"
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
