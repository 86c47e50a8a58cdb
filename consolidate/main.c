/*
 * calpae-consolidate: the command line over consolidate.h and explain.h.
 * Parses options, runs the stage or an explanation command, prints a
 * French summary and picks the exit status.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/err.h"
#include "common/fmt.h"
#include "common/ref.h"
#include "consolidate/consolidate.h"
#include "consolidate/explain.h"

static const char usage_text[] =
    "Usage : calpae-consolidate [--db FICHIER] [--data DOSSIER] [--regles FICHIER] [--force]"
    " [--quiet]\n"
    "        calpae-consolidate [--db FICHIER] --constats [--region CODE] [--periode PÉRIODE]\n"
    "        calpae-consolidate [--db FICHIER] --expliquer CLÉ --justification TEXTE"
    " [--auteur NOM]\n"
    "        calpae-consolidate [--db FICHIER] --explications\n"
    "        calpae-consolidate [--db FICHIER] --national\n";

static const char help_text[] =
    "\n"
    "Applique les règles de cohérence aux valeurs en vigueur, enregistre les constats,\n"
    "écarte des agrégats les valeurs sous un constat bloquant et calcule les agrégats\n"
    "régionaux et nationaux avec leur couverture. Une seule transaction ; relancer sans\n"
    "nouvelle donnée ne change rien : si rien de ce qu'elle lit n'a changé depuis la\n"
    "dernière consolidation (fichiers, valeurs, rejets, explications, données de\n"
    "référence, règles, version du logiciel), elle s'arrête aussitôt.\n"
    "\n"
    "Options :\n"
    "  --db FICHIER         base de données (défaut : $CALPAE_DB, sinon calpae.db)\n"
    "  --data DOSSIER       données de référence (défaut : $CALPAE_DATA, sinon ./data)\n"
    "  --regles FICHIER     règles de cohérence (défaut : DOSSIER/regles.csv)\n"
    "  --force              recalcule même si rien n'a changé depuis la dernière\n"
    "                       consolidation\n"
    "  -q, --quiet          seulement la ligne de résumé\n"
    "  --constats           liste les constats avec leur clé (filtres : --region, --periode)\n"
    "  --expliquer CLÉ      marque le constat CLÉ (clé ou numéro) comme expliqué ;\n"
    "                       exige --justification, accepte --auteur\n"
    "  --explications       liste les explications et leur état\n"
    "  --national           calcule les agrégats nationaux à partir des fichiers de\n"
    "                       remontée régionaux reçus (niveau national) ; seule\n"
    "                       consolidation possible d'une base qui contient des remontées\n"
    "  -h, --help           cette aide\n"
    "  -V, --version        la version\n"
    "\n"
    "Codes de sortie :\n"
    "  0   terminé\n"
    "  64  ligne de commande incorrecte, ou base nationale consolidée sans --national\n"
    "  65  terminé, mais des lignes de règles ont été écartées (les autres règles ont\n"
    "      été appliquées) ; ou constat inconnu (--expliquer)\n"
    "  66  base de données introuvable (listes), ou aucune remontée régionale (--national)\n"
    "  70  erreur interne\n"
    "  74  erreur de base de données ou d'entrée-sortie\n"
    "  75  base occupée par une autre exécution : réessayez plus tard\n"
    "  78  données de référence ou fichier de règles inutilisables\n";

enum {
    OPT_DB = 256, OPT_DATA, OPT_REGLES, OPT_CONSTATS, OPT_EXPLIQUER, OPT_JUSTIF, OPT_AUTEUR,
    OPT_EXPLICATIONS, OPT_REGION, OPT_PERIODE, OPT_NATIONAL, OPT_FORCE,
};

static const char *plural(unsigned long n, const char *one, const char *many)
{
    return n > 1 ? many : one;
}

static const char *num(unsigned long n, char *buf, size_t sz)
{
    return cp_fmt_int((long long)n, buf, sz);
}

static int print_finding(void *ctx, const struct cp_finding_row *f)
{
    (void)ctx;
    printf("[%s] %s\n  clé : %s (n° %lld)\n", f->gravite, f->message, f->cle, f->id);
    if (*f->fichier)
        printf("  source : %s%s%s\n", f->fichier, *f->emplacement ? ", " : "", f->emplacement);
    if (*f->explication)
        printf("  expliqué : %s\n", f->explication);
    return 0;
}

static int print_explanation(void *ctx, const struct cp_explanation *e)
{
    char date[16];

    (void)ctx;
    cp_fmt_date(e->cree_le, date, sizeof date);
    printf("n° %lld, %s, le %s%s%s : %s\n  constat : %s\n", e->id, e->etat, date,
           *e->auteur ? ", par " : "", e->auteur, e->justification, e->cle);
    if (*e->caduque_le) {
        cp_fmt_date(e->caduque_le, date, sizeof date);
        printf("  caduque depuis le %s (une valeur a changé)\n", date);
    }
    return 0;
}

static void print_summary(const struct cp_consolidate_stats *st, int quiet)
{
    char a[CP_FMT_MAX], b[CP_FMT_MAX], c[CP_FMT_MAX], d[CP_FMT_MAX], e[CP_FMT_MAX],
        f[CP_FMT_MAX];

    printf("calpae-consolidate : %s %s (%s %s, %s %s, %s %s) ; %s %s (%s %s)\n",
           num(st->findings, a, sizeof a), plural(st->findings, "constat", "constats"),
           num(st->by_severity[CP_SEV_BLOQUANT], b, sizeof b),
           plural(st->by_severity[CP_SEV_BLOQUANT], "bloquant", "bloquants"),
           num(st->by_severity[CP_SEV_AVERTISSEMENT], c, sizeof c),
           plural(st->by_severity[CP_SEV_AVERTISSEMENT], "avertissement", "avertissements"),
           num(st->by_severity[CP_SEV_INFO], d, sizeof d),
           plural(st->by_severity[CP_SEV_INFO], "info", "infos"),
           num(st->aggregates, e, sizeof e), plural(st->aggregates, "agrégat", "agrégats"),
           num(st->excluded, f, sizeof f),
           plural(st->excluded, "valeur écartée", "valeurs écartées"));
    if (quiet)
        return;
    printf("règles appliquées : %u ; lignes de règles écartées : %zu\n", st->rules,
           st->nproblems + st->problems_dropped);
    printf("constats depuis la dernière exécution : %s %s, %s %s, %s %s\n",
           num(st->added, a, sizeof a), plural(st->added, "nouveau", "nouveaux"),
           num(st->changed, b, sizeof b), plural(st->changed, "modifié", "modifiés"),
           num(st->removed, c, sizeof c), plural(st->removed, "disparu", "disparus"));
    printf("agrégats depuis la dernière exécution : %s %s, %s %s, %s %s\n",
           num(st->agg_added, a, sizeof a), plural(st->agg_added, "nouveau", "nouveaux"),
           num(st->agg_changed, b, sizeof b), plural(st->agg_changed, "modifié", "modifiés"),
           num(st->agg_removed, c, sizeof c),
           plural(st->agg_removed, "supprimé", "supprimés"));
    if (st->explanations_lapsed)
        printf("explications devenues caduques (valeur modifiée) : %s\n",
               num(st->explanations_lapsed, a, sizeof a));
    if (st->nregions)
        printf("constats par région :\n");
    for (size_t i = 0; i < st->nregions; i++) {
        const struct cp_region_count *r = &st->regions[i];

        printf("  %s %s : %s %s, %s %s, %s %s\n", *r->code ? r->code : "—", r->name,
               num(r->n[CP_SEV_BLOQUANT], a, sizeof a),
               plural(r->n[CP_SEV_BLOQUANT], "bloquant", "bloquants"),
               num(r->n[CP_SEV_AVERTISSEMENT], b, sizeof b),
               plural(r->n[CP_SEV_AVERTISSEMENT], "avertissement", "avertissements"),
               num(r->n[CP_SEV_INFO], c, sizeof c), plural(r->n[CP_SEV_INFO], "info", "infos"));
    }
}

static int fail(const struct cp_err *err)
{
    fprintf(stderr, "calpae-consolidate : %s%s%s%s\n", err->msg, *err->code ? " [" : "",
            err->code, *err->code ? "]" : "");
    return err->exit_status ? err->exit_status : CP_EX_SOFTWARE;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"data", required_argument, NULL, OPT_DATA},
        {"regles", required_argument, NULL, OPT_REGLES},
        {"quiet", no_argument, NULL, 'q'},
        {"constats", no_argument, NULL, OPT_CONSTATS},
        {"expliquer", required_argument, NULL, OPT_EXPLIQUER},
        {"justification", required_argument, NULL, OPT_JUSTIF},
        {"auteur", required_argument, NULL, OPT_AUTEUR},
        {"explications", no_argument, NULL, OPT_EXPLICATIONS},
        {"region", required_argument, NULL, OPT_REGION},
        {"periode", required_argument, NULL, OPT_PERIODE},
        {"national", no_argument, NULL, OPT_NATIONAL},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *data = NULL, *regles = NULL, *key = NULL, *justif = NULL,
               *author = NULL, *region = NULL, *period = NULL;
    int quiet = 0, list_findings = 0, list_expl = 0, national = 0, force = 0, c, status;
    struct cp_err err;

    cp_err_clear(&err);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: db = optarg; break;
        case OPT_DATA: data = optarg; break;
        case OPT_REGLES: regles = optarg; break;
        case 'q': quiet = 1; break;
        case OPT_CONSTATS: list_findings = 1; break;
        case OPT_EXPLIQUER: key = optarg; break;
        case OPT_JUSTIF: justif = optarg; break;
        case OPT_AUTEUR: author = optarg; break;
        case OPT_EXPLICATIONS: list_expl = 1; break;
        case OPT_REGION: region = optarg; break;
        case OPT_PERIODE: period = optarg; break;
        case OPT_NATIONAL: national = 1; break;
        case OPT_FORCE: force = 1; break;
        case 'h':
            fputs(usage_text, stdout);
            fputs(help_text, stdout);
            return fflush(stdout) == 0 ? CP_EX_OK : CP_EX_IOERR;
        case 'V':
            printf("calpae-consolidate %s\n", CALPAE_VERSION);
            return fflush(stdout) == 0 ? CP_EX_OK : CP_EX_IOERR;
        default:
            if (optopt)
                fprintf(stderr, "calpae-consolidate : option -%c inconnue ou sans valeur\n",
                        optopt);
            else
                fprintf(stderr, "calpae-consolidate : option « %s » inconnue ou sans valeur\n",
                        argv[optind - 1]);
            fputs(usage_text, stderr);
            return CP_EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "calpae-consolidate : argument inattendu « %s »\n", argv[optind]);
        fputs(usage_text, stderr);
        return CP_EX_USAGE;
    }
    if (list_findings + list_expl + national + (key != NULL) > 1 || ((justif || author) && !key) ||
        ((region || period) && !list_findings) || (force && (list_findings || list_expl || key))) {
        fprintf(stderr, "calpae-consolidate : options incompatibles\n");
        fputs(usage_text, stderr);
        return CP_EX_USAGE;
    }
    if (!db)
        db = cp_db_default_path();

    if (key) {
        long long id = 0;

        if (!justif || !*justif) {
            fprintf(stderr, "calpae-consolidate : --expliquer exige --justification \"…\"\n");
            fputs(usage_text, stderr);
            return CP_EX_USAGE;
        }
        if (cp_explain_add(db, key, justif, author, &id, &err) < 0)
            return fail(&err);
        printf("calpae-consolidate : explication n° %lld enregistrée pour le constat « %s »\n",
               id, key);
        return fflush(stdout) == 0 ? CP_EX_OK : CP_EX_IOERR;
    }
    if (national) {
        unsigned long rows = 0;

        if (cp_consolidate_national(db, &rows, &err) < 0)
            return fail(&err);
        printf("calpae-consolidate : %lu agrégat%s nationa%s calculé%s à partir des fichiers de "
               "remontée régionaux\n",
               rows, rows > 1 ? "s" : "", rows > 1 ? "ux" : "l", rows > 1 ? "s" : "");
        return fflush(stdout) == 0 ? CP_EX_OK : CP_EX_IOERR;
    }
    if (list_findings || list_expl) {
        int rc = list_findings ? cp_findings_list(db, region, period, print_finding, NULL, &err)
                               : cp_explain_list(db, print_explanation, NULL, &err);

        if (rc < 0)
            return fail(&err);
        return fflush(stdout) == 0 ? CP_EX_OK : CP_EX_IOERR;
    }

    {
        struct cp_consolidate_opts o = {db, data ? data : cp_ref_default_datadir(), regles,
                                        NULL};
        struct cp_consolidate_stats st;
        /* The regular run only: --national above always recomputes (its
         * inputs, the roll-ups, are not compared with its outputs). */
        int rc = force ? cp_consolidate_run(&o, &st, &err)
                       : cp_consolidate_run_if_changed(&o, &st, &err);

        if (rc < 0) {
            for (size_t i = 0; i < st.nproblems; i++)
                fprintf(stderr, "calpae-consolidate : %s [%s]\n", st.problems[i].msg,
                        st.problems[i].code);
            cp_consolidate_stats_release(&st);
            return fail(&err);
        }
        if (st.skipped) {
            printf("calpae-consolidate : rien de nouveau depuis la dernière consolidation, "
                   "rien n'est recalculé\n");
            if (!quiet)
                printf("entrées inchangées (fichiers, valeurs, rejets, explications, données de "
                       "référence, règles, version) ; --force pour recalculer quand même\n");
            cp_consolidate_stats_release(&st);
            return fflush(stdout) == 0 ? CP_EX_OK : CP_EX_IOERR;
        }
        for (size_t i = 0; i < st.nproblems; i++)
            fprintf(stderr, "calpae-consolidate : règle écartée : %s [%s]\n", st.problems[i].msg,
                    st.problems[i].code);
        if (st.problems_dropped)
            fprintf(stderr, "calpae-consolidate : %zu autre(s) problème(s) de règles non "
                            "détaillé(s)\n", st.problems_dropped);
        print_summary(&st, quiet);
        /* The run went to the end: skipped rule lines are bad input, not a
         * failure that should stop the nightly chain. */
        status = st.nproblems || st.problems_dropped ? CP_EX_DATAERR : CP_EX_OK;
        cp_consolidate_stats_release(&st);
    }
    if (fflush(stdout) != 0)
        return CP_EX_IOERR;
    return status;
}
