/* The message sinks of the bundled handler: every change becomes one message on a queue (SQS
 * SendMessageBatch), a topic (SNS PublishBatch) or one event on a bus (EventBridge PutEvents). The
 * message is the record as JSON (plain, or with DynamoDB JSON images); queue and topic messages
 * carry the attributes eventName, sequenceNumber and table.
 *
 * Records are deferred (lr/batch.h) and sent 10 per call, within the size limit per message and per
 * call. For a FIFO queue or topic, MessageGroupId is the SHA-256 of the item's key (per-key order) and
 * MessageDeduplicationId the eventID (a redelivered record is not duplicated); a call never holds two
 * messages of one key, and after a message of a key failed no later change of that key is sent in
 * the invoke, so a key's messages never land out of order. Entries the service fails with a
 * retryable error are sent again with back-off; whatever did not land fails its record, with the
 * reason. A record larger than the limit fails, never truncated.
 *
 * Ownership: struct sink_msg owns its core (client, buffers) and its entries; records are borrowed
 * for the record call only (the message is rendered into the sink). One sink per thread. */
#ifndef LR_HANDLER_SINK_MSG_H
#define LR_HANDLER_SINK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/batch.h"
#include "lr/ddb.h"
#include "sink_core.h"

/* Entries per SendMessageBatch, PublishBatch and PutEvents call. */
#define SINK_MSG_MAX_ENTRIES 10

enum sink_msg_kind { SINK_MSG_SQS, SINK_MSG_SNS, SINK_MSG_EVENTBRIDGE };

/* What sink_msg_init() copies; strings are borrowed for the call only. */
struct sink_msg_settings {
    enum sink_msg_kind kind;
    const char *target; /* queue URL, topic ARN, event bus name or ARN */
    const char *region; /* "" for AWS_REGION / AWS_DEFAULT_REGION */
    bool fifo;          /* a FIFO queue or topic */
    size_t max_bytes;   /* per message and per call (attributes, Source and DetailType counted) */
    const char *event_source; /* EventBridge Source */
    bool ddb_images;          /* keys and images as DynamoDB JSON instead of plain JSON */
    enum ddb_plain_numbers numbers;
    bool ordered; /* LR_BATCH_MODE_ORDERED: after a failed message nothing later is sent */
    uint32_t call_margin_ms;
};

struct sink_msg_entry {
    size_t record_index;
    struct lr_buf body;  /* the message: the record as JSON */
    char event_name[17]; /* attributes; "" when the record has none */
    char sequence[DDB_MAX_SEQUENCE_DIGITS + 1];
    char table[256];
    char group[65];  /* FIFO: MessageGroupId */
    char dedup[129]; /* FIFO: MessageDeduplicationId */
    size_t size;     /* counted against max_bytes */
    bool failed;     /* finally */
    char error[300]; /* the last failure seen, for the reason */
};

struct sink_msg {
    struct sink_core core;
    enum sink_msg_kind kind;
    char target[1024];
    bool fifo;
    size_t max_bytes;
    char event_source[257];
    bool ddb_images;
    enum ddb_plain_numbers numbers;
    struct sink_msg_entry entries[SINK_MSG_MAX_ENTRIES];
    size_t n_entries;
    size_t bytes;          /* of the entries being filled */
    struct lr_buf scratch; /* the record at hand's message, swapped into its entry */
    struct lr_buf key;     /* the record at hand's canonical key */
    struct lr_buf blocked; /* FIFO: groups (65 bytes each) with a failed message this invoke */
};

/* Sets s up. LR_E_CONFIG with msg filled when the AWS settings are unusable; release s with
 * sink_msg_clean_up() either way. */
enum lr_status sink_msg_init(struct sink_msg *s, const struct sink_msg_settings *set, char *msg,
                             size_t msg_cap);

/* Starts an invoke: its deadline (epoch ms, 0 for none), fresh counts and failure state. */
void sink_msg_begin(struct sink_msg *s, int64_t deadline_ms);

/* An lr_batch_record_fn body: adds rec's message to the call being filled (DEFERRED), or FAILED (a
 * message over the limit, unusable Keys for a FIFO target, after a failed message in ordered mode
 * or of the same key in FIFO order). */
enum lr_batch_record_status sink_msg_on_record(struct sink_msg *s, const struct ddb_record *rec,
                                               struct lr_batch_reason *reason);

/* An lr_batch_settle_fn body: sends what is pending and marks the records that did not land. */
void sink_msg_settle(struct sink_msg *s, struct lr_batch_deferred *deferred);

/* Frees everything s owns; safe on a zeroed sink and safe to call twice. */
void sink_msg_clean_up(struct sink_msg *s);

#endif
