/*
 * tests/unit/test_native_delta.c — delta uploads engine to engine
 * (docs/PROTOCOL.md §2.5-2.7, FORMATS.md §3): the host sends a patch of the
 * running image, the device rebuilds the new one through its delta stage.
 *  - a patch upload ends in the new image, with far fewer bytes on the wire;
 *  - a patch for another base: the host sends the full image instead (and
 *    says why); the device refuses one forced on it (-76) before any erase:
 *    no flash operation at all;
 *  - a tampered patch, a patch that rebuilds another image than the one
 *    offered, and a signed image's patch with a bad signature are refused
 *    before activation: otadata and the running slot byte for byte as they
 *    were, and the old image still boots (a good signature goes through);
 *  - a cut mid-patch resumes at the last durable segment;
 *  - the running image identified while idle (as serve does after a
 *    restart): the HELLO reads none of it and still names it;
 *  - RAM of the stage (printed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "bytes.h"
#include "crypto_mbedtls.h"
#include "delta_host.h"
#include "image_make.h"
#include "inflate_zlib.h"
#include "native_link.h"
#include "native_stream.h"
#include "sign_keys.h"
#include "sim_fixture.h"

#define HOST_IP 0xC0A80133u
#define V1_SIZE 200000u
#define V2_SIZE 210000u

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;

typedef struct ctx {
    sim_fixture_t fx;             /* first: simfx_ctx_teardown */
    inflate_zlib_t zst;
    aloft_inflate_t z;
    aloft_native_delta_t delta;
    uint8_t v2_sha[32];
    native_source_t src;
    uint8_t *patch;
    size_t patch_len;
    aloft_native_device_t d, d2;
    aloft_native_host_t h, h2;
    native_link_t l;
    /* events */
    bool accepted_patch, done;
    int no_patch;                 /* NO_PATCH events */
    aloft_native_full_why_t full_why;
    uint32_t accepted_at, durable;
    uint8_t error_code_seen;
} ctx_t;

static void on_event(void *p, const aloft_native_event_t *ev)
{
    ctx_t *c = p;
    switch (ev->kind) {
    case ALOFT_NATIVE_EV_ACCEPTED:
        c->accepted_patch = ev->patch;
        c->accepted_at = ev->offset;
        break;
    case ALOFT_NATIVE_EV_NO_PATCH:
        c->no_patch++;
        c->full_why = ev->full_why;
        break;
    case ALOFT_NATIVE_EV_PROGRESS: c->durable = ev->durable; break;
    case ALOFT_NATIVE_EV_DONE: c->done = true; break;
    default: break;
    }
}

/* A patch from base to the fixture's v2 (malloc'd into c->patch). */
static void make_patch(ctx_t *c, const uint8_t *base, size_t base_len, const uint8_t *img,
                       size_t img_len)
{
    free(c->patch);
    assert_int_equal(delta_make(base, base_len, img, img_len, NULL, 0, 12, 0, DELTA_FAST,
                                &c->patch, &c->patch_len), 0);
}

/* A patch from v1 to v2 with v2's signature block in its header. */
static void make_patch_signed(ctx_t *c, const uint8_t *block, size_t block_len)
{
    free(c->patch);
    assert_int_equal(delta_make(c->fx.v1, c->fx.v1_len, c->fx.v2, c->fx.v2_len, block, block_len,
                                12, 0, DELTA_FAST, &c->patch, &c->patch_len), 0);
}

/* The v1 -> v2 patch every case starts from, made once: the fixture's
 * images are the same in every case, and the encoder under ASan is most of
 * this test's time. */
static uint8_t *v1v2;
static size_t v1v2_len;

static int setup(void **state)
{
    ctx_t *c = simfx_ctx_new(sizeof *c, V1_SIZE, V2_SIZE);
    if (c == NULL)
        return -1;
    inflate_zlib_init(&c->z, &c->zst, 12);
    aloft_hash_oneshot(SHA, c->fx.v2, c->fx.v2_len, c->v2_sha);
    native_source_init(&c->src, c->fx.v2, c->fx.v2_len);
    if (v1v2 == NULL) {
        make_patch(c, c->fx.v1, c->fx.v1_len, c->fx.v2, c->fx.v2_len);
        v1v2 = malloc(c->patch_len);
        assert_non_null(v1v2);
        memcpy(v1v2, c->patch, v1v2_len = c->patch_len);
    } else {
        c->patch = malloc(v1v2_len);
        assert_non_null(c->patch);
        memcpy(c->patch, v1v2, c->patch_len = v1v2_len);
    }
    *state = c;
    return 0;
}

static int free_v1v2(void **state)
{
    (void)state;
    free(v1v2);
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    c->z.end(c->z.ctx);
    native_source_close(&c->src);
    free(c->patch);
    return simfx_ctx_teardown(state);
}

static aloft_native_host_config_t host_cfg(ctx_t *c)
{
    aloft_native_host_config_t hc = {
        .crypto = &aloft_mbedtls_crypto, .op = ALOFT_NATIVE_OP_UPLOAD,
        .source = &c->src.src, .size = (uint32_t)c->fx.v2_len, .sha256 = c->v2_sha,
        .project = "demo", .version = "2.0.0", .patch = c->patch, .patch_len = c->patch_len,
        .on_event = on_event, .ctx = c};
    return hc;
}

/* A connection to the simulated device (open, with inflate and delta). */
static void connect(ctx_t *c, const aloft_native_host_config_t *hc)
{
    aloft_native_device_config_t dc = {
        .dev = &c->fx.sim.dev, .update = &c->fx.sim.update, .inflate = &c->z,
        .delta = &c->delta, .name = "delta", .open = true};
    uint32_t now = c->l.now;
    c->accepted_patch = c->done = false;
    c->no_patch = 0;
    c->accepted_at = c->durable = 0;
    c->l = (native_link_t){.host = &c->h, .dev = &c->d, .now = now, .chunk = 1500};
    assert_int_equal(aloft_native_device_init(&c->d, &dc, HOST_IP, now), 0);
    assert_int_equal(aloft_native_host_init(&c->h, hc, now), 0);
}

/* Restart the simulated device (a new image may run); the stage forgets
 * the base, as serve does on a restart. */
static void reboot(ctx_t *c)
{
    assert_int_equal(simfx_reboot(&c->fx), 0);
    c->delta.identified = false;
}

/* What a refused update must leave as it was: otadata and the running
 * slot, compared with a snapshot taken before it. */
static void expect_untouched(ctx_t *c, const uint8_t *snap)
{
    const aloft_part_t *slots[ALOFT_OTA_SLOTS_MAX];
    const aloft_ptable_t *pt = c->fx.sim.dev.ptable;
    const aloft_part_t *od = aloft_ptable_find(pt, ALOFT_PT_TYPE_DATA, ALOFT_PT_DATA_OTA);
    int n = aloft_ptable_ota_slots(pt, slots, (int)ALOFT_OTA_SLOTS_MAX);
    assert_non_null(od);
    assert_true(c->fx.sim.dev.running_slot >= 0 && c->fx.sim.dev.running_slot < n);
    const aloft_part_t *run = slots[c->fx.sim.dev.running_slot];
    assert_int_equal(simfx_same(&c->fx, snap, od->offset, od->size), 1);
    assert_int_equal(simfx_same(&c->fx, snap, run->offset, run->size), 1);
}

/* The image in the running slot starts with these bytes. */
static void expect_running(ctx_t *c, const uint8_t *img, size_t len)
{
    const aloft_part_t *slots[ALOFT_OTA_SLOTS_MAX];
    int n = aloft_ptable_ota_slots(c->fx.sim.dev.ptable, slots, (int)ALOFT_OTA_SLOTS_MAX);
    assert_true(c->fx.sim.dev.running_slot >= 0 && c->fx.sim.dev.running_slot < n);
    uint8_t *got = malloc(len);
    assert_int_equal(c->fx.sim.dev.flash->read(c->fx.sim.dev.flash,
                                               slots[c->fx.sim.dev.running_slot]->offset, got,
                                               len), 0);
    assert_memory_equal(got, img, len);
    free(got);
}

static void test_ram(void **state)
{
    (void)state;
    printf("RAM: aloft_native_delta_t %zu bytes (aloft_delta_t %zu, aloft_image_t %zu in a "
           "union), beyond a full update; aloft_native_device_t %zu\n",
           sizeof(aloft_native_delta_t), sizeof(aloft_delta_t), sizeof(aloft_image_t),
           sizeof(aloft_native_device_t));
    assert_true(sizeof(aloft_native_delta_t) <= 16u * 1024u);
}

static void test_patch_upload(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c);
    connect(c, &hc);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_true(c->done);
    assert_true(c->accepted_patch);
    assert_int_equal(c->no_patch, 0);
    printf("patch %zu bytes for a %zu-byte image; %llu bytes up\n", c->patch_len,
           c->fx.v2_len, (unsigned long long)c->l.up);
    assert_true(c->l.up < c->patch_len + 2048);   /* the patch, not the image */
    reboot(c);
    expect_running(c, c->fx.v2, c->fx.v2_len);
}

/* The patch names a base the device does not run: the host sends the full
 * image and says why (one NO_PATCH event). */
static void test_other_base_falls_back(void **state)
{
    ctx_t *c = *state;
    uint8_t *other = malloc(c->fx.v1_len);
    memcpy(other, c->fx.v1, c->fx.v1_len);
    other[5000] ^= 0x55;
    make_patch(c, other, c->fx.v1_len, c->fx.v2, c->fx.v2_len);
    free(other);
    aloft_native_host_config_t hc = host_cfg(c);
    connect(c, &hc);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_int_equal(c->no_patch, 1);
    assert_int_equal(c->full_why, ALOFT_NATIVE_FULL_OTHER_BASE);
    assert_false(c->accepted_patch);
    reboot(c);
    expect_running(c, c->fx.v2, c->fx.v2_len);
}

/* A device without the stage: no cap DELTA, the full image goes. */
static void test_no_cap_falls_back(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c);
    aloft_native_device_config_t dc = {
        .dev = &c->fx.sim.dev, .update = &c->fx.sim.update, .inflate = &c->z, .open = true};
    connect(c, &hc);
    assert_int_equal(aloft_native_device_init(&c->d, &dc, HOST_IP, c->l.now), 0);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_int_equal(c->full_why, ALOFT_NATIVE_FULL_NO_CAP);
    assert_false(c->accepted_patch);
}

/* An OFFER of a patch for another base, forced on the device: ERROR -76
 * before the pipeline begins; not a byte of flash changed. */
static void test_device_refuses_other_base(void **state)
{
    ctx_t *c = *state;
    uint8_t *other = malloc(c->fx.v1_len);
    memcpy(other, c->fx.v1, c->fx.v1_len);
    other[100] ^= 1;
    make_patch(c, other, c->fx.v1_len, c->fx.v2, c->fx.v2_len);
    free(other);
    uint8_t *snap = simfx_snapshot(&c->fx);
    aloft_native_host_config_t hc = host_cfg(c);
    connect(c, &hc);
    uint64_t ops = nor_ops(&c->fx.sim.nor);
    /* HELLO to the host (keyed: an open device), then the host stays quiet. */
    c->l.hold_up = true;
    native_link_run(&c->l);
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.encoding = ALOFT_ENC_PATCH;
    m.u.offer.size = (uint32_t)c->fx.v2_len;
    memcpy(m.u.offer.sha256, c->v2_sha, 32);
    m.u.offer.patch_header = c->patch;
    m.u.offer.patch_header_len = aloft_ld16(c->patch + 6);
    assert_true(native_link_inject(&c->l, &m) > 0);
    assert_int_equal(aloft_native_device_last_error(&c->d), ALOFT_ERR_PATCH_BASE);
    assert_true(aloft_native_device_state(&c->d) & ALOFT_NATIVE_CLOSED);
    assert_int_equal(aloft_update_state(&c->fx.sim.update), ALOFT_UPDATE_IDLE);
    assert_int_equal(simfx_same(&c->fx, snap, 0, c->fx.sim.dev.flash->size), 1);
    assert_int_equal(nor_ops(&c->fx.sim.nor) - ops, 0);   /* not an erase, not a program */
    free(snap);
}

/* Upload a patch (hc), expect refusal with code err before activation
 * (accepted: after the OFFER was; else at it, before any flash
 * operation): otadata and the running slot untouched, and the old image
 * still runs after a restart. */
static void expect_refused_as(ctx_t *c, const aloft_native_host_config_t *hc, int err,
                              bool accepted)
{
    uint8_t *snap = simfx_snapshot(&c->fx);
    uint64_t ops = nor_ops(&c->fx.sim.nor);
    connect(c, hc);
    native_link_run(&c->l);
    assert_false(c->done);
    assert_int_equal(c->accepted_patch, accepted);
    assert_int_equal(aloft_native_device_last_error(&c->d), err);
    if (!accepted)
        assert_int_equal(nor_ops(&c->fx.sim.nor) - ops, 0);
    expect_untouched(c, snap);
    reboot(c);
    expect_untouched(c, snap);
    expect_running(c, c->fx.v1, c->fx.v1_len);
    free(snap);
}

static void expect_refused(ctx_t *c, int err)
{
    aloft_native_host_config_t hc = host_cfg(c);
    expect_refused_as(c, &hc, err, true);
}

static void test_tampered_patch_refused(void **state)
{
    ctx_t *c = *state;
    size_t hl = aloft_ld16(c->patch + 6);
    c->patch[hl + 8 + 40] ^= 0x10;   /* in segment 0's zlib data */
    expect_refused(c, ALOFT_ERR_PATCH);
}

/* A consistent patch that rebuilds another image than the one offered
 * (its header names v2, its body makes a valid image of the same size
 * from other filler): the pipeline's SHA-256 check refuses it at END. */
static void test_wrong_image_refused(void **state)
{
    ctx_t *c = *state;
    image_spec_t s = {.chip_id = ALOFT_CHIP_ESP32, .project = "demo", .version = "2.0.0",
                      .size = V2_SIZE, .seed = 7};
    size_t wl;
    uint8_t *wrong = image_make(&s, &wl);
    assert_int_equal(wl, c->fx.v2_len);
    make_patch(c, c->fx.v1, c->fx.v1_len, wrong, wl);
    image_free(wrong);
    size_t hl = aloft_ld16(c->patch + 6);
    memcpy(c->patch + 48, c->v2_sha, 32);   /* new_sha256 */
    aloft_st32(c->patch + hl - 4, (uint32_t)crc32(0, c->patch, (uInt)(hl - 4)));
    expect_refused(c, ALOFT_ERR_SHA256);
}

/* A device with a signing key: v2 signed, its block in the OFFER and in
 * the patch header. */
typedef struct signed_v2 {
    sign_key_t *key;
    uint8_t *file;           /* v2 + block */
    size_t block_len;
} signed_v2_t;

static void provision_and_sign(ctx_t *c, signed_v2_t *sv)
{
    char why[256];
    size_t len;
    sv->key = sign_key_generate();
    assert_non_null(sv->key);
    c->fx.sim.cfg.keys[0] = *sign_key_public(sv->key);
    c->fx.sim.cfg.nkeys = 1;
    reboot(c);
    assert_int_equal(c->fx.sim.dev.nkeys, 1);
    assert_int_equal(sign_file(sv->key, c->fx.v2, c->fx.v2_len, NULL, &sv->file, &len, NULL,
                               NULL, why, sizeof why), 0);
    sv->block_len = len - c->fx.v2_len;
}

/* A device with a signing key, v2 signed and its patch made with the block
 * in the header (as `aloft upload --base` sends a signed file). Refused at
 * the OFFER, before any flash operation: the patch without the block in
 * the OFFER, then with one bit of the ECDSA signature flipped (the
 * metadata still describes v2); then the good block goes through. */
static void test_signed_patch(void **state)
{
    ctx_t *c = *state;
    signed_v2_t sv;
    provision_and_sign(c, &sv);
    make_patch_signed(c, sv.file + c->fx.v2_len, sv.block_len);
    aloft_native_host_config_t hc = host_cfg(c);
    expect_refused_as(c, &hc, ALOFT_ERR_UNSIGNED, false);

    uint8_t bad[ALOFT_SIG_BLOCK_MAX];
    memcpy(bad, sv.file + c->fx.v2_len, sv.block_len);
    bad[sv.block_len - 8] ^= 0x01;   /* in the signature's s */
    hc.sig_block = bad;
    hc.sig_block_len = sv.block_len;
    expect_refused_as(c, &hc, ALOFT_ERR_SIGNATURE, false);

    hc.sig_block = sv.file + c->fx.v2_len;
    connect(c, &hc);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_true(c->done);
    assert_true(c->accepted_patch);
    reboot(c);
    expect_running(c, c->fx.v2, c->fx.v2_len);
    sign_key_free(sv.key);
    free(sv.file);
}

/* The link breaks once `cut` bytes are durable: the next connection is
 * ACCEPTed at that mark and the host streams from the segment that holds
 * it, at its start (`inside` false) or inside it (the device drops that
 * segment's output below the mark). */
static void resume_mid_patch(ctx_t *c, uint32_t cut, bool inside)
{
    aloft_native_host_config_t hc = host_cfg(c);
    connect(c, &hc);
    while (c->durable < cut && native_link_pump(&c->l))
        ;
    native_link_drop(&c->l);
    assert_false(c->done);
    uint32_t mark = c->durable;
    assert_true(mark >= cut && mark % ALOFT_DELTA_MARK == 0);
    uint64_t first_up = c->l.up;

    connect(c, &hc);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_true(c->done);
    assert_true(c->accepted_patch);
    assert_int_equal(c->accepted_at, mark);
    aloft_delta_header_t ph;
    uint32_t comp;
    assert_true(aloft_delta_parse_header(c->patch, c->patch_len, &ph, NULL) > 0);
    long at = aloft_delta_find_segment(c->patch, c->patch_len, &ph, mark / ph.segment_span,
                                       &comp, NULL);
    assert_true(at > 0);
    assert_int_equal(c->h.patch_off, (uint32_t)at);
    assert_int_equal(mark % ph.segment_span != 0, inside);
    printf("%u segments of %u KiB: cut at %u durable after %llu bytes; resumed at patch "
           "offset %ld, %llu bytes up\n",
           ph.segment_count, ph.segment_span / 1024, mark, (unsigned long long)first_up, at,
           (unsigned long long)c->l.up);
    reboot(c);
    expect_running(c, c->fx.v2, c->fx.v2_len);
}

/* The shared patch has a segment per mark: resumed at a segment start. */
static void test_resume_mid_patch(void **state)
{
    resume_mid_patch(*state, 2 * ALOFT_DELTA_MARK, false);
}

/* Two marks per segment, cut after three: the host sends segment 1 from
 * its start, the device drops its first 64 KiB. */
static void test_resume_inside_segment(void **state)
{
    ctx_t *c = *state;
    free(c->patch);
    assert_int_equal(delta_make(c->fx.v1, c->fx.v1_len, c->fx.v2, c->fx.v2_len, NULL, 0, 12,
                                2 * ALOFT_DELTA_MARK, DELTA_FAST, &c->patch, &c->patch_len),
                     0);
    resume_mid_patch(c, 3 * ALOFT_DELTA_MARK, true);
}

/* A second connection's patch while the first one's is being decoded:
 * ERROR -9 (the shared decoder is left alone) and the first one ends in
 * the new image. */
static void test_second_patch_is_busy(void **state)
{
    ctx_t *c = *state;
    aloft_native_host_config_t hc = host_cfg(c);
    aloft_native_host_config_t hc2 = hc;
    hc2.on_event = NULL;
    connect(c, &hc);
    while (c->durable < ALOFT_DELTA_MARK && native_link_pump(&c->l))
        ;
    aloft_native_device_config_t dc = {
        .dev = &c->fx.sim.dev, .update = &c->fx.sim.update, .inflate = &c->z,
        .delta = &c->delta, .name = "delta", .open = true};
    native_link_t l2 = {.host = &c->h2, .dev = &c->d2, .now = c->l.now, .chunk = 1500};
    assert_int_equal(aloft_native_device_init(&c->d2, &dc, HOST_IP + 1, c->l.now), 0);
    assert_int_equal(aloft_native_host_init(&c->h2, &hc2, c->l.now), 0);
    native_link_run(&l2);
    assert_int_equal(aloft_native_device_last_error(&c->d2), ALOFT_ERR_BUSY);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_true(c->done);
    reboot(c);
    expect_running(c, c->fx.v2, c->fx.v2_len);
}

/* Identified while idle: composing the HELLO reads no image (only the
 * slots' small headers), where identifying in it reads the whole of v1;
 * the HELLO still names v1, so the patch goes. */
static void test_identified_while_idle(void **state)
{
    ctx_t *c = *state;
    const nor_counters_t *n = &c->fx.sim.nor.count;
    aloft_native_host_config_t hc = host_cfg(c);
    uint64_t before = n->read_bytes;
    connect(c, &hc);
    assert_true(n->read_bytes - before >= c->fx.v1_len);   /* identified in the HELLO */
    reboot(c);
    aloft_native_device_identify(&c->delta, &c->fx.sim.dev);
    assert_true(c->delta.identified);
    before = n->read_bytes;
    connect(c, &hc);
    assert_true(n->read_bytes - before < 4096);
    native_link_run(&c->l);
    assert_int_equal(aloft_native_host_last_error(&c->h), 0);
    assert_true(c->done && c->accepted_patch);
    reboot(c);
    expect_running(c, c->fx.v2, c->fx.v2_len);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ram),
        T(test_patch_upload),
        T(test_other_base_falls_back),
        T(test_no_cap_falls_back),
        T(test_device_refuses_other_base),
        T(test_tampered_patch_refused),
        T(test_wrong_image_refused),
        T(test_signed_patch),
        T(test_resume_mid_patch),
        T(test_resume_inside_segment),
        T(test_second_patch_is_busy),
        T(test_identified_while_idle),
    };
    return cmocka_run_group_tests(tests, NULL, free_v1v2);
}
