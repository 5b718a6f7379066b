/* lib/json.c — see json.h. */
#include "json.h"

#include <string.h>

#include "aloft/error.h"
#include "aloft/util.h"

typedef struct scan {
    const char *p;
    size_t n, i;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->i < s->n && (s->p[s->i] == ' ' || s->p[s->i] == '\t' ||
                           s->p[s->i] == '\n' || s->p[s->i] == '\r'))
        s->i++;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* What \c stands for, 0 if it is no JSON escape (\u aside). */
static char unescape(char c)
{
    switch (c) {
    case '"': case '\\': case '/': return c;
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
    }
}

/* s at the opening quote; leaves s after the closing one. */
static int scan_string(scan_t *s)
{
    s->i++;
    while (s->i < s->n) {
        unsigned char c = (unsigned char)s->p[s->i++];
        if (c == '"')
            return 0;
        if (c < 0x20)
            return ALOFT_ERR_PROTO;
        if (c != '\\')
            continue;
        if (s->i >= s->n)
            return ALOFT_ERR_PROTO;
        c = (unsigned char)s->p[s->i++];
        if (c == 'u') {
            for (int k = 0; k < 4; k++)
                if (s->i >= s->n || aloft_hex_digit(s->p[s->i++]) < 0)
                    return ALOFT_ERR_PROTO;
        } else if (unescape(c) == 0) {
            return ALOFT_ERR_PROTO;
        }
    }
    return ALOFT_ERR_PROTO;
}

static int scan_number(scan_t *s)
{
    if (s->i < s->n && s->p[s->i] == '-')
        s->i++;
    if (s->i >= s->n || !is_digit(s->p[s->i]))
        return ALOFT_ERR_PROTO;
    if (s->p[s->i] == '0')
        s->i++;
    else
        while (s->i < s->n && is_digit(s->p[s->i]))
            s->i++;
    if (s->i < s->n && s->p[s->i] == '.') {
        s->i++;
        if (s->i >= s->n || !is_digit(s->p[s->i]))
            return ALOFT_ERR_PROTO;
        while (s->i < s->n && is_digit(s->p[s->i]))
            s->i++;
    }
    if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
        s->i++;
        if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
            s->i++;
        if (s->i >= s->n || !is_digit(s->p[s->i]))
            return ALOFT_ERR_PROTO;
        while (s->i < s->n && is_digit(s->p[s->i]))
            s->i++;
    }
    return 0;
}

static int scan_word(scan_t *s, const char *w)
{
    size_t len = strlen(w);
    if (s->n - s->i < len || memcmp(s->p + s->i, w, len) != 0)
        return ALOFT_ERR_PROTO;
    s->i += len;
    return 0;
}

/* One value at s (whitespace skipped before it) into *v, if v is not NULL. */
static int scan_value(scan_t *s, int depth, aloft_json_t *v)
{
    skip_ws(s);
    if (s->i >= s->n)
        return ALOFT_ERR_PROTO;
    size_t start = s->i;
    char c = s->p[s->i];
    aloft_json_type_t type;
    int err = 0;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        type = c == '{' ? ALOFT_JSON_OBJECT : ALOFT_JSON_ARRAY;
        if (depth >= ALOFT_JSON_DEPTH)
            return ALOFT_ERR_PROTO;
        s->i++;
        skip_ws(s);
        if (s->i < s->n && s->p[s->i] == close) {
            s->i++;
        } else {
            for (;;) {
                if (type == ALOFT_JSON_OBJECT) {
                    skip_ws(s);
                    if (s->i >= s->n || s->p[s->i] != '"' || (err = scan_string(s)) != 0)
                        return ALOFT_ERR_PROTO;
                    skip_ws(s);
                    if (s->i >= s->n || s->p[s->i++] != ':')
                        return ALOFT_ERR_PROTO;
                }
                if ((err = scan_value(s, depth + 1, NULL)) != 0)
                    return err;
                skip_ws(s);
                if (s->i >= s->n)
                    return ALOFT_ERR_PROTO;
                c = s->p[s->i++];
                if (c == close)
                    break;
                if (c != ',')
                    return ALOFT_ERR_PROTO;
            }
        }
    } else if (c == '"') {
        type = ALOFT_JSON_STRING;
        err = scan_string(s);
    } else if (c == 't') {
        type = ALOFT_JSON_TRUE;
        err = scan_word(s, "true");
    } else if (c == 'f') {
        type = ALOFT_JSON_FALSE;
        err = scan_word(s, "false");
    } else if (c == 'n') {
        type = ALOFT_JSON_NULL;
        err = scan_word(s, "null");
    } else {
        type = ALOFT_JSON_NUMBER;
        err = scan_number(s);
    }
    if (type != ALOFT_JSON_OBJECT && type != ALOFT_JSON_ARRAY && err)
        return err;
    if (v) {
        v->type = type;
        v->p = s->p + start;
        v->n = s->i - start;
        if (type == ALOFT_JSON_STRING) {
            v->p++;
            v->n -= 2;
        }
    }
    return 0;
}

int aloft_json_parse(const char *p, size_t n, aloft_json_t *root)
{
    scan_t s = {p, n, 0};
    int err = scan_value(&s, 0, root);
    if (err)
        return err;
    skip_ws(&s);
    return s.i == n ? 0 : ALOFT_ERR_PROTO;
}

int aloft_json_member(const aloft_json_t *obj, const char *key, aloft_json_t *out)
{
    if (obj->type != ALOFT_JSON_OBJECT)
        return 0;
    /* The span was checked by aloft_json_parse; rescanning it with the same
     * scanner keeps this safe on spans that were not. */
    scan_t s = {obj->p, obj->n, 1};
    size_t klen = strlen(key);
    skip_ws(&s);
    if (s.i < s.n && s.p[s.i] == '}')
        return 0;
    for (;;) {
        aloft_json_t k, v;
        if (scan_value(&s, ALOFT_JSON_DEPTH - 1, &k) != 0 || k.type != ALOFT_JSON_STRING)
            return 0;
        skip_ws(&s);
        if (s.i >= s.n || s.p[s.i++] != ':' || scan_value(&s, 1, &v) != 0)
            return 0;
        if (k.n == klen && memcmp(k.p, key, klen) == 0) {
            *out = v;
            return 1;
        }
        skip_ws(&s);
        if (s.i >= s.n || s.p[s.i++] != ',')
            return 0;
    }
}

int aloft_json_element(const aloft_json_t *arr, size_t index, aloft_json_t *out)
{
    if (arr->type != ALOFT_JSON_ARRAY)
        return 0;
    scan_t s = {arr->p, arr->n, 1};
    skip_ws(&s);
    if (s.i < s.n && s.p[s.i] == ']')
        return 0;
    for (size_t k = 0;; k++) {
        aloft_json_t v;
        if (scan_value(&s, 1, &v) != 0)
            return 0;
        if (k == index) {
            *out = v;
            return 1;
        }
        skip_ws(&s);
        if (s.i >= s.n || s.p[s.i++] != ',')
            return 0;
    }
}

static void put_utf8(aloft_sbuf_t *b, uint32_t cp)
{
    if (cp < 0x80) {
        aloft_sbuf_char(b, (char)cp);
    } else if (cp < 0x800) {
        aloft_sbuf_char(b, (char)(0xC0 | cp >> 6));
        aloft_sbuf_char(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        aloft_sbuf_char(b, (char)(0xE0 | cp >> 12));
        aloft_sbuf_char(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        aloft_sbuf_char(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        aloft_sbuf_char(b, (char)(0xF0 | cp >> 18));
        aloft_sbuf_char(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        aloft_sbuf_char(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        aloft_sbuf_char(b, (char)(0x80 | (cp & 0x3F)));
    }
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 4 | (uint32_t)aloft_hex_digit(p[k]);
    return v;
}

int aloft_json_string(const aloft_json_t *v, char *out, size_t n)
{
    aloft_sbuf_t b;
    if (v->type != ALOFT_JSON_STRING || n == 0)
        return v->type != ALOFT_JSON_STRING ? ALOFT_ERR_PROTO : ALOFT_ERR_BUFFER;
    aloft_sbuf_init(&b, out, n);
    for (size_t i = 0; i < v->n; i++) {
        char c = v->p[i];
        if (c != '\\') {
            aloft_sbuf_char(&b, c);
            continue;
        }
        if (++i >= v->n)
            return ALOFT_ERR_PROTO;
        c = v->p[i];
        if (c != 'u') {
            char e = unescape(c);
            if (e == 0)
                return ALOFT_ERR_PROTO;
            aloft_sbuf_char(&b, e);
            continue;
        }
        if (v->n - i < 5)
            return ALOFT_ERR_PROTO;
        uint32_t cp = hex4(v->p + i + 1);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
            /* a high surrogate needs its low half right after it */
            if (v->n - i < 7 || v->p[i + 1] != '\\' || v->p[i + 2] != 'u')
                return ALOFT_ERR_PROTO;
            uint32_t lo = hex4(v->p + i + 3);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return ALOFT_ERR_PROTO;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        } else if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
            return ALOFT_ERR_PROTO;
        }
        put_utf8(&b, cp);
    }
    if (!aloft_sbuf_fits(&b))
        return ALOFT_ERR_BUFFER;
    /* a raw NUL cannot be in a checked string (control character) */
    return (int)b.len;
}

int aloft_json_u32(const aloft_json_t *v, uint32_t *out)
{
    uint64_t x = 0;
    if (v->type != ALOFT_JSON_NUMBER || v->n == 0 || v->n > 10)
        return ALOFT_ERR_PROTO;
    for (size_t i = 0; i < v->n; i++) {
        if (!is_digit(v->p[i]))
            return ALOFT_ERR_PROTO;
        x = x * 10 + (uint64_t)(v->p[i] - '0');
    }
    if (x > UINT32_MAX)
        return ALOFT_ERR_PROTO;
    *out = (uint32_t)x;
    return 0;
}

void aloft_json_put_str(aloft_sbuf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    aloft_sbuf_char(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            aloft_sbuf_char(b, '\\');
            aloft_sbuf_char(b, (char)c);
        } else if (c < 0x20) {
            aloft_sbuf_str(b, "\\u00");
            aloft_sbuf_char(b, hex[c >> 4]);
            aloft_sbuf_char(b, hex[c & 0xF]);
        } else {
            aloft_sbuf_char(b, (char)c);
        }
    }
    aloft_sbuf_char(b, '"');
}

void aloft_json_put_key(aloft_sbuf_t *b, const char *key, bool first)
{
    if (!first)
        aloft_sbuf_char(b, ',');
    aloft_json_put_str(b, key);
    aloft_sbuf_char(b, ':');
}
