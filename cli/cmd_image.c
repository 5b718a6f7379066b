/*
 * cli/cmd_image.c — `aloft image info` and `aloft image make`.
 *
 * `info` streams the file through the same parser the device runs
 * (aloft_image_feed), so what it accepts is exactly what an update accepts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/update.h"
#include "aloft/wire/image.h"
#include "aloft/wire/signature.h"
#include "cli.h"
#include "fileio.h"
#include "host_os.h"
#include "image_make.h"
#include "sign_keys.h"

static const char image_help[] =
    "usage: aloft image info FILE [--json]\n"
    "       aloft image make --chip CHIP --project NAME --version V\n"
    "                        [--secure-version N] --size BYTES -o OUT\n\n"
    "  info   check an app image (.bin) and show what it contains\n"
    "  make   build a synthetic, valid app image (for tests and demos)\n\n"
    "Run 'aloft image info --help' or 'aloft image make --help' for details.\n";

static const char info_help[] =
    "usage: aloft image info FILE [--json]\n\n"
    "Check FILE the way the device checks an upload (header, segments,\n"
    "64 KiB mapping rule, checksum, appended SHA-256) and print the chip,\n"
    "segments, flash settings and app description. A signature block after\n"
    "the image (from 'aloft sign') is shown, not checked: use 'aloft verify'.\n"
    "A delta patch (from 'aloft delta make') is described instead: its base\n"
    "and new image (sizes, SHA-256), segments and size ratio.\n\n"
    "  --json   print one JSON object instead of text\n\n"
    "Exit status: 0 valid image, 1 invalid image or unreadable file, 2 usage.\n";

static const char make_help[] =
    "usage: aloft image make --chip CHIP --project NAME --version V\n"
    "                        [--secure-version N] [--seed N] --size BYTES -o OUT\n\n"
    "Write a synthetic ESP-IDF app image: valid header, segments that obey\n"
    "the mapping rule, app description, checksum and SHA-256. Contents are\n"
    "deterministic filler (change it with --seed).\n\n"
    "  --chip CHIP          esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c5,\n"
    "                       esp32c6, esp32c61, esp32h2, esp32p4\n"
    "  --project NAME       project_name in the app description (max 31 chars)\n"
    "  --version V          version in the app description (max 31 chars)\n"
    "  --secure-version N   anti-rollback counter (default 0)\n"
    "  --size BYTES         total size, e.g. 1048576, 0x100000, 700K, 1M\n"
    "                       (the result is within 16 bytes of it)\n"
    "  --seed N             vary the filler data (default 0)\n"
    "  -o, --output OUT     file to write\n";

/* ---- reading an image ------------------------------------------------ */

typedef struct {
    const char *path;
    uint64_t file_size;
    uint8_t file_sha256[32];
    aloft_image_t im;
    int rc;                 /* 0 valid, else the first defect */
    aloft_diag_t diag;
    uint8_t tail[ALOFT_SIG_BLOCK_MAX];   /* the file's last bytes */
    size_t tail_len;
    bool is_signed;         /* a signature block follows the image exactly */
    aloft_sig_block_t sig;  /* when is_signed; points into tail */
    bool is_fs;             /* signed as a filesystem image (target 1) */
} scan_t;

static uint32_t sat32(uint64_t v)
{
    return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v;
}

/* Keep the last ALOFT_SIG_BLOCK_MAX bytes of the file seen so far. */
static void keep_tail(scan_t *s, const uint8_t *p, size_t n)
{
    size_t cap = sizeof s->tail;
    if (n >= cap) {
        memcpy(s->tail, p + n - cap, cap);
        s->tail_len = cap;
        return;
    }
    if (s->tail_len + n > cap) {
        size_t drop = s->tail_len + n - cap;
        memmove(s->tail, s->tail + drop, s->tail_len - drop);
        s->tail_len -= drop;
    }
    memcpy(s->tail + s->tail_len, p, n);
    s->tail_len += n;
}

/* A complete image followed by exactly one signature block is signed, not
 * trailing garbage. A block with target 1 for the bytes before it makes
 * the file a signed filesystem image, whatever those bytes are. */
static void find_signature(scan_t *s)
{
    const aloft_image_info_t *info = aloft_image_info(&s->im);
    size_t tl = aloft_sig_trailer_len(s->tail, s->tail_len);
    if (tl == 0 || aloft_sig_parse(s->tail + s->tail_len - tl, tl, &s->sig) != 0)
        return;
    if (s->sig.meta.target == ALOFT_TARGET_FS && s->sig.meta.image_size == s->file_size - tl) {
        s->is_signed = s->is_fs = true;
        s->rc = 0;
        memset(&s->diag, 0, sizeof s->diag);
        return;
    }
    s->is_signed = s->rc == 0 && info->complete && s->file_size - info->image_len == tl;
}

/* Stream the file through the parser and a whole-file SHA-256. Returns 0,
 * or CLI_FAIL after printing why the file could not be read. */
static int scan_file(scan_t *s)
{
    const aloft_hash_alg_t *sha = host_crypto->sha256;
    uint8_t buf[4096];
    aloft_hash_ctx_t whole;
    size_t n, size;
    FILE *f = input_open(s->path, &size);   /* says why on stderr when it fails */
    if (f == NULL)
        return CLI_FAIL;
    aloft_hash_init(sha, &whole);
    aloft_image_init(&s->im, sha);
    /* Up to the size it had when opened: a file that grows is not followed. */
    while (s->file_size < size &&
           (n = fread(buf, 1, size - s->file_size < sizeof buf ? size - s->file_size : sizeof buf,
                      f)) > 0) {
        sha->update(&whole, buf, n);
        keep_tail(s, buf, n);
        s->file_size += n;
        if (s->rc == 0 && !aloft_image_info(&s->im)->complete) {
            int r = aloft_image_feed(&s->im, buf, n);
            s->rc = r < 0 ? r : 0;
        }
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        return cli_fail("cannot read %s: %s", s->path, strerror(e));
    }
    fclose(f);
    sha->finish(&whole, s->file_sha256);

    const aloft_image_info_t *info = aloft_image_info(&s->im);
    find_signature(s);
    if (s->is_fs)
        return CLI_OK;
    if (s->rc == 0 && info->complete && s->file_size > info->image_len && !s->is_signed)
        s->rc = aloft_diag_set(&s->diag, ALOFT_ERR_IMG_TRAILING, sat32(s->file_size),
                               info->image_len, NULL);
    else if (s->rc == 0)
        s->rc = aloft_image_finish(&s->im);
    if (s->diag.err == 0)
        s->diag = *aloft_image_diag(&s->im);
    return CLI_OK;
}

/* ---- names for header fields ----------------------------------------- */

static const char *mode_name(uint8_t m)
{
    static const char *const names[] = {"QIO", "QOUT", "DIO", "DOUT", "FAST_READ", "SLOW_READ"};
    return m < sizeof names / sizeof names[0] ? names[m] : "unknown";
}

static const char *size_name(uint8_t s)
{
    static const char *const names[] = {"1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB"};
    return s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

/* The speed nibble is a clock divider; on chips whose flash clock source
 * is 80 MHz esptool names it by frequency. */
static const char *speed_name(uint16_t chip, uint8_t v)
{
    bool mhz80 = chip == ALOFT_CHIP_ESP32 || chip == ALOFT_CHIP_ESP32S2 ||
                 chip == ALOFT_CHIP_ESP32S3 || chip == ALOFT_CHIP_ESP32C3;
    switch (v) {
    case 0x0: return mhz80 ? "40m" : "div2";
    case 0x1: return mhz80 ? "26m" : "div3";
    case 0x2: return mhz80 ? "20m" : "div4";
    case 0xF: return mhz80 ? "80m" : "div1";
    default: return "unknown";
    }
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* A segment's entry is filled once its header was parsed; data never
 * starts before offset 0x20, so 0 means "not reached". */
static unsigned segments_known(const aloft_image_info_t *in)
{
    unsigned n = 0;
    while (n < in->segment_count && n < ALOFT_IMAGE_MAX_SEGMENTS && in->segments[n].offset != 0)
        n++;
    return n;
}

static void diag_text(const scan_t *s, char *out, size_t n)
{
    aloft_diag_format(&s->diag, out, n);
}

/* ---- text output ----------------------------------------------------- */

/* Description strings come from the file: show control bytes as \xNN. */
static void print_safe(const char *label, const char *s)
{
    printf("  %-14s ", label);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7F)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('\n');
}

static void print_rev(uint16_t full)
{
    printf("v%u.%u", full / 100u, full % 100u);
}

static void print_header(const aloft_image_info_t *in)
{
    printf("chip             %s (chip id %u)\n", aloft_chip_name(in->chip_id), in->chip_id);
    printf("chip revision    min ");
    print_rev(in->min_chip_rev_full);
    printf(", max ");
    if (in->max_chip_rev_full == 0 || in->max_chip_rev_full == 0xFFFF)
        printf("any");
    else
        print_rev(in->max_chip_rev_full);
    printf("\nflash            %s, %s, %s\n", mode_name(in->spi_mode), size_name(in->spi_size),
           speed_name(in->chip_id, in->spi_speed));
    printf("entry            0x%08x\n", (unsigned)in->entry_addr);
    printf("segments         %u\n", in->segment_count);
    unsigned known = segments_known(in);
    if (known)
        printf("   #  load addr     length  offset\n");
    for (unsigned i = 0; i < known; i++) {
        const aloft_segment_info_t *sg = &in->segments[i];
        printf("  %2u  0x%08x  %8u  0x%06x%s\n", i, (unsigned)sg->load_addr,
               (unsigned)sg->data_len, (unsigned)sg->offset,
               sg->load_addr == 0 ? "  (padding)" : "");
    }
}

static void print_desc(const aloft_image_info_t *in)
{
    char elf[65];
    if (!in->have_desc)
        return;
    if (!in->has_desc) {
        printf("app description  none (legacy image)\n");
        return;
    }
    const aloft_app_desc_t *d = &in->desc;
    printf("app description\n");
    print_safe("project", d->project_name);
    print_safe("version", d->version);
    printf("  %-14s %u\n", "secure_version", (unsigned)d->secure_version);
    print_safe("idf_ver", d->idf_ver);
    print_safe("date", d->date);
    print_safe("time", d->time);
    hex(elf, d->app_elf_sha256, sizeof d->app_elf_sha256);
    printf("  %-14s %s\n", "app_elf_sha256", elf);
}

static void print_signed(const scan_t *s)
{
    char id[17];
    if (!s->is_signed) {
        printf("signed           no\n");
        return;
    }
    sign_key_id_hex(s->sig.meta.key_id, id);
    printf("signed           yes (key id %s, %zu-byte block; not checked here, "
           "use 'aloft verify')\n", id, s->sig.block_len);
}

/* A signed filesystem image: what its block says (the bytes have no
 * format aloft checks). */
static int print_fs_text(const scan_t *s)
{
    const aloft_signed_meta_t *m = &s->sig.meta;
    char sha[65];
    hex(sha, m->image_sha256, sizeof m->image_sha256);
    printf("type             filesystem image (signed as target 1)\n");
    printf("chip             %s (chip id %u)\n", aloft_chip_name(m->chip_id), m->chip_id);
    print_safe("project", m->project[0] ? m->project : "(none)");
    print_safe("version", m->version[0] ? m->version : "(none)");
    printf("image length     %u bytes\n", (unsigned)m->image_size);
    printf("image sha256     %s (signed)\n", sha);
    print_signed(s);
    return CLI_OK;
}

static int print_text(const scan_t *s)
{
    const aloft_image_info_t *in = aloft_image_info(&s->im);
    char sha[65], msg[512];
    hex(sha, s->file_sha256, sizeof s->file_sha256);
    printf("file             %s\n", s->path);
    printf("file size        %llu bytes\n", (unsigned long long)s->file_size);
    printf("file sha256      %s\n", sha);
    if (s->is_fs)
        return print_fs_text(s);
    if (in->have_header)
        print_header(in);
    else if (in->chip_id == ALOFT_CHIP_ESP8266)
        printf("chip             ESP8266\n");
    print_desc(in);
    if (in->complete) {
        printf("image length     %u bytes\n", (unsigned)in->image_len);
        printf("checksum         0x%02x (ok)\n", in->checksum);
        printf("appended sha256  %s\n", in->hash_appended ? "present (ok)" : "none");
        print_signed(s);
    }
    if (s->rc == 0) {
        printf("valid            yes\n");
        return CLI_OK;
    }
    diag_text(s, msg, sizeof msg);
    printf("valid            no: %s\n", msg);
    return cli_fail("%s: %s", s->path, msg);
}

/* ---- JSON output ----------------------------------------------------- */

static void json_key(const char *k, bool first)
{
    printf(first ? "\"%s\":" : ",\"%s\":", k);
}

static void json_header(const aloft_image_info_t *in)
{
    json_key("chip", false);
    json_str(aloft_chip_name(in->chip_id));
    printf(",\"chip_id\":%u,\"entry\":%u", in->chip_id, (unsigned)in->entry_addr);
    json_key("flash_mode", false);
    json_str(mode_name(in->spi_mode));
    json_key("flash_size", false);
    json_str(size_name(in->spi_size));
    json_key("flash_speed", false);
    json_str(speed_name(in->chip_id, in->spi_speed));
    printf(",\"min_chip_rev_full\":%u,\"max_chip_rev_full\":%u,\"hash_appended\":%s",
           in->min_chip_rev_full, in->max_chip_rev_full, in->hash_appended ? "true" : "false");
    printf(",\"segment_count\":%u,\"segments\":[", in->segment_count);
    for (unsigned i = 0, n = segments_known(in); i < n; i++)
        printf("%s{\"load_addr\":%u,\"length\":%u,\"offset\":%u}", i ? "," : "",
               (unsigned)in->segments[i].load_addr, (unsigned)in->segments[i].data_len,
               (unsigned)in->segments[i].offset);
    putchar(']');
}

static void json_desc(const aloft_image_info_t *in)
{
    char elf[65];
    const aloft_app_desc_t *d = &in->desc;
    json_key("app_desc", false);
    if (!in->has_desc) {
        printf("null");
        return;
    }
    hex(elf, d->app_elf_sha256, sizeof d->app_elf_sha256);
    putchar('{');
    json_key("project", true);
    json_str(d->project_name);
    json_key("version", false);
    json_str(d->version);
    printf(",\"secure_version\":%u", (unsigned)d->secure_version);
    json_key("idf_ver", false);
    json_str(d->idf_ver);
    json_key("date", false);
    json_str(d->date);
    json_key("time", false);
    json_str(d->time);
    printf(",\"app_elf_sha256\":\"%s\"}", elf);
}

static void json_signed(const scan_t *s)
{
    char id[17];
    json_key("signed", false);
    if (!s->is_signed) {
        printf("null");
        return;
    }
    sign_key_id_hex(s->sig.meta.key_id, id);
    printf("{\"key_id\":\"%s\",\"block_len\":%zu}", id, s->sig.block_len);
}

/* A signed filesystem image: its block's fields. */
static void json_fs(const scan_t *s)
{
    const aloft_signed_meta_t *m = &s->sig.meta;
    char sha[65];
    hex(sha, m->image_sha256, sizeof m->image_sha256);
    printf(",\"type\":\"filesystem\",\"chip\":");
    json_str(aloft_chip_name(m->chip_id));
    printf(",\"chip_id\":%u,\"project\":", m->chip_id);
    json_str(m->project);
    printf(",\"version\":");
    json_str(m->version);
    printf(",\"image_length\":%u,\"image_sha256\":\"%s\"", (unsigned)m->image_size, sha);
    json_signed(s);
}

static int print_json(const scan_t *s)
{
    const aloft_image_info_t *in = aloft_image_info(&s->im);
    char sha[65], msg[512];
    hex(sha, s->file_sha256, sizeof s->file_sha256);
    putchar('{');
    json_key("file", true);
    json_str(s->path);
    printf(",\"file_size\":%llu,\"file_sha256\":\"%s\",\"valid\":%s",
           (unsigned long long)s->file_size, sha, s->rc == 0 ? "true" : "false");
    json_key("error", false);
    if (s->rc == 0) {
        printf("null");
    } else {
        diag_text(s, msg, sizeof msg);
        printf("{\"code\":%d,\"message\":", s->rc);
        json_str(msg);
        putchar('}');
    }
    if (s->is_fs)
        json_fs(s);
    else if (in->have_header)
        json_header(in);
    else if (in->chip_id == ALOFT_CHIP_ESP8266)
        printf(",\"chip\":\"ESP8266\",\"chip_id\":null");
    if (in->have_desc && !s->is_fs)
        json_desc(in);
    if (in->complete && !s->is_fs) {
        hex(sha, in->sha256, sizeof in->sha256);
        printf(",\"image_length\":%u,\"checksum\":%u,\"image_sha256\":\"%s\"",
               (unsigned)in->image_len, in->checksum, sha);
        json_signed(s);
    }
    printf("}\n");
    if (s->rc != 0)
        return cli_fail("%s: %s", s->path, msg);
    return CLI_OK;
}

/* Does the file start like a delta patch (FORMATS.md §3)? */
static bool is_patch_file(const char *path)
{
    uint8_t head[4];
    size_t size, n = 0;
    FILE *f = input_open(path, &size);
    if (f == NULL)
        return false;   /* scan_file says why */
    n = fread(head, 1, sizeof head, f);
    fclose(f);
    return delta_is_patch(head, n);
}

static int patch_info(const char *path, bool json)
{
    size_t n;
    uint8_t *p = read_file(path, &n);
    if (p == NULL)
        return CLI_FAIL;
    int r = delta_info(path, p, n, json);
    free(p);
    return r;
}

static int image_info(int argc, char **argv)
{
    static scan_t s;   /* holds the parser (about 1 KiB) */
    bool json = false;
    memset(&s, 0, sizeof s);
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(info_help, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage("image info", "unknown option '%s'", argv[i]);
        } else if (s.path != NULL) {
            return cli_usage("image info", "one FILE at a time (got '%s' and '%s')", s.path, argv[i]);
        } else {
            s.path = argv[i];
        }
    }
    if (s.path == NULL)
        return cli_usage("image info", "missing FILE (the app .bin to check)");
    if (is_patch_file(s.path))
        return patch_info(s.path, json);
    if (scan_file(&s) != CLI_OK)
        return CLI_FAIL;
    return json ? print_json(&s) : print_text(&s);
}

/* ---- image make ------------------------------------------------------ */

typedef struct {
    image_spec_t spec;
    const char *chip, *out;
    bool have_size;
} make_args_t;

/* One option of `image make` at argv[*i]; returns 1 if consumed, 0 if not
 * an option we know, or CLI_USAGE's negation after printing the problem. */
static int make_option(make_args_t *a, int argc, char **argv, int *i)
{
    static const char *const names[] = {"--chip", "--project", "--version", "--secure-version",
                                        "--size", "--seed", "--output", "-o"};
    const char *v = NULL;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int m = cli_opt(argc, argv, i, names[k], &v);
        if (m == 0)
            continue;
        if (m < 0)
            return -cli_usage("image make", "%s needs a value", names[k]);
        switch (k) {
        case 0: a->chip = v; break;
        case 1: a->spec.project = v; break;
        case 2: a->spec.version = v; break;
        case 3:
            if (cli_parse_u32(v, false, &a->spec.secure_version) != 0)
                return -cli_usage("image make", "--secure-version '%s' is not a number", v);
            break;
        case 4:
            if (cli_parse_u32(v, true, &a->spec.size) != 0 || a->spec.size == 0)
                return -cli_usage("image make", "--size '%s' is not a size in bytes "
                                  "(e.g. 1048576, 0x100000, 700K, 1M)", v);
            a->have_size = true;
            break;
        case 5:
            if (cli_parse_u32(v, false, &a->spec.seed) != 0)
                return -cli_usage("image make", "--seed '%s' is not a number", v);
            break;
        default: a->out = v; break;
        }
        return 1;
    }
    return 0;
}

static int check_make_args(make_args_t *a)
{
    char why[200];
    if (a->chip == NULL)
        return cli_usage("image make", "--chip is required (e.g. --chip esp32)");
    if (aloft_chip_parse(a->chip, &a->spec.chip_id) != 0)
        return cli_usage("image make", "unknown chip '%s'; use esp32, esp32s2, esp32s3, "
                         "esp32c2, esp32c3, esp32c5, esp32c6, esp32c61, esp32h2 or esp32p4",
                         a->chip);
    if (a->spec.project == NULL)
        return cli_usage("image make", "--project is required (the project_name to embed)");
    if (a->spec.version == NULL)
        return cli_usage("image make", "--version is required (e.g. --version 1.2.0)");
    if (!a->have_size)
        return cli_usage("image make", "--size is required (total bytes, e.g. --size 1M)");
    if (a->out == NULL)
        return cli_usage("image make", "-o OUT is required (the file to write)");
    if (image_spec_check(&a->spec, why, sizeof why) != 0)
        return cli_usage("image make", "%s", why);
    return CLI_OK;
}

static int image_make_cmd(int argc, char **argv)
{
    make_args_t a;
    memset(&a, 0, sizeof a);
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(make_help, stdout);
            return CLI_OK;
        }
        int m = make_option(&a, argc, argv, &i);
        if (m < 0)
            return -m;
        if (m == 0)
            return cli_usage("image make", "unknown argument '%s'", argv[i]);
    }
    int rc = check_make_args(&a);
    if (rc != CLI_OK)
        return rc;

    size_t len;
    uint8_t *img = image_make(&a.spec, &len);
    if (img == NULL)
        return CLI_FAIL;
    rc = write_file(a.out, img, len) == 0 ? CLI_OK : CLI_FAIL;
    image_free(img);
    if (rc == CLI_OK)
        printf("wrote %s: %s app image, %zu bytes, project %s, version %s, secure_version %u\n",
               a.out, aloft_chip_name(a.spec.chip_id), len, a.spec.project, a.spec.version,
               (unsigned)a.spec.secure_version);
    return rc;
}

/* ---- dispatch -------------------------------------------------------- */

int cmd_image(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("image", "missing subcommand: info or make");
    if (cli_is_help(argv[1])) {
        fputs(image_help, stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "info") == 0)
        return image_info(argc - 1, argv + 1);
    if (strcmp(argv[1], "make") == 0)
        return image_make_cmd(argc - 1, argv + 1);
    return cli_usage("image", "unknown subcommand '%s' (use info or make)", argv[1]);
}
