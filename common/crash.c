/* Test-only crash points (see crash.h). */
#include "common/crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void cp_crash_point(const char *name)
{
    static int parsed;
    static char want[64];
    static unsigned long at, seen;

    if (!parsed) {
        const char *s = getenv("CALPAE_CRASH_AT");
        const char *colon = s ? strrchr(s, ':') : NULL;

        parsed = 1;
        if (colon && (size_t)(colon - s) < sizeof want) {
            memcpy(want, s, (size_t)(colon - s));
            want[colon - s] = '\0';
            at = strtoul(colon + 1, NULL, 10);
        }
    }
    if (!at || strcmp(name, want) != 0)
        return;
    if (++seen == at)
        raise(SIGKILL);
}
