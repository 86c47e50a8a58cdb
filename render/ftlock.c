/*
 * FreeType faces created and freed one at a time, process-wide.
 *
 * FreeType allows a library's faces to be created and freed by one thread
 * at a time only (FT_New_Face, FT_Done_Face...: they edit the library's
 * list of faces). cairo keeps that rule for the faces it opens itself, but
 * poppler opens the fonts embedded in each chart's PDF on one FreeType
 * library shared by every document, without a lock, and cairo frees such a
 * face whenever its font cache drops the last font using it: in whatever
 * thread releases a font at that moment (a conversion thread, the dossier,
 * a feedback PDF). Those calls are defined again here: the executable's
 * definitions come first in the dynamic linker's search, so every library
 * of the process reaches FreeType's through them, under one lock (each
 * call is microseconds). The link exports them (Makefile,
 * --export-dynamic-symbol); test_charts checks that the libraries see them.
 *
 * poppler also sets up some of its global state lazily, without a lock, on
 * the first document it draws (its colour profiles, its FreeType library):
 * cp_poppler_warm_up draws one small document in the calling thread before
 * any conversion thread does. With both, threads draw separate documents
 * at the same time (render/charts.c); a lock around every poppler call
 * cost the national run 0.4 s of its 2.6 (the dossier waiting for the
 * conversions).
 */
#include "render/ftlock.h"

#include <dlfcn.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <glib.h>
#include <poppler.h>

/* A GRecMutex in static storage needs no initialisation (GLib); recursive,
 * because FreeType may call its own public functions on the way. */
static GRecMutex ft_lock;

/*
 * Defines FreeType's function name again: FreeType's own definition
 * (found once, under the lock) called under ft_lock. params and call are
 * the parameter list and the call's arguments; fail is returned if
 * FreeType's definition cannot be found.
 */
#define SERIALISED(name, fail, params, call)                                              \
    FT_Error name params                                                                  \
    {                                                                                     \
        static FT_Error(*real) params;                                                    \
        FT_Error e = fail;                                                                \
                                                                                          \
        g_rec_mutex_lock(&ft_lock);                                                       \
        if (!real)                                                                        \
            *(void **)&real = dlsym(RTLD_NEXT, #name);                                    \
        if (real)                                                                         \
            e = real call;                                                                \
        g_rec_mutex_unlock(&ft_lock);                                                     \
        return e;                                                                         \
    }

SERIALISED(FT_New_Face, FT_Err_Invalid_Library_Handle,
           (FT_Library lib, const char *path, FT_Long index, FT_Face *face),
           (lib, path, index, face))
SERIALISED(FT_New_Memory_Face, FT_Err_Invalid_Library_Handle,
           (FT_Library lib, const FT_Byte *base, FT_Long size, FT_Long index, FT_Face *face),
           (lib, base, size, index, face))
SERIALISED(FT_Open_Face, FT_Err_Invalid_Library_Handle,
           (FT_Library lib, const FT_Open_Args *args, FT_Long index, FT_Face *face),
           (lib, args, index, face))
SERIALISED(FT_Reference_Face, FT_Err_Invalid_Face_Handle, (FT_Face face), (face))
SERIALISED(FT_Done_Face, FT_Err_Invalid_Face_Handle, (FT_Face face), (face))

static cairo_status_t to_buffer(void *closure, const unsigned char *data, unsigned int n)
{
    g_byte_array_append(closure, data, n);
    return CAIRO_STATUS_SUCCESS;
}

void cp_poppler_warm_up(void)
{
    static gsize done;

    if (!g_once_init_enter(&done))
        return;
    {
        GByteArray *pdf = g_byte_array_new();
        cairo_surface_t *s = cairo_pdf_surface_create_for_stream(to_buffer, pdf, 20, 20);
        cairo_t *cr = cairo_create(s);
        PopplerDocument *doc;
        GBytes *bytes;

        /* One glyph, so that the document embeds a font. */
        cairo_move_to(cr, 2, 15);
        cairo_show_text(cr, "0");
        cairo_destroy(cr);
        cairo_surface_finish(s);
        cairo_surface_destroy(s);
        bytes = g_byte_array_free_to_bytes(pdf);
        doc = poppler_document_new_from_bytes(bytes, NULL, NULL);
        if (doc) {
            PopplerPage *page = poppler_document_get_page(doc, 0);
            if (page) {
                cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 20, 20);
                cairo_t *icr = cairo_create(img);
                poppler_page_render(page, icr);
                cairo_destroy(icr);
                cairo_surface_destroy(img);
                g_object_unref(page);
            }
            g_object_unref(doc);
        }
        g_bytes_unref(bytes);
    }
    g_once_init_leave(&done, 1);
}
