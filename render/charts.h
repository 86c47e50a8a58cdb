/*
 * The charts of a dossier, drawn by gnuplot and converted by librsvg and
 * cairo: graphiques/<indicator>-<kind>.svg, .pdf (vector, for print) and
 * .png (for slides). One gnuplot process serves every job of a run.
 *
 * Safety: gnuplot executes `backquotes` and system() inside its commands,
 * so no text from a submission or from the database ever appears in one.
 * Commands are constant strings written here plus numbers; names, labels
 * and titles reach gnuplot only through data files (xtic(), columnheader,
 * "with labels"), escaped for gnuplot's data reader.
 */
#ifndef CALPAE_RENDER_CHARTS_H
#define CALPAE_RENDER_CHARTS_H

#include <cairo.h>
#include <stddef.h>

#include "common/err.h"
#include "render/render.h"

enum cp_chart_kind {
    CP_CHART_SIGNATAIRES, /* bars by signatory, régional value as a line */
    CP_CHART_REGIONS,     /* national: bars by région, national value as a line */
    CP_CHART_EVOLUTION,   /* the zone's value over the periods of the same kind */
    CP_CHART_CIBLES       /* value / target per signatory, 100 % as a line */
};

struct cp_chart {
    enum cp_chart_kind kind;
    char indicator[48];   /* catalog code */
    char name[80];        /* file base name: "RSA_TX_ORIENT_1M-signataires" */
    char *svg, *pdf, *png;/* paths under <dir>/graphiques/, owned */
    double width, height; /* drawing size in points */
};

/* The charts of one job, in dossier order (indicator, then kind). */
struct cp_charts {
    struct cp_chart *v;
    size_t n;
};

/* Frees the paths and the array; the struct can be reused. NULL is fine. */
void cp_charts_release(struct cp_charts *c);

/* A running gnuplot. */
struct cp_plot;

/*
 * Starts gnuplot (fork + execve, no shell) with HOME and the working folder
 * set to a fresh private temporary folder, no startup file (-d), a minimal
 * environment, and stdin/stdout on a socket. Returns 0 and *out (close
 * with cp_plot_close), or -1 with err (gnuplot missing: CP_EX_CONFIG).
 */
int cp_plot_open(struct cp_plot **out, struct cp_err *err);

/*
 * Draws every chart of one job into <job->dir>/graphiques/ (SVG from
 * gnuplot, then PDF and PNG through librsvg + cairo; every file written
 * atomically) and lists them in *out (reset first; release with
 * cp_charts_release, also on failure). Chart files of an earlier run that
 * this run no longer draws are removed. Main indicators are chosen by
 * cp_model_load. A chart gnuplot refuses fails the job (-1, err quoting
 * gnuplot); the process stays usable for the next job.
 */
int cp_plot_job(struct cp_plot *p, const struct cp_render_job *job, struct cp_charts *out,
                struct cp_err *err);

/*
 * Ends gnuplot (end of input), waits for it and checks its exit status;
 * removes the temporary folder; frees p (NULL is fine). Returns -1 with
 * err when gnuplot failed at any point of the run or did not exit cleanly.
 */
int cp_plot_close(struct cp_plot *p, struct cp_err *err);

/* cp_plot_open + cp_plot_job + cp_plot_close, for a run of one job. */
int cp_render_charts(const struct cp_render_job *job, struct cp_charts *out,
                     struct cp_err *err);

/*
 * Draws the SVG file at path into the box (x, y, w, h) of cr, keeping its
 * proportions (centred). Used to place charts as vectors in the PDFs.
 */
int cp_svg_draw(cairo_t *cr, const char *path, double x, double y, double w, double h,
                struct cp_err *err);

#endif
