/*
 * cli/cmd_delta.c — `aloft delta make` and `aloft delta apply`, and the
 * patch description `aloft image info` prints (docs/FORMATS.md §3). The
 * work is in host/delta_*.c; this file parses and prints.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/delta.h"
#include "aloft/util.h"
#include "aloft/wire/signature.h"
#include "cli.h"
#include "delta_host.h"
#include "fileio.h"

static const char delta_help[] =
    "usage: aloft delta make OLD NEW -o PATCH [--window-bits N] [--span N] [--fast]\n"
    "       aloft delta apply OLD PATCH -o NEW\n\n"
    "  make    write a patch that turns the app image OLD into NEW\n"
    "  apply   rebuild NEW from OLD and PATCH, as a device does, and check it\n\n"
    "Run 'aloft delta make --help' or 'aloft delta apply --help' for details.\n";

static const char make_help[] =
    "usage: aloft delta make OLD NEW -o PATCH [--window-bits N] [--span N] [--fast]\n\n"
    "Write a delta patch (docs/FORMATS.md section 3) that turns OLD, the image\n"
    "the device runs, into NEW. A signed NEW keeps its signature block in the\n"
    "patch (the device checks it on the rebuilt image); a signed OLD is\n"
    "taken without its block, as the device's slot holds it.\n\n"
    "  -o, --output PATCH   patch file to write\n"
    "  --window-bits N      zlib window 2^N bytes, 9..15 (default 12: 4 KiB,\n"
    "                       what the ESP-IDF port decodes by default); at\n"
    "                       most the device's CONFIG_ALOFT_INFLATE_WINDOW_BITS\n"
    "  --span N             new-image bytes per segment, a multiple of 65536\n"
    "                       (default: the most that keeps each segment's\n"
    "                       compressed bytes under 8 KiB, what a resume after\n"
    "                       a cut sends again; fewer segments, smaller patch)\n"
    "  --fast               zlib only: milliseconds instead of seconds, about\n"
    "                       4 % larger (the default also tries Zopfli's optimal\n"
    "                       parser; 'aloft upload --base' uses --fast)\n\n"
    "Exit status: 0 written, 1 unreadable input, 2 usage.\n";

static const char apply_help[] =
    "usage: aloft delta apply OLD PATCH -o NEW\n\n"
    "Rebuild NEW from OLD and PATCH with the decoder devices run; the result\n"
    "must have the SHA-256 the patch names (its signature block, if any, is\n"
    "appended). A patch for another OLD is refused.\n\n"
    "  -o, --output NEW   file to write\n\n"
    "Exit status: 0 written, 1 invalid patch or wrong OLD, 2 usage.\n";

/* The image as a device's slot holds it: without a trailing signature. */
static size_t plain_len(const uint8_t *p, size_t n)
{
    return n - aloft_sig_trailer_len(p, n);
}

static int fail_diag(const char *path, const aloft_diag_t *d)
{
    char msg[384];
    aloft_diag_format(d, msg, sizeof msg);
    return cli_fail("%s: %s", path, msg);
}

/* The options of make; NULL for apply, which has none of them. */
typedef struct {
    unsigned wbits;
    uint32_t span;   /* 0: the encoder's choice */
    bool fast;
} make_opts_t;

/* OLD NEW/PATCH -o OUT [--window-bits N] [--span N] [--fast] (mo NULL: no
 * such options). */
static int parse(const char *cmd, const char *help, int argc, char **argv, const char *in[2],
                 const char **out, make_opts_t *mo)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return -1;
        }
        if ((m = cli_opt(argc, argv, &i, "--output", &v)) != 0 ||
            (m = cli_opt(argc, argv, &i, "-o", &v)) != 0) {
            if (m < 0)
                return cli_usage(cmd, "-o needs a file name");
            *out = v;
        } else if (mo && (m = cli_opt(argc, argv, &i, "--window-bits", &v)) != 0) {
            uint32_t w;
            if (m < 0 || cli_parse_u32(v, false, &w) != 0 || w < ALOFT_DELTA_MIN_WBITS ||
                w > ALOFT_DELTA_MAX_WBITS)
                return cli_usage(cmd, "--window-bits takes 9..15 (got '%s')", v ? v : "");
            mo->wbits = w;
        } else if (mo && (m = cli_opt(argc, argv, &i, "--span", &v)) != 0) {
            uint32_t s;
            if (m < 0 || cli_parse_u32(v, false, &s) != 0 || s == 0 || s % ALOFT_DELTA_MARK != 0)
                return cli_usage(cmd, "--span takes a multiple of 65536 bytes (got '%s')",
                                 v ? v : "");
            mo->span = s;
        } else if (mo && strcmp(argv[i], "--fast") == 0) {
            mo->fast = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage(cmd, "unknown option '%s'", argv[i]);
        } else if (n == 2) {
            return cli_usage(cmd, "too many files ('%s')", argv[i]);
        } else {
            in[n++] = argv[i];
        }
    }
    if (n < 2)
        return cli_usage(cmd, "needs two files");
    if (*out == NULL)
        return cli_usage(cmd, "missing -o FILE");
    return 0;
}

static int delta_make_cmd(int argc, char **argv)
{
    const char *in[2] = {NULL, NULL}, *out = NULL;
    make_opts_t mo = {DELTA_DEFAULT_WBITS, 0, false};
    int r = parse("delta make", make_help, argc, argv, in, &out, &mo);
    if (r != 0)
        return r < 0 ? CLI_OK : r;
    size_t ol, nl, pl;
    uint8_t *old = read_file(in[0], &ol), *nw = NULL, *patch = NULL;
    if (old == NULL || (nw = read_file(in[1], &nl)) == NULL) {
        free(old);
        return CLI_FAIL;
    }
    size_t op = plain_len(old, ol), np = plain_len(nw, nl);
    if (op == 0 || np == 0) {
        r = cli_fail("%s is empty", op == 0 ? in[0] : in[1]);
    } else if ((r = delta_make(old, op, nw, np, nw + np, nl - np, mo.wbits, mo.span,
                               mo.fast ? DELTA_FAST : DELTA_SMALLEST, &patch, &pl)) != 0) {
        r = cli_fail("cannot make the patch: %s", aloft_strerror(r));
    } else if (write_file(out, patch, pl) != 0) {
        r = CLI_FAIL;
    } else {
        aloft_delta_header_t h;
        aloft_delta_parse_header(patch, pl, &h, NULL);
        printf("%s: %zu bytes, %.2f %% of the new image (%zu bytes), window 2^%u, "
               "%u segment%s of %u KiB\n",
               out, pl, 100.0 * (double)pl / (double)np, np, mo.wbits, h.segment_count,
               h.segment_count == 1 ? "" : "s", h.segment_span / 1024);
        r = CLI_OK;
    }
    free(old);
    free(nw);
    free(patch);
    return r;
}

static int delta_apply_cmd(int argc, char **argv)
{
    const char *in[2] = {NULL, NULL}, *out = NULL;
    int r = parse("delta apply", apply_help, argc, argv, in, &out, NULL);
    if (r != 0)
        return r < 0 ? CLI_OK : r;
    size_t ol, pl, nl;
    uint8_t *old = read_file(in[0], &ol), *patch = NULL, *nw = NULL;
    if (old == NULL || (patch = read_file(in[1], &pl)) == NULL) {
        free(old);
        return CLI_FAIL;
    }
    aloft_diag_t d;
    if (delta_apply(old, plain_len(old, ol), patch, pl, &nw, &nl, &d) != 0)
        r = fail_diag(in[1], &d);
    else if (write_file(out, nw, nl) != 0)
        r = CLI_FAIL;
    else
        printf("%s: %zu bytes, SHA-256 as the patch says\n", out, nl), r = CLI_OK;
    free(old);
    free(patch);
    free(nw);
    return r;
}

int cmd_delta(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(delta_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "make") == 0)
        return delta_make_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "apply") == 0)
        return delta_apply_cmd(argc - 1, argv + 1);
    return cli_usage("delta", "unknown subcommand '%s' (make or apply)", argv[1]);
}

bool delta_is_patch(const uint8_t *p, size_t n)
{
    return n >= 4 && memcmp(p, ALOFT_DELTA_MAGIC, 4) == 0;
}

int delta_info(const char *path, const uint8_t *p, size_t n, bool json)
{
    aloft_delta_header_t h;
    aloft_diag_t d = {0};
    char bs[65], ns[65];
    if (aloft_delta_parse_header(p, n, &h, &d) < 0)
        return fail_diag(path, &d);
    aloft_hex(h.base_sha256, 32, bs);
    aloft_hex(h.new_sha256, 32, ns);
    double ratio = 100.0 * (double)n / (double)h.new_size;
    if (json) {
        printf("{\"file\":");
        json_str(path);
        printf(",\"kind\":\"delta patch\",\"file_size\":%zu,\"window_bits\":%u,"
               "\"base_size\":%u,\"base_sha256\":\"%s\",\"new_size\":%u,\"new_sha256\":\"%s\","
               "\"signed\":%s,\"ratio_percent\":%.2f,\"segment_span\":%u,\"segments\":[",
               n, h.window_bits, h.base_size, bs, h.new_size, ns, h.sig_len ? "true" : "false",
               ratio, h.segment_span);
    } else {
        printf("file             %s\nkind             delta patch (format %u)\n", path,
               ALOFT_DELTA_VERSION);
        printf("file size        %zu (%.2f %% of the new image)\n", n, ratio);
        printf("base             %u bytes, sha256 %s\n", h.base_size, bs);
        printf("new image        %u bytes, sha256 %s\n", h.new_size, ns);
        printf("signed           %s\n", h.sig_len ? "yes (block in the header)" : "no");
        printf("zlib window      2^%u bytes\n", h.window_bits);
        printf("segments         %u of %u KiB (%u journal mark%s each)\n", h.segment_count,
               h.segment_span / 1024, h.segment_span / ALOFT_DELTA_MARK,
               h.segment_span == ALOFT_DELTA_MARK ? "" : "s");
        printf("  #  new offset   new bytes  patch offset  patch bytes\n");
    }
    for (uint32_t k = 0; k < h.segment_count; k++) {
        uint32_t comp;
        long at = aloft_delta_find_segment(p, n, &h, k, &comp, &d);
        if (at < 0) {
            if (json)
                printf("]}\n");
            return fail_diag(path, &d);
        }
        uint32_t off = k * h.segment_span, len = aloft_delta_segment_len(&h, k);
        if (json)
            printf("%s{\"new_offset\":%u,\"new_len\":%u,\"patch_offset\":%ld,\"patch_len\":%u}",
                   k ? "," : "", off, len, at, comp + ALOFT_DELTA_SEG_HDR);
        else
            printf("%3u  0x%08x  %9u  %12ld  %11u\n", k, off, len, at,
                   comp + ALOFT_DELTA_SEG_HDR);
    }
    if (json)
        printf("]}\n");
    return CLI_OK;
}
