/*
 * tests/unit/test_native_boot_check.c — what a HELLO read after the
 * restart says about the slot a RESULT named (aloft_native_boot_check,
 * aloft/native_host.h): against the real device engine and boot model
 * (support/sim_fixture.h, support/native_link.h), each HELLO read by an
 * INFO session without a password (no login), and on hand-made HELLOs.
 *
 *  - before the restart (activated, NEW, not running): NOT_YET;
 *  - after it: RUNNING on probation (PENDING_VERIFY), then confirmed
 *    (VALID) once the health check passed;
 *  - the soak's case: a power cut at the first boot's otadata rewrite
 *    (NEW -> PENDING_VERIFY in place, erase or program) -> the previous
 *    image runs: PREVIOUS, not a success;
 *  - an image that never confirms itself, restarted again: rolled back,
 *    PREVIOUS;
 *  - a rollback's slot after its restart: RUNNING, confirmed;
 *  - a device without rollback (new images UNDEFINED): RUNNING, confirmed;
 *    HELLOs that do not say (running 0xFF, no such slot): UNKNOWN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "aloft/wire/otadata.h"
#include "crypto_mbedtls.h"
#include "native_link.h"
#include "native_stream.h"
#include "sim_fixture.h"
#include "test_flash.h"

typedef struct ctx {
    sim_fixture_t fx;
    aloft_native_verifier_t v;
    native_source_t src;
    uint8_t v2_sha[32];
    aloft_native_device_t d;
    aloft_native_host_t h;
    aloft_native_hello_t hello;   /* the last probe's */
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    uint8_t salt[16] = {7};
    if (c == NULL || simfx_setup(&c->fx, ALOFT_CHIP_ESP32, 60000, 150000) != 0)
        return -1;
    aloft_native_derive(&aloft_mbedtls_crypto, "pw", salt, 1000, &c->v, NULL);
    aloft_hash_oneshot(&aloft_mbedtls_sha256, c->fx.v2, c->fx.v2_len, c->v2_sha);
    native_source_init(&c->src, c->fx.v2, c->fx.v2_len);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    native_source_close(&c->src);
    simfx_teardown(&c->fx);
    free(c);
    return 0;
}

/* One session with the simulated device (password "pw"). */
static void session(ctx_t *c, aloft_native_op_t op, const char *password)
{
    aloft_native_device_config_t dc = {.dev = &c->fx.sim.dev, .update = &c->fx.sim.update,
                                       .verifier = &c->v, .name = "boot"};
    aloft_native_host_config_t hc = {
        .crypto = &aloft_mbedtls_crypto, .op = op, .password = password,
        .source = &c->src.src, .size = (uint32_t)c->fx.v2_len, .sha256 = c->v2_sha};
    native_link_t l = {.host = &c->h, .dev = &c->d};
    assert_int_equal(aloft_native_device_init(&c->d, &dc, 0x7F000001u, 0), 0);
    assert_int_equal(aloft_native_host_init(&c->h, &hc, 0), 0);
    native_link_run(&l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
}

/* Upload v2: RESULT names slot 1 (app1) and a restart. */
static void upload(ctx_t *c)
{
    session(c, ALOFT_NATIVE_OP_UPLOAD, "pw");
    const aloft_native_result_t *r = aloft_native_host_result(&c->h);
    assert_non_null(r);
    assert_int_equal(r->slot, 1);
    assert_int_equal(r->reboot, 1);
}

/* What the host does after the restart: an INFO session without a
 * password (the device wants one: the HELLO comes first all the same),
 * judged for slot. */
static aloft_native_boot_t probe(ctx_t *c, uint8_t slot)
{
    session(c, ALOFT_NATIVE_OP_INFO, NULL);
    assert_non_null(aloft_native_host_hello(&c->h));
    assert_true(c->h.hello.caps & ALOFT_CAP_AUTH);
    c->hello = c->h.hello;
    return aloft_native_boot_check(&c->hello, slot);
}

static void test_before_and_after_the_restart(void **state)
{
    ctx_t *c = *state;
    upload(c);
    /* Between RESULT and the restart the device still answers. */
    assert_int_equal(probe(c, 1), ALOFT_NATIVE_BOOT_NOT_YET);
    assert_int_equal(c->hello.slots[1].state, ALOFT_OTA_NEW);
    assert_false(aloft_native_boot_probation(&c->hello, 1));

    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(probe(c, 1), ALOFT_NATIVE_BOOT_RUNNING);
    assert_int_equal(c->hello.slots[1].state, ALOFT_OTA_PENDING_VERIFY);
    assert_true(aloft_native_boot_probation(&c->hello, 1));

    assert_int_equal(sim_tick(&c->fx.sim, 1), 1);   /* the health check passes */
    assert_int_equal(probe(c, 1), ALOFT_NATIVE_BOOT_RUNNING);
    assert_int_equal(c->hello.slots[1].state, ALOFT_OTA_VALID);
    assert_false(aloft_native_boot_probation(&c->hello, 1));
}

static int boot_fn(void *arg)
{
    ctx_t *c = arg;
    return sim_boot(&c->fx.sim, 0);
}

/* The first boot rewrites the new entry in place: op 1 erases its sector,
 * op 2 programs it. A cut at either leaves it torn; the next boot runs v1. */
static void test_power_cut_at_the_first_boot(void **state)
{
    ctx_t *c = *state;
    upload(c);
    uint8_t *activated = simfx_snapshot(&c->fx);
    assert_non_null(activated);
    for (uint64_t n = 1; n <= 2; n++) {
        for (uint32_t seed = 1; seed <= 5; seed++) {
            memcpy(c->fx.sim.nor.mem, activated, c->fx.sim.nor.size);
            uint64_t before = nor_ops(&c->fx.sim.nor);
            assert_true(test_flash_run_cut(&c->fx.sim.nor, n, seed, boot_fn, c, NULL));
            assert_int_equal(nor_ops(&c->fx.sim.nor) - before, n);
            assert_int_equal(simfx_reboot(&c->fx), 0);
            assert_string_equal(c->fx.sim.boot.info.desc.version, "1.0.0");
            assert_int_equal(probe(c, 1), ALOFT_NATIVE_BOOT_PREVIOUS);
            assert_int_equal(c->hello.running_slot, 0);
            assert_int_equal(c->hello.slots[0].state, ALOFT_OTA_VALID);
            assert_int_not_equal(c->hello.slots[1].state, ALOFT_OTA_NEW);
            assert_false(aloft_native_boot_probation(&c->hello, 1));
        }
    }
    free(activated);
}

static void test_never_confirmed_is_rolled_back(void **state)
{
    ctx_t *c = *state;
    upload(c);
    assert_int_equal(simfx_reboot(&c->fx), 0);   /* v2, PENDING_VERIFY, never confirms */
    assert_int_equal(probe(c, 1), ALOFT_NATIVE_BOOT_RUNNING);
    assert_true(aloft_native_boot_probation(&c->hello, 1));
    assert_int_equal(simfx_reboot(&c->fx), 0);   /* the next boot gives up on it */
    assert_int_equal(probe(c, 1), ALOFT_NATIVE_BOOT_PREVIOUS);
    assert_int_equal(c->hello.slots[1].state, ALOFT_OTA_ABORTED);
}

static void test_rollback_slot_after_its_restart(void **state)
{
    ctx_t *c = *state;
    upload(c);
    assert_int_equal(simfx_reboot(&c->fx), 0);
    session(c, ALOFT_NATIVE_OP_ROLLBACK, "pw");
    assert_int_equal(aloft_native_host_result(&c->h)->slot, 0);
    assert_int_equal(probe(c, 0), ALOFT_NATIVE_BOOT_PREVIOUS);   /* not restarted yet:
                                                                    VALID is not NEW */
    assert_int_equal(simfx_reboot(&c->fx), 0);
    assert_int_equal(probe(c, 0), ALOFT_NATIVE_BOOT_RUNNING);
    assert_false(aloft_native_boot_probation(&c->hello, 0));
}

static void two_slots(aloft_native_hello_t *h, uint8_t running, uint32_t s0, uint32_t s1)
{
    memset(h, 0, sizeof *h);
    h->nslots = 2;
    h->running_slot = running;
    h->slots[0].state = s0;
    h->slots[1].state = s1;
}

static void test_hand_made_hellos(void **state)
{
    aloft_native_hello_t h;
    (void)state;
    /* Without rollback: UNDEFINED before and after; once it runs, it is
     * as confirmed as it gets. */
    two_slots(&h, 1, ALOFT_OTA_UNDEFINED, ALOFT_OTA_UNDEFINED);
    assert_int_equal(aloft_native_boot_check(&h, 1), ALOFT_NATIVE_BOOT_RUNNING);
    assert_false(aloft_native_boot_probation(&h, 1));
    two_slots(&h, 1, ALOFT_OTA_VALID, ALOFT_OTA_NEW);   /* bootloader without the rewrite */
    assert_int_equal(aloft_native_boot_check(&h, 1), ALOFT_NATIVE_BOOT_RUNNING);
    assert_true(aloft_native_boot_probation(&h, 1));
    two_slots(&h, 0, ALOFT_OTA_VALID, ALOFT_OTA_INVALID);   /* its firmware rejected it */
    assert_int_equal(aloft_native_boot_check(&h, 1), ALOFT_NATIVE_BOOT_PREVIOUS);
    /* What does not say. */
    two_slots(&h, 0xFF, ALOFT_OTA_VALID, ALOFT_OTA_NEW);
    assert_int_equal(aloft_native_boot_check(&h, 1), ALOFT_NATIVE_BOOT_UNKNOWN);
    two_slots(&h, 0, ALOFT_OTA_VALID, ALOFT_OTA_NEW);
    assert_int_equal(aloft_native_boot_check(&h, 2), ALOFT_NATIVE_BOOT_UNKNOWN);
    h.nslots = ALOFT_NATIVE_MAX_SLOTS + 1;
    assert_int_equal(aloft_native_boot_check(&h, 1), ALOFT_NATIVE_BOOT_UNKNOWN);
    assert_false(aloft_native_boot_probation(&h, 1));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_before_and_after_the_restart),
        T(test_power_cut_at_the_first_boot),
        T(test_never_confirmed_is_rolled_back),
        T(test_rollback_slot_after_its_restart),
        cmocka_unit_test(test_hand_made_hellos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
