#!/bin/sh
# Makes sure the build and test dependencies are installed.
# As root with apt: installs what is missing. Otherwise: prints the exact
# command and fails. Quiet when everything is already there.
set -u
# pkg-config name:Debian package
needs="libsodium:libsodium-dev libpng:libpng-dev libjpeg:libjpeg62-turbo-dev cmocka:libcmocka-dev"
missing=""
command -v pkg-config >/dev/null 2>&1 || missing="pkg-config"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
for pair in $needs; do
    pc=${pair%%:*}
    deb=${pair#*:}
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$pc"; then
        missing="$missing $deb"
    fi
done
missing=$(echo $missing)
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "clientscan: installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >/tmp/clientscan-deps.log 2>&1 || {
        echo "clientscan: apt-get failed (log: /tmp/clientscan-deps.log); run: apt-get install $missing" >&2
        exit 1
    }
    exit 0
fi
echo "clientscan: missing $missing; install them with:" >&2
echo "    sudo apt-get install $missing" >&2
exit 1
