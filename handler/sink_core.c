/* The bookkeeping every sink shares: failures and their reasons until the batch layer settles them,
 * and one timed call. */
#include "sink_core.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr/clock.h"
#include "lr/json.h"
#include "lr/log.h"

struct sink_failure {
    size_t record_index;
    size_t reason_off;
};

enum lr_status sink_core_init(struct sink_core *c, const char *region, bool ordered,
                              uint32_t call_margin_ms, size_t max_body, char *msg, size_t msg_cap)
{
    assert(c && region && msg);
    memset(c, 0, sizeof(*c));
    lr_buf_init(&c->failures, SINK_MAX_PENDING * sizeof(struct sink_failure));
    lr_buf_init(&c->reasons, (size_t)SINK_MAX_PENDING * 2 * LR_BATCH_REASON_MAX);
    lr_buf_init(&c->body, max_body);
    lr_aws_response_init(&c->resp);
    c->ordered = ordered;
    struct lr_aws_settings set;
    if (lr_aws_settings_init(&set) != LR_OK) {
        snprintf(msg, msg_cap, "invalid AWS_MAX_ATTEMPTS=\"%.16s\": expected 1..20",
                 getenv("AWS_MAX_ATTEMPTS"));
        return LR_E_CONFIG;
    }
    set.deadline_margin_ms = call_margin_ms;
    snprintf(set.region, sizeof(set.region), "%s", region);
    if (lr_aws_client_new(&set, &c->aws) != LR_OK) {
        snprintf(msg, msg_cap, "the sink's AWS client cannot be set up for region \"%.63s\"",
                 region);
        return LR_E_CONFIG;
    }
    return LR_OK;
}

void sink_core_begin(struct sink_core *c, int64_t deadline_ms)
{
    assert(c && c->failures.len == 0); /* the last invoke settled */
    c->deadline_ms = deadline_ms;
    c->failed = false;
    c->aborted = false;
    memset(&c->stats, 0, sizeof(c->stats));
}

size_t sink_core_reason(struct sink_core *c, const char *text)
{
    size_t off = c->reasons.len;
    lr_buf_put(&c->reasons, text, strlen(text) + 1);
    return c->reasons.overflow ? 0 : off;
}

/* The failures list never overflows: sink_core_has_room() keeps it and the pending records under
 * SINK_MAX_PENDING entries together. */
void sink_core_fail(struct sink_core *c, size_t record_index, size_t reason_off)
{
    const struct sink_failure f = {record_index, reason_off};
    lr_buf_put(&c->failures, &f, sizeof(f));
    c->failed = true;
}

bool sink_core_has_room(const struct sink_core *c, size_t pending, struct lr_batch_reason *reason)
{
    if (c->failures.len / sizeof(struct sink_failure) + pending < SINK_MAX_PENDING)
        return true;
    lr_batch_reason_set(reason, "more than %d records awaiting the outcome of their writes",
                        SINK_MAX_PENDING);
    return false;
}

enum lr_status sink_core_call(struct sink_core *c, const struct lr_aws_service *svc,
                              const char *operation)
{
    lr_log_flush(); /* a call can block for seconds: held log lines go out before it */
    int64_t start = lr_clock_now_ms();
    struct lr_str body = {c->body.data, c->body.len};
    enum lr_status st =
        operation ? lr_aws_json_call(c->aws, svc, operation, body, c->deadline_ms, &c->resp)
                  : lr_aws_query_call(c->aws, svc, body, c->deadline_ms, &c->resp);
    int64_t ms = lr_clock_now_ms() - start;
    c->stats.requests++;
    c->stats.call_ms += ms;
    if (ms > c->stats.call_max_ms)
        c->stats.call_max_ms = ms;
    if (st == LR_E_AWS_THROTTLED)
        c->stats.throttled++;
    return st;
}

void sink_core_call_error(const struct sink_core *c, const char *operation, enum lr_status st,
                          char *why, size_t cap)
{
    const struct lr_aws_response *r = &c->resp;
    snprintf(why, cap, "%s failed after %u attempt(s): %s%s%.128s%s%.400s", operation, r->attempts,
             lr_status_str(st), r->error_code[0] ? ": " : "", r->error_code,
             r->error_message[0] ? ": " : "", r->error_message);
}

void sink_core_settle(struct sink_core *c, struct lr_batch_deferred *deferred)
{
    size_t n = c->failures.len / sizeof(struct sink_failure);
    /* lr_buf memory is malloc's, aligned for any type */
    const struct sink_failure *f = (const struct sink_failure *)(const void *)c->failures.data;
    for (size_t i = 0; i < n; i++) {
        const char *why = c->reasons.data ? c->reasons.data + f[i].reason_off : "";
        if (lr_batch_deferred_fail(deferred, f[i].record_index, why) == LR_OK)
            c->stats.failed++;
    }
    lr_buf_reset(&c->failures);
    lr_buf_reset(&c->reasons);
}

static int name_cmp(const struct ddb_member *a, const struct ddb_member *b)
{
    size_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
    int c = memcmp(a->name.ptr, b->name.ptr, n);
    return c ? c : (a->name.len > b->name.len) - (a->name.len < b->name.len);
}

bool sink_core_key(const struct ddb_map *keys, struct lr_buf *out, struct lr_batch_reason *reason)
{
    if (keys->count < 1 || keys->count > 2) {
        lr_batch_reason_set(reason, "Keys must hold the table's 1 or 2 key attributes (%zu given)",
                            keys->count);
        return false;
    }
    const struct ddb_member *m = keys->members;
    size_t first = keys->count == 2 && name_cmp(&m[0], &m[1]) > 0;
    bool ok = true;
    lr_buf_put(out, "{", 1);
    for (size_t i = 0; i < keys->count; i++) {
        const struct ddb_member *k = &m[i ? 1 - first : first];
        if (i)
            lr_buf_put(out, ",", 1);
        lr_buf_put_json_string(out, k->name.ptr, k->name.len, LR_JSON_ESCAPE_MIN);
        lr_buf_put(out, ":", 1);
        ok = ok && ddb_attr_serialize(&k->value, out) == LR_OK;
    }
    lr_buf_put(out, "}", 1);
    if (!ok || out->overflow)
        lr_batch_reason_set(
            reason, "the item's Keys cannot be written as at most %zu bytes of JSON", out->cap);
    return ok && !out->overflow;
}

void sink_core_clean_up(struct sink_core *c)
{
    if (!c)
        return;
    lr_aws_client_destroy(c->aws);
    lr_buf_clean_up(&c->failures);
    lr_buf_clean_up(&c->reasons);
    lr_buf_clean_up(&c->body);
    lr_aws_response_clean_up(&c->resp);
    memset(c, 0, sizeof(*c));
}
