/* tests/unit/support/test_ptable_util.c — see test_ptable_util.h. */
#include "test_ptable_util.h"

#include <string.h>

void test_add_part(aloft_ptable_t *pt, const char *label, uint8_t type, uint8_t subtype,
                   uint32_t offset, uint32_t size)
{
    aloft_part_t *p = &pt->parts[pt->count++];
    size_t n = strlen(label);
    memset(p, 0, sizeof *p);
    p->type = type;
    p->subtype = subtype;
    p->offset = offset;
    p->size = size;
    memcpy(p->label, label, n < sizeof p->label - 1 ? n : sizeof p->label - 1);
}
