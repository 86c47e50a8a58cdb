/*
 * The charts of a dossier, drawn by gnuplot (SVG and PDF), rasterised by
 * poppler and cairo: graphiques/<indicator>-<kind>.svg, .pdf (vector, for
 * print) and .png (for slides). One gnuplot process serves every job of a
 * run.
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
    /* The PDF gnuplot wrote, in memory until the job's files are in place:
     * the dossier draws it while they are still being converted. */
    const char *pdf_data;
    size_t pdf_len;
    /* Its conversion to PNG, once queued and until the files are in place:
     * the dossier draws the PDF from the document the conversion opened. */
    struct cp_conv *conv;
};

/* Conversions of one job still running or not yet put in place. */
struct cp_chart_batch;

/* The charts of one job, in dossier order (indicator, then kind). */
struct cp_charts {
    struct cp_chart *v;
    size_t n;
    struct cp_chart_batch *batch; /* until cp_charts_commit */
};

/*
 * Waits for the job's conversions and puts its chart files in place (one
 * syncfs, then the renames; chart files of an earlier run that this job no
 * longer draws are removed). Returns -1 with err when a conversion failed;
 * then no file of the job is put in place. Calling it again does nothing.
 */
int cp_charts_commit(struct cp_charts *c, struct cp_err *err);

/* Frees the paths and the array; conversions not committed are waited for
 * and their temporary files removed. The struct can be reused. NULL is
 * fine. */
void cp_charts_release(struct cp_charts *c);

/* A running gnuplot. */
struct cp_plot;

/* Removes the private folders that killed runs left in $TMPDIR (a running
 * process's are kept). cp_plot_open does it too; cp_render_run calls it
 * first, so that a run with nothing to draw cleans up as well. */
void cp_plot_clean_stale(void);

/*
 * Starts gnuplot (fork + execve, no shell) with HOME and the working folder
 * set to a fresh private temporary folder, no startup file (-d), a minimal
 * environment, and stdin/stdout on a socket. Returns 0 and *out (close
 * with cp_plot_close), or -1 with err (gnuplot missing: CP_EX_CONFIG).
 */
int cp_plot_open(struct cp_plot **out, struct cp_err *err);

/*
 * Draws every chart of one job (SVG and PDF from gnuplot) and lists them
 * in *out (reset first; release with cp_charts_release, also on failure).
 * Writing the files, <job->dir>/graphiques/ SVG, PDF and PNG (the PDF
 * rasterised by poppler + cairo), runs on a thread pool while the caller
 * goes on (the dossier draws the charts from pdf_data); cp_charts_commit waits for it
 * and puts the files in place atomically. Main indicators are chosen by
 * cp_model_load. A chart gnuplot refuses fails the job (-1, err quoting
 * gnuplot); the process stays usable for the next job.
 */
int cp_plot_job(struct cp_plot *p, const struct cp_render_job *job, struct cp_charts *out,
                struct cp_err *err);

/*
 * cp_plot_job in two steps, so that gnuplot draws while the caller works:
 * cp_plot_submit hands every chart of the job to gnuplot and returns at
 * once; cp_plot_collect waits for them and queues their conversion (after
 * it, pdf_data and the sizes are set). A job's charts must be collected
 * (or released) before the next job is submitted. cp_charts_commit and
 * cp_charts_release collect or discard what was not collected.
 */
int cp_plot_submit(struct cp_plot *p, const struct cp_render_job *job, struct cp_charts *out,
                   struct cp_err *err);
int cp_plot_collect(struct cp_charts *c, struct cp_err *err);

/*
 * Ends gnuplot (end of input), waits for it and checks its exit status;
 * removes the temporary folder; frees p (NULL is fine). Returns -1 with
 * err when gnuplot failed at any point of the run or did not exit cleanly.
 */
int cp_plot_close(struct cp_plot *p, struct cp_err *err);

/* cp_plot_open + cp_plot_job + cp_charts_commit + cp_plot_close, for a run
 * of one job. */
int cp_render_charts(const struct cp_render_job *job, struct cp_charts *out,
                     struct cp_err *err);

/*
 * Draws a chart's PDF (pdf_data, or the file once committed) into the box
 * (x, y, w, h) of cr, keeping its proportions (centred). Used to place
 * charts as vectors, text as text, in the PDFs.
 */
int cp_chart_draw(cairo_t *cr, const struct cp_chart *ch, double x, double y, double w,
                  double h, struct cp_err *err);

#endif
