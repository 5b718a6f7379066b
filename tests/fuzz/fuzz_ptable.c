/*
 * tests/fuzz/fuzz_ptable.c — libFuzzer target: aloft_ptable_parse on
 * arbitrary bytes. A table that parses must survive write -> parse with the
 * same contents (round trip), and the lookups must not misbehave on it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aloft/wire/ptable.h"
#include "crypto_mbedtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static aloft_ptable_t pt, again;
    static uint8_t out[ALOFT_PT_LEN];
    const aloft_part_t *slots[16];
    aloft_diag_t diag;
    uint32_t flash = 0x400000u;

    memset(&diag, 0, sizeof diag);
    if (aloft_ptable_parse(&pt, data, size, flash, &aloft_mbedtls_md5, &diag) != 0) {
        check(diag.err < 0 && diag.where[sizeof diag.where - 1] == '\0');
        return 0;
    }
    check(pt.count <= ALOFT_PT_MAX_ENTRIES);

    /* Round trip. */
    int n = aloft_ptable_write(&pt, out, sizeof out, &aloft_mbedtls_md5);
    check(n == (pt.count + 1) * (int)ALOFT_PT_ENTRY_LEN);
    check(aloft_ptable_parse(&again, out, sizeof out, flash, &aloft_mbedtls_md5, NULL) == 0);
    check(again.count == pt.count && again.has_md5);
    for (int i = 0; i < pt.count; i++) {
        const aloft_part_t *a = &pt.parts[i], *b = &again.parts[i];
        check(a->type == b->type && a->subtype == b->subtype &&
              a->offset == b->offset && a->size == b->size &&
              a->flags == b->flags && strcmp(a->label, b->label) == 0);
        check(strlen(a->label) <= 16);
    }

    /* Lookups. */
    int ns = aloft_ptable_ota_slots(&pt, slots, 16);
    check(ns >= 0 && ns <= 16);
    for (int i = 0; i < ns; i++)
        check(slots[i]->type == ALOFT_PT_TYPE_APP &&
              slots[i]->subtype == ALOFT_PT_APP_OTA_0 + i &&
              slots[i]->offset % 0x10000u == 0);
    const aloft_part_t *fs = aloft_ptable_find_fs(&pt, NULL);
    check(fs == NULL || fs->type == ALOFT_PT_TYPE_DATA);
    if (pt.count > 0) {
        fs = aloft_ptable_find_fs(&pt, pt.parts[0].label);
        check(fs == NULL || fs->type == ALOFT_PT_TYPE_DATA);
    }
    return 0;
}
