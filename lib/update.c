/*
 * lib/update.c — the update pipeline (see aloft/update.h for the contract).
 *
 * Order of operations, and why:
 *   begin   refuse on metadata alone (size, slot, pending image): no flash
 *           touched, app not paused;
 *   feed    bytes go through the image parser *before* the writer, so a bad
 *           header, wrong chip or broken app description fails before the
 *           writer's first erase (it erases only when its second page is
 *           complete, i.e. after 512 bytes, and the app description ends at
 *           byte 288);
 *   finish  hashes of the stream, then a full re-read of the slot from flash
 *           (what the bootloader will see), then the image's first byte,
 *           then otadata. A power cut anywhere before the otadata write
 *           leaves the old entry in charge.
 *
 * Filesystem images are staged (lib/fs_stage.h) where space allows: the
 * stream goes to the staging area exactly as an app goes to its slot
 * (u->part), and only once it checked out is it copied into u->fs.
 *
 * Resume: every 64 KiB programmed is recorded in a journal in the slot's
 * last sector (lib/journal.h). A later begin() of the same image re-reads
 * the durable prefix from flash through the parser and the hash, which
 * rebuilds exactly the state a continuous transfer would have, and the
 * writer carries on from there. Any other transfer into the slot (espota,
 * another image) closes that journal before its first flash operation:
 * the prefix it vouches for is about to be overwritten.
 */
#include <string.h>

#include "aloft/update.h"
#include "fs_stage.h"
#include "journal.h"

/* Transport reasons keep the journal (the prefix is good and can resume);
 * anything else means the prefix is bad or the transfer is over. */
static bool keeps_journal(int err)
{
    return err == ALOFT_ERR_ABORTED || err == ALOFT_ERR_TIMEOUT || err == ALOFT_ERR_CLOSED ||
           err == ALOFT_ERR_CONNECT;
}

static void close_journal(aloft_update_t *u)
{
    if (u->journal && u->marked) {
        aloft_journal_close(u->dev->flash, u->journal);
        u->marked = 0;
    }
}

#define LIVE_SHA256 1u
#define LIVE_MD5 2u
#define LIVE_IMAGE 4u

/* Finish what still runs, so the port releases it (the ESP32's SHA engine,
 * a PSA operation): every way out of a session passes here. */
static void drop_hashes(aloft_update_t *u)
{
    const aloft_crypto_t *c = u->dev->crypto;
    if (u->live & LIVE_SHA256)
        aloft_hash_drop(c->sha256, &u->sha256);
    if (u->live & LIVE_MD5)
        aloft_hash_drop(c->md5, &u->md5);
    if (u->live & LIVE_IMAGE)
        aloft_image_release(&u->image);
    u->live = 0;
}

static int fail(aloft_update_t *u, int err, uint32_t have, uint32_t want,
                const char *where)
{
    drop_hashes(u);
    if (u->diag.err == 0)
        aloft_diag_set(&u->diag, err, have, want, where);
    u->state = ALOFT_UPDATE_FAILED;
    if (!keeps_journal(err))
        close_journal(u);
    aloft_quiesce_resume(u->dev->quiesce);
    return err;
}

/* A failure found by the image parser keeps the parser's numbers. */
static int fail_image(aloft_update_t *u, int err)
{
    u->diag = *aloft_image_diag(&u->image);
    if (u->diag.err == 0)
        u->diag.err = err;
    return fail(u, err, 0, 0, NULL);
}

static int refuse(aloft_update_t *u, int err, uint32_t have, uint32_t want,
                  const char *where)
{
    drop_hashes(u);
    u->state = ALOFT_UPDATE_FAILED;
    return aloft_diag_set(&u->diag, err, have, want, where);
}

/* The partition an update of target goes to: for an app, the OTA slot
 * after the running one (esp_ota_get_next_update_partition). Fills *part,
 * *slot and od; on failure returns the code and sets *where. */
static int target_partition(const aloft_device_t *dev, aloft_target_t target, const char *label,
                            aloft_otadata_t *od, const aloft_part_t **part, int *slot,
                            const char **where)
{
    if (target == ALOFT_TARGET_FS) {
        *part = aloft_ptable_find_fs(dev->ptable, label);
        *where = label ? label : "spiffs";
        return *part ? ALOFT_OK : ALOFT_ERR_NO_SLOT;
    }
    if (target != ALOFT_TARGET_APP)
        return ALOFT_ERR_ARG;
    int err = aloft_otadata_open(od, dev->flash, dev->ptable);
    *where = err == ALOFT_ERR_NO_SLOT ? "ota_0" : "otadata";
    if (err)
        return err;
    *where = "ota_1";
    if (od->nslots < 2)
        return ALOFT_ERR_NO_SLOT;
    if (dev->running_slot < 0 || dev->running_slot >= od->nslots)
        return ALOFT_ERR_ARG;
    *slot = (dev->running_slot + 1) % od->nslots;
    *part = od->slots[*slot];
    return ALOFT_OK;
}

static uint32_t journal_addr(const aloft_device_t *dev, const aloft_part_t *part, uint32_t size)
{
    return aloft_journal_addr(dev->flash, part->offset, part->size, size);
}

/* The inactive app slot, and whether it holds nothing the device may
 * still need: no image header, or an image otadata gave up on. */
static int inactive_slot(const aloft_device_t *dev, aloft_otadata_t *od, aloft_fs_slot_t *s)
{
    const char *where;
    uint8_t magic;
    int slot;
    s->part = NULL;
    s->free = false;
    if (target_partition(dev, ALOFT_TARGET_APP, NULL, od, &s->part, &slot, &where) != 0) {
        s->part = NULL;   /* no second OTA slot: nothing to stage in */
        return ALOFT_OK;
    }
    int err = dev->flash->read(dev->flash, s->part->offset, &magic, 1);
    if (err)
        return err;
    uint32_t state = aloft_otadata_slot_state(od, slot);
    s->free = magic != ALOFT_IMAGE_MAGIC || state == ALOFT_OTA_INVALID ||
              state == ALOFT_OTA_ABORTED;
    return ALOFT_OK;
}

/* Whether a signature block may trail the image inside the size bytes
 * (espota sends the file as is). */
static bool may_trail(const aloft_update_req_t *req)
{
    return req->sig_block == NULL && !req->image_only;
}

/* A filesystem image: the filesystem, then where it is staged. A staged
 * file may be a signature block longer than the filesystem (the block is
 * not copied). An image that cannot fit is left to begin's size checks. */
static int choose_fs_stage(aloft_update_t *u, const aloft_update_req_t *req)
{
    const aloft_device_t *dev = u->dev;
    aloft_fs_slot_t slot;
    const aloft_part_t *stage;
    int err = inactive_slot(dev, &u->otadata, &slot);
    if (err)
        return refuse(u, err, 0, 0, "otadata");
    if (req->size == 0 || req->size > u->part->size + may_trail(req) * ALOFT_SIG_BLOCK_MAX)
        return ALOFT_OK;
    /* With keys, a trailing block can only be checked once the data is
     * in: in place, that is in the live filesystem. */
    aloft_fs_stage_t policy = req->fs_stage;
    if (dev->nkeys && may_trail(req) && policy == ALOFT_FS_STAGE_AUTO)
        policy = ALOFT_FS_STAGE_ASK;
    err = aloft_fs_stage_choose(dev->flash, dev->ptable, u->part, req->size, policy, &slot,
                                &stage, &u->diag);
    if (err) {
        u->state = ALOFT_UPDATE_FAILED;
        return err;
    }
    if (stage != u->part) {
        u->fs = u->part;
        u->part = stage;
    }
    return ALOFT_OK;
}

static int choose_partition(aloft_update_t *u, const aloft_update_req_t *req)
{
    const aloft_device_t *dev = u->dev;
    aloft_otadata_t *od = &u->otadata;
    const char *where = NULL;
    int entry;
    int err = target_partition(dev, req->target, req->fs_label, od, &u->part, &u->slot, &where);
    if (err)
        return refuse(u, err, 0, 0, err == ALOFT_ERR_ARG ? NULL : where);
    if (req->target != ALOFT_TARGET_APP)
        return choose_fs_stage(u, req);
    int sel = aloft_otadata_selected(od, &entry);
    if (entry >= 0 && sel == dev->running_slot &&
        od->e[entry].state == ALOFT_OTA_PENDING_VERIFY)
        return refuse(u, ALOFT_ERR_PENDING, 0, 0,
                      od->slots[dev->running_slot]->label);
    return ALOFT_OK;
}

/* The signed metadata must describe this update on this device: target,
 * chip, size (when known), project and secure_version of the running image.
 * image_len 0 = size not known yet (checked again in finish). */
static int check_meta(aloft_update_t *u, const aloft_signed_meta_t *m, uint32_t image_len)
{
    const aloft_app_desc_t *run = u->dev->running_desc;
    if (m->target != u->target || (image_len && m->image_size != image_len))
        return refuse(u, ALOFT_ERR_SIGNED_MISMATCH, m->image_size, image_len, "size/target");
    if (m->chip_id != u->dev->chip_id)
        return refuse(u, ALOFT_ERR_IMG_CHIP, m->chip_id, u->dev->chip_id, NULL);
    size_t plen = strlen(run ? run->project_name : "");
    /* A filesystem image need not name a project; one that does must
     * name the running firmware's. */
    bool named = u->target == ALOFT_TARGET_APP || m->project[0] != '\0';
    if (run && named && plen &&
        (strlen(m->project) != plen || memcmp(m->project, run->project_name, plen) != 0))
        return refuse(u, ALOFT_ERR_PROJECT, 0, 0, run->project_name);
    if (run && u->target == ALOFT_TARGET_APP && m->secure_version < run->secure_version)
        return refuse(u, ALOFT_ERR_DOWNGRADE, m->secure_version, run->secure_version, NULL);
    return ALOFT_OK;
}

/* Parse and verify a signature block against the provisioned keys (a
 * device without keys ignores signatures) and the device. */
static int check_block(aloft_update_t *u, const uint8_t *block, size_t len, uint32_t image_len,
                       aloft_sig_block_t *b)
{
    int err;
    if (aloft_sig_parse(block, len, b) != 0)
        return refuse(u, ALOFT_ERR_SIGNATURE, 0, 0, NULL);
    if (u->dev->nkeys == 0)
        return ALOFT_OK;
    if ((err = aloft_sig_verify(u->dev->crypto, b, u->dev->keys, u->dev->nkeys)) != 0)
        return refuse(u, err, 0, 0, NULL);
    return check_meta(u, &b->meta, image_len);
}

/* Rebuild the state of a transfer interrupted after durable bytes: feed
 * the prefix from flash through the parser and hashes. Returns 0, or an
 * error if the prefix does not check out (then start over). */
static int replay_prefix(aloft_update_t *u, uint32_t durable)
{
    uint8_t chunk[256];
    for (uint32_t off = 0; off < durable; off += sizeof chunk) {
        uint32_t n = durable - off < sizeof chunk ? durable - off : (uint32_t)sizeof chunk;
        int err = u->dev->flash->read(u->dev->flash, u->part->offset + off, chunk, n);
        if (err)
            return err;
        if (off == 0 && u->target == ALOFT_TARGET_APP)
            chunk[0] = ALOFT_IMAGE_MAGIC;   /* held back until commit */
        if (u->target == ALOFT_TARGET_APP && aloft_image_feed(&u->image, chunk, n) != (int)n)
            return ALOFT_ERR_IMG_MAGIC;
        u->dev->crypto->sha256->update(&u->sha256, chunk, n);
    }
    return ALOFT_OK;
}

/* Continue from the journal's durable prefix when it matches req. */
static int try_resume(aloft_update_t *u, const aloft_update_req_t *req)
{
    bool app = req->target == ALOFT_TARGET_APP;
    int durable = aloft_journal_durable(u->dev->flash, u->journal, (uint8_t)req->target,
                                        req->size, req->sha256);
    if (durable <= 0 || replay_prefix(u, (uint32_t)durable) != 0)
        return ALOFT_ERR_STATE;
    u->received = u->offset = u->marked = (uint32_t)durable;
    return aloft_writer_resume(&u->writer, u->dev->flash, u->part->offset, u->part->size,
                               req->size, app, (uint32_t)durable, ALOFT_IMAGE_MAGIC);
}

/* Fresh image parser and hashes. */
static int init_stream(aloft_update_t *u, const aloft_update_req_t *req)
{
    const aloft_crypto_t *c = u->dev->crypto;
    int err;
    if (req->target == ALOFT_TARGET_APP) {
        if ((err = aloft_image_init(&u->image, c->sha256)) != 0)
            return err;
        u->live |= LIVE_IMAGE;
    }
    if ((err = aloft_hash_init(c->sha256, &u->sha256)) != 0)
        return err;
    u->live |= LIVE_SHA256;
    if (req->md5) {
        if ((err = aloft_hash_init(c->md5, &u->md5)) != 0)
            return err;
        u->live |= LIVE_MD5;
    }
    return ALOFT_OK;
}

/* Parser, hashes and writer, continuing from the journal when it can. */
static int start_transfer(aloft_update_t *u, const aloft_update_req_t *req)
{
    int err = init_stream(u, req);
    if (err)
        return err;
    if (req->resume && req->sha256 && u->journal) {
        if (try_resume(u, req) == 0)
            return ALOFT_OK;
        u->received = u->offset = u->marked = 0;   /* start over, cleanly */
        if ((err = init_stream(u, req)) != 0)
            return err;
    }
    return aloft_writer_begin(&u->writer, u->dev->flash, u->part->offset, u->part->size,
                              req->size, req->target == ALOFT_TARGET_APP);
}

/* An open journal in the slot that this transfer did not resume belongs
 * to an earlier transfer whose prefix this one will overwrite: note it,
 * to close before the first flash operation (begin touches no flash). */
static int note_stale_journal(aloft_update_t *u)
{
    const aloft_flash_t *f = u->dev->flash;
    uint8_t target, sha[ALOFT_SHA256_LEN];
    uint32_t size;
    aloft_journal_copy_t copy;
    if (u->offset > 0 || u->part->size < f->sector_size)   /* resumed: the journal is ours */
        return ALOFT_OK;
    uint32_t at = u->part->offset + u->part->size - f->sector_size;
    /* A staged filesystem image not yet copied out: only the boot's
     * aloft_update_recover_fs may go on with it. */
    int pending = aloft_journal_copy_pending(f, at, &copy);
    if (pending != 0)
        return pending < 0 ? pending : ALOFT_ERR_BUSY;
    int durable = aloft_journal_read(f, at, &target, &size, sha);
    if (durable < 0)
        return durable;
    u->stale_journal = durable > 0 ? at : 0;
    return ALOFT_OK;
}

/* Before this transfer's first flash operation. */
static int close_stale_journal(aloft_update_t *u)
{
    uint32_t at = u->stale_journal;
    u->stale_journal = 0;
    return at ? aloft_journal_close(u->dev->flash, at) : ALOFT_OK;
}

int aloft_update_begin(aloft_update_t *u, const aloft_device_t *dev,
                       const aloft_update_req_t *req)
{
    int err;
    if (u == NULL || dev == NULL || req == NULL || dev->flash == NULL ||
        dev->ptable == NULL || dev->crypto == NULL || dev->crypto->sha256 == NULL ||
        (req->md5 != NULL && dev->crypto->md5 == NULL))
        return ALOFT_ERR_ARG;
    /* Until the reboot, the slot just activated still looks inactive: a new
     * update would erase what is about to boot. */
    if (u->state == ALOFT_UPDATE_RECEIVING || u->activated)
        return ALOFT_ERR_BUSY;
    memset(u, 0, sizeof *u);
    u->dev = dev;
    u->target = req->target;
    u->size = req->size;

    if ((err = choose_partition(u, req)) != 0)
        return err;
    if (req->target == ALOFT_TARGET_APP &&
        req->size < ALOFT_IMAGE_HEADER_LEN + ALOFT_IMAGE_SEG_HEADER_LEN + 16)
        return refuse(u, ALOFT_ERR_SIZE, req->size, 0, NULL);
    if (req->size == 0)
        return refuse(u, ALOFT_ERR_SIZE, 0, 0, NULL);
    if (req->size > u->part->size)
        return refuse(u, ALOFT_ERR_TOO_LARGE, req->size, u->part->size, u->part->label);

    if (req->sig_block) {
        aloft_sig_block_t b;
        if (req->sig_block_len > sizeof u->sig_block)
            return refuse(u, ALOFT_ERR_SIGNATURE, 0, 0, NULL);
        if ((err = check_block(u, req->sig_block, req->sig_block_len, req->size, &b)) != 0)
            return err;
        /* The offer's hash must be the signed one, or the data cannot pass. */
        if (dev->nkeys && req->sha256 &&
            memcmp(b.meta.image_sha256, req->sha256, sizeof b.meta.image_sha256) != 0)
            return refuse(u, ALOFT_ERR_SIGNED_MISMATCH, 0, 0, "SHA-256");
        memcpy(u->sig_block, req->sig_block, req->sig_block_len);
        u->sig_block_len = (uint32_t)req->sig_block_len;
    } else if (dev->nkeys && req->image_only) {
        return refuse(u, ALOFT_ERR_UNSIGNED, 0, 0, NULL);
    }
    if (req->sha256)   /* a journal needs to know which image it is */
        u->journal = journal_addr(dev, u->part, req->size);
    if ((u->has_sha256 = req->sha256 != NULL))
        memcpy(u->want_sha256, req->sha256, sizeof u->want_sha256);
    if ((u->has_md5 = req->md5 != NULL))
        memcpy(u->want_md5, req->md5, sizeof u->want_md5);
    if ((err = start_transfer(u, req)) != 0 || (err = note_stale_journal(u)) != 0)
        return refuse(u, err, 0, 0, err == ALOFT_ERR_BUSY ? u->part->label : NULL);

    u->state = ALOFT_UPDATE_RECEIVING;
    aloft_quiesce_pause(dev->quiesce);
    if (dev->progress)
        dev->progress(dev->progress_ctx, u->received, u->size);
    return ALOFT_OK;
}

static int check_running(const aloft_update_t *u)
{
    if (u->state == ALOFT_UPDATE_RECEIVING)
        return ALOFT_OK;
    return u->state == ALOFT_UPDATE_FAILED ? ALOFT_ERR_FAILED : ALOFT_ERR_STATE;
}

/* The streaming image check. Returns how many of the n bytes belong to
 * the image (the rest, up to a signature block's size, is kept as the
 * trailer), or the session's failure. */
static int check_image(aloft_update_t *u, const uint8_t *data, size_t n)
{
    int used = aloft_image_feed(&u->image, data, n);   /* 0 once the image is complete */
    if (used < 0)
        return fail_image(u, used);
    size_t extra = n - (size_t)used;
    if (extra > sizeof u->trailer - u->trailer_len)   /* more than any signature block */
        return fail(u, ALOFT_ERR_IMG_TRAILING, u->size,
                    aloft_image_info(&u->image)->image_len, NULL);
    memcpy(u->trailer + u->trailer_len, data + used, extra);
    u->trailer_len += (uint32_t)extra;
    const aloft_image_info_t *info = aloft_image_info(&u->image);
    if (info->have_header && info->chip_id != u->dev->chip_id)
        return fail(u, ALOFT_ERR_IMG_CHIP, info->chip_id, u->dev->chip_id, NULL);
    return used;
}

/* Record each further 64 KiB programmed; the record itself is written
 * with the first mark, i.e. only after the image's first bytes checked out. */
static int journal_progress(aloft_update_t *u)
{
    uint32_t programmed = aloft_writer_programmed(&u->writer);
    int err = ALOFT_OK;
    const aloft_flash_t *f = u->dev->flash;
    while (!err && u->journal && programmed >= u->marked + ALOFT_JOURNAL_STEP) {
        uint32_t next = u->marked + ALOFT_JOURNAL_STEP;
        /* A fresh journal, or (after a resume) a mark torn by a power cut
         * sits where the next one goes: write the journal anew, with the
         * marks of what is already durable. */
        int blank = u->marked ? aloft_journal_can_mark(f, u->journal, next) : 0;
        if (blank < 0)
            return blank;
        if (!blank) {
            err = aloft_journal_start(f, u->journal, (uint8_t)u->target, u->size, u->want_sha256);
            for (uint32_t m = ALOFT_JOURNAL_STEP; !err && m < next; m += ALOFT_JOURNAL_STEP)
                err = aloft_journal_mark(f, u->journal, m);
        }
        if (!err)
            err = aloft_journal_mark(f, u->journal, next);
        if (!err)
            u->marked = next;
    }
    return err;
}

int aloft_update_feed(aloft_update_t *u, const void *bytes, size_t n)
{
    const uint8_t *data = bytes;
    int err = check_running(u);
    if (err)
        return err;
    if (n > u->size - u->received)
        return fail(u, ALOFT_ERR_OVERFLOW, u->received + (uint32_t)n, u->size, NULL);
    size_t for_flash = n;
    if (u->target == ALOFT_TARGET_APP) {
        int used = check_image(u, data, n);
        if (used < 0)
            return used;
        for_flash = (size_t)used;
    }
    u->dev->crypto->sha256->update(&u->sha256, data, n);
    if (u->has_md5)
        u->dev->crypto->md5->update(&u->md5, data, n);
    if ((for_flash && (err = close_stale_journal(u)) != 0) ||
        (err = aloft_writer_write(&u->writer, data, for_flash)) != 0)
        return fail(u, err, u->part->offset + u->received, 0, u->part->label);
    u->received += (uint32_t)n;
    if ((err = journal_progress(u)) != 0)
        return fail(u, err, u->journal, 0, u->part->label);
    if (u->dev->progress)
        u->dev->progress(u->dev->progress_ctx, u->received, u->size);
    return ALOFT_OK;
}

int aloft_update_erase_ahead(aloft_update_t *u)
{
    int err = check_running(u);
    if (err)
        return err;
    if ((err = close_stale_journal(u)) != 0 || (err = aloft_writer_erase_ahead(&u->writer)) < 0)
        return fail(u, err, u->part->offset, 0, u->part->label);
    return err;
}

/* The flash as the slot will read after commit (held first byte overlaid),
 * so the image can be verified before it becomes bootable. */
static int overlay_read(const aloft_flash_t *f, uint32_t addr, void *buf, size_t len)
{
    const aloft_writer_t *w = f->ctx;
    return aloft_writer_read(w, addr - w->base, buf, len);
}

/* Re-read the written bytes and compare their SHA-256 with what was
 * streamed (expect); for an app, also verify the image exactly as the
 * bootloader will. */
static int verify_readback(aloft_update_t *u, const uint8_t expect[32])
{
    uint8_t sha[ALOFT_SHA256_LEN];
    int err;
    if (u->target == ALOFT_TARGET_APP) {
        aloft_flash_t view = *u->dev->flash;
        view.ctx = &u->writer;
        view.read = overlay_read;
        err = aloft_image_verify_flash(&view, u->part->offset, u->size,
                                       u->dev->crypto->sha256, &u->image);
        if (err)
            return fail(u, ALOFT_ERR_READBACK, 0, 0, u->part->label);
        memcpy(sha, aloft_image_info(&u->image)->sha256, sizeof sha);
    } else if ((err = aloft_writer_hash(&u->writer, u->dev->crypto->sha256, sha)) != 0) {
        return fail(u, err, u->part->offset, 0, u->part->label);
    }
    if (memcmp(sha, expect, sizeof sha) != 0)
        return fail(u, ALOFT_ERR_READBACK, 0, 0, u->part->label);
    return ALOFT_OK;
}

/* The signature policy at the end, once the image's length and SHA-256
 * are known: the block announced in begin, or one trailing the image. */
static int check_signature(aloft_update_t *u)
{
    const aloft_image_info_t *info = aloft_image_info(&u->image);
    bool announced = u->sig_block_len > 0;
    const uint8_t *block = announced ? u->sig_block : u->trailer;
    size_t len = announced ? u->sig_block_len : u->trailer_len;
    aloft_sig_block_t b;
    int err;
    if (announced && u->trailer_len)
        return refuse(u, ALOFT_ERR_IMG_TRAILING, u->size, info->image_len, NULL);
    if (len == 0)
        return u->dev->nkeys ? refuse(u, ALOFT_ERR_UNSIGNED, 0, 0, NULL) : ALOFT_OK;
    if (aloft_sig_parse(block, len, &b) != 0)   /* junk after the image, not a block */
        return refuse(u, announced ? ALOFT_ERR_SIGNATURE : ALOFT_ERR_IMG_TRAILING, u->size,
                      info->image_len, NULL);
    if (u->dev->nkeys == 0)
        return ALOFT_OK;
    if ((err = check_block(u, block, len, info->image_len, &b)) != 0)
        return err;
    if (aloft_sig_check_image(&b.meta, info->image_len, info->sha256) != 0)
        return refuse(u, ALOFT_ERR_SIGNED_MISMATCH, b.meta.image_size, info->image_len, "SHA-256");
    return ALOFT_OK;
}

/* A signature block the staged file ends with (espota): copied into
 * u->trailer; returns its length, 0 if none, or a flash error. */
static int staged_trailer(aloft_update_t *u)
{
    uint32_t n = u->size < sizeof u->trailer ? u->size : (uint32_t)sizeof u->trailer;
    int err = aloft_writer_read(&u->writer, u->size - n, u->trailer, n);
    if (err)
        return err;
    size_t len = aloft_sig_trailer_len(u->trailer, n);
    memmove(u->trailer, u->trailer + n - len, len);
    return (int)len;
}

/* A staged file may exceed the filesystem by a block's size; what is
 * copied may not. */
static int fits_fs(aloft_update_t *u, uint32_t image_len)
{
    if (u->fs && image_len > u->fs->size)
        return refuse(u, ALOFT_ERR_TOO_LARGE, image_len, u->fs->size, u->fs->label);
    return ALOFT_OK;
}

/* The signature policy of a filesystem image, once it is read back and
 * before the live filesystem is touched: the block announced in begin, or
 * one the staged file ends with, which is then not copied (trailer_len).
 * A device without keys only strips a trailing block that describes the
 * bytes before it. Leaves the SHA-256 of what is copied in want_sha256. */
static int check_fs_signature(aloft_update_t *u)
{
    bool announced = u->sig_block_len > 0;
    const uint8_t *block = announced ? u->sig_block : u->trailer;
    int len = announced ? (int)u->sig_block_len : u->fs ? staged_trailer(u) : 0;
    aloft_sig_block_t b;
    int err;
    if (len < 0)
        return refuse(u, len, u->part->offset + u->size, 0, u->part->label);
    if (len == 0 && u->dev->nkeys)
        return refuse(u, ALOFT_ERR_UNSIGNED, 0, 0, NULL);
    if (len == 0)
        return fits_fs(u, u->size);
    uint32_t image_len = u->size - (announced ? 0 : (uint32_t)len);
    if (aloft_sig_parse(block, (size_t)len, &b) != 0)   /* parsed once already */
        return refuse(u, ALOFT_ERR_SIGNATURE, 0, 0, NULL);
    if (u->dev->nkeys == 0 && (b.meta.target != ALOFT_TARGET_FS || b.meta.image_size != image_len))
        return fits_fs(u, u->size);   /* the image's own bytes, by chance: keep them */
    if ((err = check_block(u, block, (size_t)len, image_len, &b)) != 0)
        return err;
    if (!announced) {   /* the staged image without its block */
        u->trailer_len = (uint32_t)len;
        if ((err = aloft_writer_begin(&u->writer, u->dev->flash, u->part->offset, u->part->size,
                                      image_len, false)) != 0 ||
            (err = aloft_writer_hash(&u->writer, u->dev->crypto->sha256, u->want_sha256)) != 0)
            return refuse(u, err, u->part->offset, 0, u->part->label);
    }
    if (u->dev->nkeys && aloft_sig_check_image(&b.meta, image_len, u->want_sha256) != 0)
        return refuse(u, ALOFT_ERR_SIGNED_MISMATCH, b.meta.image_size, image_len, "SHA-256");
    return fits_fs(u, image_len);
}

/* The checks of finish before anything is activated: image, signature,
 * the announced hashes, and the flash read back. */
static int verify_all(aloft_update_t *u)
{
    uint8_t sha[ALOFT_SHA256_LEN], md5[ALOFT_MD5_LEN], image_sha[ALOFT_SHA256_LEN];
    int err;
    if (u->trailer_len)   /* the trailer is not for flash */
        aloft_writer_truncate(&u->writer);
    if ((err = aloft_writer_flush(&u->writer)) != 0)
        return fail(u, err, u->part->offset + u->size, 0, u->part->label);
    if (u->target == ALOFT_TARGET_APP) {
        if ((err = aloft_image_finish(&u->image)) != 0)
            return fail_image(u, err);
        if ((err = check_signature(u)) != 0)
            return fail(u, err, 0, 0, NULL);
        memcpy(image_sha, aloft_image_info(&u->image)->sha256, sizeof image_sha);
    }
    u->live &= (uint8_t)~LIVE_IMAGE;   /* finished or failed: released */
    u->dev->crypto->sha256->finish(&u->sha256, sha);
    u->live &= (uint8_t)~LIVE_SHA256;
    if (u->has_sha256 && memcmp(sha, u->want_sha256, sizeof sha) != 0)
        return fail(u, ALOFT_ERR_SHA256, 0, 0, NULL);
    memcpy(u->want_sha256, sha, sizeof sha);   /* known now even if not announced: the copy's */
    if (u->has_md5) {
        u->dev->crypto->md5->finish(&u->md5, md5);
        u->live &= (uint8_t)~LIVE_MD5;
        if (memcmp(md5, u->want_md5, sizeof md5) != 0)
            return fail(u, ALOFT_ERR_MD5, 0, 0, NULL);
    }
    if ((err = verify_readback(u, u->target == ALOFT_TARGET_APP ? image_sha : sha)) != 0)
        return err;
    if (u->target == ALOFT_TARGET_FS && (err = check_fs_signature(u)) != 0)
        return fail(u, err, 0, 0, NULL);
    return ALOFT_OK;
}

int aloft_update_finish(aloft_update_t *u)
{
    int err = check_running(u);
    if (err)
        return err;
    if (u->received < u->size)
        return fail(u, ALOFT_ERR_SHORT, u->received, u->size, NULL);
    if ((err = verify_all(u)) != 0)
        return err;

    /* The journal closes before otadata switches, so the switch is the
     * update's last flash operation: a cut before it keeps the old image. */
    close_journal(u);
    if (u->fs && (err = aloft_fs_copy(u->dev, &u->writer, u->part, u->fs,
                                      u->size - u->trailer_len, u->want_sha256, false, 0)) != 0)
        return fail(u, err, u->fs->offset, 0, u->fs->label);
    if (u->target == ALOFT_TARGET_APP) {
        if ((err = aloft_writer_commit(&u->writer)) != 0)
            return fail(u, err, u->part->offset, 0, u->part->label);
        err = aloft_otadata_activate(&u->otadata, u->slot,
                                     u->dev->rollback ? ALOFT_OTA_NEW : ALOFT_OTA_UNDEFINED);
        if (err)
            return fail(u, err, u->otadata.offset, 0, "otadata");
        u->activated = true;
    }
    u->state = ALOFT_UPDATE_DONE;
    aloft_quiesce_resume(u->dev->quiesce);
    return ALOFT_OK;
}

int aloft_update_rollback(aloft_update_t *u, const aloft_device_t *dev)
{
    const char *where;
    int err;
    if (u == NULL || dev == NULL || dev->flash == NULL || dev->ptable == NULL)
        return ALOFT_ERR_ARG;
    if (u->state == ALOFT_UPDATE_RECEIVING || u->activated)
        return ALOFT_ERR_BUSY;
    memset(u, 0, sizeof *u);
    u->dev = dev;
    err = target_partition(dev, ALOFT_TARGET_APP, NULL, &u->otadata, &u->part, &u->slot, &where);
    if (err)
        return refuse(u, err, 0, 0, where);
    err = aloft_image_verify_flash(dev->flash, u->part->offset, u->part->size,
                                   dev->crypto->sha256, &u->image);
    if (err == 0 && aloft_image_info(&u->image)->chip_id != dev->chip_id)
        err = ALOFT_ERR_IMG_CHIP;
    /* An image the bootloader abandoned, or the app rejected, failed its
     * health check: bringing it back as VALID would skip that verdict. */
    uint32_t state = aloft_otadata_slot_state(&u->otadata, u->slot);
    if (err || state == ALOFT_OTA_ABORTED || state == ALOFT_OTA_INVALID)
        return refuse(u, ALOFT_ERR_NO_BOOTABLE, 0, 0, u->part->label);
    if ((err = aloft_otadata_activate(&u->otadata, u->slot, ALOFT_OTA_VALID)) != 0)
        return refuse(u, err, u->otadata.offset, 0, "otadata");
    u->activated = true;
    u->state = ALOFT_UPDATE_DONE;
    return ALOFT_OK;
}

void aloft_update_abort(aloft_update_t *u, int why)
{
    if (u == NULL || u->state != ALOFT_UPDATE_RECEIVING)
        return;
    fail(u, why < 0 ? why : ALOFT_ERR_ABORTED, u->received, u->size, NULL);
}

void aloft_update_abort_diag(aloft_update_t *u, const aloft_diag_t *why)
{
    if (u == NULL || u->state != ALOFT_UPDATE_RECEIVING)
        return;
    fail(u, why->err < 0 ? why->err : ALOFT_ERR_ABORTED, why->have, why->want, why->where);
}

aloft_update_state_t aloft_update_state(const aloft_update_t *u)
{
    return (aloft_update_state_t)u->state;
}

const aloft_diag_t *aloft_update_diag(const aloft_update_t *u)
{
    return &u->diag;
}

const aloft_part_t *aloft_update_partition(const aloft_update_t *u)
{
    return u->fs ? u->fs : u->part;
}

const aloft_part_t *aloft_update_staging(const aloft_update_t *u)
{
    return u->part;
}

/* An open copy journal in area's last sector, copied out to the end. */
static int recover_from(aloft_update_t *u, const aloft_part_t *area)
{
    const aloft_device_t *dev = u->dev;
    const aloft_ptable_t *pt = dev->ptable;
    aloft_journal_copy_t c;
    if (area->size < dev->flash->sector_size)
        return 0;
    uint32_t at = aloft_fs_copy_journal(dev->flash, area);
    int pending = aloft_journal_copy_pending(dev->flash, at, &c);
    if (pending <= 0)
        return pending;
    const aloft_part_t *dst = c.dest < pt->count ? &pt->parts[c.dest] : NULL;
    /* A record the table does not match (the table changed): drop it. */
    if (dst == NULL || dst == area || c.size == 0 || c.size > dst->size ||
        aloft_journal_addr(dev->flash, area->offset, area->size, c.size) != at)
        return aloft_journal_close(dev->flash, at);
    u->part = area;
    u->fs = dst;
    u->target = ALOFT_TARGET_FS;
    u->size = c.size;
    u->offset = c.durable;
    int err = aloft_fs_copy(dev, &u->writer, area, dst, c.size, c.sha256, true, c.durable);
    return err ? aloft_diag_set(&u->diag, err, dst->offset, 0, dst->label) : 1;
}

int aloft_update_recover_fs(aloft_update_t *u, const aloft_device_t *dev)
{
    const aloft_part_t *areas[ALOFT_OTA_SLOTS_MAX + 1];
    if (u == NULL || dev == NULL || dev->flash == NULL || dev->ptable == NULL ||
        dev->crypto == NULL)
        return ALOFT_ERR_ARG;
    if (u->state == ALOFT_UPDATE_RECEIVING)
        return ALOFT_ERR_BUSY;
    memset(u, 0, sizeof *u);
    u->dev = dev;
    int n = aloft_ptable_ota_slots(dev->ptable, areas + 1, ALOFT_OTA_SLOTS_MAX);
    areas[0] = aloft_ptable_find_label(dev->ptable, ALOFT_FS_STAGE_LABEL);
    for (int i = areas[0] ? 0 : 1; i <= n; i++) {
        int r = recover_from(u, areas[i]);
        if (r != 0)
            return r;
    }
    return 0;
}

const aloft_image_info_t *aloft_update_image_info(const aloft_update_t *u)
{
    return aloft_image_info(&u->image);
}

uint32_t aloft_update_offset(const aloft_update_t *u)
{
    return u->offset;
}

uint32_t aloft_update_durable(const aloft_update_t *u)
{
    return u->state == ALOFT_UPDATE_DONE ? u->size : u->marked;
}

/* A resumable transfer of target journaled in part: 1 (and *r), 0, or an
 * error. The journal sits in the last sector whatever the image size. */
static int resume_in(const aloft_device_t *dev, const aloft_part_t *part, aloft_target_t target,
                     aloft_update_resume_t *r)
{
    uint8_t t;
    if (part == NULL || part->size < dev->flash->sector_size)
        return 0;
    uint32_t addr = part->offset + part->size - dev->flash->sector_size;
    int durable = aloft_journal_read(dev->flash, addr, &t, &r->size, r->sha256);
    if (durable <= 0 || t != target || journal_addr(dev, part, r->size) != addr)
        return durable < 0 ? durable : 0;
    r->target = target;
    r->offset = (uint32_t)durable;
    return 1;
}

int aloft_update_find_resume(const aloft_device_t *dev, aloft_target_t target,
                             aloft_update_resume_t *r)
{
    aloft_otadata_t od;
    const aloft_part_t *part = NULL;
    const char *where;
    int slot;
    if (target_partition(dev, target, NULL, &od, &part, &slot, &where) != 0)
        return 0;
    if (target != ALOFT_TARGET_FS)
        return resume_in(dev, part, target, r);
    /* Where a filesystem image may have been staged, then in place. */
    aloft_fs_slot_t stage_slot;
    const aloft_part_t *areas[3] = {aloft_ptable_find_label(dev->ptable, ALOFT_FS_STAGE_LABEL),
                                    NULL, part};
    int err = inactive_slot(dev, &od, &stage_slot);
    if (err)
        return err;
    areas[1] = stage_slot.part;
    for (int i = 0; i < 3; i++) {
        int found = resume_in(dev, areas[i], target, r);
        if (found != 0)
            return found;
    }
    return 0;
}
