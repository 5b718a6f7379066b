/*
 * tests/fuzz/fuzz_pull_range.c — libFuzzer target: the Content-Range
 * parser of the pull engine (aloft_pull_parse_range) on arbitrary header
 * values. A value that parses describes a possible range, and printing it
 * back parses to the same numbers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "aloft/pull.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char v[256], again[64];
    uint32_t first, last, total, f2, l2, t2;
    if (size >= sizeof v)
        return 0;
    memcpy(v, data, size);
    v[size] = '\0';
    if (aloft_pull_parse_range(v, &first, &last, &total) != 0)
        return 0;
    check(first <= last && (total == UINT32_MAX || last < total));
    if (total == UINT32_MAX)
        snprintf(again, sizeof again, "bytes %u-%u/*", (unsigned)first, (unsigned)last);
    else
        snprintf(again, sizeof again, "bytes %u-%u/%u", (unsigned)first, (unsigned)last,
                 (unsigned)total);
    check(aloft_pull_parse_range(again, &f2, &l2, &t2) == 0);
    check(f2 == first && l2 == last && t2 == total);
    return 0;
}
