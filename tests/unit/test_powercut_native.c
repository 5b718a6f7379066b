/*
 * tests/unit/test_powercut_native.c — power cuts over the whole life of an
 * update through the native protocol: transfer, verification, activation,
 * first boot, confirmation, and a later rollback.
 *
 * Life A: a host uploads v2 over the native protocol (the host and device
 * engines in one process, open device), the device reboots into it and the health check
 * confirms it. For every flash operation N of life A: start from the same
 * flash, cut power at N (torn), reboot, require a complete, verified image:
 * v1 while N falls within the upload (the activation is its last
 * operation, so a cut there is before it finished), v1 or v2 after it; then
 * let the host start over (it resumes from the journal) and require that
 * the update completes: v2 running, VALID.
 * Life B: from v2 confirmed, roll back to v1 (no download) and reboot; a cut
 * at every operation must still boot a complete image.
 * The delta life: life A with v2 sent as a delta patch of v1 (the device's
 * delta stage reads v1 from the running slot and feeds the pipeline), every
 * operation cut once; the retries resume the patch at a durable mark inside its segment.
 * Random multi-cut runs: life A (and the delta life) with several random
 * cuts until it completes. ALOFT_SWEEP_STRIDE (default 1) thins the sweep
 * for slow builds; ALOFT_SWEEP_RUNS (default 10) sets the random multi-cut
 * runs (`make sweep` runs 500).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "crypto_mbedtls.h"
#include "delta_host.h"
#include "inflate_zlib.h"
#include "native_link.h"
#include "native_stream.h"
#include "sim_fixture.h"
#include "test_flash.h"

#define APP0 0x10000u   /* v1's slot (the default scheme) */
#define SLOT 0x140000u

typedef struct sweep {
    sim_fixture_t fx;
    aloft_native_device_t d;
    aloft_native_host_t h;
    native_source_t src;
    uint8_t v2_sha[32];
    /* The delta life: v2 goes as this patch of v1 (NULL: the image). The
     * stage is RAM: a power cut clears it. */
    uint8_t *patch;
    size_t patch_len;
    inflate_zlib_t zst;
    aloft_inflate_t z;
    aloft_native_delta_t stage;
    uint32_t accepted_at;   /* ACCEPT offset of the last upload */
    unsigned resumed;       /* uploads that continued from a journal */
    unsigned patched;       /* uploads ACCEPTed as a patch */
    unsigned full;          /* uploads given a patch that sent the image (NO_PATCH) */
} sweep_t;

static void on_event(void *ctx, const aloft_native_event_t *ev)
{
    sweep_t *s = ctx;
    if (ev->kind == ALOFT_NATIVE_EV_ACCEPTED) {
        s->accepted_at = ev->offset;
        s->resumed += ev->offset > 0;
        s->patched += ev->patch;
    }
    s->full += ev->kind == ALOFT_NATIVE_EV_NO_PATCH;
}

/* Upload v2 (raw, or s->patch) with the host engine, continuing wherever
 * the device says. 0 on RESULT, else the session's error. */
static int upload_v2(sweep_t *s)
{
    aloft_native_device_config_t dc = {.dev = &s->fx.sim.dev, .update = &s->fx.sim.update,
                                       .inflate = s->patch ? &s->z : NULL,
                                       .delta = s->patch ? &s->stage : NULL,
                                       .name = "sweep", .open = true};
    aloft_native_host_config_t hc = {
        .crypto = &aloft_mbedtls_crypto, .op = ALOFT_NATIVE_OP_UPLOAD, .source = &s->src.src,
        .size = (uint32_t)s->fx.v2_len, .sha256 = s->v2_sha, .patch = s->patch,
        .patch_len = s->patch_len, .on_event = on_event, .ctx = s};
    native_link_t l = {.host = &s->h, .dev = &s->d};
    int err = aloft_native_device_init(&s->d, &dc, 0x7F000001u, 0);
    if (!err)
        err = aloft_native_host_init(&s->h, &hc, 0);
    if (err)
        return err;
    native_link_run(&l);
    err = aloft_native_host_last_error(&s->h);
    if (!err && aloft_native_host_result(&s->h) == NULL)
        err = ALOFT_ERR_STATE;   /* the session stopped halfway */
    return err;
}

/* ---- the lives ---------------------------------------------------------- */

static bool running(const sweep_t *s, const char *version)
{
    return strcmp(s->fx.sim.boot.info.desc.version, version) == 0;
}

/* Life A, from wherever the device is: upload unless v2 already runs,
 * reboot into it, confirm. A reset re-runs the boot path in-process on the
 * same (armed) flash. */
static int life_a(void *arg)
{
    sweep_t *s = arg;
    int err = 0;
    if (!running(s, "2.0.0") && (err = upload_v2(s)) == 0)
        err = sim_boot(&s->fx.sim, 0);
    if (err == 0 && sim_tick(&s->fx.sim, 1) < 0)
        err = -1;
    return err;
}

/* Life A's upload alone (how many operations until the activation). */
static int upload_only(void *arg)
{
    return upload_v2(arg);
}

/* Life B: roll back to the other slot without a download, reboot. */
static int life_b(void *arg)
{
    sweep_t *s = arg;
    int err = aloft_update_rollback(&s->fx.sim.update, &s->fx.sim.dev);
    return err ? err : sim_boot(&s->fx.sim, 0);
}

/* Power on from the flash: the device's RAM (the delta stage too) is new. */
static void power_on(sweep_t *s)
{
    assert_int_equal(simfx_reboot(&s->fx), 0);
    memset(&s->stage, 0, sizeof s->stage);
}

static void restore(sweep_t *s, const uint8_t *image)
{
    memcpy(s->fx.sim.nor.mem, image, s->fx.sim.nor.size);
    power_on(s);
}

/* After a cut at operation n of life A: reboot from flash; a complete,
 * verified image must run, and v1 while n fell within the upload (n_up
 * operations, the activation last). */
static void reboot_after_cut(sweep_t *s, uint64_t n, uint64_t n_up)
{
    power_on(s);
    assert_true(s->fx.sim.boot.info.complete);
    assert_true(running(s, "1.0.0") || (n > n_up && running(s, "2.0.0")));
}

static uint64_t ops_of(sweep_t *s, int (*fn)(void *))
{
    uint64_t before = nor_ops(&s->fx.sim.nor);
    assert_int_equal(fn(s), 0);
    return nor_ops(&s->fx.sim.nor) - before;
}

static uint64_t env_or(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? (uint64_t)atoi(v) : dflt;
}

/* Sweep life A from base (n_up: its upload's operations, n_a: all of
 * them): every stride-th operation cut once, then random multi-cut runs;
 * after every cut the retry must end in v2, VALID. Returns the cut points
 * and adds the cuts of the random runs to *multi. */
static unsigned sweep_life_a(sweep_t *s, const uint8_t *base, uint64_t n_up, uint64_t n_a,
                             unsigned *multi)
{
    uint64_t stride = env_or("ALOFT_SWEEP_STRIDE", 1);
    int runs = (int)env_or("ALOFT_SWEEP_RUNS", 10);
    unsigned cuts = 0;
    for (uint64_t n = 1; n <= n_a; n += stride, cuts++) {
        restore(s, base);
        assert_true(test_flash_run_cut(&s->fx.sim.nor, n, (uint32_t)n * 2654435761u, life_a, s,
                                       NULL));
        reboot_after_cut(s, n, n_up);
        assert_true(simfx_same(&s->fx, base, APP0, SLOT));   /* v1's slot: never written */
        assert_int_equal(life_a(s), 0);   /* the host tries again and finishes */
        assert_true(running(s, "2.0.0"));
        assert_int_equal(s->fx.sim.boot.state, ALOFT_OTA_VALID);
    }
    /* Random multi-cut runs: cut again and again until life A completes. */
    srand(12345);
    for (int run = 0; run < runs; run++) {
        restore(s, base);
        for (int k = 0; k < 6; k++) {
            uint64_t n = 1 + (uint64_t)rand() % n_a;
            if (!test_flash_run_cut(&s->fx.sim.nor, n, (uint32_t)rand(), life_a, s, NULL))
                break;
            (*multi)++;
            /* n_up counts the upload from base: a resumed one does fewer
             * operations, so after the first cut any complete image. */
            reboot_after_cut(s, k == 0 ? n : UINT64_MAX, n_up);
        }
        assert_int_equal(life_a(s), 0);
        assert_true(running(s, "2.0.0"));
    }
    return cuts;
}

static void sweep_setup(sweep_t *s, size_t v1_size, size_t v2_size)
{
    assert_int_equal(simfx_setup(&s->fx, ALOFT_CHIP_ESP32, v1_size, v2_size), 0);
    native_source_init(&s->src, s->fx.v2, s->fx.v2_len);
    aloft_hash_oneshot(&aloft_mbedtls_sha256, s->fx.v2, s->fx.v2_len, s->v2_sha);
    inflate_zlib_init(&s->z, &s->zst, DELTA_DEFAULT_WBITS);
}

static void sweep_teardown(sweep_t *s)
{
    s->z.end(s->z.ctx);
    free(s->patch);
    native_source_close(&s->src);
    simfx_teardown(&s->fx);
    free(s);
}

static void test_native_life_sweep(void **state)
{
    (void)state;
    sweep_t *s = calloc(1, sizeof *s);
    sweep_setup(s, 60000, 200000);
    uint8_t *base = simfx_snapshot(&s->fx);
    uint64_t n_up = ops_of(s, upload_only);
    restore(s, base);
    uint64_t n_a = ops_of(s, life_a);
    assert_true(running(s, "2.0.0"));
    uint8_t *confirmed = simfx_snapshot(&s->fx);
    uint64_t n_b = ops_of(s, life_b);
    assert_true(running(s, "1.0.0"));

    unsigned multi = 0;
    s->resumed = 0;
    unsigned cuts = sweep_life_a(s, base, n_up, n_a, &multi);
    unsigned resumed = s->resumed;
    uint64_t stride = env_or("ALOFT_SWEEP_STRIDE", 1);
    for (uint64_t n = 1; n <= n_b; n += stride, cuts++) {
        restore(s, confirmed);
        assert_true(test_flash_run_cut(&s->fx.sim.nor, n, (uint32_t)n * 40503u, life_b, s, NULL));
        power_on(s);
        assert_true(s->fx.sim.boot.info.complete);
        assert_true(running(s, "1.0.0") || running(s, "2.0.0"));
    }
    printf("native power-cut sweep: life A %llu ops (upload %llu), rollback %llu ops, %u cut "
           "points (stride %llu), %u resumed from the journal, %u cuts in random runs; "
           "0 failures\n",
           (unsigned long long)n_a, (unsigned long long)n_up, (unsigned long long)n_b, cuts,
           (unsigned long long)stride, resumed, multi);
    assert_true(resumed > 0);
    free(base);
    free(confirmed);
    sweep_teardown(s);
}

/* The delta life: v2 as a patch of v1 (same filler; two 64 KiB marks in
 * one segment, so a retry resumes inside it: the device drops the
 * segment's output below the mark), every operation of its life cut once. */
static void test_delta_life_sweep(void **state)
{
    (void)state;
    sweep_t *s = calloc(1, sizeof *s);
    sweep_setup(s, 70000, 90000);
    assert_int_equal(delta_make(s->fx.v1, s->fx.v1_len, s->fx.v2, s->fx.v2_len, NULL, 0,
                                DELTA_DEFAULT_WBITS, 2 * ALOFT_DELTA_MARK, DELTA_FAST, &s->patch,
                                &s->patch_len),
                     0);
    aloft_delta_header_t ph;
    assert_true(aloft_delta_parse_header(s->patch, s->patch_len, &ph, NULL) > 0);
    assert_int_equal(ph.segment_count, 1);
    assert_int_equal(ph.segment_span, 2 * ALOFT_DELTA_MARK);
    uint8_t *base = simfx_snapshot(&s->fx);
    uint64_t n_up = ops_of(s, upload_only);
    assert_int_equal(s->patched, 1);
    restore(s, base);
    uint64_t n_a = ops_of(s, life_a);
    assert_true(running(s, "2.0.0"));

    unsigned multi = 0;
    s->resumed = s->patched = 0;
    unsigned cuts = sweep_life_a(s, base, n_up, n_a, &multi);
    printf("delta power-cut sweep: patch %zu bytes for a %zu-byte image; life %llu ops "
           "(upload %llu), %u cut points, %u uploads as a patch, %u resumed from the journal, "
           "%u cuts in random runs; 0 failures\n",
           s->patch_len, s->fx.v2_len, (unsigned long long)n_a, (unsigned long long)n_up, cuts,
           s->patched, s->resumed, multi);
    assert_true(s->resumed > 0);
    assert_int_equal(s->full, 0);   /* every retry went as a patch */
    free(base);
    sweep_teardown(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_native_life_sweep),
                                       cmocka_unit_test(test_delta_life_sweep)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
