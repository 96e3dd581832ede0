/* lr_batch_process: exact response bodies for every case of the partial batch contract, the deadline
 * guard and the iterator age with an injected clock, the all-failed policy, env configuration, and
 * deferred records (settle order, abort, misuse). */
#define _POSIX_C_SOURCE 200809L /* setenv/unsetenv */
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

/* ---- building events ---- */

enum rec_kind { REC_OK = 0, REC_INVALID, REC_NO_SEQ };

struct event {
    char *json;
    size_t len;
    size_t cap;
};

static void ev_add(struct event *e, const char *s)
{
    size_t n = strlen(s);
    if (e->len + n + 1 > e->cap) {
        e->cap = (e->len + n + 1) * 2;
        e->json = realloc(e->json, e->cap);
        assert_non_null(e->json);
    }
    memcpy(e->json + e->len, s, n + 1);
    e->len += n;
}

/* One record: sequence number "<seq>", eventID "e<i>", Keys Id=i; REC_INVALID carries a bad N. */
static void ev_record(struct event *e, size_t i, const char *seq, enum rec_kind kind, long act)
{
    char buf[768];
    char seq_member[96] = "";
    char act_member[64] = "";
    if (kind != REC_NO_SEQ)
        snprintf(seq_member, sizeof(seq_member), "\"SequenceNumber\":\"%.64s\",",
                 seq); /* 64 > any real 40 digits */
    if (act >= 0)
        snprintf(act_member, sizeof(act_member), "\"ApproximateCreationDateTime\":%ld,", act);
    snprintf(buf, sizeof(buf),
             "%s{\"eventID\":\"e%zu\",\"eventName\":\"INSERT\",\"eventVersion\":\"1.1\","
             "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"us-east-1\",\"dynamodb\":{%s"
             "\"Keys\":{\"Id\":{\"N\":\"%zu\"}},\"NewImage\":{\"Id\":{\"N\":\"%zu\"},\"V\":{\"%s\":"
             "\"%s\"}},"
             "%s\"SizeBytes\":26,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},"
             "\"eventSourceARN\":\"arn:aws:dynamodb:us-east-1:1:table/T/stream/x\"}",
             i ? "," : "", i, act_member, i, i, kind == REC_INVALID ? "N" : "S",
             kind == REC_INVALID ? "not-a-number" : "value", seq_member);
    ev_add(e, buf);
}

/* An event of n records with sequence numbers 111, 222, ... (n <= 9). */
static struct event make_event(size_t n, const enum rec_kind *kinds)
{
    struct event e = {NULL, 0, 0};
    ev_add(&e, "{\"Records\":[");
    for (size_t i = 0; i < n; i++) {
        char seq[80];
        snprintf(seq, sizeof(seq), "%zu%zu%zu", i + 1, i + 1, i + 1);
        ev_record(&e, i, seq, kinds ? kinds[i] : REC_OK, -1);
    }
    ev_add(&e, "]}");
    return e;
}

/* ---- the record function ---- */

struct probe {
    bool fail[16];    /* by record index */
    size_t calls[16]; /* record indexes in call order */
    size_t n_calls;
};

static enum lr_batch_record_status probe_fn(const struct ddb_record *rec, void *user,
                                            struct lr_batch_reason *reason)
{
    struct probe *p = user;
    assert_true(rec->valid);
    assert_true(p->n_calls < 16);
    p->calls[p->n_calls++] = rec->index;
    if (!p->fail[rec->index])
        return LR_BATCH_RECORD_OK;
    lr_batch_reason_set(reason, "business rule rejected record %zu", rec->index);
    return LR_BATCH_RECORD_FAILED;
}

static FILE *g_log;

static int setup_log(void **state)
{
    (void)state;
    g_log = tmpfile();
    assert_non_null(g_log);
    lr_log_configure(LR_LOG_FORMAT_JSON, LR_LOG_INFO, g_log, 0);
    return 0;
}

static int teardown_log(void **state)
{
    (void)state;
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, NULL, 0);
    fclose(g_log);
    return 0;
}

/* Runs a batch and checks the exact body (NULL: expect status instead of LR_OK). */
static void run_case(size_t n, const enum rec_kind *kinds, const bool *fail,
                     enum lr_batch_mode mode, enum lr_batch_all_failed policy,
                     enum lr_status want_status, const char *want_body, struct probe *p)
{
    struct event e = make_event(n, kinds);
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; fail && i < n; i++)
        p->fail[i] = fail[i];
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = mode;
    o.all_failed = policy;
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, p, &r), want_status);
    assert_int_equal(r.status, want_status);
    assert_int_equal(r.batch_size, n);
    assert_int_equal(r.processed + r.skipped, n);
    assert_int_equal(r.bytes, e.len);
    if (want_body) {
        assert_non_null(r.body);
        assert_string_equal(r.body, want_body);
        assert_int_equal(r.body_len, strlen(want_body));
    } else {
        assert_null(r.body);
        assert_true(strlen(r.error_message) > 0);
    }
    lr_batch_result_clean_up(&r);
    lr_batch_result_clean_up(&r); /* idempotent */
    free(e.json);
}

#define NONE "{\"batchItemFailures\":[]}"
#define ITEMS(...) "{\"batchItemFailures\":[" __VA_ARGS__ "]}"
#define ID(s) "{\"itemIdentifier\":\"" s "\"}"

static void test_all_succeed(void **state)
{
    (void)state;
    struct probe p;
    run_case(3, NULL, NULL, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ITEMS, LR_OK, NONE, &p);
    assert_int_equal(p.n_calls, 3);
    run_case(3, NULL, NULL, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ERROR, LR_OK, NONE, &p);
    assert_int_equal(p.n_calls, 3);
}

static void test_middle_failure_ordered_stops(void **state)
{
    (void)state;
    struct probe p;
    const bool fail[] = {false, true, false};
    run_case(3, NULL, fail, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("222")), &p);
    assert_int_equal(p.n_calls, 2); /* record 3 never ran: it would break per-key order */
    assert_int_equal(p.calls[1], 1);
}

static void test_middle_failure_continue_runs_all(void **state)
{
    (void)state;
    struct probe p;
    const bool fail[] = {false, true, false, true, false};
    run_case(5, NULL, fail, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("222") "," ID("444")), &p);
    assert_int_equal(p.n_calls, 5);
}

static void test_first_and_last_fail(void **state)
{
    (void)state;
    struct probe p;
    const bool first[] = {true, false, false};
    run_case(3, NULL, first, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("111")), &p);
    assert_int_equal(p.n_calls, 1);
    run_case(3, NULL, first, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ERROR, LR_OK,
             ITEMS(ID("111")), &p); /* 2 succeeded: not "all failed" */
    const bool last[] = {false, false, true};
    run_case(3, NULL, last, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("333")), &p);
    run_case(3, NULL, last, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("333")), &p);
    const bool both[] = {true, false, true};
    run_case(3, NULL, both, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("111") "," ID("333")), &p);
}

static void test_all_fail_both_policies(void **state)
{
    (void)state;
    struct probe p;
    const bool all[] = {true, true, true};
    run_case(3, NULL, all, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("111") "," ID("222") "," ID("333")), &p);
    run_case(3, NULL, all, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("111")), &p);
    run_case(3, NULL, all, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ERROR, LR_E_ALL_FAILED, NULL,
             &p);
    assert_int_equal(p.n_calls, 3);
    run_case(3, NULL, all, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ERROR, LR_E_ALL_FAILED, NULL,
             &p);
    assert_int_equal(p.n_calls, 1);
}

static void test_invalid_record_is_reported(void **state)
{
    (void)state;
    struct probe p;
    const enum rec_kind kinds[] = {REC_OK, REC_INVALID, REC_OK};
    run_case(3, kinds, NULL, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("222")), &p);
    assert_int_equal(p.n_calls, 1); /* the invalid record never reaches the user */
    run_case(3, kinds, NULL, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ITEMS, LR_OK,
             ITEMS(ID("222")), &p);
    assert_int_equal(p.n_calls, 2);
    assert_int_equal(p.calls[1], 2);
}

static void test_failed_record_without_sequence_is_invoke_error(void **state)
{
    (void)state;
    struct probe p;
    const enum rec_kind kinds[] = {REC_OK, REC_NO_SEQ, REC_OK};
    const bool fail[] = {false, true, false};
    run_case(3, kinds, fail, LR_BATCH_MODE_CONTINUE, LR_BATCH_ALL_FAILED_ITEMS, LR_E_NO_SEQUENCE,
             NULL, &p);
    assert_int_equal(p.n_calls, 2); /* stops: the batch is retried whole anyway */
    /* Without a failure, a missing SequenceNumber harms nobody. */
    run_case(3, kinds, NULL, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ITEMS, LR_OK, NONE, &p);
}

static void test_empty_batch(void **state)
{
    (void)state;
    struct probe p;
    run_case(0, NULL, NULL, LR_BATCH_MODE_ORDERED, LR_BATCH_ALL_FAILED_ERROR, LR_OK, NONE, &p);
    assert_int_equal(p.n_calls, 0);
}

static void expect_event_error(const char *json)
{
    struct probe p;
    memset(&p, 0, sizeof(p));
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(json, strlen(json), &o, probe_fn, &p, &r),
                     LR_E_INVALID_EVENT);
    assert_null(r.body);
    assert_non_null(strstr(r.error_message, "not a DynamoDB Streams batch"));
    struct lr_invocation_response resp = lr_batch_to_response(&r);
    assert_false(resp.success);
    assert_string_equal(resp.error_type, "Function.InvalidEvent");
    lr_response_clean_up(&resp);
    lr_batch_result_clean_up(&r);
    assert_int_equal(p.n_calls, 0);
}

static void test_unparseable_event_is_invoke_error(void **state)
{
    (void)state;
    expect_event_error("{\"Records\":[{\"eventID\":");
    expect_event_error("not json at all");
    expect_event_error("{\"Records\":{}}");
}

static void test_to_response_takes_body(void **state)
{
    (void)state;
    struct event e = make_event(2, NULL);
    struct probe p;
    memset(&p, 0, sizeof(p));
    p.fail[1] = true;
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, &p, &r), LR_OK);
    assert_string_equal(r.checkpoint, "222");
    assert_int_equal(r.reported, 1);
    struct lr_invocation_response resp = lr_batch_to_response(&r);
    assert_true(resp.success);
    assert_null(r.body);
    assert_int_equal(resp.body_len, strlen(ITEMS(ID("222"))));
    assert_memory_equal(resp.body, ITEMS(ID("222")), resp.body_len);
    lr_response_clean_up(&resp);
    /* A second conversion must not claim success with an empty list. */
    resp = lr_batch_to_response(&r);
    assert_false(resp.success);
    lr_response_clean_up(&resp);
    lr_batch_result_clean_up(&r);
    free(e.json);
}

/* A clock that advances step_ms on every read. */
struct fake_clock {
    int64_t now_ms;
    int64_t step_ms;
    int reads;
};

static int64_t fake_now(void *data)
{
    struct fake_clock *c = data;
    int64_t t = c->now_ms;
    c->now_ms += c->step_ms;
    c->reads++;
    return t;
}

/* Installs c as the clock. Log lines read the same clock, so they are silenced (FATAL only) while it
 * is in place: the clock then counts the batch layer's own readings alone. */
static void use_fake_clock(struct fake_clock *c)
{
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_FATAL, NULL, 0);
    lr_clock_set_for_test(fake_now, c);
}

static void use_real_clock(void)
{
    lr_clock_set_for_test(NULL, NULL);
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, NULL, 0);
}

/* After every test, whether it passed or not: the real clock and the default log again. */
static int reset_clock(void **state)
{
    (void)state;
    use_real_clock();
    return 0;
}

static void test_deadline_guard_reports_first_unprocessed(void **state)
{
    (void)state;
    struct event e = make_event(5, NULL);
    struct probe p;
    memset(&p, 0, sizeof(p));
    /* Reads: start=1000, record0=1100, record1=1200, record2=1300 ... */
    static struct fake_clock clk; /* static: the clock is process-wide, a frame is not */
    clk = (struct fake_clock){1000, 100, 0};
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    use_fake_clock(&clk);
    o.deadline_ms = 1500;
    o.deadline_margin_ms = 250; /* record2 sees 200 ms left < 250: stop there */
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, &p, &r), LR_OK);
    assert_string_equal(r.body, ITEMS(ID("333")));
    assert_true(r.deadline_stop);
    assert_int_equal(p.n_calls, 2);
    assert_int_equal(r.processed, 2);
    assert_int_equal(r.succeeded, 2);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.skipped, 3);
    assert_int_equal(r.elapsed_ms, 1400 - 1000);
    assert_string_equal(r.checkpoint, "333");
    lr_batch_result_clean_up(&r);

    /* A deadline stop at the first record is not "all failed": the batch is retried from there. */
    clk = (struct fake_clock){1000, 100, 0};
    o.deadline_ms = 1050;
    o.all_failed = LR_BATCH_ALL_FAILED_ERROR;
    memset(&p, 0, sizeof(p));
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, &p, &r), LR_OK);
    assert_string_equal(r.body, ITEMS(ID("111")));
    assert_int_equal(p.n_calls, 0);
    lr_batch_result_clean_up(&r);

    /* deadline_ms 0: no guard at all, whatever the clock says. */
    o.deadline_ms = 0;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, &p, &r), LR_OK);
    assert_string_equal(r.body, NONE);
    lr_batch_result_clean_up(&r);
    use_real_clock();
    free(e.json);
}

static void test_deadline_in_continue_mode_keeps_earlier_failures(void **state)
{
    (void)state;
    struct event e = make_event(5, NULL);
    struct probe p;
    memset(&p, 0, sizeof(p));
    p.fail[0] = true;
    static struct fake_clock clk; /* static: the clock is process-wide, a frame is not */
    clk = (struct fake_clock){0, 100, 0};
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = LR_BATCH_MODE_CONTINUE;
    use_fake_clock(&clk);
    o.deadline_ms = 400; /* record0 at 100 (300 left), record1 at 200, record2 at 300 (100 left) */
    o.deadline_margin_ms = 150;
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, &p, &r), LR_OK);
    assert_string_equal(r.body, ITEMS(ID("111") "," ID("333")));
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.reported, 2);
    assert_string_equal(r.checkpoint, "111");
    lr_batch_result_clean_up(&r);
    use_real_clock();
    free(e.json);
}

static void test_iterator_age(void **state)
{
    (void)state;
    struct event e = {NULL, 0, 0};
    ev_add(&e, "{\"Records\":[");
    ev_record(&e, 0, "111", REC_OK, 1700000000);
    ev_record(&e, 1, "222", REC_OK, 1700000003);
    ev_record(&e, 2, "333", REC_OK, -1);
    ev_add(&e, "]}");
    static struct fake_clock clk; /* static: the clock is process-wide, a frame is not */
    clk = (struct fake_clock){1700000010000, 0, 0};
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    use_fake_clock(&clk);
    struct probe p;
    memset(&p, 0, sizeof(p));
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, &p, &r), LR_OK);
    assert_int_equal(r.max_iterator_age_ms, 10000);
    lr_batch_result_clean_up(&r);
    free(e.json);

    e = make_event(2, NULL); /* no ApproximateCreationDateTime at all: unknown, not 0 */
    assert_int_equal(lr_batch_process(e.json, e.len, &o, probe_fn, &p, &r), LR_OK);
    assert_int_equal(r.max_iterator_age_ms, -1);
    lr_batch_result_clean_up(&r);
    use_real_clock();
    free(e.json);
}

/* ---- real events ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Fails the records whose sequence number is listed in user (NULL-terminated array). */
static enum lr_batch_record_status fail_listed(const struct ddb_record *rec, void *user,
                                               struct lr_batch_reason *reason)
{
    for (const char *const *s = user; *s; s++) {
        if (strlen(*s) == rec->sequence_number.len &&
            memcmp(*s, rec->sequence_number.ptr, rec->sequence_number.len) == 0) {
            lr_batch_reason_set(reason, "listed");
            return LR_BATCH_RECORD_FAILED;
        }
    }
    return LR_BATCH_RECORD_OK;
}

static void test_article_input_json(void **state)
{
    (void)state;
    size_t len = 0;
    char *json = read_file(LR_SOURCE_DIR "/input.json", &len);
    assert_non_null(json);
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    struct lr_batch_result r;
    const char *none[] = {NULL};
    assert_int_equal(lr_batch_process(json, len, &o, fail_listed, (void *)none, &r), LR_OK);
    assert_string_equal(r.body, NONE);
    assert_int_equal(r.batch_size, 3);
    lr_batch_result_clean_up(&r);
    const char *second[] = {"222", NULL};
    assert_int_equal(lr_batch_process(json, len, &o, fail_listed, (void *)second, &r), LR_OK);
    assert_string_equal(r.body, ITEMS(ID("222")));
    assert_int_equal(r.skipped, 1);
    lr_batch_result_clean_up(&r);
    free(json);
}

/* Compares two JSON texts as documents (the fixture is pretty-printed). */
static void assert_json_equal(const char *got, const char *want)
{
    cJSON *a = cJSON_Parse(got);
    cJSON *b = cJSON_Parse(want);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(cJSON_Compare(a, b, 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_powertools_getting_started_fixture(void **state)
{
    (void)state;
    const char *dir = LR_FIXTURES_DIR;
    char ev_path[1024], resp_path[1024];
    snprintf(ev_path, sizeof(ev_path), "%s/events/%s", dir,
             "powertools-lambda-python__getting_started_dynamodb_event.json");
    snprintf(resp_path, sizeof(resp_path), "%s/responses/%s", dir,
             "powertools-lambda-python__getting_started_dynamodb_response.json");
    size_t ev_len = 0, resp_len = 0;
    char *ev = read_file(ev_path, &ev_len);
    char *resp = read_file(resp_path, &resp_len);
    if (!ev || !resp) {
        free(ev);
        free(resp);
        skip(); /* ../shared/fixtures is optional */
    }
    /* INDEX.md documents SequenceNumber 8640712661 as the failing record of this event. */
    const char *failing[] = {"8640712661", NULL};
    for (int mode = 0; mode < 2; mode++) {
        struct lr_batch_options o;
        lr_batch_options_init(&o);
        o.mode = mode ? LR_BATCH_MODE_CONTINUE : LR_BATCH_MODE_ORDERED;
        struct lr_batch_result r;
        assert_int_equal(lr_batch_process(ev, ev_len, &o, fail_listed, (void *)failing, &r), LR_OK);
        assert_string_equal(r.body, ITEMS(ID("8640712661")));
        assert_json_equal(r.body, resp);
        lr_batch_result_clean_up(&r);
    }
    free(ev);
    free(resp);
}

/* Fails every record and writes a reason far longer than the buffer (it must be cut, not overrun). */
static enum lr_batch_record_status fail_verbose(const struct ddb_record *rec, void *user,
                                                struct lr_batch_reason *reason)
{
    (void)rec;
    (void)user;
    static char long_text[2 * LR_BATCH_REASON_MAX];
    memset(long_text, 'r', sizeof(long_text) - 1);
    lr_batch_reason_set(reason, "%s", long_text);
    assert_int_equal(strlen(reason->text), LR_BATCH_REASON_MAX - 1);
    return LR_BATCH_RECORD_FAILED;
}

static void test_largest_batch_reports_every_record(void **state)
{
    (void)state;
    enum { N = 10000 }; /* Lambda's maximum BatchSize */
    struct event e = {NULL, 0, 0};
    ev_add(&e, "{\"Records\":[");
    for (size_t i = 0; i < N; i++) {
        char seq[48];
        snprintf(seq, sizeof(seq), "%021zu", i + 1);
        ev_record(&e, i, seq, REC_OK, -1);
    }
    ev_add(&e, "]}");
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = LR_BATCH_MODE_CONTINUE;
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, fail_verbose, NULL, &r), LR_OK);
    assert_int_equal(r.reported, N);
    assert_int_equal(r.failed, N);
    cJSON *doc = cJSON_Parse(r.body);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "batchItemFailures");
    assert_int_equal(cJSON_GetArraySize(arr), N);
    char want[48];
    snprintf(want, sizeof(want), "%021d", N);
    assert_string_equal(cJSON_GetArrayItem(arr, N - 1)->child->valuestring, want);
    assert_string_equal(r.checkpoint, "000000000000000000001");
    cJSON_Delete(doc);
    lr_batch_result_clean_up(&r);
    free(e.json);
}

/* ---- configuration ---- */

static void test_options_from_env(void **state)
{
    (void)state;
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    assert_int_equal(o.mode, LR_BATCH_MODE_ORDERED);
    assert_int_equal(o.all_failed, LR_BATCH_ALL_FAILED_ITEMS);
    assert_int_equal(o.deadline_margin_ms, LR_BATCH_DEFAULT_DEADLINE_MARGIN_MS);
    char msg[256];
    unsetenv("LR_BATCH_MODE");
    unsetenv("LR_ALL_FAILED");
    unsetenv("LR_DEADLINE_MARGIN_MS");
    assert_int_equal(lr_batch_options_from_env(&o, msg, sizeof(msg)), LR_OK);
    assert_int_equal(o.deadline_margin_ms, LR_BATCH_DEFAULT_DEADLINE_MARGIN_MS);

    setenv("LR_BATCH_MODE", "continue", 1);
    setenv("LR_ALL_FAILED", "error", 1);
    setenv("LR_DEADLINE_MARGIN_MS", "1500", 1);
    assert_int_equal(lr_batch_options_from_env(&o, msg, sizeof(msg)), LR_OK);
    assert_int_equal(o.mode, LR_BATCH_MODE_CONTINUE);
    assert_int_equal(o.all_failed, LR_BATCH_ALL_FAILED_ERROR);
    assert_int_equal(o.deadline_margin_ms, 1500);

    static const struct {
        const char *var, *value;
    } bad[] = {
        {"LR_BATCH_MODE", "Ordered"},        {"LR_BATCH_MODE", "parallel"},
        {"LR_ALL_FAILED", "raise"},          {"LR_DEADLINE_MARGIN_MS", "-1"},
        {"LR_DEADLINE_MARGIN_MS", "12ms"},   {"LR_DEADLINE_MARGIN_MS", " 10"},
        {"LR_DEADLINE_MARGIN_MS", "900001"}, {"LR_DEADLINE_MARGIN_MS", "99999999999999999999"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("LR_BATCH_MODE", "ordered", 1);
        setenv("LR_ALL_FAILED", "items", 1);
        setenv("LR_DEADLINE_MARGIN_MS", "0", 1);
        setenv(bad[i].var, bad[i].value, 1);
        msg[0] = '\0';
        assert_int_equal(lr_batch_options_from_env(&o, msg, sizeof(msg)), LR_E_CONFIG);
        assert_non_null(strstr(msg, bad[i].var));
    }
    setenv("LR_DEADLINE_MARGIN_MS", "900000", 1);
    setenv("LR_BATCH_MODE", "ordered", 1);
    setenv("LR_ALL_FAILED", "items", 1);
    assert_int_equal(lr_batch_options_from_env(&o, msg, sizeof(msg)), LR_OK);
    assert_int_equal(o.deadline_margin_ms, 900000);
    unsetenv("LR_BATCH_MODE");
    unsetenv("LR_ALL_FAILED");
    unsetenv("LR_DEADLINE_MARGIN_MS");
}

static void test_deadline_margin_spellings(void **state)
{
    (void)state;
    char msg[256];
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    static const struct {
        const char *text;
        int64_t want;              /* -1: refused */
    } cases[] = {{"0000500", 500}, /* 7 characters: accepted */
                 {"900000", 900000}, {"00000500", -1}, {"900001", -1}, {"+5", -1},
                 {"5 ", -1},         {"-0", -1},       {"1e3", -1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        o.deadline_margin_ms = 42;
        setenv("LR_DEADLINE_MARGIN_MS", cases[i].text, 1);
        enum lr_status st = lr_batch_options_from_env(&o, msg, sizeof(msg));
        assert_int_equal(st, cases[i].want < 0 ? LR_E_CONFIG : LR_OK);
        assert_int_equal(o.deadline_margin_ms, cases[i].want < 0 ? 42 : cases[i].want);
    }
    unsetenv("LR_DEADLINE_MARGIN_MS");
}

/* ---- deferred records ---- */

/* A sink double: per record index an action ('o' ok, 'f' fail, 'd' defer, 'a' abort); settle fails
 * the deferred records listed in fail_at_settle and records how many records each settle saw. */
struct sink {
    const char *actions;
    bool fail_at_settle[16];
    size_t settles[8];
    size_t n_settles;
    size_t calls;
};

static enum lr_batch_record_status sink_fn(const struct ddb_record *rec, void *user,
                                           struct lr_batch_reason *reason)
{
    struct sink *s = user;
    s->calls++;
    switch (s->actions[rec->index]) {
    case 'o': return LR_BATCH_RECORD_OK;
    case 'd': return LR_BATCH_RECORD_DEFERRED;
    case 'a':
        lr_batch_reason_set(reason, "the stream has no NewImage: use NEW_IMAGE");
        return LR_BATCH_RECORD_ABORT;
    default: lr_batch_reason_set(reason, "rejected"); return LR_BATCH_RECORD_FAILED;
    }
}

static void sink_settle(void *user, struct lr_batch_deferred *d)
{
    struct sink *s = user;
    assert_true(s->n_settles < 8);
    s->settles[s->n_settles++] = lr_batch_deferred_count(d);
    for (size_t i = 0; i < 16; i++)
        if (s->fail_at_settle[i])
            (void)lr_batch_deferred_fail(d, i, "throttled"); /* not deferred now: refused */
}

static void run_sink(struct sink *s, const char *actions, enum lr_batch_mode mode,
                     enum lr_status want, struct lr_batch_result *r)
{
    struct event e = make_event(strlen(actions), NULL);
    s->actions = actions;
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = mode;
    assert_int_equal(lr_batch_process_deferred(e.json, e.len, &o, sink_fn, sink_settle, s, r),
                     want);
    assert_int_equal(r->processed + r->skipped, strlen(actions));
    free(e.json);
}

static void test_deferred_failures_keep_record_order(void **state)
{
    (void)state;
    /* continue: record 2's failure settles 0 and 1 first, the end settles 3 and 4. */
    struct sink s = {.fail_at_settle = {[1] = true, [4] = true}};
    struct lr_batch_result r;
    run_sink(&s, "ddfdd", LR_BATCH_MODE_CONTINUE, LR_OK, &r);
    assert_string_equal(r.body, ITEMS(ID("222") "," ID("333") "," ID("555")));
    assert_int_equal(s.n_settles, 2);
    assert_int_equal(s.settles[0], 2);
    assert_int_equal(s.settles[1], 2);
    assert_int_equal(r.succeeded, 2);
    assert_int_equal(r.failed, 3);
    assert_string_equal(r.checkpoint, "222");
    lr_batch_result_clean_up(&r);

    /* ordered: only the lowest failure is reported, the later failed one still counts. */
    s = (struct sink){.fail_at_settle = {[1] = true, [3] = true}};
    run_sink(&s, "ddddd", LR_BATCH_MODE_ORDERED, LR_OK, &r);
    assert_string_equal(r.body, ITEMS(ID("222")));
    assert_int_equal(s.n_settles, 1);
    assert_int_equal(s.settles[0], 5);
    assert_int_equal(r.succeeded, 3);
    assert_int_equal(r.failed, 2);
    lr_batch_result_clean_up(&r);

    /* ordered: a deferred failure settled before a later record fails is the checkpoint, and the
     * walk stops there. */
    s = (struct sink){.fail_at_settle = {[0] = true}};
    run_sink(&s, "dfo", LR_BATCH_MODE_ORDERED, LR_OK, &r);
    assert_string_equal(r.body, ITEMS(ID("111")));
    assert_int_equal(s.calls, 2);
    assert_int_equal(r.skipped, 1);
    lr_batch_result_clean_up(&r);
}

static void test_settle_runs_at_every_end(void **state)
{
    (void)state;
    struct sink s = {.fail_at_settle = {0}};
    struct lr_batch_result r;
    run_sink(&s, "oo", LR_BATCH_MODE_ORDERED, LR_OK, &r);
    assert_string_equal(r.body, NONE);
    assert_int_equal(s.n_settles, 1); /* nothing deferred: settle still resets the sink */
    assert_int_equal(s.settles[0], 0);
    lr_batch_result_clean_up(&r);

    /* An abort fails the invoke with a configuration error; the deferred record is settled. */
    s = (struct sink){.fail_at_settle = {0}};
    run_sink(&s, "dao", LR_BATCH_MODE_CONTINUE, LR_E_CONFIG, &r);
    assert_null(r.body);
    assert_non_null(strstr(r.error_message, "record 1: the stream has no NewImage: use NEW_IMAGE"));
    assert_string_equal(lr_batch_error_type(r.status), "Function.ConfigInvalid");
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.n_settles, 1);
    assert_int_equal(s.settles[0], 1);
    lr_batch_result_clean_up(&r);
}

static void test_defer_without_settle_fails_the_record(void **state)
{
    (void)state;
    struct event e = make_event(2, NULL);
    struct sink s = {.actions = "do"};
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = LR_BATCH_MODE_CONTINUE;
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process(e.json, e.len, &o, sink_fn, &s, &r), LR_OK);
    assert_string_equal(r.body, ITEMS(ID("111")));
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.succeeded, 1);
    lr_batch_result_clean_up(&r);
    free(e.json);
}

/* A settle that marks one record twice and one never deferred: only the first mark counts. */
static void settle_misuse(void *user, struct lr_batch_deferred *d)
{
    (void)user;
    assert_int_equal(lr_batch_deferred_fail(d, 1, "first"), LR_OK);
    assert_int_equal(lr_batch_deferred_fail(d, 1, "again"), LR_E_INVALID_ARG);
    assert_int_equal(lr_batch_deferred_fail(d, 0, "not deferred"), LR_E_INVALID_ARG);
    assert_int_equal(lr_batch_deferred_fail(d, 9, "not in the batch"), LR_E_INVALID_ARG);
}

static void test_deferred_fail_refuses_unknown_records(void **state)
{
    (void)state;
    struct event e = make_event(3, NULL);
    struct sink s = {.actions = "odd"};
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process_deferred(e.json, e.len, &o, sink_fn, settle_misuse, &s, &r),
                     LR_OK);
    assert_string_equal(r.body, ITEMS(ID("222")));
    assert_int_equal(r.succeeded, 2);
    assert_int_equal(r.failed, 1);
    lr_batch_result_clean_up(&r);
    free(e.json);
}

static void test_deadline_settles_deferred_first(void **state)
{
    (void)state;
    struct event e = make_event(4, NULL);
    struct sink s = {.actions = "dddd", .fail_at_settle = {[1] = true}};
    static struct fake_clock clk; /* static: the clock is process-wide, a frame is not */
    clk = (struct fake_clock){1000, 100, 0};
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = LR_BATCH_MODE_CONTINUE;
    use_fake_clock(&clk);
    o.deadline_ms = 1500;
    o.deadline_margin_ms = 250; /* record 2 sees 200 ms left: stop there */
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process_deferred(e.json, e.len, &o, sink_fn, sink_settle, &s, &r),
                     LR_OK);
    assert_string_equal(r.body, ITEMS(ID("222") "," ID("333")));
    assert_int_equal(s.n_settles, 2);
    assert_int_equal(s.settles[0], 2);
    assert_int_equal(s.settles[1], 0);
    assert_true(r.deadline_stop);
    assert_int_equal(r.skipped, 2);
    lr_batch_result_clean_up(&r);
    use_real_clock();
    free(e.json);
}

static void test_deferred_without_sequence_fails_the_invoke(void **state)
{
    (void)state;
    const enum rec_kind kinds[] = {REC_OK, REC_NO_SEQ};
    struct event e = make_event(2, kinds);
    struct sink s = {.actions = "dd", .fail_at_settle = {[1] = true}};
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process_deferred(e.json, e.len, &o, sink_fn, sink_settle, &s, &r),
                     LR_E_NO_SEQUENCE);
    lr_batch_result_clean_up(&r);
    free(e.json);
}

/* ---- tumbling windows ---- */

/* An event of the records actions says (as run_sink) inside a window envelope; state_json NULL
 * leaves "state" out. */
static struct event window_event(size_t n, const char *state_json)
{
    struct event e = make_event(n, NULL);
    e.len -= 1; /* drop the closing brace */
    e.json[e.len] = '\0';
    ev_add(&e, ",\"window\":{\"start\":\"2026-12-06T10:00:00Z\",\"end\":\"2026-12-06T10:05:00Z\"},"
               "\"shardId\":\"shard-1\",\"isFinalInvokeForWindow\":false,"
               "\"isWindowTerminatedEarly\":false");
    if (state_json) {
        ev_add(&e, ",\"state\":");
        ev_add(&e, state_json);
    }
    ev_add(&e, "}");
    return e;
}

struct windowed {
    struct sink sink;
    const char *write; /* what the window function writes ("" nothing) */
    size_t fill;       /* or this many bytes of a JSON string */
    enum lr_status answer;
    size_t calls;
    size_t succeeded, inserts;
    int64_t bytes;
    char seen_state[64];
};

static enum lr_batch_record_status windowed_fn(const struct ddb_record *rec, void *user,
                                               struct lr_batch_reason *reason)
{
    return sink_fn(rec, &((struct windowed *)user)->sink, reason);
}

static void windowed_settle(void *user, struct lr_batch_deferred *d)
{
    sink_settle(&((struct windowed *)user)->sink, d);
}

static enum lr_status window_fn(void *user, const struct ddb_window *w,
                                const struct lr_batch_result *res, struct lr_buf *state)
{
    struct windowed *x = user;
    x->calls++;
    x->succeeded = res->succeeded;
    x->inserts = res->succeeded_by_event[DDB_EVENT_INSERT];
    x->bytes = res->succeeded_size_bytes;
    snprintf(x->seen_state, sizeof(x->seen_state), "%.*s", (int)w->state_json.len,
             w->state_json.ptr ? w->state_json.ptr : "");
    lr_buf_put_str(state, x->write);
    if (x->fill) {
        lr_buf_put_str(state, "{\"pad\":\"");
        for (size_t i = 0; i < x->fill; i++)
            lr_buf_put(state, "x", 1);
        lr_buf_put_str(state, "\"}");
    }
    return x->answer;
}

static void run_window(struct windowed *x, const char *actions, const char *state_json,
                       bool with_fn, enum lr_status want, struct lr_batch_result *r)
{
    struct event e = window_event(strlen(actions), state_json);
    x->sink.actions = actions;
    struct lr_batch_handler h;
    lr_batch_handler_init(&h, windowed_fn, x);
    h.settle = windowed_settle;
    h.window = with_fn ? window_fn : NULL;
    h.options.mode = LR_BATCH_MODE_CONTINUE;
    assert_int_equal(lr_batch_process_handler(&h, e.json, e.len, 0, r), want);
    free(e.json);
}

static void test_window_state_passes_on_unless_the_function_writes_one(void **state)
{
    (void)state;
    struct windowed x = {.write = ""};
    struct lr_batch_result r;
    run_window(&x, "oo", "{\"n\":5}", false, LR_OK, &r); /* no window function */
    assert_string_equal(r.body, "{\"batchItemFailures\":[],\"state\":{\"n\":5}}");
    lr_batch_result_clean_up(&r);
    /* blanks between its tokens (CR, LF and tab included) are taken out, those in strings kept;
     * a raw DEL in a string is escaped */
    run_window(&x, "oo", "{\r\n \"n\" :\t5 , \"s\":\"a b\x7f\"}\n", false, LR_OK, &r);
    assert_string_equal(r.body,
                        "{\"batchItemFailures\":[],\"state\":{\"n\":5,\"s\":\"a b\\u007f\"}}");
    lr_batch_result_clean_up(&r);
    run_window(&x, "oo", NULL, false, LR_OK, &r); /* no state yet: an empty one */
    assert_string_equal(r.body, "{\"batchItemFailures\":[],\"state\":{}}");
    lr_batch_result_clean_up(&r);
    run_window(&x, "of", "{\"n\":5}", true, LR_OK, &r); /* the function leaves it unset */
    assert_string_equal(r.body, "{\"batchItemFailures\":[" ID("222") "],\"state\":{\"n\":5}}");
    lr_batch_result_clean_up(&r);
}

static void test_window_function_state_counts_and_errors(void **state)
{
    (void)state;
    /* records 0 and 2 succeed (2 deferred), 1 fails, 3 fails at settle: the counts are of successes */
    struct windowed x = {.write = "{\"total\":2}", .sink = {.fail_at_settle = {[3] = true}}};
    struct lr_batch_result r;
    run_window(&x, "ofdd", "{\"total\":0}", true, LR_OK, &r);
    assert_string_equal(
        r.body, "{\"batchItemFailures\":[" ID("222") "," ID("444") "],\"state\":{\"total\":2}}");
    assert_int_equal(x.calls, 1);
    assert_string_equal(x.seen_state, "{\"total\":0}");
    assert_int_equal(x.succeeded, 2);
    assert_int_equal(x.inserts, 2);
    assert_int_equal(x.bytes, 2 * 26);
    lr_batch_result_clean_up(&r);

    /* a state over what Lambda keeps is answered whole (Lambda ends the window early) */
    x = (struct windowed){.write = "", .fill = LR_BATCH_MAX_STATE_BYTES};
    run_window(&x, "o", "{}", true, LR_OK, &r);
    assert_int_equal(r.body_len, strlen("{\"batchItemFailures\":[],\"state\":{\"pad\":\"\"}}") +
                                     LR_BATCH_MAX_STATE_BYTES);
    lr_batch_result_clean_up(&r);

    /* a state no answer can carry fails the invoke with its own error, never truncated */
    x = (struct windowed){.write = "", .fill = LR_MAX_RESPONSE_BYTES};
    run_window(&x, "o", "{}", true, LR_E_STATE_TOO_LARGE, &r);
    assert_null(r.body);
    assert_string_equal(lr_batch_error_type(r.status), "Function.StateTooLarge");
    lr_batch_result_clean_up(&r);

    /* the function's own error fails the invoke */
    x = (struct windowed){.write = "", .answer = LR_E_INVALID_ARG};
    run_window(&x, "o", "{}", true, LR_E_INVALID_ARG, &r);
    assert_non_null(strstr(r.error_message, "the window function failed"));
    lr_batch_result_clean_up(&r);

    /* an invoke error before it: the window function is not called */
    x = (struct windowed){.write = "{}"};
    run_window(&x, "a", "{}", true, LR_E_CONFIG, &r);
    assert_int_equal(x.calls, 0);
    lr_batch_result_clean_up(&r);
}

static void test_no_window_no_state(void **state)
{
    (void)state;
    struct event e = make_event(1, NULL);
    struct windowed x = {.write = "{}", .sink = {.actions = "o"}};
    struct lr_batch_handler h;
    lr_batch_handler_init(&h, windowed_fn, &x);
    h.window = window_fn;
    struct lr_batch_result r;
    assert_int_equal(lr_batch_process_handler(&h, e.json, e.len, 0, &r), LR_OK);
    assert_string_equal(r.body, NONE);
    assert_int_equal(x.calls, 0);
    lr_batch_result_clean_up(&r);
    free(e.json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_all_succeed, reset_clock),
        cmocka_unit_test_teardown(test_middle_failure_ordered_stops, reset_clock),
        cmocka_unit_test_teardown(test_middle_failure_continue_runs_all, reset_clock),
        cmocka_unit_test_teardown(test_first_and_last_fail, reset_clock),
        cmocka_unit_test_teardown(test_all_fail_both_policies, reset_clock),
        cmocka_unit_test_teardown(test_invalid_record_is_reported, reset_clock),
        cmocka_unit_test_teardown(test_failed_record_without_sequence_is_invoke_error, reset_clock),
        cmocka_unit_test_teardown(test_empty_batch, reset_clock),
        cmocka_unit_test_teardown(test_unparseable_event_is_invoke_error, reset_clock),
        cmocka_unit_test_teardown(test_to_response_takes_body, reset_clock),
        cmocka_unit_test_teardown(test_deadline_guard_reports_first_unprocessed, reset_clock),
        cmocka_unit_test_teardown(test_deadline_in_continue_mode_keeps_earlier_failures,
                                  reset_clock),
        cmocka_unit_test_teardown(test_iterator_age, reset_clock),
        cmocka_unit_test_teardown(test_article_input_json, reset_clock),
        cmocka_unit_test_teardown(test_powertools_getting_started_fixture, reset_clock),
        cmocka_unit_test_teardown(test_largest_batch_reports_every_record, reset_clock),
        cmocka_unit_test_teardown(test_options_from_env, reset_clock),
        cmocka_unit_test_teardown(test_deadline_margin_spellings, reset_clock),
        cmocka_unit_test_teardown(test_deferred_failures_keep_record_order, reset_clock),
        cmocka_unit_test_teardown(test_settle_runs_at_every_end, reset_clock),
        cmocka_unit_test_teardown(test_defer_without_settle_fails_the_record, reset_clock),
        cmocka_unit_test_teardown(test_deferred_fail_refuses_unknown_records, reset_clock),
        cmocka_unit_test_teardown(test_deadline_settles_deferred_first, reset_clock),
        cmocka_unit_test_teardown(test_deferred_without_sequence_fails_the_invoke, reset_clock),
        cmocka_unit_test_teardown(test_window_state_passes_on_unless_the_function_writes_one,
                                  reset_clock),
        cmocka_unit_test_teardown(test_window_function_state_counts_and_errors, reset_clock),
        cmocka_unit_test_teardown(test_no_window_no_state, reset_clock),
    };
    return cmocka_run_group_tests(tests, setup_log, teardown_log);
}
