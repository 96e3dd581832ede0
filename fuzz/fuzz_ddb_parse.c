/* libFuzzer target: the DynamoDB Streams event parser (lr/ddb.h).
 *
 * Every input goes through ddb_event_parse() and the reader; the two must agree record by record.
 * For every valid record the images are serialised, parsed again and compared (round trip), and
 * every N is fed to the converters. Error details must stay single-line and printable. Any breach
 * aborts, so the fuzzer reports it; crashes, leaks and UB are caught by the sanitizers. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr/runtime.h"
#include "ddb/ddb_jscan.h"
#include "lr/ddb.h"
#include "lr/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_ddb_parse: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static void check_detail(const char *detail)
{
    for (const unsigned char *p = (const unsigned char *)detail; *p; p++)
        CHECK(*p >= 0x20 && *p != 0x7f);
}

static void check_numbers(const struct ddb_attr *a)
{
    struct lr_str one = a->v.n;
    size_t count = a->type == DDB_N ? 1 : a->type == DDB_NS ? a->v.ns.count : 0;
    for (size_t i = 0; i < count; i++) {
        struct lr_str n = a->type == DDB_N ? one : a->v.ns.items[i];
        CHECK(ddb_number_validate(n.ptr, n.len) == LR_OK);
        int64_t iv;
        double dv;
        enum lr_status si = ddb_number_to_int64(n, &iv);
        enum lr_status sd = ddb_number_to_double(n, &dv);
        CHECK(si == LR_OK || si == LR_E_NUMBER_INEXACT || si == LR_E_NUMBER_RANGE);
        CHECK(sd == LR_OK || sd == LR_E_NUMBER_INEXACT);
    }
    if (a->type == DDB_M)
        for (size_t i = 0; i < a->v.m.count; i++)
            check_numbers(&a->v.m.members[i].value);
    if (a->type == DDB_L)
        for (size_t i = 0; i < a->v.l.count; i++)
            check_numbers(&a->v.l.items[i]);
}

/* Serialise one image, parse it back inside a minimal record, compare. */
static void round_trip(const struct ddb_map *image)
{
    static const char pre[] = "{\"Records\":[{\"dynamodb\":{\"NewImage\":";
    struct lr_buf b;
    lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
    CHECK(ddb_image_serialize(image, &b) == LR_OK);
    size_t n = sizeof(pre) - 1 + b.len + 4;
    char *doc = malloc(n);
    CHECK(doc != NULL);
    memcpy(doc, pre, sizeof(pre) - 1);
    memcpy(doc + sizeof(pre) - 1, b.data, b.len);
    memcpy(doc + sizeof(pre) - 1 + b.len, "}}]}", 4);
    CHECK(memchr(b.data, '\n', b.len) == NULL);
    struct ddb_event again;
    CHECK(ddb_event_parse(&again, doc, n, NULL) == LR_OK);
    CHECK(again.count == 1 && again.records[0].valid);
    CHECK(ddb_map_equal(image, &again.records[0].new_image));
    ddb_event_clean_up(&again);
    free(doc);
    /* a tiny cap must fail cleanly, never cut a document */
    struct lr_buf small;
    lr_buf_init(&small, 8);
    enum lr_status st = ddb_image_serialize(image, &small);
    CHECK(st == LR_OK ? small.len <= 8 : (st == LR_E_TOO_LARGE && small.len == 0));
    lr_buf_clean_up(&small);
    lr_buf_clean_up(&b);
}

/* The plain JSON of a valid record is one line of valid JSON, in both number modes, and a tiny cap
 * fails cleanly. */
static void check_plain(const struct ddb_record *r)
{
    for (int how = 0; how < 2; how++) {
        struct lr_buf b;
        lr_buf_init(&b, LR_MAX_RESPONSE_BYTES);
        CHECK(ddb_record_render_plain(r, (enum ddb_plain_numbers)how, &b) == LR_OK);
        size_t off = 0;
        const char *why = "";
        CHECK(ddb_jscan_validate(b.data, b.len, 0, NULL, &off, &why) == LR_OK);
        CHECK(memchr(b.data, '\n', b.len) == NULL);
        lr_buf_clean_up(&b);
        struct lr_buf small;
        lr_buf_init(&small, 16);
        enum lr_status st = ddb_record_render_plain(r, (enum ddb_plain_numbers)how, &small);
        CHECK(st == LR_OK ? small.len <= 16 : (st == LR_E_TOO_LARGE && small.len == 0));
        lr_buf_clean_up(&small);
    }
}

static void check_record(const struct ddb_record *r, const struct ddb_record *from_reader)
{
    CHECK(r->valid == (r->error == LR_OK));
    CHECK(r->valid == from_reader->valid && r->error == from_reader->error);
    CHECK(strcmp(r->error_detail, from_reader->error_detail) == 0);
    CHECK(r->sequence_number.len == from_reader->sequence_number.len);
    CHECK(r->sequence_number.len <= DDB_MAX_SEQUENCE_DIGITS);
    if (r->sequence_number.len)
        CHECK(ddb_seq_cmp(r->sequence_number, from_reader->sequence_number) == 0);
    CHECK(ddb_map_equal(&r->keys, &from_reader->keys));
    CHECK(ddb_map_equal(&r->new_image, &from_reader->new_image));
    check_detail(r->error_detail);
    /* The validator's marks never vouch for an image the scan would refuse; both paths agree. */
    const struct ddb_map *mine[] = {&r->keys, &r->new_image, &r->old_image};
    const struct ddb_map *theirs[] = {&from_reader->keys, &from_reader->new_image,
                                      &from_reader->old_image};
    for (size_t i = 0; i < 3; i++) {
        CHECK(mine[i]->text_is_log_text == theirs[i]->text_is_log_text);
        CHECK(!mine[i]->text_is_log_text ||
              lr_json_is_compact_log_text(mine[i]->text.ptr, mine[i]->text.len));
    }
    CHECK(!r->approximate_creation.present ||
          (r->approximate_creation.sec >= 0 && r->approximate_creation.nsec >= 0 &&
           r->approximate_creation.nsec < 1000000000));
    if (!r->valid)
        return;
    check_plain(r);
    const struct ddb_map *images[] = {&r->keys, &r->new_image, &r->old_image};
    for (size_t i = 0; i < 3; i++) {
        if (!images[i]->present)
            continue;
        round_trip(images[i]);
        for (size_t k = 0; k < images[i]->count; k++)
            check_numbers(&images[i]->members[k].value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    struct ddb_event ev;
    struct ddb_parse_error err;
    enum lr_status st = ddb_event_parse(&ev, json, size, &err);
    struct ddb_reader r;
    struct ddb_parse_error err2;
    CHECK(ddb_reader_init(&r, json, size, &err2) == st);
    if (st != LR_OK) {
        CHECK(ev.count == 0 && ev.records == NULL);
        CHECK(err.offset <= size && strcmp(err.message, err2.message) == 0);
        check_detail(err.message);
    } else {
        CHECK(r.count == ev.count);
        struct ddb_record rec;
        size_t n = 0;
        while (ddb_reader_next(&r, &rec)) {
            CHECK(n < ev.count);
            check_record(&ev.records[n], &rec);
            n++;
        }
        CHECK(n == ev.count);
    }
    ddb_reader_clean_up(&r);
    ddb_event_clean_up(&ev);
    /* the number grammar on raw bytes, bounded like a DynamoDB N */
    if (size <= 64) {
        struct lr_str n = {json, size};
        int64_t iv;
        double dv;
        enum lr_status v = ddb_number_validate(json, size);
        enum lr_status si = ddb_number_to_int64(n, &iv);
        enum lr_status sd = ddb_number_to_double(n, &dv);
        CHECK(v != LR_OK || si != LR_E_BAD_NUMBER);
        CHECK(v == LR_OK || si == v);
        CHECK(v == LR_OK || sd == v);
    }
    return 0;
}
