/*
 * cli/upload_base.c — `aloft upload --base`: make the delta patch from the
 * image the device runs. A directory of earlier builds is searched for the
 * file whose SHA-256 the device's HELLO reports (one extra connection that
 * only reads the HELLO); when none matches, or the device takes no
 * patches, one line says so and the full image goes.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aloft/wire/signature.h"
#include "cli.h"
#include "delta_host.h"
#include "fileio.h"
#include "upload.h"

static void say_full(const upload_args_t *a, const char *why)
{
    if (!a->json)
        printf("sending the full image: %s\n", why);
}

/* The file in dir whose image (signature block cut off) has this size and
 * SHA-256, read into *out; NULL if none. */
static uint8_t *find_base(const char *dir, uint32_t size, const uint8_t sha[32], size_t *out,
                          char *path, size_t path_n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint8_t *hit = NULL;
    while (d && hit == NULL && (e = readdir(d)) != NULL) {
        struct stat st;
        uint8_t got[32];
        snprintf(path, path_n, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < size)
            continue;
        size_t len;
        uint8_t *p = read_file(path, &len);
        if (p == NULL)
            continue;
        size_t plain = len - aloft_sig_trailer_len(p, len);
        delta_sha256(p, plain, got);
        if (plain == size && memcmp(got, sha, 32) == 0) {
            hit = p;
            *out = plain;
        } else {
            free(p);
        }
    }
    if (d)
        closedir(d);
    return hit;
}

/* The running image from a directory: ask the device which one. */
static uint8_t *base_from_dir(const upload_args_t *a, const native_peer_t *peer, size_t *len,
                              char *path, size_t path_n)
{
    static native_info_t in;
    char why[1280];
    native_info(peer, &in);
    if (!in.ok) {
        snprintf(why, sizeof why, "could not ask the device which image it runs (%s)",
                 in.error.message);
        say_full(a, why);
        return NULL;
    }
    if (!(in.hello.caps & ALOFT_CAP_DELTA)) {
        say_full(a, "the device takes no patches (no cap delta)");
        return NULL;
    }
    if (in.hello.base_size == 0) {
        say_full(a, "the device's running image did not verify, so no patch applies");
        return NULL;
    }
    uint8_t *p = find_base(a->base, in.hello.base_size, in.hello.base_sha256, len, path, path_n);
    if (p == NULL) {
        const uint8_t *s = in.hello.base_sha256;
        snprintf(why, sizeof why, "no file in %s is the image the device runs (%lu bytes, "
                 "SHA-256 %02x%02x%02x%02x...)", a->base, (unsigned long)in.hello.base_size, s[0],
                 s[1], s[2], s[3]);
        say_full(a, why);
    }
    return p;
}

int upload_base_load(const upload_args_t *a, const native_peer_t *peer, const uint8_t *img,
                     size_t len, upload_base_t *b)
{
    struct stat st;
    memset(b, 0, sizeof *b);
    b->a = a;
    b->img = img;
    b->img_len = len;
    if (stat(a->base, &st) != 0) {
        cli_fail("--base %s: no such file or directory", a->base);
        return CLI_FAIL;
    }
    if (S_ISDIR(st.st_mode)) {
        b->base = base_from_dir(a, peer, &b->base_len, b->path, sizeof b->path);
        return CLI_OK;
    }
    if ((b->base = read_file(a->base, &b->base_len)) == NULL)
        return CLI_FAIL;
    b->base_len -= aloft_sig_trailer_len(b->base, b->base_len);
    snprintf(b->path, sizeof b->path, "%s", a->base);
    return CLI_OK;
}

void upload_base_make(upload_base_t *b)
{
    const uint8_t *img = b->img;
    size_t len = b->img_len;
    const upload_args_t *a = b->a;
    const uint8_t *sig = a->sig_block_len ? a->sig_block : NULL;
    if (b->base == NULL)
        return;   /* the directory held no base: said already */
    int err = b->base_len ? delta_make(b->base, b->base_len, img, len, sig, a->sig_block_len,
                                       DELTA_DEFAULT_WBITS, 0, DELTA_FAST, &b->patch, &b->patch_len)
                          : ALOFT_ERR_SIZE;
    free(b->base);
    b->base = NULL;
    if (err) {
        char why[1280];
        snprintf(why, sizeof why, "no patch from %s (%s)", b->path, aloft_strerror(err));
        say_full(a, why);
        b->patch = NULL;
        b->patch_len = 0;
        return;
    }
    if (!a->json)
        printf("made a delta patch from %s: %zu bytes (%.1f %% of the image)\n", b->path,
               b->patch_len, 100.0 * (double)b->patch_len / (double)len);
}

void upload_base_end(upload_base_t *b)
{
    free(b->base);
    free(b->patch);
    memset(b, 0, sizeof *b);
}
