/* calpae-ingest: command line of the ingest stage (logic in ingest.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/db.h"
#include "common/err.h"
#include "common/fmt.h"
#include "common/progress.h"
#include "ingest/ingest.h"

/* With --quiet on a terminal, a progress bar replaces the per-file lines. */
static void on_file(void *ctx, const char *path, const char *outcome, size_t index,
                    size_t total)
{
    struct cp_progress *p = ctx;
    const char *slash = strrchr(path, '/');

    (void)outcome;
    if (index == 1)
        cp_progress_start(p, stderr, "fichiers", total);
    cp_progress_step(p, index, slash ? slash + 1 : path);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage : calpae-ingest [--db FICHIER] [--data DOSSIER] [--quarantaine DOSSIER]\n"
            "                      [--quiet] CHEMIN...\n"
            "\n"
            "Lit les soumissions (CSV, XLSX, ODS) des fichiers et dossiers donnés, dans\n"
            "l'ordre de réception, et les enregistre dans la base.\n"
            "\n"
            "  --db FICHIER          base SQLite (défaut : $CALPAE_DB, sinon ./calpae.db)\n"
            "  --data DOSSIER        données de référence (défaut : $CALPAE_DATA, ./data,\n"
            "                        puis le dossier installé)\n"
            "  --quarantaine DOSSIER où copier les fichiers illisibles avec leur rapport\n"
            "                        (défaut : quarantaine/ à côté de la base)\n"
            "  -q, --quiet           seulement la ligne de synthèse\n"
            "  -h, --help            cette aide\n"
            "  -V, --version         la version\n"
            "\n"
            "Statut de sortie : 0 tout accepté ; 65 des fichiers, lignes ou cellules\n"
            "rejetés (les bonnes données sont enregistrées) ; 64 usage ; 66 entrée\n"
            "introuvable ; 70 erreur interne ; 73/74 écriture ou base ; 75 base occupée ;\n"
            "78 données de référence inutilisables.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"data", required_argument, NULL, 'D'},
        {"quarantaine", required_argument, NULL, 'Q'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cp_ingest_opts o = {0};
    struct cp_ingest_stats st;
    struct cp_progress bar = {0};
    struct cp_err err;
    char a[CP_FMT_MAX], b[CP_FMT_MAX];
    int c, status;

    o.db_path = cp_db_default_path();
    while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db_path = optarg; break;
        case 'D': o.data_dir = optarg; break;
        case 'Q': o.quarantine_dir = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return CP_EX_OK;
        case 'V': printf("calpae-ingest %s\n", CALPAE_VERSION); return CP_EX_OK;
        default: usage(stderr); return CP_EX_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "calpae-ingest : indiquez au moins un fichier ou dossier à lire\n");
        usage(stderr);
        return CP_EX_USAGE;
    }
    o.paths = argv + optind;
    o.npaths = argc - optind;

    if (o.quiet) {
        o.on_file = on_file;
        o.on_file_ctx = &bar;
    }
    cp_err_clear(&err);
    status = cp_ingest_run(&o, &st, &err);
    cp_progress_end(&bar);
    if (status != CP_EX_OK && status != CP_EX_DATAERR) {
        fprintf(stderr, "calpae-ingest : %s\n", err.msg);
        return status;
    }
    printf("calpae-ingest : %u fichier%s lu%s : %u accepté%s, %u accepté%s avec rejets, "
           "%u rejeté%s, %u doublon%s, %u déjà lu%s ; %s valeurs enregistrées, %s rejets\n",
           st.files, st.files > 1 ? "s" : "", st.files > 1 ? "s" : "", st.accepted,
           st.accepted > 1 ? "s" : "", st.partial, st.partial > 1 ? "s" : "", st.rejected,
           st.rejected > 1 ? "s" : "", st.duplicates, st.duplicates > 1 ? "s" : "",
           st.already, st.already > 1 ? "s" : "", cp_fmt_int((long long)st.values, a, sizeof a),
           cp_fmt_int((long long)st.rejects, b, sizeof b));
    if (fflush(stdout) == EOF)
        return CP_EX_IOERR;
    return status;
}
