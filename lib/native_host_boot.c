/*
 * lib/native_host_boot.c — what a HELLO read after the device restarted
 * says about the slot an update or a rollback selected (contract in
 * aloft/native_host.h). No session state: the host's loop connects, runs
 * an INFO session and asks here.
 *
 * Why a host must ask: the RESULT only says that otadata selects the slot.
 * ESP-IDF's bootloader (with rollback) then rewrites that entry in place
 * at the first boot, NEW -> PENDING_VERIFY, erase then program; a power
 * cut in between leaves the entry torn, so the previous entry wins and the
 * previous image runs. The image then has to confirm itself, or the next
 * boot rolls it back. Only the running_slot of a later HELLO tells.
 */
#include "aloft/native_host.h"
#include "aloft/wire/otadata.h"

static bool known(const aloft_native_hello_t *h, uint8_t slot)
{
    return h->nslots <= ALOFT_NATIVE_MAX_SLOTS && slot < h->nslots &&
           h->running_slot < h->nslots;
}

aloft_native_boot_t aloft_native_boot_check(const aloft_native_hello_t *h, uint8_t slot)
{
    if (!known(h, slot))
        return ALOFT_NATIVE_BOOT_UNKNOWN;
    if (h->running_slot == slot)
        return ALOFT_NATIVE_BOOT_RUNNING;
    /* A booted NEW entry never stays NEW: rewritten, or torn and ignored. */
    return h->slots[slot].state == ALOFT_OTA_NEW ? ALOFT_NATIVE_BOOT_NOT_YET
                                                 : ALOFT_NATIVE_BOOT_PREVIOUS;
}

bool aloft_native_boot_probation(const aloft_native_hello_t *h, uint8_t slot)
{
    uint32_t st = known(h, slot) ? h->slots[slot].state : ALOFT_OTA_UNDEFINED;
    return aloft_native_boot_check(h, slot) == ALOFT_NATIVE_BOOT_RUNNING &&
           (st == ALOFT_OTA_NEW || st == ALOFT_OTA_PENDING_VERIFY);
}
