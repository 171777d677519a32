#!/bin/sh
# build-corpus.sh DIR [PACKAGE...]
#
# Builds a reproducible corpus of real photographs from Debian packages, for
# `clientscan bench fpr|robust DIR/images`. Each package is fetched with
# `apt-get download` (no installation, no root needed once the package lists
# are there: run `apt-get update` first if apt-get cannot find them) and
# unpacked with `dpkg -x` (zip archives inside, e.g. game .pk3 files, with
# unzip when it is installed). Kept: files that are JPEG or PNG by their magic
# bytes (not their names) with both sides above 128 px, one copy per distinct
# content (SHA-256), except technical texture maps (*_norm*, *_bump*, *_gloss*,
# *_spec*, *_height*, ...), which are not photographs; kept files are stored
# as DIR/images/PACKAGE/SHA256PREFIX.{jpg,png}. If the
# environment variable CLIENTSCAN names a clientscan binary, files it cannot
# decode are dropped too. DIR/MANIFEST records package versions and counts.
#
# The default packages are desktop wallpapers (photographs), astronomy
# pictures and photo-sourced game textures; see docs/benchmarks.md for what
# they contain. Pass package names to use others.
set -eu

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
    [ $# -lt 1 ] && exit 2
    exit 0
fi
out=$1
shift
if [ $# -gt 0 ]; then
    pkgs=$*
else
    pkgs="plasma-workspace-wallpapers gnome-backgrounds mate-backgrounds ukui-wallpapers
          lomiri-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 sway-backgrounds
          desktop-base mypaint-data-extras hugin-data stellarium-data tuxpaint-stamps-default
          trigger-rally-data openarena-081-textures ufoai-textures nexuiz-textures"
fi

MIN_SIDE=128
mkdir -p "$out/debs" "$out/images"
out=$(cd "$out" && pwd)
manifest=$out/MANIFEST
seen=$out/.seen-sha256
: >"$seen"
find "$out/images" -type f -exec sha256sum {} + 2>/dev/null | cut -c1-64 >>"$seen" || true
printf '# package version kept-images\n' >"$manifest.tmp"

# Prints "W H" of a PNG or JPEG from file(1)'s description, nothing otherwise.
dims() {
    file -b "$1" | sed -n \
        -e 's/^PNG image data, \([0-9]*\) x \([0-9]*\),.*/\1 \2/p' \
        -e 's/^JPEG image data.*, \([0-9][0-9]*\)x\([0-9][0-9]*\), .*/\1 \2/p' \
        -e 's/^JPEG image data.*, \([0-9][0-9]*\)x\([0-9][0-9]*\)$/\1 \2/p' | head -n 1
}

# Prints "jpg" or "png" from the first bytes, nothing otherwise.
kind() {
    magic=$(od -An -tx1 -N4 "$1" | tr -d ' \n')
    case $magic in
    89504e47) echo png ;;
    ffd8ff*) echo jpg ;;
    esac
}

for pkg in $pkgs; do
    echo "== $pkg" >&2
    (cd "$out/debs" && ls "${pkg}"_*.deb >/dev/null 2>&1) ||
        (cd "$out/debs" && apt-get download "$pkg") ||
        { echo "$pkg: apt-get download failed, skipped" >&2; continue; }
    deb=$(ls "$out/debs/${pkg}"_*.deb | head -n 1)
    version=$(dpkg-deb -f "$deb" Version)
    tree=$(mktemp -d)
    dpkg -x "$deb" "$tree"
    # Games ship textures inside zip archives (.pk3).
    if command -v unzip >/dev/null 2>&1; then
        find "$tree" -type f \( -name '*.pk3' -o -name '*.zip' \) | while IFS= read -r z; do
            mkdir -p "$z.d" && unzip -qq -o "$z" -d "$z.d" 2>/dev/null || true
        done
    fi
    mkdir -p "$out/images/$pkg"
    kept=0
    list=$(mktemp)
    find "$tree" -type f -size +1k >"$list"
    while IFS= read -r f; do
        # Game texture sets carry technical maps beside the photo: not photos.
        case $(basename "$f" | tr 'A-Z' 'a-z') in
        *_norm* | *_bump* | *_gloss* | *_spec* | *_nm.* | *_height* | *_local* | *_glow* | *_luma*) continue ;;
        esac
        k=$(kind "$f")
        [ -n "$k" ] || continue
        wh=$(dims "$f")
        [ -n "$wh" ] || continue
        set -- $wh
        [ "$1" -gt $MIN_SIDE ] && [ "$2" -gt $MIN_SIDE ] || continue
        sum=$(sha256sum "$f" | cut -c1-64)
        grep -q "^$sum\$" "$seen" && continue
        echo "$sum" >>"$seen"
        cp "$f" "$out/images/$pkg/$(echo "$sum" | cut -c1-24).$k"
        kept=$((kept + 1))
    done <"$list"
    rm -f "$list"
    rm -rf "$tree"
    kept=$(find "$out/images/$pkg" -type f | wc -l)
    echo "$pkg $version $kept" >>"$manifest.tmp"
    echo "$pkg: kept $kept" >&2
done

if [ -n "${CLIENTSCAN:-}" ]; then
    # Drop what our decoder refuses (truncated, CMYK oddities, ...).
    bad=$(mktemp)
    "$CLIENTSCAN" hash -r -j "$(nproc)" "$out/images" 2>"$bad" >/dev/null || true
    sed -n 's/^\(.*\/[0-9a-f]\{24\}\.\(jpg\|png\)\): .*/\1/p' "$bad" | while IFS= read -r f; do
        [ -f "$f" ] && rm -f "$f" && echo "undecodable, dropped: $f" >&2
    done
    rm -f "$bad"
fi

total=$(find "$out/images" -type f | wc -l)
echo "# total distinct images: $total" >>"$manifest.tmp"
mv "$manifest.tmp" "$manifest"
rm -f "$seen"
echo "corpus: $total images in $out/images (MANIFEST: $manifest)" >&2
