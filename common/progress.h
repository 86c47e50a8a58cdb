/*
 * A progress bar for long runs on a terminal ("fichiers 120/1 200 [=====>   ]").
 * It draws only when its stream is a terminal and TERM is not "dumb", so a
 * cron job or a pipe gets nothing. Stages call it through their callbacks;
 * the bar itself writes only to the FILE given at start.
 */
#ifndef CALPAE_PROGRESS_H
#define CALPAE_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

struct cp_progress {
    FILE *f;          /* NULL when not drawing */
    const char *label;
    size_t total, done;
    int width;        /* last line width, for clearing */
    long last_ms;     /* last draw, to redraw at most ~10 times a second */
};

/* Starts a bar on f when f is a terminal; otherwise the bar stays silent. */
void cp_progress_start(struct cp_progress *p, FILE *f, const char *label, size_t total);
void cp_progress_step(struct cp_progress *p, size_t done, const char *what);
/* Clears the bar's line. */
void cp_progress_end(struct cp_progress *p);

#endif
