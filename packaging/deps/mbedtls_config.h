/* mbedTLS 2.28 configuration of the static bootstrap: installed as the prefix's mbedtls/config.h, so
 * the library, libcurl and lr_aws all compile against this one set (a consumer seeing another set
 * would disagree with the library on struct layouts).
 *
 * What it is for: an HTTPS client of AWS endpoints, TLS 1.2 only, server certificates always verified
 * against a CA file, plus SHA-256/HMAC for Signature Version 4. No server side, no DTLS, no
 * renegotiation, no PSK, no RSA key exchange (not forward secret), no CBC. TLS 1.3 is left out: in
 * 2.28 it is an experimental prototype (MBEDTLS_SSL_PROTO_TLS1_3_EXPERIMENTAL) with no interop
 * guarantee, and every AWS endpoint speaks TLS 1.2. */
#ifndef LR_MBEDTLS_CONFIG_H
#define LR_MBEDTLS_CONFIG_H

/* System: time for certificate validity, getrandom(2) for entropy, CA files from disk. */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_FS_IO
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_VERSION_C
#define MBEDTLS_ERROR_C /* libcurl's error messages name the TLS failure */

/* Symmetric: AES-GCM, the AEAD of every AWS endpoint's ECDHE suites. AES-NI where the CPU has it
 * (checked at run time); 2.28 has no ARMv8 AES code, arm64 uses the table implementation. */
#define MBEDTLS_AES_C
#if defined(__x86_64__)
#define MBEDTLS_AESNI_C
#endif
#define MBEDTLS_GCM_C
#define MBEDTLS_CIPHER_C

/* Hashes: SHA-256 (SigV4, TLS PRF, most certificates), SHA-384/512 (P-384 chains, SHA-384 suites),
 * SHA-1 (still signs some roots of the CA bundles; parsing them must not fail). */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C

/* Public key: ECDHE on P-256, P-384 and X25519; RSA and ECDSA server certificates. */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C /* libcurl links its public-key pinning, which DER-encodes the key */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C /* ECDSA signatures are DER */
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C

/* X.509: chain, host name, validity dates and key usage of the server certificate. */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE

/* TLS 1.2 client. */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_SESSION_TICKETS /* client side: a re-opened connection resumes, no full handshake */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_SSL_ALPN /* libcurl offers http/1.1 */

#include "mbedtls/check_config.h"

#endif /* LR_MBEDTLS_CONFIG_H */
