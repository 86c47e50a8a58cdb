/*
 * A small database for the render tests (Occitanie, 2022-S1): four
 * départements and a métropole with values, findings, rejections and
 * aggregates, plus one signatory of another région that must never show.
 * Helpers read the parts of an XLSX file (libzip) and whole files.
 */
#ifndef CALPAE_TEST_RENDER_FIXTURE_H
#define CALPAE_TEST_RENDER_FIXTURE_H

#include <sqlite3.h>
#include <stddef.h>

#include "render/render.h"

struct rfix {
    char root[64];        /* temporary folder, removed by rfix_teardown */
    char dir[160];        /* root/out/76/2022-S1: the job's folder */
    sqlite3 *db;
    struct cp_render_job job;
};

/* Creates the folder and the database; the job renders 76, 2022-S1. */
void rfix_setup(struct rfix *f);
/* Removes the folder, unless $CALPAE_KEEP_TEST_FILES is set. */
void rfix_teardown(struct rfix *f);

/* The bytes of a file (NUL-terminated; caller frees), or NULL. */
char *rfix_read(const char *path, size_t *len);
/* One part of a zip archive (NUL-terminated; caller frees), or NULL. */
char *rfix_zip_part(const char *zip, const char *part, size_t *len);
/* The worksheet XML of the sheet with that name (caller frees), or NULL. */
char *rfix_sheet_xml(const char *xlsx, const char *sheet);
/* Number of occurrences of needle in hay. */
size_t rfix_count(const char *hay, const char *needle);

#endif
