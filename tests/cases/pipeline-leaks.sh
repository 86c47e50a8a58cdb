#!/bin/sh
# The leak gate of make check: the whole pipeline on the sample inbox with
# the sanitized executables, LeakSanitizer on and only fontconfig's caches
# suppressed. Any leak, sanitizer error or unexpected status fails.
# Usage: tests/cases/pipeline-leaks.sh BINDIR
set -u
bindir=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/calpae-leaks-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS="suppressions=$top/tests/lsan-bin.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CALPAE_DATA="$top/data"

run() {
    expect=$1
    shift
    "$@" > "$tmp/out.log" 2>&1
    rc=$?
    case " $expect " in
        *" $rc "*) ;;
        *) echo "pipeline-leaks : « $* » a rendu $rc (attendu $expect)" >&2
           cat "$tmp/out.log" >&2
           exit 1 ;;
    esac
}

run "65" "$bindir/calpae-ingest" -q --db "$tmp/c.db" --quarantaine "$tmp/q" "$top/data/sample"
run "0" "$bindir/calpae-ingest" -q --db "$tmp/c.db" --quarantaine "$tmp/q" "$top/data/sample"
run "0" "$bindir/calpae-consolidate" --db "$tmp/c.db"
run "0" "$bindir/calpae-consolidate" --db "$tmp/c.db" --constats --region 76 --periode 2022-S1
run "0" "$bindir/calpae-render" -q --db "$tmp/c.db" --out "$tmp/r" --region 76 --periode 2022-S1
run "0" "$bindir/calpae-render" -q --db "$tmp/c.db" --out "$tmp/r" --national --periode 2022-S1
run "64" "$bindir/calpae-ingest" --pas-une-option
echo "pipeline-leaks: 7 passed, 0 failed"
