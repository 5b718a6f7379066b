/*
 * tests/unit/test_powercut.c — the power-cut sweep over one complete update
 * on the simulated flash.
 *
 * Phase 1, the update (transfer, verification, first page, otadata): for
 * every flash operation index N, start from the same flash, cut power at
 * operation N (the operation is torn), reboot, and require that the device
 * boots the old image, complete and verified, and that app0 is untouched.
 *
 * Between the phases, with no cut: a reboot runs the new image,
 * PENDING_VERIFY (the activation was the last operation of phase 1).
 *
 * Phase 2, the life after activation: the first boot rewrites the new
 * image's otadata entry NEW -> PENDING_VERIFY and the health check
 * PENDING_VERIFY -> VALID. Each rewrite is in place, as ESP-IDF's
 * rewrite_ota_seq does (lib/otadata.c): erase the entry's sector, program
 * its 32 bytes. So the four operations are erase, program, erase, program,
 * and a cut at any of them leaves the new entry torn (a torn program lands
 * a strict prefix, a torn erase never finishes its sector) with the old
 * entry the only valid one: the device boots the old image, VALID, and both
 * slots keep their images. Only the whole sequence makes the new image
 * VALID, and it stays so over further reboots without writing anything.
 *
 * Each cut is tried with two tear seeds (how much of the torn operation
 * lands). The number of cut points is printed; zero failures allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim_fixture.h"
#include "test_flash.h"

#define APP0 0x10000u
#define APP1 0x150000u
#define SLOT 0x140000u
#define SEEDS 2

/* What each operation of phase 2 is, and what a cut there must boot. */
typedef enum { OP_ERASE, OP_PROG } op_kind_t;
static const struct {
    op_kind_t op;
    const char *version;
    uint32_t state;
} after_cut[] = {
    {OP_ERASE, "1.0.0", ALOFT_OTA_VALID},   /* first boot: v2's entry erased */
    {OP_PROG, "1.0.0", ALOFT_OTA_VALID},    /* ... PENDING_VERIFY programmed */
    {OP_ERASE, "1.0.0", ALOFT_OTA_VALID},   /* health check: erased again */
    {OP_PROG, "1.0.0", ALOFT_OTA_VALID},    /* ... VALID programmed */
};
#define N_AFTER (sizeof after_cut / sizeof after_cut[0])

typedef struct sweep {
    sim_fixture_t fx;
    uint8_t *base;       /* flash before the update */
    uint8_t *updated;    /* flash right after a clean update */
} sweep_t;

static int do_update(void *arg)
{
    sweep_t *s = arg;
    return sim_update_buffer(&s->fx.sim, ALOFT_TARGET_APP, s->fx.v2, s->fx.v2_len);
}

/* A reset re-runs the boot path in-process, on the same (armed) flash. */
static int do_boot_and_confirm(void *arg)
{
    sweep_t *s = arg;
    int err = sim_boot(&s->fx.sim, 0);
    if (err == 0 && sim_tick(&s->fx.sim, 1) < 0)
        err = -1;
    return err;
}

/* Put the flash back to a saved state; boot it too when the next step
 * expects a running device (the update), not when the step is the boot. */
static void restore(sweep_t *s, const uint8_t *image, bool boot)
{
    memcpy(s->fx.sim.nor.mem, image, s->fx.sim.nor.size);
    if (boot)
        assert_int_equal(simfx_reboot(&s->fx), 0);
}

/* Reboot: the device must boot a complete, verified image of version,
 * in that otadata state (what the device reports, after the boot's own
 * otadata writes). */
static void expect_boot(sweep_t *s, const char *version, uint32_t state)
{
    assert_int_equal(simfx_reboot(&s->fx), 0);   /* sim_boot verifies the image */
    assert_true(s->fx.sim.boot.info.complete);
    assert_string_equal(s->fx.sim.boot.info.desc.version, version);
    if (s->fx.sim.boot.state != state)
        fail_msg("booted %s in state %s, want %s", version,
                 aloft_ota_state_name(s->fx.sim.boot.state), aloft_ota_state_name(state));
}

/* Operations a function performs without a cut. */
static uint64_t count_ops(sweep_t *s, int (*fn)(void *))
{
    uint64_t before = nor_ops(&s->fx.sim.nor);
    assert_int_equal(fn(s), 0);
    return nor_ops(&s->fx.sim.nor) - before;
}

static void test_sweep(void **state)
{
    (void)state;
    sweep_t s;
    assert_int_equal(simfx_setup(&s.fx, ALOFT_CHIP_ESP32, 60000, 140000), 0);
    s.base = simfx_snapshot(&s.fx);

    uint64_t n_update = count_ops(&s, do_update);
    s.updated = simfx_snapshot(&s.fx);
    uint64_t n_after = count_ops(&s, do_boot_and_confirm);
    assert_int_equal(n_after, N_AFTER);

    unsigned cuts = 0;
    for (uint64_t n = 1; n <= n_update; n++) {
        for (uint32_t seed = 1; seed <= SEEDS; seed++) {
            restore(&s, s.base, true);
            assert_true(test_flash_run_cut(&s.fx.sim.nor, n, seed * 7919u + (uint32_t)n,
                                           do_update, &s, NULL));
            expect_boot(&s, "1.0.0", ALOFT_OTA_VALID);
            assert_true(simfx_same(&s.fx, s.base, APP0, SLOT));
            cuts++;
        }
    }

    /* The update done, power off before the first boot: v2, on trial. */
    restore(&s, s.updated, false);
    expect_boot(&s, "2.0.0", ALOFT_OTA_PENDING_VERIFY);

    for (uint64_t n = 1; n <= n_after; n++) {
        for (uint32_t seed = 1; seed <= SEEDS; seed++) {
            const nor_counters_t *c = &s.fx.sim.nor.count;
            restore(&s, s.updated, false);
            uint64_t erases = c->erases, progs = c->progs;
            assert_true(test_flash_run_cut(&s.fx.sim.nor, n, seed * 104729u + (uint32_t)n,
                                           do_boot_and_confirm, &s, NULL));
            /* ops 1..n were the ones the table says (the torn one counted) */
            uint64_t want_erases = 0;
            for (uint64_t k = 0; k < n; k++)
                want_erases += after_cut[k].op == OP_ERASE;
            assert_int_equal(c->erases - erases, want_erases);
            assert_int_equal(c->progs - progs, n - want_erases);
            expect_boot(&s, after_cut[n - 1].version, after_cut[n - 1].state);
            assert_true(simfx_same(&s.fx, s.updated, APP0, SLOT));
            assert_true(simfx_same(&s.fx, s.updated, APP1, SLOT));
            cuts++;
        }
    }

    /* The whole life without a cut: v2 VALID after a real reboot, and
     * again after another one, which writes nothing. */
    restore(&s, s.updated, false);
    assert_int_equal(count_ops(&s, do_boot_and_confirm), N_AFTER);
    expect_boot(&s, "2.0.0", ALOFT_OTA_VALID);
    expect_boot(&s, "2.0.0", ALOFT_OTA_VALID);
    assert_int_equal(nor_ops(&s.fx.sim.nor), 0);

    printf("power-cut sweep: %llu update ops + %llu boot/confirm ops, %u cut points "
           "(x%d tear seeds), 0 failures: every cut boots 1.0.0 VALID; the whole life "
           "boots 2.0.0 VALID\n",
           (unsigned long long)n_update, (unsigned long long)n_after, cuts / SEEDS, SEEDS);
    assert_true(n_update > 20);
    free(s.base);
    free(s.updated);
    simfx_teardown(&s.fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sweep)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
