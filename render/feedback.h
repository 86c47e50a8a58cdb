/*
 * retours/<signataire>.xlsx for every signatory of a job
 * (cp_render_feedback_xlsx, render.h, for one): cp_feedback_xlsx_open
 * prepares the queries and reads the reference lists once per job;
 * cp_feedback_xlsx_write then writes one signatory's workbook. In the
 * database's thread. Close with cp_feedback_xlsx_close (NULL is fine)
 * before job goes away.
 */
#ifndef CALPAE_RENDER_FEEDBACK_H
#define CALPAE_RENDER_FEEDBACK_H

#include "common/err.h"
#include "render/render.h"

struct cp_feedback_xlsx;
int cp_feedback_xlsx_open(const struct cp_render_job *j, struct cp_feedback_xlsx **out,
                          struct cp_err *err);
int cp_feedback_xlsx_write(struct cp_feedback_xlsx *f, const char *sig, const char *path,
                           struct cp_err *err);
void cp_feedback_xlsx_close(struct cp_feedback_xlsx *f);

#endif
