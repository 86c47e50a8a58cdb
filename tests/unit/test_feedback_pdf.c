/* Tests for render/retour.c: the feedback report to one signatory. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render/retour.h"
#include "rpdf_fixture.h"

/* Renders sig's report and returns its raw text (free it). */
static char *report(struct rf *f, const char *sig)
{
    char path[400];
    struct cp_err err;
    char *text;

    snprintf(path, sizeof path, "%s/retours/%s.pdf", f->out, sig);
    cr_assert_eq(cp_render_feedback_pdf(&f->job, sig, path, &err), 0, "%s", err.msg);
    cr_assert(rf_starts_with(path, "%PDF-", 5));
    text = rf_pdftotext(path, 1);
    cr_assert_not_null(text);
    return text;
}

Test(feedback_pdf, points_at_each_file_and_cell_with_what_to_correct)
{
    struct rf f;
    char *t;

    rf_setup(&f, NULL, 0);
    t = report(&f, "09D");
    cr_assert(rf_has(t, "Retour de contrôle"));
    cr_assert(rf_has(t, "Ariège (09D)"));
    cr_assert(rf_has(t, "1er semestre 2022 (2022-S1) — région Occitanie"));
    /* The file rejected whole, where and why, and what to do. */
    cr_assert(rf_has(t, "CD09_2022S1_v1.csv"));
    cr_assert(rf_has(t, "rejeté"));
    cr_assert(rf_has(t, "byte 146"));
    cr_assert(rf_has(t, "octet 0x8F invalide en UTF-8"));
    /* A value refused at reception. */
    cr_assert(rf_has(t, "L14C4 · ASE_ACCOMP"));
    cr_assert(rf_has(t, "douze"));
    cr_assert(rf_has(t, "Saisissez un nombre"));
    /* Its finding, in its own file and cell. */
    cr_assert(rf_has(t, "Taux d'orientation en dessous de 80 % de la cible."));
    cr_assert(rf_has(t, "20220815-0930_export_09D_2022-S1.csv"));
    cr_assert(rf_has(t, "L8C4"));
    cr_assert(rf_has(t, "la cible n'est pas atteinte"));
    /* The file rejected whole (1 August) was followed by an accepted one
     * (12 August): settled. The refused cell L14C4 (ASE_ACCOMP) is in the
     * file now in force: still to correct. */
    cr_assert(rf_has(t, "Valeurs rejetées à la réception : 2 (dont 1 déjà remplacée par un "
                        "envoi plus récent)."));
    cr_assert(rf_has(t, "Rien à faire : déjà remplacé par un envoi plus récent."));
    cr_assert(rf_has(t, "À faire : corrigez"));
    /* Nothing of other signatories. */
    cr_assert(!rf_has(t, "Hérault"));
    cr_assert(!rf_has(t, "112"));
    free(t);
    rf_teardown(&f);
}

Test(feedback_pdf, explanation_and_blocking_findings)
{
    struct rf f;
    char *t;

    rf_setup(&f, NULL, 0);
    t = report(&f, "81D");
    cr_assert(rf_has(t, "Avertissement"));
    cr_assert(rf_has(t, "Expliqué par le commissaire : Nouvelle plateforme d'orientation "
                        "ouverte en mars."));
    cr_assert(rf_has(t, "L8C4") && rf_has(t, "L9C4"), "both cells of the finding");
    free(t);
    t = report(&f, "31D");
    cr_assert(rf_has(t, RF_LONG_MESSAGE), "a long message, whole");
    free(t);
    t = report(&f, "34D");
    cr_assert(rf_has(t, "Bloquant"));
    cr_assert(rf_has(t, "dépasse 100 % : corrigez la valeur."));
    cr_assert(rf_has(t, "elle sort des bornes du catalogue"));
    free(t);
    rf_teardown(&f);
}

Test(feedback_pdf, shared_file_shows_only_what_concerns_the_signatory)
{
    struct rf f;
    char *t;

    rf_setup(&f, NULL, 0);
    t = report(&f, "11D");
    cr_assert(rf_has(t, "region76_consolidation_2022S1.csv"), "the regional file it is in");
    cr_assert(rf_has(t, "accepté en partie"));
    cr_assert(rf_has(t, "L5C4 · ASE_ACCOMP"), "the rejection naming it");
    cr_assert(rf_has(t, "n.c. voir note"));
    cr_assert(!rf_has(t, "L12C1"), "not a rejection naming nobody in a shared file");
    cr_assert(!rf_has(t, "Pyrénées"));
    cr_assert(!rf_has(t, "CD12"), "12D's unreadable file is not 11D's");
    free(t);
    t = report(&f, "12D");
    cr_assert(!rf_has(t, "L5C4"), "11D's rejection is not 12D's");
    cr_assert(rf_has(t, "Aucune anomalie."));
    free(t);
    t = report(&f, "30D");
    cr_assert(rf_has(t, "Aucune valeur rejetée."));
    cr_assert(rf_has(t, "Aucun problème relevé sur vos données de la période : merci."));
    free(t);
    rf_teardown(&f);
}

Test(feedback_pdf, an_unreadable_file_is_attributed_by_its_name)
{
    struct rf f;
    char *t;

    rf_setup(&f, NULL, 0);
    t = report(&f, "12D");
    cr_assert(rf_has(t, "20220820-101010_CD12_2022S1.csv"));
    cr_assert(rf_has(t, "rattaché à vous d'après le nom du fichier"));
    cr_assert(rf_has(t, "byte 88"));
    cr_assert(rf_has(t, "octet 0x81 invalide"));
    cr_assert(rf_has(t, "Enregistrez le fichier en CSV UTF-8"), "sent after the last good one");
    cr_assert(rf_has(t, "fichier entier") || rf_has(t, "byte 88"));
    /* Its own export, the régional file holding its figures, the unreadable one. */
    cr_assert(rf_has(t, "Fichiers reçus pour la période : 3, dont 1 rejeté en entier."));
    free(t);
    /* Not for another period. */
    f.job.period = "2021-S1";
    t = report(&f, "12D");
    cr_assert(!rf_has(t, "CD12_2022S1"));
    free(t);
    rf_teardown(&f);
}

Test(feedback_pdf, unknown_signatory_is_refused)
{
    struct rf f;
    struct cp_err err;
    char path[400];

    rf_setup(&f, NULL, 0);
    snprintf(path, sizeof path, "%s/x.pdf", f.dir);
    cr_assert_eq(cp_render_feedback_pdf(&f.job, "99X", path, &err), -1);
    cr_assert_eq(err.exit_status, CP_EX_USAGE);
    cr_assert_neq(access(path, F_OK), 0);
    rf_teardown(&f);
}

Test(feedback_pdf, hostile_text_stays_text)
{
    struct rf f;
    char marker[64], evil[300];
    char *t;

    snprintf(marker, sizeof marker, "/tmp/pwned-f%ld", (long)getpid());
    snprintf(evil, sizeof evil, "`touch %s` <i>x</i> & %%n \"q\"", marker);
    rf_setup(&f, evil, 0);
    t = report(&f, "81D");
    cr_assert(rf_has(t, "<i>x</i> & %n \"q\""), "finding message and explanation as text");
    free(t);
    t = report(&f, "09D");
    cr_assert(rf_has(t, evil), "signatory name as text");
    free(t);
    cr_assert_neq(access(marker, F_OK), 0);
    rf_teardown(&f);
}
