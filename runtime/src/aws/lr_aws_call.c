/* The client: one keep-alive curl handle per service endpoint, made on the first call to it; each call
 * signs, sends and reads the answer, and retries as the SDKs' standard mode does within the deadline. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include "lr/aws.h"
#include "lr/clock.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aws/lr_aws_answer.h"
#include "aws/lr_aws_config.h"
#include "aws/lr_aws_retry.h"
#include "aws/lr_aws_sigv4.h"
#include "lr/log.h"

#define MAX_ENDPOINTS 8
#define MIN_ATTEMPT_MS 50 /* an attempt with less time than this left is not started */

struct endpoint {
    const struct lr_aws_service *svc;
    CURL *curl;
    struct lr_aws_endpoint ep;
    char region[LR_AWS_REGION_MAX + 1];
    struct lr_aws_sigv4_cache key;
};

struct lr_aws_client {
    struct lr_aws_settings s;
    struct endpoint endpoints[MAX_ENDPOINTS];
    size_t n;
    uint64_t rng;
};

/* What the callbacks of one attempt fill. */
struct exchange {
    struct lr_aws_response *resp;
    char error_type[128]; /* x-amzn-ErrorType */
    bool too_large;
};

struct request {
    const struct lr_aws_service *svc;
    char target[160]; /* X-Amz-Target, "" for the query protocol */
    struct lr_str body;
};

/* Out of memory: the process ends (lr/common.h's convention; Lambda replaces the environment). */
static void oom(void)
{
    fputs("lambda-ddb: out of memory\n", stderr);
    abort();
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

enum lr_status lr_aws_settings_init(struct lr_aws_settings *s)
{
    *s = (struct lr_aws_settings){3, 500, 1000, 20000, 3000, 30000, (size_t)32 * 1024 * 1024, ""};
    return lr_aws_config_max_attempts(&s->max_attempts);
}

enum lr_status lr_aws_client_new(const struct lr_aws_settings *settings, struct lr_aws_client **out)
{
    struct lr_aws_settings s;
    assert(out != NULL);
    *out = NULL;
    if (settings == NULL) {
        enum lr_status st = lr_aws_settings_init(&s);
        if (st != LR_OK)
            return st;
    } else {
        s = *settings;
    }
    s.region[sizeof(s.region) - 1] = '\0';
    if (s.max_attempts < 1 || s.max_attempts > 20 || s.max_response_bytes == 0 ||
        (s.region[0] != '\0' && !lr_aws_config_region_valid(s.region)))
        return LR_E_INVALID_ARG;
    struct lr_aws_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        oom();
    c->s = s;
    c->rng = ((uint64_t)lr_clock_now_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)c;
    c->rng |= 1; /* xorshift must not start at 0 */
    *out = c;
    return LR_OK;
}

void lr_aws_client_destroy(struct lr_aws_client *client)
{
    if (client == NULL)
        return;
    for (size_t i = 0; i < client->n; i++)
        curl_easy_cleanup(client->endpoints[i].curl);
    free(client);
}

void lr_aws_response_init(struct lr_aws_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    lr_buf_init(&resp->body, 0);
}

static void response_reset(struct lr_aws_response *resp, size_t cap)
{
    if (resp->body.cap !=
        cap) { /* the cap is fixed at init: the first call gives it the client's */
        lr_buf_clean_up(&resp->body);
        lr_buf_init(&resp->body, cap);
    }
    lr_buf_reset(&resp->body);
    resp->http_status = 0;
    resp->error_code[0] = resp->error_message[0] = '\0';
    cJSON_Delete(resp->json);
    resp->json = NULL;
}

void lr_aws_response_clean_up(struct lr_aws_response *resp)
{
    if (resp == NULL)
        return;
    cJSON_Delete(resp->json);
    lr_buf_clean_up(&resp->body);
    memset(resp, 0, sizeof(*resp));
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    struct exchange *x = user;
    if (lr_buf_append(&x->resp->body, data, n) != LR_OK) {
        x->too_large = true;
        return 0; /* aborts the transfer */
    }
    (void)size; /* always 1 */
    return n;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    static const char name[] = "x-amzn-errortype:";
    struct exchange *x = user;
    (void)size;
    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        size_t len = n - (sizeof(name) - 1);
        while (len > 0 && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        snprintf(x->error_type, sizeof(x->error_type), "%.*s", (int)len, v);
    }
    return n;
}

/* The first call to a service: region, endpoint, CA bundle, and the curl handle that keeps its
 * connection. Nothing is kept on failure, so the next call tries again. */
static enum lr_status open_endpoint(struct lr_aws_client *c, const struct lr_aws_service *svc,
                                    struct endpoint **out)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->endpoints[i].svc == svc) {
            *out = &c->endpoints[i];
            return LR_OK;
        }
    if (c->n == MAX_ENDPOINTS)
        return LR_E_INVALID_ARG;
    struct endpoint *e = &c->endpoints[c->n];
    memset(e, 0, sizeof(*e));
    const char *ca = NULL;
    enum lr_status st = LR_OK;
    if (c->s.region[0] != '\0')
        memcpy(e->region, c->s.region, sizeof(e->region));
    else
        st = lr_aws_config_region(e->region);
    if (st == LR_OK)
        st = lr_aws_config_endpoint(svc, e->region, &e->ep);
    if (st == LR_OK && e->ep.https)
        st = lr_aws_config_ca_bundle(&ca);
    if (st != LR_OK)
        return st;
    if ((e->curl = curl_easy_init()) == NULL)
        oom(); /* libcurl is initialised: only memory can be missing */
    e->svc = svc;
    curl_easy_setopt(e->curl, CURLOPT_URL, e->ep.url);
    curl_easy_setopt(e->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e->curl, CURLOPT_USERAGENT, "lambda-ddb-c");
    curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e->curl, CURLOPT_HEADERFUNCTION, on_header);
    if (e->ep.https) {
        /* Always verified, only against the chosen bundle; there is no switch to turn it off. */
        curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(e->curl, CURLOPT_CAINFO, ca);
        curl_easy_setopt(e->curl, CURLOPT_CAPATH, NULL);
    }
    c->n++;
    *out = e;
    return LR_OK;
}

/* Which certificate check failed, from the TLS library's verify result (its meaning differs per
 * library). With OpenSSL, curl checks the host name itself once the chain verified, and a mismatch
 * leaves 0 or X509_V_ERR_UNSPECIFIED (1) there; 62 is X509_V_ERR_HOSTNAME_MISMATCH. */
static enum lr_status cert_error(CURL *curl)
{
    long result = 0;
    curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &result);
    const char *tls = curl_version_info(CURLVERSION_NOW)->ssl_version;
    if (tls != NULL && strncmp(tls, "mbedTLS", 7) == 0) /* MBEDTLS_X509_BADCERT_* flags */
        return (result & 0x01)   ? LR_E_TLS_CERT_EXPIRED
               : (result & 0x04) ? LR_E_TLS_CERT_HOST
                                 : LR_E_TLS_CERT_UNTRUSTED;
    if (result == 10) /* X509_V_ERR_CERT_HAS_EXPIRED */
        return LR_E_TLS_CERT_EXPIRED;
    return result == 0 || result == 1 || result == 62 ? LR_E_TLS_CERT_HOST
                                                      : LR_E_TLS_CERT_UNTRUSTED;
}

static enum lr_status transport_error(CURL *curl, CURLcode rc, const struct exchange *x)
{
    switch (rc) {
    case CURLE_PARTIAL_FILE: return LR_E_AWS_TRUNCATED;
    case CURLE_OPERATION_TIMEDOUT: return LR_E_AWS_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR: return LR_E_TLS_HANDSHAKE;
    case CURLE_PEER_FAILED_VERIFICATION: return cert_error(curl);
    case CURLE_SSL_CACERT_BADFILE: return LR_E_TLS_CA_BUNDLE;
    case CURLE_WRITE_ERROR: return x->too_large ? LR_E_TOO_LARGE : LR_E_TRANSPORT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING: return LR_E_AWS_CONNECT;
    case CURLE_RECV_ERROR:
        /* a reset after the status line cut the answer short; before it, there was no answer */
        return x->resp->http_status != 0 ? LR_E_AWS_TRUNCATED : LR_E_AWS_CONNECT;
    default: return LR_E_TRANSPORT;
    }
}

/* Appends one formatted header line to *l; false when out of memory. Lines may carry a session token. */
static bool add_header(struct curl_slist **l, const char *name, const char *value)
{
    char line[16384 + 64];
    snprintf(line, sizeof(line), "%s: %s", name,
             value); /* values are bounded well below the size */
    struct curl_slist *t = curl_slist_append(*l, line);
    if (t == NULL)
        return false;
    *l = t;
    return true;
}

/* Signs the request now and sets *list to its headers (the caller frees it). */
static enum lr_status sign_headers(struct endpoint *e, const struct request *r,
                                   struct curl_slist **list)
{
    struct lr_aws_creds cr;
    enum lr_status st = lr_aws_config_credentials(&cr);
    if (st != LR_OK)
        return st;
    char content_type[64] = "application/x-www-form-urlencoded; charset=utf-8";
    if (r->svc->json_version != NULL)
        snprintf(content_type, sizeof(content_type), "application/x-amz-json-%s",
                 r->svc->json_version);
    struct lr_aws_header signed_headers[] = {{"content-type", content_type},
                                             {"x-amz-target", r->target}};
    struct lr_aws_sign_request sr = {"POST",         e->ep.host,           e->ep.path,
                                     signed_headers, r->target[0] ? 2 : 1, r->body,
                                     e->region,      e->svc->signing_name, time(NULL)};
    struct lr_aws_signature sig;
    if ((st = lr_aws_sigv4_sign(&sr, &cr, &e->key, &sig)) != LR_OK)
        return st;
    struct curl_slist *l = NULL;
    bool ok =
        add_header(&l, "Host", e->ep.host) && add_header(&l, "Content-Type", content_type) &&
        (!r->target[0] || add_header(&l, "X-Amz-Target", r->target)) &&
        add_header(&l, "X-Amz-Date", sig.amz_date) &&
        (cr.session_token == NULL || add_header(&l, "X-Amz-Security-Token", cr.session_token)) &&
        add_header(&l, "Authorization", sig.authorization) &&
        /* curl would add these two unsigned; a 100-continue round trip only costs time */
        (l = curl_slist_append(l, "Expect:")) != NULL &&
        (l = curl_slist_append(l, "Accept:")) != NULL;
    memset(&sig, 0, sizeof(sig));
    if (!ok)
        oom(); /* the values were checked; curl_slist_append fails only without memory */
    *list = l;
    return LR_OK;
}

/* One attempt, its transfer bounded by timeout_ms (connect by the smaller of the two). */
static enum lr_status attempt(struct endpoint *e, const struct request *r, long timeout_ms,
                              long connect_ms, struct lr_aws_response *resp, size_t cap)
{
    struct exchange x = {resp, "", false};
    struct curl_slist *headers = NULL;
    response_reset(resp, cap);
    enum lr_status st = sign_headers(e, r, &headers);
    if (st != LR_OK)
        return st;
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, r->body.ptr ? r->body.ptr : "");
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
    curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(e->curl, CURLOPT_HEADERDATA, &x);
    CURLcode rc = curl_easy_perform(e->curl);
    curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &resp->http_status);
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, NULL); /* the body is only borrowed */
    curl_slist_free_all(headers);
    if (rc != CURLE_OK)
        return transport_error(e->curl, rc, &x);
    return lr_aws_answer_read(r->svc->json_version != NULL, x.error_type, resp);
}

/* True when, after waiting wait ms, an attempt could still run before the deadline's margin. */
static bool wait_fits(const struct lr_aws_client *c, uint32_t wait, int64_t deadline_ms)
{
    return deadline_ms <= 0 || lr_clock_now_ms() + wait + MIN_ATTEMPT_MS <=
                                   deadline_ms - (int64_t)c->s.deadline_margin_ms;
}

static enum lr_status give_up(const struct request *r, const struct lr_aws_response *resp,
                              enum lr_status last)
{
    if (resp->attempts == 0)
        lr_log(LR_LOG_WARN, "aws %s: giving up: no time left before the deadline",
               r->svc->signing_name);
    else
        lr_log(LR_LOG_WARN,
               "aws %s: giving up after %u attempt(s) before the deadline; last: %s, HTTP %ld %s",
               r->svc->signing_name, resp->attempts, lr_status_str(last), resp->http_status,
               resp->error_code);
    return LR_E_DEADLINE;
}

static enum lr_status call(struct lr_aws_client *c, const struct request *r, int64_t deadline_ms,
                           struct lr_aws_response *resp)
{
    struct endpoint *e = NULL;
    enum lr_status st = open_endpoint(c, r->svc, &e);
    resp->attempts = 0;
    response_reset(resp, c->s.max_response_bytes);
    if (st != LR_OK)
        return st;
    for (;;) {
        long timeout = (long)c->s.attempt_timeout_ms;
        if (deadline_ms > 0) {
            int64_t left = deadline_ms - (int64_t)c->s.deadline_margin_ms - lr_clock_now_ms();
            if (left < MIN_ATTEMPT_MS)
                return give_up(r, resp, st);
            if (left < timeout)
                timeout = (long)left; /* the deadline, not the setting, bounds this attempt */
        }
        long connect =
            (long)c->s.connect_timeout_ms < timeout ? (long)c->s.connect_timeout_ms : timeout;
        resp->attempts++;
        /* A timeout is retried like any transient failure when time is left (the connect timeout
         * ends an attempt long before the deadline); after an attempt the deadline cut, the wait
         * below no longer fits and the call gives up. */
        st = attempt(e, r, timeout, connect, resp, c->s.max_response_bytes);
        if (!lr_aws_retry_is_retryable(st, resp->http_status, resp->error_code) ||
            resp->attempts >= c->s.max_attempts)
            return st;
        uint32_t wait = lr_aws_retry_backoff_ms(resp->attempts, c->s.backoff_base_ms,
                                                c->s.backoff_max_ms, &c->rng);
        if (!wait_fits(c, wait, deadline_ms))
            return give_up(r, resp, st);
        lr_log(LR_LOG_WARN, "aws %s: attempt %u of %u: %s, HTTP %ld %s; retrying in %u ms",
               r->svc->signing_name, resp->attempts, c->s.max_attempts, lr_status_str(st),
               resp->http_status, resp->error_code, wait);
        sleep_ms(wait);
    }
}

bool lr_aws_back_off(struct lr_aws_client *client, unsigned n, uint32_t base_ms, uint32_t max_ms,
                     int64_t deadline_ms)
{
    assert(client && n > 0);
    uint32_t wait = lr_aws_retry_backoff_ms(n, base_ms, max_ms, &client->rng);
    if (!wait_fits(client, wait, deadline_ms))
        return false;
    sleep_ms(wait);
    return true;
}

static bool operation_valid(const char *op)
{
    size_t n =
        op ? strspn(op, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") : 0;
    return n > 0 && n < 100 && op[n] == '\0';
}

enum lr_status lr_aws_json_call(struct lr_aws_client *client, const struct lr_aws_service *svc,
                                const char *operation, struct lr_str body, int64_t deadline_ms,
                                struct lr_aws_response *resp)
{
    assert(client && svc && resp && operation);
    if (svc->target_prefix == NULL || !operation_valid(operation))
        return LR_E_INVALID_ARG; /* a query-protocol service, or a name that is no operation */
    struct request r = {svc, "", body};
    snprintf(r.target, sizeof(r.target), "%s.%s", svc->target_prefix, operation);
    return call(client, &r, deadline_ms, resp);
}

enum lr_status lr_aws_query_call(struct lr_aws_client *client, const struct lr_aws_service *svc,
                                 struct lr_str form_body, int64_t deadline_ms,
                                 struct lr_aws_response *resp)
{
    assert(client && svc && resp);
    if (svc->target_prefix != NULL)
        return LR_E_INVALID_ARG; /* a JSON-protocol service */
    struct request r = {svc, "", form_body};
    return call(client, &r, deadline_ms, resp);
}
