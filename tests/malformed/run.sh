#!/bin/sh
# Runs the CLI over malformed and hostile image files that other projects
# keep for their own tests, fetched from Debian packages (MANIFEST beside
# this script) with apt-get download -- nothing is installed, nothing is
# committed. make test-malformed runs it with the ASan+UBSan build:
#   sh tests/malformed/run.sh CLI WORKDIR
# Every file is hashed in exact and --fast mode; a "reject" file must fail
# with exit status 1 and a "PATH: reason" line, an "accept" file must hash,
# an "either" file may do both; a sanitizer report, leak, crash or a run over
# 60 s fails whatever the expectation. Prints one line per failure and a
# summary; exit 0 when all pass, 1 on any failure, 2 when the packages cannot
# be fetched (the reason is printed).
set -u
cli=${1:?usage: sh tests/malformed/run.sh CLI WORKDIR}
work=${2:?usage: sh tests/malformed/run.sh CLI WORKDIR}
manifest=$(dirname "$0")/MANIFEST
tab=$(printf '\t')

[ -x "$cli" ] || { echo "test-malformed: $cli not built" >&2; exit 2; }
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
    echo "test-malformed: SKIPPED: needs apt-get and dpkg-deb (Debian) to fetch the files" >&2
    exit 2
}
mkdir -p "$work/debs" "$work/root" || exit 2
work=$(cd "$work" && pwd)

packages=$(grep -v '^#' "$manifest" | cut -f1 | sort -u)
for pkg in $packages; do
    if ! ls "$work/debs/${pkg}_"*.deb >/dev/null 2>&1; then
        if ! (cd "$work/debs" && apt-get download "$pkg") >"$work/apt-$pkg.log" 2>&1; then
            echo "test-malformed: cannot fetch $pkg (apt-get download $pkg; apt-get update first?):" >&2
            tail -n 3 "$work/apt-$pkg.log" >&2
            exit 2
        fi
    fi
    deb=$(ls "$work/debs/${pkg}_"*.deb | tail -n 1)
    dpkg-deb -x "$deb" "$work/root" || exit 2
    echo "test-malformed: $(basename "$deb")"
done

# One run of the CLI; prints nothing when the outcome fits the expectation,
# else one line saying what happened.
check() {
    file=$1 expect=$2 mode=$3
    ASAN_OPTIONS=exitcode=86:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:exitcode=87 \
        timeout 60 "$cli" hash $mode "$file" >"$work/out" 2>"$work/err"
    rc=$?
    if grep -qE 'Sanitizer|runtime error' "$work/err"; then
        echo "sanitizer report (exit $rc): $(grep -m1 -E 'ERROR|runtime error' "$work/err")"
        return
    fi
    case $rc in
    0)
        grep -qE '^[0-9a-f]{64},[0-9]+,' "$work/out" || { echo "exit 0 without a hash"; return; }
        [ "$expect" = reject ] && echo "hashed, but should be refused"
        ;;
    1)
        head -n 1 "$work/err" | grep -qF "$file: " || { echo "exit 1 without 'PATH: reason'"; return; }
        [ -s "$work/out" ] && { echo "refused but printed output"; return; }
        [ "$expect" = accept ] && echo "refused: $(head -n 1 "$work/err" | sed "s|^$file: ||")"
        ;;
    124) echo "timed out after 60 s" ;;
    *) echo "exit status $rc: $(head -n 1 "$work/err")" ;;
    esac
}

files=0 failures=0 rejected=0 accepted=0
rm -f "$work/tally"
grep -v '^#' "$manifest" | while IFS="$tab" read -r pkg pattern expect idea; do
    [ -n "$pkg" ] || continue
    matched=0
    for file in "$work/root"/$pattern; do
        [ -f "$file" ] || continue
        matched=1
        for mode in "" --fast; do
            problem=$(check "$file" "$expect" "$mode")
            if [ -n "$problem" ]; then
                echo "FAIL ${file#"$work/root/"} ${mode:-exact}: $problem"
                echo fail >>"$work/tally"
            fi
        done
        if grep -q . "$work/out"; then echo accepted >>"$work/tally"; else echo rejected >>"$work/tally"; fi
    done
    [ "$matched" -eq 1 ] || { echo "FAIL $pkg: nothing matches $pattern ($idea)"; echo fail >>"$work/tally"; }
done
if [ -f "$work/tally" ]; then
    failures=$(grep -c '^fail$' "$work/tally")
    accepted=$(grep -c '^accepted$' "$work/tally")
    rejected=$(grep -c '^rejected$' "$work/tally")
    rm -f "$work/tally"
fi
files=$((accepted + rejected))
echo "test-malformed: $files files: $rejected refused, $accepted hashed, $failures failures"
[ "$failures" -eq 0 ]
