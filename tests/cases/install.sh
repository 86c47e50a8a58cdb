#!/bin/sh
# make install DESTDIR=… PREFIX=/usr, then the installed man pages, data files,
# example crontab and binaries are where they belong.
# Usage: install.sh SRCDIR TMPDIR
set -eu
src=$1
dest=$2/root
make -C "$src" --no-print-directory install DESTDIR="$dest" PREFIX=/usr
for b in ingest consolidate render nightly; do
    test -x "$dest/usr/bin/calpae-$b"
done
test -f "$dest/usr/share/calpae/catalog.csv"
test -f "$dest/usr/share/calpae/regles.csv"
grep -q '/usr/bin/calpae-nightly' "$dest/usr/share/calpae/calpae.cron"
# The binaries look for their data in the installed folder.
grep -q '/usr/share/calpae' "$dest/usr/bin/calpae-ingest"
MANPATH="$dest/usr/share/man" MANWIDTH=80 man calpae-ingest 2>/dev/null | grep -q 'calpae-ingest'
MANWIDTH=80 man -l "$dest/usr/share/man/man1/calpae-nightly.1" 2>/dev/null | grep -q 'crontab'
# Rebuild bin/ for the default PREFIX, as it was.
make -C "$src" --no-print-directory all >/dev/null
echo "install ok"
