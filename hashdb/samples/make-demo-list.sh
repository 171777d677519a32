#!/bin/sh
# Regenerates the sample signed list and its authority's public key:
#   sh hashdb/samples/make-demo-list.sh [CLI]
# hashdb/samples/demo-list.txt  ThreatExchange-style text of the known-* samples
# hashdb/samples/demo-list.csl  that list, binary, signed (sequence 1)
# hashdb/keys/demo-authority.pub  the key that signed it
# The signing key is made fresh in a temporary directory and destroyed
# afterwards: the repository holds no secret key, and nobody can sign a
# newer "demo" list with this public key.
set -eu
cli=${1:-build/clientscan}
here=$(cd "$(dirname "$0")" && pwd)
keys=$here/../keys
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clientscan-demo-list-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
{
    echo "# clientscan demo list: PDQ hashes of the benign known-* sample images"
    echo "# HASH,QUALITY,ID (regenerate: sh hashdb/samples/make-demo-list.sh)"
    for f in "$here"/known-*; do
        "$cli" hash "$f" | awk -F, -v id="$(basename "$f")" '{print $1 "," $2 "," id}'
    done
} >"$tmp/demo-list.txt"
"$cli" keygen --role authority -o "$tmp/demo-authority" >/dev/null
"$cli" list build -o "$tmp/demo-list.csl" --name "clientscan demo list" --sequence 1 \
    --created 1795000000 --sign "$tmp/demo-authority.sec" "$tmp/demo-list.txt" >/dev/null
mkdir -p "$keys"
cp "$tmp/demo-list.txt" "$tmp/demo-list.csl" "$here/"
cp "$tmp/demo-authority.pub" "$keys/"
"$cli" list info --authority "$keys/demo-authority.pub" "$here/demo-list.csl"
