/* host/sign_keys.c — see sign_keys.h: loading and saving key files, signed
 * files. The keys themselves are sign_keys_mbedtls.c's (Windows:
 * win/sign_keys_bcrypt.c). */
#include "sign_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aloft/error.h"
#include "aloft/update.h"
#include "fileio.h"
#include "host_os.h"

#define PEM_MAX 1024   /* a P-256 private key PEM is about 230 bytes */

#ifdef _WIN32
/* Windows files have ACLs, not modes (a new one gets its folder's), and
 * open in text mode unless told. */
#define WRITE_FLAGS (O_WRONLY | O_CREAT | O_BINARY)
static int set_mode(int fd, mode_t mode)
{
    (void)fd;
    (void)mode;
    return 0;
}
#else
#define WRITE_FLAGS (O_WRONLY | O_CREAT)
static int set_mode(int fd, mode_t mode)
{
    return fchmod(fd, mode);
}
#endif

sign_key_t *sign_key_load(const char *path)
{
    char why[200];
    size_t len;
    uint8_t *pem = read_file(path, &len);
    sign_key_t *k;
    if (pem == NULL)
        return NULL;
    k = sign_key_parse((const char *)pem, len, why, sizeof why);
    host_wipe(pem, len);
    free(pem);
    if (k == NULL)
        fprintf(stderr, "aloft: cannot use %s as a signing key: %s\n", path, why);
    return k;
}

/* Write a new file with mode; with force an existing one is truncated and
 * given that mode. Returns 0 or -1 after printing why. */
static int write_new(const char *path, const char *data, size_t len, mode_t mode, bool force)
{
    int fd = open(path, WRITE_FLAGS | (force ? O_TRUNC : O_EXCL), mode);
    bool ok = fd >= 0 && (!force || set_mode(fd, mode) == 0);
    while (ok && len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        if (ok)
            data += w, len -= (size_t)w;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "aloft: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

int sign_key_save(const sign_key_t *k, const char *key_path, const char *pub_path, bool force)
{
    char kpem[PEM_MAX], ppem[PEM_MAX];
    const char *paths[2] = {key_path, pub_path};
    int klen, plen, rc = -1;
    if (!force) {
        for (int i = 0; i < 2; i++)
            if (access(paths[i], F_OK) == 0) {
                fprintf(stderr, "aloft: %s exists; not overwriting it (pass --force to replace "
                        "the key pair, or pick another NAME)\n", paths[i]);
                return -1;
            }
    }
    if ((klen = sign_key_pem(k, true, kpem, sizeof kpem)) < 0 ||
        (plen = sign_key_pem(k, false, ppem, sizeof ppem)) < 0) {
        fprintf(stderr, "aloft: cannot encode the key as PEM\n");
    } else if (write_new(key_path, kpem, (size_t)klen, 0600, force) == 0) {
        if (write_new(pub_path, ppem, (size_t)plen, 0644, force) == 0)
            rc = 0;
        else if (!force)
            unlink(key_path);   /* no half key pair */
    }
    host_wipe(kpem, sizeof kpem);
    return rc;
}

int pubkey_load(const char *path, aloft_pubkey_t *out)
{
    char why[200];
    size_t len;
    uint8_t *pem = read_file(path, &len);
    int rc;
    if (pem == NULL)
        return -1;
    rc = pubkey_parse((const char *)pem, len, out, why, sizeof why);
    host_wipe(pem, len);
    free(pem);
    if (rc != 0)
        fprintf(stderr, "aloft: cannot use %s as a public key: %s\n", path, why);
    return rc;
}

int sign_meta(const sign_key_t *k, aloft_signed_meta_t *meta, uint8_t *out, size_t cap)
{
    uint8_t mb[ALOFT_SIG_BLOCK_MAX], digest[32], sig[ALOFT_SIG_MAX_DER];
    size_t sig_len;
    int mlen;
    memcpy(meta->key_id, sign_key_public(k)->key_id, ALOFT_SIG_KEY_ID_LEN);
    if ((mlen = aloft_sig_meta_bytes(meta, mb, sizeof mb)) < 0)
        return mlen;
    if (aloft_hash_oneshot(host_crypto->sha256, mb, (size_t)mlen, digest) != 0 ||
        sign_digest(k, digest, sig, &sig_len) != 0)
        return ALOFT_ERR_CRYPTO;
    /* Check our own signature the way a device will, so a key file whose
     * public half does not belong to its private half is caught here. */
    if (host_crypto->ecdsa_p256_verify(host_crypto->ctx, sign_key_public(k)->point, digest,
                                       sig, sig_len) != 0) {
        fprintf(stderr, "aloft: the key's public half does not match its private half\n");
        return ALOFT_ERR_CRYPTO;
    }
    return aloft_sig_encode(meta, sig, sig_len, out, cap);
}

void sign_key_id_hex(const uint8_t id[ALOFT_SIG_KEY_ID_LEN], char out[17])
{
    for (unsigned i = 0; i < ALOFT_SIG_KEY_ID_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* ---- signed files ------------------------------------------------------- */

static bool ends_with_magic(const uint8_t *file, size_t len)
{
    return len >= 4 && memcmp(file + len - 4, ALOFT_SIG_MAGIC, 4) == 0;
}

/* aloft_image_check with the diag as "message: hint" text. */
static int check_app(const uint8_t *img, size_t len, aloft_image_info_t *info, char *msg,
                     size_t n)
{
    aloft_diag_t d;
    int rc;
    memset(&d, 0, sizeof d);
    rc = aloft_image_check(img, len, host_crypto->sha256, info, &d);
    if (rc != 0)
        aloft_diag_format(&d, msg, n);
    return rc;
}

/* *out = image + the block signing meta. */
static int append_block(const sign_key_t *k, aloft_signed_meta_t *meta, const uint8_t *img,
                        size_t img_len, uint8_t **out, size_t *out_len,
                        aloft_signed_meta_t *meta_out, char *why, size_t n)
{
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    int blen = sign_meta(k, meta, block, sizeof block);
    if (blen < 0) {
        snprintf(why, n, "signing failed: %s", aloft_strerror(blen));
        return blen;
    }
    *out = xmalloc(img_len + (size_t)blen);
    memcpy(*out, img, img_len);
    memcpy(*out + img_len, block, (size_t)blen);
    *out_len = img_len + (size_t)blen;
    if (meta_out)
        *meta_out = *meta;
    return 0;
}

/* A filesystem image: any bytes; what describes it is the signer's. */
static int sign_fs(const sign_key_t *k, const uint8_t *img, size_t img_len,
                   const sign_opts_t *opts, uint8_t **out, size_t *out_len,
                   aloft_signed_meta_t *meta_out, char *why, size_t n)
{
    aloft_signed_meta_t meta;
    const char *strs[2] = {opts->project ? opts->project : "", opts->version ? opts->version : ""};
    if (opts->have_secure_version) {
        snprintf(why, n, "--secure-version is an app image's (anti-rollback); a filesystem "
                 "image has none: drop it");
        return ALOFT_ERR_ARG;
    }
    for (int i = 0; i < 2; i++)
        if (strlen(strs[i]) > ALOFT_SIG_STR_MAX) {
            snprintf(why, n, "--%s is longer than %u bytes", i ? "version" : "project",
                     ALOFT_SIG_STR_MAX);
            return ALOFT_ERR_ARG;
        }
    if (img_len == 0 || img_len > UINT32_MAX) {
        snprintf(why, n, "a filesystem image of %zu bytes cannot be signed (1 byte to 4 GiB)",
                 img_len);
        return ALOFT_ERR_SIZE;
    }
    memset(&meta, 0, sizeof meta);
    meta.image_size = (uint32_t)img_len;
    aloft_hash_oneshot(host_crypto->sha256, img, img_len, meta.image_sha256);
    meta.chip_id = opts->chip_id;
    meta.target = ALOFT_TARGET_FS;
    memcpy(meta.project, strs[0], strlen(strs[0]));
    memcpy(meta.version, strs[1], strlen(strs[1]));
    return append_block(k, &meta, img, img_len, out, out_len, meta_out, why, n);
}

int sign_file(const sign_key_t *k, const uint8_t *file, size_t len, const sign_opts_t *opts,
              uint8_t **out, size_t *out_len, aloft_signed_meta_t *meta_out, bool *replaced,
              char *why, size_t n)
{
    static const sign_opts_t no_opts;
    aloft_image_info_t info;
    aloft_signed_meta_t meta;
    char msg[400];
    size_t old = aloft_sig_trailer_len(file, len), img_len = len - old;
    int rc;

    if (opts == NULL)
        opts = &no_opts;
    if (replaced)
        *replaced = old > 0;
    if (opts->fs)
        return sign_fs(k, file, img_len, opts, out, out_len, meta_out, why, n);
    if ((rc = check_app(file, img_len, &info, msg, sizeof msg)) != 0) {
        if (rc == ALOFT_ERR_IMG_TRAILING && ends_with_magic(file, len))
            snprintf(why, n, "it ends with a damaged signature block (its lengths or fields do "
                     "not add up); sign the original, unsigned image instead");
        else
            snprintf(why, n, "it is not a valid app image: %s (a filesystem image? sign it "
                     "with --fs --chip CHIP)", msg);
        return rc;
    }
    memset(&meta, 0, sizeof meta);
    meta.image_size = (uint32_t)img_len;   /* an image that checks out is < 16 MiB */
    aloft_hash_oneshot(host_crypto->sha256, file, img_len, meta.image_sha256);
    meta.chip_id = info.chip_id;
    meta.target = ALOFT_TARGET_APP;
    if (info.has_desc) {
        if (opts->have_secure_version && opts->secure_version != info.desc.secure_version) {
            snprintf(why, n, "--secure-version %u differs from the image's secure_version %u "
                     "(its app description): the device checks the signed value and the "
                     "bootloader the image's, so they must agree; drop --secure-version or "
                     "rebuild with CONFIG_BOOTLOADER_APP_SECURE_VERSION=%u",
                     (unsigned)opts->secure_version, (unsigned)info.desc.secure_version,
                     (unsigned)opts->secure_version);
            return ALOFT_ERR_ARG;
        }
        meta.secure_version = info.desc.secure_version;
        memcpy(meta.project, info.desc.project_name, sizeof meta.project);
        memcpy(meta.version, info.desc.version, sizeof meta.version);
    } else {
        meta.secure_version = opts->have_secure_version ? opts->secure_version : 0;
    }
    return append_block(k, &meta, file, img_len, out, out_len, meta_out, why, n);
}

static int report(sig_report_t *r, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Record err with "message: detail" in r->why. Returns err. */
static int report(sig_report_t *r, int err, const char *fmt, ...)
{
    va_list ap;
    int used = snprintf(r->why, sizeof r->why, "%s: ", aloft_strerror(err));
    va_start(ap, fmt);
    if (used > 0 && (size_t)used < sizeof r->why)
        vsnprintf(r->why + used, sizeof r->why - (size_t)used, fmt, ap);
    va_end(ap);
    return r->err = err;
}

static void sha_hex(const uint8_t *p, char out[17])
{
    sign_key_id_hex(p, out);   /* the first 8 bytes are enough to tell */
}

static int check_matches(sig_report_t *r, const uint8_t *file)
{
    const aloft_signed_meta_t *m = &r->block.meta;
    const aloft_app_desc_t *d = &r->info.desc;
    char a[17], b[17], msg[400];
    int rc;
    if (aloft_sig_check_image(m, (uint32_t)r->image_len, r->image_sha256) != 0) {
        if (m->image_size != r->image_len)
            return report(r, ALOFT_ERR_SIGNED_MISMATCH, "the signature is for a %u-byte image "
                          "but the file holds %zu bytes before the block, so it was cut or "
                          "extended after signing; sign the exact file you upload",
                          (unsigned)m->image_size, r->image_len);
        sha_hex(r->image_sha256, a);
        sha_hex(m->image_sha256, b);
        return report(r, ALOFT_ERR_SIGNED_MISMATCH, "the image was changed after signing (its "
                      "SHA-256 starts %s, the signed one %s); restore the original file or "
                      "sign the new one again", a, b);
    }
    if (m->target == ALOFT_TARGET_FS)
        return 0;   /* a filesystem image's bytes have no format to check */
    if ((rc = check_app(file, r->image_len, &r->info, msg, sizeof msg)) != 0)
        return report(r, rc, "the signed image is not a valid app image: %s", msg);
    if (m->chip_id != r->info.chip_id)
        return report(r, ALOFT_ERR_SIGNED_MISMATCH, "signed for %s but the image is for %s; "
                      "sign it again with `aloft sign`", aloft_chip_name(m->chip_id),
                      aloft_chip_name(r->info.chip_id));
    if (m->target != ALOFT_TARGET_APP)
        return report(r, ALOFT_ERR_SIGNED_MISMATCH, "signed as a data image (target %u) but "
                      "it is an app image; sign it again with `aloft sign`", m->target);
    if (r->info.has_desc && (strcmp(m->project, d->project_name) != 0 ||
                             strcmp(m->version, d->version) != 0 ||
                             m->secure_version != d->secure_version))
        return report(r, ALOFT_ERR_SIGNED_MISMATCH, "the signed project/version/secure_version "
                      "(%s %s %u) differ from the image's app description (%s %s %u); sign it "
                      "again with `aloft sign`", m->project, m->version,
                      (unsigned)m->secure_version, d->project_name, d->version,
                      (unsigned)d->secure_version);
    return 0;
}

int sign_check_file(const uint8_t *file, size_t len, const aloft_pubkey_t *keys, size_t nkeys,
                    sig_report_t *r)
{
    size_t tl = aloft_sig_trailer_len(file, len);
    char id[17], have[160];
    int err;

    memset(r, 0, sizeof *r);
    r->key_index = -1;
    r->image_len = len - tl;
    aloft_hash_oneshot(host_crypto->sha256, file, r->image_len, r->image_sha256);
    if (tl == 0 && ends_with_magic(file, len))
        return report(r, ALOFT_ERR_PROTO, "the signature block at the end of the file is "
                      "damaged (its lengths or fields do not add up); sign the image again");
    if (tl == 0)
        return report(r, ALOFT_ERR_UNSIGNED, "no signature block at the end of the file; sign "
                      "it with `aloft sign --key KEY.key -o OUT FILE`");
    if (aloft_sig_parse(file + r->image_len, tl, &r->block) != 0)
        return report(r, ALOFT_ERR_PROTO, "the signature block cannot be parsed");
    r->has_block = true;
    sign_key_id_hex(r->block.meta.key_id, id);

    err = aloft_sig_verify(host_crypto, &r->block, keys, nkeys);
    if (err == ALOFT_ERR_UNKNOWN_KEY) {
        size_t used = 0;
        have[0] = '\0';
        for (size_t i = 0; i < nkeys && used + 20 < sizeof have; i++) {
            char k[17];
            sign_key_id_hex(keys[i].key_id, k);
            used += (size_t)snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", k);
        }
        return report(r, err, "it was signed with key id %s, and the given key%s %s %s; pass "
                      "the matching .pub file, or sign with one of your keys", id,
                      nkeys == 1 ? "" : "s", nkeys == 1 ? "has id" : "have ids",
                      nkeys ? have : "(none)");
    }
    if (err == ALOFT_ERR_SIGNATURE)
        return report(r, err, "the signature made with key id %s does not match the signed "
                      "metadata, so the block was changed or forged after signing; sign the "
                      "original image again", id);
    if (err != 0)
        return report(r, err, "the key with id %s cannot check signatures", id);
    for (size_t i = 0; i < nkeys && r->key_index < 0; i++)
        if (aloft_sig_verify(host_crypto, &r->block, &keys[i], 1) == 0)
            r->key_index = (int)i;
    return check_matches(r, file);
}
