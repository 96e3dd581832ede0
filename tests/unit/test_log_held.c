/* Unit tests of the lines held within an invoke (log/lr_log.c): on a stream with a descriptor (here a
 * file, read back through a second descriptor), INFO lines of an invoke are written whole, several per write, at lr_log_flush(), when the
 * millisecond changes, when the buffer is full, and before a WARN line; outside an invoke every line
 * goes out at once. The order of the lines never changes. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lr/clock.h"
#include "lr/log.h"

#define RID "8476a536-e9f4-11e8-9739-2dfe598c3fcd"

static int64_t g_now = INT64_C(1796053204123);
static char g_path[] = "/tmp/lr-test-log-held-XXXXXX";
static int g_reader = -1;
static FILE *g_out;

static int64_t test_clock(void *data)
{
    (void)data;
    return g_now;
}

static int setup(void **state)
{
    (void)state;
    lr_clock_set_for_test(test_clock, NULL);
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    g_out = fdopen(fd, "w");
    assert_non_null(g_out);
    g_reader = open(g_path, O_RDONLY); /* reads what was written since its last read */
    assert_true(g_reader >= 0);
    unlink(g_path);
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, g_out, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lr_log_set_request_id(NULL, 0);
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, NULL, 0);
    lr_clock_set_for_test(NULL, NULL);
    fclose(g_out);
    close(g_reader);
    memcpy(g_path + sizeof(g_path) - 7, "XXXXXX", 6);
    return 0;
}

/* Everything written to the file since the last call; "" when nothing was. */
static char *read_now(void)
{
    static char buf[1 << 20];
    size_t len = 0;
    ssize_t n;
    while ((n = read(g_reader, buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    assert_true(n == 0);
    buf[len] = '\0';
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void info_lines_of_an_invoke_wait_for_the_flush(void **state)
{
    (void)state;
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_INFO, "one");
    lr_log(LR_LOG_INFO, "two");
    assert_string_equal(read_now(), "");
    lr_log_flush();
    const char *out = read_now();
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "\tINFO\tone\n"));
    assert_true(strstr(out, "one") < strstr(out, "two"));
}

static void a_warning_writes_what_was_held_first(void **state)
{
    (void)state;
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_INFO, "held");
    lr_log(LR_LOG_WARN, "warned");
    const char *out = read_now();
    assert_int_equal(count_lines(out), 2);
    assert_true(strstr(out, "held") < strstr(out, "warned"));
    lr_log_flush();
    assert_string_equal(read_now(), "");
}

/* A handler's printf() after a held line comes out after it, not before. */
static void a_printf_after_a_held_line_follows_it(void **state)
{
    (void)state;
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_INFO, "first");
    fputs("printed\n", g_out); /* stays in stdio's buffer */
    lr_log(LR_LOG_INFO, "third");
    lr_log_flush();
    const char *out = read_now();
    const char *a = strstr(out, "first"), *b = strstr(out, "printed"), *c = strstr(out, "third");
    assert_true(a && b && c);
    assert_true(a < b && b < c);
}

static void a_new_millisecond_writes_the_held_lines(void **state)
{
    (void)state;
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_INFO, "first");
    g_now++;
    lr_log(LR_LOG_INFO, "second");
    const char *out = read_now();
    assert_int_equal(count_lines(out), 1); /* "first"; "second" now waits in its own millisecond */
    assert_non_null(strstr(out, "first"));
    lr_log_flush();
    assert_non_null(strstr(read_now(), "second"));
}

static void outside_an_invoke_lines_go_out_at_once(void **state)
{
    (void)state;
    lr_log_set_request_id(NULL, 0);
    lr_log(LR_LOG_INFO, "init");
    assert_non_null(strstr(read_now(), "\tundefined\tINFO\tinit\n"));
}

static void clearing_the_request_id_writes_the_held_lines(void **state)
{
    (void)state;
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_INFO, "last of the invoke");
    lr_log_set_request_id(NULL, 0);
    assert_non_null(strstr(read_now(), "last of the invoke"));
}

static void a_full_buffer_is_written_in_whole_lines(void **state)
{
    (void)state;
    lr_log_set_request_id(RID, strlen(RID));
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    size_t lines = 300; /* about 300 KB: several buffers */
    for (size_t i = 0; i < lines; i++)
        lr_log(LR_LOG_INFO, "%zu %s", i, big);
    const char *out = read_now();
    size_t written = count_lines(out);
    assert_true(written > 0 && written < lines);
    assert_int_equal(out[strlen(out) - 1], '\n'); /* only whole lines were written */
    lr_log_flush();
    assert_int_equal(written + count_lines(read_now()), lines);
}

static void metrics_lines_keep_their_place(void **state)
{
    (void)state;
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_INFO, "summary");
    assert_int_equal(lr_log_raw_json_line("{\"_aws\":{}}", 11), LR_OK);
    lr_log(LR_LOG_INFO, "after");
    lr_log_flush();
    const char *out = read_now();
    assert_int_equal(count_lines(out), 3);
    assert_true(strstr(out, "summary") < strstr(out, "{\"_aws\""));
    assert_true(strstr(out, "{\"_aws\"") < strstr(out, "after"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(info_lines_of_an_invoke_wait_for_the_flush, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_warning_writes_what_was_held_first, setup, teardown),
        cmocka_unit_test_setup_teardown(a_printf_after_a_held_line_follows_it, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_millisecond_writes_the_held_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(outside_an_invoke_lines_go_out_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(clearing_the_request_id_writes_the_held_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_full_buffer_is_written_in_whole_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_lines_keep_their_place, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
