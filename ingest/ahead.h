/*
 * Work done ahead on a second thread, in order: job i (0..n-1) runs on the
 * thread and leaves its result in a slot; the caller takes the slots in
 * the same order and releases each one when it is done with it. The
 * thread never runs more than `window` jobs ahead of the last slot
 * released, so memory stays bounded by window slots; once the window is
 * full it sleeps until `batch` slots are free (one wake-up for several
 * jobs).
 */
#ifndef CALPAE_AHEAD_H
#define CALPAE_AHEAD_H

#include <stddef.h>

struct cp_ahead; /* opaque */

typedef void (*cp_ahead_job)(void *ctx, size_t i, void *slot);

/* Starts the thread for n jobs, with window slots of slot_size bytes
 * (zeroed before the first use; a slot's contents are the job's and the
 * caller's to manage); 1 <= batch <= window. NULL when the thread or
 * memory cannot be had: the caller then does the work itself. */
struct cp_ahead *cp_ahead_start(size_t n, size_t window, size_t batch, size_t slot_size,
                                cp_ahead_job job, void *ctx);

/* Waits for job i and returns its slot. i = 0, 1, 2… in turn. */
void *cp_ahead_take(struct cp_ahead *a, size_t i);
/* Gives slot i back (after cp_ahead_take(a, i)): job i + window may run. */
void cp_ahead_release(struct cp_ahead *a, size_t i);

/* Lets the running job end, stops the thread and frees a; clear (when not
 * NULL) is called on each slot whose job ran but that was not released. */
void cp_ahead_stop(struct cp_ahead *a, void (*clear)(void *ctx, void *slot));

#endif
