/* AWS Signature Version 4, written from the algorithm's description (canonical request, string to sign,
 * HMAC chain), checked against botocore's signer by tests/integration/test_aws_sigv4.py. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include "aws/lr_aws_sigv4.h"

#include <stdio.h>
#include <string.h>

#include "lr/aws.h"
#include "lr/buf.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
/* Room for every header value we sign, a session token (a few KB) included. */
#define CANONICAL_CAP ((size_t)64 * 1024)

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void lr_aws_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char digest[LR_AWS_SHA256_LEN];
    lr_aws_crypto_sha256(data, n, digest);
    hex(digest, sizeof(digest), out);
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* The path as sent is encoded once more ("%20" becomes "%2520"), '/' kept: the non-S3 rule. */
static void put_canonical_path(struct lr_buf *b, const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (unreserved(*p) || *p == '/') {
            lr_buf_put_char(b, (char)*p);
        } else {
            char esc[4];
            snprintf(esc, sizeof(esc), "%%%02X", *p);
            lr_buf_put(b, esc, 3);
        }
    }
}

void lr_aws_form_put(struct lr_buf *b, const char *name, const char *value, size_t len)
{
    if (b->len)
        lr_buf_put_char(b, '&');
    lr_buf_put_str(b, name);
    lr_buf_put_char(b, '=');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (unreserved(c) || c == ' ') { /* '+' for a space, as botocore's form bodies have it */
            lr_buf_put_char(b, c == ' ' ? '+' : (char)c);
        } else {
            char esc[4];
            snprintf(esc, sizeof(esc), "%%%02X", c);
            lr_buf_put(b, esc, 3);
        }
    }
}

/* value with leading/trailing blanks dropped and inner runs of blanks collapsed to one space. */
static bool put_trimmed(struct lr_buf *b, const char *v)
{
    bool pending_space = false, any = false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            pending_space = any;
            continue;
        }
        if (*p < 0x20 || *p == 0x7F)
            return false; /* a header line cannot carry it, so it cannot be signed either */
        if (pending_space)
            lr_buf_put_char(b, ' ');
        lr_buf_put_char(b, (char)*p);
        pending_space = false;
        any = true;
    }
    return true;
}

static void sort_headers(struct lr_aws_header *h, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort by name: at most eight entries */
        for (size_t j = i; j > 0 && strcmp(h[j - 1].name, h[j].name) > 0; j--) {
            struct lr_aws_header t = h[j];
            h[j] = h[j - 1];
            h[j - 1] = t;
        }
}

/* Canonical request into b, the signed header list into signed_names. */
static enum lr_status canonical_request(const struct lr_aws_sign_request *r, const char *amz_date,
                                        const char *token, struct lr_buf *b,
                                        struct lr_buf *signed_names)
{
    struct lr_aws_header h[LR_AWS_SIGV4_MAX_HEADERS];
    size_t n = 0;
    if (r->n_headers > LR_AWS_SIGV4_MAX_HEADERS - 3)
        return LR_E_INVALID_ARG;
    h[n++] = (struct lr_aws_header){"host", r->host};
    h[n++] = (struct lr_aws_header){"x-amz-date", amz_date};
    if (token != NULL)
        h[n++] = (struct lr_aws_header){"x-amz-security-token", token};
    for (size_t i = 0; i < r->n_headers; i++)
        h[n++] = r->headers[i];
    sort_headers(h, n);

    lr_buf_put_str(b, r->method);
    lr_buf_put_char(b, '\n');
    put_canonical_path(b, r->path);
    lr_buf_put_str(b, "\n\n"); /* an empty query string */
    for (size_t i = 0; i < n; i++) {
        lr_buf_put_str(b, h[i].name);
        lr_buf_put_char(b, ':');
        if (!put_trimmed(b, h[i].value))
            return LR_E_INVALID_ARG;
        lr_buf_put_char(b, '\n');
        if (i > 0)
            lr_buf_put_char(signed_names, ';');
        lr_buf_put_str(signed_names, h[i].name);
    }
    lr_buf_put_char(b, '\n');
    lr_buf_put(b, signed_names->data, signed_names->len);
    lr_buf_put_char(b, '\n');
    unsigned char digest[LR_AWS_SHA256_LEN];
    char digest_hex[2 * LR_AWS_SHA256_LEN + 1];
    lr_aws_crypto_sha256(r->payload.ptr, r->payload.len, digest);
    hex(digest, sizeof(digest), digest_hex);
    lr_buf_put_str(b, digest_hex);
    return b->overflow || signed_names->overflow ? LR_E_TOO_LARGE : LR_OK;
}

static void hmac_str(const unsigned char *key, size_t key_len, const char *s, unsigned char out[32])
{
    lr_aws_crypto_hmac(key, key_len, s, strlen(s), out);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
static void signing_key(const struct lr_aws_sign_request *r, const char *secret, const char *date,
                        unsigned char key[LR_AWS_SHA256_LEN])
{
    char k_secret[4 + 256];
    size_t sn = strlen(secret);
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, sn);
    hmac_str((const unsigned char *)k_secret, 4 + sn, date, key);
    memset(k_secret, 0, sizeof(k_secret));
    hmac_str(key, LR_AWS_SHA256_LEN, r->region, key);
    hmac_str(key, LR_AWS_SHA256_LEN, r->service, key);
    hmac_str(key, LR_AWS_SHA256_LEN, "aws4_request", key);
}

/* kSigning from the cache when (date/region/service, secret) match, else computed (and cached). */
static const unsigned char *cached_key(const struct lr_aws_sign_request *r, const char *secret,
                                       const char *date, const char *cache_id,
                                       struct lr_aws_sigv4_cache *cache,
                                       unsigned char scratch[LR_AWS_SHA256_LEN])
{
    unsigned char digest[LR_AWS_SHA256_LEN];
    if (cache == NULL) {
        signing_key(r, secret, date, scratch);
        return scratch;
    }
    lr_aws_crypto_sha256(secret, strlen(secret), digest);
    if (!cache->valid || strcmp(cache->scope, cache_id) != 0 ||
        memcmp(cache->secret_digest, digest, sizeof(digest)) != 0) {
        signing_key(r, secret, date, cache->key);
        snprintf(cache->scope, sizeof(cache->scope), "%s", cache_id);
        memcpy(cache->secret_digest, digest, sizeof(digest));
        cache->valid = true;
    }
    return cache->key;
}

enum lr_status lr_aws_sigv4_sign(const struct lr_aws_sign_request *r, const struct lr_aws_creds *cr,
                                 struct lr_aws_sigv4_cache *cache, struct lr_aws_signature *out)
{
    struct tm tm;
    char date[9], scope[LR_AWS_SCOPE_MAX], cache_id[LR_AWS_SCOPE_MAX];
    if (strlen(cr->secret_access_key) > 256 || gmtime_r(&r->now, &tm) == NULL)
        return LR_E_INVALID_ARG;
    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    int sn = snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, r->region, r->service);
    int cn = snprintf(cache_id, sizeof(cache_id), "%s/%s/%s", date, r->region, r->service);
    if (sn < 0 || (size_t)sn >= sizeof(scope) || cn < 0 || (size_t)cn >= sizeof(cache_id))
        return LR_E_TOO_LARGE;

    struct lr_buf creq, names;
    lr_buf_init(&creq, CANONICAL_CAP);
    lr_buf_init(&names, 512);
    enum lr_status st = canonical_request(r, out->amz_date, cr->session_token, &creq, &names);
    if (st == LR_OK) {
        unsigned char digest[LR_AWS_SHA256_LEN], key_scratch[LR_AWS_SHA256_LEN],
            sig[LR_AWS_SHA256_LEN];
        char digest_hex[2 * LR_AWS_SHA256_LEN + 1], sig_hex[2 * LR_AWS_SHA256_LEN + 1], sts[400];
        lr_aws_crypto_sha256(creq.data, creq.len, digest);
        hex(digest, sizeof(digest), digest_hex);
        int tn =
            snprintf(sts, sizeof(sts), ALGORITHM "\n%s\n%s\n%s", out->amz_date, scope, digest_hex);
        const unsigned char *key =
            cached_key(r, cr->secret_access_key, date, cache_id, cache, key_scratch);
        lr_aws_crypto_hmac(key, LR_AWS_SHA256_LEN, sts, (size_t)tn, sig);
        hex(sig, sizeof(sig), sig_hex);
        int an = snprintf(out->authorization, sizeof(out->authorization),
                          ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                          cr->access_key_id, scope, names.data, sig_hex);
        if (an < 0 || (size_t)an >= sizeof(out->authorization))
            st = LR_E_TOO_LARGE;
        memset(key_scratch, 0, sizeof(key_scratch));
    }
    lr_buf_clean_up(&creq);
    lr_buf_clean_up(&names);
    return st;
}
