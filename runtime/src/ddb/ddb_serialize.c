/* Compact DynamoDB JSON output into a capped buffer, and deep equality for round trips. Recursion
 * follows the parsed model, whose nesting the parser bounded to DDB_MAX_NESTING. */
#include <assert.h>
#include <string.h>

#include "ddb/ddb_base64.h"
#include "lr/buf.h"
#include "lr/ddb.h"

#define LIT(s) ((struct lr_str){s, sizeof(s) - 1})

/* The opening `{"T":` of each type, so no piece is measured with strlen. */
static const struct lr_str type_open[] = {
    [0] = LIT("{\"?\":"), /* any value outside the enum, as ddb_type_name() says */
    [DDB_S] = LIT("{\"S\":"),       [DDB_N] = LIT("{\"N\":"),   [DDB_B] = LIT("{\"B\":"),
    [DDB_SS] = LIT("{\"SS\":"),     [DDB_NS] = LIT("{\"NS\":"), [DDB_BS] = LIT("{\"BS\":"),
    [DDB_M] = LIT("{\"M\":"),       [DDB_L] = LIT("{\"L\":"),   [DDB_NULL] = LIT("{\"NULL\":"),
    [DDB_BOOL] = LIT("{\"BOOL\":"),
};

static struct lr_str open_of(enum ddb_type type)
{
    size_t t = (size_t)type;
    return type_open[t < sizeof(type_open) / sizeof(type_open[0]) ? t : 0];
}

/* pre, the quoted string s, then post; the result goes into log lines, hence the log escaping. */
static void put_quoted(struct lr_buf *b, struct lr_str pre, struct lr_str s, struct lr_str post)
{
    lr_buf_put_json_framed(b, pre, s.ptr, s.len, LR_JSON_ESCAPE_LOG, post);
}

static void put_base64(struct lr_buf *b, struct ddb_bytes bytes)
{
    ddb_base64_put_quoted(b, bytes.ptr, bytes.len);
}

static void put_attr(struct lr_buf *b, const struct ddb_attr *a);

/* The renderers use the buffer's sticky overflow; loops stop at it so a too-large image costs no
 * more than the part that fit. */
static void put_map(struct lr_buf *b, const struct ddb_map *m)
{
    lr_buf_put_char(b, '{');
    for (size_t i = 0; i < m->count && !b->overflow; i++) {
        const struct ddb_member *mem = &m->members[i];
        put_quoted(b, i ? LIT(",") : LIT(""), mem->name, LIT(":"));
        put_attr(b, &mem->value);
    }
    lr_buf_put_char(b, '}');
}

static void put_array(struct lr_buf *b, const struct ddb_attr *a)
{
    size_t count = a->type == DDB_BS  ? a->v.bs.count
                   : a->type == DDB_L ? a->v.l.count
                                      : a->v.ss.count;
    lr_buf_put_char(b, '[');
    for (size_t i = 0; i < count && !b->overflow; i++) {
        if (a->type == DDB_SS || a->type == DDB_NS) {
            put_quoted(b, i ? LIT(",") : LIT(""), a->v.ss.items[i], LIT(""));
            continue;
        }
        if (i)
            lr_buf_put_char(b, ',');
        if (a->type == DDB_BS)
            put_base64(b, a->v.bs.items[i]);
        else
            put_attr(b, &a->v.l.items[i]);
    }
    lr_buf_put_char(b, ']');
}

static void put_value(struct lr_buf *b, const struct ddb_attr *a)
{
    switch (a->type) {
    case DDB_S:
    case DDB_N: /* put_attr() writes these whole */ return;
    case DDB_B: put_base64(b, a->v.b); return;
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
    case DDB_L: put_array(b, a); return;
    case DDB_M: put_map(b, &a->v.m); return;
    case DDB_NULL: lr_buf_put(b, "true", 4); return;
    case DDB_BOOL: lr_buf_put(b, a->v.boolean ? "true" : "false", a->v.boolean ? 4 : 5); return;
    }
}

static void put_attr(struct lr_buf *b, const struct ddb_attr *a)
{
    if (a->type == DDB_S || a->type == DDB_N) { /* the common case, in one step: {"S":"..."} */
        put_quoted(b, open_of(a->type), a->type == DDB_S ? a->v.s : a->v.n, LIT("}"));
        return;
    }
    struct lr_str open = open_of(a->type);
    lr_buf_put(b, open.ptr, open.len);
    put_value(b, a);
    lr_buf_put_char(b, '}');
}

static enum lr_status finish(struct lr_buf *b, size_t before)
{
    if (!b->overflow)
        return LR_OK;
    lr_buf_rewind(b, before); /* all or nothing: a cut document would not be JSON */
    return LR_E_TOO_LARGE;
}

enum lr_status ddb_attr_serialize(const struct ddb_attr *attr, struct lr_buf *out)
{
    assert(attr && out);
    if (attr->type < DDB_S || attr->type > DDB_BOOL)
        return LR_E_INVALID_ARG;
    if (out->overflow)
        return LR_E_TOO_LARGE; /* a caller's earlier put already cut the document */
    size_t before = out->len;
    put_attr(out, attr);
    return finish(out, before);
}

enum lr_status ddb_image_serialize(const struct ddb_map *map, struct lr_buf *out)
{
    assert(map && out);
    if (out->overflow)
        return LR_E_TOO_LARGE;
    size_t before = out->len;
    if (map->present)
        put_map(out, map);
    else
        lr_buf_put(out, "null", 4);
    return finish(out, before);
}

struct lr_str ddb_image_text(const struct ddb_map *map)
{
    assert(map);
    /* Parsed, hence valid JSON whose every string, number and base64 value was checked (base64 is
     * canonical, so it re-encodes to the same text): compact, escape-free text is what put_map()
     * writes, byte for byte. */
    if (map->present && map->text.ptr &&
        (map->text_is_log_text || lr_json_is_compact_log_text(map->text.ptr, map->text.len)))
        return map->text;
    return (struct lr_str){NULL, 0};
}

/* ---- Equality ---- */

static bool str_eq(struct lr_str a, struct lr_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool bytes_eq(struct ddb_bytes a, struct ddb_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool arrays_eq(const struct ddb_attr *a, const struct ddb_attr *b)
{
    size_t n = a->type == DDB_BS ? a->v.bs.count : a->type == DDB_L ? a->v.l.count : a->v.ss.count;
    size_t m = b->type == DDB_BS ? b->v.bs.count : b->type == DDB_L ? b->v.l.count : b->v.ss.count;
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool same = a->type == DDB_BS  ? bytes_eq(a->v.bs.items[i], b->v.bs.items[i])
                    : a->type == DDB_L ? ddb_attr_equal(&a->v.l.items[i], &b->v.l.items[i])
                                       : str_eq(a->v.ss.items[i], b->v.ss.items[i]);
        if (!same)
            return false;
    }
    return true;
}

bool ddb_attr_equal(const struct ddb_attr *a, const struct ddb_attr *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case DDB_S:
    case DDB_N: return str_eq(a->v.s, b->v.s);
    case DDB_B: return bytes_eq(a->v.b, b->v.b);
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
    case DDB_L: return arrays_eq(a, b);
    case DDB_M: return ddb_map_equal(&a->v.m, &b->v.m);
    case DDB_NULL: return true;
    case DDB_BOOL: return a->v.boolean == b->v.boolean;
    }
    return false;
}

bool ddb_map_equal(const struct ddb_map *a, const struct ddb_map *b)
{
    if (a->present != b->present || a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (!str_eq(a->members[i].name, b->members[i].name) ||
            !ddb_attr_equal(&a->members[i].value, &b->members[i].value))
            return false;
    return true;
}
