/*
 * synthese.xlsx: the conference tables as a native Excel workbook. Sheets:
 * Synthèse (key figures), one per catalog axis (signatory × indicator),
 * Graphiques (native charts with their data), Données (every value with
 * its origin) and Anomalies (every finding). The tables come from
 * rquery.c, as for the CSV exports; the document date is the data's date,
 * so unchanged data gives the same file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/db.h"
#include "render/render.h"
#include "render/rquery.h"
#include "render/xlsheet.h"

#define CHARTS_SHEET "Graphiques"
/* Rows a chart takes on the Graphiques sheet (20 px each). */
#define CHART_ROWS 18
#define CHART_COL 4

/* The latest reception time of the files in force for the period, when the
 * job does not give one. malloc'ed, or NULL. */
static char *data_date(const struct cp_render_job *j, const char *period)
{
    sqlite3_stmt *st;
    char *d = NULL;

    if (j->data_date && *j->data_date)
        return strdup(j->data_date);
    if (sqlite3_prepare_v2(j->db,
                           "SELECT max(v.recu_le) FROM valeurs_courantes v"
                           " LEFT JOIN ref_signataire s ON s.code = v.signataire"
                           " WHERE v.periode = ?1 AND (?2 = 1 OR s.region = ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, j->national != 0);
    sqlite3_bind_text(st, 3, j->zone, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        d = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return d;
}

struct charts {
    struct cp_xlbook *b;
    int national;
    lxw_worksheet *ws;
    lxw_row_t row;    /* next free row */
    unsigned count;
};

static int put_num(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, double v, lxw_format *f,
                   struct cp_err *err)
{
    lxw_error e = worksheet_write_number(ws, r, c, v, f);
    return e == LXW_NO_ERROR ? 0
                             : cp_err_set(err, CP_EX_SOFTWARE, "xlsx", CHARTS_SHEET,
                                          "graphiques : %s", lxw_strerror(e));
}

static void chart_common(lxw_chart *ch, lxw_row_t title_row, lxw_col_t title_col)
{
    /* The title is a reference to a string cell: chart text never goes
     * through libxlsxwriter's "=formula" parsing. */
    lxw_chart_font font = {.size = 12, .bold = 1};

    chart_title_set_name_range(ch, CHARTS_SHEET, title_row, title_col);
    chart_title_set_name_font(ch, &font);
    chart_legend_set_position(ch, LXW_CHART_LEGEND_BOTTOM);
}

/* The group a bar chart shows: départements when the table has some. */
static char chart_group(const struct cp_raxis *x)
{
    for (size_t row = 0; row < x->t.nrows; row++)
        if (x->rowgroup[row] == 'D')
            return 'D';
    return x->t.nrows ? x->rowgroup[0] : 'D';
}

/* 1 when the row is a bar: a signatory (any type: each is its own unit)
 * or, at national level, a région's figure for the group; then the zone's
 * figure for the group. Only numbers are drawn. */
static int is_bar(const struct charts *k, const struct cp_raxis *x, size_t row, size_t col,
                  char group)
{
    if (cp_rtable_cell(&x->t, row, col)->kind != CP_RCELL_NUM)
        return 0;
    switch (x->rowkind[row]) {
    case CP_RAXIS_UNIT:
        return !k->national || x->rowgroup[row] == group;
    case CP_RAXIS_AGG:
        return x->rowgroup[row] == group;
    default:
        return 0;
    }
}

/*
 * A bar chart of one ratio indicator by signatory (or by région), the
 * zone's own figure as a last, darker bar. Its data is written first, at
 * the left of the chart.
 */
static int bar_chart(struct charts *k, const struct cp_raxis *x, const struct cp_raxis_ind *d,
                     struct cp_err *err)
{
    lxw_worksheet *ws = k->ws;
    lxw_format *pct = cp_xlbook_format(k->b, CP_RNF_PCT, CP_RMARK_NONE, 0);
    lxw_row_t top = k->row, r = top + 1;
    size_t n = 0;
    lxw_chart *ch;
    lxw_chart_series *s;
    lxw_chart_fill plain = {.color = 0x8EA9DB}, zone_fill = {.color = 0x1F3864};
    lxw_chart_point p_plain = {.fill = &plain}, p_zone = {.fill = &zone_fill};
    lxw_chart_point **points = NULL;
    lxw_chart_options opt = {.x_scale = 1.4, .y_scale = 1.2};
    struct cp_buf title = CP_BUF_INIT(1024);
    char group = chart_group(x);
    int points_zone_last = 0, rc = -1;

    for (size_t row = 0; row < x->t.nrows; row++)
        n += is_bar(k, x, row, d->col, group) && x->rowkind[row] == CP_RAXIS_UNIT;
    if (n == 0)
        return 0; /* no signatory figure: nothing to compare */
    cp_buf_addf(&title, "%s (%s)", d->label, d->code);
    if (cp_xlsheet_string(ws, top, 0, cp_buf_str(&title), k->b->head, err) < 0 ||
        cp_xlsheet_string(ws, top, 1, "Valeur", k->b->head, err) < 0)
        goto out;
    n = 0;
    for (size_t row = 0; row < x->t.nrows; row++) {
        const struct cp_rcell *name = cp_rtable_cell(&x->t, row, 1);

        if (!is_bar(k, x, row, d->col, group))
            continue;
        if (cp_xlsheet_string(ws, r, 0, name->text ? name->text : "", NULL, err) < 0 ||
            put_num(ws, r, 1, cp_rtable_cell(&x->t, row, d->col)->num, pct, err) < 0)
            goto out;
        points_zone_last = x->rowkind[row] == CP_RAXIS_AGG;
        r++;
        n++;
    }
    ch = workbook_add_chart(k->b->wb, LXW_CHART_COLUMN);
    if (!ch) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    s = chart_add_series(ch, NULL, NULL);
    if (!s) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    chart_series_set_categories(s, CHARTS_SHEET, top + 1, 0, top + (lxw_row_t)n, 0);
    chart_series_set_values(s, CHARTS_SHEET, top + 1, 1, top + (lxw_row_t)n, 1);
    chart_series_set_name_range(s, CHARTS_SHEET, top, 1);
    points = calloc(n + 1, sizeof *points);
    if (!points) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        points[i] = points_zone_last && i == n - 1 ? &p_zone : &p_plain;
    if (chart_series_set_points(s, points) != LXW_NO_ERROR) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    chart_common(ch, top, 0);
    chart_legend_set_position(ch, LXW_CHART_LEGEND_NONE);
    chart_axis_set_num_format(ch->y_axis, "0\"\xC2\xA0%\"");
    chart_axis_set_min(ch->y_axis, 0);
    if (worksheet_insert_chart_opt(ws, top, CHART_COL, ch, &opt) != LXW_NO_ERROR) {
        cp_err_set(err, CP_EX_SOFTWARE, "xlsx", CHARTS_SHEET, "graphique refusé");
        goto out;
    }
    k->count++;
    k->row = top + (lxw_row_t)(n + 2 > CHART_ROWS + 6 ? n + 2 : CHART_ROWS + 6);
    rc = 0;
out:
    free(points);
    cp_buf_release(&title);
    return rc;
}

struct series_point {
    struct cp_period p;
    char period[CP_PERIOD_STRLEN];
};

static int cmp_point(const void *a, const void *b)
{
    return cp_period_cmp(&((const struct series_point *)a)->p,
                         &((const struct series_point *)b)->p);
}

/*
 * The zone's time series of its ratio indicators, over every period of the
 * same kind (half-years, or years) up to the job's: one line each.
 */
static int time_series(struct charts *k, const struct cp_render_job *j,
                       const struct cp_rtables *r, struct cp_err *err)
{
    static const char sql_periods[] =
        "SELECT DISTINCT a.periode FROM agregats a JOIN ref_indicateur i ON i.code = a.indicateur"
        " WHERE a.niveau = ?1 AND a.zone = ?2 AND i.nature = 'ratio' AND i.unite = 'pct'";
    static const char sql_inds[] =
        "SELECT i.code, i.libelle, (SELECT a.groupe FROM agregats a WHERE a.niveau = ?1"
        "   AND a.zone = ?2 AND a.indicateur = i.code ORDER BY CASE a.groupe WHEN 'D' THEN 0"
        "   WHEN 'M' THEN 1 ELSE 2 END LIMIT 1)"
        " FROM ref_indicateur i WHERE i.nature = 'ratio' AND i.unite = 'pct' AND EXISTS"
        " (SELECT 1 FROM agregats a WHERE a.niveau = ?1 AND a.zone = ?2 AND a.indicateur = i.code"
        "   AND a.valeur IS NOT NULL) ORDER BY i.rang";
    static const char sql_val[] =
        "SELECT valeur FROM agregats WHERE niveau = ?1 AND zone = ?2 AND groupe = ?3"
        " AND periode = ?4 AND indicateur = ?5";
    const char *lvl = j->national ? "national" : "region";
    sqlite3_stmt *sp = NULL, *si = NULL, *sv = NULL;
    struct series_point *pts = NULL;
    size_t npts = 0, cap = 0;
    lxw_row_t top = k->row;
    lxw_col_t ncol = 0;
    lxw_format *pct = cp_xlbook_format(k->b, CP_RNF_PCT, CP_RMARK_NONE, 0);
    lxw_chart *ch = NULL;
    lxw_chart_options opt = {.x_scale = 1.4, .y_scale = 1.2};
    struct cp_buf title = CP_BUF_INIT(512);
    int rc = -1, step;

    if (cp_db_prepare(j->db, sql_periods, &sp, err) < 0 ||
        cp_db_prepare(j->db, sql_inds, &si, err) < 0 || cp_db_prepare(j->db, sql_val, &sv, err) < 0)
        goto out;
    sqlite3_bind_text(sp, 1, lvl, -1, SQLITE_STATIC);
    sqlite3_bind_text(sp, 2, j->zone, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(sp)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(sp, 0);
        struct cp_period p;

        if (!t || cp_period_parse(t, strlen(t), &p) < 0)
            continue;
        /* Same kind as the job's period, and not after it. */
        if ((p.half == 0) != (r->per.p.half == 0) || cp_period_cmp(&p, &r->per.p) > 0)
            continue;
        if (npts == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct series_point *np = realloc(pts, nc * sizeof *np);
            if (!np) {
                cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
                goto out;
            }
            pts = np;
            cap = nc;
        }
        pts[npts].p = p;
        cp_period_str(&p, pts[npts].period);
        npts++;
    }
    if (step != SQLITE_DONE) {
        cp_db_fail(j->db, err, "lecture des séries");
        goto out;
    }
    if (npts < 2) {
        rc = 0; /* a single point is no series */
        goto out;
    }
    qsort(pts, npts, sizeof *pts, cmp_point);
    cp_buf_addf(&title, "Évolution des taux – %s",
                j->zone_name && *j->zone_name ? j->zone_name : j->zone);
    if (cp_xlsheet_string(k->ws, top, 0, cp_buf_str(&title), k->b->title, err) < 0 ||
        cp_xlsheet_string(k->ws, top + 1, 0, "Période", k->b->head, err) < 0)
        goto out;
    for (size_t i = 0; i < npts; i++)
        if (cp_xlsheet_string(k->ws, top + 2 + (lxw_row_t)i, 0, pts[i].period, NULL, err) < 0)
            goto out;
    ch = workbook_add_chart(k->b->wb, LXW_CHART_LINE);
    if (!ch) {
        cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        goto out;
    }
    sqlite3_bind_text(si, 1, lvl, -1, SQLITE_STATIC);
    sqlite3_bind_text(si, 2, j->zone, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(si)) == SQLITE_ROW && ncol < 200) {
        const char *code = (const char *)sqlite3_column_text(si, 0);
        const char *label = (const char *)sqlite3_column_text(si, 1);
        const char *group = (const char *)sqlite3_column_text(si, 2);
        lxw_col_t col = 1 + ncol;
        lxw_chart_series *s;
        struct cp_buf h = CP_BUF_INIT(1024);
        int bad;

        if (!code || !group)
            continue;
        cp_buf_addf(&h, "%s (%s)", label ? label : code, code);
        bad = cp_xlsheet_string(k->ws, top + 1, col, cp_buf_str(&h), k->b->head, err) < 0;
        cp_buf_release(&h);
        if (bad)
            goto out;
        for (size_t i = 0; i < npts; i++) {
            sqlite3_bind_text(sv, 1, lvl, -1, SQLITE_STATIC);
            sqlite3_bind_text(sv, 2, j->zone, -1, SQLITE_STATIC);
            sqlite3_bind_text(sv, 3, group, -1, SQLITE_STATIC);
            sqlite3_bind_text(sv, 4, pts[i].period, -1, SQLITE_STATIC);
            sqlite3_bind_text(sv, 5, code, -1, SQLITE_STATIC);
            if (sqlite3_step(sv) == SQLITE_ROW && sqlite3_column_type(sv, 0) != SQLITE_NULL &&
                put_num(k->ws, top + 2 + (lxw_row_t)i, col, sqlite3_column_double(sv, 0), pct,
                        err) < 0) {
                sqlite3_reset(sv);
                goto out;
            }
            sqlite3_reset(sv);
        }
        s = chart_add_series(ch, NULL, NULL);
        if (!s) {
            cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
            goto out;
        }
        chart_series_set_categories(s, CHARTS_SHEET, top + 2, 0, top + 1 + (lxw_row_t)npts, 0);
        chart_series_set_values(s, CHARTS_SHEET, top + 2, col, top + 1 + (lxw_row_t)npts, col);
        chart_series_set_name_range(s, CHARTS_SHEET, top + 1, col);
        chart_series_set_marker_type(s, LXW_CHART_MARKER_AUTOMATIC);
        ncol++;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        cp_db_fail(j->db, err, "lecture des séries");
        goto out;
    }
    chart_common(ch, top, 0);
    chart_axis_set_num_format(ch->y_axis, "0\"\xC2\xA0%\"");
    chart_axis_set_min(ch->y_axis, 0);
    if (ncol > 0 && worksheet_insert_chart_opt(k->ws, top + 1, (lxw_col_t)(ncol + 2), ch, &opt) !=
                        LXW_NO_ERROR) {
        cp_err_set(err, CP_EX_SOFTWARE, "xlsx", CHARTS_SHEET, "graphique refusé");
        goto out;
    }
    /* A chart never inserted is freed with the workbook. */
    k->count += ncol > 0;
    k->row = top + (lxw_row_t)(npts + 3 > CHART_ROWS + 6 ? npts + 3 : CHART_ROWS + 6);
    rc = 0;
out:
    sqlite3_finalize(sp);
    sqlite3_finalize(si);
    sqlite3_finalize(sv);
    free(pts);
    cp_buf_release(&title);
    return rc;
}

static int write_charts(struct cp_xlbook *b, const struct cp_render_job *j,
                        const struct cp_rtables *r, struct cp_err *err)
{
    struct charts k = {.b = b, .national = j->national};
    struct cp_buf t = CP_BUF_INIT(512);
    const char *zname = j->zone_name && *j->zone_name ? j->zone_name : j->zone;
    int rc = -1;

    k.ws = workbook_add_worksheet(b->wb, CHARTS_SHEET);
    if (!k.ws)
        return cp_err_set(err, CP_EX_SOFTWARE, "xlsx", CHARTS_SHEET, "feuille refusée");
    cp_buf_addf(&t, "Graphiques – %s – %s", zname, r->per.text);
    if (cp_xlsheet_string(k.ws, 0, 0, cp_buf_str(&t), b->title, err) < 0 ||
        cp_xlsheet_string(k.ws, 1, 0,
                          "Chaque graphique est tracé à partir du tableau placé à sa gauche ; "
                          "la dernière barre, plus foncée, est la valeur de la zone.",
                          b->note, err) < 0)
        goto out;
    worksheet_set_column(k.ws, 0, 0, 36, NULL);
    worksheet_set_column(k.ws, 1, 1, 12, NULL);
    worksheet_set_landscape(k.ws);
    worksheet_set_paper(k.ws, 9);
    worksheet_fit_to_pages(k.ws, 1, 0);
    k.row = 3;
    if (time_series(&k, j, r, err) < 0)
        goto out;
    for (size_t a = 0; a < r->naxes; a++) {
        const struct cp_raxis *x = &r->axes[a];

        for (size_t i = 0; i < x->nind; i++) {
            if (strcmp(x->ind[i].nature, "ratio") != 0 || strcmp(x->ind[i].unit, "pct") != 0)
                continue;
            if (bar_chart(&k, x, &x->ind[i], err) < 0)
                goto out;
        }
    }
    if (k.count == 0 &&
        cp_xlsheet_string(k.ws, 3, 0, "Aucun taux à représenter pour cette période.", NULL,
                          err) < 0)
        goto out;
    rc = 0;
out:
    cp_buf_release(&t);
    return rc;
}

int cp_render_workbook(const struct cp_render_job *j, struct cp_err *err)
{
    struct cp_rtables own;
    const struct cp_rtables *r = j->tables;
    struct cp_xlbook b;
    struct cp_buf path = CP_BUF_INIT(4096), title = CP_BUF_INIT(512);
    char *date = NULL;
    int open = 0, rc = -1;

    memset(&b, 0, sizeof b);
    if (!r) {
        r = &own;
        if (cp_rtables_build(&own, j, err) < 0)
            goto out;
    }
    if (cp_buf_addf(&path, "%s/synthese.xlsx", j->dir) < 0) {
        cp_err_set(err, CP_EX_CANTCREAT, "io", j->dir, "chemin trop long : %s", j->dir);
        goto out;
    }
    date = data_date(j, r->per.text);
    cp_buf_addf(&title, "Synthèse – %s – %s",
                j->zone_name && *j->zone_name ? j->zone_name : j->zone, r->per.text);
    if (cp_xlbook_open(&b, cp_buf_str(&path), date, cp_buf_str(&title), err) < 0)
        goto out;
    open = 1;
    if (cp_xlbook_table(&b, &r->synth, NULL, err) < 0)
        goto out;
    for (size_t i = 0; i < r->naxes; i++)
        if (cp_xlbook_table(&b, &r->axes[i].t, NULL, err) < 0)
            goto out;
    if (write_charts(&b, j, r, err) < 0 || cp_xlbook_table(&b, &r->data, NULL, err) < 0 ||
        cp_xlbook_table(&b, &r->findings, NULL, err) < 0)
        goto out;
    open = 0;
    rc = cp_xlbook_close(&b, err);
out:
    if (open)
        cp_xlbook_abort(&b);
    if (rc < 0)
        cp_err_prefix(err, "synthese.xlsx : ");
    if (r == &own)
        cp_rtables_release(&own);
    cp_buf_release(&path);
    cp_buf_release(&title);
    free(date);
    return rc;
}
