/*
 * sim/device.c — the simulated ESP32 (see device.h).
 */
#include "device.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto_mbedtls.h"
#include "image_make.h"

static const aloft_crypto_t *crypto = &aloft_mbedtls_crypto;

/* ------------------------------------------------------------------ */
/* Output: log lines, and one status line kept at the bottom on a tty. */

static void clear_status(const sim_device_t *sim)
{
    if (sim->display.tty && !sim->display.quiet)
        fputs("\r\033[K", stdout);
}

void sim_log(sim_device_t *sim, const char *fmt, ...)
{
    va_list ap;
    if (sim->display.quiet)
        return;
    clear_status(sim);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static void log_diag(sim_device_t *sim, const char *what, const aloft_diag_t *d)
{
    char text[320];
    aloft_diag_format(d, text, sizeof text);
    sim_log(sim, "%s: %s", what, text);
}

void sim_status_line(const sim_device_t *sim, char *out, size_t n)
{
    if (!sim->booted) {
        snprintf(out, n, "[aloft-sim] not booted");
        return;
    }
    const aloft_image_info_t *info = &sim->boot.info;
    const aloft_part_t *p = sim->boot.od.slots[sim->boot.slot];
    snprintf(out, n, "[aloft-sim] %s | %s %s | %s | %s", p->label,
             info->has_desc ? info->desc.project_name : "(no app desc)",
             info->has_desc ? info->desc.version : "",
             aloft_ota_state_name(sim->boot.state),
             sim->activity[0] ? sim->activity : "idle");
}

void sim_show_status(sim_device_t *sim)
{
    char line[256];
    if (sim->display.quiet)
        return;
    sim_status_line(sim, line, sizeof line);
    if (sim->display.tty)
        printf("\r\033[K%s", line);
    else
        printf("%s\n", line);
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Creating a flash file. */

/* Bootloader offset: 0x1000 on ESP32 and ESP32-S2, 0x0 on the newer chips. */
static uint32_t bootloader_offset(uint16_t chip)
{
    return chip == ALOFT_CHIP_ESP32 || chip == ALOFT_CHIP_ESP32S2 ? 0x1000u : 0x0u;
}

static int write_region(const aloft_flash_t *f, uint32_t addr, uint32_t region,
                        const uint8_t *data, size_t len)
{
    aloft_writer_t w;
    int err = aloft_writer_begin(&w, f, addr, region, (uint32_t)len, false);
    if (!err)
        err = aloft_writer_write(&w, data, len);
    if (!err)
        err = aloft_writer_flush(&w);
    return err;
}

int sim_flash_create(const char *path, aloft_scheme_t scheme, const uint8_t *fw,
                     size_t fw_len, aloft_diag_t *diag)
{
    aloft_image_info_t info;
    aloft_ptable_t pt;
    uint8_t table[ALOFT_PT_LEN];
    nor_flash_t nor;
    int err = aloft_image_check(fw, fw_len, crypto->sha256, &info, diag);
    if (err)
        return err;
    aloft_ptable_scheme(&pt, scheme);
    const aloft_part_t *app0 = aloft_ptable_find(&pt, ALOFT_PT_TYPE_APP, ALOFT_PT_APP_OTA_0);
    if (fw_len > app0->size)
        return aloft_diag_set(diag, ALOFT_ERR_TOO_LARGE, (uint32_t)fw_len, app0->size, app0->label);
    if ((err = aloft_ptable_write(&pt, table, sizeof table, crypto->md5)) < 0)
        return err;

    /* The stand-in bootloader: a small valid image of the firmware's chip. */
    image_spec_t boot_spec = {.chip_id = info.chip_id, .project = "bootloader",
                              .version = "aloft-sim", .size = 4096};
    size_t boot_len;
    uint8_t *boot_img = image_make(&boot_spec, &boot_len);
    uint32_t boot_at = bootloader_offset(info.chip_id);

    if ((err = nor_open(&nor, path, SIM_FLASH_SIZE, true)) != 0) {
        image_free(boot_img);
        return aloft_diag_set(diag, err, 0, 0, "flash file");
    }
    const aloft_flash_t *f = &nor.flash;
    if (!(err = write_region(f, boot_at, ALOFT_PT_OFFSET - boot_at, boot_img, boot_len)) &&
        !(err = write_region(f, ALOFT_PT_OFFSET, f->sector_size, table, sizeof table)))
        err = write_region(f, app0->offset, app0->size, fw, fw_len);
    image_free(boot_img);
    nor_close(&nor);
    return err ? aloft_diag_set(diag, err, 0, 0, NULL) : ALOFT_OK;
}

/* ------------------------------------------------------------------ */
/* Running. */

/* The simulated ROM learns the chip from the bootloader's header. */
static int read_chip(const aloft_flash_t *f, uint16_t *chip)
{
    static const uint32_t offsets[] = {0x0u, 0x1000u};
    uint8_t hdr[ALOFT_IMAGE_HEADER_LEN];
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        int err = f->read(f, offsets[i], hdr, sizeof hdr);
        if (err)
            return err;
        if (hdr[0] == ALOFT_IMAGE_MAGIC) {
            *chip = (uint16_t)(hdr[12] | hdr[13] << 8);
            return ALOFT_OK;
        }
    }
    return ALOFT_ERR_NO_BOOTABLE;
}

static void on_progress(void *ctx, uint32_t done, uint32_t total)
{
    sim_device_t *sim = ctx;
    int percent = total ? (int)((uint64_t)done * 100 / total) : 100;
    const aloft_part_t *p = aloft_update_partition(&sim->update);
    const aloft_part_t *stage = aloft_update_staging(&sim->update);
    if (done == aloft_update_offset(&sim->update) && sim->update.target == ALOFT_TARGET_FS)
        sim_log(sim, stage != p ? "aloft-sim: filesystem image for %s staged in %s"
                                : "aloft-sim: writing %s in place: nowhere to stage it%s",
                p->label, stage != p ? stage->label : "");
    snprintf(sim->activity, sizeof sim->activity, "updating %s %3d%% (%u / %u KiB)",
             p ? p->label : "?", percent, (unsigned)(done / 1024), (unsigned)(total / 1024));
    /* On a pipe, a line per 10 % is enough; on a tty refresh every piece. */
    if (sim->display.tty || percent / 10 != sim->display.last_percent / 10 || done == 0) {
        sim->display.last_percent = percent;
        sim_show_status(sim);
    }
}

int sim_open(sim_device_t *sim, const char *path, const sim_config_t *cfg)
{
    sim_display_t display = sim->display;
    memset(sim, 0, sizeof *sim);
    sim->display = display;
    sim->cfg = *cfg;
    int err = nor_open_existing(&sim->nor, path);
    if (err)
        return err;
    nor_set_timing(&sim->nor, cfg->timing);
    if ((err = read_chip(&sim->nor.flash, &sim->chip_id)) != 0) {
        nor_close(&sim->nor);
        return err;
    }
    sim->dev.flash = &sim->nor.flash;
    sim->dev.crypto = crypto;
    sim->dev.chip_id = sim->chip_id;
    sim->dev.rollback = cfg->rollback;
    sim->dev.quiesce = &sim->quiesce;
    sim->dev.keys = sim->cfg.keys;
    sim->dev.nkeys = sim->cfg.nkeys;
    sim->dev.progress = on_progress;
    sim->dev.progress_ctx = sim;
    return ALOFT_OK;
}

int sim_open_scratch(sim_device_t *sim, const uint8_t *fw, size_t fw_len,
                     const sim_config_t *cfg)
{
    char path[] = "/tmp/aloft-scratch-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return ALOFT_ERR_IO;
    close(fd);
    int err = sim_flash_create(path, ALOFT_SCHEME_DEFAULT, fw, fw_len, NULL);
    sim->display.quiet = true;
    if (!err)
        err = sim_open(sim, path, cfg);
    unlink(path);
    return err ? err : sim_boot(sim, 0);
}

void sim_checkpoint(sim_device_t *sim, sim_checkpoint_t *cp, uint8_t *flash)
{
    sim->nor.touched_lo = sim->nor.touched_hi = 0;
    memcpy(flash, sim->nor.mem, sim->nor.size);
    cp->state = *sim;
    cp->flash = flash;
}

void sim_rewind(sim_device_t *sim, const sim_checkpoint_t *cp)
{
    const nor_flash_t *n = &sim->nor;
    if (cp->state.dev.flash != &sim->nor.flash)
        abort();   /* a checkpoint of another device */
    aloft_update_abort(&sim->update, ALOFT_ERR_ABORTED);   /* resumes what it paused */
    memcpy(n->mem + n->touched_lo, cp->flash + n->touched_lo, n->touched_hi - n->touched_lo);
    *sim = cp->state;
}

bool sim_changed(const sim_device_t *sim, const sim_checkpoint_t *cp, uint32_t addr,
                 uint32_t len)
{
    const nor_flash_t *n = &sim->nor;
    uint32_t lo = addr > n->touched_lo ? addr : n->touched_lo;
    uint32_t hi = addr + len < n->touched_hi ? addr + len : n->touched_hi;
    return lo < hi && memcmp(n->mem + lo, cp->flash + lo, hi - lo) != 0;
}

void sim_close(sim_device_t *sim)
{
    const nor_counters_t *c = &sim->nor.count;
    if (sim->booted)
        sim_log(sim, "aloft-sim: flash operations this run: %llu erases (%llu KiB), "
                "%llu programs (%llu KiB), %llu refused",
                (unsigned long long)c->erases, (unsigned long long)(c->erase_bytes / 1024),
                (unsigned long long)c->progs, (unsigned long long)(c->prog_bytes / 1024),
                (unsigned long long)c->faults);
    nor_close(&sim->nor);
}

static void print_banner(sim_device_t *sim)
{
    const aloft_boot_t *b = &sim->boot;
    const aloft_image_info_t *info = &b->info;
    const aloft_part_t *p = b->od.slots[b->slot];
    char hex[17];
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", info->sha256[i]);
    sim_log(sim, "aloft-sim: boot #%d: %s, %u KiB flash, %d OTA slots", sim->boots,
            aloft_chip_name(sim->chip_id), (unsigned)(sim->nor.size / 1024), b->od.nslots);
    if (b->rolled_back)
        sim_log(sim, "aloft-sim: the last update was never confirmed: rolled back (ABORTED)");
    if (b->fell_back)
        log_diag(sim, "aloft-sim: selected slot did not verify", &b->diag);
    sim_log(sim, "aloft-sim: running %s @0x%06x: %s %s (%s, IDF %s), %u bytes, sha256 %s..., state %s",
            p->label, (unsigned)p->offset,
            info->has_desc ? info->desc.project_name : "(no app description)",
            info->has_desc ? info->desc.version : "", aloft_chip_name(info->chip_id),
            info->has_desc ? info->desc.idf_ver : "?", (unsigned)info->image_len, hex,
            aloft_ota_state_name(b->state));
}

int sim_boot(sim_device_t *sim, uint64_t now_ms)
{
    /* RAM does not survive a reset: forget any session, after letting it
     * resume the app tasks it paused. */
    aloft_update_abort(&sim->update, ALOFT_ERR_ABORTED);
    memset(&sim->update, 0, sizeof sim->update);
    sim->booted = false;
    sim->activity[0] = '\0';
    sim->boots++;
    int err = aloft_boot(&sim->boot, &sim->nor.flash, crypto, sim->chip_id, sim->cfg.rollback);
    if (err) {
        aloft_diag_t d = sim->boot.diag;
        if (d.err == 0)
            aloft_diag_set(&d, err, 0, 0, NULL);
        log_diag(sim, "aloft-sim: BOOT FAILED", &d);
        return err;
    }
    sim->booted = true;
    sim->boot_ms = now_ms;
    sim->dev.ptable = &sim->boot.pt;
    sim->dev.running_slot = sim->boot.slot;
    sim->dev.running_desc = sim->boot.info.has_desc ? &sim->boot.info.desc : NULL;
    print_banner(sim);
    /* Before anything could mount the filesystem (docs/PROTOCOL.md 4.5). */
    int copied = aloft_update_recover_fs(&sim->update, &sim->dev);
    if (copied < 0)
        log_diag(sim, "aloft-sim: finishing the filesystem copy failed",
                 aloft_update_diag(&sim->update));
    else if (copied)
        sim_log(sim, "aloft-sim: finished the staged filesystem copy into %s (from byte %u of %u)",
                aloft_update_partition(&sim->update)->label,
                (unsigned)aloft_update_offset(&sim->update), (unsigned)sim->update.size);
    memset(&sim->update, 0, sizeof sim->update);
    sim_show_status(sim);
    return ALOFT_OK;
}

/* Does host:port accept a TCP connection within 200 ms? */
static bool endpoint_reachable(const char *endpoint)
{
    char host[64];
    const char *colon = strrchr(endpoint, ':');
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (colon == NULL || (size_t)(colon - endpoint) >= sizeof host)
        return false;
    memcpy(host, endpoint, (size_t)(colon - endpoint));
    host[colon - endpoint] = '\0';
    a.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    int err = 0;
    socklen_t el = sizeof err;
    struct pollfd p = {fd, POLLOUT, 0};
    bool ok = (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ||
               (errno == EINPROGRESS && poll(&p, 1, 200) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0));
    close(fd);
    return ok;
}

int sim_tick(sim_device_t *sim, uint64_t now_ms)
{
    const char *endpoint = sim->cfg.confirm_endpoint;
    if (!sim->booted || sim->cfg.confirm_after_ms < 0 ||
        sim->boot.state != ALOFT_OTA_PENDING_VERIFY ||
        now_ms - sim->boot_ms < (uint64_t)sim->cfg.confirm_after_ms)
        return 0;
    if (endpoint) {
        if (now_ms - sim->probe_ms < 1000)
            return 0;
        sim->probe_ms = now_ms;
        if (!endpoint_reachable(endpoint)) {
            sim_log(sim, "aloft-sim: health check: %s not reachable, %s stays PENDING_VERIFY",
                    endpoint, sim->boot.od.slots[sim->boot.slot]->label);
            return 0;
        }
    }
    char why[160];
    snprintf(why, sizeof why, "health check passed after %llu ms%s%s",
             (unsigned long long)(now_ms - sim->boot_ms), endpoint ? ", reached " : "",
             endpoint ? endpoint : "");
    return sim_confirm(sim, why);
}

int sim_confirm(sim_device_t *sim, const char *why)
{
    if (!sim->booted || sim->boot.state != ALOFT_OTA_PENDING_VERIFY)
        return 0;
    int err = aloft_otadata_set_state(&sim->boot.od, ALOFT_OTA_VALID);
    if (err)
        return err;
    sim->boot.state = ALOFT_OTA_VALID;
    sim_log(sim, "aloft-sim: %s: %s confirmed (VALID)", why,
            sim->boot.od.slots[sim->boot.slot]->label);
    sim_show_status(sim);
    return 1;
}

int sim_update_buffer(sim_device_t *sim, aloft_target_t target, const uint8_t *data,
                      size_t len)
{
    uint8_t sha[ALOFT_SHA256_LEN];
    aloft_update_req_t req = {.target = target, .size = (uint32_t)len, .sha256 = sha};
    const size_t piece = 1460;   /* one TCP segment, as a transport delivers */
    int err = aloft_hash_oneshot(crypto->sha256, data, len, sha);
    if (!err)
        err = aloft_update_begin(&sim->update, &sim->dev, &req);
    for (size_t off = 0; !err && off < len; off += piece)
        err = aloft_update_feed(&sim->update, data + off, len - off < piece ? len - off : piece);
    if (!err)
        err = aloft_update_finish(&sim->update);
    if (err) {
        snprintf(sim->activity, sizeof sim->activity, "update failed: %s", aloft_strerror(err));
        log_diag(sim, "aloft-sim: update failed", aloft_update_diag(&sim->update));
    } else {
        const aloft_part_t *p = aloft_update_partition(&sim->update);
        snprintf(sim->activity, sizeof sim->activity, "update done, %s ready", p->label);
        sim_log(sim, "aloft-sim: update verified and %s activated", p->label);
    }
    sim_show_status(sim);
    return err;
}
