/*
 * The render stage: what people read, per région (or the nation) and
 * period, under <out>/<zone>/<période>/: dossier.pdf, synthese.xlsx,
 * graphiques/ (PDF, SVG, PNG), *.csv, retours/<signataire>.xlsx and .pdf,
 * and the regional roll-up. Every output is written to a temporary name
 * and renamed (common/afile.h). See ../shared/spec/outputs.md.
 */
#ifndef CALPAE_RENDER_H
#define CALPAE_RENDER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

struct cp_render_opts {
    const char *db_path;
    const char *out_dir;    /* NULL: "reports" */
    const char *region;     /* NULL: every région with data */
    const char *period;     /* NULL: the latest period with data */
    int national;           /* render the national level (reports/national/<p>/) */
    int force;              /* render even when nothing changed */
    int quiet;
    FILE *out;              /* progress lines (NULL: stdout) */
    /* Called before each (zone, period), index from 1 to total. May be NULL. */
    void (*on_job)(void *ctx, const char *zone, const char *period, size_t index,
                   size_t total);
    void *on_job_ctx;
    size_t *rendered;       /* when not NULL: how many zones were rendered */
    size_t *unchanged;      /* when not NULL: how many were left untouched */
};

/* Runs the stage; returns an enum cp_exit status, err set on failure. */
int cp_render_run(const struct cp_render_opts *o, struct cp_err *err);

struct cp_model;
struct cp_rtables;

/* One (zone, period) to render, shared by every writer. Borrowed strings. */
struct cp_render_job {
    sqlite3 *db;
    const char *zone;       /* région code "76", or "FR" for the nation */
    const char *zone_name;  /* "Occitanie", "France" */
    const char *period;     /* "2022-S1" */
    int national;
    const char *dir;        /* the folder to write: reports/76/2022-S1 */
    const char *data_date;  /* latest reception time of the files in force (ISO) */
    const char *generated;  /* when rendered (ISO, from cp_db_now) */
    /* Read once by cp_render_run and shared by the writers (charts and
     * dossier; workbook and CSV); NULL: a writer reads what it needs. */
    const struct cp_model *model;
    const struct cp_rtables *tables;
};

/* synthese.xlsx: synthesis sheet, a sheet per axis, Données (long format
 * with origin), Anomalies; native charts. (render/workbook.c) */
int cp_render_workbook(const struct cp_render_job *j, struct cp_err *err);
/* The tables as CSV: UTF-8 with BOM, ';', decimal comma, formula-like text
 * neutralised. (render/csvout.c) */
int cp_render_csv(const struct cp_render_job *j, struct cp_err *err);
/* rollup-<région>-<période>.csv: the région's aggregates with numerators,
 * denominators, weights and coverage, each signatory's contribution, a
 * findings summary and a SHA-256 checksum line, for the national tier
 * (README, "Regional roll-up"). Nothing for the national level; an
 * unchanged file is left untouched. (render/rollup.c) */
int cp_render_rollup(const struct cp_render_job *j, struct cp_err *err);
/* retours/<sig>.xlsx: one signatory's findings and rejections, each
 * pointing at its own file and cell, with what to correct.
 * (render/feedback.c) */
int cp_render_feedback_xlsx(const struct cp_render_job *j, const char *sig,
                            const char *path, struct cp_err *err);

#endif
