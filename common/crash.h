/*
 * Test-only crash points. When $CALPAE_CRASH_AT is "NAME:N", the N-th call
 * of cp_crash_point("NAME") in the process kills it with SIGKILL, as the
 * OOM killer or an operator's kill -9 would: no handler, no cleanup, no
 * flush. The end-to-end crash tests use it to stop a stage exactly between
 * two steps (tests/e2e/test_crash.c); they also kill at timed moments.
 * Unset, as in production, a call costs one comparison after the first.
 */
#ifndef CALPAE_CRASH_H
#define CALPAE_CRASH_H

/* Points: "ingest-commit" (after a file's transaction is committed, before
 * the caller's on_file), "nightly-consolidated" (consolidate committed,
 * its fingerprint not yet stored). */
void cp_crash_point(const char *name);

#endif
