/* tools/gen_ddb_batch.py against the parser: a 6 MB-capped batch of up to 10,000 records with all
 * ten types parses record by record with small parser memory, is deterministic, and --record-bytes
 * pads records to the requested size. Needs python3 (CI installs it). */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lr/ddb.h"

#define GEN "python3 " LR_SOURCE_DIR "/tools/gen_ddb_batch.py "
#define CAP ((size_t)6 * 1024 * 1024)

static char *run(const char *args, size_t *len)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), GEN "%s 2>/dev/null", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, p)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    assert_int_equal(pclose(p), 0);
    *len = n;
    return buf;
}

/* Bit set of the attribute types found anywhere in an image. */
static unsigned types_in(const struct ddb_attr *a)
{
    unsigned bits = 1u << a->type;
    if (a->type == DDB_M)
        for (size_t i = 0; i < a->v.m.count; i++)
            bits |= types_in(&a->v.m.members[i].value);
    if (a->type == DDB_L)
        for (size_t i = 0; i < a->v.l.count; i++)
            bits |= types_in(&a->v.l.items[i]);
    return bits;
}

static unsigned image_types(const struct ddb_map *m)
{
    unsigned bits = 0;
    for (size_t i = 0; i < m->count; i++)
        bits |= types_in(&m->members[i].value);
    return bits;
}

#define ALL_TEN 0x7FEu /* bits DDB_S (1) .. DDB_BOOL (10) */

static void check_record(const struct ddb_record *r, size_t i)
{
    if (!r->valid)
        fail_msg("record %zu: %s", i, r->error_detail);
    char seq[32]; /* 400000000000000000000 + i: more than 64 bits, so built as text */
    snprintf(seq, sizeof(seq), "4000000000000000%05zu", i);
    assert_int_equal(r->sequence_number.len, 21);
    assert_memory_equal(r->sequence_number.ptr, seq, 21);
    static const enum ddb_event_name names[] = {DDB_EVENT_INSERT, DDB_EVENT_MODIFY,
                                                DDB_EVENT_REMOVE};
    assert_int_equal(r->event_name, names[i % 3]);
    assert_int_equal(r->stream_view_type, DDB_VIEW_NEW_AND_OLD_IMAGES);
    assert_int_equal(r->new_image.present, i % 3 != 2);
    assert_int_equal(r->old_image.present, i % 3 != 0);
    if (r->new_image.present)
        assert_int_equal(image_types(&r->new_image), ALL_TEN);
    if (r->old_image.present)
        assert_int_equal(image_types(&r->old_image), ALL_TEN);
    assert_int_equal(ddb_record_is_ttl_delete(r), i % 3 == 2 && (i / 3) % 7 == 0);
    assert_int_equal(r->approximate_creation.sec, 1700000000 + (int64_t)i);
}

static void test_capped_batch(void **state)
{
    (void)state;
    size_t len, len2;
    char *json = run("--records 10000 --max-bytes 6291456", &len);
    char *again = run("--records 10000 --max-bytes 6291456", &len2);
    assert_int_equal(len, len2); /* deterministic */
    assert_memory_equal(json, again, len);
    free(again);
    assert_true(len <= CAP);
    assert_true(len > CAP - 2048); /* filled up to the cap */

    struct ddb_reader r;
    assert_int_equal(ddb_reader_init(&r, json, len, NULL), LR_OK);
    assert_true(r.count > 5000 && r.count < 10000);
    struct ddb_record rec;
    struct lr_str prev = {0};
    size_t n = 0;
    while (ddb_reader_next(&r, &rec)) {
        check_record(&rec, n);
        if (n)
            assert_int_equal(ddb_seq_cmp(prev, rec.sequence_number), -1);
        prev = rec.sequence_number; /* a view into json */
        n++;
    }
    assert_int_equal(n, r.count);
    assert_true(ddb_reader_peak_bytes(&r) < len / 8);
    ddb_reader_clean_up(&r);
    free(json);
}

static void test_record_bytes(void **state)
{
    (void)state;
    size_t len;
    char *json = run("--records 300 --max-bytes 0 --record-bytes 1100", &len);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, json, len, NULL), LR_OK);
    assert_int_equal(ev.count, 300);
    size_t exact = 0;
    for (size_t i = 0; i < ev.count; i++) {
        check_record(&ev.records[i], i);
        size_t end = i + 1 < ev.count ? ev.records[i + 1].offset - 1 : len - 2;
        size_t size = end - ev.records[i].offset;
        assert_true(size >= 1100 - 16 && size <= 1100);
        exact += size == 1100;
    }
    assert_true(exact >= 270);
    ddb_event_clean_up(&ev);
    free(json);
}

int main(void)
{
    if (system("python3 -c pass >/dev/null 2>&1") != 0) {
        printf("skipped: python3 not available\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_capped_batch),
                                       cmocka_unit_test(test_record_bytes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
