/* Conformance: every event in ../shared/fixtures/events (when that folder exists) parses, with the
 * record count and field values checked against an independent cJSON parse of the same file; files
 * that are not JSON fail cleanly with LR_E_NOT_JSON. Skipped when the folder is absent. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "lr/runtime.h"
#include "lr/ddb.h"

#define EVENTS_DIR LR_FIXTURES_DIR "/events"

static const char *current_file = "";

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void expect_text(struct lr_str got, const cJSON *want, const char *what)
{
    if (!cJSON_IsString(want)) {
        if (got.len != 0)
            fail_msg("%s: %s: expected absent, got \"%.*s\"", current_file, what, (int)got.len,
                     got.ptr);
        return;
    }
    size_t n = strlen(want->valuestring);
    if (got.len != n || (n && memcmp(got.ptr, want->valuestring, n) != 0))
        fail_msg("%s: %s: got \"%.*s\", want \"%s\"", current_file, what, (int)got.len, got.ptr,
                 want->valuestring);
}

static void expect_map(const struct ddb_map *got, const cJSON *want, const char *what);

static void expect_base64(struct ddb_bytes got, const cJSON *want)
{
    struct ddb_attr a = {.type = DDB_B, .v.b = got};
    struct lr_buf b;
    lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
    assert_int_equal(ddb_attr_serialize(&a, &b), LR_OK);
    char expect[512];
    snprintf(expect, sizeof(expect), "{\"B\":\"%s\"}", want->valuestring);
    assert_string_equal(b.data, expect);
    lr_buf_clean_up(&b);
}

static void expect_attr(const struct ddb_attr *got, const cJSON *want)
{
    assert_true(cJSON_IsObject(want));
    const cJSON *tv = want->child;
    assert_non_null(tv);
    assert_string_equal(ddb_type_name(got->type), tv->string);
    int n = cJSON_GetArraySize(tv);
    switch (got->type) {
    case DDB_S:
    case DDB_N: expect_text(got->v.s, tv, tv->string); break;
    case DDB_B: expect_base64(got->v.b, tv); break;
    case DDB_SS:
    case DDB_NS:
        assert_int_equal(got->v.ss.count, (size_t)n);
        for (int i = 0; i < n; i++)
            expect_text(got->v.ss.items[i], cJSON_GetArrayItem(tv, i), "set item");
        break;
    case DDB_BS:
        assert_int_equal(got->v.bs.count, (size_t)n);
        for (int i = 0; i < n; i++)
            expect_base64(got->v.bs.items[i], cJSON_GetArrayItem(tv, i));
        break;
    case DDB_M: expect_map(&got->v.m, tv, "M"); break;
    case DDB_L:
        assert_int_equal(got->v.l.count, (size_t)n);
        for (int i = 0; i < n; i++)
            expect_attr(&got->v.l.items[i], cJSON_GetArrayItem(tv, i));
        break;
    case DDB_NULL: assert_true(cJSON_IsTrue(tv)); break;
    case DDB_BOOL: assert_int_equal(got->v.boolean, cJSON_IsTrue(tv)); break;
    }
}

static void expect_map(const struct ddb_map *got, const cJSON *want, const char *what)
{
    if (!cJSON_IsObject(want)) {
        if (got->present)
            fail_msg("%s: %s present but absent in the file", current_file, what);
        return;
    }
    assert_true(got->present);
    assert_int_equal(got->count, (size_t)cJSON_GetArraySize(want));
    size_t i = 0;
    for (const cJSON *m = want->child; m; m = m->next, i++) {
        struct lr_str name = got->members[i].name;
        if (name.len != strlen(m->string) || memcmp(name.ptr, m->string, name.len) != 0)
            fail_msg("%s: %s member %zu is \"%.*s\", want \"%s\"", current_file, what, i,
                     (int)name.len, name.ptr, m->string);
        expect_attr(&got->members[i].value, m);
    }
}

static void expect_timestamp(const struct ddb_timestamp *ts, const cJSON *want)
{
    if (!cJSON_IsNumber(want) && !cJSON_IsString(want)) {
        assert_false(ts->present);
        return;
    }
    double v = cJSON_IsNumber(want) ? want->valuedouble : strtod(want->valuestring, NULL);
    assert_true(ts->present);
    double got = (double)ts->sec + (double)ts->nsec / 1e9;
    if (fabs(got - v) > 1e-6 * (v > 1 ? v / 1e9 : 1))
        fail_msg("%s: timestamp %.9f, want %.9f", current_file, got, v);
}

static void expect_record(const struct ddb_record *r, const cJSON *want)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(want, "dynamodb");
    if (!cJSON_IsObject(d)) { /* e.g. the Kinesis-wrapped file: another event source */
        assert_false(r->valid);
        assert_int_equal(r->error, LR_E_MISSING_FIELD);
        return;
    }
    if (!r->valid)
        fail_msg("%s: record %zu invalid: %s", current_file, r->index, r->error_detail);
    expect_text(r->event_id, cJSON_GetObjectItemCaseSensitive(want, "eventID"), "eventID");
    expect_text(r->event_name_raw, cJSON_GetObjectItemCaseSensitive(want, "eventName"),
                "eventName");
    expect_text(r->event_version, cJSON_GetObjectItemCaseSensitive(want, "eventVersion"),
                "eventVersion");
    expect_text(r->event_source, cJSON_GetObjectItemCaseSensitive(want, "eventSource"),
                "eventSource");
    expect_text(r->aws_region, cJSON_GetObjectItemCaseSensitive(want, "awsRegion"), "awsRegion");
    expect_text(r->event_source_arn, cJSON_GetObjectItemCaseSensitive(want, "eventSourceARN"),
                "eventSourceARN");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(want, "userIdentity");
    assert_int_equal(r->user_identity.present, cJSON_IsObject(uid));
    if (cJSON_IsObject(uid)) {
        expect_text(r->user_identity.type, cJSON_GetObjectItemCaseSensitive(uid, "type"), "type");
        expect_text(r->user_identity.principal_id,
                    cJSON_GetObjectItemCaseSensitive(uid, "principalId"), "principalId");
    }
    expect_text(r->sequence_number, cJSON_GetObjectItemCaseSensitive(d, "SequenceNumber"),
                "SequenceNumber");
    expect_text(r->stream_view_type_raw, cJSON_GetObjectItemCaseSensitive(d, "StreamViewType"),
                "StreamViewType");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(d, "SizeBytes");
    assert_int_equal(r->size_bytes, cJSON_IsNumber(size) ? (int64_t)size->valuedouble : -1);
    expect_timestamp(&r->approximate_creation,
                     cJSON_GetObjectItemCaseSensitive(d, "ApproximateCreationDateTime"));
    expect_map(&r->keys, cJSON_GetObjectItemCaseSensitive(d, "Keys"), "Keys");
    expect_map(&r->new_image, cJSON_GetObjectItemCaseSensitive(d, "NewImage"), "NewImage");
    expect_map(&r->old_image, cJSON_GetObjectItemCaseSensitive(d, "OldImage"), "OldImage");
}

static void expect_window(const struct ddb_window *w, const cJSON *root)
{
    const cJSON *win = cJSON_GetObjectItemCaseSensitive(root, "window");
    assert_int_equal(w->present, win != NULL);
    if (!win)
        return;
    expect_text(w->start, cJSON_GetObjectItemCaseSensitive(win, "start"), "window.start");
    expect_text(w->end, cJSON_GetObjectItemCaseSensitive(win, "end"), "window.end");
    expect_text(w->shard_id, cJSON_GetObjectItemCaseSensitive(root, "shardId"), "shardId");
    assert_int_equal(w->is_final_invoke_for_window, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                                                        root, "isFinalInvokeForWindow")));
    assert_int_equal(w->is_window_terminated_early, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                                                        root, "isWindowTerminatedEarly")));
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(root, "state");
    if (state) {
        cJSON *mine = cJSON_ParseWithLength(w->state_json.ptr, w->state_json.len);
        assert_non_null(mine);
        assert_true(cJSON_Compare(mine, state, 1));
        cJSON_Delete(mine);
    }
}

/* Returns 1 for a parsed JSON file, 0 for one that is (correctly) refused. */
static int check_file(const char *path)
{
    size_t len;
    char *json = read_file(path, &len);
    size_t skip = len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    cJSON *root = cJSON_ParseWithLength(json + skip, len - skip);
    struct ddb_event ev;
    struct ddb_parse_error err;
    enum lr_status st = ddb_event_parse(&ev, json, len, &err);
    if (!root) {
        if (st != LR_E_NOT_JSON)
            fail_msg("%s: not JSON for cJSON, but %s", path, lr_status_str(st));
        assert_int_equal(ev.count, 0);
        free(json);
        return 0;
    }
    if (st != LR_OK)
        fail_msg("%s: %s: %s", path, lr_status_str(st), err.message);
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(root, "Records");
    if (records) {
        assert_int_equal(ev.count, (size_t)cJSON_GetArraySize(records));
        assert_false(ev.single_record);
        size_t i = 0;
        for (const cJSON *r = records->child; r; r = r->next)
            expect_record(&ev.records[i++], r);
        expect_window(&ev.window, root);
    } else {
        assert_true(ev.single_record);
        assert_int_equal(ev.count, 1);
        expect_record(&ev.records[0], root);
    }
    cJSON_Delete(root);
    ddb_event_clean_up(&ev);
    free(json);
    return 1;
}

static void test_shared_fixtures(void **state)
{
    (void)state;
    DIR *dir = opendir(EVENTS_DIR);
    if (!dir) {
        print_message("skipped: %s is absent\n", EVENTS_DIR);
        skip();
        return;
    }
    int parsed = 0, refused = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", EVENTS_DIR, e->d_name);
        current_file = e->d_name;
        if (check_file(path))
            parsed++;
        else
            refused++;
    }
    closedir(dir);
    print_message("conformance: %d events parsed and checked, %d malformed refused\n", parsed,
                  refused);
    assert_true(parsed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_shared_fixtures)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
