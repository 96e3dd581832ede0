/* AttributeValue parser: {"<type>": value} with exactly one key, nested at most DDB_MAX_NESTING
 * containers deep, so the recursion here is bounded by that constant. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ddb/ddb_base64.h"
#include "ddb/ddb_parse.h"
#include "lr/json.h"

enum lr_status ddb_ctx_fail(struct ddb_ctx *c, enum lr_status st, size_t offset, const char *fmt,
                            ...)
{
    if (c->error != LR_OK)
        return st;
    c->error = st;
    char msg[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char name[72] = "";
    if (c->name.ptr) /* attribute names are untrusted: escape and shorten them */
        lr_json_escape_str(name, sizeof(name), c->name.ptr, c->name.len);
    snprintf(c->detail, sizeof(c->detail), "%s%s%s%s: %s (byte offset %zu)",
             c->field ? c->field : "record", c->name.ptr ? ": attribute \"" : "", name,
             c->name.ptr ? "\"" : "", msg, offset);
    return st;
}

/* The type named by an unescaped key of one or two characters (every attribute has one, so this
 * is a lookup, not ten comparisons), or 0. */
static enum ddb_type short_type(const char *k, size_t n)
{
    static const char one[] = "SNB";
    const char *hit = n >= 1 && k[0] ? strchr(one, k[0]) : NULL;
    if (n == 1 && k[0] == 'M')
        return DDB_M;
    if (n == 1 && k[0] == 'L')
        return DDB_L;
    if (!hit)
        return (enum ddb_type)0;
    if (n == 1)
        return (enum ddb_type)(DDB_S + (int)(hit - one));
    return k[1] == 'S' ? (enum ddb_type)(DDB_SS + (int)(hit - one)) : (enum ddb_type)0;
}

static enum ddb_type type_of_key(const char *s, const struct ddb_jstr *key)
{
    static const char *const names[] = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"};
    size_t n = key->end - key->start;
    if (!key->escaped && n <= 2)
        return short_type(s + key->start, n);
    if (!key->escaped && n != 4)
        return (enum ddb_type)0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (ddb_json_str_eq(s, key, names[i]))
            return (enum ddb_type)(DDB_S + (int)i);
    return (enum ddb_type)0;
}

/* The type of the attribute value whose '{' is at p[0] (8 readable bytes) in compact text, when its
 * type key is one of the ten written plainly; *skip is then the length of '{"<type>":'. 0 sends the
 * caller to the general path (escaped or unknown key, or no key at all). Compact text holds no
 * whitespace, and a '"' ends an unescaped key, so matching the raw bytes is matching the key. */
static inline enum ddb_type plain_tag(const char *p, size_t *skip)
{
    if (p[1] != '"')
        return (enum ddb_type)0;
    if (p[3] == '"' && p[4] == ':') {
        *skip = 5;
        switch (p[2]) {
        case 'S': return DDB_S;
        case 'N': return DDB_N;
        case 'B': return DDB_B;
        case 'M': return DDB_M;
        case 'L': return DDB_L;
        default: return (enum ddb_type)0;
        }
    }
    if (p[3] == 'S' && p[4] == '"' && p[5] == ':') {
        *skip = 6;
        switch (p[2]) {
        case 'S': return DDB_SS;
        case 'N': return DDB_NS;
        case 'B': return DDB_BS;
        default: return (enum ddb_type)0;
        }
    }
    *skip = 8;
    if (memcmp(p + 2, "NULL\":", 6) == 0)
        return DDB_NULL;
    return memcmp(p + 2, "BOOL\":", 6) == 0 ? DDB_BOOL : (enum ddb_type)0;
}

static enum lr_status full(struct ddb_ctx *c)
{
    return ddb_ctx_fail(c, LR_E_TOO_LARGE, c->j.pos, "parse storage cap reached");
}

/* An array whose length is not known in advance: counting the members first would walk the
 * text twice, so it doubles in the arena as it fills instead (the outgrown copies stay in the
 * arena until it is reset: at most as much again). */
struct grow {
    void *items;
    size_t n;
    size_t cap;
    size_t size; /* of one item */
};

/* A slot for the next item (its bytes unspecified: every caller fills it whole), or NULL when the
 * arena is full. */
static inline void *grow_next(struct ddb_ctx *c, struct grow *g)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4;
        void *p = cap > g->cap ? ddb_arena_take_array(c->arena, cap, g->size) : NULL;
        if (!p)
            return NULL;
        if (g->n)
            memcpy(p, g->items, g->n * g->size);
        g->items = p;
        g->cap = cap;
    }
    return (unsigned char *)g->items + g->size * g->n++;
}

/* The items of an empty array: a valid pointer, as before (ddb_arena_array of 0 items). */
static void *grow_items(struct ddb_ctx *c, struct grow *g)
{
    return g->items ? g->items : ddb_arena_alloc(c->arena, 0);
}

/* A string value under the cursor, decoded. */
static inline enum lr_status read_text(struct ddb_ctx *c, enum ddb_type t, struct lr_str *out)
{
    size_t at = c->j.pos;
    if (ddb_json_peek(&c->j) != '"')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, at, "%s value is not a string",
                            ddb_type_name(t));
    struct ddb_jstr raw;
    ddb_json_read_string(&c->j, &raw);
    return ddb_json_str_get(c->j.s, &raw, c->arena, out) ? LR_OK : full(c);
}

static enum lr_status check_number(struct ddb_ctx *c, struct lr_str n, size_t at)
{
    enum lr_status st = ddb_number_validate(n.ptr, n.len);
    if (st == LR_OK)
        return LR_OK;
    char shown[48];
    lr_json_escape_str(shown, sizeof(shown), n.ptr, n.len);
    const char *why = st == LR_E_NUMBER_PRECISION ? "more than 38 significant digits"
                      : st == LR_E_NUMBER_RANGE   ? "magnitude outside 1E-130..9.99E+125"
                                                  : "not a decimal number";
    return ddb_ctx_fail(c, st, at, "N \"%s\": %s", shown, why);
}

static inline enum lr_status decode_b64(struct ddb_ctx *c, struct lr_str text, size_t at,
                                        struct ddb_bytes *out)
{
    unsigned char *buf = ddb_arena_take(c->arena, ddb_base64_decoded_max(text.len));
    if (!buf)
        return full(c);
    size_t n, bad;
    const char *why;
    if (!ddb_base64_decode(text.ptr, text.len, buf, &n, &bad, &why))
        return ddb_ctx_fail(c, LR_E_BAD_BASE64, at, "bad base64 at position %zu: %s", bad, why);
    *out = (struct ddb_bytes){buf, n};
    return LR_OK;
}

/* One scalar of type t (S, N or B) into the matching union member. */
static enum lr_status parse_scalar(struct ddb_ctx *c, enum ddb_type t, struct ddb_attr *out)
{
    size_t at = c->j.pos;
    struct lr_str text;
    enum lr_status st = read_text(c, t, &text);
    if (st != LR_OK)
        return st;
    if (t == DDB_S) {
        out->v.s = text;
        return LR_OK;
    }
    if (t == DDB_N) {
        out->v.n = text;
        return check_number(c, text, at);
    }
    return decode_b64(c, text, at, &out->v.b);
}

/* SS, NS or BS: a JSON array of strings. */
static enum lr_status parse_set(struct ddb_ctx *c, enum ddb_type t, struct ddb_attr *out)
{
    size_t at = c->j.pos;
    if (ddb_json_peek(&c->j) != '[')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, at, "%s value is not an array",
                            ddb_type_name(t));
    struct grow g = {.size = t == DDB_BS ? sizeof(struct ddb_bytes) : sizeof(struct lr_str)};
    ddb_json_enter(&c->j);
    while (ddb_json_next_element(&c->j)) {
        size_t el = c->j.pos;
        struct lr_str text;
        enum lr_status st = read_text(c, t, &text);
        if (st != LR_OK)
            return st;
        void *slot = grow_next(c, &g);
        if (!slot)
            return full(c);
        st = t == DDB_BS   ? decode_b64(c, text, el, slot)
             : t == DDB_NS ? check_number(c, text, el)
                           : LR_OK;
        if (st != LR_OK)
            return st;
        if (t != DDB_BS)
            *(struct lr_str *)slot = text;
    }
    void *items = grow_items(c, &g);
    if (!items)
        return full(c);
    if (t == DDB_BS)
        out->v.bs = (struct ddb_bytes_array){items, g.n};
    else
        out->v.ss = (struct ddb_str_array){items, g.n}; /* ns shares the layout of ss */
    return LR_OK;
}

static enum lr_status attr_value(struct ddb_ctx *c, struct ddb_attr *out, unsigned level);

static enum lr_status parse_list(struct ddb_ctx *c, struct ddb_attr *out, unsigned level)
{
    size_t at = c->j.pos;
    if (ddb_json_peek(&c->j) != '[')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, at, "L value is not an array");
    struct grow g = {.size = sizeof(struct ddb_attr)};
    ddb_json_enter(&c->j);
    while (ddb_json_next_element(&c->j)) {
        struct ddb_attr item; /* written whole by attr_value */
        enum lr_status st = attr_value(c, &item, level + 1);
        if (st != LR_OK)
            return st;
        struct ddb_attr *slot = grow_next(c, &g);
        if (!slot)
            return full(c);
        *slot = item;
    }
    struct ddb_attr *items = grow_items(c, &g);
    if (!items)
        return full(c);
    out->v.l = (struct ddb_attr_array){items, g.n};
    return LR_OK;
}

static enum lr_status parse_flag(struct ddb_ctx *c, enum ddb_type t, struct ddb_attr *out)
{
    size_t at = c->j.pos;
    char first = ddb_json_peek(&c->j);
    if (first != 't' && first != 'f')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, at, "%s value is not a boolean",
                            ddb_type_name(t));
    if (c->j.compact) { /* validated: the literal is exactly true or false */
        c->j.pos += first == 't' ? 4 : 5;
    } else {
        size_t a, b;
        ddb_json_read_scalar(&c->j, &a, &b);
    }
    if (t == DDB_NULL && first != 't')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, at, "NULL value is not true");
    out->v.boolean = first == 't';
    return LR_OK;
}

static enum lr_status parse_typed(struct ddb_ctx *c, enum ddb_type t, struct ddb_attr *out,
                                  unsigned level)
{
    switch (t) {
    case DDB_S:
    case DDB_N:
    case DDB_B: return parse_scalar(c, t, out);
    case DDB_SS:
    case DDB_NS:
    case DDB_BS: return parse_set(c, t, out);
    case DDB_M:
        if (ddb_json_peek(&c->j) != '{')
            return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, c->j.pos, "M value is not an object");
        return ddb_map_parse(c, &out->v.m, level + 1);
    case DDB_L: return parse_list(c, out, level);
    case DDB_NULL:
    case DDB_BOOL: return parse_flag(c, t, out);
    }
    return LR_E_INVALID_ARG;
}

/* The general path to the type: '{', the key, ':' (the attribute value starts at at). */
static enum lr_status read_type_key(struct ddb_ctx *c, size_t at, enum ddb_type *t)
{
    if (ddb_json_peek(&c->j) != '{')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, at, "attribute value is not an object");
    ddb_json_enter(&c->j);
    struct ddb_jstr key;
    if (!ddb_json_next_member(&c->j, &key))
        return ddb_ctx_fail(c, LR_E_NO_TYPE_KEY, at, "attribute value has no type key");
    *t = type_of_key(c->j.s, &key);
    if (*t != 0)
        return LR_OK;
    char shown[40];
    lr_json_escape_str(shown, sizeof(shown), c->j.s + key.start, key.end - key.start);
    return ddb_ctx_fail(c, LR_E_UNKNOWN_TYPE, key.start, "unknown type key \"%s\"", shown);
}

enum lr_status ddb_attr_parse(struct ddb_ctx *c, struct ddb_attr *out, unsigned level)
{
    size_t at = c->j.pos;
    if (level > DDB_MAX_NESTING)
        return ddb_ctx_fail(c, LR_E_TOO_DEEP, at, "nested deeper than %d levels", DDB_MAX_NESTING);
    size_t skip = 0;
    enum ddb_type t = (enum ddb_type)0;
    if (c->j.compact && c->j.len - c->j.pos >= 8 && c->j.s[c->j.pos] == '{')
        t = plain_tag(c->j.s + c->j.pos, &skip);
    enum lr_status st = LR_OK;
    if (t != 0)
        c->j.pos += skip;
    else
        st = read_type_key(c, at, &t);
    if (st != LR_OK)
        return st;
    out->type = t;
    st = parse_typed(c, t, out, level);
    if (st != LR_OK)
        return st;
    if (c->j.pos < c->j.len && c->j.s[c->j.pos] == '}') { /* the usual end, in any text */
        c->j.pos++;
        return LR_OK;
    }
    struct ddb_jstr key;
    if (ddb_json_next_member(&c->j, &key))
        return ddb_ctx_fail(c, LR_E_TWO_TYPE_KEYS, key.start, "attribute value has two type keys");
    return LR_OK;
}

/* ddb_attr_parse into a zeroed *out: it sets only the type and its own union member, and the
 * callers leave their item uninitialised for the paths below that write it whole. */
static enum lr_status general_value(struct ddb_ctx *c, struct ddb_attr *out, unsigned level)
{
    *out = (struct ddb_attr){0};
    return ddb_attr_parse(c, out, level);
}

/* The length of p[0..avail) when it starts with a whole {"NULL":true}, {"BOOL":true} or
 * {"BOOL":false}, with *out set as parse_flag sets it; else 0. */
static inline size_t flag_literal(const char *p, size_t avail, struct ddb_attr *out)
{
    if (p[2] == 'N' && avail >= 13 && memcmp(p, "{\"NULL\":true}", 13) == 0) {
        *out = (struct ddb_attr){.type = DDB_NULL, .v.boolean = true};
        return 13;
    }
    if (p[2] != 'B' || avail < 13 || memcmp(p, "{\"BOOL\":", 8) != 0)
        return 0;
    if (memcmp(p + 8, "true}", 5) == 0) {
        *out = (struct ddb_attr){.type = DDB_BOOL, .v.boolean = true};
        return 13;
    }
    if (avail >= 14 && memcmp(p + 8, "false}", 6) == 0) {
        *out = (struct ddb_attr){.type = DDB_BOOL, .v.boolean = false};
        return 14;
    }
    return 0;
}

/* An attribute value inside a map or list. The commonest ones in compact text, {"S":"..."} and
 * {"N":"..."} with a plain string and the three BOOL/NULL literals, are read here, without the
 * general parser's call and checks; the fields, the number check and its error are those of
 * ddb_attr_parse. Anything else (an escape, a second key, another type) goes to ddb_attr_parse from
 * the start. */
static inline enum lr_status attr_value(struct ddb_ctx *c, struct ddb_attr *out, unsigned level)
{
    const struct ddb_json *j = &c->j;
    if (!j->compact || j->len - j->pos < 8 || level > DDB_MAX_NESTING)
        return general_value(c, out, level);
    const char *p = j->s + j->pos;
    size_t used = flag_literal(p, j->len - j->pos, out);
    if (used) {
        c->j.pos += used;
        return LR_OK;
    }
    size_t skip = 0;
    enum ddb_type t = p[0] == '{' ? plain_tag(p, &skip) : (enum ddb_type)0;
    if ((t != DDB_S && t != DDB_N) || p[skip] != '"')
        return general_value(c, out, level);
    size_t from = j->pos + skip + 1; /* the first byte of the string */
    size_t i = ddb_jscan_find_special((const unsigned char *)j->s, j->len, from, false);
    if (j->len - i < 2 || j->s[i] != '"' || j->s[i + 1] != '}')
        return general_value(c, out, level);
    struct lr_str text = {j->s + from, i - from};
    c->j.pos = i + 2;
    if (t == DDB_S) {
        *out = (struct ddb_attr){.type = DDB_S, .v.s = text};
        return LR_OK;
    }
    *out = (struct ddb_attr){.type = DDB_N, .v.n = text};
    return check_number(c, text, from - 1);
}

enum lr_status ddb_map_parse(struct ddb_ctx *c, struct ddb_map *out, unsigned level)
{
    struct grow g = {.size = sizeof(struct ddb_member)};
    struct lr_str outer = c->name;
    ddb_json_enter(&c->j);
    struct ddb_jstr key;
    while (ddb_json_next_name(&c->j, &key)) {
        struct ddb_member m; /* written whole: the name here, the value by attr_value */
        if (!ddb_json_str_get(c->j.s, &key, c->arena, &m.name))
            return full(c);
        c->name = m.name;
        enum lr_status st = attr_value(c, &m.value, level);
        if (st != LR_OK)
            return st;
        struct ddb_member *slot = grow_next(c, &g);
        if (!slot)
            return full(c);
        *slot = m;
    }
    c->name = outer;
    struct ddb_member *members = grow_items(c, &g);
    if (!members)
        return full(c);
    *out = (struct ddb_map){members, g.n, true, {NULL, 0}, false};
    return LR_OK;
}
