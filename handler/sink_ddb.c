/* The dynamodb sink: requests of up to 25 keys, UnprocessedItems matched back to their keys and sent
 * again, failures mapped onto the records they came from. */
#include "sink_ddb.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lr/json.h"

static const char k_not_attempted[] =
    "not written: an earlier write of this batch failed (ordered)";

enum lr_status sink_ddb_init(struct sink_ddb *s, const char *table, const char *region,
                             bool ordered, uint32_t call_margin_ms, char *msg, size_t msg_cap)
{
    assert(s && table && region && msg);
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < SINK_DDB_MAX_KEYS; i++) {
        lr_buf_init(&s->slots[i].key, SINK_DDB_MAX_ITEM_JSON);
        lr_buf_init(&s->slots[i].request, SINK_DDB_MAX_ITEM_JSON);
    }
    lr_buf_init(&s->pending, SINK_MAX_PENDING * sizeof(struct sink_ddb_pending));
    lr_buf_init(&s->scratch, SINK_DDB_MAX_ITEM_JSON);
    snprintf(s->table, sizeof(s->table), "%s", table);
    return sink_core_init(&s->core, region, ordered, call_margin_ms, SINK_DDB_MAX_BODY, msg,
                          msg_cap);
}

void sink_ddb_begin(struct sink_ddb *s, int64_t deadline_ms)
{
    assert(s && s->pending.len == 0); /* the last invoke settled */
    sink_core_begin(&s->core, deadline_ms);
}

static void fail_slot(struct sink_ddb *s, size_t slot, size_t reason_off)
{
    s->slots[slot].failed = true;
    s->slots[slot].reason_off = reason_off;
    s->core.failed = true;
}

/* ---- one call ---- */

static void build_body(struct sink_ddb *s, const size_t *live, size_t n)
{
    struct lr_buf *body = &s->core.body;
    lr_buf_reset(body);
    lr_buf_put_str(body, "{\"RequestItems\":{");
    lr_buf_put_json_string(body, s->table, strlen(s->table), LR_JSON_ESCAPE_MIN);
    lr_buf_put_str(body, ":[");
    for (size_t i = 0; i < n; i++) {
        const struct lr_buf *r = &s->slots[live[i]].request;
        if (i)
            lr_buf_put(body, ",", 1);
        lr_buf_put(body, r->data, r->len);
    }
    lr_buf_put_str(body, "]}}");
}

/* True when the write request entry (a PutRequest's Item or a DeleteRequest's Key) is for slot's key. */
static bool same_key(const struct sink_ddb_slot *slot, const cJSON *entry)
{
    const cJSON *put = cJSON_GetObjectItemCaseSensitive(entry, "PutRequest");
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(entry, "DeleteRequest");
    const cJSON *item = put ? cJSON_GetObjectItemCaseSensitive(put, "Item")
                            : cJSON_GetObjectItemCaseSensitive(del, "Key");
    cJSON *key = cJSON_ParseWithLength(slot->key.data, slot->key.len);
    bool same = cJSON_IsObject(item) && key != NULL;
    for (const cJSON *k = key ? key->child : NULL; same && k; k = k->next) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, k->string);
        same = v && cJSON_Compare(k, v, true);
    }
    cJSON_Delete(key);
    return same;
}

/* Keeps in live[0..n) the slots UnprocessedItems names, in order; returns how many. An entry that
 * matches no slot leaves them all: sending a key's latest write again is harmless, losing one is not. */
static size_t unprocessed(struct sink_ddb *s, size_t *live, size_t n)
{
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(s->core.resp.json, "UnprocessedItems");
    const cJSON *mine = cJSON_GetObjectItemCaseSensitive(all, s->table);
    if (!cJSON_IsObject(all)) /* DynamoDB always answers it, {} when all was written */
        return n;
    if (cJSON_GetArraySize(all) == 0)
        return 0;
    if (!cJSON_IsArray(mine) || cJSON_GetArraySize(all) != 1)
        return n;
    bool keep[SINK_DDB_MAX_KEYS] = {false};
    const cJSON *entry;
    cJSON_ArrayForEach (entry, mine) {
        size_t i = 0;
        while (i < n && (keep[i] || !same_key(&s->slots[live[i]], entry)))
            i++;
        if (i == n)
            return n;
        keep[i] = true;
    }
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            live[left++] = live[i];
    return left;
}

static void fail_slots(struct sink_ddb *s, const size_t *live, size_t n, const char *why)
{
    size_t off = sink_core_reason(&s->core, why);
    for (size_t i = 0; i < n; i++)
        fail_slot(s, live[i], off);
}

static void call_failed(struct sink_ddb *s, const size_t *live, size_t n, enum lr_status st)
{
    char why[1024];
    sink_core_call_error(&s->core, "BatchWriteItem", st, why, sizeof(why));
    fail_slots(s, live, n, why);
}

/* Writes the slots live[0..n) until they landed, failed, or the rounds or the deadline ran out. */
static void send_slots(struct sink_ddb *s, size_t *live, size_t n)
{
    for (unsigned round = 1; n > 0; round++) {
        build_body(s, live, n);
        if (s->core.body.overflow) { /* 25 items of at most 4 MiB of JSON each can pass 16 MiB */
            size_t half = n / 2;
            if (n == 1)
                return fail_slots(s, live, n, "the write request is larger than a call can carry");
            send_slots(s, live, half);
            return send_slots(s, live + half, n - half);
        }
        enum lr_status st = sink_core_call(&s->core, &lr_aws_dynamodb, "BatchWriteItem");
        if (st == LR_E_AWS_SERVICE && n > 1 &&
            strcmp(s->core.resp.error_code, "ValidationException") == 0) {
            /* One item the service refuses (too large, a bad key) fails the whole call: one by one,
             * only that item's records fail, with the service's reason. */
            for (size_t i = 0; i < n; i++)
                send_slots(s, live + i, 1);
            return;
        }
        if (st != LR_OK)
            return call_failed(s, live, n, st);
        size_t left = unprocessed(s, live, n);
        s->core.stats.sent += (int64_t)(n - left);
        n = left;
        if (n == 0)
            return;
        s->core.stats.throttled++;
        char why[160];
        if (round == SINK_MAX_ROUNDS) {
            snprintf(why, sizeof(why), "UnprocessedItems after %d BatchWriteItem calls",
                     SINK_MAX_ROUNDS);
            return fail_slots(s, live, n, why);
        }
        if (!lr_aws_back_off(s->core.aws, round, SINK_BACKOFF_BASE_MS, SINK_BACKOFF_CAP_MS,
                             s->core.deadline_ms)) {
            snprintf(why, sizeof(why),
                     "UnprocessedItems after %u call(s) and no time left before "
                     "the deadline",
                     round);
            return fail_slots(s, live, n, why);
        }
        s->core.stats.retried += (int64_t)n;
    }
}

/* Sends the request being filled (or drops it), then records the failures of its records. */
static void flush(struct sink_ddb *s)
{
    size_t live[SINK_DDB_MAX_KEYS];
    for (size_t i = 0; i < s->n_slots; i++)
        live[i] = i;
    if (s->n_slots && !s->core.aborted) {
        if (s->core.ordered && s->core.failed)
            fail_slots(s, live, s->n_slots, k_not_attempted);
        else
            send_slots(s, live, s->n_slots);
    }
    size_t n = s->pending.len / sizeof(struct sink_ddb_pending);
    /* lr_buf memory is malloc's, aligned for any type */
    const struct sink_ddb_pending *p =
        (const struct sink_ddb_pending *)(const void *)s->pending.data;
    for (size_t i = 0; i < n && !s->core.aborted; i++)
        if (s->slots[p[i].slot].failed)
            sink_core_fail(&s->core, p[i].record_index, s->slots[p[i].slot].reason_off);
    for (size_t i = 0; i < s->n_slots; i++) {
        lr_buf_reset(&s->slots[i].key);
        lr_buf_reset(&s->slots[i].request);
        s->slots[i].failed = false;
    }
    s->n_slots = 0;
    lr_buf_reset(&s->pending);
}

/* ---- records ---- */

/* The slot holding key (scratch) or a new one; flushes a full request first. */
static size_t slot_for(struct sink_ddb *s, const struct lr_buf *key)
{
    for (size_t i = 0; i < s->n_slots; i++)
        if (s->slots[i].key.len == key->len &&
            memcmp(s->slots[i].key.data, key->data, key->len) == 0)
            return i;
    if (s->n_slots == SINK_DDB_MAX_KEYS)
        flush(s);
    size_t i = s->n_slots++;
    lr_buf_put(&s->slots[i].key, key->data, key->len);
    return i;
}

static bool write_request(const struct ddb_record *rec, bool put, struct lr_buf *out)
{
    lr_buf_put_str(out, put ? "{\"PutRequest\":{\"Item\":" : "{\"DeleteRequest\":{\"Key\":");
    if (ddb_image_serialize(put ? &rec->new_image : &rec->keys, out) != LR_OK)
        return false;
    lr_buf_put_str(out, "}}");
    return !out->overflow;
}

enum lr_batch_record_status sink_ddb_on_record(struct sink_ddb *s, const struct ddb_record *rec,
                                               struct lr_batch_reason *reason)
{
    assert(s && rec && reason);
    if (s->core.ordered && s->core.failed) {
        lr_batch_reason_set(reason, "%s", k_not_attempted);
        return LR_BATCH_RECORD_FAILED;
    }
    bool put = rec->event_name == DDB_EVENT_INSERT || rec->event_name == DDB_EVENT_MODIFY;
    if (!put && rec->event_name != DDB_EVENT_REMOVE) {
        const struct lr_str *n = &rec->event_name_raw;
        lr_batch_reason_set(reason, "eventName \"%.*s\" is not INSERT, MODIFY or REMOVE",
                            n->len > 32 ? 32 : (int)n->len, n->ptr ? n->ptr : "");
        return LR_BATCH_RECORD_FAILED;
    }
    if (put && !rec->new_image.present) {
        s->core.aborted = true;
        lr_batch_reason_set(reason,
                            "%s without NewImage (StreamViewType %s): replicating needs the "
                            "stream view NEW_IMAGE or NEW_AND_OLD_IMAGES",
                            ddb_event_name_str(rec->event_name),
                            rec->stream_view_type_raw.len ? ddb_view_type_str(rec->stream_view_type)
                                                          : "absent");
        return LR_BATCH_RECORD_ABORT;
    }
    lr_buf_reset(&s->scratch);
    if (!sink_core_key(&rec->keys, &s->scratch, reason))
        return LR_BATCH_RECORD_FAILED;
    if (!sink_core_has_room(&s->core, s->pending.len / sizeof(struct sink_ddb_pending), reason))
        return LR_BATCH_RECORD_FAILED;
    size_t slot = slot_for(s, &s->scratch);
    lr_buf_reset(&s->scratch);
    if (!write_request(rec, put, &s->scratch)) {
        if (s->slots[slot].request.len == 0) { /* a new slot with nothing to write */
            lr_buf_reset(&s->slots[slot].key);
            s->n_slots--;
        }
        lr_batch_reason_set(reason, "the item is larger than %zu bytes of JSON",
                            (size_t)SINK_DDB_MAX_ITEM_JSON);
        return LR_BATCH_RECORD_FAILED;
    }
    /* The latest change of a key replaces the earlier one: swap, no copy. */
    struct lr_buf t = s->slots[slot].request;
    s->slots[slot].request = s->scratch;
    s->scratch = t;
    const struct sink_ddb_pending p = {rec->index, slot};
    lr_buf_put(&s->pending, &p, sizeof(p));
    return LR_BATCH_RECORD_DEFERRED;
}

void sink_ddb_settle(struct sink_ddb *s, struct lr_batch_deferred *deferred)
{
    assert(s && deferred);
    flush(s);
    sink_core_settle(&s->core, deferred);
}

void sink_ddb_clean_up(struct sink_ddb *s)
{
    if (!s)
        return;
    sink_core_clean_up(&s->core);
    for (size_t i = 0; i < SINK_DDB_MAX_KEYS; i++) {
        lr_buf_clean_up(&s->slots[i].key);
        lr_buf_clean_up(&s->slots[i].request);
    }
    lr_buf_clean_up(&s->pending);
    lr_buf_clean_up(&s->scratch);
    memset(s, 0, sizeof(*s));
}
