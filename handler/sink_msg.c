/* The message sinks: calls of up to 10 messages within the size limit, per-entry failures matched
 * back to their records and sent again while retryable, FIFO order kept per key. */
#define _GNU_SOURCE /* memmem */
#include "sink_msg.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lr/json.h"

#define MAX_KEY_JSON ((size_t)64 * 1024)    /* 2 key attributes of at most 2 KB each, escaped */
#define MAX_BODY ((size_t)16 * 1024 * 1024) /* 10 messages of 1 MiB, escaped */

static const char k_not_attempted[] = "not sent: an earlier message of this batch failed (ordered)";
static const char k_key_blocked[] =
    "not sent: an earlier change of this key was not delivered (FIFO order)";

enum outcome { LANDED, RETRY, FAILED };

static const struct lr_aws_service *service(enum sink_msg_kind kind)
{
    return kind == SINK_MSG_SQS   ? &lr_aws_sqs
           : kind == SINK_MSG_SNS ? &lr_aws_sns
                                  : &lr_aws_eventbridge;
}

static const char *operation(enum sink_msg_kind kind)
{
    return kind == SINK_MSG_SQS   ? "SendMessageBatch"
           : kind == SINK_MSG_SNS ? "PublishBatch"
                                  : "PutEvents";
}

enum lr_status sink_msg_init(struct sink_msg *s, const struct sink_msg_settings *set, char *msg,
                             size_t msg_cap)
{
    assert(s && set && set->target && set->region && set->event_source && msg);
    memset(s, 0, sizeof(*s));
    s->kind = set->kind;
    snprintf(s->target, sizeof(s->target), "%s", set->target);
    s->fifo = set->fifo && set->kind != SINK_MSG_EVENTBRIDGE;
    s->max_bytes = set->max_bytes;
    snprintf(s->event_source, sizeof(s->event_source), "%s", set->event_source);
    s->ddb_images = set->ddb_images;
    s->numbers = set->numbers;
    for (size_t i = 0; i < SINK_MSG_MAX_ENTRIES; i++)
        lr_buf_init(&s->entries[i].body, set->max_bytes);
    lr_buf_init(&s->scratch, set->max_bytes);
    lr_buf_init(&s->key, MAX_KEY_JSON);
    lr_buf_init(&s->blocked, (size_t)SINK_MAX_PENDING * 65);
    return sink_core_init(&s->core, set->region, set->ordered, set->call_margin_ms, MAX_BODY, msg,
                          msg_cap);
}

void sink_msg_begin(struct sink_msg *s, int64_t deadline_ms)
{
    assert(s && s->n_entries == 0); /* the last invoke settled */
    sink_core_begin(&s->core, deadline_ms);
    lr_buf_reset(&s->blocked);
}

/* ---- the call's body ---- */

static void put_member(struct lr_buf *b, const char *pre, const char *value, size_t len)
{
    lr_buf_put_str(b, pre);
    lr_buf_put_json_string(b, value, len, LR_JSON_ESCAPE_MIN);
}

/* The message attributes of a queue or topic message: name, value (skipped when ""). */
static size_t attributes(const struct sink_msg_entry *e, const char *name[3], const char *value[3])
{
    const char *names[3] = {"eventName", "sequenceNumber", "table"};
    const char *values[3] = {e->event_name, e->sequence, e->table};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        if (values[i][0]) {
            name[n] = names[i];
            value[n++] = values[i];
        }
    return n;
}

static void sqs_entry(struct lr_buf *b, const struct sink_msg_entry *e, size_t id)
{
    char ids[24];
    snprintf(ids, sizeof(ids), "%zu", id);
    put_member(b, "{\"Id\":", ids, strlen(ids));
    put_member(b, ",\"MessageBody\":", e->body.data, e->body.len);
    const char *name[3], *value[3];
    size_t n = attributes(e, name, value);
    lr_buf_put_str(b, ",\"MessageAttributes\":{");
    for (size_t i = 0; i < n; i++) {
        put_member(b, i ? "," : "", name[i], strlen(name[i]));
        put_member(b, ":{\"DataType\":\"String\",\"StringValue\":", value[i], strlen(value[i]));
        lr_buf_put_char(b, '}');
    }
    lr_buf_put_char(b, '}');
    if (e->group[0]) {
        put_member(b, ",\"MessageGroupId\":", e->group, strlen(e->group));
        put_member(b, ",\"MessageDeduplicationId\":", e->dedup, strlen(e->dedup));
    }
    lr_buf_put_char(b, '}');
}

static void sns_entry(struct lr_buf *b, const struct sink_msg_entry *e, size_t id, size_t nth)
{
    char pre[96], name[160], ids[24];
    snprintf(pre, sizeof(pre), "PublishBatchRequestEntries.member.%zu.", nth);
    snprintf(ids, sizeof(ids), "%zu", id);
    snprintf(name, sizeof(name), "%sId", pre);
    lr_aws_form_put(b, name, ids, strlen(ids));
    snprintf(name, sizeof(name), "%sMessage", pre);
    lr_aws_form_put(b, name, e->body.data, e->body.len);
    const char *an[3], *av[3];
    size_t n = attributes(e, an, av);
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%sMessageAttributes.entry.%zu.Name", pre, i + 1);
        lr_aws_form_put(b, name, an[i], strlen(an[i]));
        snprintf(name, sizeof(name), "%sMessageAttributes.entry.%zu.Value.DataType", pre, i + 1);
        lr_aws_form_put(b, name, "String", 6);
        snprintf(name, sizeof(name), "%sMessageAttributes.entry.%zu.Value.StringValue", pre, i + 1);
        lr_aws_form_put(b, name, av[i], strlen(av[i]));
    }
    if (e->group[0]) {
        snprintf(name, sizeof(name), "%sMessageGroupId", pre);
        lr_aws_form_put(b, name, e->group, strlen(e->group));
        snprintf(name, sizeof(name), "%sMessageDeduplicationId", pre);
        lr_aws_form_put(b, name, e->dedup, strlen(e->dedup));
    }
}

static void event_entry(struct lr_buf *b, const struct sink_msg *s, const struct sink_msg_entry *e)
{
    const char *type = e->event_name[0] ? e->event_name : "UNKNOWN";
    put_member(b, "{\"Source\":", s->event_source, strlen(s->event_source));
    put_member(b, ",\"DetailType\":", type, strlen(type));
    put_member(b, ",\"Detail\":", e->body.data, e->body.len);
    put_member(b, ",\"EventBusName\":", s->target, strlen(s->target));
    lr_buf_put_char(b, '}');
}

static void build_body(struct sink_msg *s, const size_t *live, size_t n)
{
    struct lr_buf *b = &s->core.body;
    lr_buf_reset(b);
    if (s->kind == SINK_MSG_SNS) {
        lr_buf_put_str(b, "Action=PublishBatch&Version=2010-03-31");
        lr_aws_form_put(b, "TopicArn", s->target, strlen(s->target));
        for (size_t i = 0; i < n; i++)
            sns_entry(b, &s->entries[live[i]], live[i], i + 1);
        return;
    }
    if (s->kind == SINK_MSG_SQS)
        put_member(b, "{\"QueueUrl\":", s->target, strlen(s->target));
    lr_buf_put_str(b, s->kind == SINK_MSG_SQS ? ",\"Entries\":[" : "{\"Entries\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            lr_buf_put_char(b, ',');
        if (s->kind == SINK_MSG_SQS)
            sqs_entry(b, &s->entries[live[i]], live[i]);
        else
            event_entry(b, s, &s->entries[live[i]]);
    }
    lr_buf_put_str(b, "]}");
}

/* ---- the answer ---- */

/* The position in live[0..n) of the entry whose Id is text[0..len) (our slot number), or n. */
static size_t by_id(const size_t *live, size_t n, const char *text, size_t len)
{
    if (len != 1 || text[0] < '0' || text[0] > '9')
        return n;
    size_t i = 0;
    while (i < n && live[i] != (size_t)(text[0] - '0'))
        i++;
    return i;
}

static void entry_error(struct sink_msg_entry *e, const char *code, size_t code_len, const char *m,
                        size_t m_len)
{
    snprintf(e->error, sizeof(e->error), "%.*s%s%.*s", (int)(code_len > 96 ? 96 : code_len), code,
             m_len ? ": " : "", (int)(m_len > 160 ? 160 : m_len), m);
    for (char *p = e->error; *p; p++) /* the service's words end up in a log line */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
            *p = '?';
}

static const char *json_text(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* SendMessageBatch: {"Successful":[{"Id"}],"Failed":[{"Id","SenderFault","Code","Message"}]}. */
static void sqs_outcomes(struct sink_msg *s, const size_t *live, size_t n, enum outcome *out)
{
    const cJSON *json = s->core.resp.json, *e;
    cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(json, "Successful")) {
        const char *id = json_text(e, "Id");
        size_t i = by_id(live, n, id, strlen(id));
        if (i < n)
            out[i] = LANDED;
    }
    cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(json, "Failed")) {
        const char *id = json_text(e, "Id"), *code = json_text(e, "Code");
        size_t i = by_id(live, n, id, strlen(id));
        if (i == n || out[i] == LANDED)
            continue;
        const char *m = json_text(e, "Message");
        entry_error(&s->entries[live[i]], code, strlen(code), m, strlen(m));
        bool sender = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "SenderFault"));
        out[i] = !sender || lr_aws_entry_is_retryable(code) ? RETRY : FAILED;
    }
}

/* The text of the first <tag>...</tag> in [p, end); NULL when there is none. */
static const char *xml_text(const char *p, const char *end, const char *tag, size_t *len)
{
    char open[32], close[32];
    int no = snprintf(open, sizeof(open), "<%s>", tag),
        nc = snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = memmem(p, (size_t)(end - p), open, (size_t)no);
    const char *z = a ? memmem(a + no, (size_t)(end - a - no), close, (size_t)nc) : NULL;
    if (!z)
        return NULL;
    *len = (size_t)(z - a - no);
    return a + no;
}

/* PublishBatch: <Successful><member><Id>..</Id>..</member></Successful> and <Failed><member><Id>,
 * <Code>, <Message>, <SenderFault></member></Failed>. */
static void sns_outcomes(struct sink_msg *s, const size_t *live, size_t n, enum outcome *out)
{
    const struct lr_buf *body = &s->core.resp.body;
    const char *all_end = body->data + body->len, *p, *m, *end, *mend;
    size_t len, mlen;
    if ((p = xml_text(body->data, all_end, "Successful", &len)) != NULL)
        for (end = p + len; (m = xml_text(p, end, "Id", &mlen)) != NULL; p = m + mlen) {
            size_t i = by_id(live, n, m, mlen);
            if (i < n)
                out[i] = LANDED;
        }
    if ((p = xml_text(body->data, all_end, "Failed", &len)) == NULL)
        return;
    for (end = p + len; (m = xml_text(p, end, "member", &mlen)) != NULL; p = m + mlen) {
        mend = m + mlen;
        const char *id = xml_text(m, mend, "Id", &len);
        size_t i = id ? by_id(live, n, id, len) : n;
        if (i == n || out[i] == LANDED)
            continue;
        size_t code_len = 0, text_len = 0, fault_len = 0;
        const char *code = xml_text(m, mend, "Code", &code_len);
        const char *text = xml_text(m, mend, "Message", &text_len);
        const char *fault = xml_text(m, mend, "SenderFault", &fault_len);
        char code_z[97];
        snprintf(code_z, sizeof(code_z), "%.*s", code ? (int)(code_len > 96 ? 96 : code_len) : 0,
                 code ? code : "");
        entry_error(&s->entries[live[i]], code_z, strlen(code_z), text ? text : "", text_len);
        bool sender = fault && fault_len == 4 && memcmp(fault, "true", 4) == 0;
        out[i] = !sender || lr_aws_entry_is_retryable(code_z) ? RETRY : FAILED;
    }
}

/* PutEvents: {"FailedEntryCount":n,"Entries":[{"EventId"} | {"ErrorCode","ErrorMessage"}]}, in
 * the request's order. */
static void event_outcomes(struct sink_msg *s, const size_t *live, size_t n, enum outcome *out)
{
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(s->core.resp.json, "Entries")) {
        if (i == n)
            break;
        const char *code = json_text(e, "ErrorCode"), *m = json_text(e, "ErrorMessage");
        if (*json_text(e, "EventId") && !*code) {
            out[i++] = LANDED;
            continue;
        }
        entry_error(&s->entries[live[i]], code, strlen(code), m, strlen(m));
        out[i++] = lr_aws_entry_is_retryable(code) ? RETRY : FAILED;
    }
}

/* ---- sending ---- */

static void fail_entry(struct sink_msg *s, size_t slot, const char *why)
{
    struct sink_msg_entry *e = &s->entries[slot];
    e->failed = true;
    if (why != e->error)
        snprintf(e->error, sizeof(e->error), "%s", why);
    s->core.failed = true;
}

/* Codes that blame the call's content, not the target or the caller: one entry may be at fault. */
static bool content_error(const char *code)
{
    static const char *const codes[] = {
        "ValidationException",           "InvalidParameterValue", "InvalidParameter",
        "InvalidMessageContents",        "BatchRequestTooLong",   "InvalidParameterException",
        "InvalidParameterValueException"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

static void send_entries(struct sink_msg *s, size_t *live, size_t n)
{
    for (unsigned round = 1; n > 0; round++) {
        build_body(s, live, n);
        enum lr_status st =
            s->core.body.overflow
                ? LR_E_TOO_LARGE
                : sink_core_call(&s->core, service(s->kind),
                                 s->kind == SINK_MSG_SNS ? NULL : operation(s->kind));
        if (st == LR_E_AWS_SERVICE && n > 1 && content_error(s->core.resp.error_code)) {
            for (size_t i = 0; i < n; i++) /* only the entry at fault fails, with its reason */
                send_entries(s, live + i, 1);
            return;
        }
        if (st != LR_OK) {
            char why[sizeof(s->entries[0].error)];
            sink_core_call_error(&s->core, operation(s->kind), st, why, sizeof(why));
            for (size_t i = 0; i < n; i++)
                fail_entry(s, live[i], why);
            return;
        }
        enum outcome out[SINK_MSG_MAX_ENTRIES];
        for (size_t i = 0; i < n; i++) {
            out[i] = RETRY; /* an entry the answer does not mention did not land */
            snprintf(s->entries[live[i]].error, sizeof(s->entries[0].error),
                     "%s answered without this entry's outcome", operation(s->kind));
        }
        if (s->kind == SINK_MSG_SQS)
            sqs_outcomes(s, live, n, out);
        else if (s->kind == SINK_MSG_SNS)
            sns_outcomes(s, live, n, out);
        else
            event_outcomes(s, live, n, out);
        size_t left = 0;
        for (size_t i = 0; i < n; i++) {
            if (out[i] == LANDED)
                s->core.stats.sent++;
            else if (out[i] == FAILED)
                fail_entry(s, live[i], s->entries[live[i]].error);
            else
                live[left++] = live[i];
        }
        n = left;
        if (n == 0)
            return;
        s->core.stats.throttled++;
        bool more =
            round < SINK_MAX_ROUNDS && lr_aws_back_off(s->core.aws, round, SINK_BACKOFF_BASE_MS,
                                                       SINK_BACKOFF_CAP_MS, s->core.deadline_ms);
        for (size_t i = 0; i < n && !more; i++) {
            char why[sizeof(s->entries[0].error)];
            snprintf(why, sizeof(why), "not delivered after %u %s call(s)%s: %.200s", round,
                     operation(s->kind), round < SINK_MAX_ROUNDS ? " and no time left" : "",
                     s->entries[live[i]].error);
            fail_entry(s, live[i], why);
        }
        if (!more)
            return;
        s->core.stats.retried += (int64_t)n;
    }
}

static bool group_blocked(const struct sink_msg *s, const char *group)
{
    for (size_t off = 0; off < s->blocked.len; off += 65)
        if (memcmp(s->blocked.data + off, group, 65) == 0)
            return true;
    return false;
}

/* Sends the entries being filled (or drops them), then records the failures of their records. */
static void flush(struct sink_msg *s)
{
    size_t live[SINK_MSG_MAX_ENTRIES];
    for (size_t i = 0; i < s->n_entries; i++)
        live[i] = i;
    if (s->n_entries && !s->core.aborted) {
        if (s->core.ordered && s->core.failed)
            for (size_t i = 0; i < s->n_entries; i++)
                fail_entry(s, i, k_not_attempted);
        else
            send_entries(s, live, s->n_entries);
    }
    for (size_t i = 0; i < s->n_entries; i++) {
        struct sink_msg_entry *e = &s->entries[i];
        if (e->failed && !s->core.aborted) {
            sink_core_fail(&s->core, e->record_index, sink_core_reason(&s->core, e->error));
            if (e->group[0] && !group_blocked(s, e->group))
                lr_buf_put(&s->blocked, e->group, 65);
        }
        lr_buf_reset(&e->body);
        e->failed = false;
    }
    s->n_entries = 0;
    s->bytes = 0;
}

/* ---- records ---- */

/* text[0..len) when it is 1..cap-1 printable ASCII characters, else "". */
static void copy_attribute(char *dst, size_t cap, struct lr_str text)
{
    dst[0] = '\0';
    if (!text.ptr || text.len == 0 || text.len >= cap)
        return;
    for (size_t i = 0; i < text.len; i++)
        if ((unsigned char)text.ptr[i] < 0x20 || (unsigned char)text.ptr[i] >= 0x7F)
            return;
    memcpy(dst, text.ptr, text.len);
    dst[text.len] = '\0';
}

/* MessageDeduplicationId: the eventID when it is one (1..128 printable ASCII), else the SHA-256 of
 * the eventID and sequence number. */
static void dedup_id(const struct ddb_record *rec, char out[129])
{
    copy_attribute(out, 129, rec->event_id);
    if (out[0] && strchr(out, ' ') == NULL)
        return;
    struct lr_buf both;
    lr_buf_init(&both, 64 * 1024);
    lr_buf_put(&both, rec->event_id.ptr, rec->event_id.ptr ? rec->event_id.len : 0);
    lr_buf_put_char(&both, '\n');
    lr_buf_put(&both, rec->sequence_number.ptr, rec->sequence_number.len);
    lr_aws_sha256_hex(both.data, both.len, out);
    lr_buf_clean_up(&both);
}

/* Fills e's attributes, FIFO ids and size from rec; the message is already in e->body. */
static void describe(const struct sink_msg *s, struct sink_msg_entry *e,
                     const struct ddb_record *rec)
{
    copy_attribute(e->event_name, sizeof(e->event_name), rec->event_name_raw);
    copy_attribute(e->sequence, sizeof(e->sequence), rec->sequence_number);
    copy_attribute(e->table, sizeof(e->table), ddb_arn_table_name(rec->event_source_arn));
    e->record_index = rec->index;
    e->size = e->body.len;
    if (s->kind == SINK_MSG_EVENTBRIDGE) { /* Source, DetailType and Detail, as AWS counts them */
        e->size += strlen(s->event_source) + (e->event_name[0] ? strlen(e->event_name) : 7);
        return;
    }
    const char *name[3], *value[3];
    size_t n = attributes(e, name, value);
    for (size_t i = 0; i < n; i++) /* SQS and SNS count each attribute's name, type and value */
        e->size += strlen(name[i]) + strlen("String") + strlen(value[i]);
}

static bool group_pending(const struct sink_msg *s, const char *group)
{
    for (size_t i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].group, group) == 0)
            return true;
    return false;
}

/* Renders rec's message and adds it to the call being filled (group: its FIFO group, or ""). */
static enum lr_batch_record_status add(struct sink_msg *s, const struct ddb_record *rec,
                                       const char *group, struct lr_batch_reason *reason)
{
    lr_buf_reset(&s->scratch);
    enum lr_status st = s->ddb_images ? ddb_record_render_ddb(rec, &s->scratch)
                                      : ddb_record_render_plain(rec, s->numbers, &s->scratch);
    if (st != LR_OK) {
        lr_batch_reason_set(reason,
                            "the record is more than %zu bytes of JSON, the limit of a "
                            "message (LR_SINK_MAX_BYTES)",
                            s->max_bytes);
        return LR_BATCH_RECORD_FAILED;
    }
    if (!sink_core_has_room(&s->core, s->n_entries, reason))
        return LR_BATCH_RECORD_FAILED;
    struct sink_msg_entry next = {.body = s->scratch};
    describe(s, &next, rec);
    /* An EventBridge entry must be less than the limit; a message of SQS or SNS may be the limit. */
    size_t max = s->kind == SINK_MSG_EVENTBRIDGE ? s->max_bytes - 1 : s->max_bytes;
    if (next.size > max) {
        lr_batch_reason_set(reason,
                            "the message is %zu bytes with its attributes, over the limit "
                            "of %zu (LR_SINK_MAX_BYTES)",
                            next.size, max);
        return LR_BATCH_RECORD_FAILED;
    }
    if (s->n_entries == SINK_MSG_MAX_ENTRIES || s->bytes + next.size > max ||
        (group[0] && group_pending(s, group)))
        flush(s);
    if (s->core.ordered && s->core.failed) {
        lr_batch_reason_set(reason, "%s", k_not_attempted);
        return LR_BATCH_RECORD_FAILED;
    }
    if (group[0] && group_blocked(s, group)) {
        lr_batch_reason_set(reason, "%s", k_key_blocked);
        return LR_BATCH_RECORD_FAILED;
    }
    struct sink_msg_entry *e = &s->entries[s->n_entries++];
    s->scratch = e->body; /* the message moves into its entry: swap, no copy */
    *e = next;
    if (group[0]) {
        memcpy(e->group, group, sizeof(e->group));
        dedup_id(rec, e->dedup);
    }
    s->bytes += e->size;
    return LR_BATCH_RECORD_DEFERRED;
}

enum lr_batch_record_status sink_msg_on_record(struct sink_msg *s, const struct ddb_record *rec,
                                               struct lr_batch_reason *reason)
{
    assert(s && rec && reason);
    if (s->core.ordered && s->core.failed) {
        lr_batch_reason_set(reason, "%s", k_not_attempted);
        return LR_BATCH_RECORD_FAILED;
    }
    char group[65] = "";
    if (s->fifo) {
        lr_buf_reset(&s->key);
        if (!sink_core_key(&rec->keys, &s->key, reason))
            return LR_BATCH_RECORD_FAILED;
        lr_aws_sha256_hex(s->key.data, s->key.len, group);
    }
    enum lr_batch_record_status st = add(s, rec, group, reason);
    /* A FIFO key whose change failed sends nothing more in this invoke, whatever the cause. */
    if (st == LR_BATCH_RECORD_FAILED && group[0] && !group_blocked(s, group))
        lr_buf_put(&s->blocked, group, 65);
    return st;
}

void sink_msg_settle(struct sink_msg *s, struct lr_batch_deferred *deferred)
{
    assert(s && deferred);
    flush(s);
    sink_core_settle(&s->core, deferred);
}

void sink_msg_clean_up(struct sink_msg *s)
{
    if (!s)
        return;
    sink_core_clean_up(&s->core);
    for (size_t i = 0; i < SINK_MSG_MAX_ENTRIES; i++)
        lr_buf_clean_up(&s->entries[i].body);
    lr_buf_clean_up(&s->scratch);
    lr_buf_clean_up(&s->key);
    lr_buf_clean_up(&s->blocked);
    memset(s, 0, sizeof(*s));
}
