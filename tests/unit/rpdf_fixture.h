/*
 * A fixture database for the PDF and chart tests: région 76 (13 départements, a
 * métropole, the région itself) and two smaller régions over four
 * half-years, with targets, declared-missing values, findings (one
 * explained), an exclusion, rejections and aggregates computed the way
 * aggregation.md says. Plus helpers to read PDFs through poppler.
 */
#ifndef CALPAE_TESTS_RPDF_FIXTURE_H
#define CALPAE_TESTS_RPDF_FIXTURE_H

#include <sqlite3.h>

#include "render/render.h"

/* The message of 31D's finding: longer than any fixed buffer should be. */
#define RF_LONG_MESSAGE                                                                     \
    "Hausse de 60 % par rapport au 1er semestre 2021 (316 jeunes contre 198) : au-delà du " \
    "seuil de ±50 % de la règle EVOLUTION ; vérifiez la définition retenue (jeunes devenus " \
    "majeurs dans la période, et non jeunes majeurs suivis) puis confirmez la valeur ou "    \
    "corrigez-la dans le fichier."

struct rf {
    char dir[128];        /* temporary folder holding everything */
    char db_path[192];
    char out[192];        /* dir/reports/76/2022-S1 (or national) */
    sqlite3 *db;
    struct cp_render_job job;
};

/*
 * Builds the fixture in a fresh temporary folder. evil, when not NULL,
 * is put into the name of 09D, a comment, the label of RSA_TX_ORIENT_1M,
 * a finding's message and explanation, and a file name. national selects
 * the job for reports/national/2022-S1. Aborts the test on failure.
 */
void rf_setup(struct rf *f, const char *evil, int national);
/* Closes the database and removes the folder. */
void rf_teardown(struct rf *f);

/* Text of a PDF (pdftotext, run without a shell): raw = 1 keeps the order
 * things were drawn in (a wrapped cell stays together), 0 the layout.
 * malloc'ed, or NULL on failure. Pages are separated by form feeds. */
char *rf_pdftotext(const char *pdf, int raw);
/* 1 when needle is in text, white space (and U+00A0, U+202F) ignored. */
int rf_has(const char *text, const char *needle);
/* pdftotext turns U+202F and U+00A0 into plain spaces: the same, in place,
 * for an expected string. Returns s. */
char *rf_pdfspaces(char *s);
/* Number of pages in pdftotext output. */
int rf_pages(const char *text);
/* Occurrences of needle in hay. */
int rf_count(const char *hay, const char *needle);
/* 1 when the file starts with these bytes. */
int rf_starts_with(const char *path, const char *magic, size_t n);
/* 1 when path is a complete 8-bit RGB PNG: every chunk's CRC right, the
 * image data inflating to exactly its size; sets *w and *h. */
int rf_png_valid(const char *path, int *w, int *h);
/* Whole file, malloc'ed and NUL-terminated, or NULL. */
char *rf_slurp(const char *path);
/* Removes a folder tree (only what the tests create). */
void rf_rmtree(const char *dir);

#endif
