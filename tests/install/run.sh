#!/bin/sh
# Installs into a scratch prefix, builds tests/install/example.c with the
# installed pkg-config file (static and shared), and checks both programs
# print the same line as the CLI for a generated image.
set -eu
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -o "$prefix/example-shared" tests/install/example.c $(pkg-config --cflags --libs clientscan) -Wl,-rpath,"$prefix/lib"
cc -std=c11 -o "$prefix/example-static" tests/install/example.c $(pkg-config --cflags clientscan) \
    "$prefix/lib/libclientscan.a" $(pkg-config --libs --static clientscan | sed 's/-lclientscan//')
img=../shared/pdq-vectors/images/bridge-mods/aaa-orig.jpg
[ -f "$img" ] || img=hashdb/samples/$(ls hashdb/samples | grep -E '\.(jpg|png)$' | head -n 1)
want=$("$prefix/bin/clientscan" hash "$img")
[ "$("$prefix/example-shared" "$img")" = "$want" ]
[ "$("$prefix/example-static" "$img")" = "$want" ]
[ -f "$prefix/include/clientscan.h" ] && [ ! -f "$prefix/include/internal.h" ]
echo "install: header, static and shared library, pkg-config file and CLI work ($want)"
