/* Unit tests of the Runtime API client and run loop that need no Runtime API server: endpoint
 * validation, real connection failures on loopback (a bound but not listening port), the bounded
 * /next retries, and the fatal paths. The happy paths run against the emulator in
 * tests/integration. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lr/log.h"
#include "lr/runtime.h"

static char *mem_buf;
static size_t mem_size;
static FILE *mem;
static int closed_fd = -1;
static char closed_endpoint[64];

/* A loopback port that is bound but not listening: every connect() is refused at once. */
static void make_closed_endpoint(void)
{
    closed_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(closed_fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(closed_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(closed_fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(closed_endpoint, sizeof(closed_endpoint), "127.0.0.1:%u",
             (unsigned)ntohs(sa.sin_port));
}

static int setup(void **state)
{
    (void)state;
    mem = open_memstream(&mem_buf, &mem_size);
    assert_non_null(mem);
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, mem, 0);
    make_closed_endpoint();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, NULL, 0);
    fclose(mem);
    free(mem_buf);
    mem = NULL;
    mem_buf = NULL;
    close(closed_fd);
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    return 0;
}

static const char *logged(void)
{
    fflush(mem);
    return mem_buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void endpoints_are_validated(void **state)
{
    (void)state;
    static const struct {
        const char *ep;
        enum lr_status want;
    } cases[] = {
        {"127.0.0.1:9001", LR_OK},
        {"localhost:1", LR_OK},
        {"[::1]:65535", LR_OK},
        {"", LR_E_CONFIG},
        {"127.0.0.1", LR_E_CONFIG},
        {"127.0.0.1:", LR_E_CONFIG},
        {":9001", LR_E_CONFIG},
        {"::1", LR_E_CONFIG},
        {"127.0.0.1:0", LR_E_CONFIG},
        {"127.0.0.1:65536", LR_E_CONFIG},
        {"127.0.0.1:+90", LR_E_CONFIG},
        {"http://127.0.0.1:9001", LR_E_CONFIG},
        {"127.0.0.1:9001/path", LR_E_CONFIG},
        {"evil host:9001", LR_E_CONFIG},
        {"host:9001\r\nX: y", LR_E_CONFIG},
        {"user@host:9001", LR_E_CONFIG},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lr_client *c = (struct lr_client *)&c; /* must be reset to NULL on failure */
        assert_int_equal(lr_client_new(cases[i].ep, &c), cases[i].want);
        if (cases[i].want == LR_OK)
            assert_non_null(c);
        else
            assert_null(c);
        lr_client_destroy(c);
    }
}

static void endpoint_comes_from_the_environment(void **state)
{
    (void)state;
    struct lr_client *c = NULL;
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_int_equal(lr_client_new(NULL, &c), LR_E_CONFIG);
    setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
    assert_int_equal(lr_client_new(NULL, &c), LR_OK);
    lr_client_destroy(c);
    lr_client_destroy(NULL);
}

static void refused_connection_is_a_transport_error(void **state)
{
    (void)state;
    struct lr_client *c = NULL;
    assert_int_equal(lr_client_new(closed_endpoint, &c), LR_OK);
    struct lr_invocation_request req;
    memset(&req, 0xAB, sizeof(req));
    assert_int_equal(lr_client_next(c, &req), LR_E_TRANSPORT);
    assert_null(req.request_id.ptr); /* zeroed on error */
    assert_int_equal(req.payload.len, 0);
    assert_int_equal(count(logged(), "GET /next: curl error 7"), 1);

    req.request_id = LR_STR_LIT("8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    struct lr_invocation_response ok = lr_response_success("{}", 2, NULL);
    assert_int_equal(lr_client_post(c, &req, &ok), LR_E_TRANSPORT);
    assert_int_equal(count(logged(), "POST /response: curl error 7"), 1);
    lr_response_clean_up(&ok);
    assert_int_equal(lr_client_init_error(c, "m", "Runtime.X"), LR_E_TRANSPORT);
    assert_int_equal(count(logged(), "POST /init/error: curl error 7"), 1);
    lr_client_destroy(c);
}

static void post_refuses_an_unusable_request_id(void **state)
{
    (void)state;
    struct lr_client *c = NULL;
    assert_int_equal(lr_client_new(closed_endpoint, &c), LR_OK);
    struct lr_invocation_request req;
    memset(&req, 0, sizeof(req));
    struct lr_invocation_response ok = lr_response_success("{}", 2, NULL);
    assert_int_equal(lr_client_post(c, &req, &ok), LR_E_INVALID_ARG); /* no request id */
    char long_id[300];
    memset(long_id, 'a', sizeof(long_id));
    req.request_id = (struct lr_str){long_id, sizeof(long_id)};
    assert_int_equal(lr_client_post(c, &req, &ok), LR_E_INVALID_ARG);
    lr_response_clean_up(&ok);
    lr_client_destroy(c);
}

static int handler_calls;

static struct lr_invocation_response counting_handler(const struct lr_invocation_request *req,
                                                      void *user_data)
{
    (void)req;
    (void)user_data;
    handler_calls++;
    return lr_response_success("{}", 2, NULL);
}

static void run_without_endpoint_fails_clearly(void **state)
{
    (void)state;
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    handler_calls = 0;
    assert_int_equal(lr_run_handler(counting_handler, NULL), 1);
    assert_int_equal(handler_calls, 0);
    assert_int_equal(count(logged(), "\tFATAL\tcannot start: LR_E_CONFIG"), 1);
    assert_int_equal(count(logged(), "AWS_LAMBDA_RUNTIME_API must be host:port"), 1);

    setenv("AWS_LAMBDA_RUNTIME_API", "http://127.0.0.1:9001", 1);
    assert_int_equal(lr_run_handler(counting_handler, NULL), 1);
    assert_int_equal(count(logged(), "cannot start: LR_E_CONFIG"), 2);
}

static void run_gives_up_after_bounded_next_retries(void **state)
{
    (void)state;
    setenv("AWS_LAMBDA_RUNTIME_API", closed_endpoint, 1);
    handler_calls = 0;
    struct lr_run_options o = {3, 1, 2};
    assert_int_equal(lr_run_handler_with_options(counting_handler, NULL, &o), 1);
    assert_int_equal(handler_calls, 0);
    assert_int_equal(count(logged(), "GET /next: curl error 7"), 3);
    assert_int_equal(count(logged(), "GET /next failed 3 times in a row"), 1);

    /* Defaults: 5 attempts. */
    assert_int_equal(lr_run_handler_with_options(counting_handler, NULL, NULL), 1);
    assert_int_equal(count(logged(), "GET /next: curl error 7"), 3 + 5);
    assert_int_equal(count(logged(), "GET /next failed 5 times in a row"), 1);
}

static void init_error_without_endpoint_still_exits_non_zero(void **state)
{
    (void)state;
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_int_equal(lr_report_init_error("bad config", "Runtime.ConfigInvalid"), 1);
    assert_int_equal(count(logged(), "initialisation failed: Runtime.ConfigInvalid: bad config"),
                     1);
    assert_int_equal(count(logged(), "cannot report it: LR_E_CONFIG"), 1);
    setenv("AWS_LAMBDA_RUNTIME_API", closed_endpoint, 1);
    assert_int_equal(lr_report_init_error("x", "Runtime.X"), 1);
    assert_int_equal(count(logged(), "POST /init/error failed: LR_E_TRANSPORT"), 1);
}

static void credentials_never_reach_the_log(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret-value-must-not-leak", 1);
    setenv("AWS_SESSION_TOKEN", "session-token-must-not-leak", 1);
    setenv("AWS_LAMBDA_RUNTIME_API", "bad endpoint", 1);
    assert_int_equal(lr_run_handler(counting_handler, NULL), 1);
    setenv("AWS_LAMBDA_RUNTIME_API", closed_endpoint, 1);
    struct lr_run_options o = {2, 1, 1};
    assert_int_equal(lr_run_handler_with_options(counting_handler, NULL, &o), 1);
    assert_int_equal(lr_report_init_error("x", "Runtime.X"), 1);
    assert_true(strlen(logged()) > 0);
    assert_null(strstr(logged(), "AKIAEXAMPLEKEYID0001"));
    assert_null(strstr(logged(), "secret-value-must-not-leak"));
    assert_null(strstr(logged(), "session-token-must-not-leak"));
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
}

static void concurrency_comes_from_the_environment(void **state)
{
    (void)state;
    static const struct {
        const char *value; /* NULL: unset */
        enum lr_status st;
        uint32_t n;
    } cases[] = {{NULL, LR_OK, 1},
                 {"", LR_OK, 1},
                 {"1", LR_OK, 1},
                 {"4", LR_OK, 4},
                 {"1024", LR_OK, 1024},
                 {"0", LR_E_CONFIG, 0},
                 {"1025", LR_E_CONFIG, 0},
                 {"-1", LR_E_CONFIG, 0},
                 {"+4", LR_E_CONFIG, 0},
                 {" 4", LR_E_CONFIG, 0},
                 {"4x", LR_E_CONFIG, 0},
                 {"four", LR_E_CONFIG, 0},
                 {"99999999999999999999", LR_E_CONFIG, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].value == NULL)
            unsetenv("AWS_LAMBDA_MAX_CONCURRENCY");
        else
            setenv("AWS_LAMBDA_MAX_CONCURRENCY", cases[i].value, 1);
        uint32_t n = 777;
        assert_int_equal(lr_run_concurrency(&n), cases[i].st);
        assert_int_equal(n, cases[i].st == LR_OK ? cases[i].n : 777);
    }
    unsetenv("AWS_LAMBDA_MAX_CONCURRENCY");
}

static void invalid_concurrency_is_an_init_error(void **state)
{
    (void)state;
    handler_calls = 0;
    setenv("AWS_LAMBDA_RUNTIME_API", closed_endpoint, 1);
    setenv("AWS_LAMBDA_MAX_CONCURRENCY", "0", 1);
    assert_int_equal(lr_run_handler(counting_handler, NULL), 1);
    unsetenv("AWS_LAMBDA_MAX_CONCURRENCY");
    assert_int_equal(handler_calls, 0);
    assert_int_equal(count(logged(), "initialisation failed: Runtime.ConfigInvalid: "
                                     "AWS_LAMBDA_MAX_CONCURRENCY=0 is not a whole number from 1 "
                                     "to 1024"),
                     1);
    assert_int_equal(count(logged(), "POST /init/error failed: LR_E_TRANSPORT"), 1);
}

/* Every worker meets the refused endpoint; the first to give up stops the others, whose retries
 * end early: the run ends with the fatal status, having started all of them. */
static void workers_end_together_on_a_fatal_condition(void **state)
{
    (void)state;
    handler_calls = 0;
    setenv("AWS_LAMBDA_RUNTIME_API", closed_endpoint, 1);
    setenv("AWS_LAMBDA_MAX_CONCURRENCY", "4", 1);
    struct lr_run_options o = {3, 1, 1};
    assert_int_equal(lr_run_handler_with_options(counting_handler, NULL, &o), 1);
    unsetenv("AWS_LAMBDA_MAX_CONCURRENCY");
    assert_int_equal(handler_calls, 0);
    assert_int_equal(count(logged(), "serving up to 4 invokes at once"), 1);
    size_t gave_up = count(logged(), "GET /next failed 3 times in a row");
    assert_true(gave_up >= 1 && gave_up <= 4);
    size_t failures = count(logged(), "GET /next: curl error 7");
    assert_true(failures >= 3 && failures <= 4 * 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(endpoints_are_validated, setup, teardown),
        cmocka_unit_test_setup_teardown(endpoint_comes_from_the_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_connection_is_a_transport_error, setup, teardown),
        cmocka_unit_test_setup_teardown(post_refuses_an_unusable_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(run_without_endpoint_fails_clearly, setup, teardown),
        cmocka_unit_test_setup_teardown(run_gives_up_after_bounded_next_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(init_error_without_endpoint_still_exits_non_zero, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(credentials_never_reach_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrency_comes_from_the_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_concurrency_is_an_init_error, setup, teardown),
        cmocka_unit_test_setup_teardown(workers_end_together_on_a_fatal_condition, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
