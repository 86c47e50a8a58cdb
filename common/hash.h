/*
 * SHA-256 fingerprints: of a submitted file (to recognise the same bytes
 * under another name), of the catalog (its version), of a roll-up's
 * content (its checksum). libcrypto is used for speed: it uses the CPU's
 * SHA extensions, several times faster than a portable implementation on
 * a 1 GB input.
 */
#ifndef CALPAE_HASH_H
#define CALPAE_HASH_H

#include <stddef.h>

#include "common/err.h"

#define CP_SHA256_HEX 65 /* 64 hex digits + NUL */

struct cp_sha256 {
    void *ctx; /* owned EVP_MD_CTX */
};

int cp_sha256_init(struct cp_sha256 *h);
int cp_sha256_update(struct cp_sha256 *h, const void *p, size_t n);
/* Writes the lowercase hex digest and releases the context. */
int cp_sha256_final(struct cp_sha256 *h, char hex[CP_SHA256_HEX]);
/* Releases the context without a digest (error paths). */
void cp_sha256_release(struct cp_sha256 *h);

/* Digest of a buffer. */
int cp_sha256_buf(const void *p, size_t n, char hex[CP_SHA256_HEX]);
/* Digest of a whole file, streamed; *size receives its length when not
 * NULL. Errors: code "io", exit status CP_EX_NOINPUT or CP_EX_IOERR. */
int cp_sha256_file(const char *path, char hex[CP_SHA256_HEX],
                   unsigned long long *size, struct cp_err *err);
/* The same, also copying the bytes of the file's first read, at most
 * headsz, into head (*headn of them: fewer only for a shorter file). */
int cp_sha256_file_head(const char *path, char hex[CP_SHA256_HEX], unsigned long long *size,
                        void *head, size_t headsz, size_t *headn, struct cp_err *err);

#endif
