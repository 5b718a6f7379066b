/*
 * tests/fuzz/fuzz_native.c — libFuzzer target for the native protocol: the
 * frame codec on arbitrary bytes, and the device engine as a whole, with
 * the host engine for the valid part of a session and the input as an
 * adversary on the link.
 *
 * 1. The input as a frame, with and without a MAC: aloft_native_frame_len
 *    and aloft_native_decode must not crash, and whatever decodes must
 *    encode back to exactly the same bytes (the codec is strict, so a
 *    message has one encoding).
 * 2. The input as a script for a session between the host engine and a
 *    device engine serving a simulated device (support/native_link.h).
 *    Byte 0 bit 0 picks a password device (else open); its other bits, as
 *    op 4's, the first host. Then records of op byte, length byte, payload:
 *      op % 8: 0 raw bytes to the device, 1 a frame MACed with the host's
 *              session key and next sequence number (payload[0] = type, the
 *              rest its payload), 2 time passes (len x 100 ms), 3 len
 *              rounds of the link (0: until it is quiet), 4 the connection
 *              drops and a new one starts (len: bit 0 upload, else info or,
 *              bit 1, rollback; bit 2 zlib; bit 3 NO_REBOOT; bit 4 a wrong
 *              password; bit 5 a delta patch of v1), 5 hold the link (len
 *              bit 0 up, bit 1 down), 6 up to len device steps, 7 flip bit
 *              len % 8 of the next byte up.
 * The device runs v1 in app1 (confirmed) with v0 in app0, so a ROLLBACK
 * can succeed and an upload writes app0; a REBOOT ends the run. It has the
 * delta stage (cap DELTA): an OFFER of encoding 2 and its DATA go through
 * the patch decoder, reading v1 from app1. After every input: a failed or
 * unfinished update left otadata and the running slot untouched, the app
 * was resumed, and REBOOT only ever follows a finished update or rollback.
 *
 * Seeds: with ALOFT_FUZZ_SEEDS=DIR in the environment the target writes
 * into DIR sessions it knows the bytes of (tools/fuzz.sh runs it once so):
 * a patch upload, and the same patch as an adversary's frames (OFFER of
 * encoding 2 with the patch header, DATA with its segments, END), so the
 * mutations land in the patch header and the segments' zlib entries.
 *
 * Speed: the simulated flash is reset by restoring only the sectors the
 * input erased or programmed (tracked by wrapping the NOR's callbacks) and
 * the device's RAM state by copying it back; the raw and the zlib stream
 * of the image are each made once, in a source of their own (one source
 * switching between them would deflate again, with zlib's allocations,
 * whenever an input changes the encoding; the image is too small to
 * resume elsewhere than at 0). The first connection's device engine is
 * the same for every input (booted flash, fixed clock and random: its
 * HELLO cannot depend on the input), so it is set up once per kind of
 * device and copied; later connections in a script run the real init.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "crypto_mbedtls.h"
#include "delta_host.h"
#include "device.h"
#include "image_make.h"
#include "inflate_zlib.h"
#include "native_link.h"
#include "native_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define SECTOR 4096u
#define NSECTORS (SIM_FLASH_SIZE / SECTOR)
#define OTADATA 0xE000u
#define APP1 0x150000u   /* the running slot */
#define APP_SIZE 0x140000u
#define PEER_IP 0x7F000001u
#define START_MS 0xFFFF0000u   /* timers cross the 32-bit wrap */

static const aloft_hash_alg_t *SHA = &aloft_mbedtls_sha256;
static sim_device_t sim, booted;   /* booted: the RAM state every input starts from */
static uint8_t *pristine;
static uint8_t dirty[NSECTORS];
static int (*nor_erase)(const aloft_flash_t *, uint32_t, uint32_t);
static int (*nor_prog)(const aloft_flash_t *, uint32_t, const void *, size_t);
static int paused;
static aloft_crypto_t crypto;
static aloft_native_verifier_t verifier;
static aloft_native_keys_t keys;
static inflate_zlib_t zst;
static aloft_inflate_t z;
static uint8_t *image;
static size_t image_len;
static uint8_t image_sha[32];
static native_source_t raw_source, zlib_source;
static uint8_t *patch;   /* v1 -> v2 */
static size_t patch_len;
static aloft_native_delta_t stage, stage_booted;   /* stage_booted: after the first HELLO */

static aloft_native_device_t dev;
static aloft_native_device_t first_dev[2];   /* as init leaves it: open, password */
static aloft_native_host_t host;
static native_link_t lnk;
static aloft_login_limiter_t limiter;
static bool password, finished;
static int flip = -1;   /* bit to flip in the next byte up, or -1 */

static aloft_native_device_config_t device_config(void);
static void write_seeds(const char *dir);

static void on_pause(void *c) { (void)c; paused++; }
static void on_resume(void *c) { (void)c; paused--; }

/* Deterministic "CSPRNG": the same input always behaves the same. */
static int fixed_random(void *ctx, void *out, size_t n)
{
    (void)ctx;
    memset(out, 0x5a, n);
    return 0;
}

static void mark(uint32_t addr, size_t len)
{
    for (uint32_t s = addr / SECTOR; s < NSECTORS && (size_t)s * SECTOR < addr + len; s++)
        dirty[s] = 1;
}

static int track_erase(const aloft_flash_t *f, uint32_t addr, uint32_t len)
{
    mark(addr, len);
    return nor_erase(f, addr, len);
}

static int track_prog(const aloft_flash_t *f, uint32_t addr, const void *buf, size_t len)
{
    mark(addr, len);
    return nor_prog(f, addr, buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    image_spec_t v0 = {.chip_id = 0, .project = "fuzz", .version = "0", .size = 600};
    image_spec_t v1 = {.chip_id = 0, .project = "fuzz", .version = "1", .size = 600, .seed = 3};
    image_spec_t v2 = {.chip_id = 0, .project = "fuzz", .version = "2", .size = 1500, .seed = 7};
    uint8_t salt[16] = {0};
    size_t len;
    uint32_t zlen;
    uint8_t *fw = image_make(&v0, &len);
    sim_config_t cfg = {.rollback = true, .confirm_after_ms = 0};
    if (sim_open_scratch(&sim, fw, len, &cfg) != 0)
        abort();
    image_free(fw);
    /* v1 runs in app1, confirmed, and v0 stays in app0: an image to roll
     * back to, and uploads go to app0. */
    uint8_t *v1_fw = image_make(&v1, &len);
    size_t v1_len = len;
    if (sim_update_buffer(&sim, ALOFT_TARGET_APP, v1_fw, len) != 0 || sim_boot(&sim, 0) != 0 ||
        sim_tick(&sim, 0) != 1)
        abort();
    crypto = aloft_mbedtls_crypto;
    crypto.random = fixed_random;
    sim.dev.crypto = &crypto;
    aloft_quiesce_add(&sim.quiesce, "fuzz", on_pause, on_resume, NULL);
    nor_erase = sim.nor.flash.erase;
    nor_prog = sim.nor.flash.prog;
    sim.nor.flash.erase = track_erase;
    sim.nor.flash.prog = track_prog;
    booted = sim;
    pristine = malloc(sim.nor.size);
    memcpy(pristine, sim.nor.mem, sim.nor.size);
    if (aloft_native_derive(&crypto, "fuzz", salt, 1, &verifier, NULL) != 0)
        abort();
    inflate_zlib_init(&z, &zst, 12);
    image = image_make(&v2, &len);
    image_len = len;
    aloft_hash_oneshot(SHA, image, image_len, image_sha);
    if (delta_make(v1_fw, v1_len, image, image_len, NULL, 0, 12, 0, DELTA_FAST, &patch, &patch_len) != 0)
        abort();
    image_free(v1_fw);
    native_source_init(&raw_source, image, image_len);
    native_source_init(&zlib_source, image, image_len);
    if (raw_source.src.open(raw_source.src.ctx, 0, 0, &zlen) != 0 ||
        zlib_source.src.open(zlib_source.src.ctx, 0, 12, &zlen) != 0)   /* made once, kept */
        abort();
    for (int p = 0; p < 2; p++) {   /* every input's first device engine */
        password = p;
        aloft_native_device_config_t dc = device_config();
        if (aloft_native_device_init(&first_dev[p], &dc, PEER_IP, START_MS) != 0)
            abort();
    }
    stage_booted = stage;
    if (getenv("ALOFT_FUZZ_SEEDS"))
        write_seeds(getenv("ALOFT_FUZZ_SEEDS"));
    return 0;
}

/* ------------------------------------------------------------------ */
/* 1. The codec alone. */

static void codec(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = {1, 2, 3};
    static uint8_t again[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m;
    for (int mac = 0; mac < 2; mac++) {
        int n = aloft_native_frame_len(data, size, mac, ALOFT_NATIVE_MAX_PAYLOAD);
        if (n <= 0)
            continue;
        if (aloft_native_decode(data, (size_t)n, SHA, mac ? key : NULL, 'H', 0, &m) != 0)
            continue;
        int k = aloft_native_encode(&m, SHA, mac ? key : NULL, 'H', 0, again, sizeof again);
        if (k != n || memcmp(again, data, (size_t)n) != 0)
            abort();   /* one message, one encoding */
    }
    aloft_native_decode(data, size, SHA, NULL, 0, 0, &m);
}

/* ------------------------------------------------------------------ */
/* 2. A session, the input on the link. */

static void check_reboot(void)
{
    if (aloft_update_state(&sim.update) == ALOFT_UPDATE_DONE)   /* an update, or a rollback */
        finished = true;
    if ((aloft_native_device_state(&dev) & ALOFT_NATIVE_REBOOT) && !finished)
        abort();   /* a restart without a finished update */
}

static void flip_tap(void *ctx, bool up, uint8_t *p, size_t n)
{
    (void)ctx;
    if (up && n > 0 && flip >= 0) {
        p[0] ^= (uint8_t)(1u << flip);
        flip = -1;
    }
}

static aloft_native_device_config_t device_config(void)
{
    return (aloft_native_device_config_t){
        .dev = &sim.dev, .update = &sim.update, .verifier = password ? &verifier : NULL,
        .inflate = &z, .delta = &stage, .name = "fuzz", .limiter = &limiter,
        .open = !password};
}

/* A new connection: device engine (the first one of a script copied, see
 * the top), and a host told by bits what to do. */
static void connect_new(uint8_t bits, bool first)
{
    aloft_native_device_config_t dc = device_config();
    aloft_native_host_config_t hc = {
        .crypto = &crypto, .op = (bits & 1) ? ALOFT_NATIVE_OP_UPLOAD
                                : (bits & 2) ? ALOFT_NATIVE_OP_ROLLBACK : ALOFT_NATIVE_OP_INFO,
        .password = (bits & 16) ? "wrong" : "fuzz", .keys = (bits & 16) ? NULL : &keys,
        .source = (bits & 4) ? &zlib_source.src : &raw_source.src, .size = (uint32_t)image_len, .sha256 = image_sha,
        .compress = (bits & 4) != 0, .no_reboot = (bits & 8) != 0, .project = "fuzz",
        .version = "2", .patch = (bits & 32) ? patch : NULL,
        .patch_len = (bits & 32) ? patch_len : 0};
    uint32_t now = lnk.now;
    if (first)
        dev = first_dev[password];
    else if (aloft_native_device_init(&dev, &dc, PEER_IP, now) != 0)
        abort();
    if (aloft_native_host_init(&host, &hc, now) != 0)
        abort();
    lnk = (native_link_t){.host = &host, .dev = &dev, .now = now, .tap = flip_tap};
}

/* A frame the host engine did not make, with its key and next seq. */
static void inject(uint8_t type, const uint8_t *payload, size_t len)
{
    static uint8_t f[ALOFT_NATIVE_FRAME_MAX];
    size_t n = native_raw_frame(f, type, payload, len, host.keyed ? host.key : NULL, 'H',
                                host.tx_seq, false);
    host.tx_seq += host.keyed;
    native_link_push_raw(&lnk, f, n);
}

static void run_script(const uint8_t *data, size_t size)
{
    memset(&limiter, 0, sizeof limiter);
    password = size > 0 && (data[0] & 1);
    lnk.now = START_MS;
    connect_new(size > 0 ? (uint8_t)(data[0] >> 1) : 1, true);
    for (size_t i = 1; i < size;) {
        uint8_t op = data[i++] % 8;
        size_t len = i < size ? data[i++] : 0;
        size_t avail = len < size - i ? len : size - i;   /* payload of ops 0 and 1 */
        const uint8_t *p = data + i;
        switch (op) {
        case 0: native_link_push_raw(&lnk, p, avail); i += avail; break;
        case 1:
            if (avail > 0)
                inject(p[0], p + 1, avail - 1);
            i += avail;
            break;
        case 2: native_link_tick(&lnk, (uint32_t)len * 100); break;
        case 3:
            if (len == 0)
                native_link_run(&lnk);
            for (size_t k = 0; k < len && native_link_pump(&lnk); k++)
                check_reboot();
            break;
        case 4:
            native_link_drop(&lnk);
            connect_new((uint8_t)len, false);
            break;
        case 5:
            lnk.hold_up = len & 1;
            lnk.hold_down = (len & 2) != 0;
            break;
        case 6:
            for (size_t k = 0; k < len && aloft_native_device_step(&dev, lnk.now); k++)
                ;
            break;
        default: flip = (int)(len % 8); break;
        }
        check_reboot();
        if (aloft_native_device_state(&dev) & ALOFT_NATIVE_REBOOT)
            break;   /* the device restarts: this run is over */
    }
    native_link_drop(&lnk);
}

/* Sectors of [addr, addr+len) the input wrote are as they were. */
static bool untouched(uint32_t addr, uint32_t len)
{
    for (uint32_t s = addr / SECTOR; s < (addr + len) / SECTOR; s++)
        if (dirty[s] && memcmp(sim.nor.mem + s * SECTOR, pristine + s * SECTOR, SECTOR) != 0)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    codec(data, size);

    finished = false;
    flip = -1;
    run_script(data, size);
    /* Whatever happened, an unfinished update must not have touched the
     * running firmware or otadata, and the app must not stay paused. */
    if (!finished && (!untouched(OTADATA, 0x2000) || !untouched(APP1, APP_SIZE)))
        abort();
    aloft_update_abort(&sim.update, ALOFT_ERR_ABORTED);
    if (paused != 0)
        abort();
    /* Back to the booted device: the sectors written, and the RAM state. */
    for (uint32_t s = 0; s < NSECTORS; s++) {
        if (dirty[s]) {
            memcpy(sim.nor.mem + s * SECTOR, pristine + s * SECTOR, SECTOR);
            dirty[s] = 0;
        }
    }
    sim = booted;
    stage = stage_booted;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Seeds (ALOFT_FUZZ_SEEDS). */

static void put_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        abort();
}

/* An op 1 record of m: its type, then its payload as the codec makes it. */
static size_t put_msg(uint8_t *out, const aloft_native_msg_t *m)
{
    static uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    int n = aloft_native_encode(m, SHA, NULL, 'H', 0, frame, sizeof frame);
    if (n < 4 || n - 4 > 254)
        abort();
    out[0] = 1;
    out[1] = (uint8_t)(n - 3);
    out[2] = m->type;
    memcpy(out + 3, frame + 4, (size_t)n - 4);
    return (size_t)n - 1;
}

static void write_seeds(const char *dir)
{
    static uint8_t seed[16384];
    static const uint8_t upload_open[] = {0x42, 3, 0}, upload_password[] = {0x43, 3, 0};
    put_seed(dir, "patch_open", upload_open, sizeof upload_open);
    put_seed(dir, "patch_password", upload_password, sizeof upload_password);
    /* Open device; the link held both ways once the host read HELLO (so
     * it has the session key and sends nothing), the patch upload
     * injected. */
    size_t n = 0;
    uint16_t hl = (uint16_t)(patch[6] | patch[7] << 8);
    seed[n++] = 0x02;
    seed[n++] = 5, seed[n++] = 1;   /* hold up */
    seed[n++] = 3, seed[n++] = 2;   /* HELLO reaches the host */
    seed[n++] = 5, seed[n++] = 3;   /* and down too: the device's ACKs wait in its buffer */
    aloft_native_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_OFFER;
    m.u.offer.encoding = ALOFT_ENC_PATCH;
    m.u.offer.size = (uint32_t)image_len;
    memcpy(m.u.offer.sha256, image_sha, 32);
    m.u.offer.patch_header = patch;
    m.u.offer.patch_header_len = hl;
    n += put_msg(seed + n, &m);
    for (size_t at = hl; at < patch_len; at += 240) {
        memset(&m, 0, sizeof m);
        m.type = ALOFT_MSG_DATA;
        m.u.data.offset = (uint32_t)(at - hl);
        m.u.data.data = patch + at;
        m.u.data.len = (uint16_t)(patch_len - at < 240 ? patch_len - at : 240);
        if (n + 260 > sizeof seed)
            abort();
        n += put_msg(seed + n, &m);
        seed[n++] = 3, seed[n++] = 0;   /* the device takes it (until quiet) */
    }
    memset(&m, 0, sizeof m);
    m.type = ALOFT_MSG_END;
    m.u.end.stream_len = (uint32_t)(patch_len - hl);
    n += put_msg(seed + n, &m);
    seed[n++] = 3, seed[n++] = 0;
    put_seed(dir, "patch_injected", seed, n);
}
