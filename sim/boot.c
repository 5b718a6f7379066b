/*
 * sim/boot.c — the boot decision of the ESP-IDF bootloader (see
 * sim/boot.h). Mirrors bootloader_utility.c: get_selected_boot_partition
 * (rollback step), load_boot_image (fallback order) and set_actual_ota_seq.
 */
#include <string.h>

#include "boot.h"

int aloft_boot_verify_slot(aloft_boot_t *b, const aloft_flash_t *flash,
                           const aloft_crypto_t *crypto, uint16_t chip_id,
                           int slot, aloft_image_info_t *info)
{
    const aloft_part_t *p = b->od.slots[slot];
    int err = aloft_image_verify_flash(flash, p->offset, p->size, crypto->sha256,
                                       &b->scratch);
    const aloft_image_info_t *got = aloft_image_info(&b->scratch);
    if (info)
        *info = *got;
    if (err == 0 && got->chip_id != chip_id)
        err = aloft_diag_set(&b->diag, ALOFT_ERR_IMG_CHIP, got->chip_id, chip_id, p->label);
    else if (err)
        b->diag = *aloft_image_diag(&b->scratch);
    return err;
}

static int read_table(aloft_boot_t *b, const aloft_flash_t *flash,
                      const aloft_crypto_t *crypto)
{
    int err = flash->read(flash, ALOFT_PT_OFFSET, b->table, sizeof b->table);
    if (err)
        return err;
    return aloft_ptable_parse(&b->pt, b->table, sizeof b->table, flash->size,
                              crypto->md5, &b->diag);
}

int aloft_boot(aloft_boot_t *b, const aloft_flash_t *flash,
               const aloft_crypto_t *crypto, uint16_t chip_id, bool rollback)
{
    int entry, err;
    memset(b, 0, sizeof *b);
    b->slot = -1;
    b->state = ALOFT_OTA_UNDEFINED;
    if ((err = read_table(b, flash, crypto)) != 0 ||
        (err = aloft_otadata_open(&b->od, flash, &b->pt)) != 0)
        return err;
    b->selected = rollback ? aloft_otadata_boot(&b->od, &b->rolled_back)
                           : aloft_otadata_selected(&b->od, &entry);
    if (b->selected < 0)
        return b->selected;

    /* load_boot_image: the selected slot, then downwards, then upwards. */
    aloft_diag_t why = {0};
    for (int k = 0; k < b->od.nslots && b->slot < 0; k++) {
        int slot = k <= b->selected ? b->selected - k : k;
        if (aloft_boot_verify_slot(b, flash, crypto, chip_id, slot, &b->info) == 0)
            b->slot = slot;
        else if (k == 0)
            why = b->diag;
    }
    b->diag = why;   /* why the selected slot did not boot, if it did not */
    if (b->slot < 0)
        return aloft_diag_set(&b->diag, ALOFT_ERR_NO_BOOTABLE, 0, 0, "(any)");
    b->fell_back = b->slot != b->selected;
    if ((err = aloft_otadata_booted(&b->od, b->slot)) != 0)
        return err;
    b->state = aloft_otadata_slot_state(&b->od, b->slot);
    return ALOFT_OK;
}
