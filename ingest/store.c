/*
 * Database writes for one submission (see store.h). Values are inserted as
 * they come; a small map keyed by (signatory, period, indicator) spots
 * conflicting repeats. The key space is bounded by the reference data, not
 * by the file size, so memory stays bounded.
 */
#include "ingest/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/db.h"
#include "common/ref.h"

/* One key of the file, in order of first appearance: what a repeat is
 * compared with, kept small (32 bytes). */
struct slot {
    uint64_t key;
    sqlite3_int64 id;   /* valeur row of the first occurrence */
    double value;
    unsigned char has_value;
    unsigned char missing;
    unsigned char conflicted;
};

/* What only a conflict needs, beside the slot of the same number. */
struct slot_text {
    char where[48];     /* location of the first occurrence */
    char raw[48];
};

enum {
    ST_INS_FILE, ST_DESCRIBE, ST_INS_VALUE, ST_INS_REJECT, ST_DEL_VALUE, ST_DEL_FILE_DATA,
    ST_DEL_FILE_REJ, ST_UPSERT, ST_FINISH, ST_KNOWN, ST_KNOWN_NAME, ST_INS_DUP, ST_COUNT
};

static const char *const sql[ST_COUNT] = {
    [ST_INS_FILE] =
        "INSERT INTO fichier(nom, chemin, empreinte, taille, recu_le, source_date, format,"
        " niveau, statut, ingere_le) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'rejete',?9)",
    [ST_DESCRIBE] =
        "UPDATE fichier SET encodage = coalesce(?2, encodage), separateur = coalesce(?3,"
        " separateur), forme = coalesce(?4, forme), feuille = coalesce(?5, feuille)"
        " WHERE id = ?1",
    [ST_INS_VALUE] =
        "INSERT INTO valeur(fichier_id, signataire, periode, indicateur, valeur, manquant,"
        " cible, commentaire, brut, emplacement) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [ST_INS_REJECT] =
        "INSERT INTO rejet(fichier_id, emplacement, code, brut, message, signataire,"
        " periode, indicateur) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    [ST_DEL_VALUE] = "DELETE FROM valeur WHERE id = ?1",
    [ST_DEL_FILE_DATA] = "DELETE FROM valeur WHERE fichier_id = ?1",
    [ST_DEL_FILE_REJ] = "DELETE FROM rejet WHERE fichier_id = ?1",
    [ST_UPSERT] =
        "INSERT INTO courant(signataire, periode, indicateur, valeur_id, rang)"
        " SELECT signataire, periode, indicateur, id, ?2 FROM valeur WHERE fichier_id = ?1"
        " AND 1 ON CONFLICT(signataire, periode, indicateur) DO UPDATE SET"
        " valeur_id = excluded.valeur_id, rang = excluded.rang"
        " WHERE excluded.rang > courant.rang",
    [ST_FINISH] =
        "UPDATE fichier SET statut = ?2, motif = ?3, nb_valeurs = ?4, nb_rejets = ?5"
        " WHERE id = ?1",
    [ST_KNOWN] =
        "SELECT id, nom, recu_le FROM fichier WHERE empreinte = ?1 AND statut != 'doublon'"
        " ORDER BY id LIMIT 1",
    [ST_KNOWN_NAME] = "SELECT 1 FROM fichier WHERE empreinte = ?1 AND nom = ?2",
    [ST_INS_DUP] =
        "INSERT INTO fichier(nom, chemin, empreinte, taille, recu_le, source_date, format,"
        " niveau, statut, doublon_de, motif, ingere_le)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'doublon',?9,?10,?11)",
};

struct cp_store {
    sqlite3 *db;
    const struct cp_ref *ref;
    sqlite3_stmt *st[ST_COUNT];
    sqlite3_int64 file_id;
    char rank[128];          /* recu_le|nom */
    char now[20];
    unsigned long values, rejects;
    int failed;              /* a callback met a database error */
    struct cp_err cb_err;
    /* The keys: slots in order of first appearance, and a hash index of
     * them (slot number + 1, 0 = empty; open addressing). */
    struct slot *map;
    struct slot_text *maptext;
    size_t mapused, mapcap;  /* slots used, allocated */
    uint32_t *index;
    size_t indexcap;         /* a power of two */
    size_t last;             /* slot of the previous value, (size_t)-1 at first */
    struct cp_buf msg;
};

int cp_store_new(struct cp_store **out, sqlite3 *db, const struct cp_ref *ref,
                 struct cp_err *err)
{
    struct cp_store *s = calloc(1, sizeof *s);

    *out = NULL;
    if (!s)
        return cp_err_set(err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
    s->db = db;
    s->ref = ref;
    cp_buf_init(&s->msg, 4096);
    for (int i = 0; i < ST_COUNT; i++) {
        if (cp_db_prepare(db, sql[i], &s->st[i], err) < 0) {
            cp_store_free(s);
            return -1;
        }
    }
    *out = s;
    return 0;
}

void cp_store_free(struct cp_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    free(s->map);
    free(s->maptext);
    free(s->index);
    cp_buf_release(&s->msg);
    free(s);
}

const struct cp_err *cp_store_error(const struct cp_store *s)
{
    return &s->cb_err;
}

/* Runs a write statement and resets it. */
static int run(struct cp_store *s, sqlite3_stmt *st, struct cp_err *err, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return cp_db_fail(s->db, err, what);
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* ---- the key map ---------------------------------------------------------- */

static uint64_t make_key(int sig, const struct cp_period *p, int ind)
{
    /* +1 everywhere so that no key is 0. */
    return ((uint64_t)(sig + 1) << 40) | ((uint64_t)(p->year * 3 + p->half + 1) << 16) |
           (uint64_t)(ind + 1);
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

#define NO_SLOT ((size_t)-1)

/*
 * The slot of key, or NO_SLOT. A long file that gives the same keys again
 * in the same order (history repeated) finds each one in the slot after the
 * previous one: a sequential read, no hashing and no cache miss.
 */
static size_t map_find(struct cp_store *s, uint64_t key)
{
    size_t next = s->last + 1, j;

    if (next < s->mapused && s->map[next].key == key)
        return s->last = next;
    if (s->last < s->mapused && s->map[s->last].key == key)
        return s->last;
    if (!s->indexcap)
        return NO_SLOT;
    for (j = mix(key) & (s->indexcap - 1); s->index[j]; j = (j + 1) & (s->indexcap - 1))
        if (s->map[s->index[j] - 1].key == key)
            return s->last = s->index[j] - 1;
    return NO_SLOT;
}

static void index_put(uint32_t *index, size_t cap, uint64_t key, size_t slot)
{
    size_t j;

    for (j = mix(key) & (cap - 1); index[j]; j = (j + 1) & (cap - 1))
        ;
    index[j] = (uint32_t)(slot + 1);
}

/* Room for one more key. 0, or -1 out of memory. */
static int map_reserve(struct cp_store *s)
{
    if (s->mapused == s->mapcap) {
        size_t ncap = s->mapcap ? s->mapcap * 2 : 1024;
        struct slot *n = realloc(s->map, ncap * sizeof *n);
        struct slot_text *nt;

        if (!n)
            return -1;
        s->map = n;
        nt = realloc(s->maptext, ncap * sizeof *nt);
        if (!nt)
            return -1;
        s->maptext = nt;
        s->mapcap = ncap;
    }
    if ((s->mapused + 1) * 4 > s->indexcap * 3) {
        size_t ncap = s->indexcap ? s->indexcap * 2 : 2048;
        uint32_t *n = calloc(ncap, sizeof *n);

        if (!n || ncap > UINT32_MAX) {
            free(n);
            return -1;
        }
        for (size_t i = 0; i < s->mapused; i++)
            index_put(n, ncap, s->map[i].key, i);
        free(s->index);
        s->index = n;
        s->indexcap = ncap;
    }
    return 0;
}

/* A new key, after map_reserve: its slot. */
static struct slot *map_add(struct cp_store *s, uint64_t key)
{
    size_t i = s->mapused++;

    index_put(s->index, s->indexcap, key, i);
    s->map[i].key = key;
    s->last = i;
    return &s->map[i];
}

static void map_clear(struct cp_store *s)
{
    if (s->index)
        memset(s->index, 0, s->indexcap * sizeof *s->index);
    s->mapused = 0;
    s->last = NO_SLOT;
}

/* ---- a file ------------------------------------------------------------------ */

int cp_store_begin(struct cp_store *s, const struct cp_file_meta *m, struct cp_err *err)
{
    sqlite3_stmt *st = s->st[ST_INS_FILE];

    cp_err_clear(&s->cb_err);
    s->failed = 0;
    s->values = 0;
    s->rejects = 0;
    map_clear(s);
    snprintf(s->rank, sizeof s->rank, "%s|%s", m->received, m->name);
    cp_db_now(s->now);
    if (cp_db_begin(s->db, err) < 0)
        return -1;
    bind_text(st, 1, m->name);
    bind_text(st, 2, m->path);
    bind_text(st, 3, m->sha256);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)m->size);
    bind_text(st, 5, m->received);
    bind_text(st, 6, m->date_source);
    bind_text(st, 7, m->format);
    bind_text(st, 8, m->level ? m->level : "signataire");
    bind_text(st, 9, s->now);
    if (run(s, st, err, "enregistrement du fichier") < 0) {
        cp_db_rollback(s->db);
        return -1;
    }
    s->file_id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int cp_store_describe(struct cp_store *s, const char *encoding, char separator,
                      const char *shape, const char *sheet, struct cp_err *err)
{
    sqlite3_stmt *st = s->st[ST_DESCRIBE];
    char sep[4] = {0};

    if (separator == '\t')
        strcpy(sep, "\\t");
    else if (separator)
        sep[0] = separator;
    sqlite3_bind_int64(st, 1, s->file_id);
    bind_text(st, 2, encoding && *encoding ? encoding : NULL);
    bind_text(st, 3, sep[0] ? sep : NULL);
    bind_text(st, 4, shape && *shape ? shape : NULL);
    bind_text(st, 5, sheet);
    return run(s, st, err, "description du fichier");
}

static int insert_reject(struct cp_store *s, const char *where, const char *code,
                         const char *raw, const char *message, int sig,
                         const struct cp_period *per, int ind)
{
    sqlite3_stmt *st = s->st[ST_INS_REJECT];
    char ps[CP_PERIOD_STRLEN];

    sqlite3_bind_int64(st, 1, s->file_id);
    bind_text(st, 2, where ? where : "");
    bind_text(st, 3, code);
    bind_text(st, 4, raw);
    bind_text(st, 5, message);
    bind_text(st, 6, sig >= 0 ? s->ref->sig[sig].code : NULL);
    if (per) {
        cp_period_str(per, ps);
        bind_text(st, 7, ps);
    }
    bind_text(st, 8, ind >= 0 ? s->ref->ind[ind].code : NULL);
    if (run(s, st, &s->cb_err, "enregistrement d'un rejet") < 0) {
        s->failed = 1;
        return -1;
    }
    s->rejects++;
    return 0;
}

static int on_reject(void *ctx, const struct cp_rej *r)
{
    struct cp_store *s = ctx;

    return insert_reject(s, r->where, r->code, r->raw, r->message, r->sig, r->period, r->ind);
}

static void fmt_value(char *out, size_t n, int has_value, double v, const char *raw)
{
    if (raw && *raw)
        snprintf(out, n, "%s", raw);
    else if (has_value)
        snprintf(out, n, "%.15g", v);
    else
        snprintf(out, n, "NC");
}

/* Two different values for one key in one file: reject both. */
static int conflict(struct cp_store *s, struct slot *sl, const struct slot_text *tx,
                    const struct cp_obs *o)
{
    const struct cp_indicator *d = &s->ref->ind[o->ind];
    const struct cp_signatory *g = &s->ref->sig[o->sig];
    char ps[CP_PERIOD_STRLEN], a[64], b[64], where[CP_ERR_WHERE_MAX];
    sqlite3_stmt *del = s->st[ST_DEL_VALUE];

    cp_obs_where(o, where);
    cp_period_str(&o->period, ps);
    fmt_value(a, sizeof a, sl->has_value, sl->value, tx->raw);
    fmt_value(b, sizeof b, o->has_value, o->value, o->raw);
    cp_buf_reset(&s->msg);
    cp_buf_addf(&s->msg,
                "deux valeurs différentes pour %s, %s (%s), %s dans le même fichier "
                "(%s : « %s » ; %s : « %s ») : aucune des deux n'est retenue ; gardez une "
                "seule ligne avec la bonne valeur",
                d->code, g->code, g->name, ps, tx->where, a, where, b);
    if (!sl->conflicted) {
        sqlite3_bind_int64(del, 1, sl->id);
        if (run(s, del, &s->cb_err, "retrait d'une valeur en double") < 0) {
            s->failed = 1;
            return -1;
        }
        s->values--;
        sl->conflicted = 1;
        if (insert_reject(s, tx->where, "doublon", a, cp_buf_str(&s->msg), o->sig, &o->period,
                          o->ind) < 0)
            return -1;
    }
    return insert_reject(s, where, "doublon", b, cp_buf_str(&s->msg), o->sig, &o->period,
                         o->ind);
}

static int on_value(void *ctx, const struct cp_obs *o)
{
    struct cp_store *s = ctx;
    sqlite3_stmt *st = s->st[ST_INS_VALUE];
    uint64_t key = make_key(o->sig, &o->period, o->ind);
    size_t j = map_find(s, key);
    struct slot *sl;
    char ps[CP_PERIOD_STRLEN], where[CP_ERR_WHERE_MAX];

    if (j != NO_SLOT) {
        int same;

        sl = &s->map[j];
        same = sl->has_value == (o->has_value != 0) &&
               (o->has_value ? sl->value == o->value : sl->missing == (int)o->missing);

        if (same && !sl->conflicted)
            return 0; /* the same figure twice: kept once */
        return conflict(s, sl, &s->maptext[j], o);
    }
    if (map_reserve(s) < 0) {
        s->failed = 1;
        cp_err_set(&s->cb_err, CP_EX_SOFTWARE, "memory", NULL, "mémoire insuffisante");
        return -1;
    }

    cp_obs_where(o, where);
    cp_period_str(&o->period, ps);
    sqlite3_bind_int64(st, 1, s->file_id);
    sqlite3_bind_text(st, 2, s->ref->sig[o->sig].code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ps, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, s->ref->ind[o->ind].code, -1, SQLITE_STATIC);
    if (o->has_value)
        sqlite3_bind_double(st, 5, o->value);
    bind_text(st, 6, o->has_value ? NULL : cp_missing_code(o->missing));
    if (o->has_target)
        sqlite3_bind_double(st, 7, o->target);
    bind_text(st, 8, o->comment);
    bind_text(st, 9, o->raw);
    bind_text(st, 10, where);
    if (run(s, st, &s->cb_err, "enregistrement d'une valeur") < 0) {
        s->failed = 1;
        return -1;
    }
    sl = map_add(s, key);
    j = s->last;
    sl->id = sqlite3_last_insert_rowid(s->db);
    sl->value = o->value;
    sl->has_value = o->has_value != 0;
    sl->missing = (unsigned char)o->missing;
    sl->conflicted = 0;
    snprintf(s->maptext[j].where, sizeof s->maptext[j].where, "%.*s",
             (int)sizeof s->maptext[j].where - 1, where);
    snprintf(s->maptext[j].raw, sizeof s->maptext[j].raw, "%s", o->raw ? o->raw : "");
    s->values++;
    return 0;
}

struct cp_table_out cp_store_table_out(struct cp_store *s)
{
    struct cp_table_out out = {s, on_value, on_reject};
    return out;
}

int cp_store_reject_file(struct cp_store *s, const struct cp_err *why, struct cp_err *err)
{
    sqlite3_stmt *st;

    /* What the file gave before failing is dropped: the file is rejected whole. */
    st = s->st[ST_DEL_FILE_DATA];
    sqlite3_bind_int64(st, 1, s->file_id);
    if (run(s, st, err, "retrait des valeurs d'un fichier rejeté") < 0)
        return -1;
    st = s->st[ST_DEL_FILE_REJ];
    sqlite3_bind_int64(st, 1, s->file_id);
    if (run(s, st, err, "retrait des rejets d'un fichier rejeté") < 0)
        return -1;
    s->values = 0;
    s->rejects = 0;
    map_clear(s);
    s->failed = 0;
    if (insert_reject(s, why->where, why->code[0] ? why->code : "unreadable", NULL, why->msg,
                      -1, NULL, -1) < 0) {
        *err = s->cb_err;
        return -1;
    }
    return 0;
}

int cp_store_commit(struct cp_store *s, struct cp_file_result *res, struct cp_err *err)
{
    sqlite3_stmt *st;
    const char *status, *why = NULL;

    if (s->failed) {
        *err = s->cb_err;
        cp_store_abort(s);
        return -1;
    }
    if (s->values == 0) {
        status = "rejete";
        if (s->rejects == 0)
            why = "aucune valeur dans le fichier";
        else
            why = "aucune valeur retenue : toutes les lignes ont été rejetées";
    } else {
        status = s->rejects ? "accepte_partiel" : "accepte";
        st = s->st[ST_UPSERT];
        sqlite3_bind_int64(st, 1, s->file_id);
        sqlite3_bind_text(st, 2, s->rank, -1, SQLITE_STATIC);
        if (run(s, st, err, "mise à jour des valeurs en vigueur") < 0)
            goto fail;
    }
    st = s->st[ST_FINISH];
    sqlite3_bind_int64(st, 1, s->file_id);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    bind_text(st, 3, why);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)s->values);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)s->rejects);
    if (run(s, st, err, "statut du fichier") < 0)
        goto fail;
    if (cp_db_commit(s->db, err) < 0)
        goto fail;
    if (res) {
        res->status = status;
        res->values = s->values;
        res->rejects = s->rejects;
    }
    return 0;
fail:
    cp_store_abort(s);
    return -1;
}

long long cp_store_file_id(const struct cp_store *s)
{
    return (long long)s->file_id;
}

void cp_store_add_values(struct cp_store *s, unsigned long n)
{
    s->values += n;
}

void cp_store_abort(struct cp_store *s)
{
    cp_db_rollback(s->db);
    map_clear(s);
}

int cp_store_known(struct cp_store *s, const struct cp_file_meta *m, char **known_name,
                   struct cp_err *err)
{
    sqlite3_stmt *st = s->st[ST_KNOWN_NAME];
    sqlite3_int64 first_id;
    char when[20] = "";
    int rc;

    *known_name = NULL;
    sqlite3_bind_text(st, 1, m->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW) {
        *known_name = strdup(m->name);
        return 1;
    }
    if (rc != SQLITE_DONE)
        return cp_db_fail(s->db, err, "recherche d'un fichier déjà lu");

    st = s->st[ST_KNOWN];
    sqlite3_bind_text(st, 1, m->sha256, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return rc == SQLITE_DONE ? 0 : cp_db_fail(s->db, err, "recherche d'un fichier déjà lu");
    }
    first_id = sqlite3_column_int64(st, 0);
    *known_name = strdup((const char *)sqlite3_column_text(st, 1));
    snprintf(when, sizeof when, "%s", (const char *)sqlite3_column_text(st, 2));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    cp_db_now(s->now);
    cp_buf_reset(&s->msg);
    cp_buf_addf(&s->msg,
                "mêmes octets que « %s » (reçu le %s) : ce fichier n'est pas compté une "
                "seconde fois",
                *known_name ? *known_name : "?", when);
    st = s->st[ST_INS_DUP];
    bind_text(st, 1, m->name);
    bind_text(st, 2, m->path);
    bind_text(st, 3, m->sha256);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)m->size);
    bind_text(st, 5, m->received);
    bind_text(st, 6, m->date_source);
    bind_text(st, 7, m->format);
    bind_text(st, 8, m->level ? m->level : "signataire");
    sqlite3_bind_int64(st, 9, first_id);
    bind_text(st, 10, cp_buf_str(&s->msg));
    bind_text(st, 11, s->now);
    /* In a transaction of its own: on this bulk connection, that is what
     * moves the generation of the data (cp_db_begin). */
    if (cp_db_begin(s->db, err) < 0)
        return -1;
    if (run(s, st, err, "enregistrement d'un doublon") < 0 || cp_db_commit(s->db, err) < 0) {
        cp_db_rollback(s->db);
        return -1;
    }
    return 2;
}
