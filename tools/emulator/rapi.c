/* Runtime API server (see rapi.h). */
#include "rapi.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "http.h"
#include "sandbox.h"

#define PREFIX "/2018-06-01/runtime/"
#define MAX_ID_LEN 128
#define HDR_REQUEST_ID "Lambda-Runtime-Aws-Request-Id"
#define HDR_DEADLINE "Lambda-Runtime-Deadline-Ms"
#define HDR_ERROR_TYPE "Lambda-Runtime-Function-Error-Type"

enum route { ROUTE_NONE, ROUTE_NEXT, ROUTE_RESPONSE, ROUTE_ERROR, ROUTE_INIT_ERROR };

/* Per-request state, from the first call of the access handler to the completion callback. */
struct req {
    enum route route;
    char id[MAX_ID_LEN + 1];
    struct http_body body;
    uint64_t delivered_seq; /* non-zero once an event was queued on this request */
};

/* The body of a /next response, streamed so that faults can cut or delay it. */
struct next_stream {
    struct blob *event;
    struct MHD_Connection *conn;
    struct fault fault;
};

static void log_fault(const struct fault *f, const char *request_id)
{
    fprintf(stderr, "lambda-emu: fault %s injected (RequestId: %s)\n", fault_name(f->kind),
            request_id);
}

static enum route parse_route(const char *method, const char *url, char id[MAX_ID_LEN + 1])
{
    if (strncmp(url, PREFIX, strlen(PREFIX)) != 0)
        return ROUTE_NONE;
    const char *rest = url + strlen(PREFIX);
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (get && strcmp(rest, "invocation/next") == 0)
        return ROUTE_NEXT;
    if (post && strcmp(rest, "init/error") == 0)
        return ROUTE_INIT_ERROR;
    if (!post || strncmp(rest, "invocation/", 11) != 0)
        return ROUTE_NONE;
    rest += 11;
    const char *slash = strchr(rest, '/');
    if (!slash || (size_t)(slash - rest) > MAX_ID_LEN)
        return ROUTE_NONE;
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    if (strcmp(slash, "/response") == 0)
        return ROUTE_RESPONSE;
    return strcmp(slash, "/error") == 0 ? ROUTE_ERROR : ROUTE_NONE;
}

/* Sleeps ms in short slices so that a shutdown is not held up by a long injected delay. */
static void sleep_ms(uint32_t ms)
{
    while (ms > 0 && !sandbox_shutting_down()) {
        uint32_t slice = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

static ssize_t read_next_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct next_stream *s = cls;
    size_t limit = s->event->len;
    if (pos == 0 && s->fault.kind == FAULT_NEXT_DELAY_BODY)
        sleep_ms(s->fault.param);
    if (s->fault.kind == FAULT_NEXT_RESET_MID_BODY) {
        limit /= 2;
        if (pos >= limit) {
            sleep_ms(50); /* let the first half reach the runtime before the reset */
            http_arm_reset(s->conn);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = (size_t)(limit - pos) < max ? (size_t)(limit - pos) : max;
    memcpy(buf, s->event->data + pos, n);
    return (ssize_t)n;
}

static void free_next_stream(void *cls)
{
    struct next_stream *s = cls;
    blob_unref(s->event);
    free(s);
}

static struct MHD_Response *next_body(struct MHD_Connection *c, const struct delivery *d,
                                      const struct fault *f)
{
    if (f->kind != FAULT_NEXT_DELAY_BODY && f->kind != FAULT_NEXT_RESET_MID_BODY)
        return http_blob_response(d->event);
    struct next_stream *s = malloc(sizeof(*s));
    if (!s)
        abort(); /* out of memory */
    *s = (struct next_stream){blob_ref(d->event), c, *f};
    struct MHD_Response *r = MHD_create_response_from_callback(d->event->len, 64 * 1024,
                                                               read_next_body, s, free_next_stream);
    if (!r)
        abort();
    return r;
}

static void add_next_headers(struct MHD_Response *r, const struct delivery *d,
                             enum fault_kind fault)
{
    char deadline[32];
    snprintf(deadline, sizeof(deadline), "%" PRId64, d->deadline_ms);
    /* Ahead of the request id: a runtime must still learn it to answer the invoke. */
    if (fault == FAULT_NEXT_REPEAT_HEADER)
        http_header(r, "Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:repeated");
    if (fault == FAULT_NEXT_LONG_HEADER) {
        size_t n = 20000 - strlen("X-Amzn-Padding: \r\n"); /* the line is 20,000 bytes */
        char *padding = malloc(n + 1);
        if (!padding)
            abort(); /* out of memory */
        memset(padding, 'p', n);
        padding[n] = '\0';
        http_header(r, "X-Amzn-Padding", padding); /* copied by libmicrohttpd */
        free(padding);
    }
    if (fault != FAULT_NEXT_OMIT_REQUEST_ID)
        http_header(r, HDR_REQUEST_ID, d->request_id);
    if (fault == FAULT_NEXT_BAD_DEADLINE)
        http_header(r, HDR_DEADLINE, "12x4-not-a-deadline");
    else if (fault != FAULT_NEXT_OMIT_DEADLINE)
        http_header(r, HDR_DEADLINE, deadline);
    http_header(r, "Lambda-Runtime-Invoked-Function-Arn", d->function_arn);
    /* RIE sets these only when they have a value; the runtime must unset _X_AMZN_TRACE_ID then. */
    if (d->trace_id && *d->trace_id)
        http_header(r, "Lambda-Runtime-Trace-Id", d->trace_id);
    if (d->client_context && *d->client_context)
        http_header(r, "Lambda-Runtime-Client-Context", d->client_context);
    if (d->tenant_id && *d->tenant_id)
        http_header(r, "Lambda-Runtime-Aws-Tenant-Id", d->tenant_id);
    http_header(r, "Content-Type", "application/json");
}

/* The event was handed out in a form the runtime cannot use: queue it again for its next /next. */
static bool spoils_delivery(enum fault_kind k)
{
    return k == FAULT_NEXT_RESET_BEFORE_BODY || k == FAULT_NEXT_RESET_MID_BODY ||
           k == FAULT_NEXT_OMIT_REQUEST_ID || k == FAULT_NEXT_BAD_DEADLINE ||
           k == FAULT_NEXT_OMIT_DEADLINE || k == FAULT_NEXT_500;
}

/* A /next beyond AWS_LAMBDA_MAX_CONCURRENCY (concurrent mode). Lambda documents no answer for this;
 * the emulator answers 400 with its own error type, TooManyRequests, so a runtime that overruns the
 * limit fails loudly in tests instead of being silently served. */
static enum MHD_Result too_many_requests(struct MHD_Connection *c)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"errorMessage\":\"Too many concurrent requests: GET /next while "
             "AWS_LAMBDA_MAX_CONCURRENCY (%u) invocations are already in flight or waiting\","
             "\"errorType\":\"TooManyRequests\"}",
             sandbox_max_concurrency());
    return http_queue_json(c, 400, body);
}

static enum MHD_Result serve_next(struct MHD_Connection *c, struct req *rq)
{
    struct delivery d;
    enum next_status st = sandbox_next(&d, http_peer_gone, c);
    if (st == NEXT_TOO_MANY)
        return too_many_requests(c);
    if (st != NEXT_OK)
        return MHD_NO; /* a dead bootstrap's request, or shutting down: just close */
    struct fault f;
    if (fault_take(FAULT_SITE_NEXT, &f))
        log_fault(&f, d.request_id);
    if (spoils_delivery(f.kind))
        sandbox_undeliver(d.seq);
    else
        rq->delivered_seq = d.seq;
    enum MHD_Result ret;
    if (f.kind == FAULT_NEXT_RESET_BEFORE_BODY) {
        http_arm_reset(c);
        ret = MHD_NO;
    } else if (f.kind == FAULT_NEXT_500) {
        ret = http_queue_json(c, 500,
                              "{\"errorMessage\":\"Internal server error (injected)\","
                              "\"errorType\":\"InternalServerError\"}");
    } else {
        struct MHD_Response *r = next_body(c, &d, &f);
        add_next_headers(r, &d, f.kind);
        ret = http_queue(c, 200, r);
    }
    sandbox_delivery_clean_up(&d);
    return ret;
}

static int forced_status(const struct fault *f)
{
    switch (f->kind) {
    case FAULT_RESPONSE_413: return 413;
    case FAULT_RESPONSE_403: return 403;
    case FAULT_RESPONSE_400: return 400;
    case FAULT_RESPONSE_500: return 500;
    default: return 0;
    }
}

static const char *status_body(int status)
{
    switch (status) {
    case 202: return "{\"status\":\"OK\"}";
    case 400: return "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}";
    case 403:
        return "{\"errorMessage\":\"Invalid state "
               "transition\",\"errorType\":\"InvalidStateTransition\"}";
    case 413:
        return "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\","
               "\"errorType\":\"RequestEntityTooLarge\"}";
    default:
        return "{\"errorMessage\":\"Internal server error\",\"errorType\":\"InternalServerError\"}";
    }
}

static enum MHD_Result serve_post(struct MHD_Connection *c, struct req *rq)
{
    struct blob *body = http_body_take(&rq->body);
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, HDR_ERROR_TYPE);
    int status;
    if (rq->route == ROUTE_INIT_ERROR) {
        status = sandbox_init_error(body, type);
    } else {
        struct post p = {rq->route == ROUTE_RESPONSE ? POST_RESPONSE : POST_ERROR, rq->id, body,
                         type, body == NULL};
        struct fault f;
        if (fault_take(FAULT_SITE_POST, &f))
            log_fault(&f, rq->id);
        status = sandbox_post(&p, forced_status(&f));
    }
    blob_unref(body);
    return http_queue_json(c, (unsigned)status, status_body(status));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **ctx)
{
    (void)cls;
    (void)version;
    struct req *rq = *ctx;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            abort(); /* out of memory */
        rq->route = parse_route(method, url, rq->id);
        http_body_init(&rq->body, SANDBOX_MAX_PAYLOAD);
        *ctx = rq;
        return MHD_YES;
    }
    if (http_body_collect(&rq->body, upload, upload_size))
        return MHD_YES;
    if (rq->route == ROUTE_NONE)
        return http_queue_json(c, 404,
                               "{\"errorMessage\":\"Not found\",\"errorType\":\"NotFound\"}");
    return rq->route == ROUTE_NEXT ? serve_next(c, rq) : serve_post(c, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    struct req *rq = *ctx;
    if (!rq)
        return;
    /* The event never fully reached the bootstrap (e.g. it died while reading): hand it out again. */
    if (rq->delivered_seq && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        sandbox_undeliver(rq->delivered_seq);
    http_body_clean_up(&rq->body);
    free(rq);
    *ctx = NULL;
}

static void notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
                   enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        sandbox_count_connection(true);
}

struct MHD_Daemon *rapi_start(uint16_t port, uint16_t *bound_port)
{
    return http_start(port, handle, completed, notify, bound_port);
}
