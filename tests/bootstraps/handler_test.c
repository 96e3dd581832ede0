/* The bundled handler with two testing switches, for the tests, benchmarks and fault tests (the
 * production bootstrap does not read them):
 *   LR_TEST_FAIL_SEQUENCE_NUMBERS  comma-separated SequenceNumbers (1..40 digits, at most 10,000)
 *                                  whose records fail, after being logged as usual;
 *   LR_TEST_RECORD_DELAY_MS        0..900000: sleep this long per record (exercises the deadline guard).
 * A bad value is an init error (Runtime.ConfigInvalid) naming the variable, like the real settings. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handler.h"
#include "lr/log.h"
#include "lr/runtime.h"

#define MAX_FAIL_SEQUENCES 10000
#define MAX_RECORD_DELAY_MS 900000

struct test_handler {
    struct handler h;
    const char *fail_list; /* the environment's value: ",seq,seq," lookups need no copies */
    uint64_t delay_ms;
};

static enum lr_status bad(char *msg, size_t cap, const char *var, const char *value,
                          const char *want)
{
    snprintf(msg, cap, "invalid %s=\"%.64s\": expected %s", var, value, want);
    return LR_E_CONFIG;
}

static enum lr_status check_fail_list(const char *v, char *msg, size_t cap)
{
    static const char *const var = "LR_TEST_FAIL_SEQUENCE_NUMBERS";
    static const char *const want = "comma-separated SequenceNumbers of 1..40 digits";
    size_t n = 0;
    while (*v) {
        size_t len = strcspn(v, ",");
        if (len == 0 || len > DDB_MAX_SEQUENCE_DIGITS || strspn(v, "0123456789") < len)
            return bad(msg, cap, var, v, want);
        if (++n > MAX_FAIL_SEQUENCES)
            return bad(msg, cap, var, v, "at most 10000 entries");
        v += len;
        if (*v == ',' && *++v == '\0')
            return bad(msg, cap, var, "(trailing comma)", want);
    }
    return LR_OK;
}

static enum lr_status read_switches(struct test_handler *t, char *msg, size_t cap)
{
    const char *v = getenv("LR_TEST_FAIL_SEQUENCE_NUMBERS");
    t->fail_list = v ? v : "";
    if (check_fail_list(t->fail_list, msg, cap) != LR_OK)
        return LR_E_CONFIG;
    v = getenv("LR_TEST_RECORD_DELAY_MS");
    if (v && *v &&
        (strlen(v) > 7 || lr_parse_u64(v, strlen(v), MAX_RECORD_DELAY_MS, &t->delay_ms) != LR_OK))
        return bad(msg, cap, "LR_TEST_RECORD_DELAY_MS", v, "milliseconds 0..900000");
    return LR_OK;
}

static bool listed(const char *list, struct lr_str seq)
{
    for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        size_t len = strcspn(p, ",");
        if (len == seq.len && memcmp(p, seq.ptr, len) == 0)
            return true;
    }
    return false;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
        /* interrupted: sleep the rest */
    }
}

static enum lr_batch_record_status on_record(const struct ddb_record *rec, void *user_data,
                                             struct lr_batch_reason *reason)
{
    struct test_handler *t = user_data;
    if (t->delay_ms > 0)
        sleep_ms(t->delay_ms);
    if (listed(t->fail_list, rec->sequence_number)) {
        handler_log_record(&t->h, rec);
        lr_batch_reason_set(reason, "listed in LR_TEST_FAIL_SEQUENCE_NUMBERS");
        return LR_BATCH_RECORD_FAILED;
    }
    return handler_on_record(rec, &t->h, reason);
}

static void on_settle(void *user_data, struct lr_batch_deferred *deferred)
{
    handler_settle(&((struct test_handler *)user_data)->h, deferred);
}

static struct lr_invocation_response invoke_on_worker(const struct lr_invocation_request *req,
                                                      void *user_data)
{
    struct test_handler *per_worker = user_data;
    return handler_invoke(req, &per_worker[req->worker].h);
}

static enum lr_status test_handler_init(struct test_handler *t, char *msg, size_t cap)
{
    if (handler_init_from_env(&t->h, msg, cap) != LR_OK || read_switches(t, msg, cap) != LR_OK)
        return LR_E_CONFIG;
    t->h.batch.fn = on_record;
    if (t->h.batch.settle)
        t->h.batch.settle = on_settle;
    t->h.batch.user_data = t;
    return LR_OK;
}

static void clean_up_all(struct test_handler *ts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        handler_clean_up(&ts[i].h);
    free(ts);
}

int main(void)
{
    char msg[512];
    lr_log_init_from_env();
    uint32_t n = 1;
    if (lr_run_concurrency(&n) != LR_OK)
        return lr_run_handler(invoke_on_worker, NULL); /* reports Runtime.ConfigInvalid */
    struct test_handler *ts = calloc(n, sizeof(*ts));  /* one per worker of the run loop */
    if (ts == NULL)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        if (test_handler_init(&ts[i], msg, sizeof(msg)) != LR_OK) {
            lr_log(LR_LOG_FATAL, "configuration error: %s", msg);
            clean_up_all(ts, n); /* zeroed or half set up: both are safe to clean */
            return lr_report_init_error(msg, "Runtime.ConfigInvalid");
        }
    }
    int rc = lr_run_handler(invoke_on_worker, ts);
    clean_up_all(ts, n);
    return rc;
}
