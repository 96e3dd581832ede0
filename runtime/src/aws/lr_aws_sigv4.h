/* AWS Signature Version 4 (header form): canonical request, string to sign, signing key, Authorization.
 * Signs host, x-amz-date, x-amz-security-token (with a session token) and the caller's headers; the
 * path is URI-encoded once more (non-S3 services); there is never a query string in our calls. */
#ifndef LR_AWS_SIGV4_H
#define LR_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/lr_aws_crypto.h"
#include "lr/common.h"
#include "lr/common.h"

#define LR_AWS_SIGV4_MAX_HEADERS 8
#define LR_AWS_AUTH_MAX 1024
#define LR_AWS_SCOPE_MAX 160 /* "YYYYMMDD/<region>/<service>/aws4_request" and the NUL */

struct lr_aws_header {
    const char *name; /* lower case */
    const char *value;
};

struct lr_aws_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL: none */
};

struct lr_aws_sign_request {
    const char *method;                  /* "POST" */
    const char *host;                    /* the Host header as sent: host[:port] */
    const char *path;                    /* as sent on the request line, e.g. "/" */
    const struct lr_aws_header *headers; /* further headers to sign (content-type, x-amz-target) */
    size_t n_headers;                    /* at most LR_AWS_SIGV4_MAX_HEADERS - 3 */
    struct lr_str payload;
    const char *region;
    const char *service; /* signing name */
    time_t now;
};

/* kSigning for one (date, region, service, secret); a miss recomputes it (a new day, a rotated key). */
struct lr_aws_sigv4_cache {
    char scope[LR_AWS_SCOPE_MAX]; /* "YYYYMMDD/region/service" */
    unsigned char
        secret_digest[LR_AWS_SHA256_LEN]; /* SHA-256 of the secret: no copy of it is kept */
    unsigned char key[LR_AWS_SHA256_LEN];
    bool valid;
};

struct lr_aws_signature {
    char amz_date[17];                   /* X-Amz-Date: YYYYMMDDTHHMMSSZ */
    char authorization[LR_AWS_AUTH_MAX]; /* the Authorization header's value */
};

/* Signs r with cr. cache may be NULL. LR_E_INVALID_ARG for too many headers or names/values that
 * cannot be signed (control bytes), LR_E_TOO_LARGE when the result would not fit. */
enum lr_status lr_aws_sigv4_sign(const struct lr_aws_sign_request *r, const struct lr_aws_creds *cr,
                                 struct lr_aws_sigv4_cache *cache,
                                 struct lr_aws_signature *out) LR_NODISCARD;

#endif
