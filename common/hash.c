/* SHA-256 through libcrypto's EVP interface (see hash.h). */
#include "common/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cp_sha256_init(struct cp_sha256 *h)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    h->ctx = NULL;
    if (!c)
        return -1;
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return -1;
    }
    h->ctx = c;
    return 0;
}

int cp_sha256_update(struct cp_sha256 *h, const void *p, size_t n)
{
    return EVP_DigestUpdate(h->ctx, p, n) == 1 ? 0 : -1;
}

void cp_sha256_release(struct cp_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int cp_sha256_final(struct cp_sha256 *h, char hex[CP_SHA256_HEX])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int rc = -1;

    if (EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n == 32) {
        for (unsigned i = 0; i < n; i++) {
            hex[2 * i] = digits[md[i] >> 4];
            hex[2 * i + 1] = digits[md[i] & 15];
        }
        hex[64] = '\0';
        rc = 0;
    }
    cp_sha256_release(h);
    return rc;
}

int cp_sha256_buf(const void *p, size_t n, char hex[CP_SHA256_HEX])
{
    struct cp_sha256 h;

    if (cp_sha256_init(&h) < 0)
        return -1;
    if (cp_sha256_update(&h, p, n) < 0) {
        cp_sha256_release(&h);
        return -1;
    }
    return cp_sha256_final(&h, hex);
}

int cp_sha256_file(const char *path, char hex[CP_SHA256_HEX],
                   unsigned long long *size, struct cp_err *err)
{
    return cp_sha256_file_head(path, hex, size, NULL, 0, NULL, err);
}

int cp_sha256_file_head(const char *path, char hex[CP_SHA256_HEX], unsigned long long *size,
                        void *head, size_t headsz, size_t *headn, struct cp_err *err)
{
    /* On the stack: ingest hashes on its read-ahead thread and its main
     * thread at once. */
    unsigned char block[1 << 17];
    struct cp_sha256 h;
    unsigned long long total = 0;
    int fd, rc = -1;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cp_err_set(err, CP_EX_NOINPUT, "io", NULL,
                          "impossible d'ouvrir « %s » : %s", path, strerror(errno));
    if (cp_sha256_init(&h) < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
        goto out;
    }
    if (headn)
        *headn = 0;
    while ((n = read(fd, block, sizeof block)) > 0) {
        if (head && total == 0) {
            *headn = (size_t)n < headsz ? (size_t)n : headsz;
            memcpy(head, block, *headn);
        }
        cp_sha256_update(&h, block, (size_t)n);
        total += (unsigned long long)n;
    }
    if (n < 0) {
        cp_err_set(err, CP_EX_IOERR, "io", NULL, "lecture de « %s » impossible : %s",
                   path, strerror(errno));
        cp_sha256_release(&h);
        goto out;
    }
    if (cp_sha256_final(&h, hex) < 0) {
        cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
        goto out;
    }
    if (size)
        *size = total;
    rc = 0;
out:
    close(fd);
    return rc;
}
