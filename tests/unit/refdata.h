/*
 * Test helpers for reference data: the tree's data/ folder, and throw-away
 * copies of it that a test can damage. Paths are static or caller-owned
 * as each comment says.
 */
#ifndef CALPAE_TEST_REFDATA_H
#define CALPAE_TEST_REFDATA_H

#include "common/ref.h"

/* $CALPAE_SRCDIR/data (static storage); aborts the test when unset. */
const char *refdata_dir(void);

/* Loads $CALPAE_SRCDIR/data into ref, failing the test on error. */
void refdata_load(struct cp_ref *ref);

/* Copies every reference file of data/ into a new temporary folder, whose
 * path is written to dir (at least 64 bytes). */
void refdata_copy(char *dir, size_t dirsz);

/* Replaces the first occurrence of old by new in dir/name (the test fails
 * when old is absent). */
void refdata_replace(const char *dir, const char *name, const char *old, const char *new_text);

/* Writes text as the whole of dir/name. */
void refdata_write(const char *dir, const char *name, const char *text);

/* Removes the copy made by refdata_copy. */
void refdata_remove(const char *dir);

#endif
