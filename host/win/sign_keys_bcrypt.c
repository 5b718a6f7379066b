/*
 * host/win/sign_keys_bcrypt.c — the key half of sign_keys.h over Windows
 * CNG, for aloft.exe: P-256 keys are generated, imported and used through
 * bcrypt.dll; the files are the same PEM as on Linux (docs/FORMATS.md §1),
 * read and written here: SEC1 "EC PRIVATE KEY", PKCS#8 "PRIVATE KEY" (with
 * its public point, as openssl writes it) and SubjectPublicKeyInfo
 * "PUBLIC KEY".
 *
 * CNG signs with a random nonce, not RFC 6979: a signature made on Windows
 * is as valid, but signing the same file twice gives different bytes.
 */
#include "sign_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_os.h"   /* winsock2.h, which must come before windows.h */

#include <windows.h>
#include <bcrypt.h>

#include "crypto_bcrypt.h"
#include "fileio.h"

#ifndef NT_SUCCESS
#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)
#endif

struct sign_key {
    uint8_t d[32];          /* the private scalar */
    aloft_pubkey_t pub;
};

/* A CNG key blob: header, X, Y and (private blobs) d. */
typedef struct {
    BCRYPT_ECCKEY_BLOB h;
    uint8_t xyd[96];
} blob_t;

/* DER pieces of P-256 keys: the ecPublicKey and prime256v1 OIDs. */
static const uint8_t OID_EC[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t OID_P256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static BCRYPT_ALG_HANDLE ecdsa(void)
{
    static BCRYPT_ALG_HANDLE h;
    if (h == NULL && !NT_SUCCESS(BCryptOpenAlgorithmProvider(&h, BCRYPT_ECDSA_P256_ALGORITHM,
                                                             NULL, 0)))
        h = NULL;
    return h;
}

/* Fill pub from the 64 bytes X || Y; the point must be on the curve
 * (CNG's import checks). Returns 0 or -1 with why. */
static int set_public(aloft_pubkey_t *pub, const uint8_t xy[64], char *why, size_t n)
{
    blob_t b = {{BCRYPT_ECDSA_PUBLIC_P256_MAGIC, 32}, {0}};
    BCRYPT_KEY_HANDLE key = NULL;
    memcpy(b.xyd, xy, 64);
    if (ecdsa() == NULL || !NT_SUCCESS(BCryptImportKeyPair(ecdsa(), NULL, BCRYPT_ECCPUBLIC_BLOB,
                                                            &key, (PUCHAR)&b,
                                                            sizeof b.h + 64, 0))) {
        snprintf(why, n, "its public point is not on the P-256 curve");
        return -1;
    }
    BCryptDestroyKey(key);
    pub->point[0] = 0x04;
    memcpy(pub->point + 1, xy, 64);
    if (aloft_sig_key_id(host_crypto->sha256, pub->point, pub->key_id) != 0) {
        snprintf(why, n, "its public point cannot be encoded");
        return -1;
    }
    return 0;
}

void sign_key_free(sign_key_t *k)
{
    if (k == NULL)
        return;
    host_wipe(k, sizeof *k);
    free(k);
}

const aloft_pubkey_t *sign_key_public(const sign_key_t *k)
{
    return &k->pub;
}

/* The private CNG key of k; NULL when CNG refuses it. */
static BCRYPT_KEY_HANDLE private_key(const sign_key_t *k)
{
    blob_t b = {{BCRYPT_ECDSA_PRIVATE_P256_MAGIC, 32}, {0}};
    BCRYPT_KEY_HANDLE key = NULL;
    memcpy(b.xyd, k->pub.point + 1, 64);
    memcpy(b.xyd + 64, k->d, 32);
    if (ecdsa() == NULL || !NT_SUCCESS(BCryptImportKeyPair(ecdsa(), NULL, BCRYPT_ECCPRIVATE_BLOB,
                                                            &key, (PUCHAR)&b, sizeof b, 0)))
        key = NULL;
    host_wipe(&b, sizeof b);
    return key;
}

sign_key_t *sign_key_generate(void)
{
    sign_key_t *k = xmalloc(sizeof *k);
    BCRYPT_KEY_HANDLE key = NULL;
    blob_t b;
    ULONG got = 0;
    char why[64];
    bool ok = ecdsa() != NULL && NT_SUCCESS(BCryptGenerateKeyPair(ecdsa(), &key, 256, 0)) &&
              NT_SUCCESS(BCryptFinalizeKeyPair(key, 0)) &&
              NT_SUCCESS(BCryptExportKey(key, NULL, BCRYPT_ECCPRIVATE_BLOB, (PUCHAR)&b, sizeof b,
                                         &got, 0)) &&
              got == sizeof b && set_public(&k->pub, b.xyd, why, sizeof why) == 0;
    if (ok)
        memcpy(k->d, b.xyd + 64, 32);
    if (key != NULL)
        BCryptDestroyKey(key);
    host_wipe(&b, sizeof b);
    if (!ok) {
        fprintf(stderr, "aloft: key generation failed (Windows CNG)\n");
        sign_key_free(k);
        return NULL;
    }
    return k;
}

int sign_digest(const sign_key_t *k, const uint8_t digest[32], uint8_t sig[ALOFT_SIG_MAX_DER],
                size_t *sig_len)
{
    BCRYPT_KEY_HANDLE key = private_key(k);
    uint8_t rs[64];
    ULONG got = 0;
    bool ok = key != NULL && NT_SUCCESS(BCryptSignHash(key, NULL, (PUCHAR)digest, 32, rs,
                                                       sizeof rs, &got, 0)) &&
              got == sizeof rs;
    if (key != NULL)
        BCryptDestroyKey(key);
    if (!ok) {
        fprintf(stderr, "aloft: signing failed (Windows CNG)\n");
        return -1;
    }
    *sig_len = aloft_bcrypt_raw_to_der(rs, sig);
    return 0;
}

/* ---- PEM ------------------------------------------------------------------ */

static int b64_value(int c)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(a, c) : NULL;
    return p ? (int)(p - a) : -1;
}

static const char *find(const char *s, const char *e, const char *what)
{
    size_t w = strlen(what);
    for (; s + w <= e; s++)
        if (memcmp(s, what, w) == 0)
            return s;
    return NULL;
}

/* One PEM block of text[0..len): its label (n bytes) and DER (at most cap
 * bytes). "EC PARAMETERS" blocks (openssl ecparam -genkey) are skipped.
 * Returns the DER length, -1 if there is no block, -2 if it is encrypted. */
static long pem_block(const char *text, size_t len, char *label, size_t n, uint8_t *der,
                      size_t cap)
{
    const char *s = text, *e = text + len;
    for (;;) {
        const char *b = find(s, e, "-----BEGIN "), *l, *end;
        if (b == NULL)
            return -1;
        l = b + 11;
        if ((end = find(l, e, "-----")) == NULL || (size_t)(end - l) >= n)
            return -1;
        memcpy(label, l, (size_t)(end - l));
        label[end - l] = '\0';
        s = end + 5;
        if (strcmp(label, "EC PARAMETERS") != 0)
            break;
    }
    const char *stop = find(s, e, "-----END ");
    if (stop == NULL)
        return -1;
    if (find(s, stop, "ENCRYPTED") != NULL || strstr(label, "ENCRYPTED") != NULL)
        return -2;   /* Proc-Type: 4,ENCRYPTED, or PKCS#8 "ENCRYPTED PRIVATE KEY" */
    uint32_t acc = 0;
    int bits = 0;
    size_t out = 0;
    for (; s < stop && *s != '='; s++) {
        int v = b64_value((unsigned char)*s);
        if (v < 0) {
            if (*s == '\r' || *s == '\n' || *s == ' ' || *s == '\t')
                continue;
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        if ((bits += 6) >= 8) {
            if (out == cap)
                return -1;
            der[out++] = (uint8_t)(acc >> (bits -= 8));
        }
    }
    return (long)out;
}

static size_t b64_encode(const uint8_t *in, size_t len, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = a[v >> 18];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < len ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? a[v & 63] : '=';
        if ((i / 3 + 1) % 16 == 0 && i + 3 < len)
            out[o++] = '\n';   /* 64 characters a line, as openssl and mbedTLS */
    }
    return o;
}

/* ---- DER ------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *e;
} der_t;

/* The next element if its tag is tag: *in is its contents; the reader
 * moves past it. Returns 0 or -1. */
static int der_take(der_t *r, uint8_t tag, der_t *in)
{
    size_t len;
    const uint8_t *p = r->p;
    if (r->e - p < 2 || p[0] != tag)
        return -1;
    len = p[1];
    p += 2;
    if (len == 0x81 && r->e - p >= 1)
        len = *p++;
    else if (len == 0x82 && r->e - p >= 2)
        len = (size_t)p[0] << 8 | p[1], p += 2;
    else if (len >= 0x80)
        return -1;
    if ((size_t)(r->e - p) < len)
        return -1;
    in->p = p;
    in->e = p + len;
    r->p = p + len;
    return 0;
}

static bool der_is(const der_t *d, const uint8_t *want, size_t n)
{
    return (size_t)(d->e - d->p) + 2 == n && memcmp(d->p - 2, want, n) == 0;
}

/* The curve OID (an element with tag 06) says P-256; else why. */
static int check_curve(const der_t *oid, char *why, size_t n)
{
    if (der_is(oid, OID_P256, sizeof OID_P256))
        return 0;
    snprintf(why, n, "it is a key on another curve, aloft needs P-256 (prime256v1)");
    return -1;
}

/* AlgorithmIdentifier { ecPublicKey, prime256v1 }. */
static int check_algorithm(der_t *r, char *why, size_t n)
{
    der_t alg, oid, curve;
    if (der_take(r, 0x30, &alg) != 0 || der_take(&alg, 0x06, &oid) != 0)
        return snprintf(why, n, "its key type cannot be read"), -1;
    if (!der_is(&oid, OID_EC, sizeof OID_EC))
        return snprintf(why, n, "it holds a key of another type, aloft signs with ECDSA "
                        "P-256 (prime256v1)"), -1;
    if (der_take(&alg, 0x06, &curve) != 0)
        return snprintf(why, n, "its curve cannot be read"), -1;
    return check_curve(&curve, why, n);
}

/* BIT STRING 00 04 X Y into pub. */
static int take_point(der_t *bits, aloft_pubkey_t *pub, char *why, size_t n)
{
    if (bits->e - bits->p != 66 || bits->p[0] != 0 || bits->p[1] != 0x04)
        return snprintf(why, n, "its public point is not an uncompressed P-256 point"), -1;
    return set_public(pub, bits->p + 2, why, n);
}

/* SEC1 ECPrivateKey { 1, d, [0] curve, [1] point }; the curve may be
 * given outside (PKCS#8). */
static int parse_sec1(der_t r, sign_key_t *k, bool curve_known, char *why, size_t n)
{
    der_t seq, ver, d, opt, inner;
    bool have_point = false;
    if (der_take(&r, 0x30, &seq) != 0 || der_take(&seq, 0x02, &ver) != 0 ||
        ver.e - ver.p != 1 || ver.p[0] != 1 || der_take(&seq, 0x04, &d) != 0 ||
        d.e - d.p != 32)
        return snprintf(why, n, "it is not a P-256 private key"), -1;
    memcpy(k->d, d.p, 32);
    if (der_take(&seq, 0xa0, &opt) == 0) {
        if (der_take(&opt, 0x06, &inner) != 0 || check_curve(&inner, why, n) != 0)
            return snprintf(why, n, "it is a key on another curve, aloft needs P-256 "
                            "(prime256v1)"), -1;
        curve_known = true;
    }
    if (der_take(&seq, 0xa1, &opt) == 0) {
        if (der_take(&opt, 0x03, &inner) != 0 || take_point(&inner, &k->pub, why, n) != 0)
            return -1;
        have_point = true;
    }
    if (!curve_known)
        return snprintf(why, n, "it does not name its curve"), -1;
    if (!have_point)
        return snprintf(why, n, "it holds no public point (Windows cannot compute it; "
                        "write the key with openssl, which includes it)"), -1;
    return 0;
}

/* PKCS#8 PrivateKeyInfo { 0, AlgorithmIdentifier, OCTET STRING { SEC1 } }. */
static int parse_pkcs8(der_t r, sign_key_t *k, char *why, size_t n)
{
    der_t seq, ver, inner;
    if (der_take(&r, 0x30, &seq) != 0 || der_take(&seq, 0x02, &ver) != 0 ||
        ver.e - ver.p != 1 || ver.p[0] != 0)
        return snprintf(why, n, "it is not a PKCS#8 private key"), -1;
    if (check_algorithm(&seq, why, n) != 0)
        return -1;
    if (der_take(&seq, 0x04, &inner) != 0)
        return snprintf(why, n, "it is not a PKCS#8 private key"), -1;
    return parse_sec1(inner, k, true, why, n);
}

sign_key_t *sign_key_parse(const char *pem, size_t len, char *why, size_t n)
{
    uint8_t der[512];
    char label[64];
    long dl = pem_block(pem, len, label, sizeof label, der, sizeof der);
    sign_key_t *k = xmalloc(sizeof *k);
    int rc = -1;
    memset(k, 0, sizeof *k);
    der_t r = {der, der + (dl > 0 ? dl : 0)};
    if (dl == -2)
        snprintf(why, n, "it is encrypted; aloft reads unencrypted keys only "
                 "(decrypt a copy with `openssl ec -in KEY -out KEY.plain`)");
    else if (dl > 0 && strcmp(label, "PUBLIC KEY") == 0)
        snprintf(why, n, "it is a public key; signing needs the private key (the .key file)");
    else if (dl > 0 && strcmp(label, "EC PRIVATE KEY") == 0)
        rc = parse_sec1(r, k, false, why, n);
    else if (dl > 0 && strcmp(label, "PRIVATE KEY") == 0)
        rc = parse_pkcs8(r, k, why, n);
    else
        snprintf(why, n, "it is not a PEM private key (make one with `aloft keygen NAME`)");
    host_wipe(der, sizeof der);
    if (rc != 0) {
        sign_key_free(k);
        return NULL;
    }
    return k;
}

int pubkey_parse(const char *pem, size_t len, aloft_pubkey_t *out, char *why, size_t n)
{
    uint8_t der[512];
    char label[64];
    long dl = pem_block(pem, len, label, sizeof label, der, sizeof der);
    if (dl > 0 && strcmp(label, "PUBLIC KEY") == 0) {
        der_t r = {der, der + dl}, seq, bits;
        if (der_take(&r, 0x30, &seq) != 0 || check_algorithm(&seq, why, n) != 0)
            return -1;
        if (der_take(&seq, 0x03, &bits) != 0)
            return snprintf(why, n, "it is not a PEM public key"), -1;
        return take_point(&bits, out, why, n);
    }
    /* A private key file holds the public key too. */
    sign_key_t *k = sign_key_parse(pem, len, why, n);
    if (k == NULL) {
        if (dl < 0)
            snprintf(why, n, "it is not a PEM public key (the .pub file `aloft keygen` writes)");
        return -1;
    }
    *out = k->pub;
    sign_key_free(k);
    return 0;
}

int sign_key_pem(const sign_key_t *k, bool priv, char *out, size_t n)
{
    /* The DER mbedTLS writes: SEC1 with the curve and the point; SPKI. */
    static const uint8_t sec1_head[] = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20};
    static const uint8_t sec1_mid[] = {0xa0, 0x0a};
    static const uint8_t sec1_pub[] = {0xa1, 0x44, 0x03, 0x42, 0x00};
    static const uint8_t spki_head[] = {0x30, 0x59, 0x30, 0x13};
    static const uint8_t spki_bits[] = {0x03, 0x42, 0x00};
    uint8_t der[128];
    char b64[200];
    size_t dl = 0;
#define PUT(src, len) (memcpy(der + dl, (src), (len)), dl += (len))
    if (priv) {
        PUT(sec1_head, sizeof sec1_head);
        PUT(k->d, 32);
        PUT(sec1_mid, sizeof sec1_mid);
        PUT(OID_P256, sizeof OID_P256);
        PUT(sec1_pub, sizeof sec1_pub);
    } else {
        PUT(spki_head, sizeof spki_head);
        PUT(OID_EC, sizeof OID_EC);
        PUT(OID_P256, sizeof OID_P256);
        PUT(spki_bits, sizeof spki_bits);
    }
    PUT(k->pub.point, ALOFT_PUBKEY_LEN);
#undef PUT
    const char *label = priv ? "EC PRIVATE KEY" : "PUBLIC KEY";
    size_t bl = b64_encode(der, dl, b64);
    int len = snprintf(out, n, "-----BEGIN %s-----\n%.*s\n-----END %s-----\n", label, (int)bl,
                       b64, label);
    host_wipe(der, sizeof der);
    host_wipe(b64, sizeof b64);
    return len > 0 && (size_t)len < n ? len : -1;
}
