/* lr_aws_crypto on OpenSSL's libcrypto (one-shot SHA256() and HMAC()). */
#include "aws/lr_aws_crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

const char *lr_aws_crypto_backend(void)
{
    return "openssl";
}

void lr_aws_crypto_sha256(const void *data, size_t n, unsigned char out[LR_AWS_SHA256_LEN])
{
    SHA256(data, n, out);
}

void lr_aws_crypto_hmac(const void *key, size_t key_len, const void *data, size_t n,
                        unsigned char out[LR_AWS_SHA256_LEN])
{
    unsigned int len = 0;
    /* Fails only when libcrypto cannot allocate its context: out of memory aborts, as lr_buf does. */
    if (HMAC(EVP_sha256(), key, (int)key_len, data, n, out, &len) == NULL ||
        len != LR_AWS_SHA256_LEN) {
        fputs("lambda-ddb: HMAC-SHA256 failed\n", stderr);
        abort();
    }
}
