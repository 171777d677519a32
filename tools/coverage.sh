#!/bin/sh
# Line coverage of lib/ after `make COVERAGE=1 test-run` (called by `make coverage`).
# Needs gcov (with gcc) and lcov (apt-get install lcov).
set -eu
build=${1:-build-cov}
command -v lcov >/dev/null 2>&1 || { echo "coverage: lcov not found; apt-get install lcov" >&2; exit 1; }
lcov --quiet --capture --directory "$build/obj/lib" --output-file "$build/coverage.info" \
    --rc lcov_branch_coverage=0 >/dev/null
lcov --quiet --extract "$build/coverage.info" "*/lib/*" --output-file "$build/coverage-lib.info" >/dev/null
lcov --list "$build/coverage-lib.info"
lcov --summary "$build/coverage-lib.info" 2>&1 | grep -E "lines"
if command -v genhtml >/dev/null 2>&1; then
    genhtml --quiet "$build/coverage-lib.info" --output-directory "$build/coverage-html" >/dev/null
    echo "HTML report: $build/coverage-html/index.html"
fi
