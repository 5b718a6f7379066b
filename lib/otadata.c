/*
 * lib/otadata.c — ESP-IDF otadata (see aloft/otadata.h).
 *
 * Implementation notes. Every rule here mirrors one ESP-IDF function, named
 * in the comment above it, so a device updated by aloft boots exactly as the
 * ESP-IDF bootloader and esp_ota_ops would decide:
 *   bootloader_support/src/bootloader_common_loader.c
 *       bootloader_common_ota_select_crc / _invalid / _valid,
 *       bootloader_common_select_otadata, bootloader_common_get_active_otadata
 *   bootloader_support/src/bootloader_utility.c
 *       bootloader_utility_get_selected_boot_partition, write_otadata,
 *       set_actual_ota_seq
 *   app_update/esp_ota_ops.c
 *       esp_rewrite_ota_data, compute_ota_seq_for_target_slot, rewrite_ota_seq,
 *       esp_ota_current_ota_is_workable, esp_ota_check_rollback_is_possible,
 *       esp_ota_get_boot_partition
 *
 * Like IDF, every operation that writes first re-reads both entries, and a
 * write keeps the bytes of the entry as read (seq_label) and changes only
 * ota_seq, ota_state and crc: erase the entry's sector, program 32 bytes.
 *
 * Not modelled: a factory app partition (IDF boots it when no entry is
 * valid; aloft's schemes have none, so the first OTA slot boots) and
 * anti-rollback (secure_version in eFuse). The bootloader counts every OTA
 * app partition while esp_ota_ops counts consecutive ota_0.. subtypes; the
 * two agree on any table gen_esp32part.py accepts, and we use the latter.
 */
#include <string.h>

#include "aloft/util.h"
#include "aloft/wire/otadata.h"
#include "bytes.h"

/* Entry layout (frozen: on flash). */
#define OTA_SEQ_AT 0u
#define OTA_STATE_AT 24u
#define OTA_CRC_AT 28u
#define OTA_SEQ_BLANK 0xFFFFFFFFu

const char *aloft_ota_state_name(uint32_t state)
{
    switch (state) {
    case ALOFT_OTA_NEW: return "NEW";
    case ALOFT_OTA_PENDING_VERIFY: return "PENDING_VERIFY";
    case ALOFT_OTA_VALID: return "VALID";
    case ALOFT_OTA_INVALID: return "INVALID";
    case ALOFT_OTA_ABORTED: return "ABORTED";
    case ALOFT_OTA_UNDEFINED: return "UNDEFINED";
    }
    return "UNKNOWN";
}

/* ---- entries (pure) -------------------------------------------------- */

/* bootloader_common_ota_select_crc: crc32_le(UINT32_MAX, &ota_seq, 4). */
uint32_t aloft_ota_entry_crc(uint32_t seq)
{
    uint8_t b[4];

    aloft_st32(b, seq);
    return aloft_crc32(0xFFFFFFFFu, b, sizeof b);
}

void aloft_ota_entry_encode(const aloft_ota_entry_t *e, uint8_t out[32])
{
    memset(out, 0xFF, ALOFT_OTADATA_ENTRY_LEN);
    aloft_st32(out + OTA_SEQ_AT, e->seq);
    aloft_st32(out + OTA_STATE_AT, e->state);
    aloft_st32(out + OTA_CRC_AT, e->crc);
}

void aloft_ota_entry_decode(aloft_ota_entry_t *e, const uint8_t in[32])
{
    e->seq = aloft_ld32(in + OTA_SEQ_AT);
    e->state = aloft_ld32(in + OTA_STATE_AT);
    e->crc = aloft_ld32(in + OTA_CRC_AT);
}

/* bootloader_common_ota_select_invalid: blank, or rejected by rollback.
 * Note: the CRC plays no part here. */
static bool entry_invalid(const aloft_ota_entry_t *e)
{
    return e->seq == OTA_SEQ_BLANK || e->state == ALOFT_OTA_INVALID ||
           e->state == ALOFT_OTA_ABORTED;
}

/* bootloader_common_ota_select_valid. */
bool aloft_ota_entry_valid(const aloft_ota_entry_t *e)
{
    return !entry_invalid(e) && e->crc == aloft_ota_entry_crc(e->seq);
}

/* bootloader_common_get_active_otadata -> bootloader_common_select_otadata
 * (max = true): both valid -> entry 0 if MAX(seq0, seq1) == seq0, so a tie
 * goes to entry 0; one valid -> that one (lowest index first). */
int aloft_otadata_active(const aloft_ota_entry_t e[2])
{
    bool v0 = aloft_ota_entry_valid(&e[0]);
    bool v1 = aloft_ota_entry_valid(&e[1]);

    if (v0 && v1)
        return e[0].seq >= e[1].seq ? 0 : 1;
    if (v0)
        return 0;
    return v1 ? 1 : -1;
}

/* ota_slot = (ota_seq - 1) % ota_app_count, in uint32_t as IDF does (so a
 * valid seq of 0 maps to 0xFFFFFFFF % n). */
static int seq_slot(const aloft_otadata_t *od, uint32_t seq)
{
    return (int)((seq - 1u) % (uint32_t)od->nslots);
}

/* compute_ota_seq_for_target_slot: base = (slot + 1) % n, then the first
 * base + i * n (i >= 0) that is >= cur. IDF loops over i; this is the same
 * value in closed form. (Past 2^32, after ~4e9 updates, IDF's loop would
 * wrap; we return the low 32 bits. Unreachable in practice.) */
static uint32_t next_seq(uint32_t cur, int slot, int nslots)
{
    uint64_t n = (uint64_t)nslots;
    uint64_t base = ((uint64_t)slot + 1u) % n;
    uint64_t i = cur > base ? ((uint64_t)cur - base + n - 1u) / n : 0u;

    return (uint32_t)(base + i * n);
}

/* ---- flash ----------------------------------------------------------- */

static uint32_t entry_addr(const aloft_otadata_t *od, int idx)
{
    return od->offset + (uint32_t)idx * od->sector_size;
}

/* rewrite_ota_seq (esp_ota_ops.c) and write_otadata (bootloader_utility.c):
 * take entry idx as stored, set seq, state and crc from e, erase the
 * entry's sector and program the 32 bytes. Only that sector is touched. */
static int write_entry(aloft_otadata_t *od, int idx, const aloft_ota_entry_t *e)
{
    const aloft_flash_t *f = od->flash;
    uint32_t addr = entry_addr(od, idx);
    uint8_t raw[ALOFT_OTADATA_ENTRY_LEN];
    int err;

    err = f->read(f, addr, raw, sizeof raw);
    if (err)
        return err;
    aloft_st32(raw + OTA_SEQ_AT, e->seq);
    aloft_st32(raw + OTA_STATE_AT, e->state);
    aloft_st32(raw + OTA_CRC_AT, e->crc);
    err = f->erase(f, addr, od->sector_size);
    if (err)
        return err;
    err = f->prog(f, addr, raw, sizeof raw);
    if (err)
        return err;
    od->e[idx] = *e;
    return ALOFT_OK;
}

/* An entry as rewrite_ota_seq stores it: crc recomputed from seq. */
static aloft_ota_entry_t make_entry(uint32_t seq, uint32_t state)
{
    aloft_ota_entry_t e;

    e.seq = seq;
    e.state = state;
    e.crc = aloft_ota_entry_crc(seq);
    return e;
}

int aloft_otadata_read(aloft_otadata_t *od)
{
    uint8_t raw[ALOFT_OTADATA_ENTRY_LEN];

    if (od == NULL || od->flash == NULL)
        return ALOFT_ERR_ARG;
    for (int i = 0; i < 2; i++) {
        int err = od->flash->read(od->flash, entry_addr(od, i), raw, sizeof raw);
        if (err)
            return err;
        aloft_ota_entry_decode(&od->e[i], raw);
    }
    return ALOFT_OK;
}

/* bootloader_common_read_otadata: the partition must hold two sectors. */
int aloft_otadata_open(aloft_otadata_t *od, const aloft_flash_t *flash,
                       const aloft_ptable_t *pt)
{
    const aloft_part_t *part;

    if (od == NULL || flash == NULL || pt == NULL || flash->sector_size == 0)
        return ALOFT_ERR_ARG;
    memset(od, 0, sizeof *od);
    part = aloft_ptable_find(pt, ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_OTA);
    if (part == NULL || part->size / 2u < flash->sector_size)
        return ALOFT_ERR_NO_OTADATA;
    if (part->offset % flash->sector_size)
        return ALOFT_ERR_ALIGN;
    od->nslots = aloft_ptable_ota_slots(pt, od->slots, (int)ALOFT_OTA_SLOTS_MAX);
    if (od->nslots == 0)
        return ALOFT_ERR_NO_SLOT;
    od->flash = flash;
    od->offset = part->offset;
    od->sector_size = flash->sector_size;
    return aloft_otadata_read(od);
}

/* esp_ota_get_boot_partition: no active entry -> the default app, which
 * without a factory partition is ota_0. */
int aloft_otadata_selected(const aloft_otadata_t *od, int *entry)
{
    int active = od ? aloft_otadata_active(od->e) : -1;

    if (entry != NULL)
        *entry = active;
    if (active < 0 || od->nslots <= 0)
        return 0;
    return seq_slot(od, od->e[active].seq);
}

/* esp_rewrite_ota_data (called by esp_ota_set_boot_partition; the image
 * check before it is the caller's job). IDF's state is
 * set_new_state_otadata(): NEW with rollback, UNDEFINED without. */
int aloft_otadata_activate(aloft_otadata_t *od, int slot, uint32_t state)
{
    aloft_ota_entry_t e;
    int active, next, err;
    uint32_t seq;

    if (od == NULL || slot < 0 || slot >= od->nslots)
        return ALOFT_ERR_ARG;
    err = aloft_otadata_read(od);
    if (err)
        return err;
    active = aloft_otadata_active(od->e);
    if (active < 0) {
        /* Both invalid, e.g. blank: entry 0 gets seq = slot + 1. */
        next = 0;
        seq = (uint32_t)slot + 1u;
    } else if (seq_slot(od, od->e[active].seq) == slot) {
        /* Already selected: rewrite the active entry's state in place. */
        next = active;
        seq = od->e[active].seq;
    } else {
        /* The other entry, so a torn write leaves the active one intact. */
        next = active ^ 1;
        seq = next_seq(od->e[active].seq, slot, od->nslots);
    }
    e = make_entry(seq, state);
    return write_entry(od, next, &e);
}

/* esp_ota_current_ota_is_workable: VALID from
 * esp_ota_mark_app_valid_cancel_rollback (written only if not VALID yet),
 * INVALID from esp_ota_mark_app_invalid_rollback, which first requires
 * esp_ota_check_rollback_is_possible: the other entry must be valid (that
 * its slot holds a verified image is the caller's check). */
int aloft_otadata_set_state(aloft_otadata_t *od, uint32_t state)
{
    int active, err;
    aloft_ota_entry_t e;

    if (od == NULL || (state != ALOFT_OTA_VALID && state != ALOFT_OTA_INVALID))
        return ALOFT_ERR_ARG;
    err = aloft_otadata_read(od);
    if (err)
        return err;
    active = aloft_otadata_active(od->e);
    if (active < 0)
        return ALOFT_ERR_STATE; /* IDF: "Running firmware is factory" */
    if (state == ALOFT_OTA_VALID && od->e[active].state == ALOFT_OTA_VALID)
        return ALOFT_OK;
    if (state == ALOFT_OTA_INVALID && !aloft_ota_entry_valid(&od->e[active ^ 1]))
        return ALOFT_ERR_NO_BOOTABLE;
    e = make_entry(od->e[active].seq, state);
    return write_entry(od, active, &e);
}

/* esp_ota_check_rollback_is_possible without a factory partition: the
 * entry that is not active must be valid; its slot is where IDF looks. */
int aloft_otadata_fallback(const aloft_otadata_t *od)
{
    int active = od ? aloft_otadata_active(od->e) : -1;
    if (active < 0 || od->nslots <= 0 || !aloft_ota_entry_valid(&od->e[active ^ 1]))
        return -1;
    return seq_slot(od, od->e[active ^ 1].seq);
}

/* The newest entry that is not blank and has a good crc, whatever its
 * state: the last slot anyone (esp_ota_set_boot_partition, aloft) asked to
 * boot. */
bool aloft_otadata_rolled_back(const aloft_otadata_t *od, int running_slot)
{
    const aloft_ota_entry_t *newest = NULL;
    if (od == NULL || od->nslots <= 0)
        return false;
    for (int i = 0; i < 2; i++) {
        const aloft_ota_entry_t *e = &od->e[i];
        if (e->seq == OTA_SEQ_BLANK || e->crc != aloft_ota_entry_crc(e->seq))
            continue;
        if (newest == NULL || e->seq > newest->seq)
            newest = e;
    }
    return newest != NULL && seq_slot(od, newest->seq) != running_slot;
}

/* bootloader_utility_get_selected_boot_partition with
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (and no anti-rollback):
 *  1. every entry in PENDING_VERIFY, valid or not, is rewritten ABORTED as
 *     read (crc not recomputed): its app had a boot and never confirmed;
 *  2. both entries invalid (blank/INVALID/ABORTED, crc ignored) -> ota_0;
 *  3. else the active entry picks the slot (none active -> ota_0), and an
 *     active NEW entry is rewritten PENDING_VERIFY. */
int aloft_otadata_boot(aloft_otadata_t *od, bool *aborted)
{
    int active, err;

    if (aborted != NULL)
        *aborted = false;
    err = aloft_otadata_read(od);
    if (err)
        return err;
    for (int i = 0; i < 2; i++) {
        if (od->e[i].state == ALOFT_OTA_PENDING_VERIFY) {
            aloft_ota_entry_t e = od->e[i];
            e.state = ALOFT_OTA_ABORTED;
            err = write_entry(od, i, &e);
            if (err)
                return err;
            if (aborted != NULL)
                *aborted = true;
        }
    }
    if (entry_invalid(&od->e[0]) && entry_invalid(&od->e[1]))
        return 0;
    active = aloft_otadata_active(od->e);
    if (active < 0)
        return 0;
    if (od->e[active].state == ALOFT_OTA_NEW) {
        aloft_ota_entry_t e = od->e[active];
        e.state = ALOFT_OTA_PENDING_VERIFY;
        err = write_entry(od, active, &e);
        if (err)
            return err;
    }
    return seq_slot(od, od->e[active].seq);
}

/* Blank or torn: what the bootloader's ota_has_initial_contents tests. */
static bool entry_initial(const aloft_ota_entry_t *e)
{
    return e->seq == OTA_SEQ_BLANK || e->crc != aloft_ota_entry_crc(e->seq);
}

/* set_actual_ota_seq: after booting from otadata in its initial state
 * (both entries invalid, and each blank or with a bad crc), the bootloader
 * records the slot it booted: entry 0 = {slot + 1, VALID}, rest 0xFF. */
int aloft_otadata_booted(aloft_otadata_t *od, int slot)
{
    uint8_t raw[ALOFT_OTADATA_ENTRY_LEN];
    aloft_ota_entry_t e;
    int err;

    if (od == NULL || od->flash == NULL || slot < 0 || slot >= od->nslots)
        return ALOFT_ERR_ARG;
    if (!(entry_invalid(&od->e[0]) && entry_invalid(&od->e[1]) &&
          entry_initial(&od->e[0]) && entry_initial(&od->e[1])))
        return ALOFT_OK;
    e = make_entry((uint32_t)slot + 1u, ALOFT_OTA_VALID);
    aloft_ota_entry_encode(&e, raw); /* IDF memsets the entry to 0xFF */
    err = od->flash->erase(od->flash, od->offset, od->sector_size);
    if (err)
        return err;
    err = od->flash->prog(od->flash, od->offset, raw, sizeof raw);
    if (err)
        return err;
    od->e[0] = e;
    return ALOFT_OK;
}

uint32_t aloft_otadata_slot_state(const aloft_otadata_t *od, int slot)
{
    const aloft_ota_entry_t *best = NULL;
    for (int i = 0; i < 2; i++) {
        const aloft_ota_entry_t *e = &od->e[i];
        if (e->seq == 0xFFFFFFFFu || e->crc != aloft_ota_entry_crc(e->seq) ||
            (int)((e->seq - 1) % (uint32_t)od->nslots) != slot)
            continue;
        if (best == NULL || e->seq > best->seq)
            best = e;
    }
    return best ? best->state : ALOFT_OTA_UNDEFINED;
}
