/*
 * dossier.pdf: the conference dossier of one région (or of the nation,
 * by région) for one period, A4, laid out with cairo + pango: cover, key
 * figures, a table per axis of the catalog, the charts (as vectors), and
 * two annexes (every finding, every file used). See outputs.md.
 */
#ifndef CALPAE_RENDER_DOSSIER_H
#define CALPAE_RENDER_DOSSIER_H

#include "common/err.h"
#include "render/charts.h"
#include "render/render.h"

/*
 * Writes <job->dir>/dossier.pdf atomically. charts (borrowed, may be NULL
 * or empty) are the job's charts from cp_plot_job, placed in the order
 * given. Returns 0, or -1 with err (database, chart file, output).
 */
int cp_render_dossier(const struct cp_render_job *job, const struct cp_charts *charts,
                      struct cp_err *err);

#endif
