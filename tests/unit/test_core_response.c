/* Unit tests of the response constructors (exact bodies, escaping, header sanitising), status
 * names and the time-remaining helper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lr/clock.h"
#include "transport/lr_response.h"
#include "lr/runtime.h"

static void success_copies_the_payload(void **state)
{
    (void)state;
    char payload[] = "{\"batchItemFailures\":[]}";
    struct lr_invocation_response r = lr_response_success(payload, strlen(payload), NULL);
    payload[0] = 'X'; /* the response owns a copy */
    assert_true(r.success);
    assert_int_equal(r.body_len, 24);
    assert_string_equal(r.body, "{\"batchItemFailures\":[]}");
    assert_string_equal(r.content_type, "application/json");
    assert_null(r.error_type);
    lr_response_clean_up(&r);
    assert_null(r.body);
    lr_response_clean_up(&r); /* twice is safe */

    r = lr_response_success(NULL, 0, "text/plain");
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.body, "");
    assert_string_equal(r.content_type, "text/plain");
    lr_response_clean_up(&r);
}

static void success_take_keeps_the_buffer(void **state)
{
    (void)state;
    char *buf = malloc(3);
    assert_non_null(buf);
    memcpy(buf, "a\0b", 3);
    struct lr_invocation_response r = lr_response_success_take(buf, 3, "application/octet-stream");
    assert_ptr_equal(r.body, buf);
    assert_int_equal(r.body_len, 3);
    assert_true(r.success);
    lr_response_clean_up(&r);
}

static void failure_body_is_exact(void **state)
{
    (void)state;
    struct lr_invocation_response r = lr_response_failure("boom", "Runtime.HandlerFailed");
    assert_false(r.success);
    assert_string_equal(
        r.body,
        "{\"errorMessage\":\"boom\",\"errorType\":\"Runtime.HandlerFailed\",\"stackTrace\":[]}");
    assert_int_equal(r.body_len, strlen(r.body));
    assert_string_equal(r.error_type, "Runtime.HandlerFailed");
    assert_string_equal(r.content_type, "application/json");
    lr_response_clean_up(&r);
}

static void failure_escapes_quotes_newlines_and_controls(void **state)
{
    (void)state;
    struct lr_invocation_response r =
        lr_response_failure("say \"hi\"\nC:\\tmp\x01 caf\xc3\xa9 \xff", "Bad\r\nX-Injected: 1");
    assert_string_equal(r.body,
                        "{\"errorMessage\":\"say \\\"hi\\\"\\nC:\\\\tmp\\u0001 caf\xc3\xa9 "
                        "\\ufffd\",\"errorType\":\"Bad\\r\\nX-Injected: 1\",\"stackTrace\":[]}");
    /* The header value can never carry CR/LF: no header injection. */
    assert_string_equal(r.error_type, "Bad__X-Injected: 1");
    lr_response_clean_up(&r);
}

static void failure_treats_null_as_empty(void **state)
{
    (void)state;
    struct lr_invocation_response r = lr_response_failure(NULL, NULL);
    assert_string_equal(r.body, "{\"errorMessage\":\"\",\"errorType\":\"\",\"stackTrace\":[]}");
    assert_string_equal(r.error_type, "");
    lr_response_clean_up(&r);
}

static void failure_message_is_capped(void **state)
{
    (void)state;
    size_t n = LR_ERROR_MESSAGE_MAX + 100;
    char *msg = malloc(n + 1);
    assert_non_null(msg);
    memset(msg, 'm', n);
    msg[n] = '\0';
    struct lr_invocation_response r = lr_response_failure(msg, "T");
    free(msg);
    static const char head[] = "{\"errorMessage\":\"";
    static const char tail[] = "[truncated]\",\"errorType\":\"T\",\"stackTrace\":[]}";
    assert_int_equal(r.body_len, sizeof(head) - 1 + LR_ERROR_MESSAGE_MAX + sizeof(tail) - 1);
    assert_string_equal(r.body + r.body_len - (sizeof(tail) - 1), tail);
    lr_response_clean_up(&r);
}

static void header_values_are_sanitised(void **state)
{
    (void)state;
    char out[LR_HEADER_VALUE_MAX + 1];
    assert_int_equal(lr_response_header_value(out, "  Function.Unknown  "), 16);
    assert_string_equal(out, "Function.Unknown");
    assert_int_equal(lr_response_header_value(out, "a\nb\x7f"
                                                   "c\xc3\xa9"),
                     7);
    assert_string_equal(out, "a_b_c__");
    assert_int_equal(lr_response_header_value(out, NULL), 0);
    assert_string_equal(out, "");
    char big[600];
    memset(big, 'e', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(lr_response_header_value(out, big), LR_HEADER_VALUE_MAX);
}

static void status_names_are_distinct(void **state)
{
    (void)state;
    assert_string_equal(lr_status_str(LR_OK), "LR_OK");
    assert_string_equal(lr_status_str(LR_E_HTTP_413), "LR_E_HTTP_413");
    assert_string_equal(lr_status_str(LR_E_BAD_BASE64), "LR_E_BAD_BASE64");
    assert_string_equal(lr_status_str(LR_E_EMF_UNIT), "LR_E_EMF_UNIT");
    assert_string_equal(lr_status_str((enum lr_status)999), "LR_E_UNKNOWN");
    for (int a = LR_OK; a <= LR_E_EMF_UNIT; a++)
        for (int b = a + 1; b <= LR_E_EMF_UNIT; b++)
            assert_string_not_equal(lr_status_str((enum lr_status)a),
                                    lr_status_str((enum lr_status)b));
}

static int64_t read_fixed(void *data)
{
    return *(const int64_t *)data;
}

static void time_remaining_uses_the_clock(void **state)
{
    (void)state;
    struct lr_invocation_request req;
    memset(&req, 0, sizeof(req));
    int64_t fixed = INT64_C(1796053204123);
    lr_clock_set_for_test(read_fixed, &fixed);
    req.deadline_ms = INT64_C(1796053204123) + 5000;
    assert_true(lr_invocation_time_remaining_ms(&req) == 5000);
    req.deadline_ms = INT64_C(1796053204123) - 250;
    assert_true(lr_invocation_time_remaining_ms(&req) == -250);
    req.deadline_ms = INT64_MIN;
    assert_true(lr_invocation_time_remaining_ms(&req) == INT64_MIN); /* saturates */
    lr_clock_set_for_test(NULL, NULL);
    req.deadline_ms = lr_clock_now_ms() + 60000;
    int64_t left = lr_invocation_time_remaining_ms(&req);
    assert_true(left > 55000 && left <= 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(success_copies_the_payload),
        cmocka_unit_test(success_take_keeps_the_buffer),
        cmocka_unit_test(failure_body_is_exact),
        cmocka_unit_test(failure_escapes_quotes_newlines_and_controls),
        cmocka_unit_test(failure_treats_null_as_empty),
        cmocka_unit_test(failure_message_is_capped),
        cmocka_unit_test(header_values_are_sanitised),
        cmocka_unit_test(status_names_are_distinct),
        cmocka_unit_test(time_remaining_uses_the_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
