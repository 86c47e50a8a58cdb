/*
 * One growable byte buffer with a mandatory size cap, used for SQL, paths,
 * messages and cell text. Always NUL-terminated once anything was added.
 */
#ifndef CALPAE_BUF_H
#define CALPAE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct cp_buf {
    char *data;  /* owned; NULL until the first addition */
    size_t len;  /* bytes used, not counting the terminating NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* cap on len; an addition past it fails */
};

#define CP_BUF_INIT(maxlen) { NULL, 0, 0, (maxlen) }

void cp_buf_init(struct cp_buf *b, size_t max);
/* Each add returns 0, or -1 when the cap would be exceeded or memory is
 * short; the buffer is then unchanged. */
int cp_buf_add(struct cp_buf *b, const void *p, size_t n);
int cp_buf_addc(struct cp_buf *b, char c);
int cp_buf_adds(struct cp_buf *b, const char *s);
int cp_buf_addf(struct cp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cp_buf_vaddf(struct cp_buf *b, const char *fmt, va_list ap);
/* Empties the buffer, keeping its memory. */
void cp_buf_reset(struct cp_buf *b);
/* The contents as a C string; "" (static) when nothing was ever added. */
const char *cp_buf_str(const struct cp_buf *b);
/* Frees the contents; the buffer can be reused. */
void cp_buf_release(struct cp_buf *b);
/* Hands the contents to the caller (free() it) and empties the buffer.
 * Never NULL on success; NULL when memory is short. */
char *cp_buf_detach(struct cp_buf *b);

#endif
