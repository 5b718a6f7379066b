/*
 * lib/json.h — internal: a small JSON reader and writer for the agent's
 * payloads, without malloc. The reader checks a whole document once
 * (RFC 8259, nesting at most ALOFT_JSON_DEPTH deep) and then finds members
 * of an object by rescanning its span; values are spans of the caller's
 * text. Numbers are read only as unsigned 32-bit integers.
 */
#ifndef ALOFT_JSON_H
#define ALOFT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

#define ALOFT_JSON_DEPTH 8

typedef enum aloft_json_type {
    ALOFT_JSON_NONE = 0,
    ALOFT_JSON_STRING,   /* span: between the quotes, escapes kept */
    ALOFT_JSON_NUMBER,
    ALOFT_JSON_TRUE,
    ALOFT_JSON_FALSE,
    ALOFT_JSON_NULL,
    ALOFT_JSON_OBJECT,   /* span: from '{' to '}' */
    ALOFT_JSON_ARRAY,
} aloft_json_type_t;

typedef struct aloft_json {
    aloft_json_type_t type;
    const char *p;
    size_t n;
} aloft_json_t;

/* Check that p/n is one JSON value (whitespace around it allowed) and
 * describe it in *root. Returns 0 or ALOFT_ERR_PROTO. */
int aloft_json_parse(const char *p, size_t n, aloft_json_t *root);

/* The first member key of obj (an object from aloft_json_parse or a
 * member). Returns 1 with *out, 0 if there is none or obj is no object. */
int aloft_json_member(const aloft_json_t *obj, const char *key, aloft_json_t *out);

/* Element index (0-based) of arr (an array from aloft_json_parse or a
 * member). Returns 1 with *out, 0 if there is none or arr is no array. */
int aloft_json_element(const aloft_json_t *arr, size_t index, aloft_json_t *out);

/* A string value unescaped into out (NUL-terminated). Returns its length,
 * ALOFT_ERR_BUFFER if it does not fit, ALOFT_ERR_PROTO if v is no string or
 * holds \u0000 or a lone surrogate. */
int aloft_json_string(const aloft_json_t *v, char *out, size_t n);

/* A non-negative integer that fits 32 bits. Returns 0 or ALOFT_ERR_PROTO. */
int aloft_json_u32(const aloft_json_t *v, uint32_t *out);

/* Writer: s as a JSON string, quotes included. */
void aloft_json_put_str(aloft_sbuf_t *b, const char *s);
/* ,"key": (the comma unless first) */
void aloft_json_put_key(aloft_sbuf_t *b, const char *key, bool first);

#endif /* ALOFT_JSON_H */
