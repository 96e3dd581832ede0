/* Batch walker: one record at a time through ddb_reader, the partial batch response, the summary
 * line and the EMF line of a batch. */
#include "lr/batch.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lr/buf.h"
#include "lr/clock.h"
#include "lr/emf.h"
#include "lr/json.h"
#include "lr/log.h"

static const char k_body_open[] = "{\"batchItemFailures\":[";

const char *lr_batch_error_type(enum lr_status st)
{
    switch (st) {
    case LR_OK: return "";
    case LR_E_INVALID_EVENT: return "Function.InvalidEvent";
    case LR_E_NO_SEQUENCE: return "Function.MissingSequenceNumber";
    case LR_E_ALL_FAILED: return "Function.AllRecordsFailed";
    case LR_E_TOO_LARGE: return "Function.ResponseSizeTooLarge";
    case LR_E_CONFIG: return "Function.ConfigInvalid";
    case LR_E_STATE_TOO_LARGE: return "Function.StateTooLarge";
    default: return "Function.Unknown"; /* not an outcome of lr_batch_process() */
    }
}

void lr_batch_reason_set(struct lr_batch_reason *reason, const char *fmt, ...)
{
    assert(reason && fmt);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(reason->text, sizeof(reason->text), fmt, ap);
    va_end(ap);
    if (n < 0)
        reason->text[0] = '\0';
}

void lr_batch_options_init(struct lr_batch_options *opts)
{
    assert(opts);
    memset(opts, 0, sizeof(*opts));
    opts->mode = LR_BATCH_MODE_ORDERED;
    opts->all_failed = LR_BATCH_ALL_FAILED_ITEMS;
    opts->deadline_margin_ms = LR_BATCH_DEFAULT_DEADLINE_MARGIN_MS;
}

/* ---- configuration from the environment ---- */

/* lr_parse_u64 rejects signs, spaces and garbage; 7 characters bound the accepted spellings. */
static bool parse_ms(const char *s, int64_t max, int64_t *out)
{
    size_t len = strlen(s);
    uint64_t v = 0;
    if (len > 7 || lr_parse_u64(s, len, (uint64_t)max, &v) != LR_OK)
        return false;
    *out = (int64_t)v;
    return true;
}

/* Matches value against two names; 0 or 1 for a match, -1 otherwise. */
static int pick(const char *value, const char *name0, const char *name1)
{
    if (strcmp(value, name0) == 0)
        return 0;
    if (strcmp(value, name1) == 0)
        return 1;
    return -1;
}

static enum lr_status env_bad(char *msg, size_t cap, const char *var, const char *value,
                              const char *want)
{
    if (msg && cap)
        snprintf(msg, cap, "invalid %s=\"%.64s\": expected %s", var, value, want);
    return LR_E_CONFIG;
}

enum lr_status lr_batch_options_from_env(struct lr_batch_options *opts, char *msg, size_t msg_cap)
{
    assert(opts);
    const char *v = getenv("LR_BATCH_MODE");
    if (v && *v) {
        int i = pick(v, "ordered", "continue");
        if (i < 0)
            return env_bad(msg, msg_cap, "LR_BATCH_MODE", v, "ordered or continue");
        opts->mode = i ? LR_BATCH_MODE_CONTINUE : LR_BATCH_MODE_ORDERED;
    }
    v = getenv("LR_ALL_FAILED");
    if (v && *v) {
        int i = pick(v, "items", "error");
        if (i < 0)
            return env_bad(msg, msg_cap, "LR_ALL_FAILED", v, "items or error");
        opts->all_failed = i ? LR_BATCH_ALL_FAILED_ERROR : LR_BATCH_ALL_FAILED_ITEMS;
    }
    v = getenv("LR_DEADLINE_MARGIN_MS");
    if (v && *v && !parse_ms(v, LR_BATCH_MAX_DEADLINE_MARGIN_MS, &opts->deadline_margin_ms))
        return env_bad(msg, msg_cap, "LR_DEADLINE_MARGIN_MS", v,
                       "milliseconds as decimal digits, 0..900000");
    return LR_OK;
}

/* ---- the walk ---- */

/* What the layer keeps of a deferred record: the borrowed record is gone once fn returns. */
struct deferred_rec {
    size_t index;
    enum ddb_event_name event_name;
    int64_t size_bytes;
    char seq[DDB_MAX_SEQUENCE_DIGITS + 1]; /* "" when the record has no usable SequenceNumber */
    char event_id[65];                     /* for the logs; cut at 64 bytes */
    bool failed;
};

struct lr_batch_deferred {
    struct deferred_rec *v; /* one slot per record of the batch, in mem */
    size_t n;
    struct lr_buf mem; /* allocated when the walk starts (out of memory aborts, as lr_buf does) */
};

struct walk {
    const struct lr_batch_options *opts;
    lr_batch_record_fn fn;
    lr_batch_settle_fn settle;
    lr_batch_window_fn window_fn;
    struct ddb_window window; /* the event's: views into it */
    void *user_data;
    struct lr_batch_result *res;
    struct lr_buf body;
    struct lr_batch_deferred deferred;
    bool stop;
};

/* Makes the batch an invoke error (the first error wins) and logs why. */
static void fail_invoke(struct walk *w, enum lr_status st, const char *fmt, ...) LR_PRINTF(3, 4);
static void fail_invoke(struct walk *w, enum lr_status st, const char *fmt, ...)
{
    w->stop = true;
    if (w->res->status != LR_OK)
        return;
    w->res->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->res->error_message, sizeof(w->res->error_message), fmt, ap);
    va_end(ap);
    lr_log(LR_LOG_ERROR, "%s: %s", lr_batch_error_type(st), w->res->error_message);
}

/* Who a failure is about: a live record, or what the layer kept of a deferred one. */
struct failure {
    size_t index;
    struct lr_str seq;
    struct lr_str event_id;
};

static void log_failure(const struct failure *f, const char *why)
{
    char index[LR_JSON_INT_MAX];
    const struct lr_log_field fields[] = {
        {"sequenceNumber", f->seq, false},
        {"eventID", f->event_id, false},
        {"recordIndex", {index, lr_json_int(index, (int64_t)f->index)}, true},
        {"reason", {why, strlen(why)}, false},
    };
    lr_log_fields(LR_LOG_WARN, fields, 4, "record failed: %s", why);
}

/* Adds a failed record to batchItemFailures (in ordered mode only the first one, the checkpoint),
 * or turns the invoke into an error when it has no identifier. Logging is the caller's. */
static void report(struct walk *w, const struct failure *f, const char *why)
{
    struct lr_batch_result *res = w->res;
    if (f->seq.len == 0 || f->seq.len > DDB_MAX_SEQUENCE_DIGITS) {
        int id_len = f->event_id.len > 64 ? 64 : (int)f->event_id.len;
        fail_invoke(w, LR_E_NO_SEQUENCE,
                    "record %zu (eventID \"%.*s\") failed (%s) but has no usable SequenceNumber, "
                    "so it cannot be reported as an item; failing the invoke so Lambda retries "
                    "the batch",
                    f->index, id_len, f->event_id.ptr ? f->event_id.ptr : "", why);
        return;
    }
    if (w->opts->mode == LR_BATCH_MODE_ORDERED && res->reported > 0)
        return;
    if (res->reported == 0)
        memcpy(res->checkpoint, f->seq.ptr, f->seq.len);
    lr_buf_put_str(&w->body, res->reported ? ",{\"itemIdentifier\":" : "{\"itemIdentifier\":");
    lr_buf_put_json_string(&w->body, f->seq.ptr, f->seq.len, LR_JSON_ESCAPE_MIN);
    lr_buf_put(&w->body, "}", 1);
    res->reported++;
}

static void fail_record(struct walk *w, const struct ddb_record *rec, const char *why)
{
    const struct failure f = {rec->index, rec->sequence_number, rec->event_id};
    log_failure(&f, why);
    report(w, &f, why);
}

/* ---- deferred records ---- */

size_t lr_batch_deferred_count(const struct lr_batch_deferred *d)
{
    assert(d);
    return d->n;
}

static struct failure deferred_failure(const struct deferred_rec *r)
{
    return (struct failure){r->index, {r->seq, strlen(r->seq)}, {r->event_id, strlen(r->event_id)}};
}

enum lr_status lr_batch_deferred_fail(struct lr_batch_deferred *d, size_t record_index,
                                      const char *reason)
{
    assert(d && reason);
    size_t lo = 0, hi = d->n; /* deferred in record order, so the indices are sorted */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->v[mid].index < record_index)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == d->n || d->v[lo].index != record_index || d->v[lo].failed)
        return LR_E_INVALID_ARG;
    d->v[lo].failed = true;
    const struct failure f = deferred_failure(&d->v[lo]);
    log_failure(&f, reason);
    return LR_OK;
}

/* Keeps what reporting rec later needs. The slots were sized for the whole batch. */
static void defer(struct walk *w, const struct ddb_record *rec)
{
    struct deferred_rec *r = &w->deferred.v[w->deferred.n++];
    r->index = rec->index;
    r->event_name = rec->event_name;
    r->size_bytes = rec->size_bytes;
    r->failed = false;
    size_t n = rec->sequence_number.len <= DDB_MAX_SEQUENCE_DIGITS ? rec->sequence_number.len : 0;
    if (n) /* a record without a sequence number has ptr NULL */
        memcpy(r->seq, rec->sequence_number.ptr, n);
    r->seq[n] = '\0';
    n = rec->event_id.len < sizeof(r->event_id) ? rec->event_id.len : sizeof(r->event_id) - 1;
    if (n)
        memcpy(r->event_id, rec->event_id.ptr, n);
    r->event_id[n] = '\0';
}

static void count_success(struct lr_batch_result *res, enum ddb_event_name name, int64_t size)
{
    res->succeeded++;
    res->succeeded_by_event[(unsigned)name < 4 ? name : DDB_EVENT_UNKNOWN]++;
    if (size > 0 && size <= INT64_MAX - res->succeeded_size_bytes)
        res->succeeded_size_bytes += size;
}

/* Lets the settle function decide the deferred records, then counts and reports them in order.
 * final: the end of the batch, where settle runs even with nothing deferred. */
static void settle(struct walk *w, bool final)
{
    if (!w->settle || (!final && w->deferred.n == 0))
        return;
    w->settle(w->user_data, &w->deferred);
    struct lr_batch_result *res = w->res;
    for (size_t i = 0; i < w->deferred.n; i++) {
        const struct deferred_rec *r = &w->deferred.v[i];
        if (!r->failed) {
            count_success(res, r->event_name, r->size_bytes);
            continue;
        }
        res->failed++;
        const struct failure f = deferred_failure(r);
        report(w, &f, "deferred write failed");
        if (w->opts->mode == LR_BATCH_MODE_ORDERED)
            w->stop = true;
    }
    w->deferred.n = 0;
}

static void note_age(struct lr_batch_result *res, const struct ddb_record *rec, int64_t now)
{
    const struct ddb_timestamp *t = &rec->approximate_creation;
    if (!t->present || t->sec < 0 || t->sec > INT64_MAX / 1000 - 1)
        return;
    int64_t age = now - (t->sec * 1000 + t->nsec / 1000000);
    if (age < 0)
        age = 0; /* a record "from the future" is clock skew, not a negative age */
    if (age > res->max_iterator_age_ms)
        res->max_iterator_age_ms = age;
}

/* True when the guard must stop before rec: less than the margin is left. */
static bool deadline_reached(const struct walk *w, int64_t now, int64_t *left_ms)
{
    if (w->opts->deadline_ms <= 0)
        return false;
    *left_ms = w->opts->deadline_ms - now;
    return *left_ms < w->opts->deadline_margin_ms;
}

static void walk_record(struct walk *w, const struct ddb_record *rec)
{
    struct lr_batch_result *res = w->res;
    int64_t now = lr_clock_now_ms(), left_ms = 0;
    note_age(res, rec, now);
    if (deadline_reached(w, now, &left_ms)) {
        char why[128];
        snprintf(why, sizeof(why),
                 "not attempted: %" PRId64 " ms left before the deadline, margin %" PRId64 " ms",
                 left_ms, w->opts->deadline_margin_ms);
        res->deadline_stop = true;
        w->stop = true;
        settle(w, false);
        fail_record(w, rec, why);
        return;
    }
    struct lr_batch_reason reason = {{0}};
    enum lr_batch_record_status st = LR_BATCH_RECORD_FAILED;
    if (!rec->valid) {
        res->invalid++;
        lr_batch_reason_set(&reason, "invalid record: %s: %s", lr_status_str(rec->error),
                            rec->error_detail ? rec->error_detail : "");
    } else {
        st = w->fn(rec, w->user_data, &reason);
        reason.text[sizeof(reason.text) - 1] = '\0'; /* never trust the user to terminate it */
    }
    if (st == LR_BATCH_RECORD_ABORT) { /* the invoke fails as a whole: no outcome is decided */
        fail_invoke(w, LR_E_CONFIG, "record %zu: %s", rec->index,
                    reason.text[0] ? reason.text : "the record function aborted the batch");
        return;
    }
    res->processed++;
    if (st == LR_BATCH_RECORD_DEFERRED && w->settle) {
        defer(w, rec);
        return;
    }
    if (st == LR_BATCH_RECORD_OK) {
        count_success(res, rec->event_name, rec->size_bytes);
        return;
    }
    if (st == LR_BATCH_RECORD_DEFERRED)
        lr_batch_reason_set(&reason, "the record function deferred a record without a settle "
                                     "function");
    res->failed++;
    settle(w, false); /* earlier records first, so the lowest reported one is the checkpoint */
    fail_record(w, rec, reason.text[0] ? reason.text : "record function reported a failure");
    if (w->opts->mode == LR_BATCH_MODE_ORDERED)
        w->stop = true;
}

static void walk_records(struct walk *w, const char *json, size_t len)
{
    struct ddb_reader reader;
    struct ddb_parse_error perr = {0, {0}};
    memset(&reader, 0, sizeof(reader));
    enum lr_status st = ddb_reader_init(&reader, json, len, &perr);
    if (st != LR_OK) {
        fail_invoke(w, LR_E_INVALID_EVENT,
                    "the event is not a DynamoDB Streams batch (%s at byte %zu: %s); failing the "
                    "invoke so Lambda retries it",
                    lr_status_str(st), perr.offset, perr.message);
        ddb_reader_clean_up(&reader);
        return;
    }
    w->res->batch_size = reader.count;
    w->window = reader.window;
    if (w->settle && reader.count) {
        size_t bytes = reader.count * sizeof(*w->deferred.v);
        lr_buf_init(&w->deferred.mem, bytes);
        w->deferred.v = (struct deferred_rec *)(void *)lr_buf_reserve(&w->deferred.mem, bytes);
    }
    struct ddb_record rec;
    size_t read = 0;
    while (!w->stop && ddb_reader_next(&reader, &rec)) {
        read++;
        walk_record(w, &rec);
    }
    /* Every record validated is handed out; should one ever not be, the batch is not answered as
     * if the rest did not exist: the whole invoke fails and Lambda retries it. */
    if (!w->stop && read < reader.count)
        fail_invoke(w, LR_E_INVALID_EVENT,
                    "only %zu of the event's %zu records could be read; failing the invoke so "
                    "Lambda retries it",
                    read, reader.count);
    ddb_reader_clean_up(&reader);
}

/* The all-failed policy: nothing succeeded, so the item answer would retry the whole batch anyway;
 * an invoke error instead lets BisectBatchOnFunctionError split it. Deadline stops do not count. */
static void apply_all_failed(struct walk *w)
{
    const struct lr_batch_result *res = w->res;
    if (res->status != LR_OK || w->opts->all_failed != LR_BATCH_ALL_FAILED_ERROR ||
        res->batch_size == 0 || res->succeeded != 0 || res->deadline_stop)
        return;
    fail_invoke(w, LR_E_ALL_FAILED,
                "no record of the batch succeeded (%zu failed, %zu not attempted, first failure at "
                "SequenceNumber %s); reporting an invoke error so the batch can be bisected",
                res->failed, res->skipped, res->checkpoint);
}

/* The incoming state, {} when there is none. Compacted: the event may put raw CR, LF and tabs
 * between its tokens and raw DEL in its strings, and no answer body carries a raw control byte
 * (fuzz_response checks it). */
static void put_incoming_state(struct lr_buf *state, struct lr_str in)
{
    if (in.len == 0) {
        lr_buf_put(state, "{}", 2);
        return;
    }
    size_t n = lr_json_compact(NULL, 0, in.ptr, in.len);
    char *dst = lr_buf_put_reserve(state, n); /* over the cap: overflow, StateTooLarge */
    if (dst != NULL)
        lr_buf_commit(state, lr_json_compact(dst, n, in.ptr, in.len));
}

/* ,"state":<state> for an event with a window: the window function's, else the incoming one. */
static void put_state(struct walk *w)
{
    if (!w->window.present || w->res->status != LR_OK)
        return;
    struct lr_buf state;
    lr_buf_init(&state, LR_MAX_RESPONSE_BYTES);
    enum lr_status st =
        w->window_fn ? w->window_fn(w->user_data, &w->window, w->res, &state) : LR_OK;
    if (st == LR_OK && state.len == 0 && !state.overflow)
        put_incoming_state(&state, w->window.state_json);
    if (st == LR_OK && state.overflow)
        fail_invoke(
            w, LR_E_STATE_TOO_LARGE,
            "the tumbling window's state is larger than %zu bytes, what an answer can carry",
            LR_MAX_RESPONSE_BYTES);
    else if (st != LR_OK)
        fail_invoke(w, st, "the window function failed: %s", lr_status_str(st));
    else {
        /* Failing the invoke instead would fail every retry the same way and block the shard. */
        if (state.len > LR_BATCH_MAX_STATE_BYTES)
            lr_log(
                LR_LOG_WARN,
                "the tumbling window's state is %zu bytes, over the %zu Lambda keeps: Lambda ends "
                "the window early and starts it again with an empty state",
                state.len, LR_BATCH_MAX_STATE_BYTES);
        lr_buf_put_str(&w->body, ",\"state\":");
        lr_buf_put(&w->body, state.data, state.len);
    }
    lr_buf_clean_up(&state);
}

static void finish_body(struct walk *w)
{
    struct lr_batch_result *res = w->res;
    lr_buf_put(&w->body, "]", 1);
    put_state(w);
    lr_buf_put(&w->body, "}", 1);
    if (res->status != LR_OK)
        return;
    res->body = lr_buf_take(&w->body, &res->body_len);
    if (!res->body)
        fail_invoke(w, LR_E_TOO_LARGE, "the batch response would exceed %zu bytes",
                    LR_MAX_RESPONSE_BYTES);
}

enum lr_status lr_batch_process(const char *json, size_t len, const struct lr_batch_options *opts,
                                lr_batch_record_fn fn, void *user_data, struct lr_batch_result *out)
{
    return lr_batch_process_deferred(json, len, opts, fn, NULL, user_data, out);
}

static enum lr_status process(const char *json, size_t len, const struct lr_batch_options *opts,
                              const struct lr_batch_handler *h, struct lr_batch_result *out)
{
    assert(out && opts && h->fn && (json || !len) && opts->deadline_margin_ms >= 0);
    memset(out, 0, sizeof(*out));
    out->max_iterator_age_ms = -1;
    out->bytes = len;
    struct walk w = {.opts = opts,
                     .fn = h->fn,
                     .settle = h->settle,
                     .window_fn = h->window,
                     .user_data = h->user_data,
                     .res = out,
                     .stop = false};
    int64_t start = lr_clock_now_ms();
    lr_buf_init(&w.body, LR_MAX_RESPONSE_BYTES);
    lr_buf_put(&w.body, k_body_open, sizeof(k_body_open) - 1);
    walk_records(&w, json ? json : "", len);
    settle(&w, true);
    lr_buf_clean_up(&w.deferred.mem);
    out->skipped = out->batch_size - out->processed;
    apply_all_failed(&w);
    finish_body(&w);
    lr_buf_clean_up(&w.body);
    out->elapsed_ms = lr_clock_now_ms() - start;
    return out->status;
}

enum lr_status lr_batch_process_deferred(const char *json, size_t len,
                                         const struct lr_batch_options *opts, lr_batch_record_fn fn,
                                         lr_batch_settle_fn settle_fn, void *user_data,
                                         struct lr_batch_result *out)
{
    const struct lr_batch_handler h = {.fn = fn, .settle = settle_fn, .user_data = user_data};
    return process(json, len, opts, &h, out);
}

enum lr_status lr_batch_process_handler(const struct lr_batch_handler *h, const char *json,
                                        size_t len, int64_t deadline_ms,
                                        struct lr_batch_result *out)
{
    assert(h);
    struct lr_batch_options opts = h->options;
    opts.deadline_ms = deadline_ms; /* the deadline guard cannot be forgotten */
    return process(json, len, &opts, h, out);
}

struct lr_invocation_response lr_batch_to_response(struct lr_batch_result *res)
{
    assert(res);
    if (res->status == LR_OK && res->body) {
        char *body = res->body;
        res->body = NULL;
        return lr_response_success_take(body, res->body_len, "application/json");
    }
    if (res->status == LR_OK) /* body already taken: never answer "all fine" by accident */
        return lr_response_failure("batch result used twice", "Function.InvalidArgument");
    const char *msg = res->error_message[0] ? res->error_message : lr_status_str(res->status);
    return lr_response_failure(msg, lr_batch_error_type(res->status));
}

void lr_batch_result_clean_up(struct lr_batch_result *res)
{
    if (!res)
        return;
    free(res->body);
    memset(res, 0, sizeof(*res));
}

void lr_batch_handler_init(struct lr_batch_handler *h, lr_batch_record_fn fn, void *user_data)
{
    assert(h && fn);
    memset(h, 0, sizeof(*h));
    lr_batch_options_init(&h->options);
    h->fn = fn;
    h->user_data = user_data;
    h->function_name = getenv("AWS_LAMBDA_FUNCTION_NAME");
}

struct lr_invocation_response lr_batch_handle(const struct lr_invocation_request *req,
                                              void *handler)
{
    const struct lr_batch_handler *h = handler;
    assert(req && h);
    struct lr_batch_result res;
    lr_batch_process_handler(h, req->payload.ptr, req->payload.len, req->deadline_ms, &res);
    lr_batch_log_summary(&res);
    if (h->emf_namespace)
        (void)lr_batch_emit_metrics(&res, h->emf_namespace, h->function_name, req);
    struct lr_invocation_response resp = lr_batch_to_response(&res);
    lr_batch_result_clean_up(&res);
    return resp;
}
