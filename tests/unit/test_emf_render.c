/* lr_emf_render: exact lines, escaping, and every validation error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "lr/emf.h"

static const struct lr_emf_member k_dims[] = {{"FunctionName", LR_STR_LIT("my-fn")}};
static const struct lr_emf_member k_props[] = {{"requestId", LR_STR_LIT("req-1")}};
static const struct lr_emf_metric k_metrics[] = {
    {"RecordsProcessed", "Count", 3},
    {"MaxIteratorAgeMs", "Milliseconds", 1234},
    {"Raw", NULL, -5},
};

static struct lr_emf_doc base_doc(void)
{
    struct lr_emf_doc d = {
        .namespace_name = "DynamoDBStreamsLambda",
        .timestamp_ms = 1700000000123,
        .dimensions = k_dims,
        .n_dimensions = 1,
        .metrics = k_metrics,
        .n_metrics = 3,
        .properties = k_props,
        .n_properties = 1,
    };
    return d;
}

static void test_exact_line(void **state)
{
    (void)state;
    struct lr_emf_doc d = base_doc();
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(lr_emf_render(&d, &out, &len), LR_OK);
    const char *want =
        "{\"_aws\":{\"Timestamp\":1700000000123,\"CloudWatchMetrics\":[{\"Namespace\":"
        "\"DynamoDBStreamsLambda\",\"Dimensions\":[[\"FunctionName\"]],\"Metrics\":["
        "{\"Name\":\"RecordsProcessed\",\"Unit\":\"Count\"},"
        "{\"Name\":\"MaxIteratorAgeMs\",\"Unit\":\"Milliseconds\"},"
        "{\"Name\":\"Raw\",\"Unit\":\"None\"}]}]},"
        "\"FunctionName\":\"my-fn\",\"requestId\":\"req-1\","
        "\"RecordsProcessed\":3,\"MaxIteratorAgeMs\":1234,\"Raw\":-5}";
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
}

static void test_no_dimensions_gives_empty_set(void **state)
{
    (void)state;
    struct lr_emf_doc d = base_doc();
    d.n_dimensions = 0;
    d.n_properties = 0;
    d.n_metrics = 1;
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(lr_emf_render(&d, &out, &len), LR_OK);
    assert_non_null(strstr(out, "\"Dimensions\":[[]]"));
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    cJSON_Delete(j);
    free(out);
}

/* Renders a one-metric document whose only dimension value is raw[0..len); the caller frees. */
static char *render_dimension(const char *raw, size_t len)
{
    struct lr_emf_member dim = {"Table", {raw, len}};
    struct lr_emf_doc d = base_doc();
    d.dimensions = &dim;
    d.n_properties = 0;
    d.n_metrics = 1;
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(lr_emf_render(&d, &out, &out_len), LR_OK);
    assert_null(strchr(out, '\n'));
    return out;
}

static void test_values_are_escaped(void **state)
{
    (void)state;
    /* The same rules as every other log line: quotes, backslashes, control bytes, invalid UTF-8
     * (to U+FFFD), and U+2028, U+2029, ESC and DEL, while valid UTF-8 passes through. */
    static const struct {
        const char *raw;
        const char *member;  /* expected "Table":"..." as rendered */
        const char *decoded; /* expected value after a JSON parse */
    } cases[] = {
        {"a\"b\\c\nd\x01\xff\xc3\xa9", "\"Table\":\"a\\\"b\\\\c\\nd\\u0001\\ufffd\xc3\xa9\"",
         "a\"b\\c\nd\x01\xef\xbf\xbd\xc3\xa9"},
        {"x\xe2\x80\xa8y\xe2\x80\xa9z\x1b[31m\x7f",
         "\"Table\":\"x\\u2028y\\u2029z\\u001b[31m\\u007f\"",
         "x\xe2\x80\xa8y\xe2\x80\xa9z\x1b[31m\x7f"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = render_dimension(cases[i].raw, strlen(cases[i].raw));
        assert_non_null(strstr(out, cases[i].member));
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "Table")->valuestring,
                            cases[i].decoded);
        cJSON_Delete(j);
        free(out);
    }
}

static enum lr_status render_status(const struct lr_emf_doc *d)
{
    char *out = (char *)1;
    size_t len = 99;
    enum lr_status st = lr_emf_render(d, &out, &len);
    if (st != LR_OK) {
        assert_null(out);
        assert_int_equal(len, 0);
    }
    free(out);
    return st;
}

static void test_validation_errors(void **state)
{
    (void)state;
    struct lr_emf_doc d = base_doc();
    d.namespace_name = "";
    assert_int_equal(render_status(&d), LR_E_EMF_NAMESPACE);
    d.namespace_name = NULL;
    assert_int_equal(render_status(&d), LR_E_EMF_NAMESPACE);

    d = base_doc();
    d.n_metrics = 0;
    assert_int_equal(render_status(&d), LR_E_EMF_COUNT);
    d.n_metrics = LR_EMF_MAX_METRICS + 1;
    assert_int_equal(render_status(&d), LR_E_EMF_COUNT);

    struct lr_emf_metric dup[] = {{"FunctionName", "Count", 1}};
    d = base_doc();
    d.metrics = dup;
    d.n_metrics = 1;
    assert_int_equal(render_status(&d), LR_E_EMF_NAME);

    struct lr_emf_metric reserved[] = {{"_aws", "Count", 1}};
    d.metrics = reserved;
    assert_int_equal(render_status(&d), LR_E_EMF_NAME);

    struct lr_emf_metric bad_unit[] = {{"X", "Parsecs", 1}};
    d.metrics = bad_unit;
    assert_int_equal(render_status(&d), LR_E_EMF_UNIT);

    struct lr_emf_member empty_val = {"FunctionName", {"", 0}};
    d = base_doc();
    d.dimensions = &empty_val;
    assert_int_equal(render_status(&d), LR_E_EMF_VALUE);
}

static void test_cap_is_a_named_error(void **state)
{
    (void)state;
    /* 30 dimensions of 1024 control bytes escape to 6 bytes each: far past the 64 KB cap. */
    static char value[LR_EMF_MAX_VALUE];
    memset(value, 0x01, sizeof(value));
    static char names[LR_EMF_MAX_DIMENSIONS][8];
    struct lr_emf_member dims[LR_EMF_MAX_DIMENSIONS];
    for (size_t i = 0; i < LR_EMF_MAX_DIMENSIONS; i++) {
        names[i][0] = 'd';
        names[i][1] = (char)('A' + i);
        names[i][2] = '\0';
        dims[i].name = names[i];
        dims[i].value = (struct lr_str){value, sizeof(value)};
    }
    struct lr_emf_doc d = base_doc();
    d.dimensions = dims;
    d.n_dimensions = LR_EMF_MAX_DIMENSIONS;
    assert_int_equal(render_status(&d), LR_E_TOO_LARGE);
    d.n_dimensions = 2; /* 2 x 6 KB fits */
    assert_int_equal(render_status(&d), LR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_line),
        cmocka_unit_test(test_no_dimensions_gives_empty_set),
        cmocka_unit_test(test_values_are_escaped),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_cap_is_a_named_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
