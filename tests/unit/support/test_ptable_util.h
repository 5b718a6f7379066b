/* tests/unit/support/test_ptable_util.h — building partition tables by hand. */
#ifndef ALOFT_TEST_PTABLE_UTIL_H
#define ALOFT_TEST_PTABLE_UTIL_H

#include <stdint.h>

#include "aloft/wire/ptable.h"

/* Append one partition to pt (label cut to 16 characters). */
void test_add_part(aloft_ptable_t *pt, const char *label, uint8_t type, uint8_t subtype,
                   uint32_t offset, uint32_t size);

#endif
