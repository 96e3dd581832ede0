/* Runtime API client over libcurl: one easy handle for the process, reset before each request
 * (curl_easy_reset keeps the connection cache, so all requests share one keep-alive connection). */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "lr/buf.h"
#include "lr/clock.h"
#include "transport/lr_headers.h"
#include "transport/lr_response.h"
#include "lr/log.h"
#include "lr/runtime.h"

#ifndef LR_VERSION
#define LR_VERSION "0"
#endif

#define API_PREFIX "/2018-06-01/runtime/"
#define ENDPOINT_MAX 255
/* Deadline fallback when Deadline-Ms is absent or garbage and AWS_LAMBDA_FUNCTION_TIMEOUT is not a
 * usable number of seconds: Lambda's maximum timeout (15 min), i.e. "no deadline guard" rather than
 * "already late", so a broken header never makes us drop work. */
#define FALLBACK_TIMEOUT_MS INT64_C(900000)

struct lr_client {
    CURL *curl; /* the one easy handle */
    char base_url[sizeof("http://") + ENDPOINT_MAX + sizeof(API_PREFIX)];
    struct lr_buf body;          /* /next event body, capped at LR_MAX_EVENT_BYTES */
    struct lr_headers headers;   /* /next headers */
    enum lr_status header_error; /* the first bad header line of this /next answer */
    size_t header_bytes;         /* every header byte of it, bad lines included */
    bool body_too_large;
    int64_t fallback_timeout_ms;
    bool (*should_stop)(void); /* lr_client_set_stop(); NULL: never give up a /next */
    bool answer_started;       /* a byte of the /next answer arrived: too late to give it up */
    int last_rc;               /* CURLcode of the last exchange */
    char curl_error[CURL_ERROR_SIZE];
};

static void oom(void)
{
    fputs("lambda-ddb: out of memory\n", stderr);
    abort(); /* Lambda replaces a crashed sandbox */
}

/* "host:port" with a port of 1..65535 and nothing that could change the URL's meaning. */
static bool endpoint_valid(const char *ep)
{
    size_t len = strlen(ep);
    if (len < 3 || len > ENDPOINT_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)ep[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
        if (!ok)
            return false;
    }
    const char *colon = strrchr(ep, ':');
    uint64_t port = 0;
    if (colon == NULL || colon == ep || colon[-1] == ':')
        return false;
    return lr_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) == LR_OK && port > 0;
}

static int64_t fallback_timeout_from_env(void)
{
    const char *s = getenv("AWS_LAMBDA_FUNCTION_TIMEOUT"); /* seconds; set by RIE, not by Lambda */
    uint64_t secs = 0;
    if (s != NULL && lr_parse_u64(s, strlen(s), 86400, &secs) == LR_OK && secs > 0)
        return (int64_t)secs * 1000;
    return FALLBACK_TIMEOUT_MS;
}

enum lr_status lr_client_new(const char *endpoint, struct lr_client **out)
{
    assert(out != NULL);
    *out = NULL;
    if (endpoint == NULL)
        endpoint = getenv("AWS_LAMBDA_RUNTIME_API");
    if (endpoint == NULL || !endpoint_valid(endpoint))
        return LR_E_CONFIG;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return LR_E_TRANSPORT;
    struct lr_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        oom();
    c->curl = curl_easy_init();
    if (c->curl == NULL)
        oom(); /* libcurl is initialised, so only memory can be missing */
    snprintf(c->base_url, sizeof(c->base_url), "http://%s%s", endpoint, API_PREFIX);
    lr_buf_init(&c->body, LR_MAX_EVENT_BYTES);
    lr_headers_init(&c->headers);
    c->fallback_timeout_ms = fallback_timeout_from_env();
    *out = c;
    return LR_OK;
}

void lr_client_destroy(struct lr_client *client)
{
    if (client == NULL)
        return;
    curl_easy_cleanup(client->curl);
    lr_buf_clean_up(&client->body);
    lr_headers_clean_up(&client->headers);
    free(client);
    curl_global_cleanup();
}

/* ---- one request ---- */

static void set_common_options(struct lr_client *c, const char *url)
{
    CURL *h = c->curl;
    curl_easy_reset(h); /* clears options, keeps the connection cache (keep-alive) */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    /* The sandbox may be frozen between invokes for longer than any timeout: no total timeout,
     * only a short connect timeout (the Runtime API is local). */
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    /* Newer libcurl may prefer HTTP/2; the Runtime API speaks HTTP/1.1. */
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* http_proxy/no_proxy from the function's environment must never divert the Runtime API. */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lambda-ddb-c/" LR_VERSION);
    c->curl_error[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_error);
}

static enum lr_status status_from_http(long code)
{
    if (code >= 200 && code < 300)
        return LR_OK;
    switch (code) {
    case 400: return LR_E_HTTP_400;
    case 403: return LR_E_HTTP_403;
    case 413: return LR_E_HTTP_413;
    case 500: return LR_E_HTTP_500;
    default: return LR_E_HTTP_OTHER;
    }
}

/* Runs the prepared request: LR_OK with the HTTP status, or LR_E_TRANSPORT (c->last_rc says why). */
static enum lr_status perform(struct lr_client *c, long *http_code)
{
    *http_code = 0;
    c->last_rc = (int)curl_easy_perform(c->curl);
    if (c->last_rc != CURLE_OK)
        return LR_E_TRANSPORT;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, http_code);
    return LR_OK;
}

static void log_transport_error(const struct lr_client *c, const char *what)
{
    lr_log(LR_LOG_WARN, "%s: curl error %d: %s", what, c->last_rc,
           c->curl_error[0] != '\0' ? c->curl_error : curl_easy_strerror((CURLcode)c->last_rc));
}

/* ---- GET /next ---- */

static size_t on_next_header(char *line, size_t size, size_t n, void *userdata)
{
    struct lr_client *c = userdata;
    size_t len = size * n; /* size is always 1 for headers */
    c->answer_started = true;
    enum lr_status st = lr_headers_parse_line(&c->headers, line, len);
    if (st != LR_OK && c->header_error == LR_OK)
        c->header_error = st;
    /* A bad line is noted and the answer read on, so that the request id is known wherever it
     * stands and the invoke can be answered; only the total cap, which bounds what is read, stops
     * the transfer. */
    c->header_bytes += len;
    if (c->header_bytes > LR_HEADERS_MAX_TOTAL) {
        c->header_error = LR_E_TOO_LARGE;
        return 0; /* aborts the transfer */
    }
    return len;
}

static size_t on_next_body(char *data, size_t size, size_t n, void *userdata)
{
    struct lr_client *c = userdata;
    size_t len = size * n;
    if (lr_buf_append(&c->body, data, len) != LR_OK) {
        c->body_too_large = true;
        return 0; /* aborts the transfer */
    }
    return len;
}

static void fill_request(struct lr_client *c, struct lr_invocation_request *req)
{
    struct lr_headers *h = &c->headers;
    req->request_id = lr_headers_get(h, LR_HDR_REQUEST_ID);
    req->xray_trace_id = lr_headers_get(h, LR_HDR_TRACE_ID);
    req->client_context = lr_headers_get(h, LR_HDR_CLIENT_CONTEXT);
    req->cognito_identity = lr_headers_get(h, LR_HDR_COGNITO);
    req->function_arn = lr_headers_get(h, LR_HDR_FUNCTION_ARN);
    req->tenant_id = lr_headers_get(h, LR_HDR_TENANT_ID);
    req->content_type = lr_headers_get(h, LR_HDR_CONTENT_TYPE);
    if (!lr_headers_deadline_ms(h, lr_clock_now_ms(), c->fallback_timeout_ms, &req->deadline_ms)) {
        struct lr_str d = lr_headers_get(h, LR_HDR_DEADLINE_MS);
        lr_log(LR_LOG_WARN, "Lambda-Runtime-Deadline-Ms %s; assuming a timeout of %lld ms",
               d.len == 0 ? "is missing" : "is not a plausible epoch-ms value",
               (long long)c->fallback_timeout_ms);
    }
    req->payload = (struct lr_str){c->body.data != NULL ? c->body.data : "", c->body.len};
    req->worker_count = 1; /* the run loop overrides both worker fields */
}

void lr_client_set_stop(struct lr_client *client, bool (*should_stop)(void))
{
    assert(client != NULL);
    client->should_stop = should_stop;
}

/* curl calls this about once a second while a /next waits; non-zero aborts the transfer. Once the
 * answer started, an invoke is on its way to us and giving it up would lose it. */
static int on_next_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                            curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const struct lr_client *c = userdata;
    return !c->answer_started && c->should_stop();
}

static enum lr_status next_outcome(struct lr_client *c, enum lr_status transport, long code)
{
    if (c->last_rc == CURLE_ABORTED_BY_CALLBACK && c->header_error == LR_OK && !c->body_too_large)
        return LR_E_CANCELLED;
    if (c->header_error != LR_OK) {
        lr_log(LR_LOG_WARN, "GET /next: %s",
               c->header_error == LR_E_TOO_LARGE
                   ? "header lines beyond the caps (16 KiB a line, 64 KiB in all)"
                   : "a header line malformed, or a known header repeated or holding control "
                     "bytes");
        return LR_E_PROTOCOL;
    }
    if (c->body_too_large || c->last_rc == CURLE_FILESIZE_EXCEEDED) {
        lr_log(LR_LOG_ERROR, "GET /next: event larger than %zu bytes", LR_MAX_EVENT_BYTES);
        return LR_E_TOO_LARGE;
    }
    if (transport != LR_OK) {
        log_transport_error(c, "GET /next");
        return transport;
    }
    if (code != 200) {
        lr_log(LR_LOG_WARN, "GET /next: HTTP status %ld", code);
        enum lr_status st = status_from_http(code);
        return st == LR_OK ? LR_E_HTTP_OTHER : st; /* 2xx other than 200 is not an event */
    }
    if (lr_headers_check(&c->headers) != LR_OK) {
        lr_log(LR_LOG_WARN, "GET /next: missing or invalid Lambda-Runtime-Aws-Request-Id");
        return LR_E_PROTOCOL;
    }
    return LR_OK;
}

enum lr_status lr_client_next(struct lr_client *client, struct lr_invocation_request *req)
{
    assert(client != NULL && req != NULL);
    struct lr_client *c = client;
    memset(req, 0, sizeof(*req));
    lr_buf_reset(&c->body);
    lr_headers_reset(&c->headers);
    c->header_error = LR_OK;
    c->header_bytes = 0;
    c->body_too_large = false;
    c->answer_started = false;

    char url[sizeof(c->base_url) + 32];
    snprintf(url, sizeof(url), "%sinvocation/next", c->base_url);
    set_common_options(c, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_next_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_next_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    /* Refuses early when Content-Length already says too much; the write callback catches the rest. */
    curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)LR_MAX_EVENT_BYTES);
    if (c->should_stop != NULL) {
        curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_next_progress);
        curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    }

    long code = 0;
    enum lr_status transport = perform(c, &code);
    enum lr_status st = next_outcome(c, transport, code);
    if (st == LR_OK) {
        fill_request(c, req);
    } else if ((st == LR_E_TOO_LARGE || c->header_error != LR_OK) &&
               lr_headers_check(&c->headers) == LR_OK) {
        /* An invoke we cannot use but can name: the caller answers it with an error. */
        req->request_id = lr_headers_get(&c->headers, LR_HDR_REQUEST_ID);
    }
    return st;
}

/* ---- POST /response, /error, /init/error ---- */

static size_t discard_body(char *data, size_t size, size_t n, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * n; /* the 202 {"status":"OK"} (or error) document carries nothing we need */
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value)
{
    char line[64 + LR_HEADER_VALUE_MAX + 1];
    /* "Name:" with nothing after the colon tells curl to leave that header out entirely. */
    snprintf(line, sizeof(line), value[0] != '\0' ? "%s: %s" : "%s:%s", name, value);
    struct curl_slist *l = curl_slist_append(list, line);
    if (l == NULL)
        oom();
    return l;
}

/* Header list of a POST: explicit Content-Length; blank Expect and Transfer-Encoding remove curl's
 * "Expect: 100-continue" (a wasted round trip) and any chunked encoding. Values are sanitised. */
static struct curl_slist *post_headers(size_t len, const char *content_type, const char *error_type)
{
    char value[LR_HEADER_VALUE_MAX + 1];
    struct curl_slist *list = NULL;
    if (lr_response_header_value(value, content_type) == 0)
        snprintf(value, sizeof(value), "%s", "application/json");
    list = add_header(list, "Content-Type", value);
    snprintf(value, sizeof(value), "%zu", len);
    list = add_header(list, "Content-Length", value);
    list = add_header(list, "Expect", "");
    list = add_header(list, "Transfer-Encoding", "");
    /* An empty value would make curl drop the header; then Lambda uses the body's errorType. */
    if (error_type != NULL && lr_response_header_value(value, error_type) > 0)
        list = add_header(list, "Lambda-Runtime-Function-Error-Type", value);
    return list;
}

static enum lr_status post(struct lr_client *c, const char *url, const char *body, size_t len,
                           const char *content_type, const char *error_type, const char *what)
{
    struct curl_slist *list = post_headers(len, content_type, error_type);
    set_common_options(c, url);
    curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? len : 0));
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, discard_body);
    long code = 0;
    enum lr_status st = perform(c, &code);
    curl_slist_free_all(list);
    if (st != LR_OK) {
        log_transport_error(c, what);
        return st;
    }
    return status_from_http(code);
}

static bool request_id_usable(struct lr_str id)
{
    return id.ptr != NULL && id.len > 0 && id.len <= LR_REQUEST_ID_MAX;
}

/* URL of POST .../invocation/<id><suffix>; the id is percent-encoded so no byte of it can change
 * the path. */
static void invocation_url(struct lr_client *c, struct lr_str id, const char *suffix, char *url,
                           size_t size)
{
    char *escaped = curl_easy_escape(c->curl, id.ptr, (int)id.len);
    if (escaped == NULL)
        oom();
    snprintf(url, size, "%sinvocation/%s%s", c->base_url, escaped, suffix);
    curl_free(escaped);
}

#define INVOCATION_URL_SIZE (sizeof(((struct lr_client *)0)->base_url) + 3 * LR_REQUEST_ID_MAX + 32)

static enum lr_status post_too_large(struct lr_client *c, const struct lr_invocation_request *req,
                                     size_t body_len)
{
    char msg[160];
    snprintf(msg, sizeof(msg),
             "Response payload size (%zu bytes) exceeded maximum allowed payload size (%zu bytes).",
             body_len, LR_MAX_RESPONSE_BYTES);
    lr_log(LR_LOG_ERROR, "%s Reported as Function.ResponseSizeTooLarge.", msg);
    struct lr_invocation_response err = lr_response_failure(msg, "Function.ResponseSizeTooLarge");
    enum lr_status st = lr_client_post(c, req, &err);
    lr_response_clean_up(&err);
    return st == LR_OK ? LR_E_TOO_LARGE : st;
}

enum lr_status lr_client_post(struct lr_client *client, const struct lr_invocation_request *req,
                              const struct lr_invocation_response *resp)
{
    assert(client != NULL && req != NULL && resp != NULL);
    if (!request_id_usable(req->request_id))
        return LR_E_INVALID_ARG;
    size_t len = resp->body != NULL ? resp->body_len : 0;
    if (resp->success && len > LR_MAX_RESPONSE_BYTES)
        return post_too_large(client, req, len);
    char url[INVOCATION_URL_SIZE];
    invocation_url(client, req->request_id, resp->success ? "/response" : "/error", url,
                   sizeof(url));
    return post(client, url, resp->body, len, resp->content_type,
                resp->success ? NULL : resp->error_type,
                resp->success ? "POST /response" : "POST /error");
}

enum lr_status lr_client_init_error(struct lr_client *client, const char *error_message,
                                    const char *error_type)
{
    assert(client != NULL);
    struct lr_invocation_response err = lr_response_failure(error_message, error_type);
    char url[sizeof(client->base_url) + 16];
    snprintf(url, sizeof(url), "%sinit/error", client->base_url);
    enum lr_status st = post(client, url, err.body, err.body_len, err.content_type, err.error_type,
                             "POST /init/error");
    lr_response_clean_up(&err);
    return st;
}
