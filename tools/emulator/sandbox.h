/* The emulated execution environment: one bootstrap child, one invoke at a time (or up to
 * AWS_LAMBDA_MAX_CONCURRENCY at once, as on Lambda Managed Instances), and the state machine between
 * the Invoke API (callers) and the Runtime API (the bootstrap). A process-wide singleton guarded by
 * one mutex; every function is thread-safe. Blocking calls (sandbox_invoke, sandbox_next) are made
 * from libmicrohttpd's per-connection threads. */
#ifndef EMU_SANDBOX_H
#define EMU_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "blob.h"
#include "opts.h"
#include "reqid.h"

/* Lambda's payload limit as RIE enforces it: 6 MiB + 100 bytes, for events and responses. */
#define SANDBOX_MAX_PAYLOAD ((size_t)6 * 1024 * 1024 + 100)

/* Optional headers of an invoke, forwarded to /next; borrowed for the duration of sandbox_invoke. */
struct invoke_meta {
    const char *trace_id;       /* X-Amzn-Trace-Id, NULL when absent */
    const char *client_context; /* X-Amz-Client-Context, NULL when absent */
    const char *tenant_id;      /* X-Amz-Tenant-Id, NULL when absent */
    bool want_log_tail;         /* X-Amz-Log-Type: Tail: note where the invoke's log lines are */
};

enum result_kind { RESULT_SUCCESS, RESULT_FUNCTION_ERROR, RESULT_UNAVAILABLE };

struct invoke_result {
    enum result_kind kind;
    struct blob *body; /* the caller owns this reference (blob_unref) */
    char request_id[REQID_LEN + 1];
    int64_t log_start, log_end; /* stdout offsets around START..REPORT, -1 when not a file */
};

/* One event handed to GET /next. Strings are heap copies owned by the delivery; event is a reference.
 * Free with sandbox_delivery_clean_up(). */
struct delivery {
    char request_id[REQID_LEN + 1];
    int64_t deadline_ms;
    char *function_arn;
    char *trace_id;       /* NULL when absent */
    char *client_context; /* NULL when absent */
    char *tenant_id;      /* NULL when absent */
    struct blob *event;
    uint64_t seq; /* identifies this delivery for sandbox_undeliver() */
};

/* NEXT_TOO_MANY (concurrent mode only): the bootstrap already holds or awaits max_concurrency
 * invokes, so this /next is one more than Lambda would allow. */
enum next_status { NEXT_OK, NEXT_STALE, NEXT_SHUTDOWN, NEXT_TOO_MANY };

enum post_kind { POST_RESPONSE, POST_ERROR };

struct post {
    enum post_kind kind;
    const char *request_id;
    struct blob *body; /* borrowed (the sandbox takes its own reference); NULL when too large */
    const char *error_type; /* Lambda-Runtime-Function-Error-Type, NULL when absent */
    bool too_large;         /* the body went over SANDBOX_MAX_PAYLOAD */
};

/* Keeps o (which must outlive the sandbox) and the child's argv/envp (never freed). */
void sandbox_init(const struct opts *o, char **child_envp);

/* Starts the bootstrap now (cold start before the first invoke, as Lambda's Init phase). */
void sandbox_start_child(void);

/* Runs one invoke: waits (in arrival order) for a free slot, starts the bootstrap if needed, queues
 * the event, waits for the result or the timeout, and prints START/END/REPORT. On a timeout the
 * one-at-a-time sandbox kills the bootstrap; the concurrent one leaves it running and keeps the slot
 * busy until the bootstrap posts for that invoke. */
struct invoke_result sandbox_invoke(struct blob *event, const struct invoke_meta *meta);

/* Blocks until an event is queued (GET /next) and hands out the oldest. NEXT_STALE: the bootstrap
 * that asked has gone, or peer_gone(peer) says it gave this request up (the event stays queued for
 * another /next or the next bootstrap). */
enum next_status sandbox_next(struct delivery *d, bool (*peer_gone)(void *), void *peer);
void sandbox_delivery_clean_up(struct delivery *d);

/* The delivery seq did not reach the bootstrap (reset, bad headers): queue the event again. */
void sandbox_undeliver(uint64_t seq);

/* POST /response or /error. forced_status is an injected fault's status (0 = none). Returns the HTTP
 * status to answer: 202, 400 (unknown id), 403 (already answered), 413 (too large) or forced_status.
 * A post for an invoke that timed out in concurrent mode is discarded (and logged) with 202. */
int sandbox_post(const struct post *p, int forced_status);

/* POST /init/error: remembered and served to the invoke that is waiting or to the next one. */
int sandbox_init_error(struct blob *body, const char *error_type);

/* Called by the reaper (main thread) for every child that ended. */
void sandbox_child_exited(pid_t pid, int wait_status, const struct rusage *ru);

/* Stops serving: wakes every waiter and SIGKILLs the bootstrap. Returns its pid to reap, or 0. */
pid_t sandbox_shutdown(void);
bool sandbox_shutting_down(void);

/* The concurrency limit (1 = one invoke at a time). */
unsigned sandbox_max_concurrency(void);

/* Counts an accepted TCP connection on the Runtime API (runtime_api) or the Invoke API. */
void sandbox_count_connection(bool runtime_api);

/* The counters as one compact JSON object; heap string owned by the caller (free). */
char *sandbox_stats_json(void);

#endif
