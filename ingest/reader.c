/* Helpers shared by the submission readers (see reader.h). */
#include "ingest/reader.h"

void cp_col_name(unsigned col, char *out)
{
    char tmp[8];
    int n = 0, i = 0;
    unsigned long c = (unsigned long)col + 1;

    while (c > 0 && n < 7) {
        c--;
        tmp[n++] = (char)('A' + c % 26);
        c /= 26;
    }
    while (n > 0)
        out[i++] = tmp[--n];
    out[i] = '\0';
}
