/*
 * tests/unit/test_powercut_native.c — power cuts over the whole life of an
 * update through the native protocol: transfer, verification, activation,
 * first boot, confirmation, and a later rollback.
 *
 * Life A: a host uploads v2 over the native protocol (in-process engine and
 * peer, open device), the device reboots into it and the health check
 * confirms it. For every flash operation N of life A: start from the same
 * flash, cut power at N (torn), reboot, require a complete, verified image
 * (v1 or v2), then let the host start over (it resumes from the journal)
 * and require that the update completes: v2 running, VALID.
 * Life B: from v2 confirmed, roll back to v1 (no download) and reboot; a cut
 * at every operation must still boot a complete image.
 * Random multi-cut runs: life A with several random cuts until it
 * completes. ALOFT_SWEEP_STRIDE (default 1) thins the sweep for slow builds;
 * ALOFT_SWEEP_RUNS (default 10) sets the random multi-cut runs (`make sweep`
 * runs 500).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/wire/native.h"
#include "aloft/native_device.h"
#include "crypto_mbedtls.h"
#include "sim_fixture.h"
#include "test_flash.h"

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;

typedef struct sweep {
    sim_fixture_t fx;
    aloft_native_device_t d;
    uint8_t in[4 * ALOFT_NATIVE_FRAME_MAX];
    size_t in_len;
    uint8_t key[32];
    bool keyed;
    uint32_t tx_seq, rx_seq;
    uint32_t accepted_at;   /* ACCEPT offset of the last upload */
    unsigned resumed;       /* uploads that continued from a journal */
} sweep_t;

/* ---- a minimal in-process host for an open device -------------------- */

static void pull(sweep_t *s)
{
    size_t n;
    const uint8_t *p = aloft_native_device_tx_buf(&s->d, &n);
    if (n > sizeof s->in - s->in_len)
        n = sizeof s->in - s->in_len;
    memcpy(s->in + s->in_len, p, n);
    s->in_len += n;
    aloft_native_device_tx_ack(&s->d, n);
}

static void push(sweep_t *s, const uint8_t *p, size_t n)
{
    while (n > 0 && !(aloft_native_device_state(&s->d) & ALOFT_NATIVE_CLOSED)) {
        size_t room;
        uint8_t *buf = aloft_native_device_rx_buf(&s->d, &room);
        if (room == 0) {
            aloft_native_device_step(&s->d, 0);
        } else {
            size_t k = n < room ? n : room;
            memcpy(buf, p, k);
            aloft_native_device_rx_ack(&s->d, 0, k);
            p += k;
            n -= k;
        }
        pull(s);
    }
    while (aloft_native_device_state(&s->d) & ALOFT_NATIVE_WANT_STEP) {
        aloft_native_device_step(&s->d, 0);
        pull(s);
    }
}

static int send_msg(sweep_t *s, const aloft_native_msg_t *m)
{
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    int n = aloft_native_encode(m, SHA, s->keyed ? s->key : NULL, 'H', s->tx_seq, frame,
                                sizeof frame);
    if (n < 0)
        return n;
    s->tx_seq += s->keyed;
    push(s, frame, (size_t)n);
    return 0;
}

/* The next frame other than ACK; ALOFT_ERR_CLOSED if none will come. */
static int recv_msg(sweep_t *s, aloft_native_msg_t *m)
{
    for (;;) {
        pull(s);
        int n = aloft_native_frame_len(s->in, s->in_len, s->keyed, ALOFT_NATIVE_MAX_PAYLOAD);
        if (n < 0)
            return n;
        if (n == 0)
            return ALOFT_ERR_CLOSED;
        int err = aloft_native_decode(s->in, (size_t)n, SHA, s->keyed ? s->key : NULL, 'D',
                                      s->rx_seq, m);
        if (err)
            return err;
        s->rx_seq += s->keyed;
        if (m->type == ALOFT_MSG_HELLO) {   /* open device: key from a zero client key */
            uint8_t zero[32] = {0}, am[32];
            aloft_native_auth_message(SHA, s->in + ALOFT_NATIVE_HEADER_LEN,
                                      (size_t)n - ALOFT_NATIVE_HEADER_LEN, zero, am);
            aloft_native_session_key(SHA, zero, am, s->key);
            s->keyed = true;
        }
        memmove(s->in, s->in + n, s->in_len - (size_t)n);
        s->in_len -= (size_t)n;
        if (m->type != ALOFT_MSG_ACK)
            return 0;
    }
}

/* Upload v2 (raw), continuing wherever the device says. 0 on RESULT. */
static int upload_v2(sweep_t *s)
{
    aloft_native_device_config_t cfg = {.dev = &s->fx.sim.dev, .update = &s->fx.sim.update,
                                        .name = "sweep", .open = true};
    aloft_native_msg_t m = {.type = ALOFT_MSG_OFFER};
    int err;
    s->in_len = 0;
    s->keyed = false;
    s->tx_seq = s->rx_seq = 0;
    if ((err = aloft_native_device_init(&s->d, &cfg, 0x7F000001u, 0)) != 0 ||
        (err = recv_msg(s, &m)) != 0)
        return err;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.size = (uint32_t)s->fx.v2_len;
    aloft_hash_oneshot(SHA, s->fx.v2, s->fx.v2_len, m.u.offer.sha256);
    if ((err = send_msg(s, &m)) != 0 || (err = recv_msg(s, &m)) != 0)
        return err;
    if (m.type != ALOFT_MSG_ACCEPT)
        return m.type == ALOFT_MSG_ERROR ? m.u.error.code : ALOFT_ERR_PROTO;
    uint32_t from = s->accepted_at = m.u.accept.offset;
    s->resumed += from > 0;
    for (uint32_t off = from; off < s->fx.v2_len;) {
        uint32_t n = (uint32_t)s->fx.v2_len - off;
        if (n > ALOFT_NATIVE_MAX_PAYLOAD - 4)
            n = ALOFT_NATIVE_MAX_PAYLOAD - 4;
        memset(&m, 0, sizeof m);
        m.type = ALOFT_MSG_DATA;
        m.u.data.offset = off - from;
        m.u.data.data = s->fx.v2 + off;
        m.u.data.len = (uint16_t)n;
        if ((err = send_msg(s, &m)) != 0)
            return err;
        off += n;
    }
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_END;
    m.u.end.stream_len = (uint32_t)s->fx.v2_len - from;
    if ((err = send_msg(s, &m)) != 0 || (err = recv_msg(s, &m)) != 0)
        return err;
    return m.type == ALOFT_MSG_RESULT ? 0 : m.type == ALOFT_MSG_ERROR ? m.u.error.code : -1;
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

/* Life B: roll back to the other slot without a download, reboot. */
static int life_b(void *arg)
{
    sweep_t *s = arg;
    int err = aloft_update_rollback(&s->fx.sim.update, &s->fx.sim.dev);
    return err ? err : sim_boot(&s->fx.sim, 0);
}

static void restore(sweep_t *s, const uint8_t *image)
{
    memcpy(s->fx.sim.nor.mem, image, s->fx.sim.nor.size);
    assert_int_equal(simfx_reboot(&s->fx), 0);
}

/* After a cut: reboot from flash; a complete, verified image must run. */
static void reboot_after_cut(sweep_t *s)
{
    assert_int_equal(simfx_reboot(&s->fx), 0);
    assert_true(s->fx.sim.boot.info.complete);
    assert_true(running(s, "1.0.0") || running(s, "2.0.0"));
}

static uint64_t ops_of(sweep_t *s, int (*fn)(void *))
{
    uint64_t before = nor_ops(&s->fx.sim.nor);
    assert_int_equal(fn(s), 0);
    return nor_ops(&s->fx.sim.nor) - before;
}

static void test_native_life_sweep(void **state)
{
    (void)state;
    sweep_t *s = calloc(1, sizeof *s);
    const char *env = getenv("ALOFT_SWEEP_STRIDE");
    uint64_t stride = env && atoi(env) > 0 ? (uint64_t)atoi(env) : 1;
    const char *runs_env = getenv("ALOFT_SWEEP_RUNS");
    int runs = runs_env && atoi(runs_env) > 0 ? atoi(runs_env) : 10;
    assert_int_equal(simfx_setup(&s->fx, ALOFT_CHIP_ESP32, 60000, 200000), 0);
    uint8_t *base = simfx_snapshot(&s->fx);
    uint64_t n_a = ops_of(s, life_a);
    assert_true(running(s, "2.0.0"));
    uint8_t *confirmed = simfx_snapshot(&s->fx);
    uint64_t n_b = ops_of(s, life_b);
    assert_true(running(s, "1.0.0"));

    unsigned cuts = 0;
    s->resumed = 0;
    for (uint64_t n = 1; n <= n_a; n += stride, cuts++) {
        restore(s, base);
        assert_true(test_flash_run_cut(&s->fx.sim.nor, n, (uint32_t)n * 2654435761u, life_a, s,
                                       NULL));
        reboot_after_cut(s);
        assert_int_equal(life_a(s), 0);   /* the host tries again and finishes */
        assert_true(running(s, "2.0.0"));
        assert_int_equal(s->fx.sim.boot.state, ALOFT_OTA_VALID);
    }
    unsigned resumed = s->resumed;
    for (uint64_t n = 1; n <= n_b; n += stride, cuts++) {
        restore(s, confirmed);
        assert_true(test_flash_run_cut(&s->fx.sim.nor, n, (uint32_t)n * 40503u, life_b, s, NULL));
        reboot_after_cut(s);
    }

    /* Random multi-cut runs: cut again and again until life A completes. */
    unsigned multi = 0;
    srand(12345);
    for (int run = 0; run < runs; run++) {
        restore(s, base);
        for (int k = 0; k < 6; k++) {
            uint64_t n = 1 + (uint64_t)rand() % n_a;
            if (!test_flash_run_cut(&s->fx.sim.nor, n, (uint32_t)rand(), life_a, s, NULL))
                break;
            multi++;
            reboot_after_cut(s);
        }
        assert_int_equal(life_a(s), 0);
        assert_true(running(s, "2.0.0"));
    }
    printf("native power-cut sweep: life A %llu ops, rollback %llu ops, %u cut points "
           "(stride %llu), %u resumed from the journal, %d random runs with %u cuts; 0 failures\n",
           (unsigned long long)n_a, (unsigned long long)n_b, cuts, (unsigned long long)stride,
           resumed, runs, multi);
    assert_true(resumed > 0);
    free(base);
    free(confirmed);
    simfx_teardown(&s->fx);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_native_life_sweep)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
