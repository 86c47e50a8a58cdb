/*
 * retours/<signataire>.xlsx for every signatory of a job, or of a run
 * (cp_render_feedback_xlsx, render.h, for one): cp_feedback_xlsx_open
 * prepares the queries and reads the reference lists once;
 * cp_feedback_xlsx_write then writes one signatory's workbook, in the
 * database's thread. cp_feedback_xlsx_job moves f to another job of the
 * same database. Close with cp_feedback_xlsx_close (NULL is fine); job
 * must live while f writes for it.
 */
#ifndef CALPAE_RENDER_FEEDBACK_H
#define CALPAE_RENDER_FEEDBACK_H

#include "common/err.h"
#include "render/render.h"

struct cp_feedback_xlsx;
int cp_feedback_xlsx_open(const struct cp_render_job *j, struct cp_feedback_xlsx **out,
                          struct cp_err *err);
int cp_feedback_xlsx_job(struct cp_feedback_xlsx *f, const struct cp_render_job *j,
                         struct cp_err *err);
int cp_feedback_xlsx_write(struct cp_feedback_xlsx *f, const char *sig, const char *path,
                           struct cp_err *err);
void cp_feedback_xlsx_close(struct cp_feedback_xlsx *f);

#endif
