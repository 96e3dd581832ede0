/* Unit tests of the shared capped buffer (lr/buf.h) and the shared UTF-8 validator (lr/utf8.h):
 * exact cap boundaries, sticky overflow, take/rewind ownership, and the two JSON escape styles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lr/json.h"
#include "lr/buf.h"
#include "lr/utf8.h"

static void test_append_is_exact_at_the_cap(void **state)
{
    (void)state;
    struct lr_buf b;
    lr_buf_init(&b, 5);
    assert_int_equal(lr_buf_append(&b, "abc", 3), LR_OK);
    assert_int_equal(lr_buf_append(&b, "xyz", 3), LR_E_TOO_LARGE);
    assert_int_equal(b.len, 3); /* unchanged */
    assert_false(b.overflow);   /* the non-sticky style does not mark the buffer */
    assert_int_equal(lr_buf_append(&b, "de", 2), LR_OK);
    assert_string_equal(b.data, "abcde");
    lr_buf_clean_up(&b);
    lr_buf_clean_up(&b);
    lr_buf_clean_up(NULL);
}

static void test_growth_stops_at_the_cap(void **state)
{
    (void)state;
    struct lr_buf b;
    lr_buf_init(&b, 1000);
    char bytes[1000];
    memset(bytes, 'x', sizeof(bytes));
    assert_int_equal(lr_buf_append(&b, bytes, 600), LR_OK);
    assert_int_equal(b.alloc, 1001); /* doubling from 512 would give 1024 */
    assert_int_equal(lr_buf_append(&b, bytes, 400), LR_OK);
    assert_int_equal(b.alloc, 1001);
    lr_buf_clean_up(&b);
}

static void test_put_overflow_is_sticky(void **state)
{
    (void)state;
    struct lr_buf b;
    lr_buf_init(&b, 4);
    lr_buf_put_str(&b, "ab");
    lr_buf_put_str(&b, "cde"); /* does not fit */
    assert_true(b.overflow);
    lr_buf_put_str(&b, "c"); /* would fit, but the document is already lost */
    assert_string_equal(b.data, "ab");
    assert_null(lr_buf_put_reserve(&b, 0)); /* the sticky reserve refuses too */
    assert_null(lr_buf_take(&b, NULL));
    assert_null(b.data);

    lr_buf_init(&b, 4);
    lr_buf_put_str(&b, "ab");
    lr_buf_put_str(&b, "cde");
    lr_buf_rewind(&b, 1);
    assert_false(b.overflow);
    lr_buf_put_str(&b, "xyz");
    assert_string_equal(b.data, "axyz");
    size_t len = 0;
    char *s = lr_buf_take(&b, &len);
    assert_string_equal(s, "axyz");
    assert_int_equal(len, 4);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
}

static void test_take_of_an_empty_buffer_is_an_empty_string(void **state)
{
    (void)state;
    struct lr_buf b;
    lr_buf_init(&b, 0);
    size_t len = 99;
    char *s = lr_buf_take(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
}

static void test_json_string_styles(void **state)
{
    (void)state;
    static const char in[] = "q\"\\\b\f\x01\x7f\xff\xC2\x85\xE2\x80\xA8\xC3\xA9";
    struct lr_buf b;
    lr_buf_init(&b, 1024);
    lr_buf_put_json_string(&b, in, sizeof(in) - 1, LR_JSON_ESCAPE_LOG);
    assert_string_equal(b.data,
                        "\"q\\\"\\\\\\u0008\\u000c\\u0001\\u007f\\ufffd\\u0085\\u2028\xC3\xA9\"");
    lr_buf_reset(&b);
    lr_buf_put_json_string(&b, in, sizeof(in) - 1, LR_JSON_ESCAPE_MIN);
    assert_string_equal(b.data,
                        "\"q\\\"\\\\\\b\\f\\u0001\\u007f\\ufffd\xC2\x85\xE2\x80\xA8\xC3\xA9\"");
    lr_buf_reset(&b);
    lr_buf_put_json_string(&b, "", 0, LR_JSON_ESCAPE_MIN);
    assert_string_equal(b.data, "\"\"");
    lr_buf_clean_up(&b);

    lr_buf_init(&b, 7); /* "\u0001" plus quotes is 8 bytes */
    lr_buf_put_json_string(&b, "\x01", 1, LR_JSON_ESCAPE_MIN);
    assert_true(b.overflow);
    lr_buf_clean_up(&b);
}

/* The framed form writes pre, the escaped string and post as one piece: exactly at the cap it fits,
 * one byte below it overflows and writes nothing. Short strings take the one-pass path, long ones
 * (past the one-pass limit) the measuring one; both give the same bytes. */
static void test_json_framed_is_exact_at_the_cap(void **state)
{
    (void)state;
    static const struct lr_str pre = {",", 1}, post = {":", 1};
    static const char want[] = ",\"a\\nb\\u2028\xC3\xA9\":"; /* 17 bytes */
    struct lr_buf b;
    for (size_t cap = sizeof(want) - 2; cap <= sizeof(want); cap++) {
        lr_buf_init(&b, cap);
        lr_buf_put_json_framed(&b, pre, "a\nb\xE2\x80\xA8\xC3\xA9", 8, LR_JSON_ESCAPE_LOG, post);
        if (cap < sizeof(want) - 1) {
            assert_true(b.overflow);
            assert_int_equal(b.len, 0);
        } else {
            assert_false(b.overflow);
            assert_string_equal(b.data, want);
        }
        lr_buf_clean_up(&b);
    }
    size_t n = 40000; /* past the one-pass limit */
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n / 2] = '\x1b';
    lr_buf_init(&b, n + 20);
    lr_buf_put_json_framed(&b, pre, big, n, LR_JSON_ESCAPE_MIN, post);
    assert_false(b.overflow);
    assert_int_equal(b.len, n + 5 + 4);
    assert_memory_equal(b.data + 2 + n / 2, "\\u001bxx", 8);
    assert_memory_equal(b.data + b.len - 4, "xx\":", 4);
    lr_buf_clean_up(&b);
    free(big);
}

static void test_put_char_is_exact_at_the_cap(void **state)
{
    (void)state;
    struct lr_buf b;
    lr_buf_init(&b, 300); /* more than the first allocation: put_char also has to grow it */
    for (size_t i = 0; i < 300; i++)
        lr_buf_put_char(&b, (char)('a' + i % 26));
    assert_false(b.overflow);
    assert_int_equal(b.len, 300);
    assert_int_equal(b.data[299], 'a' + 299 % 26);
    assert_int_equal(b.data[300], '\0');
    lr_buf_put_char(&b, 'z');
    assert_true(b.overflow);
    assert_int_equal(b.len, 300);
    lr_buf_clean_up(&b);
}

static void test_utf8_seq_len_is_strict(void **state)
{
    (void)state;
    const unsigned char *u = (const unsigned char *)"A\x01";
    assert_int_equal(lr_utf8_seq_len(u, 2), 1);
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xC3\xA9", 2), 2);
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xC3\xA9", 1), 0);     /* cut */
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xC0\xAF", 2), 0);     /* overlong */
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xE0\x9F\xBF", 3), 0); /* overlong */
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xE0\xA0\x80", 3), 3);
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xED\xA0\x80", 3), 0); /* surrogate */
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xED\x9F\xBF", 3), 3);
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xF0\x8F\xBF\xBF", 4), 0);
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xF4\x8F\xBF\xBF", 4), 4);
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xF4\x90\x80\x80", 4), 0);
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\x80", 1), 0); /* continuation */
    assert_int_equal(lr_utf8_seq_len((const unsigned char *)"\xF5\x80\x80\x80", 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_is_exact_at_the_cap),
        cmocka_unit_test(test_growth_stops_at_the_cap),
        cmocka_unit_test(test_put_overflow_is_sticky),
        cmocka_unit_test(test_take_of_an_empty_buffer_is_an_empty_string),
        cmocka_unit_test(test_json_string_styles),
        cmocka_unit_test(test_json_framed_is_exact_at_the_cap),
        cmocka_unit_test(test_put_char_is_exact_at_the_cap),
        cmocka_unit_test(test_utf8_seq_len_is_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
