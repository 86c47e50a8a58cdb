/* calpae-nightly: command line of the nightly job (logic in nightly.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/afile.h"
#include "common/db.h"
#include "common/err.h"
#include "common/fmt.h"
#include "nightly/nightly.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage : calpae-nightly [--db FICHIER] [--inbox DOSSIER] [--out DOSSIER]\n"
            "                       [--archive DOSSIER] [--quarantaine DOSSIER] [--log FICHIER]\n"
            "                       [--data DOSSIER] [-q]\n"
            "\n"
            "Traitement de nuit : lit la boîte de réception, contrôle et agrège, puis écrit\n"
            "les rapports des régions dont les données ont changé. Chaque fichier traité est\n"
            "déplacé dans ARCHIVE/<AAAA-MM-JJ>/ ; un fichier illisible est retiré de la boîte\n"
            "(sa copie et son rapport sont dans la quarantaine).\n"
            "\n"
            "  --db FICHIER          base SQLite (défaut : $CALPAE_DB, sinon ./calpae.db)\n"
            "  --inbox DOSSIER       boîte de réception (défaut : $CALPAE_INBOX, sinon ./inbox)\n"
            "  --out DOSSIER         dossier des rapports (défaut : reports)\n"
            "  --archive DOSSIER     archives (défaut : archive/ à côté de la base)\n"
            "  --quarantaine DOSSIER fichiers illisibles (défaut : quarantaine/ à côté de la base)\n"
            "  --log FICHIER         journal détaillé (défaut : calpae-nightly.log à côté de la base)\n"
            "  --data DOSSIER        données de référence (défaut : $CALPAE_DATA, ./data,\n"
            "                        puis le dossier installé)\n"
            "  -q, --quiet           aucune sortie en cas de succès\n"
            "  -h, --help            cette aide\n"
            "  -V, --version         la version\n"
            "\n"
            "Statut de sortie : 0 succès (même avec des données rejetées) ; 64 usage ;\n"
            "66 boîte introuvable ; 70 erreur interne ; 73/74 écriture ou base ;\n"
            "75 une autre exécution est en cours ; 78 données de référence inutilisables.\n");
}

static const char *s(unsigned long n)
{
    return n > 1 ? "s" : "";
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"inbox", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},
        {"archive", required_argument, NULL, 'a'},
        {"quarantaine", required_argument, NULL, 'Q'},
        {"log", required_argument, NULL, 'l'},
        {"data", required_argument, NULL, 'D'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cp_nightly_opts o = {0};
    struct cp_nightly_stats st;
    struct cp_err err;
    const char *log_path = NULL;
    char log_default[4096], now[20];
    FILE *log;
    int c, quiet = 0, status;

    o.db_path = cp_db_default_path();
    while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db_path = optarg; break;
        case 'i': o.inbox = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'a': o.archive_dir = optarg; break;
        case 'Q': o.quarantine_dir = optarg; break;
        case 'l': log_path = optarg; break;
        case 'D': o.data_dir = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return CP_EX_OK;
        case 'V': printf("calpae-nightly %s\n", CALPAE_VERSION); return CP_EX_OK;
        default: usage(stderr); return CP_EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "calpae-nightly : argument inattendu « %s »\n", argv[optind]);
        usage(stderr);
        return CP_EX_USAGE;
    }
    if (!log_path) {
        cp_nightly_beside(o.db_path, "calpae-nightly.log", log_default, sizeof log_default);
        log_path = log_default;
    }
    {
        const char *slash = strrchr(log_path, '/');
        char dir[4096];

        /* A first run may point --db and the log at a folder not made yet. */
        if (slash && slash != log_path) {
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - log_path), log_path);
            if (cp_mkdirs(dir, &err) < 0) {
                fprintf(stderr, "calpae-nightly : %s\n", err.msg);
                return CP_EX_CANTCREAT;
            }
        }
    }
    log = fopen(log_path, "ae");
    if (!log) {
        fprintf(stderr, "calpae-nightly : impossible d'ouvrir le journal « %s » : %s\n",
                log_path, strerror(errno));
        return CP_EX_CANTCREAT;
    }
    cp_db_now(now);
    fprintf(log, "==== calpae-nightly %s, %s ====\n", CALPAE_VERSION, now);
    o.log = log;
    o.progress = quiet ? NULL : stderr;

    cp_err_clear(&err);
    status = cp_nightly_run(&o, &st, &err);
    if (status != CP_EX_OK)
        fprintf(log, "échec (statut %d) : %s\n", status, err.msg);
    if (fclose(log) == EOF && status == CP_EX_OK) {
        fprintf(stderr, "calpae-nightly : écriture du journal « %s » impossible\n", log_path);
        return CP_EX_IOERR;
    }
    if (status != CP_EX_OK) {
        fprintf(stderr, "calpae-nightly : %s\n", err.msg);
        return status;
    }
    if (!quiet) {
        const struct cp_ingest_stats *i = &st.ingest;
        unsigned nouveaux = i->files - i->already;

        printf("calpae-nightly : %u nouveau%s fichier%s (%u accepté%s, %u avec rejets, "
               "%u rejeté%s, %u doublon%s), %u archivé%s, %u en quarantaine ; %s ; "
               "%zu région%s rendue%s, %zu inchangée%s ; journal : %s\n",
               nouveaux, nouveaux > 1 ? "x" : "", s(nouveaux), i->accepted, s(i->accepted),
               i->partial, i->rejected, s(i->rejected), i->duplicates, s(i->duplicates),
               st.archived, s(st.archived), st.removed,
               st.consolidated ? "consolidation faite" : "consolidation inchangée", st.rendered,
               s(st.rendered), s(st.rendered), st.unchanged, s(st.unchanged), log_path);
        if (fflush(stdout) == EOF)
            return CP_EX_IOERR;
    }
    return CP_EX_OK;
}
