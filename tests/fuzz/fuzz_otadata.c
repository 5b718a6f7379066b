/*
 * tests/fuzz/fuzz_otadata.c — libFuzzer target: decode two otadata entries
 * from arbitrary bytes, pick the active one and the selected slot, and check
 * the rules hold (the active entry is valid and not older than a valid
 * other; the slot is in range; encode/decode round-trips the fields).
 *
 * Input: 64 bytes of entries, then one byte for the number of slots.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aloft/wire/otadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aloft_otadata_t od;
    uint8_t raw[ALOFT_OTADATA_ENTRY_LEN];
    int entry;

    if (size < 2 * ALOFT_OTADATA_ENTRY_LEN)
        return 0;
    memset(&od, 0, sizeof od);
    od.nslots = size > 64 ? data[64] % ALOFT_OTA_SLOTS_MAX + 1 : 2;
    for (int i = 0; i < 2; i++) {
        const uint8_t *in = data + i * ALOFT_OTADATA_ENTRY_LEN;
        aloft_ota_entry_decode(&od.e[i], in);
        aloft_ota_entry_encode(&od.e[i], raw);
        check(memcmp(raw, in, 4) == 0 && memcmp(raw + 24, in + 24, 8) == 0);
    }

    int active = aloft_otadata_active(od.e);
    check(active >= -1 && active <= 1);
    if (active >= 0) {
        const aloft_ota_entry_t *a = &od.e[active], *o = &od.e[active ^ 1];
        check(aloft_ota_entry_valid(a));
        check(!aloft_ota_entry_valid(o) || a->seq > o->seq ||
              (a->seq == o->seq && active == 0));
    } else {
        check(!aloft_ota_entry_valid(&od.e[0]) && !aloft_ota_entry_valid(&od.e[1]));
    }

    int slot = aloft_otadata_selected(&od, &entry);
    check(entry == active && slot >= 0 && slot < od.nslots);
    if (active >= 0)
        check((uint32_t)slot == (od.e[active].seq - 1u) % (uint32_t)od.nslots);
    (void)aloft_ota_state_name(od.e[0].state);
    return 0;
}
