/*
 * UTF-8 text helpers for matching what people type: trimming exotic
 * spaces, folding case and accents away, checking UTF-8, edit distance.
 */
#ifndef CALPAE_TEXT_H
#define CALPAE_TEXT_H

#include <stddef.h>

/* Narrows [*s, *s + *len) past leading and trailing white space: ASCII
 * space, tab, CR, LF, VT, FF, U+00A0 NO-BREAK SPACE, U+202F NARROW
 * NO-BREAK SPACE, U+2000..U+200B, U+2060, U+3000 and U+FEFF. */
void cp_text_trim(const char **s, size_t *len);

/*
 * Folds text for matching: decodes UTF-8, maps Latin letters with
 * diacritics to their base letter (é→e, Ç→c, œ→oe, æ→ae, ß→ss), lowers
 * case, and keeps only [a-z0-9]; everything else is dropped.
 * "Haute-Garonne (31)" → "hautegaronne31". Invalid UTF-8 bytes are
 * dropped. Writes at most outsz-1 bytes plus a NUL; returns the length
 * written. outsz must be at least 1.
 */
size_t cp_text_fold(const char *s, size_t len, char *out, size_t outsz);

/* Like cp_text_fold, but each run of dropped characters between two kept
 * ones becomes one space: "Métropole de  Lyon!" → "metropole de lyon". */
size_t cp_text_fold_words(const char *s, size_t len, char *out, size_t outsz);

/* Returns 1 when [s, s+len) is valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). Otherwise returns 0 and, when bad
 * is not NULL, sets *bad to the offset of the first offending byte. */
int cp_utf8_valid(const char *s, size_t len, size_t *bad);

/* Levenshtein distance between two NUL-terminated byte strings; returns
 * cap + 1 as soon as the distance is known to exceed cap. */
unsigned cp_text_distance(const char *a, const char *b, unsigned cap);

#endif
