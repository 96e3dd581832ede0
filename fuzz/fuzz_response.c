/* libFuzzer target: everything that turns untrusted bytes into a document Lambda or CloudWatch reads.
 * The first input byte picks the part and its options, the rest is the untrusted input (an input that
 * starts like a JSON document, e.g. a fixture event, goes to part 2 whole):
 *   0  lr_response_failure(message, type): the body must be valid JSON of exactly the Lambda error
 *      shape, the error-type header value safe printable ASCII.
 *   1  lr_json_escape_str (JSON mode) and lr_json_escape (both modes) at a fuzzed capacity: output free of
 *      control bytes, valid UTF-8, a valid JSON string, and lossless for valid UTF-8 when not cut.
 *   2  the batch layer end to end (lr_batch_process_deferred + lr_batch_to_response) on the input as an
 *      event, with a fuzzed mode, all-failed policy, failing and deferred records and deadline: the
 *      response is always valid JSON, either {"batchItemFailures":[{"itemIdentifier":"<digits>"},...]}
 *      or an error.
 * JSON validity is checked with cJSON, UTF-8 validity with a small reference decoder; any breach
 * aborts so the fuzzer reports it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lr/json.h"
#include "transport/lr_response.h"
#include "lr/batch.h"
#include "lr/clock.h"
#include "lr/log.h"
#include "lr/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_response: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* Reference UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static bool valid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || n > len - i)
            return false;
        uint32_t cp = n == 1 ? c : (uint32_t)(c & (0x7f >> n));
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

/* A document that a log line or HTTP body may carry: no raw control byte, valid UTF-8. */
static void check_clean_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        CHECK((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] != 0x7f);
    CHECK(valid_utf8((const unsigned char *)s, len));
}

static cJSON *parse_json_or_die(const char *s, size_t len)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(s, len, &end, false);
    CHECK(doc != NULL);
    CHECK(end == s + len); /* nothing after the document */
    return doc;
}

/* Copies [p, p+n) into a NUL-terminated heap string (the API takes C strings). */
static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static void fuzz_failure(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t msg_len = nul ? (size_t)(nul - data) : size;
    char *msg = cstr(data, msg_len);
    char *type = nul ? cstr(nul + 1, size - msg_len - 1) : cstr(data, 0);

    struct lr_invocation_response r = lr_response_failure(msg, type);
    CHECK(!r.success && r.body != NULL && r.error_type != NULL);
    check_clean_text(r.body, r.body_len);
    cJSON *doc = parse_json_or_die(r.body, r.body_len);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "errorMessage");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "errorType");
    cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "stackTrace");
    CHECK(cJSON_IsString(m) && cJSON_IsString(t) && cJSON_IsArray(st) &&
          cJSON_GetArraySize(doc) == 3);
    CHECK(cJSON_GetArraySize(st) == 0);
    if (printable_ascii(msg) && msg_len <= LR_ERROR_MESSAGE_MAX / 2)
        CHECK(strcmp(m->valuestring, msg) == 0);
    /* The header value: printable ASCII only (no CR/LF injection), capped, trimmed. */
    size_t hl = strlen(r.error_type);
    CHECK(hl <= LR_HEADER_VALUE_MAX);
    CHECK(printable_ascii(r.error_type));
    CHECK(hl == 0 || (r.error_type[0] != ' ' && r.error_type[hl - 1] != ' '));
    cJSON_Delete(doc);
    lr_response_clean_up(&r);
    lr_response_clean_up(&r); /* documented as safe twice */
    free(msg);
    free(type);
}

static void check_escaped(const char *in, size_t len, const char *out, size_t out_len, bool cut)
{
    check_clean_text(out, out_len);
    /* Quoted, it must be one valid JSON string; uncut valid UTF-8 must decode to the input. */
    char *quoted = malloc(out_len + 3);
    CHECK(quoted != NULL);
    quoted[0] = '"';
    memcpy(quoted + 1, out, out_len);
    quoted[out_len + 1] = '"';
    quoted[out_len + 2] = '\0';
    cJSON *doc = parse_json_or_die(quoted, out_len + 2);
    CHECK(cJSON_IsString(doc));
    if (!cut && valid_utf8((const unsigned char *)in, len) && memchr(in, 0, len) == NULL)
        CHECK(strlen(doc->valuestring) == len && memcmp(doc->valuestring, in, len) == 0);
    cJSON_Delete(doc);
    free(quoted);
}

static void fuzz_escape(uint8_t opts, const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t full = lr_json_escape_str(NULL, 0, in, size);
    size_t cap = (opts & 1) ? full + 1 : (full * (size_t)(opts >> 1)) / 128 + 1;
    char *out = malloc(cap);
    CHECK(out != NULL);
    size_t need = lr_json_escape_str(out, cap, in, size);
    CHECK(need == full);
    size_t got = strlen(out);
    CHECK(got < cap && got <= need);
    check_escaped(in, size, out, got, need >= cap);

    size_t need_ex = 0;
    size_t wrote = lr_json_escape(out, cap - 1, in, size, LR_JSON_ESCAPE_LOG, &need_ex);
    CHECK(wrote <= cap - 1 && need_ex == full);
    check_escaped(in, size, out, wrote, wrote < need_ex);
    /* Text mode keeps '"' as is: only the line-safety properties apply. */
    wrote = lr_json_escape(out, cap - 1, in, size, LR_JSON_ESCAPE_TEXT, NULL);
    check_clean_text(out, wrote);
    free(out);
}

/* Fails a record when the fuzz-chosen bit for its position is set, defers it when the next bit is set
 * (the settle then fails the deferred records at odd positions). */
struct record_plan {
    uint8_t fail_mask;
    size_t seen;
};

static enum lr_batch_record_status on_record(const struct ddb_record *rec, void *user,
                                             struct lr_batch_reason *reason)
{
    struct record_plan *plan = user;
    CHECK(rec->valid);
    size_t bit = plan->seen++ % 8;
    if (plan->fail_mask & (1u << bit)) {
        lr_batch_reason_set(reason, "planned failure of record %zu", rec->index);
        return LR_BATCH_RECORD_FAILED;
    }
    return plan->fail_mask & (1u << ((bit + 1) % 8)) ? LR_BATCH_RECORD_DEFERRED
                                                     : LR_BATCH_RECORD_OK;
}

static void on_settle(void *user, struct lr_batch_deferred *deferred)
{
    (void)user;
    size_t n = lr_batch_deferred_count(deferred);
    CHECK(n <= 10000);
    for (size_t i = 1; i < 2 * n + 2; i += 2) /* indexes not deferred are refused */
        (void)lr_batch_deferred_fail(deferred, i, "planned failure of a deferred record");
}

/* Writes a state on odd fail masks, leaves the incoming one on even ones. */
static enum lr_status on_window(void *user, const struct ddb_window *w,
                                const struct lr_batch_result *res, struct lr_buf *state)
{
    const struct record_plan *plan = user;
    CHECK(w->present && res->status == LR_OK);
    if (plan->fail_mask & 1)
        lr_buf_put_str(state, "{\"n\":1}");
    return LR_OK;
}

static int64_t step_clock(void *data)
{
    int64_t *now = data;
    return (*now)++; /* one millisecond per reading: the deadline guard fires part-way */
}

static void check_batch_body(const char *body, size_t len, size_t reported)
{
    check_clean_text(body, len);
    cJSON *doc = parse_json_or_die(body, len);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "batchItemFailures");
    /* a window event's answer also carries "state" (the incoming one: no window function here) */
    int members = cJSON_GetArraySize(doc);
    CHECK(
        cJSON_IsObject(doc) && cJSON_IsArray(items) &&
        (members == 1 || (members == 2 && cJSON_GetObjectItemCaseSensitive(doc, "state") != NULL)));
    CHECK((size_t)cJSON_GetArraySize(items) == reported);
    const cJSON *it = NULL;
    cJSON_ArrayForEach (it, items) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "itemIdentifier");
        CHECK(cJSON_IsObject(it) && cJSON_GetArraySize(it) == 1 && cJSON_IsString(id));
        size_t n = strlen(id->valuestring);
        CHECK(n >= 1 && n <= DDB_MAX_SEQUENCE_DIGITS);
        for (size_t i = 0; i < n; i++)
            CHECK(id->valuestring[i] >= '0' && id->valuestring[i] <= '9');
    }
    cJSON_Delete(doc);
}

static void fuzz_batch(uint8_t opts, uint8_t fail_mask, const uint8_t *data, size_t size)
{
    struct lr_batch_options o;
    lr_batch_options_init(&o);
    o.mode = (opts & 1) ? LR_BATCH_MODE_CONTINUE : LR_BATCH_MODE_ORDERED;
    o.all_failed = (opts & 2) ? LR_BATCH_ALL_FAILED_ERROR : LR_BATCH_ALL_FAILED_ITEMS;
    int64_t now = INT64_C(1764500000000);
    if (opts & 4) {
        lr_clock_set_for_test(step_clock, &now);
        o.deadline_margin_ms = 0;
        o.deadline_ms = now + (opts >> 3); /* 0..31 clock readings before the guard stops */
    }
    struct record_plan plan = {fail_mask, 0};
    struct lr_batch_handler h = {.options = o,
                                 .fn = on_record,
                                 .settle = on_settle,
                                 .window = on_window,
                                 .user_data = &plan};
    struct lr_batch_result res;
    enum lr_status st = lr_batch_process_handler(&h, (const char *)data, size, o.deadline_ms, &res);
    lr_clock_set_for_test(NULL, NULL);
    CHECK(st == res.status);
    CHECK(res.succeeded + res.failed == res.processed);
    if (st == LR_OK) {
        CHECK(res.body != NULL && res.body[res.body_len] == '\0');
        check_batch_body(res.body, res.body_len, res.reported);
    }
    struct lr_invocation_response r = lr_batch_to_response(&res);
    CHECK(r.body != NULL && r.success == (st == LR_OK));
    check_clean_text(r.body, r.body_len);
    cJSON_Delete(parse_json_or_die(r.body, r.body_len));
    lr_response_clean_up(&r);
    lr_batch_result_clean_up(&res);
}

/* '{', leading blank or a UTF-8 BOM: the input is a whole event document rather than a selector byte. */
static bool looks_like_event(uint8_t first)
{
    return first == '{' || first == ' ' || first == '\n' || first == '\r' || first == '\t' ||
           first == 0xef;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (sink == NULL) {
        sink = fopen("/dev/null", "w");
        CHECK(sink != NULL);
    }
    if (size < 2)
        return 0;
    /* Logging stays on (at TRACE for half the inputs) so its escaping runs on every path. */
    lr_log_configure((data[1] & 1) ? LR_LOG_FORMAT_JSON : LR_LOG_FORMAT_TEXT,
                     (data[1] & 2) ? LR_LOG_TRACE : LR_LOG_ERROR, sink, 0);
    if (looks_like_event(data[0])) {
        /* A plain event file (fixtures, tests/data) seeds the batch part as it is; its options come
         * from its size so that different files take different paths. */
        fuzz_batch((uint8_t)size, (uint8_t)(size >> 3), data, size);
        return 0;
    }
    switch (data[0] % 3) {
    case 0: fuzz_failure(data + 2, size - 2); break;
    case 1: fuzz_escape(data[1], data + 2, size - 2); break;
    default: fuzz_batch((uint8_t)(data[0] / 3), data[1], data + 2, size - 2); break;
    }
    return 0;
}
