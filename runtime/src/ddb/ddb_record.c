/* One stream record: the envelope fields, the "dynamodb" StreamRecord and its images. A fault in
 * one member is recorded and that member skipped, so the members after it (SequenceNumber in
 * particular) are still read. */
#include <string.h>

#include "ddb/ddb_jscan.h"
#include "ddb/ddb_parse.h"

#define MAX_TIMESTAMP_SEC ((int64_t)1000000000000000000) /* 1e18 s: far beyond any real date */

static bool all_digits(const char *p, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8)
        if (!ddb_json_eight_digits(lr_bytes_load((const unsigned char *)p + i)))
            return false;
    for (; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static const char *peek_kind(struct ddb_ctx *c)
{
    switch (ddb_json_peek(&c->j)) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't':
    case 'f': return "a boolean";
    case 'n': return "null";
    default: return "a number";
    }
}

static bool is_null(struct ddb_ctx *c)
{
    if (ddb_json_peek(&c->j) != 'n')
        return false;
    ddb_json_skip(&c->j);
    return true;
}

/* A string member; null leaves it empty. */
static enum lr_status str_field(struct ddb_ctx *c, struct lr_str *out)
{
    if (is_null(c))
        return LR_OK;
    if (ddb_json_peek(&c->j) != '"')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, c->j.pos, "is %s, not a string", peek_kind(c));
    struct ddb_jstr raw;
    ddb_json_read_string(&c->j, &raw);
    if (!ddb_json_str_get(c->j.s, &raw, c->arena, out))
        return ddb_ctx_fail(c, LR_E_TOO_LARGE, raw.start, "parse storage cap reached");
    return LR_OK;
}

static enum lr_status image_field(struct ddb_ctx *c, struct ddb_map *out)
{
    if (is_null(c))
        return LR_OK;
    if (ddb_json_peek(&c->j) != '{')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, c->j.pos, "is %s, not an object",
                            peek_kind(c));
    size_t from = c->j.pos; /* on the '{' */
    enum lr_status st = ddb_map_parse(c, out, 0);
    if (st != LR_OK)
        *out = (struct ddb_map){0}; /* half-filled images are not handed out */
    else
        out->text = (struct lr_str){c->j.s + from, c->j.pos - from};
    return st;
}

/* Digits d[0..n) with the decimal point after `point` digits (may be <0 or >n) as sec + nsec. */
static bool split_seconds(const char *d, size_t n, long point, struct ddb_timestamp *ts)
{
    static const int32_t frac_weight[9] = {100000000, 10000000, 1000000, 100000, 10000,
                                           1000,      100,      10,      1};
    int64_t sec = 0;
    int32_t nsec = 0;
    for (long k = 0; k < (long)n; k++) {
        int v = d[k] - '0';
        if (k < point) {
            if (sec > (MAX_TIMESTAMP_SEC - v) / 10)
                return false;
            sec = sec * 10 + v;
        } else if (k - point < 9) { /* later fractional digits are below a nanosecond */
            nsec += v * frac_weight[k - point];
        }
    }
    for (long k = (long)n; k < point && sec != 0; k++) {
        if (sec > MAX_TIMESTAMP_SEC / 10)
            return false;
        sec *= 10;
    }
    if (sec >= MAX_TIMESTAMP_SEC)
        return false;
    ts->present = true;
    ts->sec = sec;
    ts->nsec = nsec;
    return true;
}

/* A JSON number literal t[0..len) (validated by the caller) as a non-negative timestamp. Keeps the
 * first 64 significant digits: a value below 1e18 s has at most 18 integer digits, so every digit
 * dropped is far below a nanosecond. */
static bool parse_seconds(const char *t, size_t len, struct ddb_timestamp *ts)
{
    if (len >= 1 && len <= 18 &&
        all_digits(t, len)) { /* whole seconds below 1e18, the usual form */
        int64_t sec = 0;
        for (size_t i = 0; i < len; i++)
            sec = sec * 10 + (t[i] - '0');
        *ts = (struct ddb_timestamp){.present = true, .sec = sec, .nsec = 0};
        return true;
    }
    char d[64];
    size_t n = 0, i = 0;
    long point = 0, exp = 0; /* the decimal point sits after `point` digits of d */
    bool dot = false;
    bool minus = t[0] == '-'; /* only a zero may carry it: -0 and -0.0 are valid JSON zeros */
    for (i = minus; i < len && t[i] != 'e' && t[i] != 'E'; i++) {
        if (t[i] == '.') {
            dot = true;
        } else if (n == 0 && t[i] == '0') {
            point -= dot; /* a leading zero after the point shifts the point left of d */
        } else {
            if (n < sizeof(d))
                d[n++] = t[i];
            point += !dot;
        }
    }
    if (minus && n != 0)
        return false;
    bool neg_exp = false;
    if (i < len) { /* exponent: [eE][+-]?digits */
        i++;
        neg_exp = i < len && t[i] == '-';
        i += i < len && (t[i] == '-' || t[i] == '+');
        for (; i < len; i++)
            if (exp < 1000000) /* saturate: far outside the range anyway */
                exp = exp * 10 + (t[i] - '0');
    }
    return split_seconds(d, n, point + (neg_exp ? -exp : exp), ts);
}

static enum lr_status timestamp_field(struct ddb_ctx *c, struct ddb_timestamp *ts)
{
    size_t at = c->j.pos;
    if (is_null(c))
        return LR_OK;
    char first = ddb_json_peek(&c->j);
    struct lr_str text;
    bool number = c->j.compact; /* a number token of validated text is a whole JSON number */
    if (first == '"') {         /* the event-filtering docs show "1678831218.0" */
        number = false;
        enum lr_status st = str_field(c, &text);
        if (st != LR_OK)
            return st;
    } else if (first == '-' || (first >= '0' && first <= '9')) {
        size_t a, b;
        ddb_json_read_scalar(&c->j, &a, &b);
        text = (struct lr_str){c->j.s + a, b - a};
    } else {
        return ddb_ctx_fail(c, LR_E_BAD_TIMESTAMP, at, "is %s, not a number", peek_kind(c));
    }
    if (text.len == 0 || (!number && ddb_jscan_number_len(text.ptr, text.len) != text.len) ||
        !parse_seconds(text.ptr, text.len, ts)) {
        *ts = (struct ddb_timestamp){0};
        return ddb_ctx_fail(c, LR_E_BAD_TIMESTAMP, at,
                            "not a non-negative number of seconds below 1e18");
    }
    return LR_OK;
}

static enum lr_status sequence_field(struct ddb_ctx *c, struct lr_str *out)
{
    size_t at = c->j.pos;
    struct lr_str text = {0};
    enum lr_status st = str_field(c, &text);
    if (st != LR_OK || text.ptr == NULL)
        return st;
    if (text.len < 1 || text.len > DDB_MAX_SEQUENCE_DIGITS || !all_digits(text.ptr, text.len))
        return ddb_ctx_fail(c, LR_E_BAD_SEQUENCE_NUMBER, at, "not 1..%d decimal digits",
                            DDB_MAX_SEQUENCE_DIGITS);
    *out = text;
    return LR_OK;
}

static enum lr_status size_field(struct ddb_ctx *c, int64_t *out)
{
    size_t at = c->j.pos;
    if (is_null(c))
        return LR_OK;
    char first = ddb_json_peek(&c->j);
    if (first != '-' && (first < '0' || first > '9'))
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, at, "is %s, not a number", peek_kind(c));
    size_t a, b;
    ddb_json_read_scalar(&c->j, &a, &b);
    int64_t v;
    if (ddb_number_to_int64((struct lr_str){c->j.s + a, b - a}, &v) != LR_OK || v < 0)
        return ddb_ctx_fail(c, LR_E_NUMBER_RANGE, at, "not a non-negative 64-bit integer");
    *out = v;
    return LR_OK;
}

static bool raw_is(struct lr_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static enum lr_status view_field(struct ddb_ctx *c, struct ddb_record *rec)
{
    enum lr_status st = str_field(c, &rec->stream_view_type_raw);
    static const char *const names[] = {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE",
                                        "NEW_AND_OLD_IMAGES"};
    for (size_t i = 0; i < 4; i++)
        if (raw_is(rec->stream_view_type_raw, names[i]))
            rec->stream_view_type = (enum ddb_view_type)(DDB_VIEW_KEYS_ONLY + (int)i);
    return st;
}

static enum lr_status event_name_field(struct ddb_ctx *c, struct ddb_record *rec)
{
    enum lr_status st = str_field(c, &rec->event_name_raw);
    static const char *const names[] = {"INSERT", "MODIFY", "REMOVE"};
    for (size_t i = 0; i < 3; i++)
        if (raw_is(rec->event_name_raw, names[i]))
            rec->event_name = (enum ddb_event_name)(DDB_EVENT_INSERT + (int)i);
    return st;
}

typedef enum lr_status (*member_fn)(struct ddb_ctx *c, struct ddb_record *rec,
                                    const struct ddb_jstr *key);

/* Walks an object's members with fn; a failing member is skipped from its start. Inline: with fn
 * known at each of the three calls, the member functions are called directly, not through fn. */
static inline enum lr_status walk_object(struct ddb_ctx *c, struct ddb_record *rec, member_fn fn)
{
    if (ddb_json_peek(&c->j) != '{')
        return ddb_ctx_fail(c, LR_E_WRONG_JSON_TYPE, c->j.pos, "is %s, not an object",
                            peek_kind(c));
    ddb_json_enter(&c->j);
    struct ddb_jstr key;
    while (ddb_json_next_name(&c->j, &key)) {
        size_t start = c->j.pos;
        if (fn(c, rec, &key) != LR_OK) {
            c->j.pos = start;
            ddb_json_skip(&c->j);
        }
        c->name = (struct lr_str){0};
    }
    return LR_OK;
}

/* Whether a[0..n) equals the constant name b: word compares the compiler unrolls, not a memcmp
 * call (every member of a record is matched against these names). */
static inline bool same_name(const char *a, const char *b, size_t n)
{
    size_t i = 0;
    for (; n - i >= 8; i += 8)
        if (lr_bytes_load((const unsigned char *)a + i) !=
            lr_bytes_load((const unsigned char *)b + i))
            return false;
    for (; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Matches a member name; on a match remembers label for error details. */
static inline bool key_is(struct ddb_ctx *c, const struct ddb_jstr *key, const char *name,
                          const char *label)
{
    size_t n = strlen(name);
    bool same = key->escaped
                    ? ddb_json_str_eq_escaped(c->j.s, key, name)
                    : key->end - key->start == n && same_name(c->j.s + key->start, name, n);
    if (!same)
        return false;
    c->field = label;
    return true;
}

static enum lr_status user_identity_member(struct ddb_ctx *c, struct ddb_record *rec,
                                           const struct ddb_jstr *key)
{
    if (key_is(c, key, "type", "userIdentity.type"))
        return str_field(c, &rec->user_identity.type);
    if (key_is(c, key, "principalId", "userIdentity.principalId"))
        return str_field(c, &rec->user_identity.principal_id);
    ddb_json_skip(&c->j);
    return LR_OK;
}

static enum lr_status stream_member(struct ddb_ctx *c, struct ddb_record *rec,
                                    const struct ddb_jstr *key)
{
    if (key_is(c, key, "Keys", "dynamodb.Keys"))
        return image_field(c, &rec->keys);
    if (key_is(c, key, "NewImage", "dynamodb.NewImage"))
        return image_field(c, &rec->new_image);
    if (key_is(c, key, "OldImage", "dynamodb.OldImage"))
        return image_field(c, &rec->old_image);
    if (key_is(c, key, "SequenceNumber", "dynamodb.SequenceNumber"))
        return sequence_field(c, &rec->sequence_number);
    if (key_is(c, key, "ApproximateCreationDateTime", "dynamodb.ApproximateCreationDateTime"))
        return timestamp_field(c, &rec->approximate_creation);
    if (key_is(c, key, "SizeBytes", "dynamodb.SizeBytes"))
        return size_field(c, &rec->size_bytes);
    if (key_is(c, key, "StreamViewType", "dynamodb.StreamViewType"))
        return view_field(c, rec);
    ddb_json_skip(&c->j);
    return LR_OK;
}

/* The plain string members of a record, by name. */
static struct lr_str *record_string(struct ddb_ctx *c, struct ddb_record *rec,
                                    const struct ddb_jstr *key)
{
    if (key_is(c, key, "eventID", "eventID"))
        return &rec->event_id;
    if (key_is(c, key, "eventVersion", "eventVersion"))
        return &rec->event_version;
    if (key_is(c, key, "eventSource", "eventSource"))
        return &rec->event_source;
    if (key_is(c, key, "awsRegion", "awsRegion"))
        return &rec->aws_region;
    if (key_is(c, key, "eventSourceARN", "eventSourceARN"))
        return &rec->event_source_arn;
    return NULL;
}

static enum lr_status record_member(struct ddb_ctx *c, struct ddb_record *rec,
                                    const struct ddb_jstr *key)
{
    struct lr_str *text = record_string(c, rec, key);
    if (text)
        return str_field(c, text);
    if (key_is(c, key, "eventName", "eventName"))
        return event_name_field(c, rec);
    if (key_is(c, key, "userIdentity", "userIdentity")) {
        if (is_null(c)) /* Kinesis-shaped records send userIdentity:null */
            return LR_OK;
        rec->user_identity.present = true;
        return walk_object(c, rec, user_identity_member);
    }
    if (key_is(c, key, "dynamodb", "dynamodb")) {
        c->seen_stream_record = ddb_json_peek(&c->j) == '{';
        enum lr_status st = walk_object(c, rec, stream_member);
        c->field = "dynamodb";
        return st;
    }
    ddb_json_skip(&c->j);
    return LR_OK;
}

static void finish(struct ddb_ctx *c, struct ddb_record *rec)
{
    rec->error = c->error;
    rec->valid = c->error == LR_OK;
    if (rec->valid) {
        rec->error_detail = "";
        return;
    }
    size_t n = strlen(c->detail) + 1;
    char *copy = ddb_arena_alloc(c->arena, n);
    if (copy)
        memcpy(copy, c->detail, n);
    rec->error_detail = copy ? copy : "(detail dropped: parse storage cap reached)";
}

size_t ddb_record_parse(struct ddb_arena *a, const char *s, size_t len, size_t pos, bool compact,
                        size_t index, struct ddb_record *rec)
{
    struct ddb_ctx c = {.j = {s, len, pos, compact}, .arena = a};
    memset(rec, 0, sizeof(*rec));
    rec->index = index;
    rec->size_bytes = -1;
    ddb_json_peek(&c.j);
    rec->offset = c.j.pos;
    if (ddb_json_peek(&c.j) != '{') {
        ddb_ctx_fail(&c, LR_E_NOT_OBJECT, c.j.pos, "is %s, not an object", peek_kind(&c));
        ddb_json_skip(&c.j);
    } else {
        walk_object(&c, rec, record_member);
        if (!c.seen_stream_record) {
            c.field = "dynamodb";
            c.name = (struct lr_str){0};
            ddb_ctx_fail(&c, LR_E_MISSING_FIELD, rec->offset,
                         "missing (not a DynamoDB stream record)");
        }
    }
    finish(&c, rec);
    return c.j.pos;
}
