/* What every sink of the bundled handler shares: the AWS client, the invoke's deadline and mode, the
 * failed records with their reasons until the batch layer settles them, the call being sent and its
 * answer, and the counts of the sink's metrics line.
 *
 * Ownership: struct sink_core owns its client and every buffer; one sink per thread. */
#ifndef LR_HANDLER_SINK_CORE_H
#define LR_HANDLER_SINK_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/aws.h"
#include "lr/batch.h"

/* Calls per request while entries remain unprocessed (the deadline may stop earlier). */
#define SINK_MAX_ROUNDS 8
/* Back-off before the next round: random(0, min(cap, base * 2^(round-1))) ms, as the AWS SDKs. */
#define SINK_BACKOFF_BASE_MS 50
#define SINK_BACKOFF_CAP_MS 2000
/* Records awaiting an outcome between two settles (a Lambda event holds at most 10,000). */
#define SINK_MAX_PENDING 100000

/* Counts of one invoke, for the sink's metrics line. */
struct sink_stats {
    int64_t sent;        /* writes or messages that landed */
    int64_t failed;      /* records reported failed by the sink */
    int64_t retried;     /* writes or messages sent again after a partial failure */
    int64_t throttled;   /* calls ending in a throttling error, and rounds leaving entries behind */
    int64_t requests;    /* calls made */
    int64_t call_ms;     /* time spent in those calls */
    int64_t call_max_ms; /* the longest call */
};

struct sink_core {
    struct lr_aws_client *aws;
    bool ordered; /* LR_BATCH_MODE_ORDERED: after a failure nothing later is sent */
    int64_t deadline_ms;
    bool failed;  /* something did not land this invoke */
    bool aborted; /* this invoke: drop what is pending */
    struct lr_buf
        failures; /* struct sink_failure: failed records not yet handed to the batch layer */
    struct lr_buf reasons; /* NUL-terminated reasons, referenced by offset */
    struct lr_buf body;    /* the call being sent */
    struct lr_aws_response resp;
    struct sink_stats stats;
};

/* Sets c up for region ("" for AWS_REGION / AWS_DEFAULT_REGION), calls bodies of at most max_body
 * bytes. Calls stop call_margin_ms before each invoke's deadline. LR_E_CONFIG with msg filled when
 * the AWS settings are unusable; release c with sink_core_clean_up() either way. */
enum lr_status sink_core_init(struct sink_core *c, const char *region, bool ordered,
                              uint32_t call_margin_ms, size_t max_body, char *msg, size_t msg_cap);

/* Starts an invoke: its deadline (epoch ms, 0 for none), fresh counts and failure state. */
void sink_core_begin(struct sink_core *c, int64_t deadline_ms);

/* Stores a reason once; returns its offset for sink_core_fail() (reasons over the cap read ""). */
size_t sink_core_reason(struct sink_core *c, const char *text);

/* Records that record_index did not land, for the reason stored at reason_off. */
void sink_core_fail(struct sink_core *c, size_t record_index, size_t reason_off);

/* True when another record may be deferred: the records awaiting an outcome, pending ones
 * included, stay under SINK_MAX_PENDING (else the record fails with that reason). */
bool sink_core_has_room(const struct sink_core *c, size_t pending, struct lr_batch_reason *reason);

/* Sends c->body to svc: operation with the JSON protocol, or the query protocol when operation is
 * NULL. Counts the call, its time and a throttled end. */
enum lr_status sink_core_call(struct sink_core *c, const struct lr_aws_service *svc,
                              const char *operation);

/* "<operation> failed after N attempt(s): <status>: <code>: <message>", into why[0..cap). */
void sink_core_call_error(const struct sink_core *c, const char *operation, enum lr_status st,
                          char *why, size_t cap);

/* Hands the failures to the batch layer (an lr_batch_settle_fn's last step) and empties them. */
void sink_core_settle(struct sink_core *c, struct lr_batch_deferred *deferred);

/* Writes Keys into out (reset by the caller) as DynamoDB JSON with the members sorted by name: one
 * text per item, whatever order the records list them in. False, with reason set, for Keys that
 * are not 1 or 2 attributes or do not fit out. */
bool sink_core_key(const struct ddb_map *keys, struct lr_buf *out, struct lr_batch_reason *reason);

/* Frees everything c owns; safe on a zeroed core and safe to call twice. */
void sink_core_clean_up(struct sink_core *c);

#endif
