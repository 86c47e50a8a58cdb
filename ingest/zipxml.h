/*
 * Archive and XML plumbing shared by the workbook readers (XLSX, ODS): a
 * zip entry is inflated block by block and fed to expat, within the caps
 * of struct cp_limits (entries, inflated bytes per entry and per archive,
 * compression ratio, XML depth, wall time). No DTD is accepted, nothing is
 * ever held whole in memory.
 */
#ifndef CALPAE_ZIPXML_H
#define CALPAE_ZIPXML_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "common/limits.h"

struct zip;

/* An open archive. Everything it points to is borrowed from the caller. */
struct cp_zip {
    struct zip *za;
    const char *path;              /* the file, for messages */
    const struct cp_limits *lim;
    struct cp_err *err;            /* filled when a function returns -1 */
    unsigned long long file_bytes; /* size of the file on disk */
    unsigned long long inflated;   /* bytes inflated from it so far */
    struct timespec t0;            /* when cp_zip_open began */
    unsigned long nentries;
};

/*
 * Opens path read-only and checks the entry count. Returns 0, or -1 with
 * z->err filled ("io", "bad_archive", "too_many_entries"); kind is the
 * French name of what the file should be ("classeur XLSX"), used in
 * messages. On failure nothing needs releasing.
 */
int cp_zip_open(struct cp_zip *z, const char *path, const char *kind,
                const struct cp_limits *lim, struct cp_err *err);
/* Closes the archive; safe on a zeroed or already closed struct. */
void cp_zip_close(struct cp_zip *z);

/* 1 when the archive holds an entry of that name (ASCII case ignored). */
int cp_zip_has(const struct cp_zip *z, const char *name);

/* 0 while the file's wall-time budget lasts, else -1 with "too_slow". */
int cp_zip_check_time(struct cp_zip *z, const char *where);

/*
 * Streams entry name to fn in blocks, counting inflated bytes against the
 * caps. fn returns 0 to go on, anything else to stop: that value is then
 * returned. Returns 0 at the end of the entry, -1 with err filled
 * ("bad_archive" if the entry is missing or damaged, "zip_bomb",
 * "too_slow").
 */
typedef int (*cp_zip_block_fn)(void *ctx, const char *data, size_t len);
int cp_zip_stream(struct cp_zip *z, const char *name, cp_zip_block_fn fn,
                  void *ctx);

/*
 * XML: elements reach the handlers as (namespace id, local name). The
 * caller lists the namespace URIs it knows with an id each (> 0; several
 * URIs may share an id, e.g. transitional and strict OOXML); a name
 * without namespace has id 0, an unknown namespace id -1.
 */
struct cp_xml_ns {
    const char *uri;
    int id;
};

struct cp_xml;

struct cp_xml_handlers {
    const struct cp_xml_ns *ns;  /* terminated by { NULL, 0 }; at most
                                    CP_XML_MAX_NS are looked at */
    void (*start)(struct cp_xml *x, int ns, const char *name, const char **atts);
    void (*end)(struct cp_xml *x, int ns, const char *name);
    void (*text)(struct cp_xml *x, const char *s, size_t len); /* may be NULL */
};

#define CP_XML_MAX_NS 16

struct cp_xml {
    struct cp_zip *zip;
    const char *entry;                  /* borrowed: the entry being parsed */
    const struct cp_xml_handlers *h;
    void *ctx;                          /* the caller's state */
    void *parser;                       /* XML_Parser */
    unsigned depth;                     /* current element nesting */
    int halted;                         /* a handler stopped the parse */
    int rc;                             /* what cp_xml_parse then returns */
    size_t nslen[CP_XML_MAX_NS];        /* lengths of h->ns URIs */
    unsigned nns;
};

/*
 * Parses entry with the handlers. Returns 0 at the end of the document,
 * the value given to cp_xml_halt when a handler stopped the parse, or -1
 * with err filled ("bad_xml" with the entry and line, "dtd_forbidden",
 * "xml_too_deep", the cp_zip_stream codes, or a handler's own code).
 */
int cp_xml_parse(struct cp_zip *z, const char *entry,
                 const struct cp_xml_handlers *h, void *ctx);
/* Stops the parse; cp_xml_parse returns rc. Later calls do nothing. */
void cp_xml_halt(struct cp_xml *x, int rc);
/* Fills the archive's err, stops the parse with -1 and returns -1. */
int cp_xml_fail(struct cp_xml *x, int exit_status, const char *code,
                const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The value of attribute (ns, name) in an expat attribute list, or NULL.
 * Borrowed from the parser: valid during the start handler only. */
const char *cp_xml_attr(const struct cp_xml *x, const char **atts, int ns,
                        const char *name);
/* The current line of the parser, for messages. */
unsigned long cp_xml_line(const struct cp_xml *x);

#endif
