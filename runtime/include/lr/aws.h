/* Calls to AWS services from a handler (lr_aws layer): AWS Signature Version 4, HTTPS through libcurl,
 * credentials, region and endpoints read from the environment as the AWS SDKs read them, and retries
 * like the SDKs' standard mode bounded by the invoke's deadline. See docs/aws.md.
 *
 * Two calls: lr_aws_json_call() for the JSON protocols (DynamoDB, DynamoDB Streams, SQS, EventBridge,
 * Firehose: POST / with X-Amz-Target) and lr_aws_query_call() for the query protocol (SNS: a
 * form-encoded POST answered in XML). Both borrow the request body for the duration of the call.
 *
 * Nothing happens at lr_aws_client_new(): the region, credentials, endpoint, CA bundle and the
 * connection are read or made on the first call to each service. Each service gets one keep-alive
 * connection, reused across calls (and invokes) and re-opened transparently when it was dropped.
 *
 * Thread-safety: a client and a response belong to one thread at a time; use one client per thread
 * (e.g. per worker of a multi-concurrency runtime). lr_aws_client_new() itself is not thread-safe on
 * the first use in a process, as it may run curl_global_init().
 *
 * Secrets (keys, session token, signatures) are never logged nor copied into a response. */
#ifndef LR_AWS_H
#define LR_AWS_H

#include <stdint.h>

#include "lr/buf.h"
#include "lr/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the client needs to know about one service (values from the services' published models). */
struct lr_aws_service {
    const char *endpoint_prefix; /* host name prefix: "dynamodb", "streams.dynamodb", "sqs", ... */
    const char *signing_name;    /* the service in the SigV4 scope */
    const char *env_id;          /* AWS_ENDPOINT_URL_<env_id> */
    const char
        *target_prefix; /* X-Amz-Target prefix (JSON protocols), NULL for the query protocol */
    const char *json_version; /* "1.0" or "1.1" (application/x-amz-json-<v>), NULL for query */
};

extern const struct lr_aws_service lr_aws_dynamodb, lr_aws_dynamodb_streams, lr_aws_sqs, lr_aws_sns,
    lr_aws_eventbridge, lr_aws_firehose;

/* The service named "dynamodb", "dynamodbstreams", "sqs", "sns", "events" or "firehose" (a static
 * descriptor, never freed), or NULL. */
const struct lr_aws_service *lr_aws_service_by_name(const char *name);

/* Tunables; lr_aws_settings_init() gives the defaults documented per field. */
struct lr_aws_settings {
    unsigned max_attempts; /* attempts per call, first included: AWS_MAX_ATTEMPTS, else 3 (1..20) */
    uint32_t deadline_margin_ms; /* no attempt may end later than deadline - margin: 500 */
    uint32_t backoff_base_ms;    /* retry n waits random(0,1) * min(max, base * 2^(n-1)): 1000 */
    uint32_t backoff_max_ms;     /* 20000 */
    uint32_t connect_timeout_ms; /* per attempt, further cut by the deadline: 3000 */
    uint32_t attempt_timeout_ms; /* whole attempt, further cut by the deadline: 30000 */
    size_t max_response_bytes;   /* a longer answer is LR_E_TOO_LARGE: 32 MiB */
    char region[64]; /* "" (default): AWS_REGION, else AWS_DEFAULT_REGION; else this region, e.g.
                        the one of a target's ARN in another region ([a-z0-9-], 1..63) */
};

/* Fills s with the defaults above, AWS_MAX_ATTEMPTS included. LR_E_AWS_CONFIG when AWS_MAX_ATTEMPTS is
 * set but not a number in 1..20 (s then holds the defaults). */
enum lr_status lr_aws_settings_init(struct lr_aws_settings *s) LR_NODISCARD;

struct lr_aws_client;

/* Creates a client with a copy of *settings (NULL: lr_aws_settings_init()). Does no I/O, TLS or
 * credential work; LR_E_INVALID_ARG for settings out of range (a region with other characters than
 * [a-z0-9-]). On LR_OK *out is a heap client the caller frees with lr_aws_client_destroy(). */
enum lr_status lr_aws_client_new(const struct lr_aws_settings *settings,
                                 struct lr_aws_client **out) LR_NODISCARD;

/* Closes the client's connections and frees it (NULL is allowed). */
void lr_aws_client_destroy(struct lr_aws_client *client);

/* The outcome of one call. The caller owns the struct; lr_aws_response_init() before the first call,
 * lr_aws_response_clean_up() after the last; each call resets it first. */
struct lr_aws_response {
    long http_status;        /* of the last attempt; 0 when no answer was received */
    unsigned attempts;       /* attempts made */
    char error_code[128];    /* AWS error code ("ThrottlingException"), or "" */
    char error_message[512]; /* its message's first line, printable ASCII (others: '?'), or "" */
    struct lr_buf body;      /* the last answer's body, owned by the response */
    struct cJSON *json; /* JSON protocols, 2xx: the parsed body (cJSON tree owned by the response,
                                valid until the next call or clean-up); else NULL */
};

/* Empties *resp; allocates nothing (the first call sizes its body buffer to the client's cap). */
void lr_aws_response_init(struct lr_aws_response *resp);
/* Frees the body and the cJSON tree the response owns and empties it (NULL is allowed). */
void lr_aws_response_clean_up(struct lr_aws_response *resp);

/* Calls <svc->target_prefix>.<operation> with the JSON body (borrowed for the call). deadline_ms is the
 * invoke's deadline in ms since the Unix epoch (lr_invocation_request.deadline_ms), 0 for none.
 * LR_OK on a 2xx answer whose body is a JSON object (resp->json); otherwise a named error, with
 * resp->error_code / error_message set for LR_E_AWS_SERVICE and LR_E_AWS_THROTTLED. */
enum lr_status lr_aws_json_call(struct lr_aws_client *client, const struct lr_aws_service *svc,
                                const char *operation, struct lr_str body, int64_t deadline_ms,
                                struct lr_aws_response *resp) LR_NODISCARD;

/* Waits before retry n (1 for the first) of a retry loop of the caller's own, such as sending a batch
 * API's unprocessed entries again: random(0,1) * min(max_ms, base_ms * 2^(n-1)) ms, the client's
 * full-jitter back-off. Returns false at once, without waiting, when after the wait no attempt could
 * end before deadline_ms (epoch ms, 0 for none) minus the client's deadline margin. */
bool lr_aws_back_off(struct lr_aws_client *client, unsigned n, uint32_t base_ms, uint32_t max_ms,
                     int64_t deadline_ms);

/* True when an entry a batch API reports failed with this error code (SQS and SNS Failed[].Code,
 * EventBridge Entries[].ErrorCode) is worth sending again: throttling, transient and internal errors. */
bool lr_aws_entry_is_retryable(const char *code);

/* Posts the form-encoded body (borrowed for the call; "Action=...&Version=...&...", already
 * percent-encoded) to a query-protocol service. LR_OK on a 2xx XML answer (in resp->body); errors as
 * lr_aws_json_call(), the code and message taken from the XML <Code> and <Message>. */
enum lr_status lr_aws_query_call(struct lr_aws_client *client, const struct lr_aws_service *svc,
                                 struct lr_str form_body, int64_t deadline_ms,
                                 struct lr_aws_response *resp) LR_NODISCARD;

/* Appends "&name=value" (no '&' into an empty b) to a query-protocol body, value form-encoded as
 * the AWS SDKs send it: A-Z a-z 0-9 - . _ ~ kept, a space as '+', every other byte as %XX. name is
 * written as given. */
void lr_aws_form_put(struct lr_buf *b, const char *name, const char *value, size_t len);

/* SHA-256 of data[0..n) as 64 lower-case hex digits and a NUL, e.g. a bounded, stable identifier
 * made from text of any length. */
void lr_aws_sha256_hex(const void *data, size_t n, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
