#!/bin/sh
# Builds every tests/fuzz/fuzz_*.c libFuzzer harness with clang (ASan +
# UBSan) against the common and stage sources, then runs each for $1
# seconds (default 60). Corpora and crash artifacts go under build/fuzz/;
# a harness fuzz_<x>.c is seeded from tests/data/<x>/ when it exists.
# Usage: tests/fuzz/run.sh [seconds]
set -eu
cd "$(dirname "$0")/../.."

SECONDS_EACH=${1:-60}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
mkdir -p "$OUT"

SRCS=""
for f in common/*.c ingest/*.c; do
    case "$f" in */main.c) ;; *) SRCS="$SRCS $f" ;; esac
done
PKG=$(pkg-config --cflags --libs sqlite3 libcrypto libzip expat)
CFLAGS="-std=c17 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

status=0
for h in tests/fuzz/fuzz_*.c; do
    [ -e "$h" ] || continue
    name=$(basename "$h" .c)
    what=${name#fuzz_}
    echo "  FUZZ-CC $name"
    # shellcheck disable=SC2086
    $CC $CFLAGS -o "$OUT/$name" "$h" $SRCS $PKG -lcsv -lm
    corpus="$OUT/corpus-$what"
    art="$OUT/artifacts-$what/"
    mkdir -p "$corpus" "$art"
    if [ -d "tests/data/$what" ]; then
        find "tests/data/$what" -maxdepth 1 -type f ! -name '*.py' ! -name '.*' \
            -exec cp {} "$corpus/" \;
    fi
    echo "  FUZZ    $name for ${SECONDS_EACH}s"
    if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
         UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
         "$OUT/$name" -max_total_time="$SECONDS_EACH" -max_len=8192 \
             -artifact_prefix="$art" -print_final_stats=1 "$corpus" \
             >"$OUT/$name.log" 2>&1; then
        echo "$name: crash, see $OUT/$name.log and $art" >&2
        tail -40 "$OUT/$name.log" >&2
        status=1
    else
        grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$OUT/$name.log" | tail -2
    fi
done
exit $status
