/* Region, endpoints, credentials, CA bundle and attempts from the environment; retry rules. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/lr_aws_config.h"
#include "aws/lr_aws_retry.h"
#include "lr/aws.h"

static const char *const vars[] = {"AWS_REGION",
                                   "AWS_DEFAULT_REGION",
                                   "AWS_ENDPOINT_URL",
                                   "AWS_ENDPOINT_URL_DYNAMODB",
                                   "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
                                   "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                                   "AWS_ACCESS_KEY_ID",
                                   "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN",
                                   "SSL_CERT_FILE",
                                   "AWS_MAX_ATTEMPTS"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

static void region_order(void **state)
{
    (void)state;
    char r[LR_AWS_REGION_MAX + 1];
    assert_int_equal(lr_aws_config_region(r), LR_E_AWS_CONFIG);
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    assert_int_equal(lr_aws_config_region(r), LR_OK);
    assert_string_equal(r, "eu-west-1");
    setenv("AWS_REGION", "us-east-2", 1);
    assert_int_equal(lr_aws_config_region(r), LR_OK);
    assert_string_equal(r, "us-east-2");
    setenv("AWS_REGION", "", 1); /* empty counts as unset */
    assert_int_equal(lr_aws_config_region(r), LR_OK);
    assert_string_equal(r, "eu-west-1");
    setenv("AWS_REGION", "us-east-1/../x", 1);
    assert_int_equal(lr_aws_config_region(r), LR_E_AWS_CONFIG);
}

static void expect_endpoint(const struct lr_aws_service *svc, const char *region, const char *url,
                            const char *host, const char *path)
{
    struct lr_aws_endpoint ep;
    assert_int_equal(lr_aws_config_endpoint(svc, region, &ep), LR_OK);
    assert_string_equal(ep.url, url);
    assert_string_equal(ep.host, host);
    assert_string_equal(ep.path, path);
}

static void standard_endpoints(void **state)
{
    (void)state;
    expect_endpoint(&lr_aws_dynamodb, "us-east-1", "https://dynamodb.us-east-1.amazonaws.com/",
                    "dynamodb.us-east-1.amazonaws.com", "/");
    expect_endpoint(&lr_aws_dynamodb_streams, "eu-central-1",
                    "https://streams.dynamodb.eu-central-1.amazonaws.com/",
                    "streams.dynamodb.eu-central-1.amazonaws.com", "/");
    expect_endpoint(&lr_aws_sqs, "cn-north-1", "https://sqs.cn-north-1.amazonaws.com.cn/",
                    "sqs.cn-north-1.amazonaws.com.cn", "/");
    expect_endpoint(&lr_aws_eventbridge, "us-gov-west-1",
                    "https://events.us-gov-west-1.amazonaws.com/",
                    "events.us-gov-west-1.amazonaws.com", "/");
    expect_endpoint(&lr_aws_sns, "us-iso-east-1", "https://sns.us-iso-east-1.c2s.ic.gov/",
                    "sns.us-iso-east-1.c2s.ic.gov", "/");
}

static void endpoint_overrides(void **state)
{
    (void)state;
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", 1);
    expect_endpoint(&lr_aws_sqs, "us-east-1", "http://127.0.0.1:4566/", "127.0.0.1:4566", "/");
    setenv("AWS_ENDPOINT_URL_DYNAMODB", "HTTPS://ddb.local:443/base/",
           1); /* the default port is left out */
    expect_endpoint(&lr_aws_dynamodb, "us-east-1", "https://ddb.local:443/base/", "ddb.local",
                    "/base/");
    expect_endpoint(&lr_aws_dynamodb_streams, "us-east-1", "http://127.0.0.1:4566/",
                    "127.0.0.1:4566", "/");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
    expect_endpoint(&lr_aws_dynamodb, "us-east-1", "https://dynamodb.us-east-1.amazonaws.com/",
                    "dynamodb.us-east-1.amazonaws.com", "/");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://[::1]:8000", 1);
    expect_endpoint(&lr_aws_dynamodb, "us-east-1", "http://[::1]:8000/", "[::1]:8000", "/");
}

static void bad_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {"ftp://x",     "127.0.0.1:80", "http://",
                                      "http://u@h/", "http://h:0",   "http://h:65536",
                                      "http://h:8x", "http://h/a b", "http://h/?q",
                                      "http://h/#f", "http://[::1/", "http://h\r\n/"};
    struct lr_aws_endpoint ep;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i]);
        assert_int_equal(lr_aws_config_parse_url(bad[i], &ep), LR_E_AWS_CONFIG);
    }
    setenv("AWS_ENDPOINT_URL", "localhost:4566",
           1); /* an override that is wrong is an error, not ignored */
    assert_int_equal(lr_aws_config_endpoint(&lr_aws_sqs, "us-east-1", &ep), LR_E_AWS_CONFIG);
}

static void credentials(void **state)
{
    (void)state;
    struct lr_aws_creds cr;
    assert_int_equal(lr_aws_config_credentials(&cr), LR_E_AWS_CREDENTIALS);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    assert_int_equal(lr_aws_config_credentials(&cr), LR_E_AWS_CREDENTIALS);
    setenv("AWS_SECRET_ACCESS_KEY", "se/cret+", 1);
    assert_int_equal(lr_aws_config_credentials(&cr), LR_OK);
    assert_null(cr.session_token);
    setenv("AWS_SESSION_TOKEN", "tok", 1);
    assert_int_equal(lr_aws_config_credentials(&cr), LR_OK);
    assert_string_equal(cr.session_token, "tok");
    setenv("AWS_SESSION_TOKEN", "tok\r\nX-Injected: 1", 1); /* would split the header: refused */
    assert_int_equal(lr_aws_config_credentials(&cr), LR_E_AWS_CREDENTIALS);
}

static void ca_bundle(void **state)
{
    (void)state;
    const char *path = NULL;
    setenv("SSL_CERT_FILE", LR_SOURCE_DIR "/README.md", 1);
    assert_int_equal(lr_aws_config_ca_bundle(&path), LR_OK);
    assert_string_equal(path, LR_SOURCE_DIR "/README.md");
    setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
    assert_int_equal(lr_aws_config_ca_bundle(&path), LR_E_TLS_CA_BUNDLE);
}

static void max_attempts(void **state)
{
    (void)state;
    unsigned n = 3;
    assert_int_equal(lr_aws_config_max_attempts(&n), LR_OK);
    assert_int_equal(n, 3);
    setenv("AWS_MAX_ATTEMPTS", "5", 1);
    assert_int_equal(lr_aws_config_max_attempts(&n), LR_OK);
    assert_int_equal(n, 5);
    static const char *const bad[] = {"0", "21", "-1", "3x", "999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("AWS_MAX_ATTEMPTS", bad[i], 1);
        assert_int_equal(lr_aws_config_max_attempts(&n), LR_E_AWS_CONFIG);
    }
    assert_int_equal(n, 5);
}

static void retry_rules(void **state)
{
    (void)state;
    assert_true(lr_aws_retry_is_throttling("ProvisionedThroughputExceededException"));
    assert_true(lr_aws_retry_is_throttling("RequestLimitExceeded"));
    assert_false(lr_aws_retry_is_throttling("ValidationException"));
    assert_true(lr_aws_retry_is_retryable(LR_E_AWS_THROTTLED, 400, "ThrottlingException"));
    assert_true(lr_aws_retry_is_retryable(LR_E_AWS_SERVICE, 503, "ServiceUnavailable"));
    assert_true(lr_aws_retry_is_retryable(LR_E_AWS_BAD_ERROR, 502, ""));
    assert_true(lr_aws_retry_is_retryable(LR_E_AWS_SERVICE, 400, "RequestTimeoutException"));
    assert_true(lr_aws_retry_is_retryable(LR_E_AWS_CONNECT, 0, ""));
    assert_false(lr_aws_retry_is_retryable(LR_E_AWS_SERVICE, 400, "ValidationException"));
    assert_false(lr_aws_retry_is_retryable(LR_E_AWS_SERVICE, 501, "NotImplemented"));
    assert_false(lr_aws_retry_is_retryable(LR_E_TLS_CERT_EXPIRED, 0, ""));
    assert_false(lr_aws_retry_is_retryable(LR_E_AWS_BAD_RESPONSE, 200, ""));
}

static void backoff_full_jitter(void **state)
{
    (void)state;
    uint64_t rng = 42;
    uint32_t max_seen[6] = {0};
    for (int i = 0; i < 2000; i++)
        for (unsigned n = 1; n <= 5; n++) {
            uint32_t d = lr_aws_retry_backoff_ms(n, 1000, 20000, &rng);
            uint32_t ceiling = n == 5 ? 16000 : 1000u << (n - 1);
            assert_true(d <= ceiling);
            if (d > max_seen[n])
                max_seen[n] = d;
        }
    for (unsigned n = 1; n <= 5; n++) /* the whole range is used, not a fixed delay */
        assert_true(max_seen[n] > (n == 5 ? 16000u : 1000u << (n - 1)) * 9 / 10);
    for (int i = 0; i < 100; i++)
        assert_true(lr_aws_retry_backoff_ms(30, 1000, 20000, &rng) <= 20000);
}

static void client_does_nothing_until_the_first_call(void **state)
{
    (void)state;
    struct lr_aws_client *c = NULL;
    struct lr_aws_response resp;
    /* No region, no credentials, no CA bundle: creating the client does not look at any of them. */
    setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
    assert_int_equal(lr_aws_client_new(NULL, &c), LR_OK);
    lr_aws_response_init(&resp);
    assert_int_equal(
        lr_aws_json_call(c, &lr_aws_dynamodb, "ListTables", LR_STR_LIT("{}"), 0, &resp),
        LR_E_AWS_CONFIG);
    setenv("AWS_REGION", "us-east-1", 1);
    assert_int_equal(
        lr_aws_json_call(c, &lr_aws_dynamodb, "ListTables", LR_STR_LIT("{}"), 0, &resp),
        LR_E_TLS_CA_BUNDLE);
    assert_int_equal(resp.attempts, 0);
    assert_int_equal(lr_aws_json_call(c, &lr_aws_sns, "Publish", LR_STR_LIT(""), 0, &resp),
                     LR_E_INVALID_ARG);
    assert_int_equal(lr_aws_json_call(c, &lr_aws_sqs, "Send Message", LR_STR_LIT(""), 0, &resp),
                     LR_E_INVALID_ARG);
    assert_int_equal(lr_aws_query_call(c, &lr_aws_sqs, LR_STR_LIT(""), 0, &resp), LR_E_INVALID_ARG);
    assert_ptr_equal(lr_aws_service_by_name("events"), &lr_aws_eventbridge);
    assert_null(lr_aws_service_by_name("s3"));
    lr_aws_response_clean_up(&resp);
    lr_aws_client_destroy(c);
    setenv("AWS_MAX_ATTEMPTS", "x", 1);
    assert_int_equal(lr_aws_client_new(NULL, &c), LR_E_AWS_CONFIG);
    assert_null(c);
}

/* A region in the settings replaces AWS_REGION (a target in another region); a malformed one is refused
 * when the client is made, not on the first call. */
static void settings_region(void **state)
{
    (void)state;
    struct lr_aws_settings s;
    struct lr_aws_client *c = NULL;
    struct lr_aws_response resp;
    assert_int_equal(lr_aws_settings_init(&s), LR_OK);
    assert_string_equal(s.region, "");
    snprintf(s.region, sizeof(s.region), "us-west-2/x");
    assert_int_equal(lr_aws_client_new(&s, &c), LR_E_INVALID_ARG);
    assert_null(c);
    /* AWS_REGION unset: only the settings' region lets the call get as far as the CA bundle. */
    snprintf(s.region, sizeof(s.region), "eu-west-3");
    setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
    assert_int_equal(lr_aws_client_new(&s, &c), LR_OK);
    lr_aws_response_init(&resp);
    assert_int_equal(
        lr_aws_json_call(c, &lr_aws_dynamodb, "ListTables", LR_STR_LIT("{}"), 0, &resp),
        LR_E_TLS_CA_BUNDLE);
    lr_aws_response_clean_up(&resp);
    lr_aws_client_destroy(c);
}

static void status_names(void **state)
{
    (void)state;
    for (int a = LR_E_AWS_CONFIG; a <= LR_E_DEADLINE; a++) {
        assert_null(strstr(lr_status_str((enum lr_status)a), "UNKNOWN"));
        for (int b = a + 1; b <= LR_E_DEADLINE; b++)
            assert_string_not_equal(lr_status_str((enum lr_status)a),
                                    lr_status_str((enum lr_status)b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(region_order, clear_env),
        cmocka_unit_test_setup(standard_endpoints, clear_env),
        cmocka_unit_test_setup(endpoint_overrides, clear_env),
        cmocka_unit_test_setup(bad_urls, clear_env),
        cmocka_unit_test_setup(credentials, clear_env),
        cmocka_unit_test_setup(ca_bundle, clear_env),
        cmocka_unit_test_setup(max_attempts, clear_env),
        cmocka_unit_test_setup(retry_rules, clear_env),
        cmocka_unit_test_setup(settings_region, clear_env),
        cmocka_unit_test_setup(backoff_full_jitter, clear_env),
        cmocka_unit_test_setup(client_does_nothing_until_the_first_call, clear_env),
        cmocka_unit_test(status_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
