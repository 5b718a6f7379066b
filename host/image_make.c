/* host/image_make.c — see image_make.h. */
#include "image_make.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/port/crypto.h"
#include "aloft/wire/image.h"
#include "fileio.h"
#include "host_os.h"

/* Where each chip's segments load. Only the flash-mapped ones (DROM, IROM)
 * matter for validity: their data must sit at the same offset within a
 * 64 KiB page as the address, which the layout below keeps at 0x20. RAM
 * addresses are outside the mapped windows (lib/chip.c). */
typedef struct {
    uint16_t id;
    uint32_t drom, dram, iram, irom;
} chip_layout_t;

static const chip_layout_t layouts[] = {
    {ALOFT_CHIP_ESP32, 0x3F400020u, 0x3FFB0000u, 0x40080000u, 0x400D0020u},
    {ALOFT_CHIP_ESP32S2, 0x3F000020u, 0x3FFB0000u, 0x40024000u, 0x40080020u},
    {ALOFT_CHIP_ESP32C3, 0x3C000020u, 0x3FC88000u, 0x40380000u, 0x42000020u},
    {ALOFT_CHIP_ESP32S3, 0x3C000020u, 0x3FC88000u, 0x40374000u, 0x42000020u},
    {ALOFT_CHIP_ESP32C2, 0x3C000020u, 0x3FCA0000u, 0x40380000u, 0x42000020u},
    /* One shared flash window: DROM goes above IROM. */
    {ALOFT_CHIP_ESP32C6, 0x42800020u, 0x40840000u, 0x40800000u, 0x42000020u},
    {ALOFT_CHIP_ESP32H2, 0x42800020u, 0x40830000u, 0x40800000u, 0x42000020u},
    {ALOFT_CHIP_ESP32P4, 0x40800020u, 0x4FF40000u, 0x4FF00000u, 0x40000020u},
    {ALOFT_CHIP_ESP32C61, 0x42800020u, 0x40840000u, 0x40800000u, 0x42000020u},
    {ALOFT_CHIP_ESP32C5, 0x42800020u, 0x40840000u, 0x40800000u, 0x42000020u},
};

#define MMU_PAGE 0x10000u
#define HDR_LEN ALOFT_IMAGE_HEADER_LEN
#define SEG_HDR ALOFT_IMAGE_SEG_HEADER_LEN
#define TAIL_MAX (16u + ALOFT_SHA256_LEN)  /* pad + checksum + hash */
#define IROM_MIN_IMAGE 0x18000u            /* below this, no IROM segment */
#define DESC_FIELD_MAX 31u

static const chip_layout_t *layout(uint16_t chip_id)
{
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (layouts[i].id == chip_id)
            return &layouts[i];
    return NULL;
}

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void st32(uint8_t *p, uint32_t v)
{
    st16(p, (uint16_t)v);
    st16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static const char *or_default(const char *s, const char *def)
{
    return s != NULL ? s : def;
}

/* ---- spec ------------------------------------------------------------ */

static int field_ok(const char *what, const char *s, size_t max, char *why, size_t n)
{
    size_t len = strlen(s);
    if (len <= max)
        return 0;
    snprintf(why, n, "%s is %zu characters, at most %zu fit in the app description",
             what, len, max);
    return -1;
}

int image_spec_check(const image_spec_t *spec, char *why, size_t n)
{
    if (spec->chip_id == ALOFT_CHIP_ESP8266) {
        snprintf(why, n, "ESP8266 images are not supported; choose an ESP32-class chip");
        return -1;
    }
    if (layout(spec->chip_id) == NULL) {
        snprintf(why, n, "unknown chip id 0x%04x", (unsigned)spec->chip_id);
        return -1;
    }
    if (spec->size > IMAGE_MAKE_MAX_SIZE) {
        snprintf(why, n, "size %u bytes is too large; at most %u (15 MiB) is supported",
                 (unsigned)spec->size, (unsigned)IMAGE_MAKE_MAX_SIZE);
        return -1;
    }
    if (field_ok("project name", or_default(spec->project, ""), DESC_FIELD_MAX, why, n) ||
        field_ok("version", or_default(spec->version, ""), DESC_FIELD_MAX, why, n) ||
        field_ok("idf_ver", or_default(spec->idf_ver, ""), DESC_FIELD_MAX, why, n) ||
        field_ok("date", or_default(spec->date, ""), 15, why, n) ||
        field_ok("time", or_default(spec->time, ""), 15, why, n))
        return -1;
    return 0;
}

/* ---- layout ---------------------------------------------------------- */

typedef struct {
    uint32_t load, len;
} seg_t;

typedef struct {
    seg_t seg[5];
    unsigned count;
    size_t total;     /* bytes including pad, checksum and hash */
} plan_t;

static uint32_t align4_down(uint32_t v)
{
    return v & ~3u;
}

/* Length of an image whose last segment ends at `end`. */
static size_t total_len(uint32_t end, bool hash)
{
    return end + (15u - end % 16u) + 1u + (hash ? ALOFT_SHA256_LEN : 0);
}

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Split the wanted size over the segments. The last segment absorbs the
 * remainder so the total lands within 16 bytes of the target. */
static void plan(const image_spec_t *spec, const chip_layout_t *c, plan_t *p)
{
    uint32_t want = spec->size ? spec->size : 4096u;
    uint32_t body = want > TAIL_MAX + HDR_LEN ? want - (1u + (spec->no_hash ? 0 : ALOFT_SHA256_LEN)) : 0;
    uint32_t desc = spec->no_desc ? 4u : ALOFT_APP_DESC_LEN;
    uint32_t drom = align4_down(want / 8u), dram = align4_down(min32(want / 32u, 0x4000u));
    uint32_t iram = align4_down(min32(want / 8u, 0x10000u));
    uint32_t end;

    drom = drom < desc ? desc : drom;
    dram = dram < 4u ? 4u : dram;
    iram = iram < 4u ? 4u : iram;
    p->seg[0] = (seg_t){c->drom, drom};
    p->seg[1] = (seg_t){c->dram, dram};
    p->seg[2] = (seg_t){c->iram, iram};
    p->count = 3;
    end = HDR_LEN + 3u * SEG_HDR + drom + dram + iram;

    if (want >= IROM_MIN_IMAGE) {
        /* Padding segment so the IROM data lands at offset 0x20 mod 64K. */
        uint32_t irom_data = end + 2u * SEG_HDR;
        uint32_t pad = (c->irom - irom_data) % MMU_PAGE;
        irom_data += pad;
        if (body > irom_data + 4u) {
            p->seg[3] = (seg_t){0, pad};
            p->seg[4] = (seg_t){c->irom, align4_down(body - irom_data)};
            p->count = 5;
            p->total = total_len(irom_data + p->seg[4].len, !spec->no_hash);
            return;
        }
    }
    /* Small image: IRAM takes what is left. */
    if (body > end)
        p->seg[2].len += align4_down(body - end);
    end = HDR_LEN + 3u * SEG_HDR + drom + dram + p->seg[2].len;
    p->total = total_len(end, !spec->no_hash);
}

/* ---- contents -------------------------------------------------------- */

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Pseudo-random 16-byte blocks, every other one a copy of a short motif:
 * about as compressible as real code. */
static void fill(uint8_t *p, size_t n, uint32_t *rng)
{
    static const uint8_t motif[16] = {0x36, 0x41, 0x00, 0x81, 0xf9, 0xff, 0xe0, 0x08,
                                      0x00, 0x1d, 0xf0, 0x00, 0x00, 0x00, 0x12, 0xc1};
    for (size_t i = 0; i < n; i++) {
        if ((i / 16) % 2)
            p[i] = motif[i % 16];
        else
            p[i] = (uint8_t)(xorshift(rng) >> 11);
    }
}

static void put_str(uint8_t *field, const char *s)
{
    memcpy(field, s, strlen(s));   /* the field is zeroed: NUL-terminated */
}

/* esp_app_desc_t (256 bytes) at the start of segment 0's data. */
static void write_desc(uint8_t *d, const image_spec_t *spec, uint32_t *rng)
{
    memset(d, 0, ALOFT_APP_DESC_LEN);
    st32(d, ALOFT_APP_DESC_MAGIC);
    st32(d + 4, spec->secure_version);
    put_str(d + 16, or_default(spec->version, "0.0.0"));
    put_str(d + 48, or_default(spec->project, "aloft-demo"));
    put_str(d + 80, or_default(spec->time, "00:00:00"));
    put_str(d + 96, or_default(spec->date, "Jan  1 2025"));
    put_str(d + 112, or_default(spec->idf_ver, "aloft-synthetic"));
    fill(d + 144, 16, rng);          /* a stand-in app_elf_sha256 */
    fill(d + 160, 16, rng);
    d[180] = 16;                     /* mmu_page_size: log2(64 KiB) */
}

static void write_header(uint8_t *h, const image_spec_t *spec, const plan_t *p,
                         const chip_layout_t *c)
{
    memset(h, 0, HDR_LEN);
    h[0] = ALOFT_IMAGE_MAGIC;
    h[1] = (uint8_t)p->count;
    h[2] = 2;       /* DIO */
    h[3] = 0x20;    /* 4 MB, 40 MHz */
    st32(h + 4, c->iram);
    h[8] = 0xEE;    /* wp_pin: disabled */
    st16(h + 12, spec->chip_id);
    h[23] = spec->no_hash ? 0 : 1;
}

uint8_t *image_make(const image_spec_t *spec, size_t *len)
{
    char why[160];
    const chip_layout_t *c = layout(spec->chip_id);
    plan_t p;
    uint32_t rng = (spec->seed * 2654435761u + 0x9E3779B9u) | 1u;  /* never 0 */
    uint8_t *img;
    size_t off = HDR_LEN;

    if (image_spec_check(spec, why, sizeof why) != 0) {
        fprintf(stderr, "aloft: cannot make image: %s\n", why);
        return NULL;
    }
    plan(spec, c, &p);
    img = xmalloc(p.total);
    memset(img, 0, p.total);
    write_header(img, spec, &p, c);
    for (unsigned i = 0; i < p.count; i++) {
        uint8_t *data = img + off + SEG_HDR;
        st32(img + off, p.seg[i].load);
        st32(img + off + 4, p.seg[i].len);
        if (p.seg[i].load != 0)      /* the padding segment stays zero */
            fill(data, p.seg[i].len, &rng);
        if (i == 0 && !spec->no_desc)
            write_desc(data, spec, &rng);
        else if (i == 0)
            memset(data, 0, 4);      /* no magic: no description */
        off += SEG_HDR + p.seg[i].len;
    }
    if (image_reseal(img, p.total) != 0) {
        fprintf(stderr, "aloft: image_make: internal layout error\n");
        abort();
    }
    *len = p.total;
    return img;
}

void image_free(uint8_t *img)
{
    free(img);
}

int image_reseal(uint8_t *img, size_t len)
{
    size_t off = HDR_LEN;
    uint8_t x = 0xEF;   /* XOR of all data bytes == the folded word XOR */
    bool hash;
    if (len < HDR_LEN)
        return -1;
    hash = img[23] == 1;
    for (unsigned i = 0; i < img[1]; i++) {
        uint32_t n;
        if (off + SEG_HDR > len)
            return -1;
        n = ld32(img + off + 4);
        off += SEG_HDR;
        if (n > len - off)
            return -1;
        for (uint32_t k = 0; k < n; k++)
            x ^= img[off + k];
        off += n;
    }
    if (total_len((uint32_t)off, hash) != len)
        return -1;
    off += 15u - off % 16u;
    img[off++] = x;
    if (hash)
        aloft_hash_oneshot(host_crypto->sha256, img, off, img + off);
    return 0;
}
