/* Unit tests of the bounded parsers on Runtime API headers: lr_parse_u64 and the /next header
 * line parser (transport/lr_headers.h), including the deadline fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/lr_headers.h"
#include "lr/runtime.h"

/* ---- lr_parse_u64 ---- */

static void parse_u64_table(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t max;
        enum lr_status want;
        uint64_t value;
    } cases[] = {
        {"0", UINT64_MAX, LR_OK, 0},
        {"7", UINT64_MAX, LR_OK, 7},
        {"007", UINT64_MAX, LR_OK, 7},
        {"1542409706888", UINT64_MAX, LR_OK, UINT64_C(1542409706888)},
        {"9223372036854775807", INT64_MAX, LR_OK, INT64_MAX}, /* 19 digits, = max */
        {"9223372036854775808", INT64_MAX, LR_E_PROTOCOL, 0}, /* max + 1 */
        {"9999999999999999999", UINT64_MAX, LR_OK, UINT64_C(9999999999999999999)},
        {"0000000000000000001", UINT64_MAX, LR_OK, 1},             /* 19 digits */
        {"18446744073709551615", UINT64_MAX, LR_E_PROTOCOL, 0},    /* 20 digits */
        {"00000000000000000001", UINT64_MAX, LR_E_PROTOCOL, 0},    /* 20 digits */
        {"99999999999999999999999", UINT64_MAX, LR_E_PROTOCOL, 0}, /* overflow */
        {"65535", 65535, LR_OK, 65535},
        {"65536", 65535, LR_E_PROTOCOL, 0},
        {"", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"+1", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"-1", UINT64_MAX, LR_E_PROTOCOL, 0},
        {" 1", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"1 ", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"1a", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"0x10", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"1.5", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"1e3", UINT64_MAX, LR_E_PROTOCOL, 0},
        {"abc", UINT64_MAX, LR_E_PROTOCOL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t got = 12345;
        enum lr_status st = lr_parse_u64(cases[i].s, strlen(cases[i].s), cases[i].max, &got);
        assert_int_equal(st, cases[i].want);
        assert_true(got == (st == LR_OK ? cases[i].value : 12345)); /* untouched on error */
    }
}

static void parse_u64_respects_len_and_nul(void **state)
{
    (void)state;
    uint64_t got = 0;
    assert_int_equal(lr_parse_u64("123456", 3, UINT64_MAX, &got), LR_OK);
    assert_true(got == 123);
    assert_int_equal(lr_parse_u64("1\0002", 3, UINT64_MAX, &got), LR_E_PROTOCOL);
    assert_int_equal(lr_parse_u64(NULL, 0, UINT64_MAX, &got), LR_E_PROTOCOL);
}

/* ---- header lines ---- */

static int setup(void **state)
{
    struct lr_headers *h = malloc(sizeof(*h));
    assert_non_null(h);
    lr_headers_init(h);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    struct lr_headers *h = *state;
    lr_headers_clean_up(h);
    lr_headers_clean_up(h); /* twice is safe */
    free(h);
    return 0;
}

static enum lr_status feed(struct lr_headers *h, const char *line)
{
    return lr_headers_parse_line(h, line, strlen(line));
}

static void assert_value(const struct lr_headers *h, enum lr_header_id id, const char *want)
{
    struct lr_str v = lr_headers_get(h, id);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.ptr, want, v.len);
    assert_int_equal(v.ptr[v.len], '\0');
}

static void a_full_next_response_is_read(void **state)
{
    struct lr_headers *h = *state;
    assert_int_equal(feed(h, "HTTP/1.1 200 OK\r\n"), LR_OK);
    assert_int_equal(feed(h, "Content-Type: application/json\r\n"), LR_OK);
    assert_int_equal(
        feed(h, "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"), LR_OK);
    assert_int_equal(feed(h, "lambda-runtime-deadline-ms:1542409706888\r\n"), LR_OK);
    assert_int_equal(
        feed(h,
             "LAMBDA-RUNTIME-INVOKED-FUNCTION-ARN:   arn:aws:lambda:us-east-1:1:function:f \t\r\n"),
        LR_OK);
    assert_int_equal(
        feed(h, "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1\r\n"),
        LR_OK);
    assert_int_equal(feed(h, "Lambda-Runtime-Client-Context: {\"c\":1}\n"), LR_OK);  /* bare LF */
    assert_int_equal(feed(h, "Lambda-Runtime-Cognito-Identity: {\"id\":2}"), LR_OK); /* no EOL */
    assert_int_equal(feed(h, "Lambda-Runtime-Aws-Tenant-Id: tenant-7\r\n"), LR_OK);
    assert_int_equal(feed(h, "X-Unknown: \x01 anything goes in headers we ignore\r\n"), LR_OK);
    assert_int_equal(feed(h, "\r\n"), LR_OK);
    assert_int_equal(lr_headers_check(h), LR_OK);
    assert_value(h, LR_HDR_REQUEST_ID, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_value(h, LR_HDR_DEADLINE_MS, "1542409706888");
    assert_value(h, LR_HDR_FUNCTION_ARN, "arn:aws:lambda:us-east-1:1:function:f");
    assert_value(h, LR_HDR_TRACE_ID, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1");
    assert_value(h, LR_HDR_CLIENT_CONTEXT, "{\"c\":1}");
    assert_value(h, LR_HDR_COGNITO, "{\"id\":2}");
    assert_value(h, LR_HDR_TENANT_ID, "tenant-7");
    assert_value(h, LR_HDR_CONTENT_TYPE, "application/json");
    int64_t deadline = 0;
    assert_true(lr_headers_deadline_ms(h, 5, 1000, &deadline));
    assert_true(deadline == INT64_C(1542409706888));
}

static void absent_headers_are_empty_views(void **state)
{
    struct lr_headers *h = *state;
    assert_int_equal(feed(h, "Lambda-Runtime-Aws-Request-Id: r1\r\n"), LR_OK);
    assert_value(h, LR_HDR_TRACE_ID, "");
    assert_value(h, LR_HDR_TENANT_ID, "");
    assert_int_equal(lr_headers_check(h), LR_OK);
}

static void a_status_line_starts_over(void **state)
{
    struct lr_headers *h = *state;
    assert_int_equal(feed(h, "HTTP/1.1 100 Continue\r\n"), LR_OK);
    assert_int_equal(feed(h, "Lambda-Runtime-Aws-Request-Id: old\r\n"), LR_OK);
    assert_int_equal(feed(h, "\r\n"), LR_OK);
    assert_int_equal(feed(h, "HTTP/1.1 200 OK\r\n"), LR_OK);
    assert_int_equal(feed(h, "Lambda-Runtime-Aws-Request-Id: new\r\n"), LR_OK); /* no duplicate */
    assert_value(h, LR_HDR_REQUEST_ID, "new");
    lr_headers_reset(h);
    assert_value(h, LR_HDR_REQUEST_ID, "");
    assert_int_equal(lr_headers_check(h), LR_E_PROTOCOL);
}

static void malformed_lines_are_protocol_errors(void **state)
{
    struct lr_headers *h = *state;
    static const char *const bad[] = {
        "no colon here\r\n",
        ": empty name\r\n",
        "Bad Name: x\r\n",                          /* space in the name */
        " folded: continuation\r\n",                /* obs-fold */
        "Lambda-Runtime-Trace-Id: a\rb\r\n",        /* CR inside a value we use */
        "Lambda-Runtime-Trace-Id: a\x1b[31m\r\n",   /* ESC */
        "Lambda-Runtime-Aws-Request-Id: a\x7f\r\n", /* DEL */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lr_headers_reset(h);
        assert_int_equal(feed(h, bad[i]), LR_E_PROTOCOL);
    }
    lr_headers_reset(h);
    assert_int_equal(lr_headers_parse_line(h, "Lambda-Runtime-Trace-Id: a\0b", 28), LR_E_PROTOCOL);
}

static void a_known_header_twice_is_refused(void **state)
{
    struct lr_headers *h = *state;
    assert_int_equal(feed(h, "Lambda-Runtime-Aws-Request-Id: a\r\n"), LR_OK);
    assert_int_equal(feed(h, "lambda-runtime-aws-request-id: b\r\n"), LR_E_PROTOCOL);
    assert_value(h, LR_HDR_REQUEST_ID, "a");
}

static void oversized_lines_and_totals_are_refused(void **state)
{
    struct lr_headers *h = *state;
    size_t n = LR_HEADER_MAX_LINE + 1;
    char *line = malloc(n);
    assert_non_null(line);
    memcpy(line, "X-Big: ", 7);
    memset(line + 7, 'a', n - 7);
    assert_int_equal(lr_headers_parse_line(h, line, n), LR_E_TOO_LARGE);
    assert_int_equal(lr_headers_parse_line(h, line, n - 1), LR_OK); /* exactly the cap */
    /* Many lines under the per-line cap still hit the total cap. */
    enum lr_status st = LR_OK;
    size_t lines = 1;
    while (st == LR_OK && lines < 100) {
        st = lr_headers_parse_line(h, line, n - 1);
        lines++;
    }
    assert_int_equal(st, LR_E_TOO_LARGE);
    assert_int_equal(lines, LR_HEADERS_MAX_TOTAL / (n - 1) + 1);
    free(line);
}

static void request_id_must_be_visible_ascii_and_bounded(void **state)
{
    struct lr_headers *h = *state;
    static const struct {
        const char *line;
        enum lr_status want;
    } cases[] = {
        {"Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd", LR_OK},
        {"Lambda-Runtime-Aws-Request-Id: a/../b?c#d%", LR_OK}, /* percent-encoded in URLs */
        {"Lambda-Runtime-Aws-Request-Id:", LR_E_PROTOCOL},
        {"Lambda-Runtime-Aws-Request-Id:    ", LR_E_PROTOCOL},
        {"Lambda-Runtime-Aws-Request-Id: a b", LR_E_PROTOCOL},
        {"Lambda-Runtime-Aws-Request-Id: caf\xc3\xa9", LR_E_PROTOCOL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lr_headers_reset(h);
        assert_int_equal(feed(h, cases[i].line), LR_OK);
        assert_int_equal(lr_headers_check(h), cases[i].want);
    }
    char line[400] = "Lambda-Runtime-Aws-Request-Id: ";
    size_t prefix = strlen(line);
    memset(line + prefix, 'x', LR_REQUEST_ID_MAX);
    lr_headers_reset(h);
    assert_int_equal(feed(h, line), LR_OK);
    assert_int_equal(lr_headers_check(h), LR_OK);
    line[prefix + LR_REQUEST_ID_MAX] = 'x';
    lr_headers_reset(h);
    assert_int_equal(feed(h, line), LR_OK);
    assert_int_equal(lr_headers_check(h), LR_E_PROTOCOL);
}

static void deadline_falls_back_when_absent_or_garbage(void **state)
{
    struct lr_headers *h = *state;
    static const struct {
        const char *line; /* NULL: header absent */
        bool used;
        int64_t want;
    } cases[] = {
        {NULL, false, 1700000900000},
        {"Lambda-Runtime-Deadline-Ms: 1700000000500", true, 1700000000500},
        {"Lambda-Runtime-Deadline-Ms: 1000000000000", true, 1000000000000}, /* lower bound */
        {"Lambda-Runtime-Deadline-Ms: 999999999999", false, 1700000900000}, /* seconds? */
        {"Lambda-Runtime-Deadline-Ms: 253402300799999", true, 253402300799999},
        {"Lambda-Runtime-Deadline-Ms: 253402300800000", false, 1700000900000},
        {"Lambda-Runtime-Deadline-Ms: 18446744073709551616", false, 1700000900000},
        {"Lambda-Runtime-Deadline-Ms: -1700000000500", false, 1700000900000},
        {"Lambda-Runtime-Deadline-Ms: 1.7e12", false, 1700000900000},
        {"Lambda-Runtime-Deadline-Ms: soon", false, 1700000900000},
        {"Lambda-Runtime-Deadline-Ms:", false, 1700000900000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lr_headers_reset(h);
        if (cases[i].line != NULL)
            assert_int_equal(feed(h, cases[i].line), LR_OK);
        int64_t got = 0;
        assert_int_equal(lr_headers_deadline_ms(h, INT64_C(1700000000000), 900000, &got),
                         cases[i].used);
        assert_true(got == cases[i].want);
    }
    int64_t got = 0;
    lr_headers_reset(h);
    assert_false(lr_headers_deadline_ms(h, INT64_MAX - 5, 900000, &got)); /* saturates */
    assert_true(got == INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_u64_table),
        cmocka_unit_test(parse_u64_respects_len_and_nul),
        cmocka_unit_test_setup_teardown(a_full_next_response_is_read, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_headers_are_empty_views, setup, teardown),
        cmocka_unit_test_setup_teardown(a_status_line_starts_over, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_lines_are_protocol_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(a_known_header_twice_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_lines_and_totals_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(request_id_must_be_visible_ascii_and_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(deadline_falls_back_when_absent_or_garbage, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
