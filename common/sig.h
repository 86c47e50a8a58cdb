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
struct cp_sig_index; /* opaque, built by cp_sig_index_build */

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
 * Builds the lookup index over ref->sig, ref->alias, ref->dep and ref->reg
 * (called by cp_ref_load; ref must outlive the index). Keys, by priority
 * (the first level holding the text decides; a key shared by two
 * signatories within a level is ambiguous):
 *  1. the code folded ("31d", "6ae", "m31"), also without a leading zero
 *     ("1d" for 01D);
 *  2. every alias of data/alias.csv, folded;
 *  3. the code without its type letter when that letter is 'D' and the
 *     rest is its département ("31", "971"; "1" and "01" for 01D);
 *  4. each département number ("75" is 75C, "2a" is 20R), given to the
 *     type-D signatory whose territory is that département alone, else to
 *     every type-D signatory covering it ("67" is 67D, not 6AE, remapped
 *     by period through cp_ref_successor);
 *  5. the name folded ("hautegaronne"), plus, by the rule of level 4, the
 *     names of départements ("Corse-du-Sud" is 20R), and a région's name
 *     for its région-level signatory ("Occitanie" is R76);
 *  6. the word set of names and aliases without French stop words
 *     ("metropole lyon" = "lyon metropole"; "et" is kept).
 * Errors: memory only.
 */
int cp_sig_index_build(struct cp_sig_index **out, const struct cp_ref *ref, struct cp_err *err);
void cp_sig_index_free(struct cp_sig_index *ix);

/* Index of the signatory whose code is exactly code (case included), or
 * -1; a logarithmic lookup, used by cp_ref_signatory. */
int cp_sig_index_code(const struct cp_sig_index *ix, const struct cp_ref *ref,
                      const char *code);

/*
 * Matches one cell's text. Trailing '*' and white space are ignored. A
 * whole number given as text ("11", "11.0") is read as such; any other
 * number matches nobody. A code in brackets ("Ariège (09)") must agree
 * with the name when both match (else CP_SIG_AMBIGUOUS listing both); one
 * matching part is enough. A département number before or after a name
 * ("31 - Haute-Garonne", "Haute-Garonne 31") is read the same way, but the
 * name must match. On CP_SIG_UNKNOWN, near holds up to three signatories
 * whose keys (codes, names, aliases) are closest to the folded text (edit
 * distance at most a third of its length, at least 2), best first, ties by
 * order in signataires.csv; "CD09" is unknown, with 09D as the closest.
 * m->how: BY_NUMBER when a bracketed or bare code decided.
 */
void cp_sig_match(const struct cp_ref *ref, const char *text, size_t len,
                  struct cp_sig_match *m);

#endif
