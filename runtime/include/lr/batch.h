/* DynamoDB Streams batch processing: walks the records of one event in order, calls a user function
 * per record, and builds the partial batch response {"batchItemFailures":[{"itemIdentifier":"<seq>"}]}
 * (or an invoke error when an item-wise answer would be wrong), with counters for logs and metrics.
 *
 * Ownership in one paragraph: the record handed to the user function is borrowed for the duration of
 * that call only (the layer parses one record at a time with ddb_reader). A struct lr_batch_result
 * owns its body (heap) until lr_batch_result_clean_up() or lr_batch_to_response() takes it; all its
 * other members are plain values. Options and their pointers are borrowed for the call.
 * Threads: the layer keeps no state between calls; concurrent workers may run lr_batch_handle() at
 * once, each with its own struct lr_batch_handler (or one whose user data is safe to share).
 *
 * What is reported, and why:
 *  - A record the parser marked invalid counts as failed with its SequenceNumber.
 *  - ordered mode stops at the first failure and reports only it, the checkpoint: Lambda re-delivers
 *    from the lowest reported sequence number anyway, and working on record k+1 before record k
 *    succeeded would break per-key order.
 *  - continue mode processes every record and reports every failure (what Powertools does).
 *  - A failed record without a usable SequenceNumber cannot be reported item-wise (an empty or
 *    made-up identifier fails the batch in undocumented ways), so the whole invoke becomes an error
 *    and Lambda retries the batch.
 *  - An event that cannot be parsed at all is an invoke error too: Lambda retries it, and with
 *    BisectBatchOnFunctionError splits it until the poison record is isolated.
 *  - Deadline guard: before each record, if less than the margin remains, the layer stops and reports
 *    that first unprocessed record as failed, so the batch is retried from there instead of timing
 *    out as a whole (a timeout fails the entire batch).
 *  - Tumbling windows: when the event has a window, the response carries "state" (Lambda counts an
 *    answer without it as a failed invoke): the window function's, else the incoming one unchanged,
 *    else {}. A state over LR_BATCH_MAX_STATE_BYTES is answered as it is, with a WARN: Lambda then
 *    ends the window early and starts it again with an empty state. Only a state no answer can carry
 *    (LR_MAX_RESPONSE_BYTES) fails the invoke; a state is never truncated.
 *  - Deferred records (a sink that writes many records per request): the record function answers
 *    LR_BATCH_RECORD_DEFERRED and the settle function decides them later. The layer settles before
 *    it reports any later record's failure and once at the end, so the reported failures stay in
 *    record order and the lowest one is the checkpoint.
 */
#ifndef LR_BATCH_H
#define LR_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/common.h"
#include "lr/ddb.h"
#include "lr/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default deadline margin. The guard runs before each record, so the margin has to cover the record
 * about to start plus rendering and posting the response (up to 6 MB over the local Runtime API) and
 * flushing the batch's logs: tens of milliseconds for the latter, the rest is headroom for a record
 * doing a downstream call. 500 ms still leaves half of the smallest (1 s) Lambda timeout for work.
 * Raise it (LR_DEADLINE_MARGIN_MS) when a single record can take longer. */
#define LR_BATCH_DEFAULT_DEADLINE_MARGIN_MS 500
/* Upper bound of a configured margin: Lambda's maximum timeout, 15 minutes. */
#define LR_BATCH_MAX_DEADLINE_MARGIN_MS ((int64_t)15 * 60 * 1000)
/* Largest tumbling-window state Lambda keeps per shard (1 MB); a larger one ends the window early. */
#define LR_BATCH_MAX_STATE_BYTES ((size_t)1024 * 1024)
/* Size of the reason buffer a record function may fill. */
#define LR_BATCH_REASON_MAX 256

enum lr_batch_mode {
    LR_BATCH_MODE_ORDERED = 0, /* stop at the first failed record (default) */
    LR_BATCH_MODE_CONTINUE     /* process every record, report every failure */
};

enum lr_batch_all_failed {
    LR_BATCH_ALL_FAILED_ITEMS = 0, /* report them as item failures (default) */
    LR_BATCH_ALL_FAILED_ERROR /* report an invoke error, so BisectBatchOnFunctionError applies */
};

/* Outcome of one batch: LR_OK (body holds the batchItemFailures document), or an invoke error (POST
 * /error): LR_E_INVALID_EVENT, LR_E_NO_SEQUENCE, LR_E_ALL_FAILED, LR_E_CONFIG (a record function
 * aborted), LR_E_TOO_LARGE when the response would pass LR_MAX_RESPONSE_BYTES, or LR_E_STATE_TOO_LARGE
 * (a window state over LR_MAX_RESPONSE_BYTES) and a window function's own error. */

/* Static Lambda error type reported for a status (e.g. "Function.InvalidEvent"); "" for LR_OK.
 * They follow RIE's (Runtime|Function).Reason rule so they survive its normalisation. */
const char *lr_batch_error_type(enum lr_status st);

/* What a record function says about one record. */
enum lr_batch_record_status {
    LR_BATCH_RECORD_OK = 0,
    LR_BATCH_RECORD_FAILED,
    /* Accepted, outcome decided by the settle function (a failed record without one). */
    LR_BATCH_RECORD_DEFERRED,
    /* The batch cannot be processed as configured (a stream view without the image a sink needs):
     * the invoke fails with LR_E_CONFIG ("Function.ConfigInvalid") and the reason as its message. */
    LR_BATCH_RECORD_ABORT
};

/* Caller storage where a record function explains a failure (logged with the record's identity). */
struct lr_batch_reason {
    char text[LR_BATCH_REASON_MAX];
};

/* Formats the reason (cut to fit, always NUL-terminated). */
void lr_batch_reason_set(struct lr_batch_reason *reason, const char *fmt, ...) LR_PRINTF(2, 3);

/* The user's business logic for one valid record. rec and everything it points to are borrowed for
 * the call; reason starts empty. */
typedef enum lr_batch_record_status (*lr_batch_record_fn)(const struct ddb_record *rec,
                                                          void *user_data,
                                                          struct lr_batch_reason *reason);

/* The records deferred since the last settle; only valid inside a settle function. */
struct lr_batch_deferred;

/* Decides the deferred records (all of them succeeded unless marked with lr_batch_deferred_fail()).
 * Called before a later record's failure is reported and once at the end of every batch, even one
 * without deferred records or one that ends in an invoke error, so it can also reset its state. */
typedef void (*lr_batch_settle_fn)(void *user_data, struct lr_batch_deferred *deferred);

/* Number of records awaiting a decision. */
size_t lr_batch_deferred_count(const struct lr_batch_deferred *deferred);

/* Marks the deferred record with ddb_record.index record_index as failed and logs why (reason is
 * read during the call). LR_E_INVALID_ARG when no such record awaits a decision or it is marked. */
enum lr_status lr_batch_deferred_fail(struct lr_batch_deferred *deferred, size_t record_index,
                                      const char *reason);

/* Tumbling windows: called once per invoke whose event has a window (window->present), after every
 * record was decided, unless the batch already is an invoke error. window is the event's (views into
 * it; window->state_json is the state the function returned last time, len 0 when none) and res the
 * counts so far (res->status LR_OK). Write the outgoing state, a JSON object, into state (empty on
 * entry, capped at LR_MAX_RESPONSE_BYTES: overflowing it fails the invoke with LR_E_STATE_TOO_LARGE;
 * over LR_BATCH_MAX_STATE_BYTES Lambda ends the window early); leaving it empty passes the incoming
 * state on through lr_json_compact() (no blank between tokens, a raw DEL escaped: no raw control
 * byte reaches the answer). Any other status returned fails the invoke. */
struct lr_batch_result;
typedef enum lr_status (*lr_batch_window_fn)(void *user_data, const struct ddb_window *window,
                                             const struct lr_batch_result *res,
                                             struct lr_buf *state);

struct lr_batch_options {
    enum lr_batch_mode mode;
    enum lr_batch_all_failed all_failed;
    int64_t deadline_margin_ms; /* 0..LR_BATCH_MAX_DEADLINE_MARGIN_MS */
    int64_t deadline_ms;        /* absolute epoch ms (Lambda-Runtime-Deadline-Ms); 0 = no guard */
};

/* Fills in the defaults: ordered, items, LR_BATCH_DEFAULT_DEADLINE_MARGIN_MS, no deadline. */
void lr_batch_options_init(struct lr_batch_options *opts);

/* Reads LR_BATCH_MODE (ordered|continue), LR_ALL_FAILED (items|error) and LR_DEADLINE_MARGIN_MS
 * (1..7 decimal digits, 0..900000) over the current values of *opts; unset or empty variables keep
 * them. LR_E_CONFIG on a bad value, with a one-line explanation naming the variable written into
 * msg[0..msg_cap). */
enum lr_status lr_batch_options_from_env(struct lr_batch_options *opts, char *msg,
                                         size_t msg_cap) LR_NODISCARD;

/* Counters and outcome of one batch; plain values except body. */
struct lr_batch_result {
    enum lr_status status;
    char *body; /* LR_OK: heap, NUL-terminated response document; else NULL */
    size_t body_len;
    char error_message[512]; /* otherwise: why (also logged) */
    size_t batch_size;       /* records in the event */
    size_t processed;        /* records whose outcome was decided: succeeded + failed */
    size_t succeeded;
    size_t succeeded_by_event[4]; /* succeeded, by enum ddb_event_name (UNKNOWN, INSERT, ...) */
    int64_t succeeded_size_bytes; /* sum of their SizeBytes (absent counts 0) */
    size_t failed;      /* failed records, invalid ones included (deadline stops excluded) */
    size_t invalid;     /* records the parser marked invalid */
    size_t skipped;     /* records never attempted (after an ordered stop or the deadline) */
    size_t reported;    /* identifiers in batchItemFailures */
    bool deadline_stop; /* the deadline guard stopped the batch */
    size_t bytes;       /* event size in bytes */
    int64_t elapsed_ms; /* wall time spent in lr_batch_process */
    int64_t max_iterator_age_ms; /* now - oldest ApproximateCreationDateTime read; -1 if none */
    char checkpoint[DDB_MAX_SEQUENCE_DIGITS + 1]; /* lowest reported sequence number; "" if none */
};

/* Processes the event json[0..len) with fn (never NULL) and fills *out (caller storage, overwritten;
 * release it with lr_batch_result_clean_up()). Returns out->status. Failures and invoke errors are
 * logged through lr_log; nothing else is. */
enum lr_status lr_batch_process(const char *json, size_t len, const struct lr_batch_options *opts,
                                lr_batch_record_fn fn, void *user_data,
                                struct lr_batch_result *out);

/* lr_batch_process() for a record function that may defer records: settle (never NULL) decides
 * them, with the same user_data. */
enum lr_status lr_batch_process_deferred(const char *json, size_t len,
                                         const struct lr_batch_options *opts, lr_batch_record_fn fn,
                                         lr_batch_settle_fn settle, void *user_data,
                                         struct lr_batch_result *out);

/* Turns a result into the Runtime API response: LR_OK takes the body (the result no longer
 * owns it), anything else becomes lr_response_failure(error_message, lr_batch_error_type()). */
struct lr_invocation_response lr_batch_to_response(struct lr_batch_result *res);

/* Frees the body and zeroes the result; safe on a zeroed result and safe to call twice. */
void lr_batch_result_clean_up(struct lr_batch_result *res);

/* Logs the one summary line of a batch (INFO; WARN when something failed or was skipped). */
void lr_batch_log_summary(const struct lr_batch_result *res);

/* Prints the batch's Embedded Metric Format line (BatchSize, RecordsProcessed, RecordsFailed,
 * RecordsSkipped, MaxIteratorAgeMs when known) under namespace_name, with dimension FunctionName
 * when function_name is non-empty, and req's request id and X-Ray trace id as plain properties
 * (requestId, traceId; left out when empty). Returns lr_emf_print()'s status. */
enum lr_status lr_batch_emit_metrics(const struct lr_batch_result *res, const char *namespace_name,
                                     const char *function_name,
                                     const struct lr_invocation_request *req);

/* ---- The whole invoke in one call ---- */

/* What lr_batch_handle() needs besides the request; every pointer is borrowed while it is used. */
struct lr_batch_handler {
    struct lr_batch_options
        options;               /* options.deadline_ms is ignored: each request brings its own */
    lr_batch_record_fn fn;     /* never NULL */
    lr_batch_settle_fn settle; /* NULL: fn never defers */
    lr_batch_window_fn window; /* NULL: a window's state passes on (compacted) */
    void *user_data;           /* passed to fn and settle */
    const char *emf_namespace; /* NULL: no metrics line */
    const char *function_name; /* the metrics' FunctionName dimension; NULL or "": none */
};

/* Defaults: lr_batch_options_init(), fn and user_data as given, no settle, no metrics line, function_name from
 * AWS_LAMBDA_FUNCTION_NAME (a view of the environment). */
void lr_batch_handler_init(struct lr_batch_handler *h, lr_batch_record_fn fn, void *user_data);

/* The whole of h's processing of one event: fn, settle and window as h has them, under deadline_ms
 * (epoch ms, 0 for none; h->options.deadline_ms is ignored). Otherwise as lr_batch_process(). */
enum lr_status lr_batch_process_handler(const struct lr_batch_handler *h, const char *json,
                                        size_t len, int64_t deadline_ms,
                                        struct lr_batch_result *out);

/* An lr_handler_fn: pass it to lr_run_handler() with a const struct lr_batch_handler * as user_data.
 * Processes req's event under the request's own deadline, logs the summary line, prints the metrics
 * line when emf_namespace is set (with req's request and trace ids), and returns the response, which
 * the run loop posts and frees. */
struct lr_invocation_response lr_batch_handle(const struct lr_invocation_request *req, void *h);

#ifdef __cplusplus
}
#endif
#endif
