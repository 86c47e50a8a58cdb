/*
 * Errors as values. Library code in common/ and in the stage modules never
 * prints and never exits: it returns a negative number and fills a struct
 * cp_err with a stable code, a location and a complete French sentence.
 * Only a stage's main.c prints and chooses the exit status.
 */
#ifndef CALPAE_ERR_H
#define CALPAE_ERR_H

#include <stddef.h>

/* Exit statuses, sysexits style (documented in README and man pages). */
enum cp_exit {
    CP_EX_OK = 0,
    CP_EX_USAGE = 64,     /* bad command line */
    CP_EX_DATAERR = 65,   /* ran to the end, but input data had problems */
    CP_EX_NOINPUT = 66,   /* an input path does not exist or is unreadable */
    CP_EX_SOFTWARE = 70,  /* internal error */
    CP_EX_CANTCREAT = 73, /* cannot create an output file */
    CP_EX_IOERR = 74,     /* input/output or database error */
    CP_EX_TEMPFAIL = 75,  /* another run holds the lock: retry later */
    CP_EX_CONFIG = 78     /* reference data or rules unusable */
};

#define CP_ERR_CODE_MAX 40
#define CP_ERR_WHERE_MAX 200
#define CP_ERR_MSG_MAX 1200

struct cp_err {
    char code[CP_ERR_CODE_MAX];   /* stable machine code, e.g. "bad_encoding" */
    char where[CP_ERR_WHERE_MAX]; /* location, e.g. "byte 146", "Export!D17", "" */
    char msg[CP_ERR_MSG_MAX];     /* complete French sentence */
    int exit_status;              /* suggested exit status (enum cp_exit) */
};

/* Clears *e (all strings empty, exit_status CP_EX_OK). */
void cp_err_clear(struct cp_err *e);

/*
 * Fills *e and returns -1, so that callers can write
 * `return cp_err_set(err, CP_EX_IOERR, "io", path, "…%s", …);`.
 * e may be NULL (the error is then only returned). Strings are truncated
 * to fit; where may be NULL for "".
 */
int cp_err_set(struct cp_err *e, int exit_status, const char *code,
               const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Prefixes e->msg with a context sentence fragment ("fichier x : "). */
void cp_err_prefix(struct cp_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
