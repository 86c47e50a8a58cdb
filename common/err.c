/* Error values shared by every module (see err.h). */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cp_err_clear(struct cp_err *e)
{
    if (!e)
        return;
    memset(e, 0, sizeof *e);
}

int cp_err_set(struct cp_err *e, int exit_status, const char *code,
               const char *where, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return -1;
    e->exit_status = exit_status;
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    snprintf(e->where, sizeof e->where, "%s", where ? where : "");
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void cp_err_prefix(struct cp_err *e, const char *fmt, ...)
{
    char old[CP_ERR_MSG_MAX];
    size_t hl, ol;
    va_list ap;

    if (!e)
        return;
    memcpy(old, e->msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* Append the old message after the prefix, truncating what does not fit. */
    hl = strlen(e->msg);
    ol = strnlen(old, sizeof old);
    if (ol > sizeof e->msg - 1 - hl)
        ol = sizeof e->msg - 1 - hl;
    memcpy(e->msg + hl, old, ol);
    e->msg[hl + ol] = '\0';
}
