/*
 * aloft/delta.h — the decoder of aloft delta patches (docs/FORMATS.md §3).
 *
 * A patch turns a base image (on a device: the running slot) into a new
 * image. It is a header that binds both images (sizes and SHA-256, the new
 * image's signature block when signed) followed by segments, each an
 * independent zlib stream of copy-with-differences and insert entries that
 * produces `segment_span` bytes of the new image (a multiple of 64 KiB, the
 * encoder's choice: one header field for the whole patch). The decoder is
 * sans-I/O:
 *
 *   aloft_delta_init(cfg) -> aloft_delta_feed(patch bytes, any pieces)...
 *                         -> aloft_delta_finish() | aloft_delta_abort()
 *
 * It reads the base by offset through cfg->read_base and hands the new
 * image, in order, to cfg->write (on a device: the update pipeline's feed,
 * which checks the new SHA-256, the signature and activates). No output
 * happens before the whole header has been checked: a patch for another
 * base (size or SHA-256 differ from cfg's) is refused from the header
 * alone, as is a patch that needs a larger zlib window than cfg->inflate
 * has.
 *
 * Resume: after the header, aloft_delta_resume() tells the decoder which
 * prefix of the new image is already durable (a 64 KiB mark of the resume
 * journal); the caller then feeds the patch from the header's end or from
 * the start of any segment up to the one holding that mark. Segments below
 * the mark are passed over without inflating; the one holding it is decoded
 * and its output below the mark dropped.
 *
 * The decoder does not hash its output: the pipeline it feeds checks the
 * reconstructed image against the header's new_sha256 (the host's `aloft
 * delta apply` does the same). Errors are sticky: after one, every call
 * returns it again; aloft_delta_diag() names the field and patch offset.
 * RAM: sizeof(aloft_delta_t) (1080 bytes on x86-64, test_delta prints it) plus the inflate state the
 * caller lends it (cfg->inflate, the same decoder compressed uploads use).
 */
#ifndef ALOFT_DELTA_H
#define ALOFT_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"
#include "aloft/port/inflate.h"
#include "aloft/wire/signature.h"

#define ALOFT_DELTA_MAGIC "ALDP"
#define ALOFT_DELTA_VERSION 2u         /* 1 (one segment per 64 KiB) is refused */
#define ALOFT_DELTA_FIXED_LEN 92u        /* header before the signature block */
#define ALOFT_DELTA_HEADER_MAX (ALOFT_DELTA_FIXED_LEN + ALOFT_SIG_BLOCK_MAX + 4u)
#define ALOFT_DELTA_MARK (64u * 1024u)   /* journal mark: spans are multiples */
#define ALOFT_DELTA_SEG_HDR 8u           /* new_offset u32, comp_len u32 */
#define ALOFT_DELTA_MIN_WBITS 9u         /* zlib's deflate cannot do 8 */
#define ALOFT_DELTA_MAX_WBITS 15u

/* A parsed header. sig points into the buffer it was parsed from. */
typedef struct aloft_delta_header {
    uint8_t window_bits;
    uint16_t header_len;      /* bytes before segment 0 */
    uint32_t base_size;
    uint8_t base_sha256[32];
    uint32_t new_size;
    uint8_t new_sha256[32];
    uint16_t segment_count;   /* ceil(new_size / segment_span) */
    uint16_t sig_len;         /* 0: the new image is unsigned */
    uint32_t body_len;        /* bytes of all segments */
    uint32_t segment_span;    /* new-image bytes per segment, k x 64 KiB */
    const uint8_t *sig;       /* the new image's signature block, or NULL */
} aloft_delta_header_t;

/* Parse and check a whole header at p (len bytes, at least header_len).
 * Returns the header length (> 0), or ALOFT_ERR_PATCH with d's where naming
 * the field (len too short: "truncated"; d may be NULL), or
 * ALOFT_ERR_SIGNED_MISMATCH when the signature block does not describe the
 * new image. Does not compare the base (the decoder does). */
int aloft_delta_parse_header(const uint8_t *p, size_t len, aloft_delta_header_t *h,
                             aloft_diag_t *d);

/* Bytes of the new image segment k (0-based) covers; it starts at
 * k * segment_span. */
uint32_t aloft_delta_segment_len(const aloft_delta_header_t *h, uint32_t k);

/* For a whole patch held in memory (a host): where segment k starts in it,
 * after checking the segment headers before it, and its compressed bytes
 * in *comp_len. Returns the patch offset (> 0), or ALOFT_ERR_ARG (no such
 * segment) or ALOFT_ERR_PATCH with d. */
long aloft_delta_find_segment(const uint8_t *patch, size_t len, const aloft_delta_header_t *h,
                              uint32_t k, uint32_t *comp_len, aloft_diag_t *d);

typedef struct aloft_delta_cfg {
    uint32_t base_size;             /* the base the device has */
    const uint8_t *base_sha256;     /* 32 bytes */
    /* Read len bytes of the base at off (within base_size). 0 or an error. */
    int (*read_base)(void *ctx, uint32_t off, uint8_t *buf, size_t len);
    /* The next len bytes of the new image. 0 or an error (passed up). */
    int (*write)(void *ctx, const uint8_t *data, size_t len);
    const aloft_inflate_t *inflate; /* begun once per segment */
    void *ctx;
} aloft_delta_cfg_t;

typedef struct aloft_delta {
    aloft_delta_cfg_t cfg;
    aloft_delta_header_t hdr;
    aloft_diag_t diag;
    int err;
    uint8_t phase;            /* internal: header, segment header, body, done */
    uint8_t op;               /* internal: which field of an entry comes next */
    uint8_t vshift;           /* varint being read: bits so far */
    bool inflating;
    uint32_t vval;
    uint32_t patch_pos;       /* patch bytes consumed (absolute) */
    uint32_t fill;            /* bytes of hbuf/shdr held */
    bool any_first;           /* resumed: the next segment may be any up to durable's */
    uint32_t durable;         /* new bytes below this are not written (resume) */
    uint32_t seg;             /* current segment index */
    uint32_t seg_out;         /* new bytes of this segment written */
    uint32_t seg_len;         /* new bytes this segment must produce */
    uint32_t comp_left;       /* zlib bytes of this segment not yet fed (or skipped) */
    uint32_t old_pos;         /* base offset of the next copied byte */
    uint32_t add_left, ins_left;
    uint32_t cache_off, cache_len; /* the base bytes obuf holds */
    uint8_t shdr[ALOFT_DELTA_SEG_HDR];
    uint8_t hbuf[ALOFT_DELTA_HEADER_MAX];
    uint8_t zout[256];        /* inflated entries */
    uint8_t obuf[256];        /* base bytes at cache_off */
} aloft_delta_t;

/* Start decoding. cfg is copied; its callbacks and buffers must outlive d.
 * ALOFT_ERR_ARG for a missing callback or hash. */
int aloft_delta_init(aloft_delta_t *d, const aloft_delta_cfg_t *cfg);

/* Consume len patch bytes. 0, or an error (sticky). */
int aloft_delta_feed(aloft_delta_t *d, const uint8_t *data, size_t len);

/* The header once it has been fed and accepted, else NULL. */
const aloft_delta_header_t *aloft_delta_header(const aloft_delta_t *d);

/* Right after the header: the first `durable` bytes of the new image are
 * already in place (a multiple of ALOFT_DELTA_MARK below new_size: the
 * journal's durable prefix), and the next feed() gives the patch from
 * patch_offset on: header_len, or the start of any segment at or before the
 * one that holds `durable`. The decoder passes over whole segments that end
 * at or before `durable` (their 8-byte header read, comp_len bytes not
 * inflated), decodes the one that holds it and drops its output below
 * `durable` (no write for it, and no base read either), and writes from
 * `durable` on. Which segment comes first is told by its header: a caller
 * that only knows a lower bound of where its bytes start (a device fed by a
 * host that knows the patch) may pass header_len; patch_offset only bounds
 * segment lengths and numbers the diag's offsets. Bytes from a place that is
 * not a segment start, or a segment after durable's, are refused by feed()
 * (ALOFT_ERR_PATCH, "segment offset" or "segment length"; a stream that got
 * past those checks still fails its zlib check or the image's SHA-256).
 * Returns 0, ALOFT_ERR_STATE (header not complete, a segment begun, or
 * resumed already) or ALOFT_ERR_ARG (durable not a mark below new_size,
 * patch_offset outside the body). */
int aloft_delta_resume(aloft_delta_t *d, uint32_t durable, uint32_t patch_offset);

/* New-image offset of the next byte write() gets (never below durable). */
uint32_t aloft_delta_new_offset(const aloft_delta_t *d);

/* The patch has ended: 0 if every segment was decoded and nothing is
 * missing, else ALOFT_ERR_PATCH ("truncated"). Releases the inflate. */
int aloft_delta_finish(aloft_delta_t *d);

/* Give up (releases the inflate). Safe after finish and twice. */
void aloft_delta_abort(aloft_delta_t *d);

/* What failed, with the patch offset (have) and the field (where). */
const aloft_diag_t *aloft_delta_diag(const aloft_delta_t *d);

#endif /* ALOFT_DELTA_H */
