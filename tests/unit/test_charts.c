/* Tests for render/charts.c: gnuplot SVG and PDF, the PNG drawn from the PDF, safety. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cairo-pdf.h>
#include <poppler.h>

#include "common/afile.h"
#include "render/charts.h"
#include "rpdf_fixture.h"

static int count_files(const char *dir, const char *ext)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        const char *dot = strrchr(e->d_name, '.');
        if (e->d_name[0] != '.' && dot && strcmp(dot, ext) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static const struct cp_chart *find_chart(const struct cp_charts *c, const char *name)
{
    for (size_t k = 0; k < c->n; k++)
        if (strcmp(c->v[k].name, name) == 0)
            return &c->v[k];
    return NULL;
}

/* Pixels of an RGB24 surface that are neither white, grey nor black: the
 * bars and lines of a chart. */
static long coloured(cairo_surface_t *s)
{
    const unsigned char *px;
    int w, h, stride;
    long n = 0;

    cairo_surface_flush(s);
    px = cairo_image_surface_get_data(s);
    w = cairo_image_surface_get_width(s);
    h = cairo_image_surface_get_height(s);
    stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *p = px + (size_t)y * (size_t)stride + 4 * (size_t)x;
            int lo = p[0] < p[1] ? p[0] : p[1], hi = p[0] > p[1] ? p[0] : p[1];
            lo = p[2] < lo ? p[2] : lo;
            hi = p[2] > hi ? p[2] : hi;
            n += hi - lo > 40;
        }
    return n;
}

static void assert_valid_files(const struct cp_chart *ch)
{
    char *svg = rf_slurp(ch->svg);
    cairo_surface_t *png;
    int w = 0, h = 0;

    cr_assert_not_null(svg, "%s missing", ch->svg);
    cr_assert(strstr(svg, "<svg") != NULL, "%s is not SVG", ch->svg);
    cr_assert(strstr(svg, "</svg>") != NULL, "%s is truncated", ch->svg);
    free(svg);
    cr_assert(rf_starts_with(ch->pdf, "%PDF-", 5), "%s is not a PDF", ch->pdf);
    cr_assert(rf_starts_with(ch->png, "\x89PNG\r\n\x1a\n", 8), "%s is not a PNG", ch->png);
    cr_assert(rf_png_valid(ch->png, &w, &h), "%s is not a complete PNG", ch->png);
    cr_assert_eq(w, 1600);
    cr_assert_eq(h, 900);
    png = cairo_image_surface_create_from_png(ch->png);
    cr_assert_eq(cairo_surface_status(png), CAIRO_STATUS_SUCCESS, "%s", ch->png);
    cr_assert_gt(coloured(png), 2000, "%s shows no bar or line", ch->png);
    cairo_surface_destroy(png);
    cr_assert_gt(ch->width, 100);
    cr_assert_gt(ch->height, 100);
}

Test(charts, draws_every_main_indicator_as_svg_pdf_png)
{
    struct rf f;
    struct cp_charts c;
    struct cp_err err;
    char gdir[300];

    rf_setup(&f, NULL, 0);
    cr_assert_eq(cp_render_charts(&f.job, &c, &err), 0, "%s", err.msg);
    /* 7 main indicators (2 rates, their 2 denominators, an average, and the
     * two axes without a rate) x (bars + series), plus 5 with targets. */
    cr_assert_eq(c.n, 19, "charts: %zu", c.n);
    for (size_t k = 0; k < c.n; k++)
        assert_valid_files(&c.v[k]);
    cr_assert_not_null(find_chart(&c, "RSA_TX_ORIENT_1M-signataires"));
    cr_assert_not_null(find_chart(&c, "RSA_TX_ORIENT_1M-evolution"));
    cr_assert_not_null(find_chart(&c, "RSA_TX_ORIENT_1M-cibles"));
    cr_assert_not_null(find_chart(&c, "MARAUDES_FAMILLES-signataires"));
    cr_assert_null(find_chart(&c, "ASE_ACCOMP-signataires"), "not a main indicator");
    cr_assert_null(find_chart(&c, "ASE_MAJEURS-cibles"), "no target, no chart");
    snprintf(gdir, sizeof gdir, "%s/graphiques", f.out);
    cr_assert_eq(count_files(gdir, ".svg"), 19);
    cr_assert_eq(count_files(gdir, ".pdf"), 19);
    cr_assert_eq(count_files(gdir, ".png"), 19);
    cp_charts_release(&c);
    rf_teardown(&f);
}

/* The chart's PDF drawn by poppler at the PNG's size, on white. */
static cairo_surface_t *pdf_raster(const char *path, int w, int h)
{
    char *uri = g_filename_to_uri(path, NULL, NULL);
    PopplerDocument *doc = uri ? poppler_document_new_from_file(uri, NULL, NULL) : NULL;
    PopplerPage *page = doc ? poppler_document_get_page(doc, 0) : NULL;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    double pw = 0, ph = 0;

    cr_assert_not_null(page, "%s unreadable", path);
    poppler_page_get_size(page, &pw, &ph);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, w / pw, h / ph);
    poppler_page_render(page, cr);
    cairo_destroy(cr);
    g_object_unref(page);
    g_object_unref(doc);
    g_free(uri);
    cairo_surface_flush(s);
    return s;
}

/* Every pixel of the PNG is the one poppler draws from the chart's PDF:
 * red, green and blue in their places, every column of every row. */
Test(charts, png_pixels_are_the_pdf_drawn)
{
    struct rf f;
    struct cp_charts c;
    struct cp_err err;

    rf_setup(&f, NULL, 0);
    cr_assert_eq(cp_render_charts(&f.job, &c, &err), 0, "%s", err.msg);
    for (size_t k = 0; k < c.n; k += 6) {
        cairo_surface_t *png = cairo_image_surface_create_from_png(c.v[k].png);
        cairo_surface_t *ref = pdf_raster(c.v[k].pdf, 1600, 900);
        const unsigned char *a, *b;
        long differ = 0;

        cr_assert_eq(cairo_surface_status(png), CAIRO_STATUS_SUCCESS, "%s", c.v[k].png);
        cr_assert_gt(coloured(png), 2000, "%s shows no bar or line", c.v[k].png);
        a = cairo_image_surface_get_data(png);
        b = cairo_image_surface_get_data(ref);
        for (int y = 0; y < 900; y++)
            for (int x = 0; x < 1600; x++) {
                size_t pa = (size_t)y * (size_t)cairo_image_surface_get_stride(png) + 4 * (size_t)x;
                size_t pb = (size_t)y * (size_t)cairo_image_surface_get_stride(ref) + 4 * (size_t)x;
                differ += memcmp(a + pa, b + pb, 3) != 0;
            }
        cr_assert_eq(differ, 0, "%s: %ld pixels differ from its PDF", c.v[k].png, differ);
        cairo_surface_destroy(png);
        cairo_surface_destroy(ref);
    }
    cp_charts_release(&c);
    rf_teardown(&f);
}

Test(charts, french_numbers_and_labels_in_the_svg)
{
    struct rf f;
    struct cp_charts c;
    struct cp_err err;
    const struct cp_chart *ch;
    char *svg;

    rf_setup(&f, NULL, 0);
    cr_assert_eq(cp_render_charts(&f.job, &c, &err), 0, "%s", err.msg);

    ch = find_chart(&c, "RSA_NOUV_ENTRANTS-signataires");
    cr_assert_not_null(ch);
    svg = rf_slurp(ch->svg);
    /* Axis ticks and the bar labels group thousands with U+202F. */
    cr_assert(strstr(svg, ">1\xE2\x80\xAF" "282<") != NULL, "value label of Ariège");
    cr_assert(strstr(svg, ">3\xE2\x80\xAF" "000<") != NULL, "an axis tick");
    cr_assert(strstr(svg, "Haute-Garonne") != NULL);
    cr_assert(strstr(svg, "Moyenne régionale par signataire") != NULL);
    cr_assert(strstr(svg, "Nouveaux entrants au RSA soumis aux droits et devoirs — 1er "
                          "semestre 2022") != NULL, "title from the data file");
    cr_assert(strstr(svg, "Lozère") == NULL, "48D sent nothing for 2022-S1");
    free(svg);
    /* The PDF carries the same text, as text (not as outlines). */
    svg = rf_pdftotext(ch->pdf, 1);
    cr_assert_not_null(svg);
    cr_assert(strstr(svg, "Haute-Garonne") != NULL, "%s", svg);
    cr_assert(strstr(svg, "Moyenne régionale par signataire") != NULL, "%s", svg);
    cr_assert(strstr(svg, "Nouveaux entrants au RSA soumis aux droits et devoirs") != NULL,
              "%s", svg);
    free(svg);

    ch = find_chart(&c, "RSA_TX_ORIENT_1M-signataires");
    svg = rf_slurp(ch->svg);
    cr_assert(strstr(svg, "\xC2\xA0%<") != NULL, "percent ticks");
    cr_assert(strstr(svg, "Valeur régionale (départements) : ") != NULL);
    cr_assert(strstr(svg, "112,0\xC2\xA0%") != NULL, "the excluded value is shown");
    cr_assert(strstr(svg, "Valeur exclue des agrégats") != NULL, "and explained");
    free(svg);

    ch = find_chart(&c, "RSA_TX_ORIENT_1M-evolution");
    svg = rf_slurp(ch->svg);
    cr_assert(strstr(svg, ">2021-S1<") && strstr(svg, ">2022-S1<"), "periods on the x axis");
    cr_assert(strstr(svg, ">2022-S2<") == NULL, "no period after the job's");
    cr_assert(strstr(svg, "(12/13)") != NULL, "partial point shows its coverage");
    free(svg);
    cp_charts_release(&c);
    rf_teardown(&f);
}

/* The text of an SVG's <text> elements, XML escapes kept, joined by
 * spaces (gnuplot writes each line of a label as its own element). */
static char *svg_text(const char *svg)
{
    size_t n = strlen(svg);
    char *out = calloc(n + 1, 1), *o = out;

    for (const char *p = strstr(svg, "<text"); p; p = strstr(p, "<text")) {
        const char *gt = strchr(p, '>'), *end = gt ? strstr(gt, "</text>") : NULL;
        if (!end)
            break;
        if (o > out)
            *o++ = ' ';
        memcpy(o, gt + 1, (size_t)(end - gt - 1));
        o += end - gt - 1;
        p = end;
    }
    *o = '\0';
    return out;
}

Test(charts, hostile_text_is_never_executed)
{
    struct rf f;
    struct cp_charts c;
    struct cp_err err;
    char marker[64], evil[512], expect[768], name[256];
    const struct cp_chart *ch;
    char *svg, *text;

    snprintf(marker, sizeof marker, "/tmp/pwned-%ld", (long)getpid());
    unlink(marker);
    snprintf(evil, sizeof evil,
             "Ari`touch %s` $(touch %s) system(\"touch %s\") 'q' \"dq\"\n@x_y^{z} & <b>\\n "
             "\\0042 \\",
             marker, marker, marker);
    rf_setup(&f, evil, 0);
    cr_assert_eq(cp_render_charts(&f.job, &c, &err), 0, "%s", err.msg);
    cr_assert_neq(access(marker, F_OK), 0, "a command from the data was executed");

    /* The chart is drawn and carries the text as text, XML-escaped. */
    ch = find_chart(&c, "RSA_TX_ORIENT_1M-signataires");
    cr_assert_not_null(ch);
    assert_valid_files(ch);
    svg = rf_slurp(ch->svg);
    text = svg_text(svg);
    snprintf(expect, sizeof expect,
             "Taux d'orientation en moins d'un mois Ari`touch %s` $(touch %s) "
             "system(\"touch %s\") 'q' \"dq\" @x_y^{z} &amp; &lt;b>\\n \\0042 \\ — 1er "
             "semestre 2022",
             marker, marker, marker);
    cr_assert(strstr(text, expect) != NULL, "key title from columnheader, wrapped:\n%s", text);
    /* Under the bar, the name is cut to 40 characters. */
    snprintf(name, sizeof name, "Ari`touch %s` $(touch %s", marker, marker);
    name[39] = '\0';
    cr_assert(strstr(text, name) != NULL, "the name under the bar: %s", name);
    cr_assert(strstr(text, "Valeur par signataire") != NULL, "the plot was not pushed away");
    cr_assert(strstr(text, "112,0") != NULL, "every bar label is there");
    free(text);
    free(svg);
    cp_charts_release(&c);
    rf_teardown(&f);
    cr_assert_neq(access(marker, F_OK), 0);
}

Test(charts, one_gnuplot_process_serves_several_jobs)
{
    struct rf f;
    struct cp_plot *p;
    struct cp_charts a, b, c;
    struct cp_err err;
    struct cp_render_job nat;
    char natdir[300];

    rf_setup(&f, NULL, 0);
    cr_assert_eq(cp_plot_open(&p, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_job(p, &f.job, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_charts_commit(&a, &err), 0, "%s", err.msg);
    nat = f.job;
    nat.national = 1;
    nat.zone = "FR";
    nat.zone_name = "France";
    snprintf(natdir, sizeof natdir, "%s/reports/national/2022-S1", f.dir);
    nat.dir = natdir;
    cr_assert_eq(cp_plot_job(p, &nat, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_charts_commit(&b, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_job(p, &f.job, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_charts_commit(&c, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_close(p, &err), 0, "%s", err.msg);
    cr_assert_eq(a.n, c.n);
    for (size_t k = 0; k < b.n; k++)
        assert_valid_files(&b.v[k]);
    cp_charts_release(&a);
    cp_charts_release(&b);
    cp_charts_release(&c);
    rf_teardown(&f);
}

/* Until cp_charts_commit, the charts exist only in memory (the dossier
 * draws them from there) and as temporary files; released without a
 * commit (a job that failed elsewhere), nothing is left behind. */
Test(charts, files_appear_only_on_commit)
{
    struct rf f;
    struct cp_plot *p;
    struct cp_charts a;
    struct cp_err err;
    char gdir[400];
    DIR *d;
    struct dirent *e;
    cairo_surface_t *s;
    cairo_t *cr;

    rf_setup(&f, NULL, 0);
    snprintf(gdir, sizeof gdir, "%s/graphiques", f.job.dir);
    cr_assert_eq(cp_plot_open(&p, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_job(p, &f.job, &a, &err), 0, "%s", err.msg);
    cr_assert_gt(a.n, 0);
    cr_assert_not_null(a.v[0].pdf_data);
    cr_assert_neq(access(a.v[0].pdf, F_OK), 0, "no file under its final name before commit");
    s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 400, 300);
    cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cr_assert_eq(cp_chart_draw(cr, &a.v[0], 0, 0, 400, 300, &err), 0, "%s", err.msg);
    cairo_destroy(cr);
    cr_assert_gt(coloured(s), 1000, "the chart was drawn from memory");
    cairo_surface_destroy(s);
    cp_charts_release(&a);
    cr_assert_eq(count_files(gdir, ".svg") + count_files(gdir, ".pdf") + count_files(gdir, ".png"),
                 0);
    d = opendir(gdir);
    cr_assert_not_null(d);
    while ((e = readdir(d)))
        cr_assert(e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")),
                  "left behind: %s", e->d_name);
    closedir(d);

    cr_assert_eq(cp_plot_job(p, &f.job, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_charts_commit(&a, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_charts_commit(&a, &err), 0, "a second commit does nothing");
    for (size_t k = 0; k < a.n; k++) {
        assert_valid_files(&a.v[k]);
        cr_assert_null(a.v[k].pdf_data);
    }
    cr_assert_eq(cp_plot_close(p, &err), 0, "%s", err.msg);
    cp_charts_release(&a);
    rf_teardown(&f);
}

/* A job whose charts were handed to gnuplot but never collected (it failed
 * while its other outputs were written) is drained when released: gnuplot
 * stays in step, the next job's charts are its own, and nothing of the
 * first is left. */
Test(charts, released_before_collect_keeps_gnuplot_in_step)
{
    struct rf f;
    struct cp_plot *p;
    struct cp_charts a, b;
    struct cp_err err;
    char gdir[400];

    rf_setup(&f, NULL, 0);
    snprintf(gdir, sizeof gdir, "%s/graphiques", f.job.dir);
    cr_assert_eq(cp_plot_open(&p, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_submit(p, &f.job, &a, &err), 0, "%s", err.msg);
    cr_assert_gt(a.n, 1);
    cr_assert_null(a.v[0].pdf_data, "nothing is collected before cp_plot_collect");
    cp_charts_release(&a);
    cr_assert_eq(count_files(gdir, ".svg") + count_files(gdir, ".pdf") + count_files(gdir, ".png"),
                 0);

    cr_assert_eq(cp_plot_submit(p, &f.job, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_collect(&b, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_collect(&b, &err), 0, "a second collect does nothing");
    cr_assert_not_null(b.v[0].pdf_data);
    cr_assert_eq(cp_charts_commit(&b, &err), 0, "%s", err.msg);
    for (size_t k = 0; k < b.n; k++)
        assert_valid_files(&b.v[k]);
    cr_assert_eq(cp_plot_close(p, &err), 0, "%s", err.msg);
    cp_charts_release(&b);
    rf_teardown(&f);
}

/* While a job's charts are being converted, the dossier draws each from
 * the document its conversion opened (once), and a chart drawn again (or
 * whose document was taken) is opened from the PDF in memory: every drawing
 * shows the chart's own text. */
Test(charts, dossier_draws_from_the_conversion)
{
    struct rf f;
    struct cp_plot *p;
    struct cp_charts c;
    struct cp_err err;
    char pdf[400];
    char *raw;
    cairo_surface_t *s;
    cairo_t *cr;

    rf_setup(&f, NULL, 0);
    snprintf(pdf, sizeof pdf, "%s/drawn.pdf", f.dir);
    cr_assert_eq(cp_plot_open(&p, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_submit(p, &f.job, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(cp_plot_collect(&c, &err), 0, "%s", err.msg);
    s = cairo_pdf_surface_create(pdf, 595, 842);
    cr = cairo_create(s);
    for (int round = 0; round < 2; round++)
        for (size_t k = 0; k < c.n; k++) {
            cr_assert_not_null(c.v[k].conv, "%s: its conversion is known", c.v[k].name);
            cr_assert_eq(cp_chart_draw(cr, &c.v[k], 20, 20, 555, 312, &err), 0, "%s", err.msg);
            cairo_show_page(cr);
        }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    cr_assert_eq(cp_charts_commit(&c, &err), 0, "%s", err.msg);
    cr_assert_null(c.v[0].conv, "forgotten once the files are in place");
    raw = rf_pdftotext(pdf, 1);
    cr_assert_not_null(raw);
    cr_assert_eq(rf_pages(raw), 2 * (int)c.n);
    {
        char *page[64];
        size_t np = 0;

        cr_assert_leq(2 * c.n, 64);
        for (char *at = raw, *ff; at && np < 2 * c.n; at = ff ? ff + 1 : NULL) {
            ff = strchr(at, '\f');
            if (ff)
                *ff = '\0';
            page[np++] = at;
        }
        cr_assert_eq(np, 2 * c.n);
        for (size_t k = 0; k < c.n; k++) {
            cr_assert_gt(strlen(page[k]), 40, "%s: no text drawn", c.v[k].name);
            cr_assert_str_eq(page[k], page[k + c.n], "%s: drawn twice, differently", c.v[k].name);
        }
    }
    free(raw);
    cr_assert_eq(cp_plot_close(p, &err), 0, "%s", err.msg);
    cp_charts_release(&c);
    rf_teardown(&f);
}

/* The libraries reach FreeType's face functions through the executable's
 * serialised definitions (render/ftlock.c): exported, and first in the
 * dynamic linker's search. */
Test(charts, freetype_faces_go_through_the_lock)
{
    static const char *const names[] = {"FT_New_Face", "FT_New_Memory_Face", "FT_Open_Face",
                                        "FT_Reference_Face", "FT_Done_Face"};

    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        void *seen = dlsym(RTLD_DEFAULT, names[k]), *freetype = dlsym(RTLD_NEXT, names[k]);
        Dl_info info;

        cr_assert_not_null(seen, "%s", names[k]);
        cr_assert_not_null(freetype, "%s", names[k]);
        cr_assert_neq(seen, freetype, "%s resolves to FreeType itself", names[k]);
        cr_assert(dladdr(seen, &info) && info.dli_fname && !strstr(info.dli_fname, "freetype"),
                  "%s comes from %s", names[k], info.dli_fname ? info.dli_fname : "?");
    }
}

Test(charts, national_compares_regions)
{
    struct rf f;
    struct cp_charts c;
    struct cp_err err;
    const struct cp_chart *ch;
    char *svg;

    rf_setup(&f, NULL, 1);
    cr_assert_eq(cp_render_charts(&f.job, &c, &err), 0, "%s", err.msg);
    ch = find_chart(&c, "RSA_TX_ORIENT_1M-regions");
    cr_assert_not_null(ch);
    assert_valid_files(ch);
    svg = rf_slurp(ch->svg);
    cr_assert(strstr(svg, "Occitanie") && strstr(svg, "Île-de-France"));
    cr_assert(strstr(svg, "Valeur nationale (départements)") != NULL);
    cr_assert(strstr(svg, "Auvergne") == NULL, "a région without data has no bar");
    free(svg);
    cr_assert_not_null(find_chart(&c, "RSA_TX_ORIENT_1M-evolution"));
    cr_assert_null(find_chart(&c, "RSA_TX_ORIENT_1M-cibles"), "no targets at national level");
    cp_charts_release(&c);
    rf_teardown(&f);
}

Test(charts, stale_chart_files_are_removed)
{
    struct rf f;
    struct cp_charts c;
    struct cp_err err;
    char path[400], keep[400];
    FILE *fp;

    rf_setup(&f, NULL, 0);
    snprintf(path, sizeof path, "%s/graphiques/OLD_CODE-signataires.svg", f.out);
    snprintf(keep, sizeof keep, "%s/graphiques/notes.txt", f.out);
    snprintf(keep, sizeof keep, "%s/graphiques", f.out);
    cr_assert_eq(cp_mkdirs(keep, &err), 0);
    snprintf(keep, sizeof keep, "%s/graphiques/notes.txt", f.out);
    fp = fopen(path, "w");
    fputs("<svg/>", fp);
    fclose(fp);
    fp = fopen(keep, "w");
    fclose(fp);
    cr_assert_eq(cp_render_charts(&f.job, &c, &err), 0, "%s", err.msg);
    cr_assert_neq(access(path, F_OK), 0, "stale chart removed");
    cr_assert_eq(access(keep, F_OK), 0, "other files kept");
    cp_charts_release(&c);
    rf_teardown(&f);
}

Test(charts, unsafe_indicator_code_is_refused)
{
    struct rf f;
    struct cp_charts c;
    struct cp_err err;

    rf_setup(&f, NULL, 0);
    cr_assert_eq(sqlite3_exec(f.db,
                              "UPDATE ref_indicateur SET code = 'MAR/../x' WHERE code = "
                              "'MARAUDES_FAMILLES';"
                              "UPDATE agregat SET indicateur = 'MAR/../x' WHERE indicateur = "
                              "'MARAUDES_FAMILLES';",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    cr_assert_eq(cp_render_charts(&f.job, &c, &err), -1);
    cr_assert_str_eq(err.code, "bad_code");
    cp_charts_release(&c);
    rf_teardown(&f);
}

Test(charts, missing_gnuplot_is_a_configuration_error)
{
    struct cp_plot *p;
    struct cp_err err;

    setenv("PATH", "/nonexistent", 1);
    cr_assert_eq(cp_plot_open(&p, &err), -1);
    cr_assert_eq(err.exit_status, CP_EX_CONFIG);
    cr_assert(strstr(err.msg, "gnuplot") != NULL);
}

/* The pid of our gnuplot child, from /proc (the only child of this test). */
static pid_t gnuplot_child(void)
{
    char path[64], buf[256];
    FILE *fp;
    long pid = 0;

    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)getpid(), (long)getpid());
    fp = fopen(path, "r");
    if (!fp)
        return 0;
    if (fgets(buf, sizeof buf, fp))
        pid = strtol(buf, NULL, 10);
    fclose(fp);
    if (pid > 0) {
        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
        fp = fopen(path, "r");
        if (!fp || !fgets(buf, sizeof buf, fp) || strncmp(buf, "gnuplot", 7) != 0)
            pid = 0;
        if (fp)
            fclose(fp);
    }
    return (pid_t)pid;
}

Test(charts, a_dead_gnuplot_fails_cleanly)
{
    struct rf f;
    struct cp_plot *p;
    struct cp_charts c;
    struct cp_err err;
    pid_t pid;

    rf_setup(&f, NULL, 0);
    cr_assert_eq(cp_plot_open(&p, &err), 0, "%s", err.msg);
    pid = gnuplot_child();
    cr_assert_gt(pid, 0, "gnuplot runs as our child");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(cp_plot_job(p, &f.job, &c, &err), -1);
    cr_assert(strstr(err.msg, "gnuplot") != NULL, "%s", err.msg);
    cp_charts_release(&c);
    cr_assert_eq(cp_plot_job(p, &f.job, &c, &err), -1, "refused once gnuplot is gone");
    cp_charts_release(&c);
    cr_assert_eq(cp_plot_close(p, &err), -1);
    cr_assert(strstr(err.msg, "signal 9") != NULL, "%s", err.msg);
    rf_teardown(&f);
}
