#!/bin/sh
# Installs the Debian packages calpae needs to build, test and run, only when
# one is missing. Called by make (through a stamp file); safe to run by hand.
# Usage: scripts/deps.sh [--check]   (--check: report, install nothing)
set -eu

PACKAGES="gcc make pkg-config
libcsv-dev libsqlite3-dev sqlite3 libssl-dev
libzip-dev libexpat1-dev
libcairo2-dev libpango1.0-dev libpoppler-glib-dev libxlsxwriter-dev libpng-dev libisal-dev
gnuplot-nox fonts-dejavu-core
libcriterion-dev poppler-utils unzip"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "paquets manquants :$missing" >&2
    exit 1
fi

echo "calpae: installation des paquets manquants :$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "calpae: droits root nécessaires ; lancez : apt-get install$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
