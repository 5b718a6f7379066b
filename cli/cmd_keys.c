/*
 * cli/cmd_keys.c — signed images: `aloft keygen`, `aloft sign` and
 * `aloft verify`. The work is in host/sign_keys.c (shared with the
 * tests); this file parses the command line and prints. docs/FORMATS.md
 * describes the signed-file format and the keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/error.h"
#include "aloft/update.h"
#include "aloft/wire/image.h"
#include "aloft/wire/signature.h"
#include "cli.h"
#include "fileio.h"
#include "sign_keys.h"

#define MAX_KEYS 16

static const char keygen_help[] =
    "usage: aloft keygen NAME [--force]\n\n"
    "Make an ECDSA P-256 key pair for signing firmware:\n"
    "  NAME.key   private key (PEM, mode 0600); keep it secret, sign with it\n"
    "  NAME.pub   public key (PEM); pass it to 'aloft verify' and provision it\n"
    "             on devices\n"
    "and print its key id (devices pick the key by it).\n\n"
    "  --force    replace an existing NAME.key / NAME.pub\n\n"
    "Exit status: 0 written, 1 failure (e.g. the files exist), 2 usage.\n";

static const char sign_help[] =
    "usage: aloft sign --key KEY.key [--secure-version N] -o OUT IN\n"
    "       aloft sign --key KEY.key --fs --chip CHIP [--project P] [--version V]\n"
    "                  -o OUT IN\n\n"
    "Check the app image IN and write OUT = IN + a signature block (ECDSA\n"
    "P-256, SHA-256) over its size, SHA-256, chip, project, version and\n"
    "secure_version, all taken from the image. Signing a signed file replaces\n"
    "its block. Signatures are deterministic: the same key and image give the\n"
    "same file.\n\n"
    "  --key KEY.key         private key (from 'aloft keygen', or an openssl\n"
    "                        prime256v1 key in PEM)\n"
    "  --secure-version N    for images without an app description; with one,\n"
    "                        N must equal the description's secure_version\n"
    "  --fs                  IN is a filesystem image (SPIFFS, LittleFS, FAT):\n"
    "                        signed for the chip given, its bytes as they are\n"
    "  --chip CHIP           with --fs: the devices' chip, as 'aloft image info'\n"
    "                        names it (esp32, esp32s3, ...)\n"
    "  --project P           with --fs: a device then also requires that its\n"
    "                        firmware is project P (default: none signed)\n"
    "  --version V           with --fs: shown by 'aloft verify' (default: none)\n"
    "  -o, --output OUT      signed file to write (may be IN)\n\n"
    "Exit status: 0 signed, 1 invalid image or key, 2 usage.\n";

static const char verify_help[] =
    "usage: aloft verify --key KEY.pub [--key KEY2.pub ...] [--json] FILE\n\n"
    "Check a signed file as a device does before activating it: the block at\n"
    "its end is signed by one of the keys (by key id, so old and new keys can\n"
    "be given during a rotation), and the signed size, SHA-256, chip, project,\n"
    "version and secure_version describe the image, which must be valid.\n"
    "Prints what is signed.\n\n"
    "  --key KEY.pub   public key (PEM; a private key file works too); repeat\n"
    "                  for several, the file passes if any of them verifies\n"
    "  --json          print one JSON object instead of text\n\n"
    "Exit status: 0 valid, 1 invalid (the reason is printed), 2 usage.\n";

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* Strings from a file: control bytes shown as \xNN. */
static void put_safe(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7F)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static const char *target_name(uint8_t target)
{
    return target == ALOFT_TARGET_APP ? "app" : target == ALOFT_TARGET_FS ? "filesystem"
                                                                           : "unknown";
}

static void print_meta(const aloft_signed_meta_t *m)
{
    char sha[65], id[17];
    hex(sha, m->image_sha256, sizeof m->image_sha256);
    sign_key_id_hex(m->key_id, id);
    printf("  project         ");
    put_safe(m->project[0] ? m->project : "(none)");
    printf("\n  version         ");
    put_safe(m->version[0] ? m->version : "(none)");
    printf("\n  secure_version  %u\n", (unsigned)m->secure_version);
    printf("  chip            %s (chip id %u)\n", aloft_chip_name(m->chip_id), m->chip_id);
    printf("  target          %s\n", target_name(m->target));
    printf("  image           %u bytes, sha256 %s\n", (unsigned)m->image_size, sha);
    printf("  key id          %s\n", id);
}

/* ---- keygen --------------------------------------------------------------- */

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

int cmd_keygen(int argc, char **argv)
{
    const char *name = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(keygen_help, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0) {
            force = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage("keygen", "unknown option '%s'", argv[i]);
        } else if (name != NULL) {
            return cli_usage("keygen", "one NAME at a time (got '%s' and '%s')", name, argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (name == NULL || name[0] == '\0')
        return cli_usage("keygen", "missing NAME (writes NAME.key and NAME.pub)");

    /* "release.key" means NAME "release", not release.key.key */
    size_t n = strlen(name);
    if (ends_with(name, ".key") || ends_with(name, ".pub"))
        n -= 4;
    char *key_path = xmalloc(n + 5), *pub_path = xmalloc(n + 5);
    snprintf(key_path, n + 5, "%.*s.key", (int)n, name);
    snprintf(pub_path, n + 5, "%.*s.pub", (int)n, name);

    int rc = CLI_FAIL;
    sign_key_t *k = sign_key_generate();
    if (k != NULL && sign_key_save(k, key_path, pub_path, force) == 0) {
        char id[17];
        sign_key_id_hex(sign_key_public(k)->key_id, id);
        printf("wrote %s (private key, mode 0600: keep it secret, sign with it)\n", key_path);
        printf("wrote %s (public key: provision it on devices, verify with it)\n", pub_path);
        printf("key id %s\n", id);
        rc = CLI_OK;
    }
    sign_key_free(k);
    free(key_path);
    free(pub_path);
    return rc;
}

/* ---- sign ----------------------------------------------------------------- */

int cmd_sign(int argc, char **argv)
{
    const char *key_path = NULL, *out_path = NULL, *in_path = NULL, *chip = NULL, *v;
    sign_opts_t opts;
    memset(&opts, 0, sizeof opts);
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(sign_help, stdout);
            return CLI_OK;
        } else if ((m = cli_opt(argc, argv, &i, "--key", &v)) != 0) {
            if (m < 0)
                return cli_usage("sign", "--key needs a value (the .key file)");
            key_path = v;
        } else if ((m = cli_opt(argc, argv, &i, "--secure-version", &v)) != 0) {
            if (m < 0 || cli_parse_u32(v, false, &opts.secure_version) != 0)
                return cli_usage("sign", "--secure-version needs a number");
            opts.have_secure_version = true;
        } else if (strcmp(argv[i], "--fs") == 0) {
            opts.fs = true;
        } else if ((m = cli_opt(argc, argv, &i, "--chip", &v)) != 0) {
            if (m < 0)
                return cli_usage("sign", "--chip needs a value (e.g. esp32)");
            chip = v;
        } else if ((m = cli_opt(argc, argv, &i, "--project", &v)) != 0) {
            if (m < 0)
                return cli_usage("sign", "--project needs a value");
            opts.project = v;
        } else if ((m = cli_opt(argc, argv, &i, "--version", &v)) != 0) {
            if (m < 0)
                return cli_usage("sign", "--version needs a value");
            opts.version = v;
        } else if ((m = cli_opt(argc, argv, &i, "--output", &v)) != 0 ||
                   (m = cli_opt(argc, argv, &i, "-o", &v)) != 0) {
            if (m < 0)
                return cli_usage("sign", "-o needs a value (the file to write)");
            out_path = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage("sign", "unknown option '%s'", argv[i]);
        } else if (in_path != NULL) {
            return cli_usage("sign", "one IN file at a time (got '%s' and '%s')", in_path,
                             argv[i]);
        } else {
            in_path = argv[i];
        }
    }
    if (key_path == NULL)
        return cli_usage("sign", "--key KEY.key is required (make one with 'aloft keygen NAME')");
    if (in_path == NULL)
        return cli_usage("sign", "missing IN (the app image to sign)");
    if (out_path == NULL)
        return cli_usage("sign", "-o OUT is required (the signed file to write)");
    if (!opts.fs && (chip || opts.project || opts.version))
        return cli_usage("sign", "--chip, --project and --version are for --fs: an app image "
                         "says them itself");
    if (opts.fs && chip == NULL)
        return cli_usage("sign", "--fs needs --chip CHIP (the devices' chip, e.g. esp32): a "
                         "filesystem image does not say it");
    if (opts.fs && aloft_chip_parse(chip, &opts.chip_id) != 0)
        return cli_usage("sign", "unknown chip '%s' (esp32, esp32s2, esp32s3, esp32c3, ...)",
                         chip);

    size_t len, out_len;
    uint8_t *file = read_file(in_path, &len), *out = NULL;
    if (file == NULL)
        return CLI_FAIL;
    sign_key_t *k = sign_key_load(key_path);
    if (k == NULL) {
        free(file);
        return CLI_FAIL;
    }
    aloft_signed_meta_t meta;
    bool replaced = false;
    char why[512];
    int err = sign_file(k, file, len, &opts, &out, &out_len, &meta, &replaced, why, sizeof why);
    int rc;
    if (err == ALOFT_ERR_ARG)
        rc = cli_usage("sign", "%s", why);
    else if (err != 0)
        rc = cli_fail("cannot sign %s: %s", in_path, why);
    else
        rc = write_file(out_path, out, out_len) == 0 ? CLI_OK : CLI_FAIL;
    if (rc == CLI_OK) {
        printf("signed %s -> %s (%zu bytes: image + %zu-byte signature block)\n", in_path,
               out_path, out_len, out_len - meta.image_size);
        if (replaced)
            printf("  (the old signature block of %s was replaced)\n", in_path);
        print_meta(&meta);
        if (meta.project[0] == '\0' && !opts.fs)
            printf("note: the image has no app description, so no project is signed; "
                   "devices that check the project will refuse it\n");
    }
    free(out);
    free(file);
    sign_key_free(k);
    return rc;
}

/* ---- verify --------------------------------------------------------------- */

static void json_verify(const char *path, const sig_report_t *r, const char *key_file)
{
    char sha[65], id[17];
    printf("{\"file\":");
    json_str(path);
    printf(",\"valid\":%s,\"error\":", r->err == 0 ? "true" : "false");
    if (r->err == 0) {
        printf("null");
    } else {
        printf("{\"code\":%d,\"message\":", r->err);
        json_str(r->why);
        putchar('}');
    }
    printf(",\"signed\":%s", r->has_block ? "true" : "false");
    if (r->has_block) {
        const aloft_signed_meta_t *m = &r->block.meta;
        hex(sha, m->image_sha256, sizeof m->image_sha256);
        sign_key_id_hex(m->key_id, id);
        printf(",\"block_len\":%zu,\"key_id\":\"%s\",\"key_file\":", r->block.block_len, id);
        if (key_file)
            json_str(key_file);
        else
            printf("null");
        printf(",\"project\":");
        json_str(m->project);
        printf(",\"version\":");
        json_str(m->version);
        printf(",\"secure_version\":%u,\"chip\":", (unsigned)m->secure_version);
        json_str(aloft_chip_name(m->chip_id));
        printf(",\"chip_id\":%u,\"target\":", m->chip_id);
        json_str(target_name(m->target));
        printf(",\"image_size\":%u,\"image_sha256\":\"%s\"", (unsigned)m->image_size, sha);
    }
    printf("}\n");
}

int cmd_verify(int argc, char **argv)
{
    static aloft_pubkey_t keys[MAX_KEYS];
    static sig_report_t r;
    const char *key_paths[MAX_KEYS], *path = NULL, *v;
    size_t nkeys = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            fputs(verify_help, stdout);
            return CLI_OK;
        } else if ((m = cli_opt(argc, argv, &i, "--key", &v)) != 0) {
            if (m < 0)
                return cli_usage("verify", "--key needs a value (a .pub file)");
            if (nkeys == MAX_KEYS)
                return cli_usage("verify", "at most %d --key options", MAX_KEYS);
            key_paths[nkeys++] = v;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage("verify", "unknown option '%s'", argv[i]);
        } else if (path != NULL) {
            return cli_usage("verify", "one FILE at a time (got '%s' and '%s')", path, argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (nkeys == 0)
        return cli_usage("verify", "--key KEY.pub is required (the public key(s) to trust)");
    if (path == NULL)
        return cli_usage("verify", "missing FILE (the signed image to check)");
    for (size_t i = 0; i < nkeys; i++)
        if (pubkey_load(key_paths[i], &keys[i]) != 0)
            return CLI_FAIL;

    size_t len;
    uint8_t *file = read_file(path, &len);
    if (file == NULL)
        return CLI_FAIL;
    sign_check_file(file, len, keys, nkeys, &r);
    const char *key_file = r.key_index >= 0 ? key_paths[r.key_index] : NULL;
    if (json) {
        json_verify(path, &r, key_file);
    } else if (r.err == 0) {
        char id[17];
        sign_key_id_hex(r.block.meta.key_id, id);
        printf("%s: signature valid (key id %s, %s)\n", path, id, key_file);
        print_meta(&r.block.meta);
        printf("  block           %zu bytes after the image\n", r.block.block_len);
    } else if (r.has_block) {
        printf("%s: INVALID; the block claims:\n", path);
        print_meta(&r.block.meta);
    }
    free(file);
    if (r.err != 0)
        return cli_fail("%s: %s", path, r.why);
    return CLI_OK;
}
