/*
 * retours/<signataire>.pdf: the feedback report (retour de contrôle) to one
 * signatory for one period: the files it sent, the values refused at
 * reception and the coherence findings on its figures, each pointing at
 * its own file and cell, with what to correct.
 */
#ifndef CALPAE_RENDER_RETOUR_H
#define CALPAE_RENDER_RETOUR_H

#include "common/err.h"
#include "render/render.h"

/*
 * Writes the report of signatory sig (a code, "31D") for job's period to
 * path, atomically. Files of the signatory: those holding its values for
 * the period, those with a rejection naming it for the period (or for no
 * period), and files nobody could be named for (unreadable...) whose name
 * holds its code ("09D") or "CD" + département ("CD09") and the period
 * ("2021S1", "2021-S1"; a year alone) — shown as attributed by name.
 * Rejections shown: those naming it, and those naming no signatory in a
 * file that holds only its figures. Returns 0, or -1 with err (unknown
 * signatory: CP_EX_USAGE; database; output).
 */
int cp_render_feedback_pdf(const struct cp_render_job *job, const char *sig, const char *path,
                           struct cp_err *err);

/*
 * The same in two steps, so that the writing can run on another thread:
 * cp_feedback_read reads what the report shows from job's database (in
 * the database's thread) into *out, which holds its own copies;
 * cp_feedback_write lays it out to path, atomically, in any thread. Free
 * with cp_feedback_free (NULL is fine).
 */
struct cp_feedback;
int cp_feedback_read(const struct cp_render_job *job, const char *sig, struct cp_feedback **out,
                     struct cp_err *err);
int cp_feedback_write(const struct cp_feedback *f, const char *path, struct cp_err *err);
void cp_feedback_free(struct cp_feedback *f);

/*
 * cp_feedback_read for every signatory of a job, or of a run:
 * cp_feedback_src_open prepares the queries once and reads what is the
 * same for every signatory of the period; cp_feedback_src_read is then
 * cp_feedback_read for one (in the database's thread).
 * cp_feedback_src_job moves src to another job of the same database (what
 * depends on the period is read again when it differs). Close with
 * cp_feedback_src_close (NULL is fine); job must live while src reads
 * for it.
 */
struct cp_feedback_src;
int cp_feedback_src_open(const struct cp_render_job *job, struct cp_feedback_src **out,
                         struct cp_err *err);
int cp_feedback_src_job(struct cp_feedback_src *src, const struct cp_render_job *job,
                        struct cp_err *err);
int cp_feedback_src_read(struct cp_feedback_src *src, const char *sig, struct cp_feedback **out,
                         struct cp_err *err);
void cp_feedback_src_close(struct cp_feedback_src *src);

#endif
