/* tests/unit/support/fixtures.c — see fixtures.h. */
#include "fixtures.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_SKIP 77   /* CTest's SKIP_RETURN_CODE (tests/CMakeLists.txt) */

const char *fixture_dir(void)
{
    const char *dir = getenv("ALOFT_FIXTURES");
    char path[1024];
    FILE *f;
    if (dir == NULL || *dir == '\0')
        return NULL;
    snprintf(path, sizeof path, "%s/SOURCES.md", dir);
    if ((f = fopen(path, "rb")) == NULL)
        return NULL;
    fclose(f);
    return dir;
}

int fixtures_missing(void)
{
    if (fixture_dir() != NULL)
        return -1;
    const char *dir = getenv("ALOFT_FIXTURES");
    const char *ci = getenv("CI");
    bool must = ci != NULL && strcmp(ci, "true") == 0;
    printf("%s: no firmware fixtures: ALOFT_FIXTURES='%s' has no SOURCES.md%s\n",
           must ? "FAIL" : "SKIP", dir ? dir : "", must ? " (CI=true: required)" : "");
    return must ? EXIT_FAILURE : EXIT_SKIP;
}
