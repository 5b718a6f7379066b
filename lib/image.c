/*
 * lib/image.c — streaming parser and validator for ESP-IDF app images
 * (contract in aloft/image.h).
 *
 * Implementation notes
 *
 * The parser is a byte-driven state machine. Every decision is taken at a
 * fixed image offset (byte 1: magic, byte 12: ESP8266, byte 24: header, each
 * segment header, 0x24 and 0x120: app description, checksum, hash), so the
 * same bytes give the same answer however they are split across feeds.
 * step() consumes bytes of exactly one state and never looks ahead; feed()
 * hashes what step() consumed.
 *
 *   HEADER    24 bytes into buf
 *   SEG_HDR   8 bytes into buf; checks length and (except segment 0) mapping
 *   DESC      first 256 data bytes of segment 0 into buf (also checksummed)
 *   SEG_DATA  the rest of a segment's data; seg_left counts down
 *   PAD       zero padding before the checksum; seg_left counts down
 *   CHECKSUM  1 byte
 *   HASH      32 bytes into buf (only if the header says hash_appended)
 *   DONE
 *
 * Invariants: field_pos counts bytes of the current buffered field; pos
 * counts every byte consumed; the "body" hash covers [0, checksum byte].
 *
 * The XOR checksum is defined over 32-bit words, folded to a byte at the
 * end. Folding XORs the four bytes of the word accumulator together, so the
 * result equals the XOR of every data byte: we keep a byte and need no word
 * alignment across feeds.
 */
#include <string.h>

#include "aloft/wire/image.h"
#include "bytes.h"
#include "chip.h"

enum {
    ST_HEADER,
    ST_SEG_HDR,
    ST_DESC,
    ST_SEG_DATA,
    ST_PAD,
    ST_CHECKSUM,
    ST_HASH,
    ST_DONE,
};

#define CHECKSUM_SEED 0xEFu
#define SEG_LEN_LIMIT 0x1000000u   /* data_len must be below 16 MiB */
#define ESP8266_HDR_CHECK 12u       /* bytes needed to tell ESP8266 apart */
#define ESP8266_V2_MAGIC 0xEAu      /* esptool "v2" ESP8266 image */
#define ESP8266_V2_SEGS 4u

/* Header field offsets (esp_image_header_t; frozen, they are in the image). */
#define H_SEG_COUNT 1
#define H_SPI_MODE 2
#define H_SPI_SPEED_SIZE 3
#define H_ENTRY 4
#define H_CHIP_ID 12
#define H_MIN_REV 14
#define H_MIN_REV_FULL 15
#define H_MAX_REV_FULL 17
#define H_HASH_APPENDED 23
#define SPI_MODE_MAX 5u

/* App description field offsets (esp_app_desc_t; frozen). */
#define D_SECURE_VERSION 4
#define D_VERSION 16
#define D_PROJECT 48
#define D_TIME 80
#define D_DATE 96
#define D_IDF_VER 112
#define D_ELF_SHA 144
#define D_MMU_PAGE 180
#define DESC_MAGIC_LEN 4u

/* ---- errors ---------------------------------------------------------- */

/* Record the first defect; it stays (sticky). */
#define LIVE_WHOLE 1u
#define LIVE_BODY 2u

/* Finish the hashes in bits (of im->live) into scratch. */
static void drop_hashes(aloft_image_t *im, unsigned bits)
{
    if (im->live & bits & LIVE_BODY)
        aloft_hash_drop(im->sha256, &im->body);
    if (im->live & bits & LIVE_WHOLE)
        aloft_hash_drop(im->sha256, &im->whole);
    im->live &= (uint8_t)~bits;
}

static int fail(aloft_image_t *im, int err, uint32_t have, uint32_t want,
                const char *where)
{
    drop_hashes(im, LIVE_WHOLE | LIVE_BODY);
    im->err = err;
    return aloft_diag_set(&im->diag, err, have, want, where);
}

/* "segment 3" for diag.where, without printf. */
static void seg_label(char *out, unsigned index)
{
    static const char prefix[] = "segment ";
    memcpy(out, prefix, sizeof prefix - 1);
    out += sizeof prefix - 1;
    if (index >= 10)
        *out++ = (char)('0' + index / 10);
    *out++ = (char)('0' + index % 10);
    *out = '\0';
}

/* ---- pieces of the format -------------------------------------------- */

/* Copy bytes of a buffered field until it holds `want` bytes. */
static size_t collect(aloft_image_t *im, const uint8_t *p, size_t n,
                      uint32_t want)
{
    size_t take = want - im->field_pos;
    if (take > n)
        take = n;
    memcpy(im->buf + im->field_pos, p, take);
    im->field_pos += (uint32_t)take;
    im->pos += (uint32_t)take;
    return take;
}

static void checksum_bytes(aloft_image_t *im, const uint8_t *p, size_t n)
{
    uint8_t x = (uint8_t)im->xor_acc;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    im->xor_acc = x;
}

/* MMU page size the mapping rule uses: 64 KiB, unless the chip lets the
 * app choose and its description says otherwise (as esp_image_format.c). */
static uint32_t mmu_page(const aloft_image_t *im, const aloft_chip_map_t *c)
{
    uint8_t lg = im->info.desc.mmu_page_size;
    if (c->page_configurable && im->info.has_desc &&
        lg >= ALOFT_MMU_PAGE_LOG2_MIN && lg <= ALOFT_MMU_PAGE_LOG2_MAX)
        return 1u << lg;
    return ALOFT_MMU_PAGE_DEFAULT;
}

/* A flash-mapped segment's data must sit at the same offset within an MMU
 * page as its load address, or the cache cannot map it. */
static int check_mapping(aloft_image_t *im, unsigned index)
{
    const aloft_segment_info_t *s = &im->info.segments[index];
    const aloft_chip_map_t *c = aloft_chip_map(im->info.chip_id);
    uint32_t page = mmu_page(im, c);
    if (aloft_chip_maps_flash(c, s->load_addr) &&
        s->offset % page != s->load_addr % page) {
        char where[17];
        seg_label(where, index);
        return fail(im, ALOFT_ERR_IMG_MAPPING, s->offset, s->load_addr, where);
    }
    return ALOFT_OK;
}

/* Minimum image length implied by what has been parsed: the end of the
 * current field or segment, the segment headers still to come, padding,
 * checksum and hash. Exact once the last segment header is known. */
static uint32_t needed_len(const aloft_image_t *im)
{
    uint32_t end, later;
    uint32_t hash = im->info.hash_appended ? ALOFT_SHA256_LEN : 0;
    switch (im->state) {
    case ST_HEADER:
        end = ALOFT_IMAGE_HEADER_LEN;
        later = 1;
        hash = 0;
        break;
    case ST_SEG_HDR:
        end = im->pos - im->field_pos + ALOFT_IMAGE_SEG_HEADER_LEN;
        later = im->info.segment_count - im->seg_index - 1u;
        break;
    case ST_DESC:
    case ST_SEG_DATA:
        end = im->pos + im->seg_left;
        later = im->info.segment_count - im->seg_index - 1u;
        break;
    case ST_PAD:
        return im->pos + im->seg_left + 1u + hash;
    case ST_CHECKSUM:
        return im->pos + 1u + hash;
    case ST_HASH:
        return im->pos + ALOFT_SHA256_LEN - im->field_pos;
    default:
        return im->pos;
    }
    end += later * ALOFT_IMAGE_SEG_HEADER_LEN;
    return end + (15u - end % 16u) + 1u + hash;
}

/* ---- states ---------------------------------------------------------- */

/* ESP8266 "v1" images have an 8-byte header: byte 8 is already the first
 * segment's load address (IRAM 0x4010xxxx or DRAM 0x3FFExxxx), and the
 * entry point is in IRAM. ESP32 images have wp_pin (0xEE) and drive
 * strengths (0..3) there, which can never look like those addresses. */
static bool looks_esp8266(const uint8_t *h)
{
    uint32_t entry = aloft_ld32(h + H_ENTRY);
    uint32_t load = aloft_ld32(h + 8);
    bool iram = load >= 0x40100000u && load < 0x40110000u;
    bool dram = load >= 0x3FFE8000u && load < 0x40000000u;
    return (entry & 0xFFFF0000u) == 0x40100000u && (iram || dram);
}

static int esp8266(aloft_image_t *im)
{
    im->info.chip_id = ALOFT_CHIP_ESP8266;
    im->info.segment_count = im->buf[H_SEG_COUNT];
    im->info.spi_mode = im->buf[H_SPI_MODE];
    im->info.entry_addr = aloft_ld32(im->buf + H_ENTRY);
    return fail(im, ALOFT_ERR_IMG_ESP8266, im->buf[0], ALOFT_IMAGE_MAGIC, NULL);
}

/* Checks that can be made before the header is complete, so garbage and
 * ESP8266 images are refused at the earliest byte. */
static int header_early(aloft_image_t *im)
{
    const uint8_t *h = im->buf;
    if (im->field_pos == 1 && h[0] != ALOFT_IMAGE_MAGIC && h[0] != ESP8266_V2_MAGIC)
        return fail(im, ALOFT_ERR_IMG_MAGIC, h[0], ALOFT_IMAGE_MAGIC, NULL);
    if (im->field_pos == 2 && h[0] == ESP8266_V2_MAGIC) {
        if (h[1] == ESP8266_V2_SEGS)
            return esp8266(im);
        return fail(im, ALOFT_ERR_IMG_MAGIC, h[0], ALOFT_IMAGE_MAGIC, NULL);
    }
    if (im->field_pos == ESP8266_HDR_CHECK && looks_esp8266(h))
        return esp8266(im);
    return ALOFT_OK;
}

static int header_done(aloft_image_t *im)
{
    const uint8_t *h = im->buf;
    aloft_image_info_t *in = &im->info;

    in->segment_count = h[H_SEG_COUNT];
    in->spi_mode = h[H_SPI_MODE];
    in->spi_speed = h[H_SPI_SPEED_SIZE] & 0x0Fu;
    in->spi_size = h[H_SPI_SPEED_SIZE] >> 4;
    in->entry_addr = aloft_ld32(h + H_ENTRY);
    in->chip_id = aloft_ld16(h + H_CHIP_ID);
    in->min_chip_rev = h[H_MIN_REV];
    in->min_chip_rev_full = aloft_ld16(h + H_MIN_REV_FULL);
    in->max_chip_rev_full = aloft_ld16(h + H_MAX_REV_FULL);
    in->hash_appended = h[H_HASH_APPENDED] == 1;

    if (in->segment_count == 0 || in->segment_count > ALOFT_IMAGE_MAX_SEGMENTS)
        return fail(im, ALOFT_ERR_IMG_SEGMENTS, in->segment_count,
                    ALOFT_IMAGE_MAX_SEGMENTS, NULL);
    if (in->spi_mode > SPI_MODE_MAX)
        return fail(im, ALOFT_ERR_IMG_HEADER, in->spi_mode, SPI_MODE_MAX, "spi_mode");
    /* Without the chip's address map the mapping rule cannot be checked. */
    if (aloft_chip_map(in->chip_id) == NULL)
        return fail(im, ALOFT_ERR_IMG_HEADER, in->chip_id, 0, "chip_id");
    /* esptool writes 0 or 1; anything else means a damaged header. */
    if (h[H_HASH_APPENDED] > 1)
        return fail(im, ALOFT_ERR_IMG_HEADER, h[H_HASH_APPENDED], 1, "hash_appended");

    in->have_header = true;
    im->state = ST_SEG_HDR;
    im->field_pos = 0;
    return ALOFT_OK;
}

static size_t step_header(aloft_image_t *im, const uint8_t *p, size_t n)
{
    /* Stop at each early checkpoint so it runs exactly once. */
    uint32_t stop = im->field_pos < 1 ? 1u
                  : im->field_pos < 2 ? 2u
                  : im->field_pos < ESP8266_HDR_CHECK ? ESP8266_HDR_CHECK
                  : ALOFT_IMAGE_HEADER_LEN;
    size_t took = collect(im, p, n, stop);
    if (im->field_pos == stop && header_early(im) == ALOFT_OK &&
        stop == ALOFT_IMAGE_HEADER_LEN)
        header_done(im);
    return took;
}

/* After the last data byte of segment seg_index: next header or padding. */
static void segment_end(aloft_image_t *im)
{
    im->seg_index++;
    im->field_pos = 0;
    if (im->seg_index < im->info.segment_count) {
        im->state = ST_SEG_HDR;
        return;
    }
    /* Zero pad so that (length + 1) % 16 == 0; the checksum is that byte. */
    im->seg_left = 15u - im->pos % 16u;
    im->state = im->seg_left ? ST_PAD : ST_CHECKSUM;
}

/* The app description has been ruled in or out: the mapping rule for
 * segment 0 can now use the right page size. */
static void desc_decided(aloft_image_t *im, bool present)
{
    im->info.have_desc = true;
    im->info.has_desc = present;
    if (check_mapping(im, 0) != ALOFT_OK)
        return;
    if (im->seg_left == 0)
        segment_end(im);
    else
        im->state = ST_SEG_DATA;
}

static int seg_header_done(aloft_image_t *im)
{
    unsigned i = im->seg_index;
    aloft_segment_info_t *s = &im->info.segments[i];
    s->load_addr = aloft_ld32(im->buf);
    s->data_len = aloft_ld32(im->buf + 4);
    s->offset = im->pos;

    if (s->data_len % 4u != 0 || s->data_len >= SEG_LEN_LIMIT) {
        char where[17];
        seg_label(where, i);
        return fail(im, ALOFT_ERR_IMG_SEG_LEN, s->data_len,
                    im->pos - ALOFT_IMAGE_SEG_HEADER_LEN, where);
    }
    im->seg_left = s->data_len;
    im->field_pos = 0;
    if (i == 0) {
        /* A description only fits in a segment 0 of at least 256 bytes. */
        if (s->data_len >= ALOFT_APP_DESC_LEN)
            im->state = ST_DESC;
        else
            desc_decided(im, false);
        return im->err;
    }
    if (check_mapping(im, i) != ALOFT_OK)
        return im->err;
    if (im->seg_left == 0)
        segment_end(im);
    else
        im->state = ST_SEG_DATA;
    return ALOFT_OK;
}

static size_t step_seg_header(aloft_image_t *im, const uint8_t *p, size_t n)
{
    size_t took = collect(im, p, n, ALOFT_IMAGE_SEG_HEADER_LEN);
    if (im->field_pos == ALOFT_IMAGE_SEG_HEADER_LEN)
        seg_header_done(im);
    return took;
}

static bool has_nul(const uint8_t *f, uint32_t size)
{
    for (uint32_t i = 0; i < size; i++)
        if (f[i] == 0)
            return true;
    return false;
}

/* Copy a string field, which must be NUL-terminated within its size. */
static int desc_string(aloft_image_t *im, char *out, uint32_t off,
                       uint32_t size, const char *name)
{
    const uint8_t *f = im->buf + off;
    if (!has_nul(f, size))
        return fail(im, ALOFT_ERR_IMG_DESC, ALOFT_APP_DESC_OFFSET + off, size, name);
    memcpy(out, f, size);
    out[size] = '\0';
    return ALOFT_OK;
}

static int desc_done(aloft_image_t *im)
{
    aloft_app_desc_t *d = &im->info.desc;
    d->secure_version = aloft_ld32(im->buf + D_SECURE_VERSION);
    if (desc_string(im, d->version, D_VERSION, 32, "version") ||
        desc_string(im, d->project_name, D_PROJECT, 32, "project_name") ||
        desc_string(im, d->time, D_TIME, 16, "time") ||
        desc_string(im, d->date, D_DATE, 16, "date") ||
        desc_string(im, d->idf_ver, D_IDF_VER, 32, "idf_ver"))
        return im->err;
    memcpy(d->app_elf_sha256, im->buf + D_ELF_SHA, sizeof d->app_elf_sha256);
    d->mmu_page_size = im->buf[D_MMU_PAGE];
    desc_decided(im, true);
    return im->err;
}

static size_t step_desc(aloft_image_t *im, const uint8_t *p, size_t n)
{
    /* Stop after the magic so absence is reported at 0x24, not 0x120. */
    uint32_t stop = im->field_pos < DESC_MAGIC_LEN ? DESC_MAGIC_LEN : ALOFT_APP_DESC_LEN;
    size_t took = collect(im, p, n, stop);
    checksum_bytes(im, p, took);
    im->seg_left -= (uint32_t)took;
    if (im->field_pos != stop)
        return took;
    if (stop == DESC_MAGIC_LEN) {
        if (aloft_ld32(im->buf) != ALOFT_APP_DESC_MAGIC)
            desc_decided(im, false);
    } else {
        desc_done(im);
    }
    return took;
}

static size_t step_seg_data(aloft_image_t *im, const uint8_t *p, size_t n)
{
    size_t take = n < im->seg_left ? n : im->seg_left;
    checksum_bytes(im, p, take);
    im->seg_left -= (uint32_t)take;
    im->pos += (uint32_t)take;
    if (im->seg_left == 0)
        segment_end(im);
    return take;
}

/* Padding is not checked (the bootloader does not), only hashed. */
static size_t step_pad(aloft_image_t *im, size_t n)
{
    size_t take = n < im->seg_left ? n : im->seg_left;
    im->seg_left -= (uint32_t)take;
    im->pos += (uint32_t)take;
    if (im->seg_left == 0)
        im->state = ST_CHECKSUM;
    return take;
}

static size_t step_checksum(aloft_image_t *im, uint8_t byte)
{
    uint8_t computed = (uint8_t)(im->xor_acc ^ CHECKSUM_SEED);
    im->info.checksum = byte;
    im->pos++;
    if (byte != computed) {
        fail(im, ALOFT_ERR_IMG_CHECKSUM, byte, computed, NULL);
        return 1;
    }
    im->field_pos = 0;
    im->state = im->info.hash_appended ? ST_HASH : ST_DONE;
    return 1;
}

static size_t step_hash(aloft_image_t *im, const uint8_t *p, size_t n)
{
    size_t took = collect(im, p, n, ALOFT_SHA256_LEN);
    if (im->field_pos == ALOFT_SHA256_LEN) {
        uint8_t digest[ALOFT_SHA256_LEN];
        im->sha256->finish(&im->body, digest);
        im->live &= (uint8_t)~LIVE_BODY;
        if (memcmp(digest, im->buf, sizeof digest) != 0)
            fail(im, ALOFT_ERR_IMG_HASH, im->pos - ALOFT_SHA256_LEN, 0, NULL);
        else
            im->state = ST_DONE;
    }
    return took;
}

/* Consume 1..n bytes, all in the current state. */
static size_t step(aloft_image_t *im, const uint8_t *p, size_t n)
{
    switch (im->state) {
    case ST_HEADER: return step_header(im, p, n);
    case ST_SEG_HDR: return step_seg_header(im, p, n);
    case ST_DESC: return step_desc(im, p, n);
    case ST_SEG_DATA: return step_seg_data(im, p, n);
    case ST_PAD: return step_pad(im, n);
    case ST_CHECKSUM: return step_checksum(im, p[0]);
    default: return step_hash(im, p, n);
    }
}

/* ---- public API ------------------------------------------------------ */

int aloft_image_init(aloft_image_t *im, const aloft_hash_alg_t *sha256)
{
    if (im == NULL)
        return ALOFT_ERR_ARG;
    memset(im, 0, sizeof *im);
    im->state = ST_HEADER;
    if (sha256 == NULL || sha256->digest_len != ALOFT_SHA256_LEN ||
        aloft_hash_init(sha256, &im->whole) != ALOFT_OK) {
        im->err = ALOFT_ERR_ARG;
        return aloft_diag_set(&im->diag, ALOFT_ERR_ARG, 0, 0, NULL);
    }
    im->sha256 = sha256;
    im->live = LIVE_WHOLE;
    aloft_hash_init(sha256, &im->body);   /* cannot fail: the same alg just worked */
    im->live |= LIVE_BODY;
    return ALOFT_OK;
}

int aloft_image_feed(aloft_image_t *im, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t used = 0;
    if (im == NULL || (data == NULL && len > 0))
        return ALOFT_ERR_ARG;
    if (im->err)
        return im->err;
    if (len == 0 || im->state == ST_DONE)
        return 0;
    while (used < len && im->state != ST_DONE && im->err == 0) {
        bool in_body = im->state != ST_HASH;
        size_t n = step(im, p + used, len - used);
        if (in_body)
            im->sha256->update(&im->body, p + used, n);
        used += n;
    }
    if (im->err)
        return im->err;
    im->sha256->update(&im->whole, p, used);
    if (im->state == ST_DONE && !im->info.complete) {
        im->info.complete = true;
        im->info.image_len = im->pos;
        im->sha256->finish(&im->whole, im->info.sha256);
        im->live &= (uint8_t)~LIVE_WHOLE;
        drop_hashes(im, LIVE_BODY);   /* no appended hash: nobody reads it */
    }
    /* used is at most the image length, which is far below INT_MAX. */
    return (int)used;
}

void aloft_image_release(aloft_image_t *im)
{
    if (im != NULL && im->sha256 != NULL)
        drop_hashes(im, LIVE_WHOLE | LIVE_BODY);
}

int aloft_image_finish(aloft_image_t *im)
{
    if (im == NULL)
        return ALOFT_ERR_ARG;
    if (im->err)
        return im->err;
    if (im->info.complete)
        return ALOFT_OK;
    return fail(im, ALOFT_ERR_IMG_TRUNCATED, im->pos, needed_len(im), NULL);
}

const aloft_image_info_t *aloft_image_info(const aloft_image_t *im)
{
    return &im->info;
}

const aloft_diag_t *aloft_image_diag(const aloft_image_t *im)
{
    return &im->diag;
}

/* Clamp a host size to the 32-bit diag fields. */
static uint32_t u32_sat(size_t v)
{
    return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v;
}

int aloft_image_check(const void *data, size_t len,
                      const aloft_hash_alg_t *sha256, aloft_image_info_t *info,
                      aloft_diag_t *diag)
{
    aloft_image_t im;
    int rc = aloft_image_init(&im, sha256);
    if (rc == ALOFT_OK) {
        rc = aloft_image_feed(&im, data, len);
        if (rc >= 0 && (size_t)rc < len)
            rc = fail(&im, ALOFT_ERR_IMG_TRAILING, u32_sat(len), (uint32_t)rc, NULL);
        else if (rc >= 0)
            rc = aloft_image_finish(&im);
    }
    if (info != NULL)
        *info = im.info;
    if (diag != NULL)
        *diag = im.diag;
    return rc;
}

/* Read size for flash verification: small enough for any task's stack. */
#define VERIFY_CHUNK 512u

int aloft_image_verify_flash(const aloft_flash_t *flash, uint32_t addr,
                             uint32_t max_len, const aloft_hash_alg_t *sha256,
                             aloft_image_t *im)
{
    uint8_t chunk[VERIFY_CHUNK];
    uint32_t off = 0;
    int rc;
    if (flash == NULL || flash->read == NULL || im == NULL)
        return ALOFT_ERR_ARG;
    rc = aloft_image_init(im, sha256);
    if (rc != ALOFT_OK)
        return rc;
    if (max_len > flash->size || addr > flash->size - max_len)
        return fail(im, ALOFT_ERR_ARG, addr, max_len, NULL);
    while (!im->info.complete) {
        uint32_t n = max_len - off < VERIFY_CHUNK ? max_len - off : VERIFY_CHUNK;
        if (n == 0)   /* the image claims more than the slot holds */
            return aloft_image_finish(im);
        rc = flash->read(flash, addr + off, chunk, n);
        if (rc != ALOFT_OK)
            return fail(im, rc, addr + off, n, NULL);
        rc = aloft_image_feed(im, chunk, n);
        if (rc < 0)
            return rc;
        off += n;
    }
    return ALOFT_OK;
}
