/* Whole events: envelope errors with exact offsets and messages, isolation of malformed records,
 * the fixtures in tests/data/ddb, parse -> serialise -> parse round trips, the one-record-at-a-time
 * reader, and a generated 10,000-record batch capped at 6 MB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lr/runtime.h"
#include "lr/ddb.h"

#define DATA_DIR LR_SOURCE_DIR "/tests/data/ddb/"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static char *fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", DATA_DIR, name);
    return read_file(path, len);
}

static bool str_is(struct lr_str s, const char *lit)
{
    return s.len == strlen(lit) && (s.len == 0 || memcmp(s.ptr, lit, s.len) == 0);
}

#define assert_str(s, lit)                                                       \
    do {                                                                         \
        if (!str_is((s), (lit)))                                                 \
            fail_msg("got \"%.*s\", want \"%s\"", (int)(s).len, (s).ptr, (lit)); \
    } while (0)

/* ---- whole-event errors ---- */

struct event_error_case {
    const char *json;
    size_t len; /* 0: strlen */
    enum lr_status status;
    size_t offset;
    const char *message;
};

static const struct event_error_case event_errors[] = {
    {"", 0, LR_E_NOT_JSON, 0, "unexpected end of input"},
    {"   ", 0, LR_E_NOT_JSON, 3, "unexpected end of input"},
    {"{", 0, LR_E_NOT_JSON, 1, "expected a member name"},
    {"nope", 0, LR_E_NOT_JSON, 0, "invalid literal"},
    {"[1]", 0, LR_E_NOT_OBJECT, 0, "the event is not a JSON object"},
    {"  \"x\"", 0, LR_E_NOT_OBJECT, 2, "the event is not a JSON object"},
    {"{}", 0, LR_E_NO_RECORDS, 0, "no \"Records\" array and not a single stream record"},
    {"{\"records\":[]}", 0, LR_E_NO_RECORDS, 0,
     "no \"Records\" array and not a single stream record"},
    {"{\"Records\":{}}", 0, LR_E_RECORDS_NOT_ARRAY, 11, "\"Records\" is not an array"},
    {"{\"Records\":null}", 0, LR_E_RECORDS_NOT_ARRAY, 11, "\"Records\" is not an array"},
    {"{\"Records\":[]} x", 0, LR_E_NOT_JSON, 15, "unexpected data after the JSON value"},
    {"{\"Records\":[],}", 0, LR_E_NOT_JSON, 14, "expected a member name"},
    {"{\"Records\":[1,]}", 0, LR_E_NOT_JSON, 14, "unexpected character"},
    {"{\"Records\":[01]}", 0, LR_E_NOT_JSON, 13, "expected ',' or a close"},
    /* bad string content outside the records fails the whole event */
    {"{\"Records\":[],\"x\":\"\xff\"}", 0, LR_E_NOT_JSON, 19, "invalid UTF-8 in string"},
    {"{\"Records\":[],\"x\":[\"\xC0\xAF\"]}", 0, LR_E_NOT_JSON, 20, "invalid UTF-8 in string"},
    {"{\"Records\":[],\"state\":{\"a\":\"\\ud800\"}}", 0, LR_E_NOT_JSON, 28,
     "unpaired high surrogate in \\u escape"},
    {"{\"\\udc00\":1,\"Records\":[]}", 0, LR_E_NOT_JSON, 2, "unpaired low surrogate in \\u escape"},
    {"{\"Records\":[],\"x\":[[\"a\tb\"]]}", 0, LR_E_NOT_JSON, 22, "control character in string"},
    {"{\"Records\":[\"\\x", 0, LR_E_NOT_JSON, 13, "bad escape in string"}, /* and no end */
    /* bad content, then a backslash as the very last byte: the lenient skip stops at the end */
    {"{\"Records\":[\"\xff\\", 0, LR_E_NOT_JSON, 13, "invalid UTF-8 in string"},
    {"{\"Records\":[\"open", 0, LR_E_NOT_JSON, 17, "unterminated string"},
    {"{\"Records\":[1.]}", 0, LR_E_NOT_JSON, 12, "invalid number"},
    {"{\"Records\":[]\0}", 15, LR_E_NOT_JSON, 13, "expected ',' or a close"},
    {"{\"Records\":[],\"window\":5}", 0, LR_E_WRONG_JSON_TYPE, 23, "\"window\" is not an object"},
    {"{\"Records\":[],\"window\":{\"start\":1}}", 0, LR_E_WRONG_JSON_TYPE, 32,
     "\"window.start\" is not a string"},
    {"{\"Records\":[],\"isFinalInvokeForWindow\":\"yes\"}", 0, LR_E_WRONG_JSON_TYPE, 39,
     "\"isFinalInvokeForWindow\" is not a boolean"},
    {"\xEF\xBB\xBF{\"Records\":{}}", 0, LR_E_RECORDS_NOT_ARRAY, 14, "\"Records\" is not an array"},
    {"\xEF\xBB", 0, LR_E_NOT_JSON, 0, "unexpected character"},
    /* strings past one 16-byte block, literals and numbers cut by the end, missing separators */
    {"{\"Records\":[],\"x\":\"0123456789abcdefghij\x01\"}", 0, LR_E_NOT_JSON, 39,
     "control character in string"},
    {"{\"Records\":[],\"a long member name, past one block\xff\":1}", 0, LR_E_NOT_JSON, 49,
     "invalid UTF-8 in string"},
    {"{\"Records\":[],\"x\":\"0123456789abcdefghijklmnopqrstuvwxyz0123456789", 0, LR_E_NOT_JSON, 65,
     "unterminated string"},
    {"{\"Records\":[f", 0, LR_E_NOT_JSON, 12, "invalid literal"},
    {"{\"Records\":[],\"t\":tru", 0, LR_E_NOT_JSON, 18, "invalid literal"},
    {"{\"Records\" []}", 0, LR_E_NOT_JSON, 11, "expected ':'"},
    {"{\"Records\":[-", 0, LR_E_NOT_JSON, 12, "invalid number"},
    {"{\"Records\":[{\"a\":1} {\"b\":2}]}", 0, LR_E_NOT_JSON, 20, "expected ',' or a close"},
    {"{ \"Records\" : [ ] , \"x\" : [ 1 , { } , [ ] ] , }", 0, LR_E_NOT_JSON, 46,
     "expected a member name"},
};

static void check_event_error(size_t i, const char *json, size_t len, enum lr_status status,
                              size_t offset, const char *message)
{
    struct ddb_event ev;
    struct ddb_parse_error err;
    enum lr_status st = ddb_event_parse(&ev, json, len, &err);
    char want[256];
    snprintf(want, sizeof(want), "%s at byte offset %zu", message, offset);
    if (st != status || err.offset != offset || strcmp(err.message, want) != 0)
        fail_msg("case %zu: got %s offset %zu \"%s\", want %s \"%s\"", i, lr_status_str(st),
                 err.offset, err.message, lr_status_str(status), want);
    assert_null(ev.records);
    assert_int_equal(ev.count, 0);
    ddb_event_clean_up(&ev);
    /* the reader reports the same */
    struct ddb_reader r;
    struct ddb_parse_error err2;
    assert_int_equal(ddb_reader_init(&r, json, len, &err2), status);
    assert_string_equal(err2.message, want);
    assert_int_equal(ddb_reader_peak_bytes(&r), 0); /* freed already, reader zeroed */
    assert_int_equal(r.count, 0);
    struct ddb_record rec;
    assert_false(ddb_reader_next(&r, &rec));
    ddb_reader_clean_up(&r);
}

static void test_event_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(event_errors) / sizeof(event_errors[0]); i++) {
        const struct event_error_case *c = &event_errors[i];
        check_event_error(i, c->json, c->len ? c->len : strlen(c->json), c->status, c->offset,
                          c->message);
    }
    struct ddb_event ev;
    struct ddb_parse_error err;
    assert_int_equal(ddb_event_parse(&ev, NULL, 0, &err), LR_E_NOT_JSON);
    assert_string_equal(err.message, "empty input at byte offset 0");
}

/* One record whose text is bad (invalid UTF-8, a lone surrogate, a control character, a bad escape,
 * nesting past the scanner's limit) is a failed record, not a failed event: its end is still found,
 * its SequenceNumber still read, and the records around it are parsed as usual. */
static void check_record_error(size_t i, const char *json, size_t len, size_t bad,
                               enum lr_status status, size_t offset, const char *message,
                               const char *seq)
{
    char want[256];
    snprintf(want, sizeof(want), "%s at byte offset %zu", message, offset);
    struct ddb_event ev;
    struct ddb_parse_error err;
    if (ddb_event_parse(&ev, json, len, &err) != LR_OK)
        fail_msg("case %zu: the event failed: %s", i, err.message);
    struct ddb_reader r;
    assert_int_equal(ddb_reader_init(&r, json, len, NULL), LR_OK);
    assert_int_equal(r.count, ev.count);
    assert_int_equal(ev.invalid_count, 1);
    for (size_t k = 0; k < ev.count; k++) {
        struct ddb_record rec;
        assert_true(ddb_reader_next(&r, &rec));
        const struct ddb_record *whole = &ev.records[k];
        assert_int_equal(rec.valid, whole->valid);
        assert_int_equal(rec.valid, k != bad);
        if (k != bad)
            continue;
        if (whole->error != status || strcmp(whole->error_detail, want) != 0)
            fail_msg("case %zu: got %s \"%s\", want %s \"%s\"", i, lr_status_str(whole->error),
                     whole->error_detail, lr_status_str(status), want);
        assert_int_equal(rec.error, status);
        assert_string_equal(rec.error_detail, want);
        assert_str(whole->sequence_number, seq);
        assert_str(rec.sequence_number, seq);
    }
    ddb_reader_clean_up(&r);
    ddb_event_clean_up(&ev);
}

static void test_record_errors(void **state)
{
    (void)state;
    static const char good[] =
        "{\"dynamodb\":{\"SequenceNumber\":\"9\",\"Keys\":{\"k\":{\"S\":\"a\"}}}}";
    static const struct {
        const char *text; /* the S value of record 1 */
        size_t at;        /* where in it the error is reported */
        const char *message;
    } cases[] = {
        {"\xff", 0, "invalid UTF-8 in string"},
        {"ab\xC0\xAF", 2, "invalid UTF-8 in string"},
        {"\\ud800", 0, "unpaired high surrogate in \\u escape"},
        {"x\\udc00y", 1, "unpaired low surrogate in \\u escape"},
        {"\\u12G4", 0, "bad \\u escape"},
        {"a\tb", 1, "control character in string"},
        {"\\x\\\"", 0, "bad escape in string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[512];
        int head = snprintf(json, sizeof(json),
                            "{\"Records\":[%s,{\"eventID\":\"1\",\"dynamodb\":{\"SequenceNumber\":"
                            "\"123\",\"NewImage\":{\"v\":{\"S\":\"",
                            good);
        int n = snprintf(json + head, sizeof(json) - (size_t)head, "%s\"}},\"SizeBytes\":3}},%s]}",
                         cases[i].text, good);
        check_record_error(i, json, (size_t)(head + n), 1, LR_E_NOT_JSON,
                           (size_t)head + cases[i].at, cases[i].message, "123");
    }
    /* Nesting past the scanner's limit inside a record, after its SequenceNumber and before it; in
     * the skipped part, a string with brackets and an escaped quote, or text that is not JSON: a
     * scalar run into a string or a container (the validator and the parser must find the same
     * end). The top object, Records, the record and "dynamodb" are levels 1-4, so container k is
     * level 5 + k: k = 252 is level 257. */
    static const char *const inner[] = {"\"]}\\\"[\"", "1\"a]b\"", "null[]\"]\"", "2{}"};
    for (int c = 0; c < 8; c++) {
        int seq_first = c % 2;
        size_t depth = 300, len = 0, deep_at = 0;
        char *json = malloc(300 + depth * 6);
        assert_non_null(json);
        len += (size_t)sprintf(json, "{\"Records\":[%s,{\"dynamodb\":{%s\"x\":", good,
                               seq_first ? "\"SequenceNumber\":\"77\"," : "");
        for (size_t k = 0; k < depth; k++) {
            if (k == 252)
                deep_at = len;
            len += (size_t)sprintf(json + len, "%s", k % 2 ? "{\"a\":" : "[");
        }
        len += (size_t)sprintf(json + len, "%s", inner[c / 2]);
        for (size_t k = depth; k-- > 0;)
            json[len++] = k % 2 ? '}' : ']';
        len += (size_t)sprintf(json + len, "%s}},%s]}",
                               seq_first ? "" : ",\"SequenceNumber\":\"77\"", good);
        check_record_error(10 + (size_t)c, json, len, 1, LR_E_TOO_DEEP, deep_at,
                           "JSON nested too deep", "77");
        free(json);
    }
}

/* Deep JSON must be refused by the iterative scanner, never by a stack overflow. The top object
 * is level 1 and Records' '[' (at offset 11) level 2, so the 255th opening after it is level 257. */
static void test_deep_json(void **state)
{
    (void)state;
    static const struct {
        const char *open;
        size_t n;
        enum lr_status want;
        size_t offset;
        const char *message;
    } cases[] = {
        {"[", 100000, LR_E_TOO_DEEP, 11 + 255, "JSON nested too deep"},
        {"{\"a\":", 50000, LR_E_TOO_DEEP, 11 + 255 * 5, "JSON nested too deep"},
        {"[", 255, LR_E_NOT_JSON, 11 + 255, "unexpected character"}, /* deep enough, not closed */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t unit = strlen(cases[i].open);
        size_t len = 12 + unit * cases[i].n;
        char *json = malloc(len + 1);
        assert_non_null(json);
        memcpy(json, "{\"Records\":", 11);
        for (size_t k = 0; k < cases[i].n; k++)
            memcpy(json + 11 + k * unit, cases[i].open, unit);
        json[len - 1] = '}';
        json[len] = '\0';
        check_event_error(i, json, len, cases[i].want, cases[i].offset, cases[i].message);
        free(json);
    }
}

static void test_bom_and_single_record(void **state)
{
    (void)state;
    static const char bom[] =
        "\xEF\xBB\xBF{\"Records\":[{\"dynamodb\":{\"SequenceNumber\":\"7\"}}]}";
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, bom, strlen(bom), NULL), LR_OK);
    assert_int_equal(ev.count, 1);
    assert_str(ev.records[0].sequence_number, "7");
    assert_int_equal(ev.records[0].offset, 15);
    ddb_event_clean_up(&ev);
    ddb_event_clean_up(&ev); /* twice is fine */

    size_t len;
    char *json = fixture("single_record.json", &len);
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_true(ev.single_record);
    assert_false(ev.window.present);
    assert_int_equal(ev.count, 1);
    const struct ddb_record *r = &ev.records[0];
    assert_true(r->valid);
    assert_str(r->event_id, "single-1");
    assert_int_equal(r->event_name, DDB_EVENT_MODIFY);
    assert_str(r->event_version, "1.1");
    assert_str(r->event_source, "aws:dynamodb");
    assert_str(r->aws_region, "us-east-1");
    assert_str(r->event_source_arn,
               "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000");
    assert_str(r->sequence_number, "700000000000000000000001");
    assert_int_equal(r->size_bytes, 44);
    assert_int_equal(r->approximate_creation.sec, 1700000000);
    assert_int_equal(r->stream_view_type, DDB_VIEW_NEW_AND_OLD_IMAGES);
    assert_str(ddb_map_get(&r->new_image, "v", 1)->v.n, "2");
    assert_str(ddb_map_get(&r->old_image, "v", 1)->v.n, "1");
    assert_str(ddb_map_get(&r->keys, "pk", 2)->v.s, "one");
    ddb_event_clean_up(&ev);
    free(json);
}

static void test_tumbling_window(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("tumbling_window.json", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_true(ev.window.present);
    assert_str(ev.window.start, "2026-07-30T17:00:00Z");
    assert_str(ev.window.end, "2026-07-30T17:05:00Z");
    assert_str(ev.window.state_json, "{\"count\":{\"n\":3},\"list\":[1,2]}");
    assert_str(ev.window.shard_id, "shardId-00000001");
    assert_str(ev.window.event_source_arn,
               "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000");
    assert_true(ev.window.is_final_invoke_for_window);
    assert_false(ev.window.is_window_terminated_early);
    assert_int_equal(ev.count, 1);
    assert_true(ev.records[0].valid);
    ddb_event_clean_up(&ev);
    free(json);
}

/* Expected outcome of each record of malformed_records.json. */
static const struct {
    const char *seq; /* "" when it cannot be kept */
    enum lr_status error;
    const char *detail_start;
} malformed_expect[] = {
    {"900000000000000000001", LR_OK, ""},
    {"900000000000000000002", LR_E_TWO_TYPE_KEYS,
     "dynamodb.NewImage: attribute \"x\": attribute value has two type keys (byte offset "},
    {"900000000000000000003", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"x\": N value is not a string (byte offset "},
    {"900000000000000000004", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"x\": bad base64 at position 2: character outside the "
     "alphabet"},
    {"900000000000000000005", LR_E_BAD_NUMBER,
     "dynamodb.NewImage: attribute \"x\": N \"twelve\": not a decimal number"},
    {"900000000000000000006", LR_E_UNKNOWN_TYPE,
     "dynamodb.NewImage: attribute \"x\": unknown type key \"SX\""},
    {"", LR_E_BAD_SEQUENCE_NUMBER, "dynamodb.SequenceNumber: not 1..40 decimal digits"},
    {"", LR_E_NOT_OBJECT, "record: is a string, not an object"},
    {"", LR_E_MISSING_FIELD, "dynamodb: missing (not a DynamoDB stream record)"},
    {"900000000000000000010", LR_OK, ""},
};

static void check_malformed(const struct ddb_record *r, size_t i)
{
    if (r->error != malformed_expect[i].error ||
        strncmp(r->error_detail, malformed_expect[i].detail_start,
                strlen(malformed_expect[i].detail_start)) != 0)
        fail_msg("record %zu: %s \"%s\"", i, lr_status_str(r->error), r->error_detail);
    assert_int_equal(r->index, i);
    assert_int_equal(r->valid, malformed_expect[i].error == LR_OK);
    assert_str(r->sequence_number, malformed_expect[i].seq);
}

/* A record with a one-attribute NewImage {"v":{"S":...}} whose raw JSON string text is `text`. */
static char *one_string_event(const char *text, size_t *len)
{
    static const char head[] =
        "{\"Records\":[{\"eventID\":\"e\",\"dynamodb\":{\"NewImage\":{\"v\":{\"S\":\"";
    static const char tail[] = "\"}}}}]}";
    size_t n = strlen(text);
    char *json = malloc(sizeof(head) + n + sizeof(tail));
    assert_non_null(json);
    memcpy(json, head, sizeof(head) - 1);
    memcpy(json + sizeof(head) - 1, text, n);
    memcpy(json + sizeof(head) - 1 + n, tail, sizeof(tail));
    *len = sizeof(head) - 1 + n + sizeof(tail) - 1;
    return json;
}

/* Strings are scanned eight bytes at a time: a special byte at every position of the first words
 * (and in the tail after them) is still found, with its exact offset. */
static void test_string_scan_positions(void **state)
{
    (void)state;
    size_t head_len; /* offset of the string's first byte in one_string_event */
    free(one_string_event("", &head_len));
    head_len -= 7; /* the tail */
    for (size_t at = 0; at < 24; at++) {
        for (size_t total = at + 1; total < 26; total += 7) {
            char text[40];
            memset(text, 'a', total);
            text[total] = '\0';
            struct {
                char byte;
                enum lr_status status;
                const char *message;
            } cases[] = {{'\t', LR_E_NOT_JSON, "control character in string"},
                         {'\x1f', LR_E_NOT_JSON, "control character in string"},
                         {'\xff', LR_E_NOT_JSON, "invalid UTF-8 in string"},
                         {'\x80', LR_E_NOT_JSON, "invalid UTF-8 in string"}};
            for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                text[at] = cases[k].byte;
                size_t len;
                char *json = one_string_event(text, &len);
                check_record_error(at, json, len, 0, cases[k].status, (size_t)head_len + at,
                                   cases[k].message, "");
                free(json);
            }
            /* an escaped quote and a raw two-byte character at that position are fine */
            char esc[48], want[48];
            snprintf(esc, sizeof(esc), "%.*s\\\"%s\xC3\xA9", (int)at, text, text + at + 1);
            snprintf(want, sizeof(want), "%.*s\"%s\xC3\xA9", (int)at, text, text + at + 1);
            size_t len;
            char *json = one_string_event(esc, &len);
            struct ddb_event ev;
            assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
            assert_int_equal(ev.count, 1);
            assert_str(ddb_map_get(&ev.records[0].new_image, "v", 1)->v.s, want);
            ddb_event_clean_up(&ev);
            free(json);
        }
    }
}

/* The Records array is counted while the event is validated; more arrays before it than the
 * validator notes, an empty array, brackets inside strings and a repeated "Records" member (the
 * last one counts, as before) all give the same count. */
static void test_records_count(void **state)
{
    (void)state;
    static const char rec[] =
        "{\"eventID\":\"r]\\\"[\",\"dynamodb\":{\"Keys\":{\"k\":{\"L\":[{\"L\":[]}]}}}}";
    struct {
        const char *prefix;
        size_t records;
        size_t want;
    } cases[] = {
        {"", 3, 3},
        {"\"a\":[],\"b\":[[1],[2]],", 2, 2},
        {"\"a\":[],\"b\":[],\"c\":[],\"d\":[],\"e\":[],\"f\":[],\"g\":[],\"h\":[],\"i\":[1,2,3],",
         4, 4},
        {"\"Records\":[1,2,3,4,5],", 1, 1},
        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[2048];
        size_t n = (size_t)snprintf(json, sizeof(json), "{%s\"Records\":[", cases[i].prefix);
        for (size_t k = 0; k < cases[i].records; k++)
            n += (size_t)snprintf(json + n, sizeof(json) - n, "%s%s", k ? "," : "", rec);
        n += (size_t)snprintf(json + n, sizeof(json) - n, "],\"x\":[7]}");
        struct ddb_event ev;
        assert_int_equal(ddb_event_parse(&ev, json, n, NULL), LR_OK);
        if (ev.count != cases[i].want || ev.invalid_count != 0)
            fail_msg("case %zu: %zu records (%zu invalid), want %zu", i, ev.count, ev.invalid_count,
                     cases[i].want);
        for (size_t k = 0; k < ev.count; k++)
            assert_str(ev.records[k].event_id, "r]\"[");
        ddb_event_clean_up(&ev);
        struct ddb_reader r;
        assert_int_equal(ddb_reader_init(&r, json, n, NULL), LR_OK);
        assert_int_equal(r.count, cases[i].want);
        struct ddb_record one;
        size_t got = 0;
        while (ddb_reader_next(&r, &one))
            got += one.valid;
        assert_int_equal(got, cases[i].want);
        ddb_reader_clean_up(&r);
    }
}

static void test_isolation(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("malformed_records.json", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_int_equal(ev.count, 10);
    assert_int_equal(ev.invalid_count, 8);
    for (size_t i = 0; i < ev.count; i++)
        check_malformed(&ev.records[i], i);
    /* neighbours keep their content */
    assert_str(ddb_map_get(&ev.records[0].new_image, "x", 1)->v.s, "ok");
    assert_str(ddb_map_get(&ev.records[9].new_image, "x", 1)->v.s, "ok");
    assert_str(ev.records[1].event_id, "m2");
    assert_str(ev.records[8].event_id, "m9");
    /* the member after the faulty one is still read */
    assert_int_equal(ev.records[1].size_bytes, 5);
    assert_int_equal(ev.records[1].stream_view_type, DDB_VIEW_NEW_IMAGE);
    ddb_event_clean_up(&ev);

    struct ddb_reader r;
    assert_int_equal(ddb_reader_init(&r, json, len, NULL), LR_OK);
    assert_int_equal(r.count, 10);
    struct ddb_record rec;
    size_t n = 0;
    while (ddb_reader_next(&r, &rec))
        check_malformed(&rec, n++);
    assert_int_equal(n, 10);
    assert_false(ddb_reader_next(&r, &rec));
    ddb_reader_clean_up(&r);
    ddb_reader_clean_up(&r);
    free(json);
}

static void test_fixture_all_types(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("all_types.json", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    const struct ddb_record *r = &ev.records[0];
    assert_true(r->valid);
    static const struct {
        const char *name;
        enum ddb_type type;
    } top[] = {{"s", DDB_S},   {"n", DDB_N},   {"b", DDB_B},       {"ss", DDB_SS},
               {"ns", DDB_NS}, {"bs", DDB_BS}, {"null", DDB_NULL}, {"bool", DDB_BOOL},
               {"m", DDB_M},   {"l", DDB_L},   {"empty_m", DDB_M}, {"empty_l", DDB_L}};
    assert_int_equal(r->new_image.count, 12);
    for (size_t i = 0; i < 12; i++) {
        const struct ddb_attr *a = ddb_map_get(&r->new_image, top[i].name, strlen(top[i].name));
        assert_non_null(a);
        assert_int_equal(a->type, top[i].type);
    }
    /* every type inside M and inside L, in document order */
    const struct ddb_attr *m = ddb_map_get(&r->new_image, "m", 1);
    const struct ddb_attr *l = ddb_map_get(&r->new_image, "l", 1);
    static const enum ddb_type order[] = {DDB_S,  DDB_N,    DDB_B,    DDB_SS, DDB_NS,
                                          DDB_BS, DDB_NULL, DDB_BOOL, DDB_M,  DDB_L};
    assert_int_equal(m->v.m.count, 10);
    assert_int_equal(l->v.l.count, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(m->v.m.members[i].value.type, order[i]);
        assert_int_equal(l->v.l.items[i].type, order[i]);
    }
    assert_str(m->v.m.members[1].value.v.n, "-12.5E3");
    assert_int_equal(l->v.l.items[2].v.b.len, 4);
    assert_memory_equal(l->v.l.items[2].v.b.ptr, "\x00\x01\x2A\x41", 4);
    assert_false(l->v.l.items[7].v.boolean);
    assert_true(ddb_map_get(&r->new_image, "empty_m", 7)->v.m.present);
    assert_int_equal(ddb_map_get(&r->new_image, "empty_m", 7)->v.m.count, 0);
    assert_false(r->old_image.present);
    ddb_event_clean_up(&ev);
    free(json);
}

static void test_fixture_depth(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("depth_32.json", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_true(ev.records[0].valid);
    const struct ddb_attr *a = ddb_map_get(&ev.records[0].new_image, "deep", 4);
    for (int level = 1; level <= 32; level++) {
        char name[8];
        snprintf(name, sizeof(name), "d%d", level);
        assert_int_equal(a->type, DDB_M);
        a = ddb_map_get(&a->v.m, name, strlen(name));
        assert_non_null(a);
    }
    assert_int_equal(a->type, DDB_S);
    assert_str(a->v.s, "bottom");
    ddb_event_clean_up(&ev);
    free(json);

    json = fixture("depth_33.json", &len);
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_int_equal(ev.count, 3);
    assert_true(ev.records[0].valid);
    assert_int_equal(ev.records[1].error, LR_E_TOO_DEEP);
    assert_str(ev.records[1].sequence_number, "100000000000000000033");
    assert_true(ev.records[2].valid);
    ddb_event_clean_up(&ev);
    free(json);
}

static void test_fixture_numbers_unicode(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("numbers.json", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_true(ev.records[0].valid);
    assert_str(ddb_map_get(&ev.records[0].new_image, "max38", 5)->v.n,
               "12345678901234567890123456789012345678");
    assert_int_equal(ev.records[1].error, LR_E_NUMBER_RANGE);
    assert_int_equal(ev.records[2].error, LR_E_NUMBER_RANGE);
    assert_int_equal(ev.records[3].error, LR_E_NUMBER_PRECISION);
    ddb_event_clean_up(&ev);
    free(json);

    json = fixture("unicode.json", &len);
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    const struct ddb_record *r = &ev.records[0];
    assert_true(r->valid);
    assert_str(ddb_map_get(&r->keys, "pk", 2)->v.s, "caf\xC3\xA9");
    assert_str(ddb_map_get(&r->new_image, "escaped", 7)->v.s,
               "line1\nline2\ttab \"q\" \\ / \x1b[31m");
    assert_str(ddb_map_get(&r->new_image, "pair", 4)->v.s, "\xF0\x9F\x98\x80");
    assert_str(ddb_map_get(&r->new_image, "emoji", 5)->v.s, "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89");
    assert_str(ddb_map_get(&r->new_image, "raw", 3)->v.s, "Gr\xC3\xBC\xC3\x9F"
                                                          "e, \xE6\x9D\xB1\xE4\xBA\xAC");
    const struct ddb_attr *nul = ddb_map_get(&r->new_image, "nul", 3);
    assert_int_equal(nul->v.s.len, 3);
    assert_memory_equal(nul->v.s.ptr, "a\0b", 3);
    const struct ddb_attr *ss = ddb_map_get(&r->new_image, "\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87", 8);
    assert_non_null(ss);
    assert_str(ss->v.ss.items[1], "\xE4\xB8\xAD");
    struct lr_buf b;
    lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
    assert_int_equal(ddb_attr_serialize(ddb_map_get(&r->new_image, "escaped", 7), &b), LR_OK);
    assert_string_equal(b.data, "{\"S\":\"line1\\nline2\\ttab \\\"q\\\" \\\\ / \\u001b[31m\"}");
    lr_buf_clean_up(&b);
    ddb_event_clean_up(&ev);
    free(json);
}

static void test_fixture_ttl_views_timestamps(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("ttl_delete.json", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_true(ddb_record_is_ttl_delete(&ev.records[0]));
    assert_str(ev.records[0].user_identity.principal_id, "dynamodb.amazonaws.com");
    assert_false(ddb_record_is_ttl_delete(&ev.records[1]));
    assert_false(ev.records[1].user_identity.present);
    ddb_event_clean_up(&ev);
    free(json);

    json = fixture("view_types.json", &len);
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    static const struct {
        enum ddb_view_type view;
        bool has_new, has_old;
        size_t new_count;
    } views[] = {{DDB_VIEW_KEYS_ONLY, false, false, 0},
                 {DDB_VIEW_NEW_IMAGE, true, false, 1},
                 {DDB_VIEW_OLD_IMAGE, false, true, 0},
                 {DDB_VIEW_NEW_AND_OLD_IMAGES, true, true, 1},
                 {DDB_VIEW_NEW_AND_OLD_IMAGES, true, true, 0}}; /* empty, not absent */
    assert_int_equal(ev.count, 5);
    for (size_t i = 0; i < 5; i++) {
        const struct ddb_record *r = &ev.records[i];
        assert_true(r->valid);
        assert_int_equal(r->stream_view_type, views[i].view);
        assert_int_equal(r->new_image.present, views[i].has_new);
        assert_int_equal(r->old_image.present, views[i].has_old);
        assert_int_equal(r->new_image.count, views[i].new_count);
        assert_true(r->keys.present);
    }
    ddb_event_clean_up(&ev);
    free(json);

    json = fixture("timestamps.json", &len);
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    static const struct {
        bool present;
        int64_t sec;
        int32_t nsec;
        enum lr_status error;
    } ts[] = {{true, 1480642020, 0, LR_OK},
              {true, 1693997155, 0, LR_OK},
              {true, 1635734407, 123456789, LR_OK},
              {true, 1683991180, 0, LR_OK},
              {true, 1678831218, 0, LR_OK},
              {true, 0, 0, LR_OK},
              {false, 0, 0, LR_OK},
              {true, 1693997155, 123400000, LR_OK},
              {false, 0, 0, LR_E_BAD_TIMESTAMP},
              {false, 0, 0, LR_E_BAD_TIMESTAMP}};
    assert_int_equal(ev.count, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(ev.records[i].approximate_creation.present, ts[i].present);
        assert_int_equal(ev.records[i].approximate_creation.sec, ts[i].sec);
        assert_int_equal(ev.records[i].approximate_creation.nsec, ts[i].nsec);
        assert_int_equal(ev.records[i].error, ts[i].error);
    }
    ddb_event_clean_up(&ev);
    free(json);
}

/* ---- round trip and reader equivalence over every fixture ---- */

static const char *const fixture_names[] = {
    "all_types.json",       "depth_32.json",      "depth_33.json",   "malformed_records.json",
    "numbers.json",         "single_record.json", "timestamps.json", "ttl_delete.json",
    "tumbling_window.json", "unicode.json",       "view_types.json",
};

static void append(struct lr_buf *b, const char *s)
{
    assert_int_equal(lr_buf_append(b, s, strlen(s)), LR_OK);
}

/* Serialises the images of rec into a one-record event, parses it and compares. */
static void round_trip(const struct ddb_record *rec)
{
    struct lr_buf b;
    lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
    append(&b, "{\"Records\":[{\"dynamodb\":{\"SequenceNumber\":\"1\",\"Keys\":");
    assert_int_equal(ddb_image_serialize(&rec->keys, &b), LR_OK);
    append(&b, ",\"NewImage\":");
    assert_int_equal(ddb_image_serialize(&rec->new_image, &b), LR_OK);
    append(&b, ",\"OldImage\":");
    assert_int_equal(ddb_image_serialize(&rec->old_image, &b), LR_OK);
    append(&b, "}}]}");
    assert_null(memchr(b.data, '\n', b.len)); /* safe in one log line */
    struct ddb_event again;
    assert_int_equal(ddb_event_parse(&again, b.data, b.len, NULL), LR_OK);
    const struct ddb_record *r2 = &again.records[0];
    if (!r2->valid)
        fail_msg("re-parse failed: %s in %s", r2->error_detail, b.data);
    assert_true(ddb_map_equal(&rec->keys, &r2->keys));
    assert_true(ddb_map_equal(&rec->new_image, &r2->new_image));
    assert_true(ddb_map_equal(&rec->old_image, &r2->old_image));
    ddb_event_clean_up(&again);
    lr_buf_clean_up(&b);
}

static void compare_records(const struct ddb_record *a, const struct ddb_record *b)
{
    assert_int_equal(a->valid, b->valid);
    assert_int_equal(a->error, b->error);
    assert_string_equal(a->error_detail, b->error_detail);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(ddb_seq_cmp(a->sequence_number, b->sequence_number), 0);
    assert_int_equal(a->sequence_number.len, b->sequence_number.len);
    assert_true(ddb_map_equal(&a->keys, &b->keys));
    assert_true(ddb_map_equal(&a->new_image, &b->new_image));
    assert_true(ddb_map_equal(&a->old_image, &b->old_image));
    assert_int_equal(a->approximate_creation.sec, b->approximate_creation.sec);
    assert_int_equal(a->size_bytes, b->size_bytes);
}

static void test_round_trip_and_reader(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof(fixture_names) / sizeof(fixture_names[0]); f++) {
        size_t len;
        char *json = fixture(fixture_names[f], &len);
        struct ddb_event ev;
        assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
        for (size_t i = 0; i < ev.count; i++)
            if (ev.records[i].valid)
                round_trip(&ev.records[i]);
        struct ddb_reader r;
        assert_int_equal(ddb_reader_init(&r, json, len, NULL), LR_OK);
        assert_int_equal(r.count, ev.count);
        assert_int_equal(r.single_record, ev.single_record);
        assert_int_equal(r.window.present, ev.window.present);
        struct ddb_record rec;
        size_t n = 0;
        while (ddb_reader_next(&r, &rec))
            compare_records(&rec, &ev.records[n++]);
        assert_int_equal(n, ev.count);
        ddb_reader_clean_up(&r);
        ddb_event_clean_up(&ev);
        free(json);
    }
}

/* ---- serialiser details ---- */

static void test_serializer_cap_and_escaping(void **state)
{
    (void)state;
    struct ddb_attr s = {.type = DDB_S,
                         .v.s = {"ok\xff\xC2\x85"
                                 "e\x7f",
                                 7}};
    struct lr_buf b;
    lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
    assert_int_equal(ddb_attr_serialize(&s, &b), LR_OK);
    assert_string_equal(b.data, "{\"S\":\"ok\\ufffd\\u0085e\\u007f\"}");

    struct ddb_attr sep = {.type = DDB_S,
                           .v.s = {"a\xE2\x80\xA8"
                                   "b\n",
                                   6}};
    lr_buf_reset(&b);
    assert_int_equal(ddb_attr_serialize(&sep, &b), LR_OK);
    assert_string_equal(b.data, "{\"S\":\"a\\u2028b\\n\"}"); /* no line separator survives */
    lr_buf_clean_up(&b);

    struct ddb_attr n = {.type = DDB_N, .v.n = {"12345", 5}};
    lr_buf_init(&b, 14);
    assert_int_equal(ddb_attr_serialize(&n, &b), LR_OK); /* {"N":"12345"} is 13 bytes */
    assert_int_equal(b.len, 13);
    assert_int_equal(ddb_attr_serialize(&n, &b), LR_E_TOO_LARGE);
    assert_int_equal(b.len, 13); /* all or nothing */
    assert_string_equal(b.data, "{\"N\":\"12345\"}");
    lr_buf_reset(&b);
    assert_int_equal(b.len, 0);
    lr_buf_clean_up(&b);
    lr_buf_clean_up(&b);

    struct ddb_map absent = {0};
    lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
    assert_int_equal(ddb_image_serialize(&absent, &b), LR_OK);
    assert_string_equal(b.data, "null");
    struct ddb_attr bad = {.type = (enum ddb_type)0};
    assert_int_equal(ddb_attr_serialize(&bad, &b), LR_E_INVALID_ARG);
    lr_buf_clean_up(&b);
}

/* ---- the big batch ---- */

#define BIG_RECORDS 10000
#define BIG_CAP ((size_t)6 * 1024 * 1024)

/* One record with all ten types in NEW_AND_OLD_IMAGES (~600 bytes) into out. */
static size_t big_record(char *out, size_t cap, size_t i)
{
    return (size_t)snprintf(
        out, cap,
        "%s{\"eventID\":\"%08zx\",\"eventName\":\"MODIFY\","
        "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\",\"dynamodb\":{"
        "\"ApproximateCreationDateTime\":1.7%08zuE9,\"Keys\":{\"pk\":{\"S\":\"item-%zu\"}},"
        "\"NewImage\":{\"pk\":{\"S\":\"item-%zu\"},\"n\":{\"N\":\"%zu.25\"},\"b\":{\"B\":\"AAEqQQ=="
        "\"},"
        "\"ss\":{\"SS\":[\"a\",\"b\"]},\"ns\":{\"NS\":[\"1\",\"2\"]},\"bs\":{\"BS\":[\"QQ==\"]},"
        "\"m\":{\"M\":{\"x\":{\"NULL\":true}}},\"l\":{\"L\":[{\"BOOL\":true},{\"S\":\"\\u00e9\"}]}}"
        ","
        "\"OldImage\":{\"pk\":{\"S\":\"item-%zu\"},\"n\":{\"N\":\"%zu\"}},"
        "\"SequenceNumber\":\"%021zu\",\"SizeBytes\":300,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}"
        ","
        "\"eventSourceARN\":\"arn:aws:dynamodb:eu-west-1:1:table/T/stream/1\"}",
        i ? "," : "", i, i, i, i, i, i, i, i + 1);
}

static char *big_batch(size_t *len, size_t *records)
{
    char *buf = malloc(BIG_CAP + 1);
    assert_non_null(buf);
    size_t n = (size_t)snprintf(buf, BIG_CAP, "{\"Records\":[");
    size_t i = 0;
    char one[2048];
    for (; i < BIG_RECORDS; i++) {
        size_t m = big_record(one, sizeof(one), i);
        if (n + m + 2 > BIG_CAP) /* stop at the cap, like Lambda's 6 MB batches */
            break;
        memcpy(buf + n, one, m);
        n += m;
    }
    memcpy(buf + n, "]}", 2);
    *len = n + 2;
    *records = i;
    return buf;
}

static void test_big_batch(void **state)
{
    (void)state;
    size_t len, records;
    char *json = big_batch(&len, &records);
    assert_int_equal(records, BIG_RECORDS);
    assert_true(len <= BIG_CAP);
    assert_true(len > (size_t)5 * 1024 * 1024);

    struct ddb_reader r;
    assert_int_equal(ddb_reader_init(&r, json, len, NULL), LR_OK);
    assert_int_equal(r.count, BIG_RECORDS);
    struct ddb_record rec, prev = {0};
    size_t n = 0;
    char seq[32];
    while (ddb_reader_next(&r, &rec)) {
        if (!rec.valid)
            fail_msg("record %zu: %s", n, rec.error_detail);
        snprintf(seq, sizeof(seq), "%021zu", n + 1);
        assert_str(rec.sequence_number, seq);
        if (n)
            assert_true(ddb_seq_cmp(prev.sequence_number, rec.sequence_number) < 0);
        assert_int_equal(rec.new_image.count, 8);
        assert_str(ddb_map_get(&rec.new_image, "l", 1)->v.l.items[1].v.s, "\xC3\xA9");
        assert_int_equal(rec.approximate_creation.sec, 1700000000 + (int64_t)n);
        prev.sequence_number = rec.sequence_number; /* unescaped: a view into json, not the arena */
        n++;
    }
    assert_int_equal(n, BIG_RECORDS);
    /* one record's storage at a time: far below the payload, so payload + parser < 2x payload */
    size_t peak = ddb_reader_peak_bytes(&r);
    print_message("reader: %zu bytes of JSON, %zu records, parser peak %zu bytes\n", len, n, peak);
    assert_true(peak < len / 8);
    ddb_reader_clean_up(&r);

    struct ddb_event ev;
    clock_t t0 = clock();
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    print_message("event parse of the whole batch: %.3f s CPU\n", secs);
    assert_int_equal(ev.count, BIG_RECORDS);
    assert_int_equal(ev.invalid_count, 0);
    assert_str(ev.records[BIG_RECORDS - 1].event_id, "0000270f");
    ddb_event_clean_up(&ev);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_errors),
        cmocka_unit_test(test_deep_json),
        cmocka_unit_test(test_bom_and_single_record),
        cmocka_unit_test(test_tumbling_window),
        cmocka_unit_test(test_record_errors),
        cmocka_unit_test(test_string_scan_positions),
        cmocka_unit_test(test_records_count),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_fixture_all_types),
        cmocka_unit_test(test_fixture_depth),
        cmocka_unit_test(test_fixture_numbers_unicode),
        cmocka_unit_test(test_fixture_ttl_views_timestamps),
        cmocka_unit_test(test_round_trip_and_reader),
        cmocka_unit_test(test_serializer_cap_and_escaping),
        cmocka_unit_test(test_big_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
