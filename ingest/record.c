/*
 * A file's values and rejections kept in memory (see record.h). Each
 * event is a fixed header followed by its texts (NUL-terminated), padded
 * to 8 bytes so that the next header is aligned.
 */
#include "ingest/record.h"

#include <stdint.h>
#include <string.h>

#include "common/err.h"

enum { EV_VALUE = 1, EV_REJECT = 2 };

#define NO_TEXT UINT32_MAX
#define NTEXT 4

/* Texts of a value: where, raw, comment; of a rejection: where, code, raw,
 * message. */
struct ev {
    uint32_t kind;
    uint32_t size;        /* header, texts and padding */
    int32_t sig, ind;
    struct cp_period period;
    int32_t has_period;   /* rejections: period is known */
    int32_t has_value, has_target;
    int32_t missing;
    double value, target;
    uint32_t len[NTEXT];  /* without the NUL; NO_TEXT for NULL */
};

void cp_rec_init(struct cp_rec *r, size_t max_bytes)
{
    cp_buf_init(&r->b, max_bytes);
    r->overflow = 0;
}

void cp_rec_release(struct cp_rec *r)
{
    cp_buf_release(&r->b);
    r->overflow = 0;
}

/* Appends e and its texts (n of them). 0, or -1 past the cap. */
static int put(struct cp_rec *r, struct ev *e, const char *const *text, int n)
{
    static const char zeros[8];
    size_t size = sizeof *e;

    for (int i = 0; i < NTEXT; i++) {
        e->len[i] = NO_TEXT;
        if (i < n && text[i]) {
            size_t len = strlen(text[i]);

            if (len >= NO_TEXT)
                goto overflow;
            e->len[i] = (uint32_t)len;
            size += len + 1;
        }
    }
    size = (size + 7) & ~(size_t)7;
    if (size > r->b.max || r->b.len > r->b.max - size)
        goto overflow;
    e->size = (uint32_t)size;
    if (cp_buf_add(&r->b, e, sizeof *e) < 0)
        goto overflow;
    size -= sizeof *e;
    for (int i = 0; i < n; i++) {
        if (e->len[i] != NO_TEXT) {
            if (cp_buf_add(&r->b, text[i], e->len[i] + 1) < 0)
                goto overflow;
            size -= e->len[i] + 1;
        }
    }
    if (cp_buf_add(&r->b, zeros, size) < 0)
        goto overflow;
    return 0;
overflow:
    r->overflow = 1;
    return -1;
}

static int rec_value(void *ctx, const struct cp_obs *o)
{
    struct cp_rec *r = ctx;
    struct ev e;
    char where[CP_ERR_WHERE_MAX];
    const char *text[3];

    memset(&e, 0, sizeof e);
    e.kind = EV_VALUE;
    e.sig = o->sig;
    e.ind = o->ind;
    e.period = o->period;
    e.has_value = o->has_value;
    e.value = o->value;
    e.missing = (int32_t)o->missing;
    e.has_target = o->has_target;
    e.target = o->target;
    cp_obs_where(o, where);
    text[0] = where;
    text[1] = o->raw;
    text[2] = o->comment;
    return put(r, &e, text, 3);
}

static int rec_reject(void *ctx, const struct cp_rej *j)
{
    struct cp_rec *r = ctx;
    struct ev e;
    const char *text[4];

    memset(&e, 0, sizeof e);
    e.kind = EV_REJECT;
    e.sig = j->sig;
    e.ind = j->ind;
    if (j->period) {
        e.period = *j->period;
        e.has_period = 1;
    }
    text[0] = j->where;
    text[1] = j->code;
    text[2] = j->raw;
    text[3] = j->message;
    return put(r, &e, text, 4);
}

struct cp_table_out cp_rec_out(struct cp_rec *r)
{
    struct cp_table_out out = {r, rec_value, rec_reject};
    return out;
}

int cp_rec_replay(const struct cp_rec *r, const struct cp_table_out *out)
{
    const char *p = r->b.data, *end = r->b.data + r->b.len;

    while (p && p < end) {
        const struct ev *e = (const struct ev *)(const void *)p;
        const char *text[NTEXT], *q = p + sizeof *e;
        int rc;

        for (int i = 0; i < NTEXT; i++) {
            text[i] = NULL;
            if (e->len[i] != NO_TEXT) {
                text[i] = q;
                q += e->len[i] + 1;
            }
        }
        if (e->kind == EV_VALUE) {
            struct cp_obs o;

            memset(&o, 0, sizeof o);
            o.sig = e->sig;
            o.ind = e->ind;
            o.period = e->period;
            o.has_value = e->has_value;
            o.value = e->value;
            o.missing = (enum cp_missing)e->missing;
            o.has_target = e->has_target;
            o.target = e->target;
            o.where = text[0];
            o.raw = text[1];
            o.comment = text[2];
            rc = out->value(out->ctx, &o);
        } else {
            struct cp_rej j;

            j.where = text[0];
            j.code = text[1];
            j.raw = text[2];
            j.message = text[3];
            j.sig = e->sig;
            j.ind = e->ind;
            j.period = e->has_period ? &e->period : NULL;
            rc = out->reject(out->ctx, &j);
        }
        if (rc < 0)
            return rc;
        p += e->size;
    }
    return 0;
}
