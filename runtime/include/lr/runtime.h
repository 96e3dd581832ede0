/* Lambda Runtime API client and handler loop (API version 2018-06-01), shaped like aws-lambda-cpp.
 *
 * Ownership in one paragraph: every struct lr_str in an lr_invocation_request is a view into storage
 * owned by the runtime client; it is valid until the handler returns (run loop) or until the next
 * lr_client_next() / lr_client_destroy() (low-level API). Views from the runtime are also
 * NUL-terminated for convenience (ptr[len] == '\0'), but may contain NUL bytes (payload).
 * An lr_invocation_response owns its heap body; the run loop frees it after posting it, a caller of
 * the low-level API frees it with lr_response_clean_up().
 */
#ifndef LR_RUNTIME_H
#define LR_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "lr/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lambda's synchronous response limit; a larger response is turned into an error report. */
#define LR_MAX_RESPONSE_BYTES ((size_t)6 * 1024 * 1024)
/* Cap on an event body read from /next: Lambda's 6 MB plus headroom for the RIE's +100 bytes. */
#define LR_MAX_EVENT_BYTES ((size_t)6 * 1024 * 1024 + 4096)

/* One invocation, as delivered by GET /runtime/invocation/next. All views: see the paragraph above. */
struct lr_invocation_request {
    struct lr_str payload;          /* the event body (JSON for DynamoDB Streams) */
    struct lr_str request_id;       /* Lambda-Runtime-Aws-Request-Id; never empty */
    struct lr_str xray_trace_id;    /* Lambda-Runtime-Trace-Id; len 0 when absent */
    struct lr_str client_context;   /* Lambda-Runtime-Client-Context (JSON); len 0 when absent */
    struct lr_str cognito_identity; /* Lambda-Runtime-Cognito-Identity (JSON); len 0 when absent */
    struct lr_str function_arn;     /* Lambda-Runtime-Invoked-Function-Arn; len 0 when absent */
    struct lr_str tenant_id;        /* Lambda-Runtime-Aws-Tenant-Id; len 0 when absent */
    struct lr_str content_type;     /* Content-Type of the event; len 0 when absent */
    int64_t deadline_ms; /* Lambda-Runtime-Deadline-Ms: deadline in ms since the Unix epoch */
    /* The worker serving this invoke, 0..worker_count-1, and how many workers the run loop runs
     * (AWS_LAMBDA_MAX_CONCURRENCY); 0 and 1 from lr_client_next(). Per-worker state goes here. */
    uint32_t worker;
    uint32_t worker_count;
};

/* Milliseconds left before the invoke's deadline, from CLOCK_REALTIME (negative once past it). */
int64_t lr_invocation_time_remaining_ms(const struct lr_invocation_request *req);

/* The outcome of a handler: a success payload (POST /response) or an error (POST /error). */
struct lr_invocation_response {
    char *body; /* heap, owned by this response; JSON error document for failures */
    size_t body_len;
    const char *content_type; /* static string, e.g. "application/json" */
    char *error_type; /* heap, owned; for failures: Lambda-Runtime-Function-Error-Type; else NULL */
    bool success;
};

/* Success with a copy of payload[0..len) (payload may be NULL when len is 0). content_type must be a
 * static string (NULL means "application/json"). Aborts on out-of-memory, as Lambda replaces a crashed
 * sandbox. The returned response owns its copy. */
struct lr_invocation_response lr_response_success(const char *payload, size_t len,
                                                  const char *content_type);

/* Success that takes ownership of a malloc'd buffer instead of copying it (hot path for large bodies). */
struct lr_invocation_response lr_response_success_take(char *payload, size_t len,
                                                       const char *content_type);

/* Failure: body {"errorMessage":..,"errorType":..,"stackTrace":[]} (both JSON-escaped), header
 * Lambda-Runtime-Function-Error-Type = error_type. Both arguments are copied; NULL is treated as "". */
struct lr_invocation_response lr_response_failure(const char *error_message,
                                                  const char *error_type);

/* Frees what the response owns and zeroes it; safe on a zeroed response and safe to call twice. */
void lr_response_clean_up(struct lr_invocation_response *resp);

/* The handler: called once per invoke. req is valid only during the call. */
typedef struct lr_invocation_response (*lr_handler_fn)(const struct lr_invocation_request *req,
                                                       void *user_data);

/* Most workers lr_run_handler() runs (Lambda Managed Instances' limit on concurrent invokes). */
#define LR_MAX_WORKERS 1024u

/* Reads AWS_LAMBDA_MAX_CONCURRENCY, which Lambda sets only on Managed Instances: *out = 1 when it is
 * unset or empty, its value when that is a plain decimal 1..LR_MAX_WORKERS, else LR_E_CONFIG (*out
 * untouched). */
enum lr_status lr_run_concurrency(uint32_t *out) LR_NODISCARD;

/* Initialises the runtime from the environment (and the log from AWS_LAMBDA_LOG_FORMAT/LEVEL unless
 * lr_log_configure() or lr_log_init_from_env() ran before), then loops forever on /next -> handler ->
 * post, setting the log's request id during each invoke and flushing stdout before each post.
 * One worker (AWS_LAMBDA_MAX_CONCURRENCY unset or 1): the loop runs on the calling thread, no thread
 * is started, and _X_AMZN_TRACE_ID follows each invoke (set, or unset when it has no trace id).
 * N workers: N threads, each with its own Runtime API connection, call handler concurrently with
 * the same user_data (req->worker tells them apart); _X_AMZN_TRACE_ID is unset once and never set,
 * since the environment is process-wide (the trace id is in req->xray_trace_id). On SIGTERM the
 * workers finish their invokes in flight, stop polling, and the function returns 0. An invalid
 * AWS_LAMBDA_MAX_CONCURRENCY is reported through /init/error as Runtime.ConfigInvalid (returns 1).
 * Status policy on a post: 2xx ok; 413 (the invoke already failed), 400, 403, other statuses and a
 * lost connection are logged and the loop goes on with /next; 500 ends the loop. A failed /next is
 * retried (see struct lr_run_options); an invoke whose request id is known but which cannot be
 * used is answered with an error: Runtime.EventTooLarge for an event above LR_MAX_EVENT_BYTES,
 * Runtime.InvalidHeaders for a header line that is malformed, repeated or beyond the caps.
 * Returns 0 after SIGTERM with several workers; otherwise only on a fatal condition (missing or
 * invalid AWS_LAMBDA_RUNTIME_API, Runtime API 500, repeated failure of /next, an init error
 * reported), with the exit status the process should use (1). */
int lr_run_handler(lr_handler_fn handler, void *user_data);

/* Tuning of lr_run_handler_with_options(); the defaults (LR_RUN_OPTIONS_DEFAULT) suit Lambda. */
struct lr_run_options {
    /* Consecutive failed GET /next (transport error, protocol error, unexpected status other than
     * 500) tolerated before the loop gives up and returns non-zero; 0 means the default (5). */
    unsigned next_max_attempts;
    /* Pause before the first retry, doubled after each further failure up to the maximum; 0 means
     * the default (25 ms, 1000 ms: giving up within about 0.4 s when the Runtime API is gone). */
    unsigned next_backoff_initial_ms;
    unsigned next_backoff_max_ms;
};
#define LR_RUN_OPTIONS_DEFAULT ((struct lr_run_options){5, 25, 1000})

/* lr_run_handler() with explicit options (NULL means LR_RUN_OPTIONS_DEFAULT). */
int lr_run_handler_with_options(lr_handler_fn handler, void *user_data,
                                const struct lr_run_options *options);

/* Reports an initialisation failure through POST /runtime/init/error with the given message and
 * error type (e.g. "Runtime.ConfigInvalid"), then returns the non-zero exit status to use. Call this
 * instead of lr_run_handler() when your own initialisation failed. */
int lr_report_init_error(const char *error_message, const char *error_type);

/* ---- Low-level client (what lr_run_handler is built on) ---- */

struct lr_client;

/* Creates a client for endpoint "host:port" (NULL: read AWS_LAMBDA_RUNTIME_API). On LR_OK *out is a heap
 * client owned by the caller, freed with lr_client_destroy(). One libcurl easy handle is kept for the
 * client's whole life, so all requests share one keep-alive connection. Errors: LR_E_CONFIG (no or a
 * malformed endpoint), LR_E_TRANSPORT (libcurl could not be initialised). */
enum lr_status lr_client_new(const char *endpoint, struct lr_client **out) LR_NODISCARD;

/* Frees the client and everything it owns; NULL is a no-op. */
void lr_client_destroy(struct lr_client *client);

/* Makes lr_client_next() give up, with LR_E_CANCELLED, once should_stop() returns true while no byte
 * of the answer has arrived yet (checked about once a second while waiting), so a worker can stop
 * polling without dropping an invoke already on its way. should_stop must be thread-safe; NULL
 * removes it. */
void lr_client_set_stop(struct lr_client *client, bool (*should_stop)(void));

/* GET /next (no total timeout: the sandbox may be frozen between invokes). On LR_OK fills *req with
 * views valid until the next lr_client_next() or lr_client_destroy(); the environment is not
 * touched (lr_run_handler() exports _X_AMZN_TRACE_ID itself). A missing or garbage Deadline-Ms
 * does not fail the call: deadline_ms is then now + AWS_LAMBDA_FUNCTION_TIMEOUT seconds when that
 * is set, else now + 900 s (Lambda's maximum), and a warning is logged. On LR_E_TOO_LARGE (event
 * above LR_MAX_EVENT_BYTES) and LR_E_PROTOCOL (a header line malformed, repeated or beyond the
 * header caps) only req->request_id is set, when a valid one was received, so the caller can report
 * the failure; on other errors *req is zeroed. Transport failures are NOT retried here;
 * lr_run_handler() retries them. */
enum lr_status lr_client_next(struct lr_client *client,
                              struct lr_invocation_request *req) LR_NODISCARD;

/* POST /response or /error for req, according to resp->success. A success body larger than
 * LR_MAX_RESPONSE_BYTES is replaced by an error report of type Function.ResponseSizeTooLarge (and
 * LR_E_TOO_LARGE is returned after that report was posted). LR_E_INVALID_ARG when req has no usable
 * request id. Does not free resp. */
enum lr_status lr_client_post(struct lr_client *client, const struct lr_invocation_request *req,
                              const struct lr_invocation_response *resp) LR_NODISCARD;

/* POST /runtime/init/error with a JSON error body and Lambda-Runtime-Function-Error-Type. */
enum lr_status lr_client_init_error(struct lr_client *client, const char *error_message,
                                    const char *error_type) LR_NODISCARD;

/* ---- Bounded parsers used on Runtime API headers (exposed for tests and fuzzing) ---- */

/* Parses an unsigned decimal of 1..19 digits with value <= max (no sign, no spaces, no garbage).
 * Returns LR_OK or LR_E_PROTOCOL; *out untouched on error. */
enum lr_status lr_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out) LR_NODISCARD;

#ifdef __cplusplus
}
#endif
#endif
