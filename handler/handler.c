/* The bundled handler: settings, the record callback, the sink, and the invoke function. */
#include "handler.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <inttypes.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "lr/clock.h"
#include "lr/emf.h"
#include "lr/log.h"

enum lr_status handler_init_from_env(struct handler *h, char *msg, size_t msg_cap)
{
    assert(h);
    memset(h, 0, sizeof(*h));
    enum lr_status st = handler_config_from_env(&h->cfg, msg, msg_cap);
    if (st != LR_OK)
        return st;
    record_log_init(&h->rl);
    lr_batch_handler_init(&h->batch, handler_on_record, h);
    h->batch.options = h->cfg.batch;
    h->batch.emf_namespace = h->cfg.emf ? h->cfg.emf_namespace : NULL;
    h->batch.window = handler_window;
    if (h->cfg.sink == HANDLER_SINK_LOG)
        return LR_OK;
    h->batch.settle = handler_settle;
    /* Half the batch's margin: the calls of the last settle still leave time to post the answer. */
    uint32_t margin = (uint32_t)(h->cfg.batch.deadline_margin_ms / 2);
    bool ordered = h->cfg.batch.mode == LR_BATCH_MODE_ORDERED;
    if (h->cfg.sink == HANDLER_SINK_DYNAMODB)
        return sink_ddb_init(&h->sink, h->cfg.sink_table, h->cfg.sink_region, ordered, margin, msg,
                             msg_cap);
    const struct sink_msg_settings set = {
        .kind = h->cfg.sink == HANDLER_SINK_SQS   ? SINK_MSG_SQS
                : h->cfg.sink == HANDLER_SINK_SNS ? SINK_MSG_SNS
                                                  : SINK_MSG_EVENTBRIDGE,
        .target = h->cfg.sink_target,
        .region = h->cfg.sink_region,
        .fifo = h->cfg.sink_fifo,
        .max_bytes = h->cfg.sink_max_bytes,
        .event_source = h->cfg.event_source,
        .ddb_images = h->cfg.sink_format == HANDLER_SINK_FORMAT_DDB,
        .numbers = h->cfg.sink_numbers,
        .ordered = ordered,
        .call_margin_ms = margin,
    };
    return sink_msg_init(&h->messages, &set, msg, msg_cap);
}

static const char *sink_name(enum handler_sink sink)
{
    static const char *const names[] = {"log", "dynamodb", "sqs", "sns", "eventbridge"};
    return names[sink];
}

static struct sink_core *core(struct handler *h)
{
    return h->cfg.sink == HANDLER_SINK_DYNAMODB ? &h->sink.core : &h->messages.core;
}

/* The sink's EMF line: dimensions FunctionName (when known) and Sink. */
static void emit_sink_metrics(struct handler *h, const struct lr_invocation_request *req)
{
    const struct sink_stats *st = &core(h)->stats;
    const struct lr_emf_metric metrics[] = {
        {"SinkWritesSent", "Count", st->sent},
        {"SinkRecordsFailed", "Count", st->failed},
        {"SinkWritesRetried", "Count", st->retried},
        {"SinkThrottled", "Count", st->throttled},
        {"SinkRequests", "Count", st->requests},
        {"SinkCallMs", "Milliseconds", st->call_ms},
        {"SinkCallMaxMs", "Milliseconds", st->call_max_ms},
    };
    const char *fn = h->batch.function_name;
    const char *sink = sink_name(h->cfg.sink);
    struct lr_emf_member dims[2] = {{"Sink", {sink, strlen(sink)}},
                                    {"FunctionName", {fn, fn ? strlen(fn) : 0}}};
    struct lr_emf_member prop = {"requestId", req->request_id};
    struct lr_emf_doc doc = {
        .namespace_name = h->batch.emf_namespace,
        .timestamp_ms = lr_clock_now_ms(),
        .dimensions = dims,
        .n_dimensions = dims[1].value.len ? 2 : 1,
        .metrics = metrics,
        .n_metrics = sizeof(metrics) / sizeof(metrics[0]),
        .properties = &prop,
        .n_properties = req->request_id.len ? 1 : 0,
    };
    (void)lr_emf_print(&doc);
}

struct lr_invocation_response handler_invoke(const struct lr_invocation_request *req,
                                             void *user_data)
{
    struct handler *h = user_data;
    assert(req && h);
    bool sink = h->cfg.sink != HANDLER_SINK_LOG;
    if (h->cfg.sink == HANDLER_SINK_DYNAMODB)
        sink_ddb_begin(&h->sink, req->deadline_ms);
    else if (sink)
        sink_msg_begin(&h->messages, req->deadline_ms);
    struct lr_invocation_response resp = lr_batch_handle(req, &h->batch);
    if (sink && h->batch.emf_namespace)
        emit_sink_metrics(h, req);
    return resp;
}

void handler_log_record(struct handler *h, const struct ddb_record *rec)
{
    if (h->cfg.log_records != HANDLER_LOG_RECORDS_NONE)
        record_log_write(&h->rl, rec, h->cfg.log_records == HANDLER_LOG_RECORDS_FULL,
                         h->cfg.log_images == HANDLER_LOG_IMAGES_PLAIN);
}

enum lr_batch_record_status handler_on_record(const struct ddb_record *rec, void *user_data,
                                              struct lr_batch_reason *reason)
{
    struct handler *h = user_data;
    handler_log_record(h, rec);
    if (h->cfg.sink == HANDLER_SINK_DYNAMODB)
        return sink_ddb_on_record(&h->sink, rec, reason);
    if (h->cfg.sink != HANDLER_SINK_LOG)
        return sink_msg_on_record(&h->messages, rec, reason);
    return LR_BATCH_RECORD_OK;
}

void handler_settle(void *user_data, struct lr_batch_deferred *deferred)
{
    struct handler *h = user_data;
    if (h->cfg.sink == HANDLER_SINK_DYNAMODB)
        sink_ddb_settle(&h->sink, deferred);
    else
        sink_msg_settle(&h->messages, deferred);
}

/* The window's totals: the incoming state's members (0 when absent) plus this invoke's successes. */
enum window_total { W_RECORDS, W_INSERT, W_MODIFY, W_REMOVE, W_BYTES, W_N };
static const char *const k_window_names[W_N] = {"records", "INSERT", "MODIFY", "REMOVE", "bytes"};

static void read_state(struct lr_str in, int64_t totals[W_N])
{
    cJSON *state = in.len ? cJSON_ParseWithLength(in.ptr, in.len) : NULL;
    if (in.len && !cJSON_IsObject(state))
        lr_log(LR_LOG_WARN, "the window's incoming state is not a JSON object: counting from 0");
    for (int i = 0; i < W_N; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(state, k_window_names[i]);
        /* counts stay far below 2^53, where a double is exact */
        totals[i] = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15
                        ? (int64_t)v->valuedouble
                        : 0;
    }
    cJSON_Delete(state);
}

static void log_window(const struct handler *h, const struct ddb_window *w, const int64_t t[W_N])
{
    lr_log(LR_LOG_INFO,
           "window done: %.*s to %.*s: %" PRId64 " records, %" PRId64 " INSERT, %" PRId64
           " MODIFY, %" PRId64 " REMOVE, %" PRId64 " bytes%s",
           (int)(w->start.len > 40 ? 40 : w->start.len), w->start.ptr ? w->start.ptr : "",
           (int)(w->end.len > 40 ? 40 : w->end.len), w->end.ptr ? w->end.ptr : "", t[W_RECORDS],
           t[W_INSERT], t[W_MODIFY], t[W_REMOVE], t[W_BYTES],
           w->is_window_terminated_early ? " (ended early: the state reached its limit)" : "");
    if (!h->batch.emf_namespace)
        return;
    const struct lr_emf_metric metrics[] = {
        {"WindowRecords", "Count", t[W_RECORDS]}, {"WindowInserts", "Count", t[W_INSERT]},
        {"WindowModifies", "Count", t[W_MODIFY]}, {"WindowRemoves", "Count", t[W_REMOVE]},
        {"WindowBytes", "Bytes", t[W_BYTES]},
    };
    const char *fn = h->batch.function_name;
    struct lr_emf_member dim = {"FunctionName", {fn, fn ? strlen(fn) : 0}};
    struct lr_emf_member props[] = {
        {"windowStart", w->start}, {"windowEnd", w->end}, {"shardId", w->shard_id}};
    struct lr_emf_doc doc = {
        .namespace_name = h->batch.emf_namespace,
        .timestamp_ms = lr_clock_now_ms(),
        .dimensions = &dim,
        .n_dimensions = dim.value.len ? 1 : 0,
        .metrics = metrics,
        .n_metrics = sizeof(metrics) / sizeof(metrics[0]),
        .properties = props,
        .n_properties = sizeof(props) / sizeof(props[0]),
    };
    (void)lr_emf_print(&doc);
}

enum lr_status handler_window(void *user_data, const struct ddb_window *w,
                              const struct lr_batch_result *res, struct lr_buf *state)
{
    const struct handler *h = user_data;
    int64_t t[W_N];
    read_state(w->state_json, t);
    t[W_RECORDS] += (int64_t)res->succeeded;
    for (int i = W_INSERT; i <= W_REMOVE; i++)
        t[i] += (int64_t)res->succeeded_by_event[DDB_EVENT_INSERT + (i - W_INSERT)];
    t[W_BYTES] += res->succeeded_size_bytes;
    char text[256];
    snprintf(text, sizeof(text),
             "{\"records\":%" PRId64 ",\"INSERT\":%" PRId64 ",\"MODIFY\":%" PRId64
             ",\"REMOVE\":%" PRId64 ",\"bytes\":%" PRId64 "}",
             t[W_RECORDS], t[W_INSERT], t[W_MODIFY], t[W_REMOVE], t[W_BYTES]);
    lr_buf_put_str(state, text);
    if (w->is_final_invoke_for_window)
        log_window(h, w, t);
    return LR_OK;
}

void handler_clean_up(struct handler *h)
{
    if (!h)
        return;
    record_log_clean_up(&h->rl);
    sink_ddb_clean_up(&h->sink);
    sink_msg_clean_up(&h->messages);
    memset(h, 0, sizeof(*h));
}

static struct lr_invocation_response invoke_on_worker(const struct lr_invocation_request *req,
                                                      void *user_data)
{
    struct handler *per_worker = user_data;
    return handler_invoke(req, &per_worker[req->worker]);
}

static void clean_up_all(struct handler *hs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        handler_clean_up(&hs[i]);
    free(hs);
}

int handler_main(handler_customise_fn customise)
{
    char msg[512];
    lr_log_init_from_env();
    uint32_t n = 1;
    if (lr_run_concurrency(&n) != LR_OK)
        return lr_run_handler(invoke_on_worker, NULL); /* reports Runtime.ConfigInvalid */
    struct handler *hs = calloc(n, sizeof(*hs));       /* lives as long as the run loop */
    if (hs == NULL)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        if (handler_init_from_env(&hs[i], msg, sizeof(msg)) != LR_OK ||
            (customise != NULL && customise(&hs[i], msg, sizeof(msg)) != LR_OK)) {
            lr_log(LR_LOG_FATAL, "configuration error: %s", msg);
            clean_up_all(hs, n); /* zeroed or half set up: both are safe to clean */
            return lr_report_init_error(msg, "Runtime.ConfigInvalid");
        }
    }
    /* Lambda's log-level filter reads a JSON line without "level" as INFO, and EMF has none. */
    if (hs[0].batch.emf_namespace && !lr_log_enabled(LR_LOG_INFO))
        lr_log(LR_LOG_WARN, "the log level is above INFO: Lambda drops the EMF metrics lines, which "
                            "it reads as INFO; set the function's ApplicationLogLevel to INFO to "
                            "keep the metrics, or LR_EMF=off");
    int rc = lr_run_handler(invoke_on_worker, hs);
    clean_up_all(hs, n);
    return rc;
}
