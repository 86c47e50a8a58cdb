/*
 * Recognising a signatory from what people type instead of its code:
 * "1", "01", "1D", "01D" for Ain; "2a"; "Haute Garonne", "HAUTE-GARONNE",
 * "Haute-Garonne (31)"; "Guadeloupe*"; "Lyon Métropole "; "Alsace", "CeA".
 * A misspelling is never guessed: it comes back as unknown, with the
 * closest signatories to name in the message.
 */
#ifndef CALPAE_SIG_H
#define CALPAE_SIG_H

#include <stddef.h>

#include "common/err.h"

struct cp_ref;

enum cp_sig_status {
    CP_SIG_FOUND,     /* sig is set */
    CP_SIG_AMBIGUOUS, /* several signatories match; near lists them */
    CP_SIG_UNKNOWN    /* nothing matches; near lists the closest */
};

/* How the text matched, so that callers can remap a bare département
 * number to the signatory in force for a period (67 in 2021 → 6AE). */
enum cp_sig_how {
    CP_SIG_BY_CODE,   /* the code itself, case and a lost leading zero aside */
    CP_SIG_BY_NUMBER, /* a département number, or a code in brackets */
    CP_SIG_BY_NAME,   /* a name, alias or word-set of a name */
};

#define CP_SIG_NEAR_MAX 3

struct cp_sig_match {
    enum cp_sig_status status;
    enum cp_sig_how how;
    int sig;                      /* index into ref->sig when FOUND */
    int near[CP_SIG_NEAR_MAX];    /* closest signatories, best first */
    int nnear;
};

/*
 * Builds the lookup index over ref->sig and ref->alias (called by
 * cp_ref_load; ref must outlive the index). Keys: the code folded
 * ("31d"), the code without its type letter when that letter is 'D' and
 * the rest is a département ("31", and "1" for "01"), each département
 * number the signatory covers when it is the only type-D signatory
 * covering it at some time (so "75" is 75C, "2a" is 20R; "67" is 67D,
 * remapped by period through cp_ref_successor), the name folded
 * ("hautegaronne"), the name's word set without French stop words
 * ("metropole lyon" = "lyon metropole"), and every alias. A key shared by
 * two signatories is marked ambiguous.
 */
int cp_sig_index_build(struct cp_sig_index **out, const struct cp_ref *ref, struct cp_err *err);
void cp_sig_index_free(struct cp_sig_index *ix);

/*
 * Matches one cell's text. Trailing '*' and white space are ignored; a
 * code in brackets ("Ariège (09)") must agree with the name when both
 * match. On CP_SIG_UNKNOWN, near holds up to three signatories whose
 * folded name or code is closest (edit distance at most a third of the
 * text's length, at least 2).
 */
void cp_sig_match(const struct cp_ref *ref, const char *text, size_t len,
                  struct cp_sig_match *m);

#endif
