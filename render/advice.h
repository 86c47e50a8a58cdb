/*
 * What a signatory should do about each problem, in French: one sentence
 * per rejection code (ingest) and per coherence rule (consolidate), shown
 * in the feedback reports next to the precise message and cell. Shared by
 * the PDF and XLSX feedback writers.
 */
#ifndef CALPAE_RENDER_ADVICE_H
#define CALPAE_RENDER_ADVICE_H

/* Advice for a rejection code ("not_a_number"...); a general sentence for
 * an unknown code. Static storage, never NULL. */
const char *cp_advice_rejection(const char *code);
/* Advice for a rule id ("PARTIE_TOUT"...); a general sentence for an
 * unknown rule. Static storage, never NULL. */
const char *cp_advice_finding(const char *rule);

#endif
