/* calpae-render: command line of the render stage (logic in render.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/db.h"
#include "common/err.h"
#include "common/progress.h"
#include "render/render.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage : calpae-render [--db FICHIER] [--out DOSSIER] [--region CODE]\n"
            "                      [--periode PERIODE] [--national] [--force] [--quiet]\n"
            "\n"
            "Écrit, pour chaque région et la période demandée, DOSSIER/<région>/<période>/ :\n"
            "dossier.pdf, synthese.xlsx, graphiques/ (PDF, SVG, PNG), les tableaux en CSV et\n"
            "retours/<signataire>.xlsx et .pdf ; avec --national, DOSSIER/national/<période>/.\n"
            "Une région dont les données n'ont pas changé depuis le dernier rendu n'est pas\n"
            "réécrite.\n"
            "\n"
            "  --db FICHIER       base SQLite (défaut : $CALPAE_DB, sinon ./calpae.db)\n"
            "  --out DOSSIER      dossier des rapports (défaut : reports)\n"
            "  --region CODE      une seule région (code INSEE, par exemple 76)\n"
            "  --periode PERIODE  2022, 2022-S1… (défaut : la dernière période avec des données)\n"
            "  --national         le niveau national, par région\n"
            "  --force            réécrire même si rien n'a changé\n"
            "  -q, --quiet        aucune ligne par région\n"
            "  -h, --help         cette aide\n"
            "  -V, --version      la version\n"
            "\n"
            "Statut de sortie : 0 succès ; 64 usage ; 66 base ou région introuvable ;\n"
            "70 erreur interne ; 73/74 écriture ou base ; 75 base occupée.\n");
}

static void on_job(void *ctx, const char *zone, const char *period, size_t i, size_t n)
{
    char what[32];

    snprintf(what, sizeof what, "%s %s", zone, period);
    if (i == 1)
        cp_progress_start(ctx, stderr, "régions", n);
    cp_progress_step(ctx, i, what);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"region", required_argument, NULL, 'r'},
        {"periode", required_argument, NULL, 'p'},
        {"national", no_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cp_render_opts o = {0};
    struct cp_progress bar = {0};
    struct cp_err err;
    size_t done = 0, same = 0;
    int c, status;

    o.db_path = cp_db_default_path();
    while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db_path = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'r': o.region = optarg; break;
        case 'p': o.period = optarg; break;
        case 'n': o.national = 1; break;
        case 'f': o.force = 1; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return CP_EX_OK;
        case 'V': printf("calpae-render %s\n", CALPAE_VERSION); return CP_EX_OK;
        default: usage(stderr); return CP_EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "calpae-render : argument inattendu « %s »\n", argv[optind]);
        usage(stderr);
        return CP_EX_USAGE;
    }
    if (o.quiet) {
        o.on_job = on_job;
        o.on_job_ctx = &bar;
    }
    o.rendered = &done;
    o.unchanged = &same;
    cp_err_clear(&err);
    status = cp_render_run(&o, &err);
    cp_progress_end(&bar);
    if (status != CP_EX_OK) {
        fprintf(stderr, "calpae-render : %s\n", err.msg);
        return status;
    }
    printf("calpae-render : %zu rendu%s, %zu inchangé%s ; rapports dans %s/\n", done,
           done > 1 ? "s" : "", same, same > 1 ? "s" : "", o.out_dir ? o.out_dir : "reports");
    if (fflush(stdout) == EOF)
        return CP_EX_IOERR;
    return CP_EX_OK;
}
