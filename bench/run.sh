#!/bin/sh
# Benchmarks (make bench): builds the corpus generator, generates the
# national corpus and the ~1 GB long CSV under bench/out/ (once: kept while
# bench/gen.c is unchanged), runs every stage on a fresh database and prints
# wall time, CPU time, peak RSS and throughput, with sqlite3's .import of the
# same 1 GB file as the reference. Not part of make check.
#
# BENCH_BIG_BYTES=0 skips the 1 GB file; BENCH_BIG_BYTES=N sizes it.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/bench/out
BIN=$ROOT/bin
DATA=$ROOT/data
BIG_BYTES=${BENCH_BIG_BYTES:-1073741824}
mkdir -p "$OUT"

[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time manquant (paquet time)" >&2; exit 69; }
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 manquant (paquet sqlite3)" >&2; exit 69; }

# --- the generator; a changed gen.c regenerates the data ---------------------
if [ ! -x "$OUT/gen" ] || [ "$ROOT/bench/gen.c" -nt "$OUT/gen" ]; then
    # -Wno-format-truncation: gcc cannot see that names from data/ are short.
    cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror \
       -Wno-format-truncation -o "$OUT/gen" bench/gen.c \
       $(pkg-config --cflags --libs xlsxwriter libzip) -lm
    rm -rf "$OUT/corpus" "$OUT/corpus.stats" "$OUT/national-long.csv" "$OUT/national-long.stats"
fi
if [ ! -f "$OUT/corpus.stats" ]; then
    rm -rf "$OUT/corpus"
    echo "bench: génération du corpus national" >&2
    "$OUT/gen" "$DATA" "$OUT"
fi
if [ "$BIG_BYTES" -gt 0 ] && { [ ! -f "$OUT/national-long.stats" ] ||
        [ "$(sed -n 's/^target=//p' "$OUT/national-long.stats")" != "$BIG_BYTES" ]; }; then
    echo "bench: génération de national-long.csv ($BIG_BYTES octets)" >&2
    "$OUT/gen" "$DATA" "$OUT" "$BIG_BYTES"
    echo "target=$BIG_BYTES" >>"$OUT/national-long.stats"
fi
stat_of() { sed -n "s/^$2=//p" "$1"; }

# --- gnuplot counted through a PATH shim -------------------------------------
GNUPLOT=$(command -v gnuplot) || { echo "bench: gnuplot manquant" >&2; exit 69; }
mkdir -p "$OUT/shim"
cat >"$OUT/shim/gnuplot" <<EOF
#!/bin/sh
echo started >>"$OUT/gnuplot.log"
exec "$GNUPLOT" "\$@"
EOF
chmod +x "$OUT/shim/gnuplot"
PATH=$OUT/shim:$PATH
export PATH

# --- measuring ---------------------------------------------------------------
RES=$OUT/results.tsv
: >"$RES"
# measure LABEL ROWS BYTES CMD...: one line "label wall cpu rss_kb rows bytes".
measure() {
    label=$1 rows=$2 bytes=$3
    shift 3
    : >"$OUT/gnuplot.log"
    st=0
    /usr/bin/time -f '%e %U %S %M' -o "$OUT/time.txt" "$@" >"$OUT/$label.log" 2>&1 || st=$?
    if [ "$st" -gt 1 ] && [ "$st" -ne 65 ]; then
        echo "bench: $label a échoué ($st), voir $OUT/$label.log" >&2
        tail -3 "$OUT/$label.log" >&2
    fi
    set -- $(tail -1 "$OUT/time.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$1" "$(echo "$2 + $3" | bc)" "$4" \
        "$rows" "$bytes" "$(wc -l <"$OUT/gnuplot.log")" >>"$RES"
}

# The previous run's outputs (thousands of files) are moved aside and
# deleted at the end of a later run, ten minutes on: ext4 without a journal
# (this machine) checks, for every inode it allocates, the inodes freed in
# the last minute (six while their table is unwritten), so deleting them
# just before the timed stages made render's file creations cost up to
# 0.8 s of CPU more (RESULTS.md), and more on each of several runs in a row.
# A nightly run, whose last deletions are a day old, never pays that. The
# folder set aside is named after the time it was set aside.
TRASH=$OUT/trash
mkdir -p "$TRASH"
set_aside() {
    for p in "$@"; do
        [ -e "$p" ] && mv "$p" "$TRASH/$(basename "$p").$$.$(date +%s)"
    done
    return 0
}

DB=$OUT/bench.db
rm -f "$DB" "$DB-wal" "$DB-shm"
set_aside "$OUT/reports" "$OUT/quarantaine"
CV=$(stat_of "$OUT/corpus.stats" values)
CB=$(stat_of "$OUT/corpus.stats" bytes)
CF=$(stat_of "$OUT/corpus.stats" files)
ING="$BIN/calpae-ingest --db $DB --data $DATA --quiet"
CON="$BIN/calpae-consolidate --db $DB --data $DATA --quiet"
REN="$BIN/calpae-render --db $DB --out $OUT/reports --quiet"

measure ingest-corpus "$CV" "$CB" $ING "$OUT/corpus"
measure consolidate - - $CON
measure render-regions - - $REN
measure render-national - - $REN --national
measure rerun-ingest - - $ING "$OUT/corpus"
measure rerun-consolidate - - $CON
measure rerun-render-regions - - $REN
measure rerun-render-national - - $REN --national

# The same night in one process, as cron runs it (calpae-nightly: ingest,
# archive, consolidate, render of the régions), on its own database.
NDIR=$OUT/nightly
set_aside "$NDIR"
mkdir -p "$NDIR/inbox"
cp -R "$OUT/corpus/." "$NDIR/inbox/"
NIG="$BIN/calpae-nightly --db $NDIR/n.db --data $DATA --inbox $NDIR/inbox --out $NDIR/reports --archive $NDIR/archive --log $NDIR/log -q"
measure nightly "$CV" "$CB" $NIG
measure nightly-again - - $NIG

if [ "$BIG_BYTES" -gt 0 ]; then
    BIG=$OUT/national-long.csv
    BR=$(stat_of "$OUT/national-long.stats" rows)
    BB=$(stat_of "$OUT/national-long.stats" bytes)
    BDB=$OUT/big.db
    SDB=$OUT/big-sqlite3.db
    rm -f "$BDB" "$BDB-wal" "$BDB-shm" "$SDB" "$SDB-wal" "$SDB-shm"
    measure ingest-1GB "$BR" "$BB" "$BIN/calpae-ingest" --db "$BDB" --data "$DATA" --quiet "$BIG"
    # The reference: the same file into a plain table of the same file-backed
    # kind (WAL, same disk), no index, no checks.
    cat >"$OUT/import.sql" <<EOF
PRAGMA journal_mode=WAL;
CREATE TABLE valeur(signataire TEXT, periode TEXT, indicateur TEXT, valeur REAL);
.separator ";" "\n"
.import --skip 1 $BIG valeur
EOF
    measure sqlite3-import-1GB "$BR" "$BB" sh -c "sqlite3 '$SDB' <'$OUT/import.sql'"
    rm -f "$SDB" "$SDB-wal" "$SDB-shm"
fi

# --- the table ---------------------------------------------------------------
echo
echo "calpae bench — $(nproc) cœurs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "corpus : $CF fichiers, $CV valeurs, $(echo "scale=1; $CB / 1048576" | bc) Mo"
[ "$BIG_BYTES" -gt 0 ] && echo "national-long.csv : $BR lignes ($(stat_of "$OUT/national-long.stats" keys) clés distinctes répétées $(stat_of "$OUT/national-long.stats" repeats) fois, valeurs identiques), $(echo "scale=1; $BB / 1048576" | bc) Mo"
echo
awk -F'\t' '
BEGIN { printf "%-24s %9s %9s %10s %12s %8s %8s\n", "étape", "mur (s)", "CPU (s)", "RSS max Mo", "lignes/s", "Mo/s", "gnuplot" }
{
    rps = ($5 == "-" || $2 == 0) ? "-" : sprintf("%.0f", $5 / $2)
    mbs = ($6 == "-" || $2 == 0) ? "-" : sprintf("%.1f", $6 / 1048576 / $2)
    printf "%-24s %9.2f %9.2f %10.1f %12s %8s %8d\n", $1, $2, $3, $4 / 1024, rps, mbs, $7
    if ($1 ~ /^(ingest-corpus|consolidate|render-regions|render-national)$/) { w += $2; c += $3 }
    if ($1 ~ /^rerun-/) rw += $2
    if ($1 == "ingest-1GB") cal = $5 / $2
    if ($1 == "sqlite3-import-1GB") sq = $5 / $2
}
END {
    printf "\nrun national complet (ingest + consolidate + render régions + national) : %.2f s mur, %.2f s CPU (objectif ~3 s)\n", w, c
    printf "re-run sans rien de nouveau : %.2f s (objectif < 0,1 s)\n", rw
    if (sq > 0) printf "ingest 1 Go / sqlite3 .import : %.2f× (objectif ≥ 1,5×)\n", cal / sq
}' "$RES"

# Only now, and only what was set aside ten minutes ago or more: see set_aside.
now=$(date +%s)
for t in "$TRASH"/*; do
    [ -e "$t" ] || continue
    [ $((now - ${t##*.})) -ge 600 ] && rm -rf "$t"
done
exit 0
