#!/bin/sh
# make run: the whole pipeline on the bundled sample inbox (data/sample/).
# Usage: scripts/run-sample.sh DB OUTDIR
set -u
db=$1
out=$2

step() {
    # Data problems (exit 65) are the normal life of an inbox: reported, not fatal.
    "$@"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 65 ]; then
        echo "make run : « $* » a échoué (statut $rc)" >&2
        exit "$rc"
    fi
}

echo "== Lecture des soumissions (data/sample/)"
step bin/calpae-ingest --db "$db" --quarantaine "$out/quarantaine" data/sample
if [ -x bin/calpae-consolidate ]; then
    echo
    echo "== Contrôles de cohérence et agrégats"
    step bin/calpae-consolidate --db "$db"
fi
if [ -x bin/calpae-render ]; then
    echo
    echo "== Rapports"
    step bin/calpae-render --db "$db" --out "$out"
fi
echo
echo "Base : $db"
echo "Rapports : $out/"
for d in "$out"/*/*/dossier.pdf; do
    [ -f "$d" ] && echo "Dossier : $d"
done
