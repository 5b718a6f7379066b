/*
 * lib/ptable.c — the ESP-IDF binary partition table (see aloft/ptable.h).
 *
 * Parsing follows esp_partition_table_verify()
 * (components/bootloader_support/src/flash_partitions.c): walk 32-byte
 * entries; 0x50AA is a partition, 0xEBEB the one MD5 entry (MD5 of all
 * entry bytes before it, at entry byte 16; the 14 filler bytes are not
 * checked), magic 0xFFFF with type and subtype 0xFF ends the table, and any
 * other magic is an error. A table with no end entry within 0xC00 bytes is
 * invalid. On top of that we check what gen_esp32part.py checks when the
 * table is built (no overlap, app partitions 64 KiB aligned), because the
 * updater relies on it before writing a slot.
 */
#include <string.h>

#include "aloft/wire/ptable.h"
#include "sbuf.h"
#include "bytes.h"

/* Frozen: these are on flash. */
#define PT_MAGIC 0x50AAu
#define PT_MAGIC_MD5 0xEBEBu
#define PT_MAGIC_END 0xFFFFu
#define PT_LABEL_LEN 16u
#define PT_MD5_AT 16u           /* digest offset inside the MD5 entry */
#define PT_APP_ALIGN 0x10000u   /* app partitions are mapped in 64 KiB pages */

/* ---- entries <-> bytes ---------------------------------------------- */

static void decode_entry(aloft_part_t *p, const uint8_t *e)
{
    size_t i;

    p->type = e[2];
    p->subtype = e[3];
    p->offset = aloft_ld32(e + 4);
    p->size = aloft_ld32(e + 8);
    /* The label is NUL-padded but need not be NUL-terminated at 16. */
    for (i = 0; i < PT_LABEL_LEN && e[12 + i] != 0; i++)
        p->label[i] = (char)e[12 + i];
    p->label[i] = '\0';
    p->flags = aloft_ld32(e + 28);
}

static void encode_entry(uint8_t *e, const aloft_part_t *p)
{
    size_t i;

    aloft_st16(e, PT_MAGIC);
    e[2] = p->type;
    e[3] = p->subtype;
    aloft_st32(e + 4, p->offset);
    aloft_st32(e + 8, p->size);
    memset(e + 12, 0, PT_LABEL_LEN);
    for (i = 0; i < PT_LABEL_LEN && p->label[i] != '\0'; i++)
        e[12 + i] = (uint8_t)p->label[i];
    aloft_st32(e + 28, p->flags);
}

/* ---- parse ----------------------------------------------------------- */

static bool is_end_entry(const uint8_t *e)
{
    return aloft_ld16(e) == PT_MAGIC_END && e[2] == 0xFFu && e[3] == 0xFFu;
}

/* The MD5 entry at index idx covers all idx entries before it. */
static int check_md5(const uint8_t *buf, size_t idx,
                     const aloft_hash_alg_t *md5, aloft_diag_t *diag)
{
    uint8_t digest[ALOFT_MD5_LEN];
    int err;

    if (md5 == NULL || md5->digest_len != ALOFT_MD5_LEN)
        return aloft_diag_set(diag, ALOFT_ERR_ARG, 0, 0, "md5");
    err = aloft_hash_oneshot(md5, buf, idx * ALOFT_PT_ENTRY_LEN, digest);
    if (err)
        return err;
    if (memcmp(digest, buf + idx * ALOFT_PT_ENTRY_LEN + PT_MD5_AT,
               sizeof digest) != 0)
        return aloft_diag_set(diag, ALOFT_ERR_PT_MD5, 0, 0, NULL);
    return ALOFT_OK;
}

/* Inside flash, without overflowing offset + size (IDF's check can). */
static bool inside_flash(const aloft_part_t *p, uint32_t flash_size)
{
    return flash_size == 0 ||
           (p->size <= flash_size && p->offset <= flash_size - p->size);
}

static bool overlaps(const aloft_part_t *a, const aloft_part_t *b)
{
    uint64_t a_end = (uint64_t)a->offset + a->size;
    uint64_t b_end = (uint64_t)b->offset + b->size;

    if (a->size == 0 || b->size == 0)
        return false;
    return a->offset < b_end && b->offset < a_end;
}

static int check_layout(const aloft_ptable_t *pt, uint32_t flash_size,
                        aloft_diag_t *diag)
{
    for (uint8_t i = 0; i < pt->count; i++) {
        const aloft_part_t *p = &pt->parts[i];
        bool bad = p->type == ALOFT_PT_TYPE_APP && p->offset % PT_APP_ALIGN;

        for (uint8_t j = 0; j < i && !bad; j++)
            bad = overlaps(p, &pt->parts[j]);
        if (bad)
            return aloft_diag_set(diag, ALOFT_ERR_PT_LAYOUT, p->offset,
                                  flash_size, p->label);
    }
    return ALOFT_OK;
}

int aloft_ptable_parse(aloft_ptable_t *pt, const uint8_t *buf, size_t len,
                       uint32_t flash_size, const aloft_hash_alg_t *md5,
                       aloft_diag_t *diag)
{
    size_t max_entries, i;
    int err;

    if (pt == NULL || buf == NULL)
        return aloft_diag_set(diag, ALOFT_ERR_ARG, 0, 0, NULL);
    memset(pt, 0, sizeof *pt);
    max_entries = (len < ALOFT_PT_LEN ? len : ALOFT_PT_LEN) / ALOFT_PT_ENTRY_LEN;

    for (i = 0; i < max_entries; i++) {
        const uint8_t *e = buf + i * ALOFT_PT_ENTRY_LEN;
        uint16_t magic = aloft_ld16(e);

        if (magic == PT_MAGIC) {
            aloft_part_t *p;
            if (pt->count >= ALOFT_PT_MAX_ENTRIES)
                return aloft_diag_set(diag, ALOFT_ERR_PT_TOO_MANY,
                                      pt->count + 1u, ALOFT_PT_MAX_ENTRIES, NULL);
            p = &pt->parts[pt->count++];
            decode_entry(p, e);
            if (!inside_flash(p, flash_size))
                return aloft_diag_set(diag, ALOFT_ERR_PT_LAYOUT, p->offset,
                                      flash_size, p->label);
        } else if (magic == PT_MAGIC_MD5 && !pt->has_md5) {
            err = check_md5(buf, i, md5, diag);
            if (err)
                return err;
            pt->has_md5 = true; /* IDF goes on to find the end entry */
        } else if (is_end_entry(e)) {
            return check_layout(pt, flash_size, diag);
        } else {
            /* A bad magic, or a second MD5 entry (IDF: only one allowed). */
            return aloft_diag_set(diag, ALOFT_ERR_PT_ENTRY, (uint32_t)i, 0, NULL);
        }
    }
    /* No end entry: IDF calls such a table invalid. */
    return aloft_diag_set(diag, ALOFT_ERR_PT_ENTRY, (uint32_t)i, 0, NULL);
}

/* ---- write ----------------------------------------------------------- */

int aloft_ptable_write(const aloft_ptable_t *pt, uint8_t *out, size_t len,
                       const aloft_hash_alg_t *md5)
{
    size_t n;
    uint8_t *e;
    int err;

    if (pt == NULL || out == NULL || len < ALOFT_PT_LEN || md5 == NULL ||
        md5->digest_len != ALOFT_MD5_LEN || pt->count > ALOFT_PT_MAX_ENTRIES)
        return ALOFT_ERR_ARG;
    memset(out, 0xFF, ALOFT_PT_LEN);
    for (n = 0; n < pt->count; n++)
        encode_entry(out + n * ALOFT_PT_ENTRY_LEN, &pt->parts[n]);

    /* MD5 entry: EB EB, 14 x FF (already there), digest of the entries. */
    e = out + n * ALOFT_PT_ENTRY_LEN;
    aloft_st16(e, PT_MAGIC_MD5);
    err = aloft_hash_oneshot(md5, out, n * ALOFT_PT_ENTRY_LEN, e + PT_MD5_AT);
    if (err)
        return err;
    return (int)((n + 1) * ALOFT_PT_ENTRY_LEN);
}

/* ---- built-in schemes ------------------------------------------------ */

typedef struct {
    const char *label;
    uint8_t type, subtype;
    uint32_t offset, size;
} scheme_entry_t;

#define SCHEME_ENTRIES 6u

/* arduino-esp32 tools/partitions/default.csv (current revision). */
static const scheme_entry_t scheme_default[SCHEME_ENTRIES] = {
    {"nvs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_NVS, 0x9000u, 0x5000u},
    {"otadata", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_OTA, 0xE000u, 0x2000u},
    {"app0", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0, 0x10000u, 0x140000u},
    {"app1", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0 + 1u, 0x150000u, 0x140000u},
    {"spiffs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_SPIFFS, 0x290000u, 0x160000u},
    {"coredump", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_COREDUMP, 0x3F0000u, 0x10000u},
};

/* arduino-esp32 tools/partitions/min_spiffs.csv (current revision). */
static const scheme_entry_t scheme_min_spiffs[SCHEME_ENTRIES] = {
    {"nvs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_NVS, 0x9000u, 0x5000u},
    {"otadata", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_OTA, 0xE000u, 0x2000u},
    {"app0", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0, 0x10000u, 0x1E0000u},
    {"app1", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0 + 1u, 0x1F0000u, 0x1E0000u},
    {"spiffs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_SPIFFS, 0x3D0000u, 0x20000u},
    {"coredump", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_COREDUMP, 0x3F0000u, 0x10000u},
};

static const scheme_entry_t *scheme_table(aloft_scheme_t scheme)
{
    switch (scheme) {
    case ALOFT_SCHEME_DEFAULT: return scheme_default;
    case ALOFT_SCHEME_MIN_SPIFFS: return scheme_min_spiffs;
    }
    return NULL;
}

int aloft_ptable_scheme(aloft_ptable_t *pt, aloft_scheme_t scheme)
{
    const scheme_entry_t *s = scheme_table(scheme);

    if (pt == NULL || s == NULL)
        return ALOFT_ERR_ARG;
    memset(pt, 0, sizeof *pt);
    for (size_t i = 0; i < SCHEME_ENTRIES; i++) {
        aloft_part_t *p = &pt->parts[i];
        p->type = s[i].type;
        p->subtype = s[i].subtype;
        p->offset = s[i].offset;
        p->size = s[i].size;
        memcpy(p->label, s[i].label, strlen(s[i].label) + 1); /* < 17 bytes */
    }
    pt->count = SCHEME_ENTRIES;
    pt->has_md5 = true; /* gen_esp32part.py appends one by default */
    return ALOFT_OK;
}

const char *aloft_scheme_name(aloft_scheme_t scheme)
{
    switch (scheme) {
    case ALOFT_SCHEME_DEFAULT: return "default";
    case ALOFT_SCHEME_MIN_SPIFFS: return "min_spiffs";
    }
    return "unknown";
}

int aloft_scheme_parse(const char *name, aloft_scheme_t *scheme)
{
    static const aloft_scheme_t all[] = {ALOFT_SCHEME_DEFAULT,
                                         ALOFT_SCHEME_MIN_SPIFFS};

    if (name == NULL || scheme == NULL)
        return ALOFT_ERR_ARG;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (aloft_str_eq(name, aloft_scheme_name(all[i]))) {
            *scheme = all[i];
            return ALOFT_OK;
        }
    }
    return ALOFT_ERR_ARG;
}

uint32_t aloft_scheme_app_size(aloft_scheme_t scheme)
{
    const scheme_entry_t *s = scheme_table(scheme);
    return s ? s[2].size : 0; /* app0; app1 has the same size */
}

/* ---- lookups --------------------------------------------------------- */

const aloft_part_t *aloft_ptable_find(const aloft_ptable_t *pt, uint8_t type,
                                      uint8_t subtype)
{
    if (pt == NULL)
        return NULL;
    for (uint8_t i = 0; i < pt->count && i < ALOFT_PT_MAX_ENTRIES; i++)
        if (pt->parts[i].type == type && pt->parts[i].subtype == subtype)
            return &pt->parts[i];
    return NULL;
}

const aloft_part_t *aloft_ptable_find_label(const aloft_ptable_t *pt,
                                            const char *label)
{
    if (pt == NULL || label == NULL)
        return NULL;
    for (uint8_t i = 0; i < pt->count && i < ALOFT_PT_MAX_ENTRIES; i++)
        if (aloft_str_eq(pt->parts[i].label, label))
            return &pt->parts[i];
    return NULL;
}

/* As esp_ota_get_app_partition_count() (esp_ota_ops.c): count ota_0,
 * ota_1, ... while each exists, taking the first partition per subtype. */
int aloft_ptable_ota_slots(const aloft_ptable_t *pt, const aloft_part_t **slots,
                           int max)
{
    int n = 0;

    for (; n < 16; n++) {
        const aloft_part_t *p = aloft_ptable_find(pt, ALOFT_PT_TYPE_APP,
                                                  (uint8_t)(ALOFT_PT_APP_OTA_0 + n));
        if (p == NULL)
            break;
        if (slots != NULL && n < max)
            slots[n] = p;
    }
    return n;
}

static bool is_fs_subtype(uint8_t subtype)
{
    return subtype == ALOFT_PT_DATA_SPIFFS || subtype == ALOFT_PT_DATA_LITTLEFS ||
           subtype == ALOFT_PT_DATA_FAT;
}

const aloft_part_t *aloft_ptable_find_fs(const aloft_ptable_t *pt,
                                         const char *label)
{
    const aloft_part_t *p;

    if (pt == NULL)
        return NULL;
    if (label != NULL) {
        p = aloft_ptable_find_label(pt, label);
        /* Never hand an app slot to a filesystem upload. */
        return p && p->type == ALOFT_PT_TYPE_DATA ? p : NULL;
    }
    for (uint8_t i = 0; i < pt->count && i < ALOFT_PT_MAX_ENTRIES; i++) {
        p = &pt->parts[i];
        if (p->type == ALOFT_PT_TYPE_DATA && is_fs_subtype(p->subtype))
            return p;
    }
    return NULL;
}
