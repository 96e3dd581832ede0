/* Table-driven tests of attribute values, numbers, timestamps and record fields, each with the
 * exact expected value or error (and the exact error detail where the detail matters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lr/runtime.h"
#include "lr/ddb.h"

/* The prefix/suffix that wrap one attribute value "a" into a one-record event. */
#define PREFIX                                                                                  \
    "{\"Records\":[{\"eventID\":\"e1\",\"dynamodb\":{\"SequenceNumber\":\"100\",\"NewImage\":{" \
    "\"a\":"
#define SUFFIX "}}}]}"

static char *wrap(const char *attr_json, size_t *len)
{
    size_t n = strlen(PREFIX) + strlen(attr_json) + strlen(SUFFIX);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    snprintf(buf, n + 1, "%s%s%s", PREFIX, attr_json, SUFFIX);
    *len = n;
    return buf;
}

/* ---- valid values ---- */

struct valid_case {
    const char *json;
    enum ddb_type type;
    const char *bytes; /* S/N text or B bytes, NULL when not a scalar */
    size_t bytes_len;
    size_t count; /* elements of sets/lists/maps */
    const char *serialized;
};

static const struct valid_case valid_cases[] = {
    {"{\"S\":\"hello\"}", DDB_S, "hello", 5, 0, "{\"S\":\"hello\"}"},
    {"{\"S\":\"\"}", DDB_S, "", 0, 0, "{\"S\":\"\"}"},
    {"{ \"S\" : \"x\" }", DDB_S, "x", 1, 0, "{\"S\":\"x\"}"},
    {"{\"S\":\"a\\u0000b\"}", DDB_S, "a\0b", 3, 0, "{\"S\":\"a\\u0000b\"}"},
    {"{\"S\":\"caf\\u00e9\"}", DDB_S, "caf\xC3\xA9", 5, 0, "{\"S\":\"caf\xC3\xA9\"}"},
    {"{\"S\":\"\\ud83d\\ude00\"}", DDB_S, "\xF0\x9F\x98\x80", 4, 0, "{\"S\":\"\xF0\x9F\x98\x80\"}"},
    {"{\"S\":\"\xF0\x9F\x8E\x89 \xE6\x9D\xB1\"}", DDB_S, "\xF0\x9F\x8E\x89 \xE6\x9D\xB1", 8, 0,
     "{\"S\":\"\xF0\x9F\x8E\x89 \xE6\x9D\xB1\"}"},
    {"{\"S\":\"q\\\"b\\\\s\\/n\\nt\\tesc\\u001b\"}", DDB_S, "q\"b\\s/n\nt\tesc\x1b", 14, 0,
     "{\"S\":\"q\\\"b\\\\s/n\\nt\\tesc\\u001b\"}"},
    {"{\"N\":\"123\"}", DDB_N, "123", 3, 0, "{\"N\":\"123\"}"},
    {"{\"N\":\"-1.5E-10\"}", DDB_N, "-1.5E-10", 8, 0, "{\"N\":\"-1.5E-10\"}"},
    {"{\"N\":\"12345678901234567890123456789012345678\"}", DDB_N,
     "12345678901234567890123456789012345678", 38, 0,
     "{\"N\":\"12345678901234567890123456789012345678\"}"},
    {"{\"B\":\"AAEqQQ==\"}", DDB_B, "\x00\x01\x2A\x41", 4, 0, "{\"B\":\"AAEqQQ==\"}"},
    {"{\"B\":\"dGVzdA==\"}", DDB_B, "test", 4, 0, "{\"B\":\"dGVzdA==\"}"},
    {"{\"B\":\"dGVzdDE=\"}", DDB_B, "test1", 5, 0, "{\"B\":\"dGVzdDE=\"}"},
    {"{\"B\":\"\"}", DDB_B, "", 0, 0, "{\"B\":\"\"}"},
    {"{\"SS\":[\"a\",\"b\"]}", DDB_SS, NULL, 0, 2, "{\"SS\":[\"a\",\"b\"]}"},
    {"{\"SS\":[]}", DDB_SS, NULL, 0, 0, "{\"SS\":[]}"},
    {"{\"NS\":[\"1\",\"2.5\"]}", DDB_NS, NULL, 0, 2, "{\"NS\":[\"1\",\"2.5\"]}"},
    {"{\"BS\":[\"AAEqQQ==\",\"QSoBAA==\"]}", DDB_BS, NULL, 0, 2,
     "{\"BS\":[\"AAEqQQ==\",\"QSoBAA==\"]}"},
    {"{\"M\":{}}", DDB_M, NULL, 0, 0, "{\"M\":{}}"},
    {"{\"M\":{\"x\":{\"S\":\"y\"},\"z\":{\"BOOL\":true}}}", DDB_M, NULL, 0, 2,
     "{\"M\":{\"x\":{\"S\":\"y\"},\"z\":{\"BOOL\":true}}}"},
    {"{\"L\":[]}", DDB_L, NULL, 0, 0, "{\"L\":[]}"},
    {"{\"L\":[{\"N\":\"1\"},{\"NULL\":true},{\"L\":[{\"S\":\"in\"}]}]}", DDB_L, NULL, 0, 3,
     "{\"L\":[{\"N\":\"1\"},{\"NULL\":true},{\"L\":[{\"S\":\"in\"}]}]}"},
    {"{\"NULL\":true}", DDB_NULL, NULL, 0, 0, "{\"NULL\":true}"},
    {"{\"BOOL\":false}", DDB_BOOL, NULL, 0, 0, "{\"BOOL\":false}"},
    {"{\"BOOL\":true}", DDB_BOOL, NULL, 0, 0, "{\"BOOL\":true}"},
};

static size_t count_of(const struct ddb_attr *a)
{
    switch (a->type) {
    case DDB_SS: return a->v.ss.count;
    case DDB_NS: return a->v.ns.count;
    case DDB_BS: return a->v.bs.count;
    case DDB_M: return a->v.m.count;
    case DDB_L: return a->v.l.count;
    default: return 0;
    }
}

static void check_scalar(const struct valid_case *c, const struct ddb_attr *a)
{
    if (!c->bytes)
        return;
    if (a->type == DDB_B) {
        assert_int_equal(a->v.b.len, c->bytes_len);
        if (c->bytes_len)
            assert_memory_equal(a->v.b.ptr, c->bytes, c->bytes_len);
        return;
    }
    struct lr_str s = a->type == DDB_S ? a->v.s : a->v.n;
    assert_int_equal(s.len, c->bytes_len);
    if (c->bytes_len)
        assert_memory_equal(s.ptr, c->bytes, c->bytes_len);
}

static void test_valid_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const struct valid_case *c = &valid_cases[i];
        size_t len;
        char *json = wrap(c->json, &len);
        struct ddb_event ev;
        assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
        assert_int_equal(ev.count, 1);
        const struct ddb_record *r = &ev.records[0];
        if (!r->valid)
            fail_msg("case %zu (%s): %s", i, c->json, r->error_detail);
        const struct ddb_attr *a = ddb_map_get(&r->new_image, "a", 1);
        assert_non_null(a);
        assert_int_equal(a->type, c->type);
        check_scalar(c, a);
        assert_int_equal(count_of(a), c->count);
        struct lr_buf b;
        lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
        assert_int_equal(ddb_attr_serialize(a, &b), LR_OK);
        assert_string_equal(b.data, c->serialized);
        lr_buf_clean_up(&b);
        ddb_event_clean_up(&ev);
        free(json);
    }
}

static void test_nested_access(void **state)
{
    (void)state;
    size_t len;
    char *json = wrap("{\"M\":{\"list\":{\"L\":[{\"SS\":[\"p\",\"q\"]},{\"BS\":[\"AQI=\"]},"
                      "{\"M\":{\"n\":{\"NS\":[\"-0\",\"7E+3\"]}}}]}}}",
                      &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    const struct ddb_attr *a = ddb_map_get(&ev.records[0].new_image, "a", 1);
    assert_non_null(a);
    const struct ddb_attr *list = ddb_map_get(&a->v.m, "list", 4);
    assert_non_null(list);
    assert_int_equal(list->type, DDB_L);
    assert_int_equal(list->v.l.count, 3);
    assert_int_equal(list->v.l.items[0].v.ss.count, 2);
    assert_memory_equal(list->v.l.items[0].v.ss.items[1].ptr, "q", 1);
    assert_int_equal(list->v.l.items[1].v.bs.items[0].len, 2);
    assert_memory_equal(list->v.l.items[1].v.bs.items[0].ptr, "\x01\x02", 2);
    const struct ddb_attr *ns = ddb_map_get(&list->v.l.items[2].v.m, "n", 1);
    assert_non_null(ns);
    assert_int_equal(ns->type, DDB_NS);
    assert_int_equal(ns->v.ns.items[1].len, 4);
    assert_memory_equal(ns->v.ns.items[1].ptr, "7E+3", 4);
    assert_null(ddb_map_get(&a->v.m, "missing", 7));
    assert_null(ddb_map_get(&a->v.m, "lis", 3));
    ddb_event_clean_up(&ev);
    free(json);
}

/* ---- errors ---- */

struct error_case {
    const char *json;
    enum lr_status status;
    const char *detail; /* the detail without the " (byte offset N)" tail */
    size_t rel_offset;  /* N minus strlen(PREFIX) */
};

static const struct error_case error_cases[] = {
    {"{\"S\":\"a\",\"N\":\"1\"}", LR_E_TWO_TYPE_KEYS,
     "dynamodb.NewImage: attribute \"a\": attribute value has two type keys", 10},
    {"{\"S\":\"a\",\"S\":\"b\"}", LR_E_TWO_TYPE_KEYS,
     "dynamodb.NewImage: attribute \"a\": attribute value has two type keys", 10},
    /* values that start like the ones read without the general parser, but are not */
    {"{\"BOOL\":true,\"S\":\"x\"}", LR_E_TWO_TYPE_KEYS,
     "dynamodb.NewImage: attribute \"a\": attribute value has two type keys", 14},
    {"{\"BOOL\":false,\"S\":\"x\"}", LR_E_TWO_TYPE_KEYS,
     "dynamodb.NewImage: attribute \"a\": attribute value has two type keys", 15},
    {"{\"NULL\":true,\"S\":\"x\"}", LR_E_TWO_TYPE_KEYS,
     "dynamodb.NewImage: attribute \"a\": attribute value has two type keys", 14},
    {"{\"S\":\"a\\\"b\",\"N\":\"1\"}", LR_E_TWO_TYPE_KEYS,
     "dynamodb.NewImage: attribute \"a\": attribute value has two type keys", 13},
    {"{}", LR_E_NO_TYPE_KEY, "dynamodb.NewImage: attribute \"a\": attribute value has no type key",
     0},
    {"{\"X\":\"1\"}", LR_E_UNKNOWN_TYPE,
     "dynamodb.NewImage: attribute \"a\": unknown type key \"X\"", 2},
    {"{\"s\":\"1\"}", LR_E_UNKNOWN_TYPE,
     "dynamodb.NewImage: attribute \"a\": unknown type key \"s\"", 2},
    {"\"plain\"", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": attribute value is not an object", 0},
    {"{\"S\":1}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": S value is not a string", 5},
    {"{\"N\":5}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": N value is not a string", 5},
    {"{\"B\":null}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": B value is not a string", 5},
    {"{\"BOOL\":\"true\"}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": BOOL value is not a boolean", 8},
    {"{\"NULL\":false}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": NULL value is not true", 8},
    {"{\"SS\":\"a\"}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": SS value is not an array", 6},
    {"{\"SS\":[1]}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": SS value is not a string", 7},
    {"{\"L\":{}}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": L value is not an array", 5},
    {"{\"M\":[]}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"a\": M value is not an object", 5},
    {"{\"M\":{\"in\":{\"N\":true}}}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"in\": N value is not a string", 16},
    {"{\"L\":[{\"S\":\"ok\"},{\"Q\":1}]}", LR_E_UNKNOWN_TYPE,
     "dynamodb.NewImage: attribute \"a\": unknown type key \"Q\"", 19},
    {"{\"B\":\"AAE\"}", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"a\": bad base64 at position 3: length is not a multiple of 4",
     5},
    {"{\"B\":\"AA*A\"}", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"a\": bad base64 at position 2: character outside the alphabet",
     5},
    {"{\"B\":\"A=AA\"}", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"a\": bad base64 at position 1: misplaced padding", 5},
    {"{\"B\":\"AA==AAAA\"}", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"a\": bad base64 at position 2: misplaced padding", 5},
    {"{\"B\":\"AB==\"}", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"a\": bad base64 at position 1: non-zero unused bits before "
     "padding",
     5},
    {"{\"B\":\"AAEqQQ\"}", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"a\": bad base64 at position 6: length is not a multiple of 4",
     5},
    {"{\"BS\":[\"AAEqQQ==\",\"!!!!\"]}", LR_E_BAD_BASE64,
     "dynamodb.NewImage: attribute \"a\": bad base64 at position 0: character outside the alphabet",
     18},
    {"{\"N\":\"abc\"}", LR_E_BAD_NUMBER,
     "dynamodb.NewImage: attribute \"a\": N \"abc\": not a decimal number", 5},
    {"{\"N\":\"\"}", LR_E_BAD_NUMBER,
     "dynamodb.NewImage: attribute \"a\": N \"\": not a decimal number", 5},
    {"{\"N\":\"1E+126\"}", LR_E_NUMBER_RANGE,
     "dynamodb.NewImage: attribute \"a\": N \"1E+126\": magnitude outside 1E-130..9.99E+125", 5},
    {"{\"N\":\"-1E-131\"}", LR_E_NUMBER_RANGE,
     "dynamodb.NewImage: attribute \"a\": N \"-1E-131\": magnitude outside 1E-130..9.99E+125", 5},
    {"{\"N\":\"123456789012345678901234567890123456789\"}", LR_E_NUMBER_PRECISION,
     "dynamodb.NewImage: attribute \"a\": N \"123456789012345678901234567890123456789\": more than "
     "38 significant digits",
     5},
    {"{\"NS\":[\"1\",\"x\"]}", LR_E_BAD_NUMBER,
     "dynamodb.NewImage: attribute \"a\": N \"x\": not a decimal number", 11},
    {"{\"M\":{\"line\\nbreak\":{\"S\":1}}}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.NewImage: attribute \"line\\nbreak\": S value is not a string", 25},
};

static void test_error_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const struct error_case *c = &error_cases[i];
        size_t len;
        char *json = wrap(c->json, &len);
        struct ddb_event ev;
        assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
        const struct ddb_record *r = &ev.records[0];
        if (r->valid || r->error != c->status)
            fail_msg("case %zu (%s): got %s: %s", i, c->json, lr_status_str(r->error),
                     r->error_detail);
        char want[400];
        snprintf(want, sizeof(want), "%s (byte offset %zu)", c->detail,
                 strlen(PREFIX) + c->rel_offset);
        assert_string_equal(r->error_detail, want);
        /* the sequence number survives, the broken image is not handed out */
        assert_int_equal(r->sequence_number.len, 3);
        assert_memory_equal(r->sequence_number.ptr, "100", 3);
        assert_false(r->new_image.present);
        assert_int_equal(ev.invalid_count, 1);
        ddb_event_clean_up(&ev);
        free(json);
    }
}

/* Every key of one or two characters from the letters of the type names (and a stranger), plain
 * and \u-escaped: exactly the ten names are types, everything else is an unknown type key. */
static void test_type_key_lookup(void **state)
{
    (void)state;
    static const char letters[] = "SNBMLUx";
    static const char *const types[] = {"S", "N", "B", "SS", "NS", "BS", "M", "L"};
    static const char *const values[] = {"\"1\"",   "\"1\"",      "\"AA==\"", "[\"1\"]",
                                         "[\"1\"]", "[\"AA==\"]", "{}",       "[]"};
    for (size_t n = 1; n <= 2; n++) {
        for (size_t k = 0; k < (n == 1 ? 7u : 49u); k++) {
            char key[3] = {letters[n == 1 ? k : k / 7], n == 1 ? '\0' : letters[k % 7], '\0'};
            size_t want = 0;
            for (size_t t = 0; t < 8; t++)
                if (strcmp(key, types[t]) == 0)
                    want = t + 1;
            for (int escaped = 0; escaped < 2; escaped++) {
                char attr[64];
                const char *value = want ? values[want - 1] : "\"1\"";
                if (escaped)
                    snprintf(attr, sizeof(attr), "{\"\\u00%02X%s\":%s}", (unsigned)key[0], key + 1,
                             value);
                else
                    snprintf(attr, sizeof(attr), "{\"%s\":%s}", key, value);
                size_t len;
                char *json = wrap(attr, &len);
                struct ddb_event ev;
                assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
                const struct ddb_record *r = &ev.records[0];
                if (want ? !r->valid ||
                               ddb_map_get(&r->new_image, "a", 1)->type != (enum ddb_type)want
                         : r->error != LR_E_UNKNOWN_TYPE)
                    fail_msg("key \"%s\" (%s): got %s: %s", key, attr, lr_status_str(r->error),
                             r->error_detail);
                ddb_event_clean_up(&ev);
                free(json);
            }
        }
    }
}

/* Maps, lists and sets grow while they are read: lengths across several doublings keep every
 * item, in order. */
static void test_long_containers(void **state)
{
    (void)state;
    static const size_t counts[] = {0, 1, 3, 4, 5, 8, 9, 100, 1000};
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        size_t n = counts[c];
        static const char *const opens[] = {"{\"M\":{", "{\"L\":[", "{\"NS\":[", "{\"BS\":["};
        for (size_t sh = 0; sh < 4; sh++) {
            char *items = malloc(n * 32 + 1);
            assert_non_null(items);
            size_t at = 0;
            items[0] = '\0';
            for (size_t i = 0; i < n; i++) {
                const char *sep = i ? "," : "";
                if (sh == 0)
                    at += (size_t)snprintf(items + at, 32, "%s\"k%zu\":{\"N\":\"%zu\"}", sep, i, i);
                else if (sh == 1)
                    at += (size_t)snprintf(items + at, 32, "%s{\"N\":\"%zu\"}", sep, i);
                else if (sh == 2)
                    at += (size_t)snprintf(items + at, 32, "%s\"%zu\"", sep, i);
                else
                    at += (size_t)snprintf(items + at, 32, "%s\"AAAA\"", sep);
            }
            char *attr = malloc(at + 32);
            assert_non_null(attr);
            snprintf(attr, at + 32, "%s%s%s", opens[sh], items, sh == 0 ? "}}" : "]}");
            size_t len;
            char *json = wrap(attr, &len);
            struct ddb_event ev;
            assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
            assert_true(ev.records[0].valid);
            const struct ddb_attr *a = ddb_map_get(&ev.records[0].new_image, "a", 1);
            assert_non_null(a);
            for (size_t i = 0; i < n; i++) {
                char want[24];
                snprintf(want, sizeof(want), "%zu", i);
                if (sh == 3) { /* "AAAA" is three zero bytes */
                    assert_int_equal(a->v.bs.items[i].len, 3);
                    assert_memory_equal(a->v.bs.items[i].ptr, "\0\0\0", 3);
                    continue;
                }
                struct lr_str got = sh == 0   ? a->v.m.members[i].value.v.n
                                    : sh == 1 ? a->v.l.items[i].v.n
                                              : a->v.ns.items[i];
                if (got.len != strlen(want) || memcmp(got.ptr, want, got.len) != 0)
                    fail_msg("shape %zu, %zu items: item %zu is \"%.*s\"", sh, n, i, (int)got.len,
                             got.ptr);
            }
            size_t count = sh == 0   ? a->v.m.count
                           : sh == 1 ? a->v.l.count
                           : sh == 2 ? a->v.ns.count
                                     : a->v.bs.count;
            assert_int_equal(count, n);
            if (sh == 0 && n)
                assert_non_null(ddb_map_get(&a->v.m, "k0", 2));
            ddb_event_clean_up(&ev);
            free(json);
            free(attr);
            free(items);
        }
    }
}

/* A value nested in `levels` M containers (the outermost is the image's attribute "a"). */
static char *nested(unsigned levels, size_t *len)
{
    size_t cap = 64 + (size_t)levels * 24;
    char *attr = malloc(cap);
    assert_non_null(attr);
    size_t n = 0;
    for (unsigned i = 0; i < levels; i++)
        n += (size_t)snprintf(attr + n, cap - n, "{\"M\":{\"k\":");
    n += (size_t)snprintf(attr + n, cap - n, "{\"S\":\"x\"}");
    for (unsigned i = 0; i < levels; i++)
        n += (size_t)snprintf(attr + n, cap - n, "}}");
    char *json = wrap(attr, len);
    free(attr);
    return json;
}

static void test_nesting_limit(void **state)
{
    (void)state;
    static const struct {
        unsigned levels;
        enum lr_status want;
    } cases[] = {{1, LR_OK}, {31, LR_OK}, {32, LR_OK}, {33, LR_E_TOO_DEEP}, {100, LR_E_TOO_DEEP}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        char *json = nested(cases[i].levels, &len);
        struct ddb_event ev;
        struct ddb_parse_error err;
        enum lr_status st = ddb_event_parse(&ev, json, len, &err);
        if (cases[i].levels <= 100) {
            assert_int_equal(st, LR_OK);
            assert_int_equal(ev.records[0].error, cases[i].want);
        }
        if (cases[i].want == LR_E_TOO_DEEP)
            assert_non_null(strstr(ev.records[0].error_detail, "nested deeper than 32 levels"));
        ddb_event_clean_up(&ev);
        free(json);
    }
}

/* ---- numbers ---- */

struct number_case {
    const char *text;
    enum lr_status valid;
    enum lr_status as_int;
    int64_t int_value;
    enum lr_status as_double;
    double double_value;
};

static const struct number_case number_cases[] = {
    {"0", LR_OK, LR_OK, 0, LR_OK, 0.0},
    {"-0", LR_OK, LR_OK, 0, LR_OK, -0.0},
    {"123", LR_OK, LR_OK, 123, LR_OK, 123.0},
    {"00001", LR_OK, LR_OK, 1, LR_OK, 1.0},
    {"-42", LR_OK, LR_OK, -42, LR_OK, -42.0},
    {"1.0", LR_OK, LR_OK, 1, LR_OK, 1.0},
    {"1E2", LR_OK, LR_OK, 100, LR_OK, 100.0},
    {"1.5e1", LR_OK, LR_OK, 15, LR_OK, 15.0},
    {"1500E-2", LR_OK, LR_OK, 15, LR_OK, 15.0},
    {"1.5", LR_OK, LR_E_NUMBER_INEXACT, 0, LR_OK, 1.5},
    {"0.1", LR_OK, LR_E_NUMBER_INEXACT, 0, LR_OK, 0.1},
    {"5.", LR_OK, LR_OK, 5, LR_OK, 5.0},
    {".5", LR_OK, LR_E_NUMBER_INEXACT, 0, LR_OK, 0.5},
    {"9223372036854775807", LR_OK, LR_OK, INT64_MAX, LR_E_NUMBER_INEXACT, 9223372036854775808.0},
    {"-9223372036854775808", LR_OK, LR_OK, INT64_MIN, LR_OK, -9223372036854775808.0},
    {"9223372036854775808", LR_OK, LR_E_NUMBER_RANGE, 0, LR_OK, 9223372036854775808.0},
    {"-9223372036854775809", LR_OK, LR_E_NUMBER_RANGE, 0, LR_E_NUMBER_INEXACT,
     -9223372036854775808.0},
    {"12345678901234567890123456789012345678", LR_OK, LR_E_NUMBER_RANGE, 0, LR_E_NUMBER_INEXACT,
     1.2345678901234568e37},
    {"100000000000000000000000000000000000000000", LR_OK, LR_E_NUMBER_RANGE, 0, LR_OK, 1e41},
    {"9.9999999999999999999999999999999999999E+125", LR_OK, LR_E_NUMBER_RANGE, 0,
     LR_E_NUMBER_INEXACT, 1e126},
    {"1E-130", LR_OK, LR_E_NUMBER_INEXACT, 0, LR_OK, 1e-130},
    {"0.000000000000000000000000000000000000001", LR_OK, LR_E_NUMBER_INEXACT, 0, LR_OK, 1e-39},
    {"0E999999999999", LR_OK, LR_OK, 0, LR_OK, 0.0},
    {"1E126", LR_E_NUMBER_RANGE, LR_E_NUMBER_RANGE, 0, LR_E_NUMBER_RANGE, 0},
    {"1E-131", LR_E_NUMBER_RANGE, LR_E_NUMBER_RANGE, 0, LR_E_NUMBER_RANGE, 0},
    {"1e400000000000", LR_E_NUMBER_RANGE, LR_E_NUMBER_RANGE, 0, LR_E_NUMBER_RANGE, 0},
    {"123456789012345678901234567890123456789", LR_E_NUMBER_PRECISION, LR_E_NUMBER_PRECISION, 0,
     LR_E_NUMBER_PRECISION, 0},
    {"1.00000000000000000000000000000000000001", LR_E_NUMBER_PRECISION, LR_E_NUMBER_PRECISION, 0,
     LR_E_NUMBER_PRECISION, 0},
    {"", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"-", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {".", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"+1", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"1e", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"e1", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"1e+", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"1.2.3", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {" 1", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"1 ", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"0x10", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"NaN", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"Infinity", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
    {"--1", LR_E_BAD_NUMBER, LR_E_BAD_NUMBER, 0, LR_E_BAD_NUMBER, 0},
};

static void test_numbers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(number_cases) / sizeof(number_cases[0]); i++) {
        const struct number_case *c = &number_cases[i];
        struct lr_str n = {c->text, strlen(c->text)};
        int64_t iv = 77;
        double dv = 77.0;
        enum lr_status v = ddb_number_validate(n.ptr, n.len);
        enum lr_status si = ddb_number_to_int64(n, &iv);
        enum lr_status sd = ddb_number_to_double(n, &dv);
        if (v != c->valid || si != c->as_int || sd != c->as_double)
            fail_msg("case %zu \"%s\": validate %s, int %s, double %s", i, c->text,
                     lr_status_str(v), lr_status_str(si), lr_status_str(sd));
        assert_true(si == LR_OK ? iv == c->int_value : iv == 77); /* untouched on error */
        if (sd == LR_OK || sd == LR_E_NUMBER_INEXACT)
            assert_true(dv == c->double_value);
        else
            assert_true(dv == 77.0);
    }
}

static void test_seq_cmp(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int want;
    } cases[] = {
        {"111", "222", -1},
        {"222", "111", 1},
        {"222", "1111", -1},
        {"9", "10", -1},
        {"0111", "111", 0},
        {"111", "111", 0},
        {"4421584500000000017450439091", "4421584500000000017450439092", -1},
        {"99999999999999999999", "100000000000000000000", -1},
        {"1234567890123456789012345678901234567890", "1234567890123456789012345678901234567889", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lr_str a = {cases[i].a, strlen(cases[i].a)}, b = {cases[i].b, strlen(cases[i].b)};
        assert_int_equal(ddb_seq_cmp(a, b), cases[i].want);
    }
}

/* ---- record fields ---- */

static char *record_event(const char *members, size_t *len)
{
    static const char pre[] = "{\"Records\":[{\"eventID\":\"e1\",";
    static const char post[] = "}]}";
    size_t n = strlen(pre) + strlen(members) + strlen(post);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    snprintf(buf, n + 1, "%s%s%s", pre, members, post);
    *len = n;
    return buf;
}

struct ts_case {
    const char *value; /* JSON text of ApproximateCreationDateTime, NULL: absent */
    enum lr_status status;
    bool present;
    int64_t sec;
    int32_t nsec;
};

static const struct ts_case ts_cases[] = {
    {"1480642020", LR_OK, true, 1480642020, 0},
    {"1693997155.0", LR_OK, true, 1693997155, 0},
    {"1.635734407123456789E9", LR_OK, true, 1635734407, 123456789},
    {"1.68399118e+09", LR_OK, true, 1683991180, 0},
    {"1.684934517E9", LR_OK, true, 1684934517, 0},
    {"\"1678831218.0\"", LR_OK, true, 1678831218, 0},
    {"\"1678831218\"", LR_OK, true, 1678831218, 0},
    {"1.5", LR_OK, true, 1, 500000000},
    {"0", LR_OK, true, 0, 0},
    {"0.0", LR_OK, true, 0, 0},
    {"1.0000000009999", LR_OK, true, 1, 0},
    {"12345E-4", LR_OK, true, 1, 234500000},
    {"1E-9", LR_OK, true, 0, 1},
    {"1E-10", LR_OK, true, 0, 0},
    {"1480642020000", LR_OK, true, 1480642020000, 0},
    {"0e999999999", LR_OK, true, 0, 0},
    {"0.05", LR_OK, true, 0, 50000000},
    {"123.000456", LR_OK, true, 123, 456000},
    {"\"0123\"", LR_E_BAD_TIMESTAMP, false, 0, 0}, /* not a JSON number either */
    {"0.000000000000000000000000000000000000000000000000000000000001234567891E63", LR_OK, true,
     1234, 567891000},
    {"0.0000000000000000000000000000000000000000000000000000000000000000000001234567891E73", LR_OK,
     true, 1234, 567891000},
    {"1.23456789012345678901234567890123456789012345678901234567890123456789E9", LR_OK, true,
     1234567890, 123456789},
    {"12345678901234567890", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"999999999999999999", LR_OK, true, 999999999999999999, 0},
    {"1000000000000000000", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"null", LR_OK, false, 0, 0},
    {NULL, LR_OK, false, 0, 0},
    {"-0", LR_OK, true, 0, 0},
    {"-0.0e5", LR_OK, true, 0, 0},
    {"-1", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"-1E-10", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"-0.5", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"1e18", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"1e999999999", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"\"soon\"", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"\"\"", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"\" 1\"", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"true", LR_E_BAD_TIMESTAMP, false, 0, 0},
    {"{}", LR_E_BAD_TIMESTAMP, false, 0, 0},
};

static void test_timestamps(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ts_cases) / sizeof(ts_cases[0]); i++) {
        const struct ts_case *c = &ts_cases[i];
        char members[512];
        snprintf(members, sizeof(members), "\"dynamodb\":{%s%s%s\"SequenceNumber\":\"5\"}",
                 c->value ? "\"ApproximateCreationDateTime\":" : "", c->value ? c->value : "",
                 c->value ? "," : "");
        size_t len;
        char *json = record_event(members, &len);
        struct ddb_event ev;
        struct ddb_parse_error err;
        if (ddb_event_parse(&ev, json, len, &err) != LR_OK)
            fail_msg("case %zu: %s", i, err.message);
        const struct ddb_record *r = &ev.records[0];
        if (r->error != c->status)
            fail_msg("case %zu (%s): %s %s", i, c->value, lr_status_str(r->error), r->error_detail);
        assert_int_equal(r->approximate_creation.present, c->present);
        assert_int_equal(r->approximate_creation.sec, c->sec);
        assert_int_equal(r->approximate_creation.nsec, c->nsec);
        assert_int_equal(r->sequence_number.len, 1);
        ddb_event_clean_up(&ev);
        free(json);
    }
}

struct field_case {
    const char *members;
    enum lr_status status;
    const char *detail; /* prefix of the detail, "" when valid */
};

static const struct field_case field_cases[] = {
    {"\"dynamodb\":{\"SequenceNumber\":\"1234567890123456789012345678901234567890\"}", LR_OK, ""},
    {"\"dynamodb\":{\"SequenceNumber\":\"12345678901234567890123456789012345678901\"}",
     LR_E_BAD_SEQUENCE_NUMBER, "dynamodb.SequenceNumber: not 1..40 decimal digits"},
    {"\"dynamodb\":{\"SequenceNumber\":\"\"}", LR_E_BAD_SEQUENCE_NUMBER,
     "dynamodb.SequenceNumber: not 1..40 decimal digits"},
    {"\"dynamodb\":{\"SequenceNumber\":\"-12\"}", LR_E_BAD_SEQUENCE_NUMBER,
     "dynamodb.SequenceNumber: not 1..40 decimal digits"},
    /* the digits are checked eight bytes at a time: ':' and '/' are next to the digits */
    {"\"dynamodb\":{\"SequenceNumber\":\"12345678:0123456\"}", LR_E_BAD_SEQUENCE_NUMBER,
     "dynamodb.SequenceNumber: not 1..40 decimal digits"},
    {"\"dynamodb\":{\"SequenceNumber\":\"1234567/901234567\"}", LR_E_BAD_SEQUENCE_NUMBER,
     "dynamodb.SequenceNumber: not 1..40 decimal digits"},
    {"\"dynamodb\":{\"SequenceNumber\":123}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.SequenceNumber: is a number, not a string"},
    {"\"dynamodb\":{\"SequenceNumber\":\"1\",\"SizeBytes\":\"26\"}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.SizeBytes: is a string, not a number"},
    {"\"dynamodb\":{\"SequenceNumber\":\"1\",\"SizeBytes\":-1}", LR_E_NUMBER_RANGE,
     "dynamodb.SizeBytes: not a non-negative 64-bit integer"},
    {"\"dynamodb\":{\"SequenceNumber\":\"1\",\"SizeBytes\":2.5}", LR_E_NUMBER_RANGE,
     "dynamodb.SizeBytes: not a non-negative 64-bit integer"},
    {"\"dynamodb\":{\"SequenceNumber\":\"1\",\"Keys\":[]}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.Keys: is an array, not an object"},
    {"\"dynamodb\":{\"SequenceNumber\":\"1\",\"StreamViewType\":7}", LR_E_WRONG_JSON_TYPE,
     "dynamodb.StreamViewType: is a number, not a string"},
    {"\"eventName\":[],\"dynamodb\":{\"SequenceNumber\":\"1\"}", LR_E_WRONG_JSON_TYPE,
     "eventName: is an array, not a string"},
    {"\"userIdentity\":\"svc\",\"dynamodb\":{\"SequenceNumber\":\"1\"}", LR_E_WRONG_JSON_TYPE,
     "userIdentity: is a string, not an object"},
    {"\"dynamodb\":[],\"x\":1", LR_E_WRONG_JSON_TYPE, "dynamodb: is an array, not an object"},
    {"\"eventName\":\"INSERT\"", LR_E_MISSING_FIELD,
     "dynamodb: missing (not a DynamoDB stream record)"},
    {"\"dynamodb\":{\"SequenceNumber\":\"1\"},\"extra\":{\"deep\":[[[{}]]]}", LR_OK, ""},
};

static void test_record_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
        const struct field_case *c = &field_cases[i];
        size_t len;
        char *json = record_event(c->members, &len);
        struct ddb_event ev;
        assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
        const struct ddb_record *r = &ev.records[0];
        if (r->error != c->status || strncmp(r->error_detail, c->detail, strlen(c->detail)) != 0)
            fail_msg("case %zu (%s): %s %s", i, c->members, lr_status_str(r->error),
                     r->error_detail);
        assert_int_equal(r->valid, c->status == LR_OK);
        assert_memory_equal(r->event_id.ptr, "e1", 2);
        ddb_event_clean_up(&ev);
        free(json);
    }
}

static void test_enums_and_identity(void **state)
{
    (void)state;
    static const struct {
        const char *members;
        enum ddb_event_name name;
        enum ddb_view_type view;
        bool ttl;
    } cases[] = {
        {"\"eventName\":\"INSERT\",\"dynamodb\":{\"StreamViewType\":\"KEYS_ONLY\"}",
         DDB_EVENT_INSERT, DDB_VIEW_KEYS_ONLY, false},
        {"\"eventName\":\"MODIFY\",\"dynamodb\":{\"StreamViewType\":\"NEW_IMAGE\"}",
         DDB_EVENT_MODIFY, DDB_VIEW_NEW_IMAGE, false},
        {"\"eventName\":\"REMOVE\",\"dynamodb\":{\"StreamViewType\":\"OLD_IMAGE\"}",
         DDB_EVENT_REMOVE, DDB_VIEW_OLD_IMAGE, false},
        {"\"eventName\":\"REMOVE\",\"userIdentity\":{\"type\":\"Service\",\"principalId\":"
         "\"dynamodb.amazonaws.com\"},\"dynamodb\":{\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}",
         DDB_EVENT_REMOVE, DDB_VIEW_NEW_AND_OLD_IMAGES, true},
        {"\"eventName\":\"INSERT\",\"userIdentity\":{\"type\":\"Service\",\"principalId\":"
         "\"dynamodb.amazonaws.com\"},\"dynamodb\":{}",
         DDB_EVENT_INSERT, DDB_VIEW_UNKNOWN, false},
        {"\"eventName\":\"REMOVE\",\"userIdentity\":{\"type\":\"User\",\"principalId\":"
         "\"dynamodb.amazonaws.com\"},\"dynamodb\":{}",
         DDB_EVENT_REMOVE, DDB_VIEW_UNKNOWN, false},
        {"\"eventName\":\"remove\",\"dynamodb\":{\"StreamViewType\":\"ALL\"}", DDB_EVENT_UNKNOWN,
         DDB_VIEW_UNKNOWN, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        char *json = record_event(cases[i].members, &len);
        struct ddb_event ev;
        assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
        const struct ddb_record *r = &ev.records[0];
        assert_true(r->valid);
        assert_int_equal(r->event_name, cases[i].name);
        assert_int_equal(r->stream_view_type, cases[i].view);
        assert_int_equal(ddb_record_is_ttl_delete(r), cases[i].ttl);
        ddb_event_clean_up(&ev);
        free(json);
    }
    size_t len;
    char *json =
        record_event("\"eventName\":\"remove\",\"dynamodb\":{\"StreamViewType\":\"ALL\"}", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_int_equal(ev.records[0].event_name_raw.len, 6);
    assert_memory_equal(ev.records[0].event_name_raw.ptr, "remove", 6);
    assert_memory_equal(ev.records[0].stream_view_type_raw.ptr, "ALL", 3);
    assert_string_equal(ddb_event_name_str(ev.records[0].event_name), "UNKNOWN");
    assert_string_equal(ddb_view_type_str(DDB_VIEW_NEW_AND_OLD_IMAGES), "NEW_AND_OLD_IMAGES");
    assert_string_equal(ddb_type_name(DDB_BOOL), "BOOL");
    assert_string_equal(lr_status_str(LR_E_BAD_BASE64), "LR_E_BAD_BASE64");
    assert_string_equal(lr_status_str(LR_E_INVALID_ARG), "LR_E_INVALID_ARG");
    ddb_event_clean_up(&ev);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_values),
        cmocka_unit_test(test_nested_access),
        cmocka_unit_test(test_error_values),
        cmocka_unit_test(test_type_key_lookup),
        cmocka_unit_test(test_long_containers),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_seq_cmp),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_record_fields),
        cmocka_unit_test(test_enums_and_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
