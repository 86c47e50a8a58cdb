/*
 * The conference dossier (see dossier.h): the model of the job laid out
 * with the engine of pdfdoc.h. Régional and national dossiers share the
 * code; at national level the rows are régions and cells carry their
 * coverage instead of findings.
 */
#include "render/dossier.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fmt.h"
#include "render/model.h"
#include "render/pdfdoc.h"

#define NBSP "\xC2\xA0"
#define CHUNK 4 /* indicator columns per table on A4 portrait */

enum { A_KEY, A_AXES, A_CHARTS, A_FINDINGS, A_FILES, NSECTIONS };

static const char *const section_titles[NSECTIONS] = {
    "Chiffres clés", "Tableaux par axe", "Graphiques", "Annexe 1 — Anomalies",
    "Annexe 2 — Fichiers utilisés",
};

struct dctx {
    const struct cp_render_job *job;
    const struct cp_model *m;
    const struct cp_charts *charts;
    char per[48];        /* "1er semestre 2022" */
    char data_date[16];  /* "12/08/2022" */
    char generated[16];
};

/* One row of a table: the cells, and room for the text composed for them
 * (text read from the database is pointed to, never copied). */
struct row {
    struct cp_pdf_cell cell[CP_PDF_MAXCOLS];
    char text[CP_PDF_MAXCOLS][512];
    char sub[CP_PDF_MAXCOLS][512];
};

static void row_clear(struct row *r)
{
    memset(r, 0, sizeof *r);
}

/* Copies s into out (n bytes), cutting only between UTF-8 characters. */
static void copy_utf8(char *out, size_t n, const char *s)
{
    size_t len = strlen(s);

    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, s, len);
    out[len] = '\0';
}

/* snprintf into out, never cutting a UTF-8 character in two. */
static void fmt_utf8(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_utf8(char *out, size_t n, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    copy_utf8(out, n, tmp);
}

/* A cell with composed text (copied into the row). */
static void row_set(struct row *r, int c, const char *text, const char *sub)
{
    copy_utf8(r->text[c], sizeof r->text[c], text ? text : "");
    r->cell[c].text = r->text[c];
    if (sub && *sub) {
        copy_utf8(r->sub[c], sizeof r->sub[c], sub);
        r->cell[c].sub = r->sub[c];
    }
}

/* A cell showing text that outlives the row (the model's strings). */
static void row_ref(struct row *r, int c, const char *text, const char *sub)
{
    r->cell[c].text = text ? text : "";
    r->cell[c].sub = sub && *sub ? sub : NULL;
}

static unsigned sev_bg(int sev)
{
    return sev == CP_MSEV_BLOQ ? 0xF6D5D5 : sev == CP_MSEV_AVERT ? 0xFCE8C8
                                       : sev == CP_MSEV_INFO  ? 0xDCEBF7 : 0;
}

static unsigned sev_ink(int sev)
{
    return sev == CP_MSEV_BLOQ ? 0xA01818 : sev == CP_MSEV_AVERT ? 0xA05A00 : 0x1F5A96;
}

/* "12 départements sur 13" with French plurals. */
static void count_of(char *out, size_t n, int sent, int expected, const char *one,
                     const char *many)
{
    snprintf(out, n, "%d %s sur %d", sent, sent > 1 ? many : one, expected);
}

/* ---- cover ---- */

static void cover(struct cp_pdf *d, const struct dctx *x)
{
    const struct cp_model *m = x->m;
    struct cp_buf b = CP_BUF_INIT(8192);
    char part[3][80], line[160];
    int np = 0, nmissing = 0, nb = 0, na = 0, ni = 0;

    cp_pdf_new_page(d);
    cp_pdf_skip(d, 90);
    cp_pdf_para(d, "Conventions d'appui à la lutte contre la pauvreté et d'accès à l'emploi",
                10, CP_PDF_CENTER | CP_PDF_GREY, 0);
    cp_pdf_skip(d, 18);
    cp_pdf_para(d, m->national ? "Synthèse nationale" : "Dossier de conférence régionale", 26,
                CP_PDF_CENTER | CP_PDF_BOLD, 0);
    cp_pdf_skip(d, 14);
    if (m->national)
        fmt_utf8(line, sizeof line, "%s", m->zone_name);
    else
        fmt_utf8(line, sizeof line, "%s (%s)", m->zone_name, m->zone);
    cp_pdf_para(d, line, 20, CP_PDF_CENTER, 0);
    cp_pdf_skip(d, 6);
    snprintf(line, sizeof line, "%s (%s)", x->per, m->period);
    cp_pdf_para(d, line, 15, CP_PDF_CENTER, 0);
    cp_pdf_skip(d, 50);

    snprintf(line, sizeof line, "Données reçues jusqu'au %s",
             x->data_date[0] ? x->data_date : "—");
    cp_pdf_para(d, line, 11, 0, 40);
    cp_pdf_skip(d, 6);

    /* Coverage: who sent data for the period. */
    if (m->national) {
        count_of(part[np++], sizeof part[0], m->regions_sent, m->regions_total, "région",
                 "régions");
        cp_buf_addf(&b, "Couverture : %s %s des agrégats pour la période", part[0],
                    m->regions_sent > 1 ? "ont" : "a");
        np = 0;
        for (int g = 0; g < CP_NGROUPS; g++)
            if (m->expected[g] > 0)
                count_of(part[np++], sizeof part[0], m->sent[g], m->expected[g],
                         g == CP_G_D ? "département" : g == CP_G_M ? "métropole" : "région",
                         cp_group_name(g));
        for (int k = 0; k < np; k++)
            cp_buf_addf(&b, "%s%s", k == 0 ? " ; signataires ayant transmis : " : k == np - 1
                                                                                 ? " et "
                                                                                 : ", ",
                        part[k]);
        cp_buf_adds(&b, ".");
    } else {
        for (int g = 0; g < CP_NGROUPS; g++)
            if (m->expected[g] > 0)
                count_of(part[np++], sizeof part[0], m->sent[g], m->expected[g],
                         g == CP_G_D ? "département" : g == CP_G_M ? "métropole" : "région",
                         cp_group_name(g));
        cp_buf_adds(&b, "Couverture : ");
        for (int k = 0; k < np; k++)
            cp_buf_addf(&b, "%s%s", k == 0 ? "" : k == np - 1 ? " et " : ", ", part[k]);
        cp_buf_adds(&b, np ? " ont transmis des données pour la période." : "aucun signataire.");
    }
    cp_pdf_para(d, cp_buf_str(&b), 11, 0, 40);
    cp_buf_reset(&b);
    for (size_t u = 0; u < m->nunit; u++)
        if (!m->unit[u].sent)
            cp_buf_addf(&b, "%s%s%s%s%s", nmissing++ ? ", " : "Sans données : ", m->unit[u].name,
                        m->national ? "" : " (", m->national ? "" : m->unit[u].code,
                        m->national ? "" : ")");
    if (nmissing) {
        cp_buf_adds(&b, ".");
        cp_pdf_skip(d, 4);
        cp_pdf_para(d, cp_buf_str(&b), 9.5, CP_PDF_GREY, 40);
    }
    cp_pdf_skip(d, 6);
    for (size_t u = 0; u < m->nunit; u++) {
        nb += m->unit[u].nbloq;
        na += m->unit[u].navert;
        ni += m->unit[u].ninfo;
    }
    snprintf(line, sizeof line, "Anomalies : %d bloquante%s, %d avertissement%s, %d information%s.",
             nb, nb > 1 ? "s" : "", na, na > 1 ? "s" : "", ni, ni > 1 ? "s" : "");
    cp_pdf_para(d, line, 11, 0, 40);
    cp_pdf_skip(d, 6);
    snprintf(line, sizeof line, "Document généré le %s.", x->generated);
    cp_pdf_para(d, line, 11, 0, 40);

    /* Contents, with the pages found by the first pass. */
    cp_pdf_skip(d, 40);
    cp_pdf_para(d, "Sommaire", 13, CP_PDF_BOLD, 40);
    cp_pdf_skip(d, 6);
    for (int k = 0; k < NSECTIONS; k++) {
        int pg = cp_pdf_anchor_page(d, k);
        char num[16];

        if (pg > 0)
            snprintf(num, sizeof num, "%d", pg);
        else
            snprintf(num, sizeof num, "…");
        cp_pdf_line2(d, section_titles[k], num, 11, 0, 40);
        cp_pdf_skip(d, 3);
    }
    cp_buf_release(&b);
}

/* ---- key figures ---- */

static void key_figures(struct cp_pdf *d, const struct dctx *x)
{
    const struct cp_model *m = x->m;
    char prevtitle[64];
    struct cp_pdf_col cols[] = {
        {"Indicateur", 167, 0},          {"Valeur", 64, CP_PDF_RIGHT},
        {prevtitle, 64, CP_PDF_RIGHT},   {"Évolution", 52, CP_PDF_RIGHT},
        {"Cible", 62, CP_PDF_RIGHT},     {"Atteinte", 48, CP_PDF_RIGHT},
        {"Couverture", 54, CP_PDF_RIGHT},
    };
    struct row r;
    int any = 0;

    snprintf(prevtitle, sizeof prevtitle, "Période précédente (%s)", m->prev);
    cp_pdf_heading(d, 1, section_titles[A_KEY]);
    cp_pdf_anchor(d, A_KEY);
    cp_pdf_para(d,
                m->national
                    ? "Agrégats nationaux de la période, recalculés à partir des numérateurs, "
                      "dénominateurs et poids régionaux (jamais par moyenne de taux). Les "
                      "valeurs sous anomalie bloquante sont exclues."
                    : "Agrégats régionaux de la période : sommes pour les flux et les stocks, "
                      "taux recalculés à partir des numérateurs et dénominateurs des "
                      "signataires qui ont donné les deux, moyennes pondérées. Les valeurs "
                      "sous anomalie bloquante sont exclues ; métropoles et région forment "
                      "leurs propres groupes.",
                9, 0, 0);
    cp_pdf_skip(d, 6);
    for (int g = 0; g < CP_NGROUPS; g++) {
        struct cp_pdf_table t = {cols, 7, 8, 6, NULL, 0};
        char caption[80];
        int started = 0;

        snprintf(caption, sizeof caption, "Chiffres clés — %s", cp_group_name(g));
        t.caption = caption;
        for (size_t i = 0; i < m->nind; i++) {
            const struct cp_mind *ind = &m->ind[i];
            const struct cp_magg *a = &m->agg[i * CP_NGROUPS + (size_t)g];
            const struct cp_magg *p = &m->prevagg[i * CP_NGROUPS + (size_t)g];
            char v[CP_FMT_MAX + 16], s[CP_FMT_MAX + 40];

            if (!a->present)
                continue;
            if (!started) {
                cp_pdf_heading(d, 2, g == CP_G_D   ? "Départements"
                                     : g == CP_G_M ? "Métropoles"
                                                   : "Régions (collectivités)");
                cp_pdf_table_begin(d, &t);
                started = any = 1;
            }
            row_clear(&r);
            row_ref(&r, 0, ind->label, ind->code);
            cp_fmt_value(ind, a->value, v, sizeof v);
            snprintf(s, sizeof s, "%s%s%s", v[0] ? v : "—", a->partial ? " †" : "",
                     a->derived ? " ‡" : "");
            row_set(&r, 1, s, NULL);
            if (a->partial)
                r.cell[1].flags = CP_PDF_ITALIC;
            cp_fmt_value(ind, p->value, v, sizeof v);
            row_set(&r, 2, p->present && v[0] ? v : "—", NULL);
            cp_fmt_change(ind, a->value, p->present ? p->value : NAN, v, sizeof v);
            row_set(&r, 3, v[0] ? v : "—", NULL);
            /* The workbook's rule (model.c): a sum of targets, for counts
             * and levels, only when every contributor gave one. */
            cp_fmt_value(ind, a->target, v, sizeof v);
            if (isnan(a->target) && a->ntargets > 0 && a->ntargets < a->ncontrib &&
                (strcmp(ind->nature, "flux") == 0 || strcmp(ind->nature, "stock") == 0))
                snprintf(s, sizeof s, "%d cible%s sur %d", a->ntargets,
                         a->ntargets > 1 ? "s" : "", a->ncontrib);
            else
                s[0] = '\0';
            row_set(&r, 4, v[0] ? v : "—", s);
            if (!isnan(a->target) && a->target != 0 && !isnan(a->value))
                cp_fmt_pct(a->value / a->target * 100, v, sizeof v);
            else
                snprintf(v, sizeof v, "—");
            row_set(&r, 5, v, NULL);
            snprintf(v, sizeof v, "%d/%d", a->covered, a->expected);
            s[0] = '\0';
            if (!isnan(a->share)) {
                char pct[CP_FMT_MAX];
                snprintf(s, sizeof s, "dén. %s", cp_fmt_pct(a->share * (a->share <= 1 ? 100 : 1),
                                                             pct, sizeof pct));
            }
            row_set(&r, 6, v, s);
            cp_pdf_table_row(d, &t, r.cell);
        }
        if (started)
            cp_pdf_table_end(d, &t);
    }
    if (!any) {
        cp_pdf_para(d, "Aucun agrégat pour cette période.", 10, CP_PDF_ITALIC, 0);
        return;
    }
    cp_pdf_para(d,
                "† chiffre partiel : tous les signataires attendus ne sont pas couverts "
                "(couverture = signataires pris en compte / attendus). ‡ année calculée "
                "comme la somme des deux semestres. Cible : pour les effectifs et les "
                "montants, somme des cibles des signataires pris en compte, quand tous en "
                "ont fixé une ; les cibles des taux sont dans les tableaux par axe. Évolution "
                "en points pour les taux.",
                7.5, CP_PDF_GREY, 0);
}

/* ---- tables per axis ---- */

static void axis_legend(struct cp_pdf *d, int national)
{
    static const struct {
        int sev;
        const char *text;
    } items[] = {
        {CP_MSEV_BLOQ, "anomalie bloquante (valeur exclue des agrégats)"},
        {CP_MSEV_AVERT, "avertissement"},
        {CP_MSEV_INFO, "information"},
    };

    if (national) {
        cp_pdf_para(d,
                    "Chaque cellule donne la valeur régionale du groupe principal de "
                    "l'indicateur (départements, sinon métropoles ou régions) et, dessous, sa "
                    "couverture ; † : chiffre partiel.",
                    8, CP_PDF_GREY, 0);
        cp_pdf_skip(d, 6);
        return;
    }
    cp_pdf_para(d,
                "Sous chaque valeur : la cible du signataire et le réalisé en % de la cible. "
                "Une cellule colorée porte une anomalie ; le petit numéro renvoie à l'annexe 1. "
                "NC : non communiqué ; SO : sans objet ; — : pas de valeur.",
                8, CP_PDF_GREY, 0);
    cp_pdf_skip(d, 3);
    for (size_t k = 0; k < sizeof items / sizeof items[0]; k++) {
        double y = cp_pdf_y(d);
        cp_pdf_need(d, 12);
        y = cp_pdf_y(d);
        cp_pdf_swatch(d, cp_pdf_left(d), y + 1.5, 14, 8, sev_bg(items[k].sev));
        cp_pdf_para(d, items[k].text, 8, CP_PDF_GREY, 20);
    }
    cp_pdf_skip(d, 6);
}

/* The cell of row u for indicator i. */
static void value_cell(const struct cp_model *m, size_t u, size_t i, struct row *r, int c)
{
    const struct cp_mind *ind = &m->ind[i];
    const struct cp_mcell *cell = cp_model_cell(m, u, i);
    char v[CP_FMT_MAX + 16], t[CP_FMT_MAX + 16], s[200], pct[CP_FMT_MAX];
    int gi = cp_group_of(m->unit[u].type);

    if (!m->national && gi >= 0 && !(ind->groups & (1u << gi))) {
        row_set(r, c, "", NULL);
        r->cell[c].bg = 0xEEEEEE; /* does not apply to this kind of signatory */
        return;
    }
    if (!cell->present) {
        row_set(r, c, "—", NULL);
        r->cell[c].flags = CP_PDF_GREY;
        return;
    }
    if (isnan(cell->value)) {
        row_set(r, c, cell->missing[0] ? cell->missing : "—", NULL);
        r->cell[c].flags = CP_PDF_GREY | CP_PDF_ITALIC;
    } else {
        cp_fmt_value(ind, cell->value, v, sizeof v);
        s[0] = '\0';
        if (m->national) {
            snprintf(s, sizeof s, "%d/%d", cell->covered, cell->expected);
            if (cell->partial) {
                size_t n = strlen(v);
                snprintf(v + n, sizeof v - n, " †");
            }
        } else if (!isnan(cell->target)) {
            cp_fmt_value(ind, cell->target, t, sizeof t);
            if (cell->target != 0)
                snprintf(s, sizeof s, "cible %s · %s", t,
                         cp_fmt_pct(cell->value / cell->target * 100, pct, sizeof pct));
            else
                snprintf(s, sizeof s, "cible %s", t);
        }
        if (cell->excluded) {
            size_t n = strlen(s);
            snprintf(s + n, sizeof s - n, "%sexclue", n ? " · " : "");
        }
        row_set(r, c, v, s);
        if (cell->excluded)
            r->cell[c].flags = CP_PDF_ITALIC;
    }
    if (cell->severity) {
        r->cell[c].bg = sev_bg(cell->severity);
        r->cell[c].mark = cell->refs;
        r->cell[c].mark_rgb = sev_ink(cell->severity);
    }
}

static void axis_tables(struct cp_pdf *d, const struct dctx *x)
{
    const struct cp_model *m = x->m;
    struct row r;

    cp_pdf_heading(d, 1, section_titles[A_AXES]);
    cp_pdf_anchor(d, A_AXES);
    axis_legend(d, m->national);
    if (m->nind == 0)
        cp_pdf_para(d, "Aucune valeur pour cette période.", 10, CP_PDF_ITALIC, 0);
    for (size_t i = 0; i < m->nind; i++) {
        size_t cols[64], nc = 0;
        int seen = 0;

        /* An axis starts at its first indicator in catalog order. */
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->ind[k].axis, m->ind[i].axis) == 0)
                seen = 1;
        if (seen)
            continue;
        for (size_t k = i; k < m->nind && nc < 64; k++)
            if (strcmp(m->ind[k].axis, m->ind[i].axis) == 0)
                cols[nc++] = k;
        cp_pdf_heading(d, 2, m->ind[i].axis);
        for (size_t c0 = 0; c0 < nc; c0 += CHUNK) {
            struct cp_pdf_col tc[CHUNK + 1];
            size_t n = nc - c0 < CHUNK ? nc - c0 : CHUNK;
            unsigned groups = 0;
            struct cp_pdf_table t = {tc, (int)n + 1, 7.5, 6, m->ind[i].axis, 0};

            tc[0] = (struct cp_pdf_col){m->national ? "Région" : "Signataire", 115, 0};
            for (size_t k = 0; k < n; k++) {
                tc[k + 1] = (struct cp_pdf_col){m->ind[cols[c0 + k]].label, 99, CP_PDF_RIGHT};
                groups |= m->ind[cols[c0 + k]].groups;
            }
            cp_pdf_table_begin(d, &t);
            for (size_t u = 0; u < m->nunit; u++) {
                int gi = cp_group_of(m->unit[u].type);
                char name[512];

                if (!m->national && (gi < 0 || !(groups & (1u << gi))))
                    continue;
                row_clear(&r);
                if (m->national)
                    fmt_utf8(name, sizeof name, "%s", m->unit[u].name);
                else
                    fmt_utf8(name, sizeof name, "%s (%s)", m->unit[u].name, m->unit[u].code);
                row_set(&r, 0, name, NULL);
                for (size_t k = 0; k < n; k++)
                    value_cell(m, u, cols[c0 + k], &r, (int)k + 1);
                cp_pdf_table_row(d, &t, r.cell);
            }
            /* The zone's aggregates, one row per group. */
            for (int g = 0; g < CP_NGROUPS; g++) {
                int present = 0;
                char name[512];

                for (size_t k = 0; k < n; k++)
                    present |= m->agg[cols[c0 + k] * CP_NGROUPS + (size_t)g].present;
                if (!present)
                    continue;
                row_clear(&r);
                fmt_utf8(name, sizeof name, "%s — ensemble des %s",
                         m->national ? "France" : m->zone_name, cp_group_name(g));
                row_set(&r, 0, name, NULL);
                r.cell[0].flags = CP_PDF_BOLD;
                r.cell[0].bg = 0xE8EEF5;
                for (size_t k = 0; k < n; k++) {
                    const struct cp_mind *ind = &m->ind[cols[c0 + k]];
                    const struct cp_magg *a = &m->agg[cols[c0 + k] * CP_NGROUPS + (size_t)g];
                    char v[CP_FMT_MAX + 16], cov[40];

                    r.cell[k + 1].bg = 0xE8EEF5;
                    if (!a->present) {
                        row_set(&r, (int)k + 1, "", NULL);
                        continue;
                    }
                    cp_fmt_value(ind, a->value, v, sizeof v);
                    if (a->partial) {
                        size_t len = strlen(v);
                        snprintf(v + len, sizeof v - len, " †");
                    }
                    snprintf(cov, sizeof cov, "%d/%d", a->covered, a->expected);
                    row_set(&r, (int)k + 1, v[0] ? v : "—", cov);
                    r.cell[k + 1].flags = CP_PDF_BOLD;
                    r.cell[k + 1].bg = 0xE8EEF5;
                }
                cp_pdf_table_row(d, &t, r.cell);
            }
            cp_pdf_table_end(d, &t);
        }
    }
}

/* ---- charts ---- */

static int charts_section(struct cp_pdf *d, const struct dctx *x, struct cp_err *err)
{
    const struct cp_charts *c = x->charts;
    const char *last = NULL;

    cp_pdf_heading(d, 1, section_titles[A_CHARTS]);
    cp_pdf_anchor(d, A_CHARTS);
    if (!c || c->n == 0) {
        cp_pdf_para(d, "Aucun graphique pour cette période.", 10, CP_PDF_ITALIC, 0);
        return 0;
    }
    cp_pdf_para(d,
                x->m->national
                    ? "Pour chaque indicateur principal (taux, moyennes, populations de "
                      "référence des taux) : la valeur par région avec la valeur nationale et "
                      "l'évolution de la valeur nationale. Les mêmes graphiques sont dans le "
                      "dossier graphiques/ (PDF, SVG, PNG)."
                    : "Pour chaque indicateur principal (taux, moyennes, populations de "
                      "référence des taux) : la valeur par signataire avec la valeur régionale, "
                      "l'évolution de la valeur régionale et le réalisé par rapport aux cibles. "
                      "Les mêmes graphiques sont dans le dossier graphiques/ (PDF, SVG, PNG).",
                8.5, CP_PDF_GREY, 0);
    for (size_t k = 0; k < c->n; k++) {
        const struct cp_chart *ch = &c->v[k];
        double w = cp_pdf_width(d);
        double h = ch->width > 0 ? w * ch->height / ch->width : w * 9 / 16;

        if (!last || strcmp(last, ch->indicator) != 0) {
            int i = cp_model_ind(x->m, ch->indicator);
            cp_pdf_need(d, h + 40);
            cp_pdf_heading(d, 2, i >= 0 ? x->m->ind[i].label : ch->indicator);
            last = ch->indicator;
        }
        cp_pdf_need(d, h + 8);
        /* Drawn as vectors: the PDF gnuplot wrote is rendered by poppler
         * straight onto the page, so it prints sharply at any size, its
         * text stays text and no raster goes into the file. The first pass
         * only reserves the room. */
        if (!cp_pdf_dry(d) &&
            cp_chart_draw(cp_pdf_cairo(d), ch, cp_pdf_left(d), cp_pdf_y(d), w, h, err) < 0)
            return -1;
        cp_pdf_skip(d, h + 10);
    }
    return 0;
}

/* ---- annexes ---- */

static void findings_annex(struct cp_pdf *d, const struct dctx *x)
{
    const struct cp_model *m = x->m;
    static const struct cp_pdf_col cols[] = {
        {"N°", 24, CP_PDF_RIGHT},  {"Gravité", 62, 0}, {"Constat", 175, 0},
        {"Origine (fichier, cellule)", 115, 0}, {"Explication du commissaire", 135, 0},
    };
    static const struct cp_pdf_col ncols[] = {
        {"Région", 211, 0},
        {"Bloquantes", 100, CP_PDF_RIGHT},
        {"Avertissements", 100, CP_PDF_RIGHT},
        {"Informations", 100, CP_PDF_RIGHT},
    };
    struct row r;

    cp_pdf_heading(d, 1, section_titles[A_FINDINGS]);
    cp_pdf_anchor(d, A_FINDINGS);
    if (m->national) {
        struct cp_pdf_table t = {ncols, 4, 8.5, 2, section_titles[A_FINDINGS], 0};
        cp_pdf_para(d, "Nombre d'anomalies de la période par région ; le détail est dans le "
                       "dossier de chaque région.",
                    9, 0, 0);
        cp_pdf_skip(d, 6);
        cp_pdf_table_begin(d, &t);
        for (size_t u = 0; u < m->nunit; u++) {
            char a[16], b[16], c[16];
            row_clear(&r);
            snprintf(a, sizeof a, "%d", m->unit[u].nbloq);
            snprintf(b, sizeof b, "%d", m->unit[u].navert);
            snprintf(c, sizeof c, "%d", m->unit[u].ninfo);
            row_ref(&r, 0, m->unit[u].name, NULL);
            row_set(&r, 1, a, NULL);
            row_set(&r, 2, b, NULL);
            row_set(&r, 3, c, NULL);
            cp_pdf_table_row(d, &t, r.cell);
        }
        cp_pdf_table_end(d, &t);
        return;
    }
    if (m->nfind == 0) {
        cp_pdf_para(d, "Aucune anomalie pour cette période.", 10, CP_PDF_ITALIC, 0);
        return;
    }
    cp_pdf_para(d,
                "Toutes les anomalies de la période, par signataire. Une anomalie bloquante "
                "exclut les valeurs concernées des agrégats ; un avertissement les garde mais "
                "les signale ; une information invite à regarder. Le numéro est celui des "
                "tableaux par axe.",
                9, 0, 0);
    cp_pdf_skip(d, 4);
    for (size_t k = 0; k < m->nfind;) {
        const char *sig = m->find[k].sig;
        char caption[512];
        struct cp_pdf_table t = {cols, 5, 7.5, 14, NULL, 0};

        fmt_utf8(caption, sizeof caption, "%s (%s)", m->find[k].sig_name ? m->find[k].sig_name : "",
                 sig ? sig : "");
        t.caption = caption;
        cp_pdf_heading(d, 3, caption);
        cp_pdf_table_begin(d, &t);
        for (; k < m->nfind && strcmp(m->find[k].sig ? m->find[k].sig : "", sig ? sig : "") == 0;
             k++) {
            const struct cp_mfinding *f = &m->find[k];
            char no[16], sub[512];

            row_clear(&r);
            snprintf(no, sizeof no, "%d", f->no);
            row_set(&r, 0, no, NULL);
            row_set(&r, 1, cp_msev_label(f->sev), NULL);
            r.cell[1].bg = sev_bg((int)f->sev);
            fmt_utf8(sub, sizeof sub, "Règle %s · %s%s%s", f->rule ? f->rule : "",
                     f->indicators ? f->indicators : "", f->values && *f->values ? " = " : "",
                     f->values ? f->values : "");
            row_set(&r, 2, "", sub);
            r.cell[2].text = f->message ? f->message : "";
            row_ref(&r, 3, f->file && *f->file ? f->file : "—", f->cell);
            row_ref(&r, 4, f->explanation && *f->explanation ? f->explanation : "—", NULL);
            if (!f->explanation || !*f->explanation)
                r.cell[4].flags = CP_PDF_GREY;
            cp_pdf_table_row(d, &t, r.cell);
        }
        cp_pdf_table_end(d, &t);
    }
}

static void files_annex(struct cp_pdf *d, const struct dctx *x)
{
    const struct cp_model *m = x->m;
    static const struct cp_pdf_col cols[] = {
        {"Signataire", 110, 0},        {"Fichier", 196, 0},
        {"Reçu le", 64, 0},            {"Empreinte SHA-256", 95, 0},
        {"Valeurs", 46, CP_PDF_RIGHT},
    };
    static const struct cp_pdf_col ncols[] = {
        {"Région", 80, 0},      {"Signataire", 90, 0},         {"Fichier", 156, 0},
        {"Reçu le", 60, 0},     {"Empreinte SHA-256", 85, 0},  {"Valeurs", 40, CP_PDF_RIGHT},
    };
    struct cp_pdf_table t = {m->national ? ncols : cols, m->national ? 6 : 5, 7.5, 4,
                             section_titles[A_FILES], 0};
    struct row r;
    const char *prev = NULL, *prevsig = NULL;

    cp_pdf_heading(d, 1, section_titles[A_FILES]);
    cp_pdf_anchor(d, A_FILES);
    cp_pdf_para(d,
                "Les fichiers dont proviennent les valeurs retenues pour la période (pour "
                "chaque valeur, le fichier accepté reçu le plus récemment), avec leur date de "
                "réception et le début de leur empreinte SHA-256.",
                9, 0, 0);
    cp_pdf_skip(d, 4);
    if (m->nfile == 0) {
        cp_pdf_para(d, "Aucun fichier pour cette période.", 10, CP_PDF_ITALIC, 0);
        return;
    }
    cp_pdf_table_begin(d, &t);
    for (size_t k = 0; k < m->nfile; k++) {
        const struct cp_mfile *f = &m->file[k];
        char date[16], hash[32], n[16], name[512];
        int c = 0;

        row_clear(&r);
        cp_fmt_date(f->received, date, sizeof date);
        snprintf(hash, sizeof hash, "%.16s…", f->hash ? f->hash : "");
        snprintf(n, sizeof n, "%d", f->nvalues);
        if (m->national) {
            row_ref(&r, c++, prev && strcmp(prev, f->unit) == 0 ? "" : f->unit_name, NULL);
            row_ref(&r, c++, prevsig && strcmp(prevsig, f->sig) == 0 ? "" : f->sig, NULL);
        } else {
            fmt_utf8(name, sizeof name, "%s (%s)", f->unit_name, f->unit);
            row_set(&r, c++, prev && strcmp(prev, f->unit) == 0 ? "" : name, NULL);
        }
        row_ref(&r, c++, f->name, NULL);
        row_set(&r, c++, date, NULL);
        row_set(&r, c++, hash, NULL);
        row_set(&r, c++, n, NULL);
        cp_pdf_table_row(d, &t, r.cell);
        prev = f->unit;
        prevsig = f->sig;
    }
    cp_pdf_table_end(d, &t);
}

static int build(struct cp_pdf *d, void *ctx, struct cp_err *err)
{
    const struct dctx *x = ctx;

    cover(d, x);
    key_figures(d, x);
    axis_tables(d, x);
    if (charts_section(d, x, err) < 0)
        return -1;
    findings_annex(d, x);
    files_annex(d, x);
    return 0;
}

int cp_render_dossier(const struct cp_render_job *job, const struct cp_charts *charts,
                      struct cp_err *err)
{
    struct cp_model own;
    const struct cp_model *m = job->model;
    struct dctx x;
    struct cp_pdf_meta meta;
    struct cp_buf path = CP_BUF_INIT(4096), title = CP_BUF_INIT(512),
                  head = CP_BUF_INIT(512), foot = CP_BUF_INIT(512), right = CP_BUF_INIT(512);
    int rc = -1;

    if (!m) {
        if (cp_model_load(&own, job, err) < 0)
            return -1;
        m = &own;
    }
    memset(&x, 0, sizeof x);
    x.job = job;
    x.m = m;
    x.charts = charts;
    cp_period_label(m->period, x.per, sizeof x.per);
    cp_fmt_date(job->data_date, x.data_date, sizeof x.data_date);
    cp_fmt_date(job->generated, x.generated, sizeof x.generated);
    if (cp_buf_addf(&path, "%s/dossier.pdf", job->dir) < 0) {
        cp_err_set(err, CP_EX_CANTCREAT, "io", job->dir, "chemin trop long : %s", job->dir);
        goto out;
    }
    cp_buf_addf(&title, "%s — %s — %s", m->national ? "Synthèse nationale" : "Dossier de conférence",
                m->zone_name, x.per);
    cp_buf_addf(&head, "%s — %s", m->zone_name, x.per);
    cp_buf_addf(&right, "%s — données au %s",
                m->national ? "Synthèse nationale" : "Dossier de conférence",
                x.data_date[0] ? x.data_date : "—");
    cp_buf_addf(&foot, "calpae — généré le %s", x.generated);
    meta = (struct cp_pdf_meta){cp_buf_str(&title), cp_buf_str(&head), cp_buf_str(&right),
                                cp_buf_str(&foot), job->generated};
    rc = cp_pdf_write(cp_buf_str(&path), &meta, build, &x, err);
out:
    if (m == &own)
        cp_model_release(&own);
    cp_buf_release(&path);
    cp_buf_release(&title);
    cp_buf_release(&head);
    cp_buf_release(&foot);
    cp_buf_release(&right);
    return rc;
}
