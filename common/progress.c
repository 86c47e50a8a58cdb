/* Terminal progress bar (see progress.h). */
#include "common/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void cp_progress_start(struct cp_progress *p, FILE *f, const char *label, size_t total)
{
    const char *term = getenv("TERM");

    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    if (f && isatty(fileno(f)) && term && strcmp(term, "dumb") != 0 && total > 1)
        p->f = f;
}

void cp_progress_step(struct cp_progress *p, size_t done, const char *what)
{
    char bar[41];
    int n, filled;
    long t;

    p->done = done;
    if (!p->f)
        return;
    t = now_ms();
    if (done < p->total && t - p->last_ms < 100)
        return;
    p->last_ms = t;
    filled = p->total ? (int)(40 * done / p->total) : 40;
    for (int i = 0; i < 40; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[40] = '\0';
    n = fprintf(p->f, "\r%s %zu/%zu [%s] %.30s", p->label, done, p->total, bar,
                what ? what : "");
    if (n < p->width)
        fprintf(p->f, "%*s", p->width - n, "");
    p->width = n;
    fflush(p->f);
}

void cp_progress_end(struct cp_progress *p)
{
    if (p->f && p->width)
        fprintf(p->f, "\r%*s\r", p->width, "");
    if (p->f)
        fflush(p->f);
    p->f = NULL;
}
