/* SHA-256 and HMAC-SHA256 for the SigV4 signer: one interface, two backends chosen at build time
 * (LR_AWS_CRYPTO=openssl: libcrypto, as shipped with libcurl on Debian and Amazon Linux;
 * LR_AWS_CRYPTO=mbedtls: the static musl bootstrap's TLS library). Both are one-shot and keep no state. */
#ifndef LR_AWS_CRYPTO_H
#define LR_AWS_CRYPTO_H

#include <stddef.h>

#define LR_AWS_SHA256_LEN 32

/* The backend's name ("openssl" or "mbedtls"), static. */
const char *lr_aws_crypto_backend(void);

/* out = SHA-256(data[0..n)). */
void lr_aws_crypto_sha256(const void *data, size_t n, unsigned char out[LR_AWS_SHA256_LEN]);

/* out = HMAC-SHA256(key[0..key_len), data[0..n)). */
void lr_aws_crypto_hmac(const void *key, size_t key_len, const void *data, size_t n,
                        unsigned char out[LR_AWS_SHA256_LEN]);

#endif
