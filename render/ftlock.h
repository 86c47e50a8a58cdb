/*
 * Makes poppler safe to use from several threads (see ftlock.c): FreeType
 * faces are created and freed under one process-wide lock, and poppler's
 * lazily built global state is built once, here.
 */
#ifndef CALPAE_RENDER_FTLOCK_H
#define CALPAE_RENDER_FTLOCK_H

/* Draws one small PDF through poppler in the calling thread, the first
 * time only. Call it before threads use poppler. */
void cp_poppler_warm_up(void);

#endif
