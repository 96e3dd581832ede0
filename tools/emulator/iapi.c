/* Invoke API server (see iapi.h). */
#include "iapi.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "http.h"
#include "logtail.h"
#include "sandbox.h"

#define FUNCTIONS_PREFIX "/2015-03-31/functions/"
#define MAX_FAULTS_BODY ((size_t)64 * 1024)

enum route { ROUTE_NONE, ROUTE_INVOKE, ROUTE_FAULTS, ROUTE_STATS };

struct req {
    enum route route;
    struct http_body body;
};

/* Invoke requests received and not yet completely answered (see iapi_drain). */
static atomic_uint in_flight;

static bool is_invoke_path(const char *url)
{
    if (strncmp(url, FUNCTIONS_PREFIX, strlen(FUNCTIONS_PREFIX)) != 0)
        return false;
    const char *name = url + strlen(FUNCTIONS_PREFIX);
    const char *slash = strchr(name, '/');
    /* Any function name is accepted: there is only one function here. */
    return slash && slash > name && strcmp(slash, "/invocations") == 0;
}

static enum route parse_route(const char *method, const char *url)
{
    bool post = strcmp(method, "POST") == 0;
    if (post && is_invoke_path(url))
        return ROUTE_INVOKE;
    if (post && strcmp(url, "/emulator/faults") == 0)
        return ROUTE_FAULTS;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/emulator/stats") == 0)
        return ROUTE_STATS;
    return ROUTE_NONE;
}

static enum MHD_Result too_large(struct MHD_Connection *c)
{
    char body[160];
    snprintf(body, sizeof(body),
             "{\"Type\":\"User\",\"message\":\"Request must be smaller than %zu bytes for the "
             "InvokeFunction operation\"}",
             SANDBOX_MAX_PAYLOAD);
    struct blob *b = blob_from_str(body);
    struct MHD_Response *r = http_blob_response(b);
    blob_unref(b);
    http_header(r, "Content-Type", "application/json");
    /* awscli/botocore read the error code from this header, as from real Lambda. */
    http_header(r, "x-amzn-ErrorType", "RequestEntityTooLargeException");
    return http_queue(c, 413, r);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* X-Amz-Log-Result: the base64 of the invoke's last 4 KB of log, as Lambda answers `--log-type Tail`. */
static void add_log_result(struct MHD_Response *r, const struct invoke_result *res)
{
    char *tail = logtail_base64(res->log_start, res->log_end);
    if (tail)
        http_header(r, "X-Amz-Log-Result", tail);
    free(tail);
}

static enum MHD_Result answer_invoke(struct MHD_Connection *c, const struct invoke_result *res,
                                     const char *invocation_type, bool tail)
{
    if (res->kind == RESULT_UNAVAILABLE)
        return http_queue(c, 503, http_blob_response(res->body));
    bool async = invocation_type && strcmp(invocation_type, "Event") == 0;
    struct blob *empty = blob_new("", 0);
    struct MHD_Response *r = http_blob_response(async ? empty : res->body);
    blob_unref(empty);
    http_header(r, "Content-Type", "application/json");
    http_header(r, "X-Amzn-RequestId", res->request_id);
    http_header(r, "X-Amz-Executed-Version", "$LATEST");
    if (res->kind == RESULT_FUNCTION_ERROR && !async)
        http_header(r, "X-Amz-Function-Error", "Unhandled");
    if (tail && !async)
        add_log_result(r, res);
    return http_queue(c, async ? 202 : 200, r);
}

static enum MHD_Result serve_invoke(struct MHD_Connection *c, struct req *rq)
{
    struct blob *event = http_body_take(&rq->body);
    if (!event)
        return too_large(c);
    const char *type = header(c, "X-Amz-Invocation-Type");
    if (type && strcmp(type, "DryRun") == 0) {
        blob_unref(event);
        return http_queue_json(c, 204, "");
    }
    const char *log_type = header(c, "X-Amz-Log-Type");
    bool tail = log_type && strcmp(log_type, "Tail") == 0;
    struct invoke_meta meta = {header(c, "X-Amzn-Trace-Id"), header(c, "X-Amz-Client-Context"),
                               header(c, "X-Amz-Tenant-Id"), tail};
    /* Event (asynchronous) invokes run to completion before the 202: simpler, and ordering is kept. */
    struct invoke_result res = sandbox_invoke(event, &meta);
    blob_unref(event);
    enum MHD_Result ret = answer_invoke(c, &res, type, tail);
    blob_unref(res.body);
    return ret;
}

static enum MHD_Result serve_faults(struct MHD_Connection *c, struct req *rq)
{
    struct blob *b = http_body_take(&rq->body);
    enum fault_status st = b ? fault_arm_lines(b->data, b->len) : FAULT_E_TOO_MANY;
    blob_unref(b);
    if (st != FAULT_OK) {
        char msg[160];
        snprintf(msg, sizeof(msg), "{\"errorMessage\":\"%s\",\"errorType\":\"InvalidFault\"}",
                 fault_status_str(st));
        return http_queue_json(c, 400, msg);
    }
    return http_queue_json(c, 200, "{\"status\":\"OK\"}");
}

static enum MHD_Result serve_stats(struct MHD_Connection *c)
{
    char *json = sandbox_stats_json();
    enum MHD_Result ret = http_queue_json(c, 200, json);
    free(json);
    return ret;
}

static enum MHD_Result dispatch(struct MHD_Connection *c, struct req *rq)
{
    switch (rq->route) {
    case ROUTE_INVOKE: return serve_invoke(c, rq);
    case ROUTE_FAULTS: return serve_faults(c, rq);
    case ROUTE_STATS: return serve_stats(c);
    case ROUTE_NONE: break;
    }
    return http_queue_json(c, 404, "{\"message\":\"Not found\",\"Type\":\"User\"}");
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
        rq->route = parse_route(method, url);
        if (rq->route == ROUTE_INVOKE)
            atomic_fetch_add(&in_flight, 1u);
        http_body_init(&rq->body,
                       rq->route == ROUTE_INVOKE ? SANDBOX_MAX_PAYLOAD : MAX_FAULTS_BODY);
        *ctx = rq;
        return MHD_YES;
    }
    if (http_body_collect(&rq->body, upload, upload_size))
        return MHD_YES;
    return dispatch(c, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req *rq = *ctx;
    if (!rq)
        return;
    if (rq->route == ROUTE_INVOKE)
        atomic_fetch_sub(&in_flight, 1u);
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
        sandbox_count_connection(false);
}

void iapi_drain(unsigned timeout_ms)
{
    for (unsigned waited = 0; atomic_load(&in_flight) > 0 && waited < timeout_ms; waited += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

struct MHD_Daemon *iapi_start(uint16_t port, uint16_t *bound_port)
{
    return http_start(port, handle, completed, notify, bound_port);
}
