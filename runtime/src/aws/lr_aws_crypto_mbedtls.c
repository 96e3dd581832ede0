/* lr_aws_crypto on mbedTLS (the generic mbedtls_md API, the same in mbedTLS 2.x and 3.x). */
#include "aws/lr_aws_crypto.h"

#include <mbedtls/md.h>
#include <stdio.h>
#include <stdlib.h>

const char *lr_aws_crypto_backend(void)
{
    return "mbedtls";
}

static void check(int rc)
{
    /* mbedtls_md fails only on bad input data or an allocation failure: neither can be recovered. */
    if (rc != 0) {
        fputs("lambda-ddb: SHA-256 failed\n", stderr);
        abort();
    }
}

void lr_aws_crypto_sha256(const void *data, size_t n, unsigned char out[LR_AWS_SHA256_LEN])
{
    check(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), data, n, out));
}

void lr_aws_crypto_hmac(const void *key, size_t key_len, const void *data, size_t n,
                        unsigned char out[LR_AWS_SHA256_LEN])
{
    check(
        mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, key_len, data, n, out));
}
