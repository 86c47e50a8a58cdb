/*
 * Fingerprints of the consolidated state (see internal.h): for each région
 * and period, a digest of what a dossier of that région and period shows
 * (values in force and their origin, findings with their explanations,
 * aggregates and coverage; at the national tier, the roll-ups in force
 * and their findings summaries), recorded in meta as etat:<région>:<période>,
 * and etat:FR:<période> for the nation (every line of the period). The
 * render stage redoes only the dossiers whose fingerprint moved.
 *
 * Each line is hashed on its own and the hashes are summed per group (a
 * multiset hash), so that no sort of the whole state is needed; the sums
 * and the line count are then put through SHA-256. The lines of the values
 * in force, most of them, do not depend on what the run computes: a
 * consolidation hashes them on a second thread, with a connection of its
 * own, while it checks and aggregates (cp_state_values_start).
 */
#include "consolidate/internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/hash.h"

/* zone, period, then what the line says (11 columns, NULL-padded); a line
 * of a région also counts for the nation. The values in force, then the
 * rest. */
#define VALUES_SQL                                                                          \
    "SELECT s.region, vc.periode, 'v', vc.signataire, vc.indicateur, vc.valeur, vc.manquant," \
    " vc.cible, vc.valeur_id, vc.fichier, vc.emplacement, NULL, NULL"                       \
    " FROM valeurs_courantes vc JOIN ref_signataire s ON s.code = vc.signataire"
#define OTHERS_SQL                                                                          \
    "SELECT s.region, c.periode, 'c', c.cle, c.gravite, c.valeurs, c.message,"              \
    " (SELECT e.justification FROM explication e WHERE e.cle = c.cle"                       \
    "  AND e.valeurs = c.valeurs AND e.caduque_le IS NULL ORDER BY e.id DESC LIMIT 1),"     \
    " NULL, NULL, NULL, NULL, NULL"                                                         \
    " FROM constat c JOIN ref_signataire s ON s.code = c.signataire"                        \
    " WHERE c.periode IS NOT NULL"                                                          \
    " UNION ALL SELECT a.zone, a.periode, 'a', a.niveau, a.groupe, a.indicateur, a.valeur," \
    " a.numerateur, a.denominateur, a.couverts, a.attendus, a.part_couverte,"               \
    " a.partiel + 2 * a.derive FROM agregat a"                                              \
    /* National tier: the roll-up in force of each région (a newer one is                   \
     * a new file, received later) and its findings summary. */                             \
    " UNION ALL SELECT r.region, r.periode, 'r', r.fichier, r.recu_le, r.version_logiciel," \
    " r.genere_le, r.donnees_du, NULL, NULL, NULL, NULL, NULL FROM rollups_courants r"      \
    " UNION ALL SELECT r.region, r.periode, 'k', k.regle, k.gravite, k.nombre, NULL, NULL," \
    " NULL, NULL, NULL, NULL, NULL"                                                         \
    " FROM rollups_courants r JOIN rollup_constat k ON k.fichier_id = r.fichier_id"
static const char values_sql[] = VALUES_SQL;
static const char others_sql[] = OTHERS_SQL;
static const char lines_sql[] = VALUES_SQL " UNION ALL " OTHERS_SQL;
#define LINE_COLS 11

struct group {
    char key[32];      /* "76:2021-S1"; "" = empty slot */
    uint64_t sum[4];
    uint64_t lines;
};

struct groups {
    struct group *v;
    size_t cap, n;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Four independent 64-bit lanes over the columns of a row: each column's
 * type and stored bytes (numbers as doubles, never formatted as text). */
static void line_hash(sqlite3_stmt *st, int first, int ncols, uint64_t out[4])
{
    static const uint64_t seed[4] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL,
                                     0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL};
    uint64_t h[4] = {seed[0], seed[1], seed[2], seed[3]};

    for (int c = first; c < first + ncols; c++) {
        int type = sqlite3_column_type(st, c), n = 0;
        unsigned char b[8];
        const unsigned char *t = b;

        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
            double d = sqlite3_column_double(st, c);

            memcpy(b, &d, sizeof b);
            n = 8;
        } else if (type != SQLITE_NULL) {
            t = sqlite3_column_text(st, c);
            n = sqlite3_column_bytes(st, c);
        }
        /* The four lanes side by side: independent multiplications
         * overlap (the same values as lane after lane). */
        for (int k = 0; k < 4; k++)
            h[k] = (h[k] ^ (uint64_t)(unsigned)type ^ ((uint64_t)(unsigned)n << 8)) *
                   0x100000001b3ULL;
        for (int i = 0; i < n; i++) {
            h[0] = (h[0] ^ t[i]) * 0x100000001b3ULL;
            h[1] = (h[1] ^ t[i]) * 0x100000001b3ULL;
            h[2] = (h[2] ^ t[i]) * 0x100000001b3ULL;
            h[3] = (h[3] ^ t[i]) * 0x100000001b3ULL;
        }
    }
    for (int k = 0; k < 4; k++)
        out[k] = mix64(h[k] + seed[k]);
}

static uint64_t key_hash(const char *k)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 0x100000001b3ULL;
    return mix64(h);
}

static struct group *group_get(struct groups *g, const char *key)
{
    size_t i;

    if ((g->n + 1) * 2 > g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 256;
        struct group *v = calloc(ncap, sizeof *v);

        if (!v)
            return NULL;
        for (size_t j = 0; j < g->cap; j++) {
            if (!g->v[j].key[0])
                continue;
            for (i = key_hash(g->v[j].key) & (ncap - 1); v[i].key[0]; i = (i + 1) & (ncap - 1))
                ;
            v[i] = g->v[j];
        }
        free(g->v);
        g->v = v;
        g->cap = ncap;
    }
    for (i = key_hash(key) & (g->cap - 1); g->v[i].key[0]; i = (i + 1) & (g->cap - 1))
        if (strcmp(g->v[i].key, key) == 0)
            return &g->v[i];
    snprintf(g->v[i].key, sizeof g->v[i].key, "%s", key);
    g->n++;
    return &g->v[i];
}

static void add_to(struct group *x, const uint64_t h[4])
{
    for (int k = 0; k < 4; k++)
        x->sum[k] += h[k];
    x->lines++;
}

/* The groups of the last line's zone and period and of the nation for
 * that period: consecutive lines mostly share them (values come by
 * signatory and period). Valid while the table keeps its size (group_get
 * moves entries only when it grows). */
struct last {
    char zone[16], per[16];
    size_t cap;
    struct group *own, *nation; /* nation NULL for a national line */
};

static int add_line(struct groups *g, struct last *c, const char *zone, const char *per,
                    const uint64_t h[4])
{
    char key[32];

    if (c->own && g->cap == c->cap && strcmp(zone, c->zone) == 0 && strcmp(per, c->per) == 0) {
        add_to(c->own, h);
        if (c->nation)
            add_to(c->nation, h);
        return 0;
    }
    /* Both looked up again until neither lookup grew the table, so that
     * both entries stay where they are. */
    do {
        c->cap = g->cap;
        c->nation = NULL;
        snprintf(key, sizeof key, "%s:%s", zone, per);
        if (!(c->own = group_get(g, key)))
            return -1;
        if (strcmp(zone, "FR") != 0) {
            snprintf(key, sizeof key, "FR:%s", per);
            if (!(c->nation = group_get(g, key)))
                return -1;
        }
    } while (g->cap != c->cap);
    add_to(c->own, h);
    if (c->nation)
        add_to(c->nation, h);
    if (strlen(zone) < sizeof c->zone && strlen(per) < sizeof c->per) {
        strcpy(c->zone, zone);
        strcpy(c->per, per);
    } else {
        c->own = c->nation = NULL; /* too long to remember: looked up each time */
    }
    return 0;
}

/* Adds the lines of sql to g; SQLITE_DONE, another SQLite code, or
 * SQLITE_NOMEM when the table cannot grow. */
static int hash_lines(sqlite3 *db, const char *sql, struct groups *g)
{
    sqlite3_stmt *st;
    struct last last = {"", "", 0, NULL, NULL};
    int s;

    if ((s = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
        return s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *z = (const char *)sqlite3_column_text(st, 0);
        const char *p = (const char *)sqlite3_column_text(st, 1);
        uint64_t h[4];

        if (!z || !p)
            continue;
        line_hash(st, 2, LINE_COLS, h);
        if (add_line(g, &last, z, p, h) < 0) {
            s = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    return s;
}

struct cp_state_pre {
    pthread_t thread;
    char *path;
    struct groups g;
    int rc; /* SQLITE_DONE when g holds every line of values_sql */
};

/* The second thread: values_sql on a read-only connection of its own. */
static void *values_thread(void *arg)
{
    struct cp_state_pre *pre = arg;
    sqlite3 *db = NULL;

    pre->rc = sqlite3_open_v2(pre->path, &db, SQLITE_OPEN_READONLY, NULL);
    if (pre->rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        pre->rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    }
    if (pre->rc == SQLITE_OK)
        pre->rc = hash_lines(db, values_sql, &pre->g);
    sqlite3_close(db); /* also ends the read transaction */
    return NULL;
}

struct cp_state_pre *cp_state_values_start(sqlite3 *db)
{
    const char *path = sqlite3_db_filename(db, "main");
    struct cp_state_pre *pre;

    /* An in-memory or temporary database cannot be opened twice. */
    if (!path || !*path || !(pre = calloc(1, sizeof *pre)))
        return NULL;
    pre->rc = SQLITE_ERROR;
    if (!(pre->path = strdup(path)) || pthread_create(&pre->thread, NULL, values_thread, pre)) {
        free(pre->path);
        free(pre);
        return NULL;
    }
    return pre;
}

/* Waits for the thread; 1 when its lines are all there. */
static int values_join(struct cp_state_pre *pre)
{
    if (!pre)
        return 0;
    if (pre->path) {
        pthread_join(pre->thread, NULL);
        free(pre->path);
        pre->path = NULL;
    }
    return pre->rc == SQLITE_DONE;
}

void cp_state_pre_free(struct cp_state_pre *pre)
{
    if (!pre)
        return;
    values_join(pre);
    free(pre->g.v);
    free(pre);
}

int cp_state_update(sqlite3 *db, unsigned long *changed, struct cp_err *err)
{
    return cp_state_update_pre(db, NULL, changed, err);
}

int cp_state_update_pre(sqlite3 *db, struct cp_state_pre *pre, unsigned long *changed,
                        struct cp_err *err)
{
    sqlite3_stmt *ins = NULL;
    struct groups g = {NULL, 0, 0};
    int rc = -1, s;
    unsigned long n = 0;

    if (changed)
        *changed = 0;
    /* The thread's lines, or, when it could not read them, the same lines
     * here (the sums do not depend on the order of the lines). */
    if (values_join(pre)) {
        for (size_t i = 0; i < pre->g.cap; i++) {
            struct group *x;

            if (!pre->g.v[i].key[0])
                continue;
            if (!(x = group_get(&g, pre->g.v[i].key)))
                goto nomem;
            for (int k = 0; k < 4; k++)
                x->sum[k] += pre->g.v[i].sum[k];
            x->lines += pre->g.v[i].lines;
        }
        s = hash_lines(db, others_sql, &g);
    } else {
        s = hash_lines(db, lines_sql, &g);
    }
    if (s == SQLITE_NOMEM)
        goto nomem;
    if (s != SQLITE_DONE) {
        cp_db_fail(db, err, "empreintes de l'état consolidé");
        goto out;
    }
    if (cp_db_exec(db, "DROP TABLE IF EXISTS temp.cp_etat;"
                       "CREATE TEMP TABLE cp_etat(cle TEXT PRIMARY KEY, valeur TEXT)",
                   err) < 0 ||
        cp_db_prepare(db, "INSERT INTO cp_etat VALUES(?1, ?2)", &ins, err) < 0)
        goto out;
    for (size_t i = 0; i < g.cap; i++) {
        char buf[128], hex[CP_SHA256_HEX], key[48];
        int len;

        if (!g.v[i].key[0])
            continue;
        len = snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx:%llu",
                       (unsigned long long)g.v[i].sum[0], (unsigned long long)g.v[i].sum[1],
                       (unsigned long long)g.v[i].sum[2], (unsigned long long)g.v[i].sum[3],
                       (unsigned long long)g.v[i].lines);
        if (cp_sha256_buf(buf, (size_t)len, hex) < 0) {
            cp_err_set(err, CP_EX_SOFTWARE, "internal", NULL, "SHA-256 indisponible");
            goto out;
        }
        snprintf(key, sizeof key, "etat:%s", g.v[i].key);
        sqlite3_bind_text(ins, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, hex, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            cp_db_fail(db, err, "empreintes de l'état consolidé");
            goto out;
        }
        sqlite3_reset(ins);
    }
    if (cp_db_exec(db, "DELETE FROM meta WHERE cle LIKE 'etat:%'"
                       " AND cle NOT IN (SELECT cle FROM cp_etat)", err) < 0)
        goto out;
    n += (unsigned long)sqlite3_changes(db);
    if (cp_db_exec(db, "INSERT INTO meta(cle, valeur) SELECT cle, valeur FROM cp_etat e"
                       " WHERE true ON CONFLICT(cle) DO UPDATE SET valeur = excluded.valeur"
                       " WHERE meta.valeur IS NOT excluded.valeur", err) < 0)
        goto out;
    n += (unsigned long)sqlite3_changes(db);
    if (changed)
        *changed = n;
    rc = 0;
    goto out;
nomem:
    cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
out:
    free(g.v);
    sqlite3_finalize(ins);
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp.cp_etat", NULL, NULL, NULL);
    return rc;
}
