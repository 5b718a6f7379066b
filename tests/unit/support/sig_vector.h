/*
 * tests/unit/support/sig_vector.h — one ECDSA P-256 signature made with
 * openssl, for the tests of the crypto ports and the signature code:
 *   openssl ecparam -name prime256v1 -genkey -noout -out vec.key
 *   openssl ec -in vec.key -pubout -out vec.pub
 *   point  = last 65 bytes of `openssl pkey -pubin -in vec.pub -outform DER`
 *   key id = first 8 bytes of `sha256sum point` (6ab8a9fb037b0f9f...)
 *   sig    = `openssl dgst -sha256 -sign vec.key -out vec.sig vec.meta`
 * (`openssl dgst -sha256 -verify vec.pub -signature vec.sig vec.meta`: OK).
 * meta: image_size 0x12345, sha256 00 01 .. 1f, chip 9 (ESP32-S3), target 0,
 * reserved 0, secure_version 3, the key id, "demo", "1.2.0".
 */
#ifndef ALOFT_TEST_SIG_VECTOR_H
#define ALOFT_TEST_SIG_VECTOR_H

#include <stdint.h>

extern const char vec_pub_pem[];
extern const uint8_t vec_point[65];
extern const uint8_t vec_key_id[8];
extern const uint8_t vec_meta[63];
extern const uint8_t vec_sig[70];

#endif
