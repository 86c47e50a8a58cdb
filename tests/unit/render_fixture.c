/* The render tests' database and XLSX helpers (see render_fixture.h). */
#include "render_fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "common/db.h"

static const char *const fixture_sql[] = {
    "INSERT INTO ref_region VALUES('76','Occitanie'),('84','Auvergne-Rhône-Alpes');",
    "INSERT INTO ref_signataire VALUES"
    " ('09D','Ariège','D','09','76',NULL,NULL),"
    " ('31D','Haute-Garonne','D','31','76',NULL,NULL),"
    " ('81D','Tarn','D','81','76',NULL,NULL),"
    " ('82D','Tarn-et-Garonne','D','82','76',NULL,NULL),"
    " ('M31','Toulouse Métropole','M','31','76',NULL,NULL),"
    " ('67D','Bas-Rhin','D','67','76',NULL,'2020-12-31'),"
    " ('01D','Ain','D','01','84',NULL,NULL);",
    "INSERT INTO ref_indicateur VALUES"
    " ('ASE_MAJEURS','Jeunes de l''ASE devenus majeurs dans la période',"
    "  'Prévenir les sorties sèches de l''ASE','nb','flux',NULL,NULL,NULL,0,NULL,'neutre',"
    "  2019,2021,0,'D',1,0),"
    " ('RSA_NOUV_ENTRANTS','Nouveaux entrants au RSA soumis aux droits et devoirs',"
    "  'Insertion des allocataires du RSA','nb','flux',NULL,NULL,NULL,0,NULL,'neutre',"
    "  2019,2023,0,'D',1,4),"
    " ('RSA_ORIENT_1M','Nouveaux entrants orientés en moins d''un mois',"
    "  'Insertion des allocataires du RSA','nb','flux',NULL,NULL,NULL,0,NULL,'hausse',"
    "  2019,2023,0,'D',1,6),"
    " ('RSA_TX_ORIENT_1M','Taux d''orientation en moins d''un mois',"
    "  'Insertion des allocataires du RSA','pct','ratio','RSA_ORIENT_1M','RSA_NOUV_ENTRANTS',"
    "  NULL,0,100,'hausse',2019,2023,0,'D',1,7),"
    " ('RSA_DELAI_ORIENT','Délai moyen d''orientation (jours)',"
    "  'Insertion des allocataires du RSA','jours','moyenne',NULL,NULL,'RSA_ORIENTES',0,730,"
    "  'baisse',2019,2023,0,'D',1,8),"
    " ('ASIP_TX_COUV','Taux de couverture du premier accueil social inconditionnel',"
    "  'Travail social et accès aux droits','pct','ratio','ASIP_POP_COUV','ASIP_POP_TOTALE',"
    "  NULL,0,100,'hausse',2019,2023,0,'D,M',1,17),"
    " ('FIN_BUDGET','Budget total de la convention (euros)','Finances','eur','flux',NULL,NULL,"
    "  NULL,0,NULL,'neutre',2019,2027,1,'D,M,R',1,27);",
    "INSERT INTO fichier(id, nom, chemin, empreinte, taille, recu_le, source_date, format,"
    " statut, nb_valeurs, nb_rejets, ingere_le) VALUES"
    " (1,'20220724-094558_Indicateurs Haute-Garonne - 2022S1.csv','x','e1',1,"
    "  '2022-07-24T09:45:58','mtime','csv','accepte',5,0,'2023-01-01T00:00:00'),"
    " (2,'20220715-055448_export_09D_2022S1.xlsx','x','e2',1,'2022-07-15T05:54:48','mtime',"
    "  'xlsx','accepte_partiel',4,2,'2023-01-01T00:00:00'),"
    " (3,'20220720-055138_CD81_2022S1.csv','x','e3',1,'2022-07-20T05:51:38','mtime','csv',"
    "  'rejete',0,1,'2023-01-01T00:00:00'),"
    " (4,'20220801-100000_M31_2022S1.ods','x','e4',1,'2022-08-01T10:00:00','mtime','ods',"
    "  'accepte',1,0,'2023-01-01T00:00:00'),"
    " (5,'20220802-100000_export_01D_2022S1.csv','x','e5',1,'2022-08-02T10:00:00','mtime',"
    "  'csv','accepte',1,0,'2023-01-01T00:00:00'),"
    " (6,'20210301-100000_export_09D_2021S1.csv','x','e6',1,'2021-03-01T10:00:00','mtime',"
    "  'csv','accepte_partiel',0,1,'2023-01-01T00:00:00');",
    "INSERT INTO valeur(id, fichier_id, signataire, periode, indicateur, valeur, manquant,"
    " cible, commentaire, brut, emplacement) VALUES"
    " (1,1,'31D','2022-S1','RSA_NOUV_ENTRANTS',1200,NULL,1300,NULL,'1 200','L4C3'),"
    " (2,1,'31D','2022-S1','RSA_ORIENT_1M',640,NULL,NULL,NULL,'640','L5C3'),"
    " (3,1,'31D','2022-S1','RSA_TX_ORIENT_1M',53.3,NULL,60,'=cmd|''/C calc''!A0','53,3 %',"
    "  'L6C3'),"
    " (4,1,'31D','2022-S1','RSA_DELAI_ORIENT',23.5,NULL,NULL,"
    "  '=HYPERLINK(\"http://evil.example\",\"clic\")','23,5','L7C3'),"
    " (5,2,'09D','2022-S1','RSA_NOUV_ENTRANTS',300,NULL,NULL,NULL,'300','Export!D12'),"
    " (6,2,'09D','2022-S1','RSA_ORIENT_1M',350,NULL,NULL,NULL,'350','Export!D13'),"
    " (7,2,'09D','2022-S1','RSA_DELAI_ORIENT',-12,NULL,NULL,'=1+1','-12','Export!D15'),"
    " (8,2,'09D','2022-S1','RSA_TX_ORIENT_1M',NULL,'NC',NULL,'+33 6 12 34 56 78','NC',"
    "  'Export!D14'),"
    " (9,4,'M31','2022-S1','ASIP_TX_COUV',87.5,NULL,NULL,'@SOMME(A1:A2)','87,5','Feuil1!C4'),"
    " (10,5,'01D','2022-S1','RSA_NOUV_ENTRANTS',999,NULL,NULL,'Ain secret','999','L4C3'),"
    " (11,1,'31D','2022-S1','ASIP_TX_COUV',91.2,NULL,NULL,'ligne 1; \"citée\"','91,2','L8C3');",
    "INSERT INTO courant SELECT v.signataire, v.periode, v.indicateur, v.id,"
    " f.recu_le || '|' || f.nom FROM valeur v JOIN fichier f ON f.id = v.fichier_id;",
    "INSERT INTO constat(id, regle, gravite, signataire, periode, indicateurs, valeurs,"
    " message, cle) VALUES"
    " (1,'PARTIE_TOUT','bloquant','09D','2022-S1','RSA_ORIENT_1M,RSA_NOUV_ENTRANTS','350|300',"
    "  'Nouveaux entrants orientés en moins d''un mois (350) supérieurs aux nouveaux entrants"
    " (300) : une partie ne peut dépasser le tout.','k1'),"
    " (2,'BORNES','bloquant','09D','2022-S1','RSA_DELAI_ORIENT','-12',"
    "  'Délai moyen d''orientation négatif (-12) : attendu entre 0 et 730 jours.','k2'),"
    " (3,'EVOLUTION','avertissement','31D','2022-S1','RSA_NOUV_ENTRANTS','1200|700',"
    "  'Nouveaux entrants en hausse de 71,4 % sur un an.','k3'),"
    " (4,'COMPLETUDE','avertissement','81D','2022-S1','RSA_NOUV_ENTRANTS','',"
    "  'Aucune donnée reçue de Tarn (81D) pour 2022-S1.','k4'),"
    " (5,'CIBLE','info','31D','2022-S1','RSA_TX_ORIENT_1M','53.3|60',"
    "  'Taux d''orientation à 88,8 % de sa cible.','k5'),"
    " (6,'BORNES','bloquant','01D','2022-S1','RSA_NOUV_ENTRANTS','999',"
    "  'Message de l''Ain, hors région.','k6');",
    "INSERT INTO constat_valeur VALUES"
    " (1,0,'09D','2022-S1','RSA_ORIENT_1M',350,6),(1,1,'09D','2022-S1','RSA_NOUV_ENTRANTS',300,5),"
    " (2,0,'09D','2022-S1','RSA_DELAI_ORIENT',-12,7),"
    " (3,0,'31D','2022-S1','RSA_NOUV_ENTRANTS',1200,1),(3,1,'31D','2021-S1','RSA_NOUV_ENTRANTS',700,NULL),"
    " (5,0,'31D','2022-S1','RSA_TX_ORIENT_1M',53.3,3),(6,0,'01D','2022-S1','RSA_NOUV_ENTRANTS',999,10);",
    "INSERT INTO explication(cle, valeurs, justification, cree_le) VALUES"
    " ('k3','1200|700','Nouvelle plateforme d''orientation ouverte en mars.','2022-09-01T10:00:00');",
    "INSERT INTO exclusion VALUES ('09D','2022-S1','RSA_ORIENT_1M',1),"
    " ('09D','2022-S1','RSA_NOUV_ENTRANTS',1),('09D','2022-S1','RSA_DELAI_ORIENT',2);",
    "INSERT INTO rejet(id, fichier_id, emplacement, code, brut, message, signataire, periode,"
    " indicateur) VALUES"
    " (1,2,'Export!D17','excel_error','#DIV/0!','erreur Excel #DIV/0! : saisissez le nombre"
    " lui-même','09D','2022-S1','ASIP_TX_COUV'),"
    " (2,3,'byte 146','bad_encoding',NULL,'octet 0x8F invalide en UTF-8 et non défini en"
    " Windows-1252 (offset 146)',NULL,NULL,NULL),"
    " (3,6,'L9C3','not_a_number','abc','texte au lieu d''un nombre (ancien fichier)','09D',"
    "  '2021-S1','RSA_NOUV_ENTRANTS'),"
    " (4,2,'Export!A30','unknown_indicator','Indicateur bidon','indicateur inconnu :"
    " « Indicateur bidon »',NULL,'2022-S1',NULL);",
    "INSERT INTO agregat(niveau, zone, groupe, periode, indicateur, valeur, numerateur,"
    " denominateur, couverts, attendus, part_couverte, partiel, derive) VALUES"
    " ('region','76','D','2022-S1','RSA_NOUV_ENTRANTS',1200,NULL,NULL,1,4,NULL,1,0),"
    " ('region','76','D','2022-S1','RSA_TX_ORIENT_1M',53.3,640,1200,1,4,0.8,1,0),"
    " ('region','76','D','2022-S1','RSA_DELAI_ORIENT',23.5,NULL,NULL,1,4,NULL,1,0),"
    " ('region','76','D','2022-S1','ASIP_TX_COUV',91.2,NULL,NULL,1,4,0.3,1,0),"
    " ('region','76','M','2022-S1','ASIP_TX_COUV',87.5,NULL,NULL,1,1,1.0,0,0),"
    " ('region','76','D','2021-S2','RSA_NOUV_ENTRANTS',1400,NULL,NULL,4,4,NULL,0,0),"
    " ('region','76','D','2021-S2','RSA_TX_ORIENT_1M',48.0,700,1458,4,4,1.0,0,0),"
    " ('region','76','D','2021-S1','RSA_TX_ORIENT_1M',45.0,600,1333,4,4,1.0,0,0),"
    " ('region','84','D','2022-S1','RSA_NOUV_ENTRANTS',999,NULL,NULL,1,1,NULL,0,0),"
    " ('national','FR','D','2022-S1','RSA_NOUV_ENTRANTS',2199,NULL,NULL,2,100,NULL,1,0),"
    " ('national','FR','D','2022-S1','RSA_TX_ORIENT_1M',53.3,640,1200,1,100,0.01,1,0);",
    "INSERT INTO contribution(niveau, zone, groupe, periode, indicateur, signataire, valeur)"
    " VALUES ('region','76','D','2022-S1','RSA_NOUV_ENTRANTS','31D',1200);",
    NULL,
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void rfix_setup(struct rfix *f)
{
    char path[128];
    struct cp_err err;

    memset(f, 0, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/calpae-render-XXXXXX");
    cr_assert_not_null(mkdtemp(f->root));
    snprintf(path, sizeof path, "%s/calpae.db", f->root);
    cr_assert_eq(cp_db_open(&f->db, path, 0, &err), 0, "%s", err.msg);
    for (const char *const *s = fixture_sql; *s; s++)
        cr_assert_eq(cp_db_exec(f->db, *s, &err), 0, "%s\n%s", err.msg, *s);
    snprintf(f->dir, sizeof f->dir, "%s/out/76/2022-S1", f->root);
    f->job.db = f->db;
    f->job.zone = "76";
    f->job.zone_name = "Occitanie";
    f->job.period = "2022-S1";
    f->job.national = 0;
    f->job.dir = f->dir;
    f->job.data_date = "2022-08-01T10:00:00";
    f->job.generated = "2026-11-22T03:00:00";
}

void rfix_teardown(struct rfix *f)
{
    struct cp_err err;

    if (f->db)
        cp_db_close(f->db, &err);
    f->db = NULL;
    /* CALPAE_KEEP_TEST_FILES=1 keeps the outputs to look at them. */
    if (f->root[0] && getenv("CALPAE_KEEP_TEST_FILES"))
        fprintf(stderr, "render test files kept in %s\n", f->root);
    else if (f->root[0])
        nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *rfix_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (!fp)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data && fread(data, 1, (size_t)n, fp) == (size_t)n) {
            data[n] = '\0';
            if (len)
                *len = (size_t)n;
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(fp);
    return data;
}

char *rfix_zip_part(const char *zip, const char *part, size_t *len)
{
    int e = 0;
    zip_t *z = zip_open(zip, ZIP_RDONLY, &e);
    zip_stat_t st;
    zip_file_t *zf;
    char *data = NULL;

    if (!z)
        return NULL;
    if (zip_stat(z, part, 0, &st) == 0 && (zf = zip_fopen(z, part, 0)) != NULL) {
        data = malloc(st.size + 1);
        if (data && zip_fread(zf, data, st.size) == (zip_int64_t)st.size) {
            data[st.size] = '\0';
            if (len)
                *len = st.size;
        } else {
            free(data);
            data = NULL;
        }
        zip_fclose(zf);
    }
    zip_discard(z);
    return data;
}

char *rfix_sheet_xml(const char *xlsx, const char *sheet)
{
    char *wb = rfix_zip_part(xlsx, "xl/workbook.xml", NULL);
    char want[256], part[64];
    const char *p;
    int index = 0, found = 0;

    if (!wb)
        return NULL;
    snprintf(want, sizeof want, "<sheet name=\"%s\"", sheet);
    /* libxlsxwriter numbers sheetN.xml in workbook order. */
    for (p = wb; (p = strstr(p, "<sheet ")) != NULL; p++) {
        index++;
        if (strncmp(p, want, strlen(want)) == 0) {
            found = 1;
            break;
        }
    }
    free(wb);
    if (!found)
        return NULL;
    snprintf(part, sizeof part, "xl/worksheets/sheet%d.xml", index);
    return rfix_zip_part(xlsx, part, NULL);
}

size_t rfix_count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len)
        n++;
    return n;
}
