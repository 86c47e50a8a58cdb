/* The PDF and chart tests' fixture database and helpers (see rpdf_fixture.h). */
#include "rpdf_fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "common/db.h"

static const char *const periods[] = {"2021-S1", "2021-S2", "2022-S1", "2022-S2"};

static const struct {
    const char *code, *name;
} sig76[] = {
    {"09D", "Ariège"}, {"11D", "Aude"}, {"12D", "Aveyron"}, {"30D", "Gard"},
    {"31D", "Haute-Garonne"}, {"32D", "Gers"}, {"34D", "Hérault"}, {"46D", "Lot"},
    {"48D", "Lozère"}, {"65D", "Hautes-Pyrénées"}, {"66D", "Pyrénées-Orientales"},
    {"81D", "Tarn"}, {"82D", "Tarn-et-Garonne"},
};

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    cr_assert_eq(rc, SQLITE_OK, "fixture SQL failed: %s\n%s", msg ? msg : "?", sql);
    sqlite3_free(msg);
}

static void execf(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    char *sql;

    va_start(ap, fmt);
    sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    cr_assert_not_null(sql);
    exec(db, sql);
    sqlite3_free(sql);
}

static const char ref_sql[] =
    "INSERT INTO ref_region VALUES('11','Île-de-France'),('76','Occitanie'),"
    "  ('84','Auvergne-Rhône-Alpes');"
    "INSERT INTO ref_indicateur(code,libelle,axe,unite,nature,numerateur,denominateur,poids,"
    "  min,max,sens,annee_debut,annee_fin,annuel_seul,types,obligatoire,rang) VALUES"
    " ('ASE_MAJEURS','Jeunes de l''ASE devenus majeurs dans la période',"
    "   'Prévenir les sorties sèches de l''ASE','nb','flux',NULL,NULL,NULL,0,NULL,'neutre',"
    "   2019,2023,0,'D',1,0),"
    " ('ASE_ACCOMP','Jeunes majeurs accompagnés selon le référentiel (sans sortie sèche)',"
    "   'Prévenir les sorties sèches de l''ASE','nb','flux',NULL,NULL,NULL,0,NULL,'hausse',"
    "   2019,2023,0,'D',1,1),"
    " ('ASE_TX_ACCOMP','Part des jeunes majeurs accompagnés',"
    "   'Prévenir les sorties sèches de l''ASE','pct','ratio','ASE_ACCOMP','ASE_MAJEURS',NULL,"
    "   0,100,'hausse',2019,2023,0,'D',1,2),"
    " ('RSA_NOUV_ENTRANTS','Nouveaux entrants au RSA soumis aux droits et devoirs',"
    "   'Insertion des allocataires du RSA','nb','flux',NULL,NULL,NULL,0,NULL,'neutre',"
    "   2019,2023,0,'D',1,3),"
    " ('RSA_ORIENTES','Nouveaux entrants orientés','Insertion des allocataires du RSA','nb',"
    "   'flux',NULL,NULL,NULL,0,NULL,'hausse',2019,2023,0,'D',1,4),"
    " ('RSA_ORIENT_1M','Nouveaux entrants orientés en moins d''un mois',"
    "   'Insertion des allocataires du RSA','nb','flux',NULL,NULL,NULL,0,NULL,'hausse',"
    "   2019,2023,0,'D',1,5),"
    " ('RSA_TX_ORIENT_1M','Taux d''orientation en moins d''un mois',"
    "   'Insertion des allocataires du RSA','pct','ratio','RSA_ORIENT_1M','RSA_NOUV_ENTRANTS',"
    "   NULL,0,100,'hausse',2019,2023,0,'D',1,6),"
    " ('RSA_DELAI_ORIENT','Délai moyen d''orientation (jours)',"
    "   'Insertion des allocataires du RSA','jours','moyenne',NULL,NULL,'RSA_ORIENTES',0,730,"
    "   'baisse',2019,2023,0,'D',1,7),"
    " ('ASIP_LIEUX','Lieux de premier accueil social inconditionnel de proximité',"
    "   'Travail social et accès aux droits','nb','stock',NULL,NULL,NULL,0,NULL,'hausse',"
    "   2019,2023,0,'D,M',1,8),"
    " ('MARAUDES_FAMILLES','Familles avec enfants rencontrées en maraude mixte',"
    "   'Maraudes mixtes','nb','flux',NULL,NULL,NULL,0,NULL,'neutre',2019,2022,0,'D,M',0,9),"
    " ('FIN_BUDGET','Budget total de la convention (euros)','Finances','eur','flux',NULL,NULL,"
    "   NULL,0,NULL,'neutre',2019,2027,1,'D,M,R',1,10);"
    "INSERT INTO ref_signataire VALUES"
    " ('M31','Toulouse Métropole','M','31','76',NULL,NULL),"
    " ('R76','Région Occitanie','R','','76',NULL,NULL),"
    " ('75D','Paris','D','75','11',NULL,NULL),"
    " ('93D','Seine-Saint-Denis','D','93','11',NULL,NULL),"
    " ('01D','Ain','D','01','84',NULL,NULL);";

/* Inserts one value of the file fid and makes it current. */
static void value(sqlite3 *db, long long fid, const char *sig, const char *per, const char *ind,
                  double v, double target, const char *missing, const char *comment, int row)
{
    char cell[32], vs[64] = "NULL", ts[64] = "NULL";

    snprintf(cell, sizeof cell, "L%dC4", row);
    if (!isnan(v))
        snprintf(vs, sizeof vs, "%.17g", v);
    if (!isnan(target))
        snprintf(ts, sizeof ts, "%.17g", target);
    execf(db,
          "INSERT INTO valeur(fichier_id,signataire,periode,indicateur,valeur,manquant,cible,"
          " commentaire,brut,emplacement) VALUES(%lld,%Q,%Q,%Q,%s,%Q,%s,%Q,NULL,%Q);"
          "INSERT OR REPLACE INTO courant VALUES(%Q,%Q,%Q,last_insert_rowid(),'r');",
          fid, sig, per, ind, vs, missing, ts, comment, cell, sig, per, ind);
}

static long long file(sqlite3 *db, const char *name, const char *received, const char *status,
                      int k)
{
    char hash[65];

    for (int i = 0; i < 64; i++)
        hash[i] = "0123456789abcdef"[(k * 7 + i * 3 + (int)strlen(name)) % 16];
    hash[64] = '\0';
    execf(db,
          "INSERT INTO fichier(nom,chemin,empreinte,taille,recu_le,source_date,format,statut,"
          " ingere_le) VALUES(%Q,%Q,%Q,1234,%Q,'reception.csv','csv',%Q,'2023-01-01T00:00:00')",
          name, name, hash, received, status);
    return sqlite3_last_insert_rowid(db);
}

/* The values of one signatory (index k, for the formulas) for one period. */
static void signatory_values(sqlite3 *db, const char *code, int k, int p, const char *fname,
                             const char *received, const char *evil)
{
    const char *per = periods[p];
    long long fid = file(db, fname, received, "accepte", k * 10 + p);
    double nouv = 1200 + 173 * k + 41 * p;
    double orient = round(nouv * 0.85);
    double o1m = round(nouv * (0.45 + 0.01 * k + 0.005 * p));
    double tx = round(1000 * o1m / nouv) / 10;
    double maj = 150 + 20 * k + 3 * p;
    double acc = round(maj * (0.6 + 0.02 * k));

    if (strcmp(code, "34D") == 0 && p == 2)
        tx = 112; /* out of bounds: BORNES, excluded */
    value(db, fid, code, per, "ASE_MAJEURS", maj, NAN, NULL, NULL, 2);
    value(db, fid, code, per, "ASE_ACCOMP", acc, NAN, NULL, NULL, 3);
    value(db, fid, code, per, "ASE_TX_ACCOMP", round(1000 * acc / maj) / 10, 70, NULL, NULL, 4);
    value(db, fid, code, per, "RSA_NOUV_ENTRANTS", nouv, k % 4 == 0 ? nouv * 1.05 : NAN, NULL,
          NULL, 5);
    value(db, fid, code, per, "RSA_ORIENTES", orient, NAN, NULL, NULL, 6);
    value(db, fid, code, per, "RSA_ORIENT_1M", o1m, NAN, NULL, NULL, 7);
    value(db, fid, code, per, "RSA_TX_ORIENT_1M", tx, k % 2 == 0 ? 50 + (k % 3) * 5 : NAN, NULL,
          k == 0 ? (evil ? evil : "Hausse due à la nouvelle plateforme") : NULL, 8);
    if (strcmp(code, "46D") == 0)
        value(db, fid, code, per, "RSA_DELAI_ORIENT", NAN, NAN, "NC", NULL, 9);
    else
        value(db, fid, code, per, "RSA_DELAI_ORIENT", 40 + 3 * k + p, 35, NULL, NULL, 9);
    value(db, fid, code, per, "ASIP_LIEUX", 20 + k, NAN, NULL, NULL, 10);
    value(db, fid, code, per, "MARAUDES_FAMILLES", 30 + 2 * k, NAN, NULL, NULL, 11);
}

/* A finding on values of the current files, with an optional explanation. */
static void finding(sqlite3 *db, const char *rule, const char *sev, const char *sig,
                    const char *per, const char *inds, const char *vals, const char *msg,
                    const char *expl)
{
    execf(db,
          "INSERT INTO constat(regle,gravite,signataire,periode,indicateurs,valeurs,message,cle)"
          " VALUES(%Q,%Q,%Q,%Q,%Q,%Q,%Q,%Q||'|'||%Q||'|'||%Q||'|'||%Q)",
          rule, sev, sig, per, inds, vals, msg, rule, sig, per, inds);
    execf(db,
          "INSERT INTO constat_valeur SELECT last_insert_rowid(), row_number() OVER (), "
          " c.signataire, c.periode, c.indicateur, v.valeur, v.id FROM courant c"
          " JOIN valeur v ON v.id = c.valeur_id WHERE c.signataire = %Q AND c.periode = %Q"
          " AND instr(',' || %Q || ',', ',' || c.indicateur || ',') > 0",
          sig, per, inds);
    if (expl)
        execf(db,
              "INSERT INTO explication(cle,valeurs,justification,auteur,cree_le)"
              " VALUES(%Q||'|'||%Q||'|'||%Q||'|'||%Q,%Q,%Q,'commissaire','2022-09-01T10:00:00')",
              rule, sig, per, inds, vals, expl);
}

/* Aggregates by région and nation, as aggregation.md says (the fixture's
 * own small consolidate). */
static const char agg_sql[] =
    "CREATE TEMP VIEW fx_v AS SELECT c.signataire, c.periode, c.indicateur, v.valeur,"
    "  s.region, s.type FROM courant c JOIN valeur v ON v.id = c.valeur_id"
    "  JOIN ref_signataire s ON s.code = c.signataire WHERE v.valeur IS NOT NULL"
    "  AND NOT EXISTS (SELECT 1 FROM exclusion e WHERE e.signataire = c.signataire"
    "    AND e.periode = c.periode AND e.indicateur = c.indicateur);"
    "CREATE TEMP VIEW fx_all AS"
    " SELECT v.region zone, v.type groupe, v.periode, v.indicateur, sum(v.valeur) valeur,"
    "   NULL num, NULL den, count(*) couverts FROM fx_v v"
    "   JOIN ref_indicateur i ON i.code = v.indicateur WHERE i.nature IN ('flux','stock')"
    "   GROUP BY 1, 2, 3, 4"
    " UNION ALL"
    " SELECT n.region, n.type, n.periode, i.code, 100.0 * sum(n.valeur) / sum(d.valeur),"
    "   sum(n.valeur), sum(d.valeur), count(*) FROM ref_indicateur i"
    "   JOIN fx_v n ON n.indicateur = i.numerateur"
    "   JOIN fx_v d ON d.indicateur = i.denominateur AND d.signataire = n.signataire"
    "     AND d.periode = n.periode WHERE i.nature = 'ratio' GROUP BY 1, 2, 3, 4"
    " UNION ALL"
    " SELECT m.region, m.type, m.periode, i.code, sum(m.valeur * w.valeur) / sum(w.valeur),"
    "   sum(m.valeur * w.valeur), sum(w.valeur), count(*) FROM ref_indicateur i"
    "   JOIN fx_v m ON m.indicateur = i.code"
    "   JOIN fx_v w ON w.indicateur = i.poids AND w.signataire = m.signataire"
    "     AND w.periode = m.periode WHERE i.nature = 'moyenne' GROUP BY 1, 2, 3, 4;"
    "INSERT INTO agregat(niveau,zone,groupe,periode,indicateur,valeur,numerateur,denominateur,"
    "  couverts,attendus,part_couverte,partiel,derive)"
    " SELECT 'region', a.zone, a.groupe, a.periode, a.indicateur, a.valeur, a.num, a.den,"
    "  a.couverts, e.n, NULL, a.couverts < e.n, 0 FROM fx_all a"
    "  JOIN (SELECT region, type, count(*) n FROM ref_signataire GROUP BY 1, 2) e"
    "    ON e.region = a.zone AND e.type = a.groupe;"
    "INSERT INTO agregat(niveau,zone,groupe,periode,indicateur,valeur,numerateur,denominateur,"
    "  couverts,attendus,part_couverte,partiel,derive)"
    " SELECT 'national', 'FR', a.groupe, a.periode, a.indicateur,"
    "  CASE WHEN i.nature = 'ratio' THEN 100.0 * sum(a.num) / sum(a.den)"
    "       WHEN i.nature = 'moyenne' THEN sum(a.num) / sum(a.den) ELSE sum(a.valeur) END,"
    "  sum(a.num), sum(a.den), sum(a.couverts), e.n, NULL, sum(a.couverts) < e.n, 0"
    "  FROM fx_all a JOIN ref_indicateur i ON i.code = a.indicateur"
    "  JOIN (SELECT type, count(*) n FROM ref_signataire GROUP BY 1) e ON e.type = a.groupe"
    "  GROUP BY a.groupe, a.periode, a.indicateur;"
    "INSERT INTO contribution(niveau,zone,groupe,periode,indicateur,signataire,valeur)"
    " SELECT 'region', region, type, periode, indicateur, signataire, valeur FROM fx_v"
    " UNION ALL SELECT 'national', 'FR', type, periode, indicateur, signataire, valeur"
    " FROM fx_v;";

void rf_setup(struct rf *f, const char *evil, int national)
{
    struct cp_err err;
    char name[512];

    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/calpae-rpdf-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    snprintf(f->db_path, sizeof f->db_path, "%s/calpae.db", f->dir);
    cr_assert_eq(cp_db_open(&f->db, f->db_path, 0, &err), 0, "%s", err.msg);
    exec(f->db, "BEGIN");
    exec(f->db, ref_sql);
    for (size_t k = 0; k < sizeof sig76 / sizeof sig76[0]; k++)
        execf(f->db, "INSERT INTO ref_signataire VALUES(%Q,%Q,'D',substr(%Q,1,2),'76',NULL,NULL)",
              sig76[k].code, k == 0 && evil ? evil : sig76[k].name, sig76[k].code);
    if (evil)
        execf(f->db, "UPDATE ref_indicateur SET libelle = libelle || ' ' || %Q"
                     " WHERE code = 'RSA_TX_ORIENT_1M'", evil);

    for (int p = 0; p < 4; p++) {
        char received[64];
        /* S1 files arrive in August, S2 files in February of the next year. */
        snprintf(received, sizeof received, "%d-%s-1%dT09:30:00", 2021 + p / 2 + (p % 2),
                 p % 2 ? "02" : "08", p);
        for (size_t k = 0; k < sizeof sig76 / sizeof sig76[0]; k++) {
            if (strcmp(sig76[k].code, "48D") == 0 && p == 2)
                continue; /* Lozère sent nothing for 2022-S1: coverage 12/13 */
            snprintf(name, sizeof name, "20220815-0930_export_%s_%s%s.csv", sig76[k].code,
                     periods[p], k == 0 && evil && p == 2 ? evil : "");
            signatory_values(f->db, sig76[k].code, (int)k, p, name, received, evil);
        }
        snprintf(name, sizeof name, "metropole_toulouse_%s.xlsx", periods[p]);
        {
            long long fid = file(f->db, name, received, "accepte", 90 + p);
            value(f->db, fid, "M31", periods[p], "ASIP_LIEUX", 35 + p, NAN, NULL, NULL, 2);
            value(f->db, fid, "M31", periods[p], "MARAUDES_FAMILLES", 80 + p, 90, NULL, NULL,
                  3);
        }
        snprintf(name, sizeof name, "Paris_%s.csv", periods[p]);
        signatory_values(f->db, "75D", 20, p, name, received, NULL);
        snprintf(name, sizeof name, "SSD_%s.csv", periods[p]);
        signatory_values(f->db, "93D", 21, p, name, received, NULL);
    }
    /* The findings of 2022-S1. */
    exec(f->db, "INSERT INTO exclusion VALUES('34D','2022-S1','RSA_TX_ORIENT_1M',1)");
    finding(f->db, "BORNES", "bloquant", "34D", "2022-S1", "RSA_TX_ORIENT_1M", "112",
            "Le taux d'orientation en moins d'un mois (112 %) dépasse 100 % : corrigez la "
            "valeur.", NULL);
    finding(f->db, "DELAI", "avertissement", "81D", "2022-S1",
            "RSA_TX_ORIENT_1M,RSA_DELAI_ORIENT", "59.5|74",
            evil ? evil : "Délai moyen de 74 jours incohérent avec un taux d'orientation élevé.",
            evil ? evil : "Nouvelle plateforme d'orientation ouverte en mars.");
    finding(f->db, "CIBLE", "info", "09D", "2022-S1", "RSA_TX_ORIENT_1M", "46",
            "Taux d'orientation en dessous de 80 % de la cible.", NULL);
    finding(f->db, "EVOLUTION", "avertissement", "31D", "2022-S1", "ASE_MAJEURS", "316",
            RF_LONG_MESSAGE, NULL);
    /* A rejected value and a rejected file of 09D. */
    {
        long long fid = file(f->db, "CD09_2022S1_v1.csv", "2022-08-01T08:00:00", "rejete", 99);
        execf(f->db,
              "INSERT INTO rejet(fichier_id,emplacement,code,brut,message,signataire,periode,"
              " indicateur) VALUES(%lld,'byte 146','bad_encoding',NULL,"
              " 'octet 0x8F invalide en UTF-8 et non défini en Windows-1252 (offset 146)',"
              " '09D','2022-S1',NULL)",
              fid);
        execf(f->db,
              "INSERT INTO rejet(fichier_id,emplacement,code,brut,message,signataire,periode,"
              " indicateur) SELECT fichier_id,'L14C4','not_a_number','douze',"
              " 'texte au lieu d''un nombre','09D','2022-S1','ASE_ACCOMP' FROM valeur"
              " WHERE signataire = '09D' AND periode = '2022-S1' LIMIT 1");
    }
    /* An older consolidated file of the région: values of several
     * signatories (superseded, not current), a rejection naming 11D and
     * one naming nobody. */
    {
        long long fid = file(f->db, "region76_consolidation_2022S1.csv", "2022-08-01T07:00:00",
                             "accepte_partiel", 98);
        execf(f->db,
              "INSERT INTO valeur(fichier_id,signataire,periode,indicateur,valeur,emplacement)"
              " VALUES(%lld,'11D','2022-S1','ASE_MAJEURS',170,'L2C4'),"
              " (%lld,'12D','2022-S1','ASE_MAJEURS',190,'L3C4'),"
              " (%lld,'30D','2022-S1','ASE_MAJEURS',210,'L4C4');"
              "INSERT INTO rejet(fichier_id,emplacement,code,brut,message,signataire,periode,"
              " indicateur) VALUES(%lld,'L5C4','not_a_number','n.c. voir note',"
              " 'texte au lieu d''un nombre','11D','2022-S1','ASE_ACCOMP'),"
              " (%lld,'L12C1','unknown_signatory','Pyrénées Orient.',"
              " 'nom inconnu ; le plus proche : Pyrénées-Orientales (66D)',NULL,NULL,NULL);",
              fid, fid, fid, fid, fid);
    }
    /* An unreadable file, sent after 12D's good one: no signatory, no period
     * recorded; its name says CD12 and 2022S1. */
    {
        long long fid = file(f->db, "20220820-101010_CD12_2022S1.csv", "2022-08-20T10:10:10",
                             "rejete", 97);
        execf(f->db,
              "INSERT INTO rejet(fichier_id,emplacement,code,brut,message) VALUES(%lld,"
              " 'byte 88','bad_encoding',NULL,"
              " 'octet 0x81 invalide en UTF-8 et non défini en Windows-1252 (offset 88)')",
              fid);
    }
    exec(f->db, agg_sql);
    exec(f->db, "COMMIT");

    snprintf(f->out, sizeof f->out, "%s/reports/%s/2022-S1", f->dir,
             national ? "national" : "76");
    f->job.db = f->db;
    f->job.zone = national ? "FR" : "76";
    f->job.zone_name = national ? "France" : "Occitanie";
    f->job.period = "2022-S1";
    f->job.national = national;
    f->job.dir = f->out;
    f->job.data_date = "2022-08-12T09:30:00";
    f->job.generated = "2022-09-02T06:00:00";
}

void rf_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    struct stat sb;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            rf_rmtree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void rf_teardown(struct rf *f)
{
    struct cp_err err;

    if (f->db)
        cp_db_close(f->db, &err);
    f->db = NULL;
    if (!getenv("CALPAE_KEEP_TEST_FILES"))
        rf_rmtree(f->dir);
}

char *rf_slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(fp);
    return buf;
}

char *rf_pdftotext(const char *pdf, int raw)
{
    char out[1100];
    pid_t pid;
    int status;

    snprintf(out, sizeof out, "%s.txt", pdf);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execlp("pdftotext", "pdftotext", raw ? "-raw" : "-layout", "-enc", "UTF-8", pdf, out,
               (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return NULL;
    {
        char *text = rf_slurp(out);
        unlink(out);
        return text;
    }
}

/* Skips white space, including U+00A0 and U+202F; returns bytes skipped. */
static size_t space_len(const char *p)
{
    if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == '\f')
        return 1;
    if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0)
        return 2;
    if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0xAF)
        return 3;
    return 0;
}

static char *squeeze(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;

    for (const char *p = s; *p;) {
        size_t n = space_len(p);
        if (n)
            p += n;
        else
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

int rf_has(const char *text, const char *needle)
{
    char *a = squeeze(text), *b = squeeze(needle);
    int found = strstr(a, b) != NULL;

    free(a);
    free(b);
    return found;
}

char *rf_pdfspaces(char *s)
{
    char *o = s;

    for (char *p = s; *p;) {
        if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0) {
            *o++ = ' ';
            p += 2;
        } else if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
                   (unsigned char)p[2] == 0xAF) {
            *o++ = ' ';
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return s;
}

int rf_pages(const char *text)
{
    return rf_count(text, "\f");
}

int rf_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);

    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

int rf_starts_with(const char *path, const char *magic, size_t n)
{
    char buf[64];
    FILE *fp = fopen(path, "rb");
    size_t r;

    if (!fp)
        return 0;
    r = fread(buf, 1, n < sizeof buf ? n : sizeof buf, fp);
    fclose(fp);
    return r == n && memcmp(buf, magic, n) == 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rf_png_valid(const char *path, int *w, int *h)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *d = NULL, *out = NULL;
    long n;
    size_t i = 8, rawlen;
    z_stream z;
    int ok = 0, seen_end = 0;

    if (!fp)
        return 0;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    d = malloc((size_t)n);
    if (!d || fread(d, 1, (size_t)n, fp) != (size_t)n || n < 33 ||
        memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0)
        goto out;
    *w = (int)be32(d + 16);
    *h = (int)be32(d + 20);
    if (d[24] != 8 || d[25] != 2)
        goto out; /* 8-bit RGB */
    rawlen = (size_t)*h * (1 + 3 * (size_t)*w);
    out = malloc(rawlen + 1);
    memset(&z, 0, sizeof z);
    if (!out || inflateInit(&z) != Z_OK)
        goto out;
    z.next_out = out;
    z.avail_out = (uInt)rawlen + 1;
    while (i + 12 <= (size_t)n) {
        uint32_t len = be32(d + i);
        if (i + 12 + len > (size_t)n ||
            crc32(0L, d + i + 4, len + 4) != be32(d + i + 8 + len))
            break;
        if (memcmp(d + i + 4, "IDAT", 4) == 0) {
            z.next_in = d + i + 8;
            z.avail_in = len;
            if (inflate(&z, Z_NO_FLUSH) < 0)
                break;
        }
        if (memcmp(d + i + 4, "IEND", 4) == 0)
            seen_end = 1;
        i += 12 + len;
    }
    ok = seen_end && i == (size_t)n && z.total_out == rawlen;
    inflateEnd(&z);
out:
    free(d);
    free(out);
    fclose(fp);
    return ok;
}
