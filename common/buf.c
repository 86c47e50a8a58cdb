/* Growable, capped byte buffer (see buf.h). */
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cp_buf_init(struct cp_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int grow(struct cp_buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > b->max || b->len > b->max - extra)
        return -1;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
    p = realloc(b->data, ncap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int cp_buf_add(struct cp_buf *b, const void *p, size_t n)
{
    if (grow(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cp_buf_addc(struct cp_buf *b, char c)
{
    return cp_buf_add(b, &c, 1);
}

int cp_buf_adds(struct cp_buf *b, const char *s)
{
    return cp_buf_add(b, s, strlen(s));
}

int cp_buf_vaddf(struct cp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || grow(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cp_buf_addf(struct cp_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = cp_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void cp_buf_reset(struct cp_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

const char *cp_buf_str(const struct cp_buf *b)
{
    return b->data ? b->data : "";
}

void cp_buf_release(struct cp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

char *cp_buf_detach(struct cp_buf *b)
{
    char *p = b->data;

    if (!p) {
        p = calloc(1, 1);
        if (!p)
            return NULL;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
