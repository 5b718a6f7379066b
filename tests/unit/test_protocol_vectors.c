/*
 * tests/unit/test_protocol_vectors.c — docs/PROTOCOL.md §2 checked against
 * the code, read from the document itself so that the two cannot drift:
 *  - every ```vector block of §2.11: frames decoded and re-encoded byte for
 *    byte by lib/native_codec.c (keyed ones with their MAC, which must fail
 *    for another seq, direction or a flipped bit), the login and the
 *    open-device key schedule recomputed with lib/native_auth.c;
 *  - the error table of §2.10 against include/aloft/error.h (every code,
 *    its name) and aloft_strerror (the ERROR text);
 *  - the timeout tables of §2.8 against the constants they name;
 *  - every ```transcript block of §2.12 replayed (keys derived, every MAC,
 *    DATA offset, the window and END checked, ending in RESULT).
 * `test_protocol_vectors FILE` checks FILE as one transcript instead
 * (tests/integration/test_native_peer.sh: the Python peer's sessions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/error.h"
#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "aloft/util.h"
#include "aloft/wire/native.h"
#include "crypto_mbedtls.h"
#include "native_host.h"

static const aloft_crypto_t *C = &aloft_mbedtls_crypto;
static const char *transcript_file;   /* argv[1]: check this file only */

/* ---- reading files and lines ------------------------------------------ */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static char *source_file(const char *rel)
{
    const char *dir = getenv("ALOFT_SOURCE_DIR");
    char path[1024];
    if (dir == NULL) {
        fprintf(stderr, "ALOFT_SOURCE_DIR is not set (CTest sets it)\n");
        fail();
    }
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return read_file(path);
}

/* A file's lines, split in place. */
typedef struct {
    char *text;
    char **line;
    int n;
} lines_t;

static void split_lines(char *text, lines_t *l)
{
    int cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == '\n';
    l->text = text;
    l->line = malloc(sizeof *l->line * (size_t)cap);
    assert_non_null(l->line);
    l->n = 0;
    for (char *p = text; *p;) {
        l->line[l->n++] = p;
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

static void load_lines(const char *rel, lines_t *l)
{
    split_lines(source_file(rel), l);
}

static void free_lines(lines_t *l)
{
    free(l->line);
    free(l->text);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Hex (spaces ignored) into out; returns the byte count, fails the test on
 * anything else. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap, const char *what)
{
    size_t n = 0;
    int half = -1;
    for (const char *c = hex; *c; c++) {
        int v = 0;
        if (*c == ' ' || *c == '\t')
            continue;
        if (*c >= '0' && *c <= '9')
            v = *c - '0';
        else if (*c >= 'a' && *c <= 'f')
            v = *c - 'a' + 10;
        else {
            fprintf(stderr, "%s: '%c' is not lowercase hex\n", what, *c);
            fail();
        }
        if (half < 0) {
            half = v;
            continue;
        }
        if (n == cap) {
            fprintf(stderr, "%s: more than %zu bytes\n", what, cap);
            fail();
        }
        out[n++] = (uint8_t)(half << 4 | v);
        half = -1;
    }
    if (half >= 0) {
        fprintf(stderr, "%s: odd number of hex digits\n", what);
        fail();
    }
    return n;
}

/* Byte for byte, with the name of the vector when they differ. */
static void expect_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
    if (memcmp(got, want, n) != 0) {
        char g[2 * ALOFT_NATIVE_FRAME_MAX + 1], w[2 * ALOFT_NATIVE_FRAME_MAX + 1];
        aloft_hex(got, n, g);
        aloft_hex(want, n, w);
        fprintf(stderr, "%s:\n  computed %s\n  document %s\n", what, g, w);
        fail();
    }
}

/* ---- message type names ----------------------------------------------- */

static const struct {
    const char *name;
    uint8_t type;
} TYPES[] = {
    {"HELLO", ALOFT_MSG_HELLO},   {"AUTH", ALOFT_MSG_AUTH},     {"AUTH_OK", ALOFT_MSG_AUTH_OK},
    {"ERROR", ALOFT_MSG_ERROR},   {"OFFER", ALOFT_MSG_OFFER},   {"ACCEPT", ALOFT_MSG_ACCEPT},
    {"DATA", ALOFT_MSG_DATA},     {"ACK", ALOFT_MSG_ACK},       {"END", ALOFT_MSG_END},
    {"RESULT", ALOFT_MSG_RESULT}, {"ROLLBACK", ALOFT_MSG_ROLLBACK},
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

static int type_index(const char *name)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(TYPES[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- vector blocks ------------------------------------------------------ */

#define MAX_FIELDS 16
#define MAX_VECTORS 40
#define VALUE_MAX 1024

typedef struct {
    char key[24];
    char value[VALUE_MAX];
} field_t;

typedef struct {
    char kind[16], name[32];
    int line;
    field_t f[MAX_FIELDS];
    int n;
} vector_t;

static vector_t vectors[MAX_VECTORS];
static int nvectors;

static void append(char *dst, const char *text)
{
    size_t have = strlen(dst), add = strlen(text);
    assert_true(have + add + 1 < VALUE_MAX);
    if (have)
        dst[have++] = ' ';
    memcpy(dst + have, text, add + 1);
}

/* Parse every ```vector block (the lines are modified in place). */
static void parse_vectors(const lines_t *l)
{
    vector_t *v = NULL;
    nvectors = 0;
    for (int i = 0; i < l->n; i++) {
        char *line = l->line[i];
        int lineno = i + 1;
        if (v == NULL) {
            if (strcmp(trim(line), "```vector") == 0) {
                assert_true(nvectors < MAX_VECTORS);
                v = &vectors[nvectors++];
                memset(v, 0, sizeof *v);
                v->line = lineno;
            }
            continue;
        }
        bool continued = line[0] == ' ' || line[0] == '\t';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (strcmp(s, "```") == 0) {
            if (v->n == 0 || strcmp(v->f[0].key, "vector") != 0) {
                fprintf(stderr, "PROTOCOL.md:%d: a vector block must start with 'vector'\n",
                        v->line);
                fail();
            }
            if (sscanf(v->f[0].value, "%15s %31s", v->kind, v->name) < 1)
                fail();
            v = NULL;
            continue;
        }
        if (*s == '\0')
            continue;
        if (continued) {
            assert_true(v->n > 0);
            append(v->f[v->n - 1].value, s);
            continue;
        }
        assert_true(v->n < MAX_FIELDS);
        field_t *f = &v->f[v->n++];
        size_t k = strcspn(s, " \t");
        assert_true(k < sizeof f->key);
        memcpy(f->key, s, k);
        f->key[k] = '\0';
        append(f->value, trim(s + k));
    }
    assert_null(v);   /* every block is closed */
}

static const char *get(const vector_t *v, const char *key)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->f[i].key, key) == 0)
            return v->f[i].value;
    return NULL;
}

static const char *need(const vector_t *v, const char *key)
{
    const char *s = get(v, key);
    if (s == NULL) {
        fprintf(stderr, "PROTOCOL.md:%d: vector %s %s has no '%s'\n", v->line, v->kind, v->name,
                key);
        fail();
    }
    return s;
}

static size_t need_hex(const vector_t *v, const char *key, uint8_t *out, size_t cap)
{
    char what[96];
    snprintf(what, sizeof what, "vector %.15s %.31s: %.23s", v->kind, v->name, key);
    return unhex(need(v, key), out, cap, what);
}

static void need_hex32(const vector_t *v, const char *key, uint8_t out[32])
{
    assert_int_equal(need_hex(v, key, out, 32), 32);
}

/* A HELLO payload: hex, or "@name" for the payload of that frame vector. */
static size_t hello_payload(const vector_t *v, uint8_t *out, size_t cap)
{
    const char *s = need(v, "hello");
    if (s[0] != '@')
        return need_hex(v, "hello", out, cap);
    for (int i = 0; i < nvectors; i++) {
        if (strcmp(vectors[i].kind, "frame") == 0 && strcmp(vectors[i].name, s + 1) == 0) {
            uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
            size_t n = need_hex(&vectors[i], "frame", frame, sizeof frame);
            assert_true(n >= ALOFT_NATIVE_HEADER_LEN && n - ALOFT_NATIVE_HEADER_LEN <= cap);
            memcpy(out, frame + ALOFT_NATIVE_HEADER_LEN, n - ALOFT_NATIVE_HEADER_LEN);
            return n - ALOFT_NATIVE_HEADER_LEN;
        }
    }
    fprintf(stderr, "vector %s: no frame vector named %s\n", v->kind, s + 1);
    fail();
    return 0;
}

/* A frame vector: decodes, re-encodes to the same bytes, MAC as given. */
static void check_frame(const vector_t *v, unsigned *types_seen)
{
    uint8_t frame[ALOFT_NATIVE_FRAME_MAX], again[ALOFT_NATIVE_FRAME_MAX], key[32];
    uint8_t mac[ALOFT_NATIVE_MAC_LEN], input[5 + ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m;
    char what[64];
    int t = type_index(need(v, "type"));
    assert_true(t >= 0);
    *types_seen |= 1u << t;
    snprintf(what, sizeof what, "vector frame %s", v->name);
    size_t n = need_hex(v, "frame", frame, sizeof frame - ALOFT_NATIVE_MAC_LEN);
    bool keyed = get(v, "key") != NULL;
    const uint8_t *k = keyed ? key : NULL;
    char dir = 0;
    uint32_t seq = 0;
    assert_true(n >= ALOFT_NATIVE_HEADER_LEN);
    assert_int_equal(frame[0], TYPES[t].type);
    assert_int_equal(frame[2] | frame[3] << 8, n - ALOFT_NATIVE_HEADER_LEN);   /* payload only */
    if (keyed) {
        need_hex32(v, "key", key);
        dir = need(v, "dir")[0];
        assert_true(dir == 'H' || dir == 'D');
        seq = (uint32_t)strtoul(need(v, "seq"), NULL, 10);
        assert_int_equal(need_hex(v, "mac", mac, sizeof mac), ALOFT_NATIVE_MAC_LEN);
        memcpy(frame + n, mac, sizeof mac);
        if (get(v, "mac_input")) {   /* dir || seq u32 || frame */
            size_t in = need_hex(v, "mac_input", input, sizeof input);
            assert_int_equal(in, 5 + n);
            assert_int_equal(input[0], (uint8_t)dir);
            assert_int_equal(input[1] | input[2] << 8 | input[3] << 16 | (uint32_t)input[4] << 24,
                             seq);
            expect_bytes(what, input + 5, frame, n);
        }
        n += ALOFT_NATIVE_MAC_LEN;
    }
    assert_int_equal(aloft_native_frame_len(frame, n, keyed, ALOFT_NATIVE_MAX_PAYLOAD), (int)n);
    int err = aloft_native_decode(frame, n, C->sha256, k, dir, seq, &m);
    if (err) {
        fprintf(stderr, "%s does not decode: %d\n", what, err);
        fail();
    }
    assert_int_equal(m.type, TYPES[t].type);
    int len = aloft_native_encode(&m, C->sha256, k, dir, seq, again, sizeof again);
    assert_int_equal(len, (int)n);
    expect_bytes(what, again, frame, n);   /* the MAC too */
    if (!keyed)
        return;
    /* The MAC binds the sequence number, the direction and every byte. */
    assert_int_equal(aloft_native_decode(frame, n, C->sha256, k, dir, seq + 1, &m), ALOFT_ERR_INTEGRITY);
    assert_int_equal(aloft_native_decode(frame, n, C->sha256, k, dir == 'H' ? 'D' : 'H', seq, &m),
                     ALOFT_ERR_INTEGRITY);
    frame[0] ^= 0x01;   /* the header is covered */
    assert_int_equal(aloft_native_decode(frame, n, C->sha256, k, dir, seq, &m), ALOFT_ERR_INTEGRITY);
    frame[0] ^= 0x01;
    if (n > ALOFT_NATIVE_HEADER_LEN + ALOFT_NATIVE_MAC_LEN) {   /* and the payload */
        frame[n - ALOFT_NATIVE_MAC_LEN - 1] ^= 0x80;
        assert_int_equal(aloft_native_decode(frame, n, C->sha256, k, dir, seq, &m), ALOFT_ERR_INTEGRITY);
    }
}

static void check_login(const vector_t *v)
{
    uint8_t hello[ALOFT_NATIVE_MAX_PAYLOAD], nonce[32], want[32], got[32], ck[32], am[32];
    uint8_t sess[32], sig[32], sess_host[32];
    aloft_native_verifier_t ver;
    size_t hn = hello_payload(v, hello, sizeof hello);
    const char *pw = need(v, "password");
    assert_true(hn > 23 + 16);
    /* salt and iterations are the HELLO's (payload offsets 23 and 19) */
    uint32_t iterations = hello[19] | hello[20] << 8 | hello[21] << 16 | (uint32_t)hello[22] << 24;
    const uint8_t *salt = hello + 23;
    need_hex32(v, "host_nonce", nonce);
    need_hex32(v, "salted", want);
    assert_int_equal(C->pbkdf2_sha256(C->ctx, pw, strlen(pw), salt, 16, iterations, got, 32), 0);
    expect_bytes("login salted", got, want, 32);
    assert_int_equal(aloft_native_derive(C, pw, salt, iterations, &ver, ck), 0);
    need_hex32(v, "client_key", want);
    expect_bytes("login client_key", ck, want, 32);
    need_hex32(v, "stored_key", want);
    expect_bytes("login stored_key", ver.stored_key, want, 32);
    need_hex32(v, "server_key", want);
    expect_bytes("login server_key", ver.server_key, want, 32);
    assert_int_equal(aloft_native_auth_message(C->sha256, hello, hn, nonce, am), 0);
    need_hex32(v, "auth_message", want);
    expect_bytes("login auth_message", am, want, 32);
    aloft_native_client_proof(C->sha256, ck, am, got);
    need_hex32(v, "proof", want);
    expect_bytes("login proof", got, want, 32);
    assert_int_equal(aloft_native_verify_proof(C->sha256, &ver, am, got, sess, sig), 0);
    need_hex32(v, "signature", want);
    expect_bytes("login signature", sig, want, 32);
    need_hex32(v, "session_key", want);
    expect_bytes("login session_key (device)", sess, want, 32);
    assert_int_equal(aloft_native_host_keys(C->sha256, ver.server_key, ck, am, sig, sess_host), 0);
    expect_bytes("login session_key (host)", sess_host, want, 32);
}

static void check_open(const vector_t *v)
{
    static const uint8_t zero[32];
    uint8_t hello[ALOFT_NATIVE_MAX_PAYLOAD], am[32], sess[32], want[32];
    size_t hn = hello_payload(v, hello, sizeof hello);
    assert_true(hn > 5);
    assert_int_equal(hello[5] & ALOFT_CAP_AUTH, 0);   /* an open device's HELLO */
    assert_int_equal(aloft_native_auth_message(C->sha256, hello, hn, zero, am), 0);
    need_hex32(v, "auth_message", want);
    expect_bytes("open auth_message", am, want, 32);
    aloft_native_session_key(C->sha256, zero, am, sess);
    need_hex32(v, "session_key", want);
    expect_bytes("open session_key", sess, want, 32);
}

static void test_vectors(void **state)
{
    (void)state;
    lines_t doc;
    unsigned types = 0, frames = 0, logins = 0, opens = 0;
    load_lines("docs/PROTOCOL.md", &doc);
    parse_vectors(&doc);
    for (int i = 0; i < nvectors; i++) {
        const vector_t *v = &vectors[i];
        if (strcmp(v->kind, "frame") == 0) {
            check_frame(v, &types);
            frames++;
        } else if (strcmp(v->kind, "login") == 0) {
            check_login(v);
            logins++;
        } else if (strcmp(v->kind, "open") == 0) {
            check_open(v);
            opens++;
        } else {
            fprintf(stderr, "PROTOCOL.md:%d: unknown vector kind '%s'\n", v->line, v->kind);
            fail();
        }
    }
    /* A vector for every message type, a login and an open key schedule. */
    assert_int_equal(types, (1u << NTYPES) - 1);
    assert_true(logins >= 1 && opens >= 1);
    printf("PROTOCOL.md: %u frame, %u login, %u open-device vectors checked\n", frames, logins,
           opens);
    free_lines(&doc);
}

/* ---- the error table (§2.10) ------------------------------------------- */

#define MAX_CODES 96

typedef struct {
    int code;
    char name[40];
} code_t;

/* "ALOFT_ERR_X = -N," lines of error.h. */
static int header_codes(code_t *out)
{
    lines_t h;
    int n = 0;
    load_lines("include/aloft/error.h", &h);
    for (int i = 0; i < h.n; i++) {
        const char *line = h.line[i];
        char name[40];
        int code;
        if (sscanf(line, " %39[A-Z0-9_] = %d", name, &code) == 2 &&
            strncmp(name, "ALOFT_ERR_", 10) == 0) {
            assert_true(n < MAX_CODES);
            out[n].code = code;
            snprintf(out[n].name, sizeof out[n].name, "%s", name);
            n++;
        }
    }
    free_lines(&h);
    return n;
}

/* The lines [*first, *end) of the section under heading (up to the next
 * heading of its level or above). */
static void section(const lines_t *l, const char *heading, int *first, int *end)
{
    int i;
    for (i = 0; i < l->n && strcmp(l->line[i], heading) != 0; i++)
        ;
    if (i == l->n) {
        fprintf(stderr, "PROTOCOL.md has no '%s'\n", heading);
        fail();
    }
    *first = i + 1;
    for (i++; i < l->n && strncmp(l->line[i], "### ", 4) != 0 && strncmp(l->line[i], "## ", 3) != 0;
         i++)
        ;
    *end = i;
}

/* Split a table row "| a | b | c |" into trimmed cells. */
static int cells(char *row, char **out, int max)
{
    int n = 0;
    char *p = strchr(row, '|');
    while (p && n < max) {
        char *q = strchr(p + 1, '|');
        if (q == NULL)
            break;
        *q = '\0';
        out[n++] = trim(p + 1);
        p = q;
    }
    return n;
}

static void test_error_table(void **state)
{
    (void)state;
    code_t hdr[MAX_CODES];
    int nh = header_codes(hdr), rows = 0;
    bool seen[MAX_CODES] = {false};
    lines_t doc;
    int first, end;
    load_lines("docs/PROTOCOL.md", &doc);
    section(&doc, "### 2.10 Error codes", &first, &end);
    assert_true(nh >= 50);
    for (int k = first; k < end; k++) {
        char *line = doc.line[k], *c[6];
        if (strncmp(line, "| -", 3) != 0)
            continue;
        assert_int_equal(cells(line, c, 6), 4);
        int code = atoi(c[0]), i;
        for (i = 0; i < nh && hdr[i].code != code; i++)
            ;
        if (i == nh) {
            fprintf(stderr, "PROTOCOL.md lists %d, which error.h does not have\n", code);
            fail();
        }
        char name[48];
        snprintf(name, sizeof name, "`%s`", hdr[i].name);
        if (strcmp(c[1], name) != 0 || strcmp(c[2], aloft_strerror(code)) != 0 || seen[i]) {
            fprintf(stderr, "PROTOCOL.md row %d: '%s' '%s'; error.h/error.c: %s '%s'%s\n", code,
                    c[1], c[2], name, aloft_strerror(code), seen[i] ? " (listed twice)" : "");
            fail();
        }
        assert_true(strlen(c[3]) > 0);   /* when a device sends it */
        seen[i] = true;
        rows++;
    }
    for (int i = 0; i < nh; i++)
        if (!seen[i]) {
            fprintf(stderr, "PROTOCOL.md 2.10 lacks %d %s\n", hdr[i].code, hdr[i].name);
            fail();
        }
    assert_int_equal(rows, nh);
    /* Each message reads back as its code (hosts parse devices' error
     * lines so), which needs messages without ':'. */
    for (int i = 0; i < nh; i++) {
        const char *msg = aloft_strerror(hdr[i].code);
        assert_null(strchr(msg, ':'));
        assert_int_equal(aloft_error_from_message(msg, strlen(msg)), hdr[i].code);
    }
    assert_int_equal(aloft_error_from_message("update", 6), ALOFT_OK);
    free_lines(&doc);
}

/* ---- the timeout tables (§2.8) ----------------------------------------- */

static const struct {
    const char *name;
    unsigned long value;
    char unit;   /* 'm' milliseconds, 's' seconds, 'n' a count */
} CONSTANTS[] = {
    {"ALOFT_NATIVE_IDLE_TIMEOUT_MS", ALOFT_NATIVE_IDLE_TIMEOUT_MS, 'm'},
    {"ALOFT_NATIVE_KEEPALIVE_MS", ALOFT_NATIVE_KEEPALIVE_MS, 'm'},
    {"ALOFT_NATIVE_LOGIN_TIMEOUT_MS", ALOFT_NATIVE_LOGIN_TIMEOUT_MS, 'm'},
    {"NATIVE_HOST_CONNECT_MS", NATIVE_HOST_CONNECT_MS, 'm'},
    {"ALOFT_NATIVE_HOST_HELLO_MS", ALOFT_NATIVE_HOST_HELLO_MS, 'm'},
    {"ALOFT_NATIVE_HOST_TIMEOUT_MS", ALOFT_NATIVE_HOST_TIMEOUT_MS, 'm'},
    {"ALOFT_NATIVE_HOST_ACCEPT_MS", ALOFT_NATIVE_HOST_ACCEPT_MS, 'm'},
    {"ALOFT_NATIVE_HOST_RESULT_MS", ALOFT_NATIVE_HOST_RESULT_MS, 'm'},
    {"NATIVE_HOST_BACKOFF_MAX_S", NATIVE_HOST_BACKOFF_MAX_S, 's'},
    {"NATIVE_HOST_RETRIES", NATIVE_HOST_RETRIES, 'n'},
    {"NATIVE_HOST_BUSY_RETRIES", NATIVE_HOST_BUSY_RETRIES, 'n'},
    {"NATIVE_HOST_RESTART_MS", NATIVE_HOST_RESTART_MS, 'm'},
    {"NATIVE_HOST_BOOT_RETRY_MS", NATIVE_HOST_BOOT_RETRY_MS, 'm'},
    {"NATIVE_HOST_BOOT_MS", NATIVE_HOST_BOOT_MS, 'm'},
};

/* The numbers of a cell, with their unit ("10 s" -> 10000 ms). */
static int numbers(const char *cell, unsigned long *ms, unsigned long *plain, int max)
{
    int n = 0;
    for (const char *c = cell; *c && n < max; c++) {
        if (*c < '0' || *c > '9' || (c > cell && (c[-1] == '-' || c[-1] == '`')))
            continue;
        char *end;
        unsigned long v = strtoul(c, &end, 10);
        plain[n] = v;
        ms[n] = strncmp(end, " ms", 3) == 0 ? v : strncmp(end, " s", 2) == 0 ? v * 1000 : 0;
        n++;
        c = end - 1;
    }
    return n;
}

static void test_timeout_tables(void **state)
{
    (void)state;
    lines_t doc;
    int first, end;
    unsigned used = 0;
    load_lines("docs/PROTOCOL.md", &doc);
    section(&doc, "### 2.8 Timeouts", &first, &end);
    for (int k = first; k < end; k++) {
        char *line = doc.line[k], *c[6], name[48];
        if (line[0] != '|' || cells(line, c, 6) != 3 || c[2][0] != '`')
            continue;
        snprintf(name, sizeof name, "%.*s", (int)strlen(c[2]) - 2, c[2] + 1);
        size_t i;
        for (i = 0; i < sizeof CONSTANTS / sizeof CONSTANTS[0]; i++)
            if (strcmp(CONSTANTS[i].name, name) == 0)
                break;
        if (i == sizeof CONSTANTS / sizeof CONSTANTS[0]) {
            fprintf(stderr, "PROTOCOL.md 2.8 names %s, which this test does not know: add it\n",
                    name);
            fail();
        }
        unsigned long ms[8], plain[8];
        int n = numbers(c[1], ms, plain, 8);
        assert_true(n >= 1);
        unsigned long v = CONSTANTS[i].value;
        bool ok;
        if (CONSTANTS[i].unit == 'm') {
            ok = ms[0] == v;
        } else if (CONSTANTS[i].unit == 's') {   /* the backoff: 1, 2, 4 ... capped */
            ok = ms[n - 1] == v * 1000;
            for (int k = 0; k < n; k++)
                ok = ok && plain[k] == ((1ul << k) < v ? (1ul << k) : v);
        } else {
            ok = plain[0] == v;
        }
        if (!ok) {
            fprintf(stderr, "PROTOCOL.md 2.8: %s is '%s', the code says %lu%s\n", name, c[1], v,
                    CONSTANTS[i].unit == 'm' ? " ms" : CONSTANTS[i].unit == 's' ? " s" : "");
            fail();
        }
        used |= 1u << i;
    }
    assert_int_equal(used, (1u << (sizeof CONSTANTS / sizeof CONSTANTS[0])) - 1);
    free_lines(&doc);
}

/* ---- transcripts (§2.12) ----------------------------------------------- */

typedef struct {
    const char *where;
    int line;
    char password[128];
    bool keyed, have_hello, accepted, ended, rollback;
    uint8_t key[32], signature[32];
    uint32_t seq[2];                  /* H, D */
    uint8_t hello[ALOFT_NATIVE_MAX_PAYLOAD];
    size_t hello_len;
    aloft_native_hello_t h;
    uint32_t window;
    uint64_t sent, consumed;
    int last;                         /* type of the last frame, -1 none */
    unsigned frames;
} transcript_t;

static void tfail(const transcript_t *t, const char *why)
{
    fprintf(stderr, "%s:%d: %s\n", t->where, t->line, why);
    fail();
}

static void transcript_frame(transcript_t *t, char dir, const char *hex)
{
    static uint8_t frame[ALOFT_NATIVE_FRAME_MAX];
    aloft_native_msg_t m;
    static const uint8_t zero[32];
    uint8_t am[32];
    int d = dir == 'H' ? 0 : 1;
    size_t n = unhex(hex, frame, sizeof frame, t->where);
    if (aloft_native_frame_len(frame, n, t->keyed, ALOFT_NATIVE_MAX_PAYLOAD) != (int)n)
        tfail(t, t->keyed ? "not one whole frame with a MAC" : "not one whole frame");
    int err = aloft_native_decode(frame, n, C->sha256, t->keyed ? t->key : NULL, dir, t->seq[d],
                                  &m);
    if (err)
        tfail(t, err == ALOFT_ERR_AUTH ? "MAC check failed" : "frame does not decode");
    if (t->keyed)
        t->seq[d]++;
    t->frames++;
    t->last = m.type;
    if (t->frames == 1 && m.type != ALOFT_MSG_HELLO && m.type != ALOFT_MSG_ERROR)
        tfail(t, "the first frame is not HELLO");
    if (d == 0 && (m.type == ALOFT_MSG_HELLO || m.type == ALOFT_MSG_AUTH_OK ||
                   m.type == ALOFT_MSG_ACCEPT || m.type == ALOFT_MSG_ACK ||
                   m.type == ALOFT_MSG_RESULT))
        tfail(t, "a device message sent by the host");
    if (d == 1 && (m.type == ALOFT_MSG_AUTH || m.type == ALOFT_MSG_OFFER ||
                   m.type == ALOFT_MSG_DATA || m.type == ALOFT_MSG_END ||
                   m.type == ALOFT_MSG_ROLLBACK))
        tfail(t, "a host message sent by the device");
    switch (m.type) {
    case ALOFT_MSG_HELLO:
        t->have_hello = true;
        t->h = m.u.hello;
        t->hello_len = n - ALOFT_NATIVE_HEADER_LEN;
        memcpy(t->hello, frame + ALOFT_NATIVE_HEADER_LEN, t->hello_len);
        if (!(t->h.caps & ALOFT_CAP_AUTH)) {   /* open: keyed from here on */
            aloft_native_auth_message(C->sha256, t->hello, t->hello_len, zero, am);
            aloft_native_session_key(C->sha256, zero, am, t->key);
            t->keyed = true;
        }
        break;
    case ALOFT_MSG_AUTH: {
        aloft_native_verifier_t v;
        if (!t->have_hello || t->password[0] == '\0')
            tfail(t, "AUTH without a HELLO before it or a password line");
        assert_int_equal(aloft_native_derive(C, t->password, t->h.salt, t->h.kdf_iterations,
                                             &v, NULL), 0);
        aloft_native_auth_message(C->sha256, t->hello, t->hello_len, m.u.auth.nonce, am);
        if (aloft_native_verify_proof(C->sha256, &v, am, m.u.auth.proof, t->key, t->signature))
            tfail(t, "the AUTH proof does not verify with the password");
        break;
    }
    case ALOFT_MSG_AUTH_OK:
        if (memcmp(m.u.auth_ok_signature, t->signature, 32) != 0)
            tfail(t, "the AUTH_OK signature is not HMAC(server_key, auth_message)");
        t->keyed = true;
        break;
    case ALOFT_MSG_ACCEPT:
        t->accepted = true;
        t->window = m.u.accept.window;
        break;
    case ALOFT_MSG_DATA:
        if (!t->accepted || t->ended)
            tfail(t, "DATA outside ACCEPT..END");
        if (m.u.data.offset != t->sent)
            tfail(t, "DATA offset is not the stream bytes sent before");
        t->sent += m.u.data.len;
        if (t->sent - t->consumed > t->window)
            tfail(t, "more than the window unconsumed");
        break;
    case ALOFT_MSG_ACK:
        if (m.u.ack.consumed < t->consumed || m.u.ack.consumed > t->sent)
            tfail(t, "ACK consumed goes back or beyond what was sent");
        t->consumed = m.u.ack.consumed;
        break;
    case ALOFT_MSG_END:
        if (m.u.end.stream_len != t->sent)
            tfail(t, "END stream_len is not the stream bytes sent");
        t->ended = true;
        break;
    case ALOFT_MSG_ROLLBACK: t->rollback = true; break;
    case ALOFT_MSG_RESULT:
        if (!t->ended && !t->rollback)
            tfail(t, "RESULT before END");
        break;
    default: break;
    }
}

/* Replay the transcript in lines [first, end) of l. Returns the number of
 * frames. */
static unsigned check_transcript(const lines_t *l, int first, int end, const char *where)
{
    static transcript_t t;
    memset(&t, 0, sizeof t);
    t.where = where;
    t.last = -1;
    for (int i = first; i < end; i++) {
        char *s = trim(l->line[i]);
        t.line = i + 1;
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "password ", 9) == 0) {
            snprintf(t.password, sizeof t.password, "%s", trim(s + 9));
            continue;
        }
        if (strncmp(s, "H>D ", 4) != 0 && strncmp(s, "D>H ", 4) != 0)
            tfail(&t, "not a frame line (H>D or D>H), a password or a comment");
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        transcript_frame(&t, s[0], s + 4);
    }
    if (t.last != ALOFT_MSG_RESULT)
        tfail(&t, "the session does not end with RESULT");
    return t.frames;
}

static void test_transcripts(void **state)
{
    (void)state;
    lines_t doc;
    int start = -1;
    unsigned blocks = 0;
    load_lines("docs/PROTOCOL.md", &doc);
    for (int i = 0; i < doc.n; i++) {
        const char *s = trim(doc.line[i]);
        if (start < 0 && strcmp(s, "```transcript") == 0) {
            start = i + 1;
        } else if (start >= 0 && strcmp(s, "```") == 0) {
            check_transcript(&doc, start, i, "PROTOCOL.md");
            blocks++;
            start = -1;
        }
    }
    assert_int_equal(start, -1);   /* every block is closed */
    assert_true(blocks >= 2);      /* 2.12.1 (open) and 2.12.2 (login) are there */
    printf("PROTOCOL.md: %u transcripts checked\n", blocks);
    free_lines(&doc);
}

static void test_transcript_file(void **state)
{
    (void)state;
    lines_t l;
    split_lines(read_file(transcript_file), &l);
    unsigned frames = check_transcript(&l, 0, l.n, transcript_file);
    printf("%s: %u frames checked\n", transcript_file, frames);
    free_lines(&l);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest doc_tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_timeout_tables),
        cmocka_unit_test(test_transcripts),
    };
    const struct CMUnitTest file_tests[] = {
        cmocka_unit_test(test_transcript_file),
    };
    if (argc > 1) {
        transcript_file = argv[1];
        return cmocka_run_group_tests(file_tests, NULL, NULL);
    }
    return cmocka_run_group_tests(doc_tests, NULL, NULL);
}
