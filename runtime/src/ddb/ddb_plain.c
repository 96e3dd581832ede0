/* Plain JSON of images and records: what consumers outside DynamoDB read (queues, topics, buses,
 * search indexes), without the {"S": ...} type wrappers. Numbers keep their exact digits: they are
 * rewritten into JSON's number grammar, never converted through a double. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ddb/ddb_base64.h"
#include "lr/buf.h"
#include "lr/ddb.h"

#define LIT(s) ((struct lr_str){s, sizeof(s) - 1})

static void put_quoted(struct lr_buf *b, struct lr_str pre, struct lr_str s, struct lr_str post)
{
    lr_buf_put_json_framed(b, pre, s.ptr, s.len, LR_JSON_ESCAPE_LOG, post);
}

static void put_base64(struct lr_buf *b, struct ddb_bytes bytes)
{
    ddb_base64_put_quoted(b, bytes.ptr, bytes.len);
}

/* A validated DynamoDB number in JSON's grammar, same digits: no leading zeros in the integer part
 * ("01" -> "1"), a zero before a bare fraction (".5" -> "0.5", "-.5" -> "-0.5"), no dot without
 * digits after it ("5." -> "5"); sign, fraction digits and exponent are kept as they are. */
static void put_number(struct lr_buf *b, struct lr_str n)
{
    const char *p = n.ptr, *end = n.ptr + n.len;
    if (p < end && p[0] == '-')
        lr_buf_put_char(b, *p++);
    const char *ints = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    const char *first = ints;
    while (first + 1 < p && *first == '0')
        first++;
    if (first == p)
        lr_buf_put_char(b, '0'); /* ".5": no integer digits at all */
    else
        lr_buf_put(b, first, (size_t)(p - first));
    if (p < end && *p == '.') {
        const char *frac = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p > frac) {
            lr_buf_put_char(b, '.');
            lr_buf_put(b, frac, (size_t)(p - frac));
        }
    }
    lr_buf_put(b, p, (size_t)(end - p)); /* the exponent, if any */
}

static void put_plain_number(struct lr_buf *b, struct lr_str n, enum ddb_plain_numbers how)
{
    if (how == DDB_PLAIN_NUMBERS_STRING)
        lr_buf_put_char(b, '"');
    put_number(b, n);
    if (how == DDB_PLAIN_NUMBERS_STRING)
        lr_buf_put_char(b, '"');
}

static void put_value(struct lr_buf *b, const struct ddb_attr *a, enum ddb_plain_numbers how);

/* Sticky overflow: loops stop at it, so a too-large image costs no more than what fit. */
static void put_map(struct lr_buf *b, const struct ddb_map *m, enum ddb_plain_numbers how)
{
    lr_buf_put_char(b, '{');
    for (size_t i = 0; i < m->count && !b->overflow; i++) {
        put_quoted(b, i ? LIT(",") : LIT(""), m->members[i].name, LIT(":"));
        put_value(b, &m->members[i].value, how);
    }
    lr_buf_put_char(b, '}');
}

static void put_array(struct lr_buf *b, const struct ddb_attr *a, enum ddb_plain_numbers how)
{
    size_t count = a->type == DDB_BS  ? a->v.bs.count
                   : a->type == DDB_L ? a->v.l.count
                                      : a->v.ss.count;
    lr_buf_put_char(b, '[');
    for (size_t i = 0; i < count && !b->overflow; i++) {
        if (i)
            lr_buf_put_char(b, ',');
        if (a->type == DDB_SS)
            put_quoted(b, LIT(""), a->v.ss.items[i], LIT(""));
        else if (a->type == DDB_NS)
            put_plain_number(b, a->v.ns.items[i], how);
        else if (a->type == DDB_BS)
            put_base64(b, a->v.bs.items[i]);
        else
            put_value(b, &a->v.l.items[i], how);
    }
    lr_buf_put_char(b, ']');
}

static void put_value(struct lr_buf *b, const struct ddb_attr *a, enum ddb_plain_numbers how)
{
    switch (a->type) {
    case DDB_S: put_quoted(b, LIT(""), a->v.s, LIT("")); return;
    case DDB_N: put_plain_number(b, a->v.n, how); return;
    case DDB_B: put_base64(b, a->v.b); return;
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
    case DDB_L: put_array(b, a, how); return;
    case DDB_M: put_map(b, &a->v.m, how); return;
    case DDB_NULL: lr_buf_put(b, "null", 4); return;
    case DDB_BOOL: lr_buf_put_str(b, a->v.boolean ? "true" : "false"); return;
    }
}

static enum lr_status finish(struct lr_buf *b, size_t before)
{
    if (!b->overflow)
        return LR_OK;
    lr_buf_rewind(b, before); /* all or nothing: a cut document would not be JSON */
    return LR_E_TOO_LARGE;
}

enum lr_status ddb_attr_render_plain(const struct ddb_attr *attr, enum ddb_plain_numbers how,
                                     struct lr_buf *out)
{
    assert(attr && out);
    if (attr->type < DDB_S || attr->type > DDB_BOOL)
        return LR_E_INVALID_ARG;
    if (out->overflow)
        return LR_E_TOO_LARGE;
    size_t before = out->len;
    put_value(out, attr, how);
    return finish(out, before);
}

enum lr_status ddb_image_render_plain(const struct ddb_map *map, enum ddb_plain_numbers how,
                                      struct lr_buf *out)
{
    assert(map && out);
    if (out->overflow)
        return LR_E_TOO_LARGE;
    size_t before = out->len;
    if (map->present)
        put_map(out, map, how);
    else
        lr_buf_put(out, "null", 4);
    return finish(out, before);
}

struct lr_str ddb_arn_table_name(struct lr_str arn)
{
    static const char marker[] = ":table/";
    for (size_t i = 0; i + sizeof(marker) - 1 <= arn.len; i++) {
        if (memcmp(arn.ptr + i, marker, sizeof(marker) - 1) != 0)
            continue;
        const char *name = arn.ptr + i + sizeof(marker) - 1, *end = arn.ptr + arn.len;
        const char *slash = memchr(name, '/', (size_t)(end - name));
        return (struct lr_str){name, (size_t)((slash ? slash : end) - name)};
    }
    return (struct lr_str){NULL, 0};
}

/* RFC 3339 UTC, with the fraction's significant digits only: "2026-11-30T15:40:04Z",
 * "2026-11-30T15:40:04.5Z". False for a time gmtime cannot give in four-digit years. */
static bool format_time(const struct ddb_timestamp *ts, char out[40])
{
    time_t t = (time_t)ts->sec;
    struct tm tm;
    if ((int64_t)t != ts->sec || gmtime_r(&t, &tm) == NULL || tm.tm_year > 9999 - 1900)
        return false;
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts->nsec > 0) {
        n += (size_t)snprintf(out + n, 40 - n, ".%09" PRId32, ts->nsec);
        while (out[n - 1] == '0')
            n--;
    }
    memcpy(out + n, "Z", 2);
    return true;
}

static void put_string_member(struct lr_buf *b, const char *pre, struct lr_str value)
{
    if (value.ptr != NULL)
        put_quoted(b, (struct lr_str){pre, strlen(pre)}, value, LIT(""));
}

/* An image in plain JSON, or as DynamoDB JSON when ddb_json (whose failure the final cap check
 * reports, as it leaves the buffer overflowed or the record invalid). */
static bool put_image_member(struct lr_buf *b, const char *pre, const struct ddb_map *m,
                             enum ddb_plain_numbers how, bool ddb_json)
{
    if (!m->present)
        return true;
    lr_buf_put_str(b, pre);
    if (ddb_json)
        return ddb_image_serialize(m, b) == LR_OK;
    put_map(b, m, how);
    return true;
}

static enum lr_status render_record(const struct ddb_record *rec, enum ddb_plain_numbers how,
                                    bool ddb_json, struct lr_buf *out)
{
    assert(rec && out);
    if (out->overflow)
        return LR_E_TOO_LARGE;
    size_t before = out->len;
    put_quoted(out, LIT("{\"eventName\":"), rec->event_name_raw, LIT(""));
    put_string_member(out, ",\"eventID\":", rec->event_id);
    put_string_member(out, ",\"sequenceNumber\":", rec->sequence_number);
    char when[40];
    if (rec->approximate_creation.present && format_time(&rec->approximate_creation, when))
        put_string_member(out,
                          ",\"approximateCreationDateTime\":", (struct lr_str){when, strlen(when)});
    put_string_member(out, ",\"table\":", ddb_arn_table_name(rec->event_source_arn));
    bool ok = put_image_member(out, ",\"keys\":", &rec->keys, how, ddb_json) &&
              put_image_member(out, ",\"newImage\":", &rec->new_image, how, ddb_json) &&
              put_image_member(out, ",\"oldImage\":", &rec->old_image, how, ddb_json);
    lr_buf_put_char(out, '}');
    if (!ok && !out->overflow) {
        lr_buf_rewind(out, before);
        return LR_E_INVALID_ARG;
    }
    return finish(out, before);
}

enum lr_status ddb_record_render_plain(const struct ddb_record *rec, enum ddb_plain_numbers how,
                                       struct lr_buf *out)
{
    return render_record(rec, how, false, out);
}

enum lr_status ddb_record_render_ddb(const struct ddb_record *rec, struct lr_buf *out)
{
    return render_record(rec, DDB_PLAIN_NUMBERS_NUMBER, true, out);
}
