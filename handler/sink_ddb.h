/* The dynamodb sink of the bundled handler: replicates every change of the stream into a target table
 * with BatchWriteItem. INSERT and MODIFY put the NewImage, REMOVE deletes by Keys. Records are
 * deferred (lr/batch.h) and written 25 keys per request; within a request the latest change of a key
 * replaces the earlier ones, so a request never holds two writes of one key and keeps the final
 * state. UnprocessedItems are sent again with back-off; a request refused as invalid is split to find
 * the item at fault; whatever did not land fails the records it came from, with the reason.
 *
 * Ownership: struct sink_ddb owns its core (client, buffers) and its slots; records are borrowed for the
 * record call only (what a request needs is copied into it). One sink per thread. */
#ifndef LR_HANDLER_SINK_DDB_H
#define LR_HANDLER_SINK_DDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/batch.h"
#include "sink_core.h"

/* BatchWriteItem's limit of write requests per call. */
#define SINK_DDB_MAX_KEYS 25
/* One serialised write request and one call's body (BatchWriteItem accepts 16 MB). */
#define SINK_DDB_MAX_ITEM_JSON ((size_t)4 * 1024 * 1024)
#define SINK_DDB_MAX_BODY ((size_t)16 * 1024 * 1024)

struct sink_ddb_slot {
    struct lr_buf key;     /* canonical Keys: members sorted by name, DynamoDB JSON */
    struct lr_buf request; /* {"PutRequest":{"Item":..}} or {"DeleteRequest":{"Key":..}} */
    bool failed;
    size_t reason_off; /* into sink_ddb.reasons when failed */
};

struct sink_ddb_pending {
    size_t record_index;
    size_t slot;
};

struct sink_ddb {
    struct sink_core core;
    char table[1024]; /* a name or an ARN */
    struct sink_ddb_slot slots[SINK_DDB_MAX_KEYS];
    size_t n_slots;
    struct lr_buf pending; /* sink_ddb_pending: records of the request being filled */
    struct lr_buf scratch; /* the record at hand's key, then its write request */
};

/* Sets s up for table (a name or ARN) in region ("" for AWS_REGION / AWS_DEFAULT_REGION). Calls stop
 * call_margin_ms before each invoke's deadline. LR_E_CONFIG with msg filled when the AWS settings
 * are unusable; release s with sink_ddb_clean_up() either way. */
enum lr_status sink_ddb_init(struct sink_ddb *s, const char *table, const char *region,
                             bool ordered, uint32_t call_margin_ms, char *msg, size_t msg_cap);

/* Starts an invoke: its deadline (epoch ms, 0 for none), fresh counts and failure state. */
void sink_ddb_begin(struct sink_ddb *s, int64_t deadline_ms);

/* An lr_batch_record_fn body: adds rec's write to the request being filled (DEFERRED), or FAILED
 * (an unknown eventName, unusable Keys, an item too large to send, ordered mode after a failed
 * write), or ABORT for a put without NewImage (the stream view lacks it). */
enum lr_batch_record_status sink_ddb_on_record(struct sink_ddb *s, const struct ddb_record *rec,
                                               struct lr_batch_reason *reason);

/* An lr_batch_settle_fn body: sends what is pending and marks the records whose writes did not land. */
void sink_ddb_settle(struct sink_ddb *s, struct lr_batch_deferred *deferred);

/* Frees everything s owns; safe on a zeroed sink and safe to call twice. */
void sink_ddb_clean_up(struct sink_ddb *s);

#endif
