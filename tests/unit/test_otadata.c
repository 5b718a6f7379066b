/*
 * tests/unit/test_otadata.c — ESP-IDF otadata: CRC vectors, validity and
 * selection rules, seq computation of esp_rewrite_ota_data, the bootloader's
 * rollback step, and power cuts during otadata writes.
 *
 * CRC vectors are from protocol.md §10.5 (binascii.crc32(seq, 0xFFFFFFFF));
 * expected seqs come from a brute-force oracle of IDF's rule or are spelled
 * out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_ptable_util.h"
#include "aloft/util.h"
#include "aloft/wire/otadata.h"
#include "aloft/wire/ptable.h"
#include "bytes.h"
#include "test_flash.h"

#define FLASH_SIZE 0x400000u
#define SECTOR 0x1000u
#define OTADATA 0xE000u
#define BLANK 0xFFFFFFFFu

/* ---- fixture ---------------------------------------------------------- */

typedef struct fx {
    test_flash_t tf;
    aloft_ptable_t pt;
    aloft_otadata_t od;
} fx_t;

static fx_t g_fx; /* 4 MB flash mapping lives in the file, not here */


/* nslots 2: arduino default scheme; 3: a three-slot table. */
static fx_t *fx_open(int nslots)
{
    fx_t *f = &g_fx;
    memset(f, 0, sizeof *f);
    assert_int_equal(test_flash_open(&f->tf, FLASH_SIZE), 0);
    if (nslots == 2) {
        assert_int_equal(aloft_ptable_scheme(&f->pt, ALOFT_SCHEME_DEFAULT), 0);
    } else {
        test_add_part(&f->pt, "nvs", 1, 0x02, 0x9000, 0x5000);
        test_add_part(&f->pt, "otadata", 1, 0x00, OTADATA, 0x2000);
        for (int i = 0; i < nslots; i++)
            test_add_part(&f->pt, "app", 0, (uint8_t)(0x10 + i),
                     0x10000u + (uint32_t)i * 0x100000u, 0x100000u);
    }
    assert_int_equal(aloft_otadata_open(&f->od, &f->tf.nor.flash, &f->pt), 0);
    assert_int_equal(f->od.nslots, nslots);
    return f;
}

static void fx_close(fx_t *f)
{
    test_flash_close(&f->tf);
}

static const aloft_flash_t *fl(fx_t *f)
{
    return &f->tf.nor.flash;
}

/* Write a raw entry straight to flash (erase sector + program 32 bytes). */
static void put_entry(fx_t *f, int idx, uint32_t seq, uint32_t state, uint32_t crc)
{
    aloft_ota_entry_t e = {seq, state, crc};
    uint8_t raw[32];
    uint32_t addr = OTADATA + (uint32_t)idx * SECTOR;
    aloft_ota_entry_encode(&e, raw);
    assert_int_equal(fl(f)->erase(fl(f), addr, SECTOR), 0);
    assert_int_equal(fl(f)->prog(fl(f), addr, raw, sizeof raw), 0);
}

static void put_valid(fx_t *f, int idx, uint32_t seq, uint32_t state)
{
    put_entry(f, idx, seq, state, aloft_ota_entry_crc(seq));
}

static void blank_otadata(fx_t *f)
{
    assert_int_equal(fl(f)->erase(fl(f), OTADATA, SECTOR), 0);
    assert_int_equal(fl(f)->erase(fl(f), OTADATA + SECTOR, SECTOR), 0);
}

/* Entry idx as it is on flash now (not as od caches it). */
static aloft_ota_entry_t get_entry(fx_t *f, int idx)
{
    aloft_ota_entry_t e;
    uint8_t raw[32];
    assert_int_equal(fl(f)->read(fl(f), OTADATA + (uint32_t)idx * SECTOR, raw, 32), 0);
    aloft_ota_entry_decode(&e, raw);
    return e;
}

static void read_sector(fx_t *f, int idx, uint8_t *buf)
{
    assert_int_equal(fl(f)->read(fl(f), OTADATA + (uint32_t)idx * SECTOR, buf, SECTOR), 0);
}

static void assert_entry(aloft_ota_entry_t e, uint32_t seq, uint32_t state)
{
    assert_int_equal(e.seq, seq);
    assert_int_equal(e.state, state);
    assert_int_equal(e.crc, aloft_ota_entry_crc(seq));
}

static uint64_t writes(fx_t *f)
{
    return f->tf.nor.count.erases + f->tf.nor.count.progs;
}

/* Brute force of IDF's rule: the smallest seq >= cur with
 * (seq - 1) % n == slot. */
static uint32_t oracle_seq(uint32_t cur, int slot, int n)
{
    for (uint32_t s = cur;; s++)
        if ((s - 1u) % (uint32_t)n == (uint32_t)slot)
            return s;
}

/* ---- CRC and entry bytes ------------------------------------------------ */

static void test_crc_vectors(void **state)
{
    static const uint32_t want[5] = {0, 0x4743989Au, 0x55F63774u, 0xED4A5011u,
                                     0x709D68A8u};
    (void)state;
    for (uint32_t seq = 1; seq <= 4; seq++) {
        uint8_t b[4];
        aloft_st32(b, seq);
        assert_int_equal(aloft_ota_entry_crc(seq), want[seq]);
        assert_int_equal(aloft_crc32(0xFFFFFFFFu, b, 4), want[seq]);
    }
    /* Plain CRC-32 check value, and chaining in zlib's convention. */
    assert_int_equal(aloft_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(aloft_crc32(aloft_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(aloft_crc32(0, NULL, 0), 0);
}

static void test_entry_bytes(void **state)
{
    aloft_ota_entry_t e = {1, ALOFT_OTA_NEW, 0x4743989Au}, d;
    uint8_t raw[32];
    static const uint8_t want[32] = {
        0x01, 0x00, 0x00, 0x00,                          /* ota_seq */
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  /* seq_label */
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF,
        0x00, 0x00, 0x00, 0x00,                          /* ota_state */
        0x9A, 0x98, 0x43, 0x47,                          /* crc */
    };
    (void)state;
    aloft_ota_entry_encode(&e, raw);
    assert_memory_equal(raw, want, 32);
    aloft_ota_entry_decode(&d, raw);
    assert_int_equal(d.seq, 1);
    assert_int_equal(d.state, ALOFT_OTA_NEW);
    assert_int_equal(d.crc, 0x4743989Au);
    assert_string_equal(aloft_ota_state_name(ALOFT_OTA_PENDING_VERIFY), "PENDING_VERIFY");
    assert_string_equal(aloft_ota_state_name(ALOFT_OTA_UNDEFINED), "UNDEFINED");
    assert_string_equal(aloft_ota_state_name(7), "UNKNOWN");
}

/* ---- validity and selection (pure) ------------------------------------- */

static aloft_ota_entry_t ent(uint32_t seq, uint32_t st)
{
    aloft_ota_entry_t e = {seq, st, aloft_ota_entry_crc(seq)};
    return e;
}

static void test_validity(void **state)
{
    aloft_ota_entry_t e;
    (void)state;
    static const uint32_t ok[] = {ALOFT_OTA_NEW, ALOFT_OTA_PENDING_VERIFY,
                                  ALOFT_OTA_VALID, ALOFT_OTA_UNDEFINED, 0x77};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        e = ent(3, ok[i]);
        assert_true(aloft_ota_entry_valid(&e));
    }
    e = ent(3, ALOFT_OTA_INVALID);
    assert_false(aloft_ota_entry_valid(&e));
    e = ent(3, ALOFT_OTA_ABORTED);
    assert_false(aloft_ota_entry_valid(&e));
    e = ent(BLANK, ALOFT_OTA_VALID); /* blank seq, even with its crc */
    assert_false(aloft_ota_entry_valid(&e));
    e = ent(3, ALOFT_OTA_VALID);
    e.crc ^= 1; /* torn */
    assert_false(aloft_ota_entry_valid(&e));
    e = ent(0, ALOFT_OTA_VALID); /* seq 0 is valid to IDF */
    assert_true(aloft_ota_entry_valid(&e));
}

static void test_active(void **state)
{
    aloft_ota_entry_t e[2];
    (void)state;
    e[0] = ent(BLANK, BLANK);
    e[1] = ent(BLANK, BLANK);
    e[0].crc = e[1].crc = BLANK;
    assert_int_equal(aloft_otadata_active(e), -1);
    e[1] = ent(2, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_active(e), 1);
    e[0] = ent(3, ALOFT_OTA_NEW);
    assert_int_equal(aloft_otadata_active(e), 0);
    e[1] = ent(4, ALOFT_OTA_UNDEFINED);
    assert_int_equal(aloft_otadata_active(e), 1);
    /* Tie: entry 0 (MAX(seq0, seq1) == seq0). */
    e[0] = ent(4, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_active(e), 0);
    /* The larger seq wins, unsigned, with no wrap-around compare. */
    e[0] = ent(0xFFFFFFFEu, ALOFT_OTA_VALID);
    e[1] = ent(1, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_active(e), 0);
    /* An invalid entry never wins, whatever its seq. */
    e[0] = ent(9, ALOFT_OTA_ABORTED);
    assert_int_equal(aloft_otadata_active(e), 1);
    e[1].crc ^= 0x100;
    assert_int_equal(aloft_otadata_active(e), -1);
}

static void test_selected(void **state)
{
    aloft_otadata_t od;
    int entry;
    (void)state;
    memset(&od, 0, sizeof od);
    od.nslots = 2;
    od.e[0] = ent(BLANK, BLANK);
    od.e[1] = ent(BLANK, BLANK);
    assert_int_equal(aloft_otadata_selected(&od, &entry), 0); /* ota_0 */
    assert_int_equal(entry, -1);
    od.e[1] = ent(4, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_selected(&od, &entry), 1); /* (4-1)%2 */
    assert_int_equal(entry, 1);
    od.nslots = 3;
    assert_int_equal(aloft_otadata_selected(&od, &entry), 0); /* (4-1)%3 */
    /* Wrap: seq 0 maps to (0 - 1) mod 2^32 = 0xFFFFFFFF, % n. */
    od.e[0] = ent(0, ALOFT_OTA_VALID);
    od.e[1] = ent(BLANK, BLANK);
    od.nslots = 2;
    assert_int_equal(aloft_otadata_selected(&od, &entry), 1);
    od.nslots = 3;
    assert_int_equal(aloft_otadata_selected(&od, &entry), 0);
    /* Top of the range: (0xFFFFFFFE - 1) % 3 == 1. */
    od.e[0] = ent(0xFFFFFFFEu, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_selected(&od, &entry), 1);
    assert_int_equal(entry, 0);
    assert_int_equal(aloft_otadata_selected(&od, NULL), 1);
}

/* esp_ota_check_rollback_is_possible's otadata half: the inactive entry
 * must be valid; its slot is the answer. */
static void test_fallback(void **state)
{
    aloft_otadata_t od;
    (void)state;
    memset(&od, 0, sizeof od);
    od.nslots = 2;
    od.e[0] = ent(BLANK, BLANK);
    od.e[1] = ent(BLANK, BLANK);
    assert_int_equal(aloft_otadata_fallback(&od), -1);          /* nothing active */
    od.e[0] = ent(1, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_fallback(&od), -1);          /* first boot: one entry */
    od.e[1] = ent(2, ALOFT_OTA_PENDING_VERIFY);
    assert_int_equal(aloft_otadata_fallback(&od), 0);           /* back to ota_0 */
    od.e[0] = ent(1, ALOFT_OTA_ABORTED);
    assert_int_equal(aloft_otadata_fallback(&od), -1);          /* old one abandoned */
    od.e[0] = ent(1, ALOFT_OTA_VALID);
    od.e[0].crc ^= 1;
    assert_int_equal(aloft_otadata_fallback(&od), -1);          /* torn */
    /* Three slots: entries 5 (slot 1) and 6 (slot 2), 6 active. */
    od.nslots = 3;
    od.e[0] = ent(6, ALOFT_OTA_NEW);
    od.e[1] = ent(5, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_fallback(&od), 1);
    assert_int_equal(aloft_otadata_fallback(NULL), -1);
}

/* The newest readable entry names another slot than the running one. */
static void test_rolled_back(void **state)
{
    aloft_otadata_t od;
    (void)state;
    memset(&od, 0, sizeof od);
    od.nslots = 2;
    od.e[0] = ent(BLANK, BLANK);
    od.e[1] = ent(BLANK, BLANK);
    assert_false(aloft_otadata_rolled_back(&od, 0));            /* blank: nothing asked */
    od.e[0] = ent(1, ALOFT_OTA_VALID);
    assert_false(aloft_otadata_rolled_back(&od, 0));
    od.e[1] = ent(2, ALOFT_OTA_ABORTED);                       /* never confirmed */
    assert_true(aloft_otadata_rolled_back(&od, 0));
    od.e[1] = ent(2, ALOFT_OTA_INVALID);                       /* rejected */
    assert_true(aloft_otadata_rolled_back(&od, 0));
    od.e[1] = ent(2, ALOFT_OTA_PENDING_VERIFY);                /* did not load */
    assert_true(aloft_otadata_rolled_back(&od, 0));
    assert_false(aloft_otadata_rolled_back(&od, 1));           /* runs as asked */
    od.e[1].crc ^= 1;                                          /* a torn write asked nothing */
    assert_false(aloft_otadata_rolled_back(&od, 0));
    assert_false(aloft_otadata_rolled_back(NULL, 0));
}

/* ---- open ------------------------------------------------------------- */

static void test_open_errors(void **state)
{
    fx_t *f = fx_open(2);
    aloft_ptable_t pt;
    aloft_otadata_t od;
    (void)state;

    assert_int_equal(f->od.offset, OTADATA);
    assert_int_equal(f->od.sector_size, SECTOR);
    assert_string_equal(f->od.slots[0]->label, "app0");
    assert_string_equal(f->od.slots[1]->label, "app1");

    pt = f->pt;
    pt.parts[1].subtype = 0x99; /* no data/ota */
    assert_int_equal(aloft_otadata_open(&od, fl(f), &pt), ALOFT_ERR_NO_OTADATA);
    pt = f->pt;
    pt.parts[1].size = SECTOR; /* one sector is too small */
    assert_int_equal(aloft_otadata_open(&od, fl(f), &pt), ALOFT_ERR_NO_OTADATA);
    pt = f->pt;
    pt.parts[2].subtype = 0x00; /* app0 becomes factory: no ota_0 */
    assert_int_equal(aloft_otadata_open(&od, fl(f), &pt), ALOFT_ERR_NO_SLOT);
    assert_int_equal(aloft_otadata_open(NULL, fl(f), &f->pt), ALOFT_ERR_ARG);
    fx_close(f);
}

/* ---- activate --------------------------------------------------------- */

static void test_activate_blank(void **state)
{
    fx_t *f = fx_open(3);
    int entry;
    (void)state;
    /* Both invalid: entry 0 gets seq = slot + 1. */
    assert_int_equal(aloft_otadata_activate(&f->od, 2, ALOFT_OTA_NEW), 0);
    assert_entry(get_entry(f, 0), 3, ALOFT_OTA_NEW);
    assert_int_equal(get_entry(f, 1).seq, BLANK);
    assert_int_equal(aloft_otadata_selected(&f->od, &entry), 2);
    assert_int_equal(entry, 0);
    assert_int_equal(aloft_otadata_activate(&f->od, 3, ALOFT_OTA_NEW), ALOFT_ERR_ARG);
    assert_int_equal(aloft_otadata_activate(&f->od, -1, ALOFT_OTA_NEW), ALOFT_ERR_ARG);
    fx_close(f);
}

/* IDF's compute_ota_seq_for_target_slot uses base = (slot + 1) % n, which
 * shows only from seq 0 (never written by IDF itself, but valid): with 3
 * slots, from seq 0 (slot 0) to slot 2 the new seq is 0 again, the tie goes
 * to entry 0 and slot 0 stays selected. Mirrored as is. */
static void test_activate_seq_zero(void **state)
{
    fx_t *f = fx_open(3);
    int entry;
    (void)state;
    put_valid(f, 0, 0, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_activate(&f->od, 2, ALOFT_OTA_NEW), 0);
    assert_entry(get_entry(f, 1), 0, ALOFT_OTA_NEW);
    assert_int_equal(aloft_otadata_selected(&f->od, &entry), 0);
    assert_int_equal(entry, 0);
    fx_close(f);
}

/* Hand-computed chain on three slots, starting where the bootloader leaves
 * a blank device: entry 0 = {1, VALID}. */
static void test_activate_chain_3(void **state)
{
    static const struct { int slot, entry; uint32_t seq; } steps[] = {
        {1, 1, 2}, {2, 0, 3}, {0, 1, 4}, {2, 0, 6}, {1, 1, 8}, {0, 0, 10},
    };
    fx_t *f = fx_open(3);
    (void)state;
    put_valid(f, 0, 1, ALOFT_OTA_VALID);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int entry;
        assert_int_equal(aloft_otadata_activate(&f->od, steps[i].slot,
                                                ALOFT_OTA_UNDEFINED), 0);
        assert_entry(get_entry(f, steps[i].entry), steps[i].seq, ALOFT_OTA_UNDEFINED);
        assert_int_equal(aloft_otadata_selected(&f->od, &entry), steps[i].slot);
        assert_int_equal(entry, steps[i].entry);
    }
    fx_close(f);
}

/* Many updates on n slots, with random targets and now and then an
 * unconfirmed boot that rolls back: every activation writes the expected
 * seq into the expected entry, and never touches the other sector. */
static void sweep(int nslots, int updates)
{
    fx_t *f = fx_open(nslots);
    static uint8_t keep[SECTOR], now[SECTOR];
    uint32_t rng = 0x12345678u;

    put_valid(f, 0, 1, ALOFT_OTA_VALID);
    for (int i = 0; i < updates; i++) {
        aloft_ota_entry_t before[2] = {get_entry(f, 0), get_entry(f, 1)};
        int active = aloft_otadata_active(before), next, entry;
        uint32_t seq;
        uint64_t w;

        rng = rng * 1103515245u + 12345u;
        int slot = (int)((rng >> 16) % (uint32_t)nslots);
        if (active < 0) {
            next = 0;
            seq = (uint32_t)slot + 1u;
        } else if ((int)((before[active].seq - 1u) % (uint32_t)nslots) == slot) {
            next = active;
            seq = before[active].seq;
        } else {
            next = active ^ 1;
            seq = oracle_seq(before[active].seq, slot, nslots);
        }
        read_sector(f, next ^ 1, keep);
        w = writes(f);

        assert_int_equal(aloft_otadata_activate(&f->od, slot, ALOFT_OTA_NEW), 0);

        assert_int_equal(writes(f) - w, 2); /* one erase, one program */
        assert_entry(get_entry(f, next), seq, ALOFT_OTA_NEW);
        read_sector(f, next ^ 1, now);
        assert_memory_equal(keep, now, SECTOR);
        assert_int_equal(aloft_otadata_selected(&f->od, &entry), slot);
        assert_int_equal(entry, next);

        /* Boot it; confirm 3 times in 4, else the next boot rolls back. */
        assert_int_equal(aloft_otadata_boot(&f->od, NULL), slot);
        if ((rng >> 8) % 4 != 0) {
            assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_VALID), 0);
        } else {
            bool aborted;
            assert_true(aloft_otadata_boot(&f->od, &aborted) >= 0);
            assert_true(aborted);
        }
    }
    fx_close(f);
}

static void test_activate_sweep_2(void **state)
{
    (void)state;
    sweep(2, 300);
}

static void test_activate_sweep_3(void **state)
{
    (void)state;
    sweep(3, 300);
}

/* Two slots, alternating, always confirmed: seq goes up by one each time
 * and the entries take turns. */
static void test_activate_alternating_2(void **state)
{
    fx_t *f = fx_open(2);
    (void)state;
    put_valid(f, 0, 1, ALOFT_OTA_VALID);
    for (uint32_t k = 1; k <= 40; k++) {
        int slot = (int)(k % 2);
        assert_int_equal(aloft_otadata_activate(&f->od, slot, ALOFT_OTA_NEW), 0);
        assert_entry(get_entry(f, (int)(k % 2)), k + 1, ALOFT_OTA_NEW);
        assert_entry(get_entry(f, (int)((k + 1) % 2)), k,
                     k == 1 ? ALOFT_OTA_VALID : ALOFT_OTA_NEW);
    }
    fx_close(f);
}

/* esp_rewrite_ota_data: the active entry already selects the slot ->
 * rewrite its state, same seq, same entry. */
static void test_activate_same_slot(void **state)
{
    fx_t *f = fx_open(2);
    uint8_t keep[SECTOR], now[SECTOR];
    uint64_t w;
    (void)state;
    put_valid(f, 0, 3, ALOFT_OTA_VALID); /* slot 0 */
    put_valid(f, 1, 2, ALOFT_OTA_VALID); /* slot 1, older */
    read_sector(f, 1, keep);
    w = writes(f);
    assert_int_equal(aloft_otadata_activate(&f->od, 0, ALOFT_OTA_NEW), 0);
    assert_int_equal(writes(f) - w, 2);
    assert_entry(get_entry(f, 0), 3, ALOFT_OTA_NEW);
    read_sector(f, 1, now);
    assert_memory_equal(keep, now, SECTOR);
    fx_close(f);
}

/* A torn entry (bad crc) is ignored, and is what activation overwrites. */
static void test_activate_over_torn(void **state)
{
    fx_t *f = fx_open(2);
    int entry;
    (void)state;
    put_entry(f, 0, 9, ALOFT_OTA_NEW, 0x12345678u); /* torn */
    put_valid(f, 1, 5, ALOFT_OTA_VALID);            /* slot 0 */
    assert_int_equal(aloft_otadata_read(&f->od), 0);
    assert_int_equal(aloft_otadata_selected(&f->od, &entry), 0);
    assert_int_equal(entry, 1);
    assert_int_equal(aloft_otadata_activate(&f->od, 1, ALOFT_OTA_NEW), 0);
    assert_entry(get_entry(f, 0), 6, ALOFT_OTA_NEW);
    assert_entry(get_entry(f, 1), 5, ALOFT_OTA_VALID);
    fx_close(f);
}

/* The rest of the entry (seq_label) is kept as stored, as IDF's
 * rewrite_ota_seq keeps the struct it read. */
static void test_activate_keeps_label(void **state)
{
    fx_t *f = fx_open(2);
    uint8_t raw[32];
    (void)state;
    put_valid(f, 0, 1, ALOFT_OTA_VALID);
    aloft_ota_entry_t e = ent(7, ALOFT_OTA_ABORTED);
    aloft_ota_entry_encode(&e, raw);
    memcpy(raw + 4, "label", 5);
    assert_int_equal(fl(f)->erase(fl(f), OTADATA + SECTOR, SECTOR), 0);
    assert_int_equal(fl(f)->prog(fl(f), OTADATA + SECTOR, raw, 32), 0);
    assert_int_equal(aloft_otadata_activate(&f->od, 1, ALOFT_OTA_NEW), 0);
    assert_int_equal(fl(f)->read(fl(f), OTADATA + SECTOR, raw, 32), 0);
    assert_memory_equal(raw + 4, "label", 5);
    assert_int_equal(raw[9], 0xFF);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_NEW);
    fx_close(f);
}

/* ---- boot: the bootloader's rollback step ------------------------------ */

static void test_rollback_unconfirmed(void **state)
{
    fx_t *f = fx_open(2);
    bool aborted;
    uint64_t w;
    (void)state;

    /* Fresh device: blank otadata, ota_0 boots, the bootloader records it. */
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 0);
    assert_false(aborted);
    assert_int_equal(aloft_otadata_booted(&f->od, 0), 0);
    assert_entry(get_entry(f, 0), 1, ALOFT_OTA_VALID);

    /* Update to ota_1 with rollback. */
    assert_int_equal(aloft_otadata_activate(&f->od, 1, ALOFT_OTA_NEW), 0);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_NEW);

    /* First boot of the new app: NEW -> PENDING_VERIFY, ota_1 boots. */
    assert_int_equal(test_flash_reboot(&f->tf), 0);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 1);
    assert_false(aborted);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_PENDING_VERIFY);
    assert_int_equal(aloft_otadata_booted(&f->od, 1), 0); /* not initial */
    assert_entry(get_entry(f, 0), 1, ALOFT_OTA_VALID);

    /* The app never confirms: next boot aborts it and ota_0 boots. */
    assert_int_equal(test_flash_reboot(&f->tf), 0);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 0);
    assert_true(aborted);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_ABORTED);
    assert_entry(get_entry(f, 0), 1, ALOFT_OTA_VALID);

    /* And it stays that way, with no more writes. */
    assert_int_equal(test_flash_reboot(&f->tf), 0);
    w = writes(f);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 0);
    assert_false(aborted);
    assert_int_equal(writes(f), w);

    /* The next update goes past the aborted seq. */
    assert_int_equal(aloft_otadata_activate(&f->od, 1, ALOFT_OTA_NEW), 0);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_NEW);
    fx_close(f);
}

static void test_rollback_confirmed(void **state)
{
    fx_t *f = fx_open(2);
    bool aborted;
    uint64_t w;
    (void)state;
    put_valid(f, 0, 1, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_activate(&f->od, 1, ALOFT_OTA_NEW), 0);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 1);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_PENDING_VERIFY);

    /* The app confirms itself. */
    assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_VALID), 0);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_VALID);
    /* Confirming again writes nothing (IDF skips an already VALID entry). */
    w = writes(f);
    assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_VALID), 0);
    assert_int_equal(writes(f), w);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(test_flash_reboot(&f->tf), 0);
        assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 1);
        assert_false(aborted);
        assert_int_equal(writes(f), 0); /* counters restart on reboot */
    }
    assert_entry(get_entry(f, 0), 1, ALOFT_OTA_VALID);
    fx_close(f);
}

static void test_rollback_invalid(void **state)
{
    fx_t *f = fx_open(2);
    bool aborted;
    (void)state;
    put_valid(f, 0, 1, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_activate(&f->od, 1, ALOFT_OTA_NEW), 0);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 1);
    /* The app rejects itself: the other entry takes over. */
    assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_INVALID), 0);
    assert_entry(get_entry(f, 1), 2, ALOFT_OTA_INVALID);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 0);
    assert_false(aborted);
    /* Now ota_0 runs; rejecting it has nothing to fall back to. */
    assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_INVALID),
                     ALOFT_ERR_NO_BOOTABLE);
    assert_entry(get_entry(f, 0), 1, ALOFT_OTA_VALID);
    assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_NEW), ALOFT_ERR_ARG);
    fx_close(f);
}

static void test_set_state_no_active(void **state)
{
    fx_t *f = fx_open(2);
    (void)state;
    assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_VALID), ALOFT_ERR_STATE);
    put_entry(f, 0, 1, ALOFT_OTA_VALID, 0); /* torn */
    assert_int_equal(aloft_otadata_set_state(&f->od, ALOFT_OTA_VALID), ALOFT_ERR_STATE);
    fx_close(f);
}

/* Without a prior valid entry, an aborted new image leaves both entries
 * invalid: the bootloader then boots ota_0. */
static void test_rollback_from_blank(void **state)
{
    fx_t *f = fx_open(2);
    bool aborted;
    (void)state;
    assert_int_equal(aloft_otadata_activate(&f->od, 1, ALOFT_OTA_NEW), 0);
    assert_entry(get_entry(f, 0), 2, ALOFT_OTA_NEW);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 1);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 0);
    assert_true(aborted);
    /* Not "initial contents" (entry 0 has a good crc): nothing recorded. */
    assert_int_equal(aloft_otadata_booted(&f->od, 0), 0);
    assert_entry(get_entry(f, 0), 2, ALOFT_OTA_ABORTED);
    assert_int_equal(get_entry(f, 1).seq, BLANK);
    fx_close(f);
}

/* A torn entry is ignored by selection, but a torn PENDING_VERIFY entry is
 * still rewritten ABORTED (IDF's loop looks at the state only), crc kept. */
static void test_boot_torn_entries(void **state)
{
    fx_t *f = fx_open(2);
    bool aborted;
    (void)state;
    put_valid(f, 0, 1, ALOFT_OTA_VALID);
    put_entry(f, 1, 2, ALOFT_OTA_NEW, 0xDEADBEEFu);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 0);
    assert_false(aborted);
    assert_int_equal(get_entry(f, 1).state, ALOFT_OTA_NEW); /* untouched */

    put_entry(f, 1, 2, ALOFT_OTA_PENDING_VERIFY, 0xDEADBEEFu);
    assert_int_equal(aloft_otadata_boot(&f->od, &aborted), 0);
    assert_true(aborted);
    assert_int_equal(get_entry(f, 1).state, ALOFT_OTA_ABORTED);
    assert_int_equal(get_entry(f, 1).crc, 0xDEADBEEFu);
    fx_close(f);
}

/* set_actual_ota_seq: written only after a boot from initial otadata. */
static void test_booted_initial(void **state)
{
    fx_t *f = fx_open(3);
    uint64_t w;
    (void)state;
    /* Blank + a torn VALID entry: not "both invalid" (the crc plays no
     * part there), so IDF takes the no-active-entry path: nothing written. */
    put_entry(f, 1, 5, ALOFT_OTA_VALID, 0);
    assert_int_equal(aloft_otadata_boot(&f->od, NULL), 0);
    w = writes(f);
    assert_int_equal(aloft_otadata_booted(&f->od, 2), 0);
    assert_int_equal(writes(f), w);
    assert_int_equal(get_entry(f, 0).seq, BLANK);

    /* Blank + a torn ABORTED entry: initial; the booted slot is recorded. */
    put_entry(f, 1, 5, ALOFT_OTA_ABORTED, 0);
    assert_int_equal(aloft_otadata_boot(&f->od, NULL), 0);
    assert_int_equal(aloft_otadata_booted(&f->od, 2), 0);
    assert_entry(get_entry(f, 0), 3, ALOFT_OTA_VALID);
    /* Now otadata is not initial: no further writes. */
    assert_int_equal(aloft_otadata_boot(&f->od, NULL), 2);
    w = writes(f);
    assert_int_equal(aloft_otadata_booted(&f->od, 2), 0);
    assert_int_equal(writes(f), w);
    assert_int_equal(aloft_otadata_booted(&f->od, 3), ALOFT_ERR_ARG);

    /* Both INVALID with good crcs: both invalid but not initial. */
    put_valid(f, 0, 1, ALOFT_OTA_INVALID);
    put_valid(f, 1, 2, ALOFT_OTA_INVALID);
    assert_int_equal(aloft_otadata_boot(&f->od, NULL), 0);
    w = writes(f);
    assert_int_equal(aloft_otadata_booted(&f->od, 0), 0);
    assert_int_equal(writes(f), w);
    fx_close(f);
}

/* ---- power cuts ------------------------------------------------------- */

typedef struct cut_ctx {
    fx_t *f;
    int slot;
} cut_ctx_t;

static int do_activate(void *arg)
{
    cut_ctx_t *c = arg;
    return aloft_otadata_activate(&c->f->od, c->slot, ALOFT_OTA_NEW);
}

static int do_boot(void *arg)
{
    cut_ctx_t *c = arg;
    return aloft_otadata_boot(&c->f->od, NULL);
}

/* Cut power at every flash op of an activation and of the boot after it:
 * the device then boots the old slot or the new one, never neither, and
 * the old entry is never damaged. */
static void test_power_cuts(void **state)
{
    fx_t *f = fx_open(2);
    cut_ctx_t c = {f, 1};
    (void)state;
    for (uint64_t n = 1;; n++) {
        int rc, slot;
        blank_otadata(f);
        put_valid(f, 0, 1, ALOFT_OTA_VALID);
        if (!test_flash_run_cut(&f->tf.nor, n, (uint32_t)n * 7919u, do_activate, &c, &rc)) {
            assert_int_equal(rc, 0);
            assert_int_equal(n, 3); /* erase + program, then done */
            break;
        }
        assert_int_equal(test_flash_reboot(&f->tf), 0);
        assert_entry(get_entry(f, 0), 1, ALOFT_OTA_VALID);
        slot = aloft_otadata_boot(&f->od, NULL);
        assert_true(slot == 0 || slot == 1);
        if (slot == 1)
            assert_int_equal(get_entry(f, 1).seq, 2);
    }
    for (uint64_t n = 1;; n++) {
        int rc, slot;
        blank_otadata(f);
        put_valid(f, 0, 1, ALOFT_OTA_VALID);
        put_valid(f, 1, 2, ALOFT_OTA_NEW);
        if (!test_flash_run_cut(&f->tf.nor, n, (uint32_t)n * 104729u, do_boot, &c, &rc)) {
            assert_int_equal(rc, 1);
            break;
        }
        assert_int_equal(test_flash_reboot(&f->tf), 0);
        slot = aloft_otadata_boot(&f->od, NULL);
        assert_true(slot == 0 || slot == 1);
        assert_entry(get_entry(f, 0), 1, ALOFT_OTA_VALID);
    }
    fx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_entry_bytes),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_active),
        cmocka_unit_test(test_selected),
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_rolled_back),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_activate_blank),
        cmocka_unit_test(test_activate_seq_zero),
        cmocka_unit_test(test_activate_chain_3),
        cmocka_unit_test(test_activate_sweep_2),
        cmocka_unit_test(test_activate_sweep_3),
        cmocka_unit_test(test_activate_alternating_2),
        cmocka_unit_test(test_activate_same_slot),
        cmocka_unit_test(test_activate_over_torn),
        cmocka_unit_test(test_activate_keeps_label),
        cmocka_unit_test(test_rollback_unconfirmed),
        cmocka_unit_test(test_rollback_confirmed),
        cmocka_unit_test(test_rollback_invalid),
        cmocka_unit_test(test_set_state_no_active),
        cmocka_unit_test(test_rollback_from_blank),
        cmocka_unit_test(test_boot_torn_entries),
        cmocka_unit_test(test_booted_initial),
        cmocka_unit_test(test_power_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
