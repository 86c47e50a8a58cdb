/* Unit tests for common/text.c: trimming, folding, UTF-8 validity, edit
 * distance. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/text.h"

static const char *fold_s(const char *s)
{
    static char out[256];
    cp_text_fold(s, strlen(s), out, sizeof out);
    return out;
}

static const char *words_s(const char *s)
{
    static char out[256];
    cp_text_fold_words(s, strlen(s), out, sizeof out);
    return out;
}

static void trimmed(const char *in, const char *expect)
{
    const char *s = in;
    size_t len = strlen(in);
    cp_text_trim(&s, &len);
    cr_assert_eq(len, strlen(expect), "trim(\"%s\") length %zu", in, len);
    cr_assert(memcmp(s, expect, len) == 0, "trim(\"%s\")", in);
}

Test(text, trim_removes_ascii_and_exotic_spaces)
{
    trimmed("  31D \t\r\n", "31D");
    trimmed("\xc2\xa0" "31D" "\xc2\xa0", "31D");               /* U+00A0 */
    trimmed("\xe2\x80\xaf" "45 %" "\xe2\x80\xaf", "45 %");      /* U+202F */
    trimmed("\xef\xbb\xbf" "code", "code");                     /* BOM */
    trimmed("\xe2\x80\x83x\xe2\x80\x8b", "x");                  /* em space, ZWSP */
    trimmed("\xe3\x80\x80x\xe2\x81\xa0", "x");                  /* U+3000, U+2060 */
    trimmed("\v\fa b\v", "a b");
}

Test(text, trim_keeps_inner_spaces_and_handles_all_blank)
{
    trimmed(" Haute Garonne ", "Haute Garonne");
    trimmed(" \xc2\xa0 \xe2\x80\xaf ", "");
    trimmed("", "");
    /* A non-space ending in a continuation byte must stay. */
    trimmed("Ariège", "Ariège");
    trimmed("é", "é");
}

Test(text, fold_lowercases_and_drops_punctuation)
{
    cr_assert_str_eq(fold_s("Haute-Garonne (31)"), "hautegaronne31");
    cr_assert_str_eq(fold_s("RSA_TX_ORIENT_1M"), "rsatxorient1m");
    cr_assert_str_eq(fold_s("Côte-d'Or"), "cotedor");
    cr_assert_str_eq(fold_s("Côte-d\xe2\x80\x99Or"), "cotedor"); /* U+2019 */
    cr_assert_str_eq(fold_s("Alpes\xe2\x80\x93Maritimes"), "alpesmaritimes"); /* en dash */
    cr_assert_str_eq(fold_s(""), "");
    cr_assert_str_eq(fold_s("!?-- "), "");
}

Test(text, fold_maps_latin1_letters_both_cases)
{
    cr_assert_str_eq(fold_s("éèêë àâä îï ôö ùûü ÿ ç"), "eeeeaaaiioouuuyc");
    cr_assert_str_eq(fold_s("ÉÈÊË ÀÂÄ ÎÏ ÔÖ ÙÛÜ Ÿ Ç"), "eeeeaaaiioouuuyc");
    cr_assert_str_eq(fold_s("œuvre Œ æ Æ ß"), "oeuvreoeaeaess");
    cr_assert_str_eq(fold_s("ÁÍÓÚÑñÅåØøÐþ"), "aiounnaaoodth");
    cr_assert_str_eq(fold_s("× ÷"), "");
}

Test(text, fold_maps_latin_extended_a)
{
    cr_assert_str_eq(fold_s("ĀăĄćČĎđĚğĦıĲĵķĺŁńŇŌőŕŠşŤŦůűŵŷźŽſ"),
                     "aaaccddeghiijjkllnnoorssttuuwyzzs");
}

Test(text, fold_ignores_combining_accents_and_invalid_bytes)
{
    cr_assert_str_eq(fold_s("Arie\xcc\x80ge"), "ariege"); /* e + U+0300 */
    cr_assert_str_eq(fold_s("Ari\xe8ge"), "arige");       /* Latin-1 byte */
    cr_assert_str_eq(fold_s("a\xc0\xaf" "b"), "ab");       /* overlong '/' */
}

Test(text, fold_truncates_to_the_output_size)
{
    char out[5];
    size_t n = cp_text_fold("Haute-Garonne", 13, out, sizeof out);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(out, "haut");
    /* A two-letter expansion never gets cut in half. */
    n = cp_text_fold("aaaœ", strlen("aaaœ"), out, sizeof out);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(out, "aaa");
    n = cp_text_fold("abc", 3, out, 1);
    cr_assert_eq(n, 0);
    cr_assert_str_eq(out, "");
}

Test(text, fold_respects_the_given_length)
{
    char out[16];
    cr_assert_eq(cp_text_fold("31D garbage", 3, out, sizeof out), 3);
    cr_assert_str_eq(out, "31d");
}

Test(text, fold_words_keeps_one_space_between_words)
{
    cr_assert_str_eq(words_s("Métropole de  Lyon!"), "metropole de lyon");
    cr_assert_str_eq(words_s("  --Tarn-et-Garonne--  "), "tarn et garonne");
    cr_assert_str_eq(words_s("Côte-d’Or"), "cote d or");
    cr_assert_str_eq(words_s("Arie\xcc\x80ge (09)"), "ariege 09");
    cr_assert_str_eq(words_s("2021-S1"), "2021 s1");
    cr_assert_str_eq(words_s("..."), "");
}

Test(text, utf8_valid_accepts_good_text)
{
    const char *ok = "Pyrénées – 45\xc2\xa0% \xf0\x9f\x98\x80";
    size_t bad = 99;
    cr_assert_eq(cp_utf8_valid(ok, strlen(ok), &bad), 1);
    cr_assert_eq(bad, 99, "bad must be left alone on success");
    cr_assert_eq(cp_utf8_valid("", 0, NULL), 1);
}

Test(text, utf8_valid_reports_first_bad_byte)
{
    size_t bad = 0;
    cr_assert_eq(cp_utf8_valid("Ari\xe8ge", 7, &bad), 0); /* Latin-1 è */
    cr_assert_eq(bad, 3);
    cr_assert_eq(cp_utf8_valid("ab\xc0\xaf", 4, &bad), 0); /* overlong */
    cr_assert_eq(bad, 2);
    cr_assert_eq(cp_utf8_valid("\xed\xa0\x80", 3, &bad), 0); /* surrogate */
    cr_assert_eq(bad, 0);
    cr_assert_eq(cp_utf8_valid("x\xf4\x90\x80\x80", 5, &bad), 0); /* > U+10FFFF */
    cr_assert_eq(bad, 1);
    cr_assert_eq(cp_utf8_valid("ok\xe2\x82", 4, &bad), 0); /* truncated */
    cr_assert_eq(bad, 2);
    cr_assert_eq(cp_utf8_valid("\x80", 1, &bad), 0); /* stray continuation */
    cr_assert_eq(bad, 0);
    cr_assert_eq(cp_utf8_valid("\xe0\x9f\xbf", 3, NULL), 0); /* overlong 3-byte */
    cr_assert_eq(cp_utf8_valid("\xf0\x8f\xbf\xbf", 4, NULL), 0); /* overlong 4-byte */
}

Test(text, distance_is_levenshtein)
{
    cr_assert_eq(cp_text_distance("kitten", "sitting", 10), 3);
    cr_assert_eq(cp_text_distance("", "abc", 10), 3);
    cr_assert_eq(cp_text_distance("abc", "", 10), 3);
    cr_assert_eq(cp_text_distance("same", "same", 0), 0);
    cr_assert_eq(cp_text_distance("lotetgraonne", "lotetgaronne", 5), 2);
    cr_assert_eq(cp_text_distance("pyreneesoirentales", "pyreneesorientales", 6), 2);
}

Test(text, distance_stops_past_the_cap)
{
    cr_assert_eq(cp_text_distance("kitten", "sitting", 2), 3);
    cr_assert_eq(cp_text_distance("a", "abcdefgh", 3), 4);
    cr_assert_eq(cp_text_distance("abcdef", "uvwxyz", 1), 2);
    cr_assert_eq(cp_text_distance("kitten", "sitting", 3), 3);
}

Test(text, distance_works_on_long_strings)
{
    char a[401], b[401];
    memset(a, 'x', 400);
    memset(b, 'x', 400);
    a[400] = b[400] = '\0';
    b[200] = 'y';
    cr_assert_eq(cp_text_distance(a, b, 5), 1);
    b[399] = '\0';
    cr_assert_eq(cp_text_distance(a, b, 5), 2);
}
