#!/bin/sh
# clientscan demo: scan before encrypt, end to end, on this machine only.
#
#   sh tools/demo.sh [CLI [WORKDIR]]
#
# CLI defaults to build/clientscan. WORKDIR (default: a fresh temporary
# directory, removed afterwards) receives every file the demo makes, so the
# test suite can check the claims it prints. Needs nothing but the CLI and
# the sample images in hashdb/samples/; no network.
set -eu

cli=${1:-build/clientscan}
root=$(cd "$(dirname "$0")/.." && pwd)
samples=$root/hashdb/samples

case $cli in
/*) ;;
*) cli=$(pwd)/$cli ;;
esac
if [ ! -x "$cli" ]; then
    echo "demo: $cli not found; build it first with 'make'" >&2
    exit 1
fi
if [ $# -ge 2 ]; then
    work=$2
    mkdir -p "$work"
    keep=1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/clientscan-demo-XXXXXX")
    keep=0
fi
cleanup() { [ "$keep" -eq 1 ] || rm -rf "$work"; }
trap cleanup EXIT INT TERM

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'demo: FAILED: %s\n' "$*" >&2
    exit 1
}
size() { wc -c <"$1" | tr -d ' '; }
cs() { "$cli" "$@"; }

mkdir -p "$work/keys" "$work/list" "$work/outbox" "$work/server" "$work/recipient" "$work/moderator"
keys=$work/keys

say "clientscan demo -- scanning images against a known-bad list BEFORE end-to-end"
say "encryption, so the server never sees content and learns nothing about"
say "attachments that are not on the list. Files: $work"

# ------------------------------------------------------------------ keys
step "1. Three parties make their keys"
cs keygen --role authority -o "$keys/authority" >/dev/null
cs keygen --role moderator -o "$keys/moderator" >/dev/null
cs keygen --role user -o "$keys/recipient" >/dev/null
say "  list authority   signs the hash list           keys/authority.pub + .sec"
say "  moderation svc   alone opens report slots      keys/moderator.pub + .sec"
say "  recipient        receives the attachment       keys/recipient.pub + .sec"

# ------------------------------------------------------------------ list
step "2. The authority builds and signs a list of known-bad images"
say "  Stand-ins: the project's own synthetic images in hashdb/samples/known-*."
: >"$work/list/demo-list.txt"
for f in "$samples"/known-*; do
    name=$(basename "$f")
    # PDQ hash + quality; the entry id is derived from the image's name.
    (cd "$samples" && cs hash "$name") | sed "s|,$name\$|,${name%.*}|" >>"$work/list/demo-list.txt"
done
cs list build --name "clientscan demo list" --sequence 1 --sign "$keys/authority.sec" \
    -o "$work/list/demo-list.bin" "$work/list/demo-list.txt" >/dev/null
entries=$(wc -l <"$work/list/demo-list.txt" | tr -d ' ')
say "  $entries entries, signed: list/demo-list.bin"
cs list export --authority "$keys/authority.pub" "$work/list/demo-list.bin" >"$work/list/export.txt"

# entry_name ID_HEX: the sample name whose hash the list stores under that id.
entry_name() {
    hash=$(grep ",$1\$" "$work/list/export.txt" | cut -d, -f1)
    name=$(grep "^$hash," "$work/list/demo-list.txt" | cut -d, -f3)
    printf '%s' "${name:-unknown}"
}

# ------------------------------------------------------------------ attachments
step "3. The sender picks three attachments"
cp "$samples/other-1.jpg" "$work/outbox/unrelated.jpg"
cp "$samples/known-1.jpg" "$work/outbox/listed.jpg"
cs samples derive --mirror --scale 75 --quality 70 "$samples/known-2.jpg" \
    "$work/outbox/edited-copy.jpg" >/dev/null
say "  unrelated.jpg    a picture that is not on the list          ($(size "$work/outbox/unrelated.jpg") bytes)"
say "  listed.jpg       exactly the listed known-1.jpg             ($(size "$work/outbox/listed.jpg") bytes)"
say "  edited-copy.jpg  known-2.jpg mirrored, shrunk to 75%, and"
say "                   re-encoded as JPEG quality 70: other bytes ($(size "$work/outbox/edited-copy.jpg") bytes)"

# ------------------------------------------------------------------ send
step "4. The sender's app scans each one locally, then encrypts it"
for m in 1-unrelated:unrelated 2-listed:listed 3-edited-copy:edited-copy; do
    dir=${m%%:*}
    file=${m#*:}.jpg
    # --verbose shows the verdict, which never leaves the device.
    if ! cs send --verbose --list "$work/list/demo-list.bin" \
        --authority "$keys/authority.pub" --moderator "$keys/moderator.pub" \
        --to "$keys/recipient.pub" "$work/outbox/$file" "$work/server/$dir" \
        >/dev/null 2>"$work/sender-verdict.txt"; then
        cat "$work/sender-verdict.txt" >&2
        fail "sending $file"
    fi
    verdict=$(sed -n 's/^verdict: \([a-z-]*\).*/\1/p' "$work/sender-verdict.txt")
    say "  $file -> server/$dir/   (verdict, on the device only: $verdict)"
done
say "  Each message: attachment.bin (ciphertext under a fresh key), report.slot"
say "  (sealed to the moderation service) and key.sealed (the attachment key for"
say "  the recipient; a real app sends it inside its end-to-end encrypted session)."

# ------------------------------------------------------------------ server
step "5. What the server stores"
slot_sizes=""
for dir in 1-unrelated 2-listed 3-edited-copy; do
    ct=$(size "$work/server/$dir/attachment.bin")
    slot=$(size "$work/server/$dir/report.slot")
    slot_sizes="$slot_sizes $slot"
    say "  server/$dir: ciphertext $ct bytes, report slot $slot bytes"
done
set -- $slot_sizes
[ "$1" = "$2" ] && [ "$2" = "$3" ] || fail "report slots differ in size:$slot_sizes"
say "  Three ciphertexts and three report slots of identical size ($1 bytes): the"
say "  server cannot tell which attachment matched, or whether any did."

# ------------------------------------------------------------------ recipient
step "6. What the recipient reads"
for name in unrelated listed edited-copy; do
    case $name in unrelated) dir=1-unrelated ;; listed) dir=2-listed ;; *) dir=3-edited-copy ;; esac
    cs receive --key "$keys/recipient.sec" "$work/server/$dir" "$work/recipient/$name.jpg"
    cmp -s "$work/outbox/$name.jpg" "$work/recipient/$name.jpg" ||
        fail "recipient's $name.jpg differs from what was sent"
    say "  $name.jpg: decrypted, byte-identical to what was sent"
done
say "  All three arrive byte-identical; the recipient cannot open the report slots."

# ------------------------------------------------------------------ moderator
step "7. What the moderation service learns"
matches=0
for dir in 1-unrelated 2-listed 3-edited-copy; do
    slot=$work/server/$dir/report.slot
    json=$(cs report open --json --key "$keys/moderator.sec" "$slot")
    kind=$(printf '%s' "$json" | sed 's/.*"kind":"\([a-z-]*\)".*/\1/')
    case $kind in
    match)
        matches=$((matches + 1))
        id=$(printf '%s' "$json" | sed 's/.*"entry_id":"\([0-9a-f]*\)".*/\1/')
        dist=$(printf '%s' "$json" | sed 's/.*"distance":\([0-9]*\).*/\1/')
        variant=$(printf '%s' "$json" | sed 's/.*"variant":"\([a-z0-9]*\)".*/\1/')
        cs report open --key "$keys/moderator.sec" "$slot" \
            --fetch "$work/server/$dir/attachment.bin" -o "$work/moderator/review-$dir.jpg" >/dev/null
        say "  server/$dir: MATCH entry $id ($(entry_name "$id")),"
        say "      distance $dist bits, variant $variant; the report's key opens this one"
        cmp -s "$work/moderator/review-$dir.jpg" "$work/recipient/${dir#*-}.jpg" ||
            fail "moderator's review copy of $dir differs from the attachment"
        say "      attachment, and no other, for human review: moderator/review-$dir.jpg"
        ;;
    no-match)
        say "  server/$dir: no match -- the slot holds nothing else: no hash, no date,"
        say "      no sender, no key"
        ;;
    *) fail "server/$dir: unexpected report kind '$kind'" ;;
    esac
done
[ "$matches" -eq 2 ] || fail "expected 2 match reports, got $matches"
say "  Two reports name the matched list entries (the edited copy is caught through"
say "  its mirrored PDQ variant); the unrelated image reveals nothing."

step "Done"
say "  Threat model and known weaknesses: docs/threat-model.md"
say "  Byte layouts: docs/report-format.md"
