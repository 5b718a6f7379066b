/*
 * lib/util.c — hex, printable text, constant-time compare and CRC-32 (see
 * aloft/util.h).
 */
#include "aloft/util.h"

void aloft_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xF];
    }
    out[2 * n] = '\0';
}

int aloft_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool aloft_unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = aloft_hex_digit(s[2 * i]), lo = aloft_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;   /* and no shift of a negative value */
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

char *aloft_printable(const void *text, size_t len, char *out, size_t n)
{
    const uint8_t *t = text;
    size_t k = 0;
    while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == '\0'))
        len--;
    for (size_t i = 0; i < len && k + 1 < n; i++)
        out[k++] = (t[i] >= 0x20 && t[i] < 0x7F) ? (char)t[i] : '?';
    if (n)
        out[k] = '\0';
    return out;
}

bool aloft_ct_equal(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
}

/* CRC-32: a 16-entry nibble table, 64 bytes of const data instead of 1 KiB,
 * and fast enough for the few bytes otadata and the journal hash. */

/* CRC of each nibble value, for the reflected polynomial 0xEDB88320. */
static const uint32_t nibble_crc[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu,
    0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t aloft_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;

    /* zlib convention: the running value is kept inverted, so chaining
     * calls works and crc = 0 starts a plain CRC-32. */
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ nibble_crc[crc & 0xFu];
        crc = (crc >> 4) ^ nibble_crc[crc & 0xFu];
    }
    return ~crc;
}
