/* Compact DynamoDB JSON output into a capped buffer, and deep equality for round trips. Recursion
 * follows the parsed model, whose nesting the parser bounded to DDB_MAX_NESTING. */
#include <stdlib.h>
#include <string.h>

#include "ddb/ddb_base64.h"
#include "lr/ddb.h"
#include "lr/log.h"

#define DEFAULT_MAX ((size_t)6 * 1024 * 1024)

void ddb_buf_init(struct ddb_buf *buf, size_t max_len)
{
    memset(buf, 0, sizeof(*buf));
    buf->max_len = max_len ? max_len : DEFAULT_MAX;
}

void ddb_buf_reset(struct ddb_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

void ddb_buf_clean_up(struct ddb_buf *buf)
{
    if (!buf)
        return;
    free(buf->data);
    memset(buf, 0, sizeof(*buf));
}

/* Room for n more bytes plus the NUL, within the cap. */
static bool reserve(struct ddb_buf *b, size_t n)
{
    if (n > b->max_len - b->len)
        return false;
    size_t need = b->len + n + 1;
    if (need <= b->alloc_)
        return true;
    size_t size = b->alloc_ ? b->alloc_ : 256;
    while (size < need)
        size = size > SIZE_MAX / 2 ? need : size * 2;
    char *p = realloc(b->data, size);
    if (!p)
        abort(); /* out-of-memory: Lambda replaces the sandbox */
    b->data = p;
    b->alloc_ = size;
    return true;
}

static bool put(struct ddb_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return false;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static bool put_lit(struct ddb_buf *b, const char *s)
{
    return put(b, s, strlen(s));
}

static bool put_quoted(struct ddb_buf *b, const char *s, size_t n)
{
    size_t need = lr_log_escape(NULL, 0, s, n);
    if (!put_lit(b, "\"") || !reserve(b, need + 1))
        return false;
    lr_log_escape(b->data + b->len, need + 1, s, n);
    b->len += need;
    return put_lit(b, "\"");
}

static bool put_base64(struct ddb_buf *b, struct ddb_bytes bytes)
{
    size_t n = ddb_base64_encoded_len(bytes.len);
    if (!put_lit(b, "\"") || !reserve(b, n))
        return false;
    ddb_base64_encode(bytes.ptr, bytes.len, b->data + b->len);
    b->len += n;
    return put_lit(b, "\"");
}

static bool put_attr(struct ddb_buf *b, const struct ddb_attr *a);

static bool put_map(struct ddb_buf *b, const struct ddb_map *m)
{
    if (!put_lit(b, "{"))
        return false;
    for (size_t i = 0; i < m->count; i++) {
        const struct ddb_member *mem = &m->members[i];
        if ((i && !put_lit(b, ",")) || !put_quoted(b, mem->name.ptr, mem->name.len) ||
            !put_lit(b, ":") || !put_attr(b, &mem->value))
            return false;
    }
    return put_lit(b, "}");
}

static bool put_array(struct ddb_buf *b, const struct ddb_attr *a)
{
    size_t count = a->type == DDB_BS ? a->v.bs.count : a->type == DDB_L ? a->v.l.count : a->v.ss.count;
    if (!put_lit(b, "["))
        return false;
    for (size_t i = 0; i < count; i++) {
        bool ok = !i || put_lit(b, ",");
        if (a->type == DDB_BS)
            ok = ok && put_base64(b, a->v.bs.items[i]);
        else if (a->type == DDB_L)
            ok = ok && put_attr(b, &a->v.l.items[i]);
        else
            ok = ok && put_quoted(b, a->v.ss.items[i].ptr, a->v.ss.items[i].len);
        if (!ok)
            return false;
    }
    return put_lit(b, "]");
}

static bool put_value(struct ddb_buf *b, const struct ddb_attr *a)
{
    switch (a->type) {
    case DDB_S:
        return put_quoted(b, a->v.s.ptr, a->v.s.len);
    case DDB_N:
        return put_quoted(b, a->v.n.ptr, a->v.n.len);
    case DDB_B:
        return put_base64(b, a->v.b);
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
    case DDB_L:
        return put_array(b, a);
    case DDB_M:
        return put_map(b, &a->v.m);
    case DDB_NULL:
        return put_lit(b, "true");
    case DDB_BOOL:
        return put_lit(b, a->v.boolean ? "true" : "false");
    }
    return false;
}

static bool put_attr(struct ddb_buf *b, const struct ddb_attr *a)
{
    return put_lit(b, "{\"") && put_lit(b, ddb_type_name(a->type)) && put_lit(b, "\":") &&
           put_value(b, a) && put_lit(b, "}");
}

static enum ddb_status finish(struct ddb_buf *b, size_t before, bool ok)
{
    if (ok)
        return DDB_OK;
    b->len = before; /* all or nothing: a cut document would not be JSON */
    if (b->data)
        b->data[before] = '\0';
    return DDB_E_TOO_LARGE;
}

enum ddb_status ddb_attr_serialize(const struct ddb_attr *attr, struct ddb_buf *out)
{
    if (!attr || !out || attr->type < DDB_S || attr->type > DDB_BOOL)
        return DDB_E_INVALID_ARG;
    size_t before = out->len;
    return finish(out, before, put_attr(out, attr));
}

enum ddb_status ddb_image_serialize(const struct ddb_map *map, struct ddb_buf *out)
{
    if (!map || !out)
        return DDB_E_INVALID_ARG;
    size_t before = out->len;
    return finish(out, before, map->present ? put_map(out, map) : put_lit(out, "null"));
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
    case DDB_N:
        return str_eq(a->v.s, b->v.s);
    case DDB_B:
        return bytes_eq(a->v.b, b->v.b);
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
    case DDB_L:
        return arrays_eq(a, b);
    case DDB_M:
        return ddb_map_equal(&a->v.m, &b->v.m);
    case DDB_NULL:
        return true;
    case DDB_BOOL:
        return a->v.boolean == b->v.boolean;
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
