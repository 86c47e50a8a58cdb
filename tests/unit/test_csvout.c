/* Tests for render/csvout.c: the CSV exports, byte by byte. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "render/csvout.h"
#include "render/render.h"
#include "render_fixture.h"

static struct rfix fx;

static void setup(void)
{
    rfix_setup(&fx);
}

static void teardown(void)
{
    rfix_teardown(&fx);
}

static char *render_and_read(const char *name, size_t *len)
{
    struct cp_err err;
    char path[256];

    cr_assert_eq(cp_render_csv(&fx.job, &err), 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/%s", fx.job.dir, name);
    return rfix_read(path, len);
}

/* The line of the CSV text that starts with prefix (without CRLF). */
static char *line_starting(const char *csv, const char *prefix)
{
    for (const char *p = csv; p && *p;) {
        const char *end = strstr(p, "\r\n");
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return strndup(p, end ? (size_t)(end - p) : strlen(p));
        p = end ? end + 2 : NULL;
    }
    return NULL;
}

Test(csvout, bom_semicolons_decimal_comma_crlf, .init = setup, .fini = teardown)
{
    size_t len = 0;
    char *csv = render_and_read("donnees.csv", &len), *line;

    cr_assert_not_null(csv);
    cr_assert_geq(len, 3);
    cr_assert_eq(memcmp(csv, "\xEF\xBB\xBF", 3), 0, "UTF-8 byte order mark");
    cr_assert_eq(strncmp(csv + 3,
                         "Signataire;Nom;Période;Indicateur;Libellé;Unité;Valeur;Cible;"
                         "Non renseigné;Anomalie;Commentaire;Fichier;Emplacement;Reçu le\r\n",
                         strlen("Signataire;Nom;Période;Indicateur;Libellé;Unité;Valeur;Cible;"
                                "Non renseigné;Anomalie;Commentaire;Fichier;Emplacement;"
                                "Reçu le\r\n")),
                 0, "%.200s", csv + 3);
    /* Every line ends with CRLF, none with a bare LF. */
    for (size_t i = 0; i < len; i++)
        if (csv[i] == '\n')
            cr_assert(i > 0 && csv[i - 1] == '\r', "bare LF at %zu", i);
    line = line_starting(csv, "31D;Haute-Garonne;2022-S1;RSA_TX_ORIENT_1M;");
    cr_assert_not_null(line);
    cr_assert(strstr(line, ";%;53,3;60;;info;"), "%s", line);
    cr_assert(strstr(line, ";24/07/2022 09:45:58"), "%s", line);
    free(line);
    free(csv);
}

Test(csvout, formula_like_text_neutralised, .init = setup, .fini = teardown)
{
    char *csv = render_and_read("donnees.csv", NULL), *line;

    cr_assert_not_null(csv);
    cr_assert(strstr(csv, ";'=cmd|'/C calc'!A0;"), "%s", csv);
    cr_assert(strstr(csv, ";\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"clic\"\")\";"),
              "quoted, quotes doubled, neutralised: %s", csv);
    cr_assert(strstr(csv, ";'=1+1;"));
    cr_assert(strstr(csv, ";'+33 6 12 34 56 78;"));
    cr_assert(strstr(csv, ";'@SOMME(A1:A2);"));
    cr_assert(strstr(csv, ";\"ligne 1; \"\"citée\"\"\";"), "RFC 4180 quoting");
    /* A negative value is a number: no apostrophe, no quotes. */
    line = line_starting(csv, "09D;Ariège;2022-S1;RSA_DELAI_ORIENT;");
    cr_assert_not_null(line);
    cr_assert(strstr(line, ";jours;-12;;;bloquant;"), "%s", line);
    free(line);
    cr_assert_null(strstr(csv, "Ain secret"), "other régions stay out");
    free(csv);
}

Test(csvout, synthesis_axes_and_findings, .init = setup, .fini = teardown)
{
    char *syn = render_and_read("synthese.csv", NULL);
    char path[256], *axis, *anom, *line;

    cr_assert_not_null(syn);
    line = line_starting(syn, "départements;Insertion des allocataires du RSA;RSA_NOUV_ENTRANTS;");
    cr_assert_not_null(line, "%s", syn);
    cr_assert(strstr(line, ";nombre;1200;1400;-200;-14,3;1300;92,3;1/4;;oui;"), "%s", line);
    free(line);
    line = line_starting(syn, "départements;Insertion des allocataires du RSA;RSA_TX_ORIENT_1M;");
    cr_assert_not_null(line);
    cr_assert(strstr(line, ";%;53,3;48;5,3;11;;;1/4;80;oui;"), "%s", line);
    free(line);

    snprintf(path, sizeof path, "%s/axe-insertion-des-allocataires-du-rsa.csv", fx.job.dir);
    axis = rfix_read(path, NULL);
    cr_assert_not_null(axis, "one file per axis");
    cr_assert(strstr(axis, "\xEF\xBB\xBFSignataire;Nom;RSA_NOUV_ENTRANTS valeur;"
                           "RSA_NOUV_ENTRANTS cible;RSA_NOUV_ENTRANTS réalisation (%);"),
              "%.300s", axis);
    cr_assert(strstr(axis, "\r\n09D;Ariège;300;;;350;;;NC;;;-12;;\r\n"), "%s", axis);
    cr_assert(strstr(axis, "\r\n76;Occitanie – départements;1200;1300;92,3;"), "%s", axis);
    cr_assert_null(strstr(axis, "Bas-Rhin"), "not in force in 2022");
    snprintf(path, sizeof path, "%s/axe-travail-social-et-acces-aux-droits.csv", fx.job.dir);
    free(axis);
    axis = rfix_read(path, NULL);
    cr_assert_not_null(axis);
    cr_assert(strstr(axis, "\r\nM31;Toulouse Métropole;87,5;;\r\n"), "%s", axis);

    snprintf(path, sizeof path, "%s/anomalies.csv", fx.job.dir);
    anom = rfix_read(path, NULL);
    cr_assert_not_null(anom);
    cr_assert(strstr(anom, "PARTIE_TOUT;bloquant;09D;Ariège;2022-S1;"
                           "RSA_ORIENT_1M,RSA_NOUV_ENTRANTS;350 | 300;Nouveaux entrants"),
              "%s", anom);
    cr_assert(strstr(anom, ";Nouvelle plateforme d'orientation ouverte en mars.\r\n"));
    cr_assert_null(strstr(anom, "hors région"));
    free(syn);
    free(axis);
    free(anom);
}

Test(csvout, same_data_same_bytes, .init = setup, .fini = teardown)
{
    static const char *const names[] = {
        "synthese.csv", "donnees.csv", "anomalies.csv",
        "axe-insertion-des-allocataires-du-rsa.csv",
        "axe-travail-social-et-acces-aux-droits.csv"};
    char first[200], second[200], a[256], b[256];
    struct cp_err err;
    struct stat before, after;

    snprintf(first, sizeof first, "%s", fx.job.dir);
    cr_assert_eq(cp_render_csv(&fx.job, &err), 0, "%s", err.msg);
    snprintf(second, sizeof second, "%s/again", fx.root);
    fx.job.dir = second;
    fx.job.generated = "2031-05-05T05:05:05";
    cr_assert_eq(cp_render_csv(&fx.job, &err), 0, "%s", err.msg);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t la = 0, lb = 0;
        char *da, *db;

        snprintf(a, sizeof a, "%s/%s", first, names[i]);
        snprintf(b, sizeof b, "%s/%s", second, names[i]);
        da = rfix_read(a, &la);
        db = rfix_read(b, &lb);
        cr_assert_not_null(da, "%s", a);
        cr_assert_not_null(db, "%s", b);
        cr_assert(la == lb && memcmp(da, db, la) == 0, "%s differs", names[i]);
        free(da);
        free(db);
    }
    /* Rendering again in place leaves an unchanged file alone. */
    snprintf(a, sizeof a, "%s/donnees.csv", second);
    cr_assert_eq(stat(a, &before), 0);
    cr_assert_eq(cp_render_csv(&fx.job, &err), 0, "%s", err.msg);
    cr_assert_eq(stat(a, &after), 0);
    cr_assert_eq(before.st_ino, after.st_ino, "file not replaced");
}

Test(csvout, fields_and_numbers)
{
    struct cp_buf b = CP_BUF_INIT(1024);

    cp_csv_text(&b, "plain");
    cp_buf_addc(&b, '|');
    cp_csv_text(&b, "-1+2");
    cp_buf_addc(&b, '|');
    cp_csv_text(&b, "\tx");
    cp_buf_addc(&b, '|');
    cp_csv_text(&b, "\rx");
    cp_buf_addc(&b, '|');
    cp_csv_text(&b, "a\nb");
    cp_buf_addc(&b, '|');
    cp_csv_text(&b, "");
    cp_buf_addc(&b, '|');
    cp_csv_number(&b, -12);
    cp_buf_addc(&b, '|');
    cp_csv_number(&b, 1234567.25);
    cp_buf_addc(&b, '|');
    cp_csv_number(&b, 0.1 + 0.2);
    cp_buf_addc(&b, '|');
    cp_csv_number(&b, -0.0);
    cp_buf_addc(&b, '|');
    cp_csv_number(&b, 1e-7);
    cp_buf_addc(&b, '|');
    cp_csv_number(&b, 41042158);
    cr_assert_str_eq(cp_buf_str(&b), "plain|'-1+2|'\tx|\"'\rx\"|\"a\nb\"||-12|1234567,25|0,3|0|"
                                     "0,0000001|41042158");
    cp_buf_release(&b);
}
