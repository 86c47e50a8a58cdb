/* French number and date formats (see fmt.h). */
#include "common/fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NNBSP "\xE2\x80\xAF" /* U+202F */
#define NBSP "\xC2\xA0"      /* U+00A0 */

/* Groups the digits of an unsigned integer string by three. */
static void group(const char *digits, char *out, size_t n)
{
    size_t len = strlen(digits), o = 0;

    for (size_t i = 0; i < len && o + 4 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            memcpy(out + o, NNBSP, 3);
            o += 3;
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

char *cp_fmt_num(double v, int decimals, char *out, size_t n)
{
    char raw[CP_FMT_MAX], intpart[CP_FMT_MAX], grouped[CP_FMT_MAX * 2];
    const char *dot;
    int neg;

    if (n == 0)
        return out;
    if (isnan(v) || isinf(v)) {
        out[0] = '\0';
        return out;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    snprintf(raw, sizeof raw, "%.*f", decimals, fabs(v));
    /* -0,0 is printed as 0,0. */
    neg = v < 0 && strspn(raw, "0.") != strlen(raw);
    dot = strchr(raw, '.');
    snprintf(intpart, sizeof intpart, "%.*s", dot ? (int)(dot - raw) : (int)strlen(raw), raw);
    group(intpart, grouped, sizeof grouped);
    snprintf(out, n, "%s%s%s%s", neg ? "-" : "", grouped, dot ? "," : "", dot ? dot + 1 : "");
    return out;
}

char *cp_fmt_num_trim(double v, int max_decimals, char *out, size_t n)
{
    char *comma;
    size_t len;

    cp_fmt_num(v, max_decimals, out, n);
    comma = strchr(out, ',');
    if (!comma)
        return out;
    len = strlen(out);
    while (len > 0 && out[len - 1] == '0')
        out[--len] = '\0';
    if (len > 0 && out[len - 1] == ',')
        out[--len] = '\0';
    return out;
}

char *cp_fmt_int(long long v, char *out, size_t n)
{
    return cp_fmt_num((double)v, 0, out, n);
}

char *cp_fmt_pct(double points, char *out, size_t n)
{
    char num[CP_FMT_MAX];

    if (isnan(points)) {
        if (n)
            out[0] = '\0';
        return out;
    }
    cp_fmt_num(points, 1, num, sizeof num);
    snprintf(out, n, "%s" NBSP "%%", num);
    return out;
}

char *cp_fmt_date(const char *iso, char *out, size_t n)
{
    if (!iso || strlen(iso) < 10) {
        if (n)
            out[0] = '\0';
        return out;
    }
    snprintf(out, n, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
    return out;
}
