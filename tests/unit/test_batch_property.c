/* Property test of lr_batch_process over thousands of random batches (seeded PRNG, reproducible):
 * random sizes, random failures, random invalid records, random deadline stops, both modes and both
 * all-failed policies. Checked against an independent model of the contract:
 *  - ordered: nothing after the first failure is processed, and the reported item is that failure;
 *  - continue: every failure is reported, in order;
 *  - both: every record either succeeded before the checkpoint or sits at/after it (nothing is
 *    silently skipped), and identifiers are exactly the records' sequence numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "lr/batch.h"
#include "lr/clock.h"
#include "lr/log.h"

#define MAX_RECORDS 40
#define CASES 5000

static uint64_t g_rng = 0x9E3779B97F4A7C15u; /* fixed seed: failures are reproducible */

static uint32_t rnd(uint32_t bound)
{
    /* xorshift64* */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 0x2545F4914F6CDD1Du) >> 32) % bound;
}

struct scenario {
    size_t n;
    bool invalid[MAX_RECORDS];
    bool fail[MAX_RECORDS];
    char seq[MAX_RECORDS][64]; /* room for any two numbers, so the compiler sees no truncation */
    size_t deadline_at;        /* index where the guard stops; n = never */
    enum lr_batch_mode mode;
    enum lr_batch_all_failed policy;
    /* observed */
    size_t calls[MAX_RECORDS];
    size_t n_calls;
};

static void make_scenario(struct scenario *s)
{
    memset(s, 0, sizeof(*s));
    s->n = rnd(MAX_RECORDS + 1);
    uint32_t fail_pct = rnd(4) == 0 ? 100 : rnd(60);
    /* Real sequence numbers: 21..40 digits, strictly increasing along the shard. */
    uint64_t base = 100000000000u + rnd(1000000);
    for (size_t i = 0; i < s->n; i++) {
        snprintf(s->seq[i], sizeof(s->seq[i]), "4421584500%011llu%05zu", (unsigned long long)base,
                 i * 7 + rnd(7));
        s->invalid[i] = rnd(100) < 5;
        s->fail[i] = rnd(100) < fail_pct;
    }
    s->deadline_at = rnd(3) == 0 ? rnd((uint32_t)s->n + 1) : s->n;
    s->mode = rnd(2) ? LR_BATCH_MODE_CONTINUE : LR_BATCH_MODE_ORDERED;
    s->policy = rnd(2) ? LR_BATCH_ALL_FAILED_ERROR : LR_BATCH_ALL_FAILED_ITEMS;
}

static char *render_event(const struct scenario *s, size_t *len)
{
    size_t cap = 64 + s->n * 512, used = 0;
    char *json = malloc(cap);
    assert_non_null(json);
    used += (size_t)snprintf(json, cap, "{\"Records\":[");
    for (size_t i = 0; i < s->n; i++) {
        used += (size_t)snprintf(
            json + used, cap - used,
            "%s{\"eventID\":\"id-%zu\",\"eventName\":\"MODIFY\",\"eventSource\":\"aws:dynamodb\","
            "\"awsRegion\":\"eu-west-1\",\"dynamodb\":{\"Keys\":{\"pk\":{\"S\":\"k%zu\"}},"
            "\"NewImage\":{\"v\":{\"N\":\"%s\"}},\"SequenceNumber\":\"%s\",\"SizeBytes\":30,"
            "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}}",
            i ? "," : "", i, i % 3, s->invalid[i] ? "1e999" : "42", s->seq[i]);
        assert_true(used < cap);
    }
    used += (size_t)snprintf(json + used, cap - used, "]}");
    *len = used;
    return json;
}

static enum lr_batch_record_status record_fn(const struct ddb_record *rec, void *user,
                                             struct lr_batch_reason *reason)
{
    struct scenario *s = user;
    assert_true(rec->valid);
    assert_false(s->invalid[rec->index]);
    /* The record handed over is the one at that index (identity check, not just the count). */
    assert_int_equal(rec->sequence_number.len, strlen(s->seq[rec->index]));
    assert_memory_equal(rec->sequence_number.ptr, s->seq[rec->index], rec->sequence_number.len);
    s->calls[s->n_calls++] = rec->index;
    if (!s->fail[rec->index])
        return LR_BATCH_RECORD_OK;
    lr_batch_reason_set(reason, "random failure");
    return LR_BATCH_RECORD_FAILED;
}

/* Clock: the start read and each record's read advance by 10 ms (read k returns k*10). */
static int64_t tick(void *data)
{
    int64_t *t = data;
    int64_t now = *t;
    *t += 10;
    return now;
}

/* The model: which records are reported, which are called, and the expected status. */
struct expect {
    size_t reported[MAX_RECORDS + 1];
    size_t n_reported;
    size_t last_called; /* records [0, last_called) were examined before the stop */
    bool deadline;
    size_t succeeded;
};

static void model(const struct scenario *s, struct expect *e)
{
    memset(e, 0, sizeof(*e));
    size_t i = 0;
    for (; i < s->n; i++) {
        if (i == s->deadline_at) {
            e->deadline = true;
            e->reported[e->n_reported++] = i;
            break;
        }
        if (!s->invalid[i] && !s->fail[i]) {
            e->succeeded++;
            continue;
        }
        e->reported[e->n_reported++] = i;
        if (s->mode == LR_BATCH_MODE_ORDERED) {
            i++;
            break;
        }
    }
    e->last_called = i;
}

static void check_body(const struct scenario *s, const struct expect *e, const char *body)
{
    cJSON *doc = cJSON_Parse(body);
    assert_non_null(doc);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "batchItemFailures");
    assert_true(cJSON_IsArray(arr));
    assert_int_equal((size_t)cJSON_GetArraySize(arr), e->n_reported);
    size_t k = 0;
    for (cJSON *item = arr->child; item; item = item->next, k++) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "itemIdentifier");
        assert_true(cJSON_IsString(id));
        assert_string_equal(id->valuestring, s->seq[e->reported[k]]);
    }
    cJSON_Delete(doc);
}

/* Nothing silently skipped: every record before the checkpoint succeeded (was called and did not
 * fail); the checkpoint is the lowest reported sequence number. */
static void check_checkpoint(const struct scenario *s, const struct expect *e,
                             const struct lr_batch_result *r)
{
    if (e->n_reported == 0) {
        assert_string_equal(r->checkpoint, "");
        assert_int_equal(r->succeeded, s->n);
        return;
    }
    size_t cp = e->reported[0];
    assert_string_equal(r->checkpoint, s->seq[cp]);
    for (size_t i = 0; i < cp; i++) {
        bool called = false;
        for (size_t c = 0; c < s->n_calls; c++)
            called = called || s->calls[c] == i;
        assert_true(called && !s->fail[i] && !s->invalid[i]);
    }
}

static void check_calls(const struct scenario *s, const struct expect *e)
{
    size_t want = 0;
    for (size_t i = 0; i < e->last_called; i++) {
        if (s->invalid[i] || (e->deadline && i == s->deadline_at))
            continue;
        assert_true(want < s->n_calls);
        assert_int_equal(s->calls[want], i); /* in order, each exactly once */
        want++;
    }
    assert_int_equal(s->n_calls, want);
}

static void run_one(struct scenario *s)
{
    size_t len = 0;
    char *json = render_event(s, &len);
    struct expect e;
    model(s, &e);
    int64_t clock_ms = 0;
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = s->mode;
    o.all_failed = s->policy;
    lr_clock_set_for_test(tick, &clock_ms);
    o.deadline_margin_ms = 0;
    /* Record i reads (i+1)*10; a deadline of at*10+1 leaves 1 ms before record at-1, -9 at record at. */
    o.deadline_ms = s->deadline_at < s->n ? (int64_t)s->deadline_at * 10 + 1 : 0;
    struct lr_batch_result r;
    enum lr_status st = lr_batch_process(json, len, &o, record_fn, s, &r);
    lr_clock_set_for_test(NULL, NULL);
    check_calls(s, &e);
    bool all_failed =
        s->n > 0 && e.succeeded == 0 && !e.deadline && s->policy == LR_BATCH_ALL_FAILED_ERROR;
    if (all_failed) {
        assert_int_equal(st, LR_E_ALL_FAILED);
        assert_null(r.body);
    } else {
        assert_int_equal(st, LR_OK);
        check_body(s, &e, r.body);
        check_checkpoint(s, &e, &r);
    }
    assert_int_equal(r.batch_size, s->n);
    assert_int_equal(r.succeeded, e.succeeded);
    assert_int_equal(r.processed + r.skipped, s->n);
    assert_int_equal(r.deadline_stop, e.deadline);
    lr_batch_result_clean_up(&r);
    free(json);
}

static void test_random_batches(void **state)
{
    (void)state;
    static struct scenario s;
    size_t seen_all_failed = 0, seen_deadline = 0, seen_ordered_stop = 0;
    for (int c = 0; c < CASES; c++) {
        make_scenario(&s);
        run_one(&s);
        struct expect e;
        model(&s, &e);
        seen_all_failed += s.n > 0 && e.succeeded == 0;
        seen_deadline += e.deadline;
        seen_ordered_stop += s.mode == LR_BATCH_MODE_ORDERED && e.last_called < s.n && !e.deadline;
    }
    /* The generator must actually exercise every branch, or the test proves little. */
    assert_true(seen_all_failed > 100);
    assert_true(seen_deadline > 500);
    assert_true(seen_ordered_stop > 500);
}

int main(void)
{
    /* Failure lines would drown the test output, and log lines read the same clock as the batch
     * layer, whose readings the model counts: only FATAL lines (none) are written. */
    FILE *sink = tmpfile();
    lr_log_configure(LR_LOG_FORMAT_JSON, LR_LOG_FATAL, sink, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_batches),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, NULL, 0);
    if (sink)
        fclose(sink);
    return rc;
}
