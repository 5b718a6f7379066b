/*
 * tests/esp/device/test_esp_boot.c — the boot state through the port: a
 * whole update through the core pipeline over the port's flash, then the
 * bootloader model (sim_boot) boots what the port left; confirm and reject
 * write exactly the bytes esp_ota_mark_app_valid_cancel_rollback /
 * esp_ota_mark_app_invalid_rollback write (esp_ota_ops.c,
 * esp_ota_current_ota_is_workable: the active entry's state, same seq, its
 * crc, the rest of the sector erased); reject refuses when nothing valid
 * is left to boot, and then otadata is untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esp_fixture.h"


static const uint8_t *otadata(void)
{
    return espfx_mem(&esp_fx) + esp_fx.dev.otadata.offset;
}

static aloft_ota_entry_t E(uint32_t seq, uint32_t state)
{
    aloft_ota_entry_t e = {seq, state, aloft_ota_entry_crc(seq)};
    return e;
}

/* The two otadata sectors as IDF leaves them: entry i at the start of
 * sector i, every other byte 0xFF. */
static void expect_otadata(aloft_ota_entry_t e0, aloft_ota_entry_t e1)
{
    static uint8_t want[2 * 4096];
    memset(want, 0xFF, sizeof want);
    aloft_ota_entry_encode(&e0, want);
    aloft_ota_entry_encode(&e1, want + 4096);
    assert_memory_equal(otadata(), want, sizeof want);
}

/* v1 in slot 0 -> v2 through the port, rebooted into slot 1. */
static void update_to_v2(void)
{
    unsigned wdt = fake_wdt_resets, erases = fake_partition_stats.erases;
    assert_int_equal(espfx_update(&esp_fx, esp_fx.v2, esp_fx.v2_len, 1460), 0);
    /* Every erase fed the watchdog. */
    assert_true(fake_partition_stats.erases > erases);
    assert_int_equal(fake_wdt_resets - wdt, fake_partition_stats.erases - erases);
    /* Activated in the inactive entry, NEW (rollback on). */
    expect_otadata(E(1, ALOFT_OTA_VALID),
                   E(2, ALOFT_OTA_NEW));
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.chip.sim.boot.slot, 1);
    assert_int_equal(esp_fx.dev.dev.running_slot, 1);
}

static void test_update_then_model_boots_it(void **state)
{
    (void)state;
    update_to_v2();
    assert_string_equal(esp_fx.dev.dev.running_desc->version, "2.0.0");
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_PENDING_VERIFY);
    assert_false(esp_fx.dev.rolled_back);
    /* The model verified the whole image the port wrote. */
    assert_memory_equal(espfx_mem(&esp_fx) + esp_fx.dev.otadata.slots[1]->offset, esp_fx.v2,
                        esp_fx.v2_len);
}

static void test_confirm(void **state)
{
    (void)state;
    update_to_v2();
    assert_int_equal(esp_device_confirm(&esp_fx.dev), 0);
    expect_otadata(E(1, ALOFT_OTA_VALID),
                   E(2, ALOFT_OTA_VALID));
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_VALID);
    /* Confirming again writes nothing, as IDF (state already VALID). */
    unsigned erases = fake_partition_stats.erases, writes = fake_partition_stats.writes;
    assert_int_equal(esp_device_confirm(&esp_fx.dev), 0);
    assert_int_equal(fake_partition_stats.erases, erases);
    assert_int_equal(fake_partition_stats.writes, writes);
    /* It stays: two more boots, both slot 1. */
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 1);
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_VALID);
}

static void test_unconfirmed_rolls_back(void **state)
{
    (void)state;
    update_to_v2();
    assert_int_equal(espfx_reboot(&esp_fx), 0);   /* no confirm: the model aborts it */
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
    assert_true(esp_fx.dev.rolled_back);
    assert_string_equal(esp_fx.dev.dev.running_desc->version, "1.0.0");
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_VALID);
}

static void test_reject_boots_previous(void **state)
{
    (void)state;
    update_to_v2();
    assert_int_equal(esp_device_reject(&esp_fx.dev), 0);
    expect_otadata(E(1, ALOFT_OTA_VALID),
                   E(2, ALOFT_OTA_INVALID));
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.chip.sim.boot.slot, 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
    assert_true(esp_fx.dev.rolled_back);
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_VALID);
    /* A rejected v2 is not resurrected by confirming v1. */
    assert_int_equal(esp_device_confirm(&esp_fx.dev), 0);
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
}

static void test_reject_nothing_to_go_back_to(void **state)
{
    static uint8_t before[2 * 4096];
    (void)state;
    /* First boot: only entry 0 is valid. */
    memcpy(before, otadata(), sizeof before);
    assert_int_equal(esp_device_reject(&esp_fx.dev), ALOFT_ERR_NO_BOOTABLE);
    assert_memory_equal(otadata(), before, sizeof before);
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
}

static void test_reject_previous_image_broken(void **state)
{
    static uint8_t before[2 * 4096];
    (void)state;
    update_to_v2();
    /* The old slot's image no longer verifies (one flipped byte). */
    espfx_mem(&esp_fx)[esp_fx.dev.otadata.slots[0]->offset + 5000] ^= 0x01;
    memcpy(before, otadata(), sizeof before);
    assert_int_equal(esp_device_reject(&esp_fx.dev), ALOFT_ERR_NO_BOOTABLE);
    assert_memory_equal(otadata(), before, sizeof before);
    /* v2 keeps running and can still be confirmed. */
    assert_int_equal(esp_device_confirm(&esp_fx.dev), 0);
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 1);
}

static void test_second_update_uses_other_entry(void **state)
{
    (void)state;
    update_to_v2();
    assert_int_equal(esp_device_confirm(&esp_fx.dev), 0);
    /* v1 again, into slot 0 now: entry 0 gets seq 3. */
    assert_int_equal(espfx_update(&esp_fx, esp_fx.v1, esp_fx.v1_len, 4096), 0);
    expect_otadata(E(3, ALOFT_OTA_NEW),
                   E(2, ALOFT_OTA_VALID));
    assert_int_equal(espfx_reboot(&esp_fx), 0);
    assert_int_equal(esp_fx.dev.dev.running_slot, 0);
    assert_int_equal(esp_device_running_state(&esp_fx.dev), ALOFT_OTA_PENDING_VERIFY);
}

static void test_pending_refuses_update(void **state)
{
    (void)state;
    update_to_v2();
    /* The core refuses to update an unconfirmed image; the port changes
     * nothing about that. */
    assert_int_equal(espfx_update(&esp_fx, esp_fx.v1, esp_fx.v1_len, 4096), ALOFT_ERR_PENDING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ESPFX_TEST(test_update_then_model_boots_it),
        ESPFX_TEST(test_confirm),
        ESPFX_TEST(test_unconfirmed_rolls_back),
        ESPFX_TEST(test_reject_boots_previous),
        ESPFX_TEST(test_reject_nothing_to_go_back_to),
        ESPFX_TEST(test_reject_previous_image_broken),
        ESPFX_TEST(test_second_update_uses_other_entry),
        ESPFX_TEST(test_pending_refuses_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
