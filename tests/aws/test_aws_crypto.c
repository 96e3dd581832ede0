/* The crypto backend against published vectors: FIPS 180-2 SHA-256 and RFC 4231 HMAC-SHA256. Built once
 * per installed backend (unit.test_aws_crypto_openssl, unit.test_aws_crypto_mbedtls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aws/lr_aws_crypto.h"

static void hex(const unsigned char *d, char *out)
{
    for (int i = 0; i < LR_AWS_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void sha256_vectors(void **state)
{
    (void)state;
    unsigned char d[LR_AWS_SHA256_LEN];
    char h[65];
    lr_aws_crypto_sha256("abc", 3, d);
    hex(d, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    lr_aws_crypto_sha256("", 0, d);
    hex(d, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void hmac_vectors(void **state)
{
    (void)state;
    unsigned char d[LR_AWS_SHA256_LEN], key[131];
    char h[65];
    lr_aws_crypto_hmac("Jefe", 4, "what do ya want for nothing?", 28, d); /* RFC 4231 case 2 */
    hex(d, h);
    assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof(key)); /* case 6: a key longer than the block size */
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
    lr_aws_crypto_hmac(key, sizeof(key), data, strlen(data), d);
    hex(d, h);
    assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int main(void)
{
    printf("backend: %s\n", lr_aws_crypto_backend());
    const struct CMUnitTest tests[] = {cmocka_unit_test(sha256_vectors),
                                       cmocka_unit_test(hmac_vectors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
