/* The per-batch outputs of lr/batch.h besides the response: the summary log line and the EMF line.
 * Kept apart from the walker so each file stays one concern. */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "lr/batch.h"
#include "lr/clock.h"
#include "lr/emf.h"
#include "lr/json.h"
#include "lr/log.h"

/* Decimal text of n in storage owned by the caller. */
static struct lr_str num_str(char buf[LR_JSON_INT_MAX], int64_t n)
{
    return (struct lr_str){buf, lr_json_int(buf, n)};
}

void lr_batch_log_summary(const struct lr_batch_result *res)
{
    assert(res);
    char b[8][LR_JSON_INT_MAX];
    const char *status = lr_status_str(res->status);
    bool stop = res->deadline_stop;
    const struct lr_log_field fields[] = {
        {"records", num_str(b[0], (int64_t)res->batch_size), true},
        {"processed", num_str(b[1], (int64_t)res->processed), true},
        {"failed", num_str(b[2], (int64_t)res->failed), true},
        {"skipped", num_str(b[3], (int64_t)res->skipped), true},
        {"reported", num_str(b[4], (int64_t)res->reported), true},
        {"bytes", num_str(b[5], (int64_t)res->bytes), true},
        {"elapsedMs", num_str(b[6], res->elapsed_ms), true},
        {"maxIteratorAgeMs", num_str(b[7], res->max_iterator_age_ms), true},
        {"checkpoint", {res->checkpoint, strlen(res->checkpoint)}, false},
        {"deadlineStop", stop ? LR_STR_LIT("true") : LR_STR_LIT("false"), true},
        {"status", {status, strlen(status)}, false},
    };
    bool clean = res->status == LR_OK && res->reported == 0;
    lr_log_fields(clean ? LR_LOG_INFO : LR_LOG_WARN, fields, sizeof(fields) / sizeof(fields[0]),
                  "batch done: %zu records, %zu failed, %zu skipped in %" PRId64 " ms",
                  res->batch_size, res->failed, res->skipped, res->elapsed_ms);
}

enum lr_status lr_batch_emit_metrics(const struct lr_batch_result *res, const char *namespace_name,
                                     const char *function_name,
                                     const struct lr_invocation_request *req)
{
    assert(res && req);
    struct lr_emf_metric metrics[] = {
        {"BatchSize", "Count", (int64_t)res->batch_size},
        {"RecordsProcessed", "Count", (int64_t)res->processed},
        {"RecordsFailed", "Count", (int64_t)res->failed},
        {"RecordsSkipped", "Count", (int64_t)res->skipped},
        {"MaxIteratorAgeMs", "Milliseconds", res->max_iterator_age_ms},
    };
    struct lr_emf_member dim = {"FunctionName",
                                {function_name, function_name ? strlen(function_name) : 0}};
    struct lr_emf_member props[2];
    size_t n_props = 0;
    if (req->request_id.len)
        props[n_props++] = (struct lr_emf_member){"requestId", req->request_id};
    if (req->xray_trace_id.len)
        props[n_props++] = (struct lr_emf_member){"traceId", req->xray_trace_id};
    struct lr_emf_doc doc = {
        .namespace_name = namespace_name,
        .timestamp_ms = lr_clock_now_ms(),
        .dimensions = &dim,
        .n_dimensions = dim.value.len ? 1 : 0,
        .metrics = metrics,
        /* an unknown age is left out rather than reported as a fake 0 */
        .n_metrics = res->max_iterator_age_ms >= 0 ? 5 : 4,
        .properties = props,
        .n_properties = n_props,
    };
    return lr_emf_print(&doc);
}
