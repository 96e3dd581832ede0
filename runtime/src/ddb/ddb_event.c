/* Whole events: BOM, one validation pass, the envelope (Records array or a single record, and the
 * tumbling-window members), then the records, all at once or one at a time (reader). */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ddb/ddb_arena.h"
#include "ddb/ddb_json.h"
#include "ddb/ddb_jscan.h"
#include "ddb/ddb_parse.h"

#define ARENA_FLOOR ((size_t)1 << 20)
/* Parsed structures never need 32 bytes per input byte (the densest case, {"NULL":true} items of
 * an L, needs under 3), so this cap only stops runaway growth. */
#define ARENA_FACTOR 32

struct envelope {
    size_t start; /* first byte of the top-level value (after the BOM) */
    bool has_records;
    size_t records_pos; /* the '[' of Records */
    size_t records_count;
    struct ddb_jscan_arrays arrays; /* the top object's arrays, counted by the validator */
    bool looks_like_record;
    bool records_poisoned; /* some record has content the validator skipped (see ddb_jscan.h) */
    struct ddb_window window;
};

static size_t arena_cap(size_t len)
{
    return len > (SIZE_MAX - ARENA_FLOOR) / ARENA_FACTOR ? SIZE_MAX
                                                         : len * ARENA_FACTOR + ARENA_FLOOR;
}

static enum lr_status fail(struct ddb_parse_error *err, enum lr_status st, size_t offset,
                           const char *msg)
{
    if (err) {
        err->offset = offset;
        snprintf(err->message, sizeof(err->message), "%s at byte offset %zu", msg, offset);
    }
    return st;
}

static enum lr_status env_string(struct ddb_json *j, struct ddb_arena *a, struct lr_str *out,
                                 struct ddb_parse_error *err, const char *what)
{
    if (ddb_json_peek(j) == 'n') {
        ddb_json_skip(j);
        return LR_OK;
    }
    if (ddb_json_peek(j) != '"')
        return fail(err, LR_E_WRONG_JSON_TYPE, j->pos, what);
    struct ddb_jstr raw;
    ddb_json_read_string(j, &raw);
    if (!ddb_json_str_get(j->s, &raw, a, out))
        return fail(err, LR_E_TOO_LARGE, raw.start, "parse storage cap reached");
    return LR_OK;
}

static enum lr_status env_bool(struct ddb_json *j, bool *out, struct ddb_parse_error *err,
                               const char *what)
{
    char c = ddb_json_peek(j);
    if (c != 't' && c != 'f')
        return fail(err, LR_E_WRONG_JSON_TYPE, j->pos, what);
    *out = c == 't';
    ddb_json_skip(j);
    return LR_OK;
}

static enum lr_status env_window(struct ddb_json *j, struct ddb_arena *a, struct ddb_window *w,
                                 struct ddb_parse_error *err)
{
    if (ddb_json_peek(j) != '{')
        return fail(err, LR_E_WRONG_JSON_TYPE, j->pos, "\"window\" is not an object");
    ddb_json_enter(j);
    struct ddb_jstr key;
    enum lr_status st = LR_OK;
    while (st == LR_OK && ddb_json_next_member(j, &key)) {
        if (ddb_json_str_eq(j->s, &key, "start"))
            st = env_string(j, a, &w->start, err, "\"window.start\" is not a string");
        else if (ddb_json_str_eq(j->s, &key, "end"))
            st = env_string(j, a, &w->end, err, "\"window.end\" is not a string");
        else
            ddb_json_skip(j);
    }
    return st;
}

/* One top-level member of the event. */
static enum lr_status env_member(struct ddb_json *j, const struct ddb_jstr *key,
                                 struct ddb_arena *a, struct envelope *env,
                                 struct ddb_parse_error *err)
{
    struct ddb_window *w = &env->window;
    const char *s = j->s;
    if (ddb_json_str_eq(s, key, "Records")) {
        if (ddb_json_peek(j) != '[')
            return fail(err, LR_E_RECORDS_NOT_ARRAY, j->pos, "\"Records\" is not an array");
        env->has_records = true;
        env->records_pos = j->pos;
        for (size_t i = 0; i < env->arrays.n; i++) {
            if (env->arrays.a[i].open == j->pos) {
                env->records_count = env->arrays.a[i].count;
                j->pos = env->arrays.a[i].close;
                return LR_OK;
            }
        }
        /* not noted (more arrays than the validator keeps): count it here */
        env->records_count = ddb_json_count(j);
        ddb_json_skip(j);
        return LR_OK;
    }
    if (ddb_json_str_eq(s, key, "window")) {
        w->present = true;
        return env_window(j, a, w, err);
    }
    if (ddb_json_str_eq(s, key, "state")) {
        size_t from = j->pos;
        ddb_json_skip(j);
        w->present = true;
        w->state_json = (struct lr_str){s + from, j->pos - from};
        return LR_OK;
    }
    if (ddb_json_str_eq(s, key, "shardId")) {
        w->present = true;
        return env_string(j, a, &w->shard_id, err, "\"shardId\" is not a string");
    }
    if (ddb_json_str_eq(s, key, "eventSourceARN"))
        return env_string(j, a, &w->event_source_arn, err, "\"eventSourceARN\" is not a string");
    if (ddb_json_str_eq(s, key, "isFinalInvokeForWindow")) {
        w->present = true;
        return env_bool(j, &w->is_final_invoke_for_window, err,
                        "\"isFinalInvokeForWindow\" is not a boolean");
    }
    if (ddb_json_str_eq(s, key, "isWindowTerminatedEarly")) {
        w->present = true;
        return env_bool(j, &w->is_window_terminated_early, err,
                        "\"isWindowTerminatedEarly\" is not a boolean");
    }
    if (ddb_json_str_eq(s, key, "dynamodb") || ddb_json_str_eq(s, key, "eventID") ||
        ddb_json_str_eq(s, key, "eventName"))
        env->looks_like_record = true;
    ddb_json_skip(j);
    return LR_OK;
}

/* A bad element fails only its own record, and only inside Records: anywhere else it fails the event
 * as a whole, as any invalid JSON does. */
static enum lr_status check_poisoned_arrays(struct envelope *env, struct ddb_parse_error *err)
{
    for (size_t i = 0; i < env->arrays.n; i++) {
        const struct ddb_jscan_array *a = &env->arrays.a[i];
        if (!a->poisoned)
            continue;
        if (!env->has_records || a->open != env->records_pos)
            return fail(err, a->bad_status, a->bad_off,
                        a->bad_status == LR_E_TOO_DEEP ? "JSON nested too deep" : a->bad_msg);
        env->records_poisoned = true;
    }
    return LR_OK;
}

/* In a batch with skipped content, a record whose own text does not validate is invalid for that
 * reason (its other fields, the SequenceNumber above all, were still read by the record parser). */
static void check_record_text(struct ddb_arena *a, const char *json, size_t len,
                              struct ddb_record *rec)
{
    size_t off = 0;
    const char *why = "";
    if (!rec->valid)
        return; /* already failed, for the first reason found */
    enum lr_status st = ddb_jscan_validate_element(json, len, rec->offset, &off, &why);
    if (st == LR_OK)
        return;
    char detail[96];
    int n = snprintf(detail, sizeof(detail), "%s at byte offset %zu",
                     st == LR_E_TOO_DEEP ? "JSON nested too deep" : why, off);
    char *copy = ddb_arena_alloc(a, (size_t)n + 1);
    if (copy)
        memcpy(copy, detail, (size_t)n + 1);
    rec->valid = false;
    rec->error = st;
    rec->error_detail = copy ? copy : "(detail dropped: parse storage cap reached)";
}

static enum lr_status read_envelope(const char *json, size_t len, struct ddb_arena *a,
                                    struct envelope *env, struct ddb_parse_error *err)
{
    memset(env, 0, sizeof(*env));
    if (!json)
        return fail(err, LR_E_NOT_JSON, 0, "empty input");
    if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
        env->start = 3; /* .NET tooling writes a UTF-8 BOM */
    size_t off = 0;
    const char *why = "";
    enum lr_status st = ddb_jscan_validate(json, len, env->start, &env->arrays, &off, &why);
    if (st != LR_OK)
        return fail(err, st, off, st == LR_E_TOO_DEEP ? "JSON nested too deep" : why);
    struct ddb_json j = {json, len, env->start, env->arrays.compact};
    if (ddb_json_peek(&j) != '{')
        return fail(err, LR_E_NOT_OBJECT, j.pos, "the event is not a JSON object");
    env->start = j.pos;
    ddb_json_enter(&j);
    struct ddb_jstr key;
    while (ddb_json_next_member(&j, &key))
        if ((st = env_member(&j, &key, a, env, err)) != LR_OK)
            return st;
    if (!env->has_records && !env->looks_like_record)
        return fail(err, LR_E_NO_RECORDS, env->start,
                    "no \"Records\" array and not a single stream record");
    if ((st = check_poisoned_arrays(env, err)) != LR_OK)
        return st;
    if (!env->has_records) /* a single record: its eventSourceARN is not an envelope's */
        memset(&env->window, 0, sizeof(env->window));
    else if (!env->window.present)
        env->window.event_source_arn = (struct lr_str){0};
    return LR_OK;
}

/* ---- Images the log can take as they are ---- */

/* Sets text_is_log_text on the images of the record at json[start..end) when no string of it was
 * marked (records come in document order, so the marks are walked once). */
static void flag_log_text(struct ddb_log_marks_ *m, size_t start, size_t end,
                          struct ddb_record *rec)
{
    while (m->next < m->n && m->at[m->next] < start)
        m->next++;
    bool plain = m->log_text && end <= m->end && !(m->next < m->n && m->at[m->next] < end);
    struct ddb_map *images[] = {&rec->keys, &rec->new_image, &rec->old_image};
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
        images[i]->text_is_log_text = plain && images[i]->text.ptr != NULL;
}

static size_t record_count(const struct envelope *env)
{
    return env->has_records ? env->records_count : 1;
}

/* ---- All at once ---- */

static void parse_records(struct ddb_event *ev, const char *json, size_t len,
                          const struct envelope *env)
{
    struct ddb_log_marks_ marks = env->arrays.marks;
    if (!env->has_records) {
        size_t end = ddb_record_parse(ev->arena_, json, len, env->start, env->arrays.compact, 0,
                                      &ev->records[0]);
        flag_log_text(&marks, ev->records[0].offset, end, &ev->records[0]);
    } else {
        struct ddb_json j = {json, len, env->records_pos, env->arrays.compact};
        ddb_json_enter(&j);
        for (size_t i = 0; i < ev->count && ddb_json_next_element(&j); i++) {
            j.pos = ddb_record_parse(ev->arena_, json, len, j.pos, j.compact, i, &ev->records[i]);
            flag_log_text(&marks, ev->records[i].offset, j.pos, &ev->records[i]);
            if (env->records_poisoned)
                check_record_text(ev->arena_, json, len, &ev->records[i]);
        }
    }
    for (size_t i = 0; i < ev->count; i++)
        ev->invalid_count += !ev->records[i].valid;
}

enum lr_status ddb_event_parse(struct ddb_event *ev, const char *json, size_t len,
                               struct ddb_parse_error *err)
{
    assert(ev && (json || !len));
    memset(ev, 0, sizeof(*ev));
    struct envelope env;
    struct ddb_arena *a = ddb_arena_new(arena_cap(len));
    enum lr_status st = read_envelope(json, len, a, &env, err);
    if (st != LR_OK) {
        ddb_arena_destroy(a);
        return st;
    }
    ev->arena_ = a;
    ev->count = record_count(&env);
    ev->records = ddb_arena_array(a, ev->count, sizeof(*ev->records));
    if (!ev->records) {
        ddb_event_clean_up(ev);
        return fail(err, LR_E_TOO_LARGE, env.records_pos, "too many records for the storage cap");
    }
    ev->single_record = !env.has_records;
    ev->window = env.window;
    parse_records(ev, json, len, &env);
    if (err) {
        err->offset = 0;
        err->message[0] = '\0';
    }
    return LR_OK;
}

void ddb_event_clean_up(struct ddb_event *ev)
{
    if (!ev)
        return;
    ddb_arena_destroy(ev->arena_);
    memset(ev, 0, sizeof(*ev));
}

/* ---- One at a time ---- */

enum lr_status ddb_reader_init(struct ddb_reader *r, const char *json, size_t len,
                               struct ddb_parse_error *err)
{
    assert(r && (json || !len));
    memset(r, 0, sizeof(*r));
    r->envelope_arena_ = ddb_arena_new(arena_cap(len));
    struct envelope env;
    enum lr_status st = read_envelope(json, len, r->envelope_arena_, &env, err);
    if (st != LR_OK) {
        ddb_reader_clean_up(r); /* nothing left to free, whether or not the caller cleans up */
        return st;
    }
    r->arena_ = ddb_arena_new(arena_cap(len));
    r->json_ = json;
    r->len_ = len;
    r->count = record_count(&env);
    r->single_record = !env.has_records;
    r->poisoned_ = env.records_poisoned;
    r->compact_ = env.arrays.compact;
    r->marks_ = env.arrays.marks; /* in the reader: no allocation per invoke */
    r->window = env.window;
    r->pos_ = env.has_records ? env.records_pos + 1 : env.start; /* just inside '[' */
    return LR_OK;
}

bool ddb_reader_next(struct ddb_reader *r, struct ddb_record *rec)
{
    if (!r->arena_ || r->next_index_ >= r->count)
        return false;
    struct ddb_json j = {r->json_, r->len_, r->pos_, r->compact_};
    if (!r->single_record && !ddb_json_next_element(&j))
        return false;
    ddb_arena_reset(r->arena_);
    r->pos_ =
        ddb_record_parse(r->arena_, r->json_, r->len_, j.pos, r->compact_, r->next_index_, rec);
    flag_log_text(&r->marks_, rec->offset, r->pos_, rec);
    if (r->poisoned_)
        check_record_text(r->arena_, r->json_, r->len_, rec);
    r->next_index_++;
    return true;
}

size_t ddb_reader_peak_bytes(const struct ddb_reader *r)
{
    return (r->arena_ ? r->arena_->peak : 0) + (r->envelope_arena_ ? r->envelope_arena_->peak : 0);
}

void ddb_reader_clean_up(struct ddb_reader *r)
{
    if (!r)
        return;
    ddb_arena_destroy(r->arena_);
    ddb_arena_destroy(r->envelope_arena_);
    memset(r, 0, sizeof(*r));
}
