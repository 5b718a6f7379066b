/*
 * tests/unit/test_ptable.c — the ESP-IDF binary partition table: parse,
 * write, the built-in arduino-esp32 schemes and the lookups.
 *
 * Expected bytes come from the format (protocol.md §10.3) and the MD5
 * digests of the two schemes were computed outside aloft (Python hashlib
 * over the entries packed with struct '<HBBII16sI').
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_ptable_util.h"
#include "aloft/wire/ptable.h"
#include "bytes.h"
#include "crypto_mbedtls.h"

#define MB4 0x400000u
#define MD5 (&aloft_mbedtls_md5)

static const uint8_t md5_default[16] = {
    0x97, 0x2d, 0xae, 0x2f, 0xf8, 0x72, 0xa0, 0x14,
    0x2d, 0x60, 0xba, 0xd1, 0x24, 0xc0, 0x66, 0x6b,
};
static const uint8_t md5_min_spiffs[16] = {
    0xb4, 0x35, 0x13, 0xb1, 0x22, 0xc4, 0x18, 0x73,
    0xa9, 0x01, 0x0b, 0x82, 0xec, 0x3a, 0x25, 0xbd,
};

/* ---- helpers ---------------------------------------------------------- */


/* Serialise pt (with MD5) into tbl; the table must be writable. */
static void build(const aloft_ptable_t *pt, uint8_t tbl[ALOFT_PT_LEN])
{
    int n = aloft_ptable_write(pt, tbl, ALOFT_PT_LEN, MD5);
    assert_int_equal(n, (pt->count + 1) * 32);
}

static int parse(aloft_ptable_t *pt, const uint8_t *tbl, size_t len,
                 uint32_t flash, aloft_diag_t *d)
{
    memset(d, 0, sizeof *d);
    return aloft_ptable_parse(pt, tbl, len, flash, MD5, d);
}

static void assert_part(const aloft_part_t *p, const char *label, uint8_t type,
                        uint8_t subtype, uint32_t offset, uint32_t size)
{
    assert_non_null(p);
    assert_string_equal(p->label, label);
    assert_int_equal(p->type, type);
    assert_int_equal(p->subtype, subtype);
    assert_int_equal(p->offset, offset);
    assert_int_equal(p->size, size);
}

static void assert_diag_text(const aloft_diag_t *d, const char *want)
{
    char buf[256];
    aloft_diag_format(d, buf, sizeof buf);
    if (strstr(buf, want) == NULL)
        fail_msg("diag \"%s\" lacks \"%s\"", buf, want);
}

/* ---- schemes ---------------------------------------------------------- */

static void test_scheme_default_exact(void **state)
{
    aloft_ptable_t pt;
    (void)state;
    assert_int_equal(aloft_ptable_scheme(&pt, ALOFT_SCHEME_DEFAULT), 0);
    assert_int_equal(pt.count, 6);
    assert_part(&pt.parts[0], "nvs", 0x01, 0x02, 0x9000, 0x5000);
    assert_part(&pt.parts[1], "otadata", 0x01, 0x00, 0xE000, 0x2000);
    assert_part(&pt.parts[2], "app0", 0x00, 0x10, 0x10000, 0x140000);
    assert_part(&pt.parts[3], "app1", 0x00, 0x11, 0x150000, 0x140000);
    assert_part(&pt.parts[4], "spiffs", 0x01, 0x82, 0x290000, 0x160000);
    assert_part(&pt.parts[5], "coredump", 0x01, 0x03, 0x3F0000, 0x10000);
    for (int i = 0; i < 6; i++)
        assert_int_equal(pt.parts[i].flags, 0);
    assert_true(pt.has_md5);
    assert_int_equal(aloft_scheme_app_size(ALOFT_SCHEME_DEFAULT), 1310720);
}

static void test_scheme_min_spiffs_exact(void **state)
{
    aloft_ptable_t pt;
    (void)state;
    assert_int_equal(aloft_ptable_scheme(&pt, ALOFT_SCHEME_MIN_SPIFFS), 0);
    assert_int_equal(pt.count, 6);
    assert_part(&pt.parts[0], "nvs", 0x01, 0x02, 0x9000, 0x5000);
    assert_part(&pt.parts[1], "otadata", 0x01, 0x00, 0xE000, 0x2000);
    assert_part(&pt.parts[2], "app0", 0x00, 0x10, 0x10000, 0x1E0000);
    assert_part(&pt.parts[3], "app1", 0x00, 0x11, 0x1F0000, 0x1E0000);
    assert_part(&pt.parts[4], "spiffs", 0x01, 0x82, 0x3D0000, 0x20000);
    assert_part(&pt.parts[5], "coredump", 0x01, 0x03, 0x3F0000, 0x10000);
    assert_int_equal(aloft_scheme_app_size(ALOFT_SCHEME_MIN_SPIFFS), 1966080);
}

static void test_scheme_names(void **state)
{
    aloft_scheme_t s;
    aloft_ptable_t pt;
    (void)state;
    assert_string_equal(aloft_scheme_name(ALOFT_SCHEME_DEFAULT), "default");
    assert_string_equal(aloft_scheme_name(ALOFT_SCHEME_MIN_SPIFFS), "min_spiffs");
    assert_int_equal(aloft_scheme_parse("min_spiffs", &s), 0);
    assert_int_equal(s, ALOFT_SCHEME_MIN_SPIFFS);
    assert_int_equal(aloft_scheme_parse("default", &s), 0);
    assert_int_equal(s, ALOFT_SCHEME_DEFAULT);
    assert_int_equal(aloft_scheme_parse("huge_app", &s), ALOFT_ERR_ARG);
    assert_int_equal(aloft_scheme_parse(NULL, &s), ALOFT_ERR_ARG);
    assert_int_equal(aloft_ptable_scheme(&pt, (aloft_scheme_t)7), ALOFT_ERR_ARG);
}

/* ---- write / parse ---------------------------------------------------- */

/* Bytes as the format says, MD5 as Python computed it. */
static void check_written(aloft_scheme_t scheme, const uint8_t *md5)
{
    aloft_ptable_t pt;
    uint8_t tbl[ALOFT_PT_LEN + 16];
    memset(tbl, 0xA5, sizeof tbl);
    assert_int_equal(aloft_ptable_scheme(&pt, scheme), 0);
    assert_int_equal(aloft_ptable_write(&pt, tbl, ALOFT_PT_LEN, MD5), 7 * 32);

    /* app0 entry: AA 50 00 10 | 00 00 01 00 | size | "app0" NUL-padded | 0 */
    const uint8_t *e = tbl + 2 * 32;
    assert_int_equal(e[0], 0xAA);
    assert_int_equal(e[1], 0x50);
    assert_int_equal(e[2], 0x00);
    assert_int_equal(e[3], 0x10);
    assert_int_equal(aloft_ld32(e + 4), 0x10000);
    assert_memory_equal(e + 12, "app0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    assert_int_equal(aloft_ld32(e + 28), 0);

    /* MD5 entry: EB EB, 14 x FF, digest; then 0xFF up to 0xC00 only. */
    const uint8_t *m = tbl + 6 * 32;
    assert_int_equal(m[0], 0xEB);
    assert_int_equal(m[1], 0xEB);
    for (int i = 2; i < 16; i++)
        assert_int_equal(m[i], 0xFF);
    assert_memory_equal(m + 16, md5, 16);
    for (size_t i = 7 * 32; i < ALOFT_PT_LEN; i++)
        assert_int_equal(tbl[i], 0xFF);
    assert_int_equal(tbl[ALOFT_PT_LEN], 0xA5);
}

static void test_write_bytes(void **state)
{
    (void)state;
    check_written(ALOFT_SCHEME_DEFAULT, md5_default);
    check_written(ALOFT_SCHEME_MIN_SPIFFS, md5_min_spiffs);
}

static void test_round_trip(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    for (int s = ALOFT_SCHEME_DEFAULT; s <= ALOFT_SCHEME_MIN_SPIFFS; s++) {
        assert_int_equal(aloft_ptable_scheme(&a, (aloft_scheme_t)s), 0);
        a.parts[4].flags = 1; /* encrypted bit survives */
        build(&a, tbl);
        assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);
        assert_int_equal(d.err, 0);
        assert_int_equal(b.count, a.count);
        assert_true(b.has_md5);
        for (int i = 0; i < a.count; i++) {
            const aloft_part_t *p = &a.parts[i];
            assert_part(&b.parts[i], p->label, p->type, p->subtype, p->offset,
                        p->size);
            assert_int_equal(b.parts[i].flags, p->flags);
        }
    }
}

static void test_label_16_chars(void **state)
{
    aloft_ptable_t a = {0}, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    test_add_part(&a, "abcdefghijklmnop", 1, 0x82, 0x10000, 0x10000);
    build(&a, tbl);
    assert_memory_equal(tbl + 12, "abcdefghijklmnop", 16); /* no NUL room */
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);
    assert_string_equal(b.parts[0].label, "abcdefghijklmnop");
}

static void test_no_md5_entry(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    build(&a, tbl);
    memset(tbl + 6 * 32, 0xFF, 32); /* drop the MD5 entry */
    assert_int_equal(aloft_ptable_parse(&b, tbl, sizeof tbl, MB4, NULL, &d), 0);
    assert_false(b.has_md5);
    assert_int_equal(b.count, 6);
}

static void test_md5_mismatch(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    build(&a, tbl);
    tbl[3 * 32 + 8] ^= 0x01; /* app1 size */
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_MD5);
    assert_int_equal(d.err, ALOFT_ERR_PT_MD5);
    assert_diag_text(&d, "checksum mismatch");

    build(&a, tbl);
    tbl[6 * 32 + 31] ^= 0x80; /* the digest itself */
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_MD5);

    /* The 14 filler bytes are not checked (as in IDF). */
    build(&a, tbl);
    tbl[6 * 32 + 5] = 0x00;
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);

    /* An MD5 entry needs an MD5 implementation. */
    build(&a, tbl);
    assert_int_equal(aloft_ptable_parse(&b, tbl, sizeof tbl, MB4, NULL, &d),
                     ALOFT_ERR_ARG);
}

static void test_bad_magic(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    build(&a, tbl);
    tbl[2 * 32 + 1] = 0x51; /* app0: AA 51 */
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_ENTRY);
    assert_int_equal(d.have, 2);
    assert_diag_text(&d, "entry 2 has a bad magic");

    /* A blank table (all 0xFF) is empty, not corrupt. */
    memset(tbl, 0xFF, sizeof tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);
    assert_int_equal(b.count, 0);

    /* FF FF magic with another type/subtype is not an end marker. */
    build(&a, tbl);
    tbl[7 * 32 + 2] = 0x00;
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_ENTRY);
    assert_int_equal(d.have, 7);
}

static void test_second_md5_entry(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    build(&a, tbl);
    memcpy(tbl + 7 * 32, tbl + 6 * 32, 32);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_ENTRY);
    assert_int_equal(d.have, 7);
}

static void test_entries_after_md5(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    /* IDF keeps walking after the MD5 entry until the end marker. */
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    a.count = 5; /* without coredump */
    build(&a, tbl);
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    aloft_ptable_t one = {0};
    one.parts[0] = a.parts[5];
    one.count = 1;
    uint8_t tmp[ALOFT_PT_LEN];
    build(&one, tmp);
    memcpy(tbl + 6 * 32, tmp, 32);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);
    assert_int_equal(b.count, 6);
    assert_string_equal(b.parts[5].label, "coredump");
}

static void test_no_end_entry(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    build(&a, tbl);
    /* Only the 7 entries, no end marker within len. */
    assert_int_equal(parse(&b, tbl, 7 * 32, MB4, &d), ALOFT_ERR_PT_ENTRY);
    assert_int_equal(d.have, 7);
    /* A partial trailing entry does not count. */
    assert_int_equal(parse(&b, tbl, 7 * 32 + 31, MB4, &d), ALOFT_ERR_PT_ENTRY);
    assert_int_equal(parse(&b, tbl, 8 * 32, MB4, &d), 0);
    assert_int_equal(parse(&b, tbl, 0, MB4, &d), ALOFT_ERR_PT_ENTRY);
}

static void test_overlap(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    a.parts[3].offset = 0x140000; /* app1 over the end of app0 */
    build(&a, tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_LAYOUT);
    assert_string_equal(d.where, "app1");
    assert_int_equal(d.have, 0x140000);
    assert_diag_text(&d, "partition app1 at 0x140000 does not fit");

    /* Touching is fine; a zero-size partition overlaps nothing. */
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    test_add_part(&a, "empty", 1, 0x99, 0x20000, 0);
    build(&a, tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);

    /* Data partitions overlapping each other. */
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    a.parts[1].offset = 0xD000; /* otadata over nvs (0x9000..0xE000) */
    build(&a, tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_LAYOUT);
    assert_string_equal(d.where, "otadata");
}

static void test_misaligned_app(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    a.parts[3].offset = 0x151000; /* 4 KiB but not 64 KiB aligned */
    a.parts[3].size = 0x13F000;   /* still ends at spiffs: no overlap */
    build(&a, tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_LAYOUT);
    assert_string_equal(d.where, "app1");
    assert_int_equal(d.have, 0x151000);

    /* Data partitions need no 64 KiB alignment (nvs is at 0x9000). */
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    build(&a, tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);
}

static void test_outside_flash(void **state)
{
    aloft_ptable_t a, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    build(&a, tbl);
    /* On a 2 MB chip app1 ends at 0x290000: out. */
    assert_int_equal(parse(&b, tbl, sizeof tbl, 0x200000, &d), ALOFT_ERR_PT_LAYOUT);
    assert_string_equal(d.where, "app1");
    assert_int_equal(d.want, 0x200000);
    assert_diag_text(&d, "beyond the 0x200000-byte flash");
    /* flash_size 0: not checked. */
    assert_int_equal(parse(&b, tbl, sizeof tbl, 0, &d), 0);

    /* offset + size wrapping around 2^32 is caught. */
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    a.parts[5].size = 0xFFFF0000u;
    build(&a, tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_LAYOUT);
    assert_string_equal(d.where, "coredump");
}

static void test_too_many(void **state)
{
    aloft_ptable_t a = {0}, b;
    aloft_diag_t d;
    uint8_t tbl[ALOFT_PT_LEN];
    uint8_t extra[ALOFT_PT_LEN];
    (void)state;
    for (uint32_t i = 0; i < ALOFT_PT_MAX_ENTRIES; i++)
        test_add_part(&a, "d", 1, 0x99, 0x10000 + i * 0x1000, 0x1000);
    build(&a, tbl);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), 0);
    assert_int_equal(b.count, ALOFT_PT_MAX_ENTRIES);

    /* A 33rd partition entry where the MD5 entry was. */
    aloft_ptable_t one = {0};
    test_add_part(&one, "x", 1, 0x99, 0x80000, 0x1000);
    build(&one, extra);
    memcpy(tbl + ALOFT_PT_MAX_ENTRIES * 32, extra, 32);
    assert_int_equal(parse(&b, tbl, sizeof tbl, MB4, &d), ALOFT_ERR_PT_TOO_MANY);
    assert_int_equal(d.want, ALOFT_PT_MAX_ENTRIES);
    assert_diag_text(&d, "at most 32 entries");

    /* write refuses what parse could not hold. */
    a.count = ALOFT_PT_MAX_ENTRIES + 1;
    assert_int_equal(aloft_ptable_write(&a, tbl, sizeof tbl, MD5), ALOFT_ERR_ARG);
}

static void test_write_args(void **state)
{
    aloft_ptable_t a;
    uint8_t tbl[ALOFT_PT_LEN];
    (void)state;
    aloft_ptable_scheme(&a, ALOFT_SCHEME_DEFAULT);
    assert_int_equal(aloft_ptable_write(&a, tbl, ALOFT_PT_LEN - 1, MD5), ALOFT_ERR_ARG);
    assert_int_equal(aloft_ptable_write(&a, tbl, sizeof tbl, NULL), ALOFT_ERR_ARG);
    assert_int_equal(aloft_ptable_write(NULL, tbl, sizeof tbl, MD5), ALOFT_ERR_ARG);
    assert_int_equal(aloft_ptable_parse(NULL, tbl, sizeof tbl, 0, MD5, NULL), ALOFT_ERR_ARG);
}

/* ---- lookups ---------------------------------------------------------- */

static void test_find(void **state)
{
    aloft_ptable_t pt;
    (void)state;
    aloft_ptable_scheme(&pt, ALOFT_SCHEME_DEFAULT);
    assert_ptr_equal(aloft_ptable_find(&pt, 1, 0x00), &pt.parts[1]);
    assert_ptr_equal(aloft_ptable_find(&pt, 0, 0x11), &pt.parts[3]);
    assert_null(aloft_ptable_find(&pt, 0, 0x00));
    assert_ptr_equal(aloft_ptable_find_label(&pt, "coredump"), &pt.parts[5]);
    assert_null(aloft_ptable_find_label(&pt, "app"));
    assert_null(aloft_ptable_find_label(&pt, NULL));
}

static void test_ota_slots(void **state)
{
    aloft_ptable_t pt = {0};
    const aloft_part_t *slots[16];
    (void)state;

    aloft_ptable_scheme(&pt, ALOFT_SCHEME_DEFAULT);
    assert_int_equal(aloft_ptable_ota_slots(&pt, slots, 16), 2);
    assert_ptr_equal(slots[0], &pt.parts[2]);
    assert_ptr_equal(slots[1], &pt.parts[3]);
    /* max limits what is written, not the count. */
    slots[1] = NULL;
    assert_int_equal(aloft_ptable_ota_slots(&pt, slots, 1), 2);
    assert_null(slots[1]);

    /* Ordered by subtype, not by table position. */
    memset(&pt, 0, sizeof pt);
    test_add_part(&pt, "c", 0, 0x12, 0x210000, 0x100000);
    test_add_part(&pt, "b", 0, 0x11, 0x110000, 0x100000);
    test_add_part(&pt, "a", 0, 0x10, 0x10000, 0x100000);
    assert_int_equal(aloft_ptable_ota_slots(&pt, slots, 16), 3);
    assert_string_equal(slots[0]->label, "a");
    assert_string_equal(slots[1]->label, "b");
    assert_string_equal(slots[2]->label, "c");

    /* Consecutive from ota_0: a gap ends the run. */
    memset(&pt, 0, sizeof pt);
    test_add_part(&pt, "a", 0, 0x10, 0x10000, 0x100000);
    test_add_part(&pt, "c", 0, 0x12, 0x210000, 0x100000);
    assert_int_equal(aloft_ptable_ota_slots(&pt, slots, 16), 1);

    /* Factory only, or ota_1 without ota_0: no slots. */
    memset(&pt, 0, sizeof pt);
    test_add_part(&pt, "factory", 0, 0x00, 0x10000, 0x100000);
    test_add_part(&pt, "b", 0, 0x11, 0x110000, 0x100000);
    assert_int_equal(aloft_ptable_ota_slots(&pt, slots, 16), 0);
}

static void test_find_fs(void **state)
{
    aloft_ptable_t pt = {0};
    (void)state;
    aloft_ptable_scheme(&pt, ALOFT_SCHEME_DEFAULT);
    assert_ptr_equal(aloft_ptable_find_fs(&pt, NULL), &pt.parts[4]);
    assert_ptr_equal(aloft_ptable_find_fs(&pt, "spiffs"), &pt.parts[4]);
    assert_ptr_equal(aloft_ptable_find_fs(&pt, "nvs"), &pt.parts[0]);
    assert_null(aloft_ptable_find_fs(&pt, "app0")); /* never an app */
    assert_null(aloft_ptable_find_fs(&pt, "nope"));

    /* First filesystem in table order: fat, littlefs or spiffs. */
    memset(&pt, 0, sizeof pt);
    test_add_part(&pt, "nvs", 1, 0x02, 0x9000, 0x5000);
    test_add_part(&pt, "ffat", 1, 0x81, 0x100000, 0x100000);
    test_add_part(&pt, "spiffs", 1, 0x82, 0x200000, 0x100000);
    assert_string_equal(aloft_ptable_find_fs(&pt, NULL)->label, "ffat");
    memset(&pt, 0, sizeof pt);
    test_add_part(&pt, "lfs", 1, 0x83, 0x100000, 0x100000);
    assert_string_equal(aloft_ptable_find_fs(&pt, NULL)->label, "lfs");
    memset(&pt, 0, sizeof pt);
    test_add_part(&pt, "nvs", 1, 0x02, 0x9000, 0x5000);
    assert_null(aloft_ptable_find_fs(&pt, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme_default_exact),
        cmocka_unit_test(test_scheme_min_spiffs_exact),
        cmocka_unit_test(test_scheme_names),
        cmocka_unit_test(test_write_bytes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_label_16_chars),
        cmocka_unit_test(test_no_md5_entry),
        cmocka_unit_test(test_md5_mismatch),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_second_md5_entry),
        cmocka_unit_test(test_entries_after_md5),
        cmocka_unit_test(test_no_end_entry),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_misaligned_app),
        cmocka_unit_test(test_outside_flash),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_write_args),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_ota_slots),
        cmocka_unit_test(test_find_fs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
