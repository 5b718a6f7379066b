/*
 * tests/esp/device/test_esp_flash.c — the port's flash (esp_flash.c) and
 * partition discovery (esp_partitions.c, esp_device_open) over the fake
 * esp_partition_* on a simulated ESP32 flash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esp_fixture.h"
#include "nor_flash.h"
#include "test_ptable_util.h"


static const aloft_part_t *part(const char *label)
{
    const aloft_part_t *p = aloft_ptable_find_label(&esp_fx.dev.ptable, label);
    assert_non_null(p);
    return p;
}

static void test_geometry(void **state)
{
    const aloft_flash_t *f = &esp_fx.dev.flash;
    (void)state;
    assert_int_equal(f->sector_size, 4096);
    assert_int_equal(f->block_size, 65536);
    assert_int_equal(f->page_size, 256);
    /* The default scheme's last partition (coredump) ends at 4 MB. */
    assert_int_equal(f->size, 0x400000);
}

static void test_read_maps_to_partition(void **state)
{
    const aloft_flash_t *f = &esp_fx.dev.flash;
    const aloft_part_t *app0 = part("app0");
    uint8_t buf[300];
    (void)state;
    assert_int_equal(f->read(f, app0->offset + 1000, buf, sizeof buf), 0);
    assert_memory_equal(buf, esp_fx.v1 + 1000, sizeof buf);
    /* The last byte of a partition is reachable, one past it is not. */
    assert_int_equal(f->read(f, app0->offset + app0->size - 1, buf, 1), 0);
}

static void test_refuses_outside_partitions(void **state)
{
    const aloft_flash_t *f = &esp_fx.dev.flash;
    const aloft_part_t *nvs = part("nvs"), *otadata = part("otadata");
    uint8_t buf[64];
    unsigned reads = fake_partition_stats.reads;
    (void)state;
    /* Bootloader and partition table: no partition holds them. */
    assert_int_equal(f->read(f, 0x1000, buf, sizeof buf), ALOFT_ERR_ALIGN);
    assert_int_equal(f->read(f, ALOFT_PT_OFFSET, buf, sizeof buf), ALOFT_ERR_ALIGN);
    assert_int_equal(f->erase(f, ALOFT_PT_OFFSET, 4096), ALOFT_ERR_ALIGN);
    assert_int_equal(f->prog(f, 0x1000, buf, 32), ALOFT_ERR_ALIGN);
    /* A range across two neighbouring partitions (nvs, then otadata). */
    assert_int_equal(nvs->offset + nvs->size, otadata->offset);
    assert_int_equal(f->read(f, otadata->offset - 16, buf, 32), ALOFT_ERR_ALIGN);
    /* Past the end of the flash. */
    assert_int_equal(f->read(f, 0x400000, buf, 1), ALOFT_ERR_ALIGN);
    /* None of these reached esp_partition_*. */
    assert_int_equal(fake_partition_stats.reads, reads);
}

static void test_erase_feeds_watchdog(void **state)
{
    const aloft_flash_t *f = &esp_fx.dev.flash;
    const aloft_part_t *app1 = part("app1");
    const uint8_t *mem = espfx_mem(&esp_fx);
    uint8_t page[256];
    (void)state;
    memset(page, 0x5A, sizeof page);
    assert_int_equal(f->prog(f, app1->offset + 4096 - 256, page, sizeof page), 0);
    assert_int_equal(f->prog(f, app1->offset + 65536, page, sizeof page), 0);
    assert_memory_equal(mem + app1->offset + 65536, page, sizeof page);

    unsigned wdt = fake_wdt_resets, erases = fake_partition_stats.erases;
    assert_int_equal(f->erase(f, app1->offset, 4096), 0);
    assert_int_equal(fake_wdt_resets, wdt + 1);
    assert_int_equal(mem[app1->offset + 4095], 0xFF);
    assert_int_equal(f->erase(f, app1->offset + 65536, 65536), 0);
    assert_int_equal(fake_wdt_resets, wdt + 2);
    assert_int_equal(fake_partition_stats.erases, erases + 2);
    assert_int_equal(mem[app1->offset + 65536], 0xFF);
    /* A misaligned erase is IDF's refusal, reported as such (and the
     * watchdog is still fed: the call returned). */
    assert_int_equal(f->erase(f, app1->offset + 512, 4096), ALOFT_ERR_ALIGN);
    assert_int_equal(fake_wdt_resets, wdt + 3);
}

static void test_program_rules(void **state)
{
    const aloft_flash_t *f = &esp_fx.dev.flash;
    const aloft_part_t *app1 = part("app1");
    uint8_t a[256], b[256];
    (void)state;
    assert_int_equal(f->erase(f, app1->offset + 8192, 4096), 0);
    memset(a, 0x0F, sizeof a);
    assert_int_equal(f->prog(f, app1->offset + 8192, a, sizeof a), 0);
    assert_int_equal(f->read(f, app1->offset + 8192, b, sizeof b), 0);
    assert_memory_equal(a, b, sizeof a);
    /* Programming over programmed bytes breaks the NOR rule: an I/O error. */
    memset(a, 0xF0, sizeof a);
    assert_int_equal(f->prog(f, app1->offset + 8192, a, sizeof a), ALOFT_ERR_IO);
}

static void check_scheme(aloft_scheme_t scheme)
{
    aloft_ptable_t want;
    const aloft_part_t *slots[2];
    assert_int_equal(aloft_ptable_scheme(&want, scheme), 0);
    assert_int_equal(esp_fx.dev.ptable.count, want.count);
    for (int i = 0; i < want.count; i++) {
        const aloft_part_t *w = &want.parts[i], *g = &esp_fx.dev.ptable.parts[i];
        assert_string_equal(g->label, w->label);
        assert_int_equal(g->type, w->type);
        assert_int_equal(g->subtype, w->subtype);
        assert_int_equal(g->offset, w->offset);
        assert_int_equal(g->size, w->size);
    }
    assert_int_equal(aloft_ptable_ota_slots(&esp_fx.dev.ptable, slots, 2), 2);
    assert_int_equal(slots[1]->size, aloft_scheme_app_size(scheme));
    assert_non_null(aloft_ptable_find_fs(&esp_fx.dev.ptable, NULL));
}

static void test_default_scheme(void **state)
{
    (void)state;
    check_scheme(ALOFT_SCHEME_DEFAULT);
}

static void test_min_spiffs_scheme(void **state)
{
    (void)state;
    espfx_teardown(&esp_fx);
    assert_int_equal(espfx_setup(&esp_fx, ALOFT_SCHEME_MIN_SPIFFS), 0);
    assert_int_equal(espfx_open(&esp_fx), 0);
    check_scheme(ALOFT_SCHEME_MIN_SPIFFS);
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
}

static void test_device_open(void **state)
{
    const aloft_device_t *d = &esp_fx.dev.dev;
    (void)state;
    assert_ptr_equal(d->flash, &esp_fx.dev.flash);
    assert_ptr_equal(d->ptable, &esp_fx.dev.ptable);
    assert_int_equal(d->running_slot, 0);
    assert_int_equal(d->chip_id, ALOFT_CHIP_ESP32);
    assert_true(d->rollback);               /* CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE */
    assert_non_null(d->running_desc);
    assert_string_equal(d->running_desc->project_name, "demo");
    assert_string_equal(d->running_desc->version, "1.0.0");
    assert_false(esp_fx.dev.rolled_back);
    assert_int_equal(esp_fx.dev.inflate.max_window_bits, 12);
    assert_int_equal(d->nkeys, 0);
    /* The bootloader model recorded the first boot: {seq 1, VALID}. */
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_VALID);
}

static void test_keys_copied(void **state)
{
    aloft_pubkey_t keys[ESP_DEVICE_MAX_KEYS + 1];
    (void)state;
    memset(keys, 0x11, sizeof keys);
    assert_int_equal(esp_device_open(&esp_fx.dev, keys, 2), 0);
    assert_int_equal(esp_fx.dev.dev.nkeys, 2);
    assert_ptr_equal(esp_fx.dev.dev.keys, esp_fx.dev.keys);
    memset(keys, 0, sizeof keys);            /* the caller's copy may go away */
    assert_int_equal(esp_fx.dev.keys[1].point[0], 0x11);
    assert_int_equal(esp_device_open(&esp_fx.dev, keys, ESP_DEVICE_MAX_KEYS + 1), ALOFT_ERR_ARG);
    assert_int_equal(esp_device_open(&esp_fx.dev, NULL, 0), 0);
}

/* A flash whose table is edited, opened without the bootloader model (it
 * would refuse such tables): the partitions and the running slot set as
 * IDF would have them. */
static int open_with_table(const aloft_ptable_t *pt, const char *running)
{
    nor_flash_t nor;
    int err;
    fake_chip_power_off(&esp_fx.chip);
    memset(&esp_fx.dev, 0, sizeof esp_fx.dev);
    espfx_write_table(esp_fx.path, pt);
    assert_int_equal(nor_open_existing(&nor, esp_fx.path), 0);
    assert_int_equal(fake_partition_attach(&nor), 0);
    fake_ota_set_running(esp_partition_find_first(ESP_PARTITION_TYPE_APP,
                                                  ESP_PARTITION_SUBTYPE_ANY, running));
    err = esp_device_open(&esp_fx.dev, NULL, 0);
    fake_partition_detach();
    nor_close(&nor);
    return err;   /* the chip stays off; teardown's power-off is then a no-op */
}

static void test_no_second_slot(void **state)
{
    aloft_ptable_t pt = {0};
    (void)state;
    test_add_part(&pt, "nvs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_NVS, 0x9000, 0x5000);
    test_add_part(&pt, "otadata", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_OTA, 0xe000, 0x2000);
    test_add_part(&pt, "app0", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0, 0x10000, 0x300000);
    test_add_part(&pt, "spiffs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_SPIFFS, 0x310000, 0xF0000);
    assert_int_equal(open_with_table(&pt, "app0"), ALOFT_ERR_NO_SLOT);
}

static void test_no_otadata(void **state)
{
    aloft_ptable_t pt = {0};
    (void)state;
    test_add_part(&pt, "nvs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_NVS, 0x9000, 0x7000);
    test_add_part(&pt, "app0", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0, 0x10000, 0x140000);
    test_add_part(&pt, "app1", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0 + 1, 0x150000, 0x140000);
    assert_int_equal(open_with_table(&pt, "app0"), ALOFT_ERR_NO_OTADATA);
}

static void test_running_from_factory(void **state)
{
    aloft_ptable_t pt = {0};
    (void)state;
    test_add_part(&pt, "nvs", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_NVS, 0x9000, 0x5000);
    test_add_part(&pt, "otadata", ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_OTA, 0xe000, 0x2000);
    test_add_part(&pt, "factory", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_FACTORY, 0x10000, 0x100000);
    test_add_part(&pt, "app0", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0, 0x110000, 0x100000);
    test_add_part(&pt, "app1", ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0 + 1, 0x210000, 0x100000);
    assert_int_equal(open_with_table(&pt, "factory"), ALOFT_ERR_NO_SLOT);
}

/* Flash encryption: IDF writes encrypted partitions in 16-byte blocks
 * only; the resume journal's 4-byte fields are refused, so the update
 * fails cleanly (reported, otadata and the running image untouched). */
static void test_encrypted_slots_refused(void **state)
{
    aloft_ptable_t pt;
    static uint8_t before[0x2000];
    (void)state;
    fake_chip_power_off(&esp_fx.chip);
    assert_int_equal(aloft_ptable_scheme(&pt, ALOFT_SCHEME_DEFAULT), 0);
    for (int i = 0; i < pt.count; i++)
        if (pt.parts[i].type == ALOFT_PT_TYPE_APP)
            pt.parts[i].flags |= 1u;
    espfx_write_table(esp_fx.path, &pt);
    assert_int_equal(fake_chip_power_on(&esp_fx.chip, esp_fx.path), 0);
    assert_int_equal(espfx_open(&esp_fx), 0);   /* opens, with a warning */
    memcpy(before, espfx_mem(&esp_fx) + esp_fx.dev.otadata.offset, sizeof before);
    assert_int_equal(espfx_update(&esp_fx, esp_fx.v2, esp_fx.v2_len, 4096), ALOFT_ERR_ALIGN);
    assert_memory_equal(espfx_mem(&esp_fx) + esp_fx.dev.otadata.offset, before, sizeof before);
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
    assert_string_equal(esp_fx.dev.dev.running_desc->version, "1.0.0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ESPFX_TEST(test_geometry),
        ESPFX_TEST(test_read_maps_to_partition),
        ESPFX_TEST(test_refuses_outside_partitions),
        ESPFX_TEST(test_erase_feeds_watchdog),
        ESPFX_TEST(test_program_rules),
        ESPFX_TEST(test_default_scheme),
        ESPFX_TEST(test_min_spiffs_scheme),
        ESPFX_TEST(test_device_open),
        ESPFX_TEST(test_keys_copied),
        ESPFX_TEST(test_no_second_slot),
        ESPFX_TEST(test_no_otadata),
        ESPFX_TEST(test_running_from_factory),
        ESPFX_TEST(test_encrypted_slots_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
