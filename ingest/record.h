/*
 * What a table interpreter gives for one file (values and rejections, in
 * order), kept in memory to be handed to the store later: the read-ahead
 * thread (ingest.c) parses the next submission while the main thread
 * stores the current one. The record is capped in bytes: past the cap it
 * refuses the next event (the reader then stops with CP_READ_ABORTED) and
 * the file is read again in the usual streaming way.
 */
#ifndef CALPAE_RECORD_H
#define CALPAE_RECORD_H

#include <stddef.h>

#include "common/buf.h"
#include "ingest/table.h"

struct cp_rec {
    struct cp_buf b;   /* the events, one after the other */
    int overflow;      /* an event did not fit under the cap */
};

/* An empty record holding at most max_bytes. */
void cp_rec_init(struct cp_rec *r, size_t max_bytes);
void cp_rec_release(struct cp_rec *r);

/* The callbacks to give cp_table_new (ctx = r). */
struct cp_table_out cp_rec_out(struct cp_rec *r);

/* Gives the recorded events to out, in order; an observation's location
 * is the one computed when it was recorded (cp_obs.where). Returns 0, or
 * the first negative value a callback returned (the rest is not given). */
int cp_rec_replay(const struct cp_rec *r, const struct cp_table_out *out);

#endif
