/* The emulated execution environment (see sandbox.h).
 *
 * Invokes live in a table (invtab.h) whose capacity is the concurrency limit N: a caller waits, in
 * arrival order, for a free slot, then its invoke is QUEUED (waiting for /next), DELIVERED (the
 * bootstrap has it) and DONE (a result is recorded). With N = 1 this is the classic one-invoke
 * sandbox; with N > 1 (Lambda Managed Instances) up to N invokes run at once, each with its own
 * request id, deadline and timer, and a timeout leaves the bootstrap running: the invoke becomes
 * ORPHANED and keeps its slot until the bootstrap posts for it.
 *
 * The child is NONE, RUNNING or DYING (SIGKILLed after a timeout, not yet reaped). Each child gets a
 * new generation, so a /next left waiting by a dead child can tell it is stale. */
#include "sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "child.h"
#include "clk.h"
#include "fault.h"
#include "invtab.h"
#include "jbody.h"
#include "logtail.h"
#include "report.h"
#include "stats.h"

enum child_state { CHILD_NONE, CHILD_RUNNING, CHILD_DYING };

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const struct opts *opts;
    char **envp;
    char *function_arn;
    bool concurrent; /* max_concurrency > 1: Lambda Managed Instances' behaviour */
    /* child */
    enum child_state child;
    pid_t pid;
    uint64_t generation;
    int64_t spawn_ns;
    bool saw_next;  /* the current child has called /next (its init is over) */
    double init_ms; /* init duration not yet reported in a REPORT line, < 0 when none */
    bool killed_for_timeout;
    long exit_rss_kb;
    struct blob *init_error;
    char init_error_type[128];
    /* invokes */
    struct invtab tab;
    uint64_t tickets;      /* callers that arrived: each takes the next number */
    uint64_t admitted;     /* the ticket whose turn it is: callers start in arrival order */
    unsigned held;         /* invokes the bootstrap has and owes a post for (DELIVERED, ORPHANED) */
    unsigned waiting_next; /* /next calls of the current child blocked for an event */
    bool shutting_down;
    uint64_t seq;
    struct stats st;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        abort(); /* out of memory */
    return p;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void sandbox_init(const struct opts *o, char **child_envp)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timeouts must not follow wall-clock jumps */
    pthread_cond_init(&S.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&S.mu); /* the HTTP threads already run: publish the setup under the lock */
    S.opts = o;
    S.envp = child_envp;
    const char *region = getenv("AWS_REGION");
    char arn[512];
    snprintf(arn, sizeof(arn), "arn:aws:lambda:%s:012345678912:function:%s",
             region && *region ? region : "us-east-1", o->function_name);
    S.function_arn = dup_or_null(arn);
    S.concurrent = o->max_concurrency > 1;
    invtab_init(&S.tab, o->max_concurrency);
    S.init_ms = -1;
    S.st.last_exit_code = -1;
    S.st.last_init_us = -1;
    S.st.max_concurrency = o->max_concurrency;
    pthread_mutex_unlock(&S.mu);
}

/* Caller holds the lock. Returns 0, or the errno value when the bootstrap cannot be started at all. */
static int spawn_locked(void)
{
    pid_t pid;
    int rc = child_spawn(S.opts->child_argv, S.envp, &pid);
    if (rc != 0) {
        fprintf(stderr, "lambda-emu: cannot start %s: %s\n", S.opts->child_argv[0], strerror(rc));
        return rc;
    }
    S.child = CHILD_RUNNING;
    S.pid = pid;
    S.generation++;
    S.waiting_next = 0;
    S.spawn_ns = clk_mono_ns();
    S.saw_next = false;
    S.st.spawns++;
    return 0;
}

void sandbox_start_child(void)
{
    pthread_mutex_lock(&S.mu);
    if (S.child == CHILD_NONE && !S.shutting_down)
        (void)spawn_locked(); /* a failure is logged; the first invoke tries again and reports it */
    pthread_mutex_unlock(&S.mu);
}

static bool held_by_bootstrap(enum inv_state s)
{
    return s == INV_DELIVERED || s == INV_ORPHANED;
}

/* Caller holds the lock. Every state change goes through here, so that the count of invokes the
 * bootstrap holds (what GET /next is checked against, and the in-flight figures) stays exact. */
static void set_state_locked(struct invoke *inv, enum inv_state st)
{
    if (held_by_bootstrap(inv->state))
        S.held--;
    if (held_by_bootstrap(st))
        S.held++;
    inv->state = st;
    if (S.held > S.st.peak_in_flight)
        S.st.peak_in_flight = S.held;
}

/* Caller holds the lock: records the invoke's outcome and wakes its waiter. Takes over body. */
static void complete_locked(struct invoke *inv, enum result_kind kind, struct blob *body)
{
    inv->kind = kind;
    blob_unref(inv->result);
    inv->result = body;
    set_state_locked(inv, INV_DONE);
    pthread_cond_broadcast(&S.cv);
}

/* Caller holds the lock: frees the invoke's slot and wakes the callers waiting for one. */
static void release_locked(struct invoke *inv)
{
    set_state_locked(inv, INV_DONE);
    invtab_remove(&S.tab, inv);
    pthread_cond_broadcast(&S.cv);
}

/* Caller holds the lock: waits for this caller's turn (arrival order) and a free slot. Returns the
 * new invoke, or NULL when the emulator is shutting down. */
static struct invoke *admit_locked(void)
{
    uint64_t ticket = S.tickets++;
    while (!S.shutting_down &&
           (ticket != S.admitted || invtab_full(&S.tab) || S.child == CHILD_DYING))
        pthread_cond_wait(&S.cv, &S.mu);
    if (S.shutting_down)
        return NULL;
    S.admitted++;
    pthread_cond_broadcast(&S.cv); /* the caller after this one may fit too */
    struct invoke *inv = invtab_add(&S.tab);
    inv->order = ticket;
    reqid_new(inv->id);
    return inv;
}

static void queue_locked(struct invoke *inv, struct blob *event, const struct invoke_meta *meta)
{
    inv->event = blob_ref(event);
    inv->trace_id = dup_or_null(meta->trace_id);
    inv->client_context = dup_or_null(meta->client_context);
    inv->tenant_id = dup_or_null(meta->tenant_id);
    inv->deadline_ms = clk_real_ms() + (int64_t)S.opts->timeout_ms;
    set_state_locked(inv, INV_QUEUED);
    pthread_cond_broadcast(&S.cv);
}

static struct timespec abs_mono(int64_t ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

/* Caller holds the lock: one invoke ran out of time. The one-invoke sandbox kills the bootstrap, as
 * Lambda resets the sandbox; the concurrent one must not (other invokes go on), so an invoke the
 * bootstrap has stays ORPHANED, its slot busy, until the bootstrap posts for it. */
static void time_out_locked(struct invoke *inv)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "RequestId: %s Error: Task timed out after %.2f seconds", inv->id,
             (double)S.opts->timeout_ms / 1000.0);
    S.st.timeouts++;
    report_timeout(inv->id, S.opts->timeout_ms);
    bool orphan = S.concurrent && inv->state == INV_DELIVERED;
    complete_locked(inv, RESULT_FUNCTION_ERROR, jbody_error("Sandbox.Timedout", msg));
    if (orphan)
        set_state_locked(inv, INV_ORPHANED);
    if (S.concurrent || S.child != CHILD_RUNNING)
        return;
    S.exit_rss_kb = child_peak_rss_kb(S.pid); /* for this REPORT: the reaper comes later */
    S.killed_for_timeout = true;
    S.child = CHILD_DYING;
    kill(S.pid, SIGKILL);
}

/* Caller holds the lock: waits for a result, the deadline, or shutdown. Returns the REPORT status. */
static const char *await_result_locked(struct invoke *inv)
{
    int64_t deadline_ns = clk_mono_ns() + (int64_t)S.opts->timeout_ms * 1000000;
    struct timespec until = abs_mono(deadline_ns);
    while (inv->state != INV_DONE && !S.shutting_down) {
        int rc = pthread_cond_timedwait(&S.cv, &S.mu, &until);
        if (rc == ETIMEDOUT && inv->state != INV_DONE) {
            time_out_locked(inv);
            return "timeout";
        }
    }
    if (inv->state != INV_DONE)
        complete_locked(inv, RESULT_UNAVAILABLE,
                        jbody_error("ServiceException", "emulator shutting down"));
    return inv->kind == RESULT_FUNCTION_ERROR ? "error" : NULL;
}

/* Caller holds the lock: answers the invoke with the stored init error (which stays stored; see
 * drop_init_error_locked). */
static void serve_init_error_locked(struct invoke *inv)
{
    S.st.errors++;
    copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), S.init_error_type);
    complete_locked(inv, RESULT_FUNCTION_ERROR, blob_ref(S.init_error));
}

/* Caller holds the lock: the init error has been served; the next invoke starts a new bootstrap. */
static void drop_init_error_locked(void)
{
    blob_unref(S.init_error);
    S.init_error = NULL;
}

/* Caller holds the lock: the bootstrap could not be executed (errno rc), worded as Lambda does. */
static void fail_entrypoint_locked(struct invoke *inv, int rc)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "RequestId: %s Error: fork/exec %s: %s", inv->id,
             S.opts->child_argv[0], strerror(rc));
    size_t at = strlen(msg) - strlen(strerror(rc));
    msg[at] = (char)tolower((unsigned char)msg[at]); /* Go's error text starts in lower case */
    S.st.errors++;
    copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), "Runtime.InvalidEntrypoint");
    report_runtime_error(inv->id, msg + strlen("RequestId: ") + REQID_LEN + strlen(" Error: "),
                         "Runtime.InvalidEntrypoint");
    complete_locked(inv, RESULT_FUNCTION_ERROR, jbody_error("Runtime.InvalidEntrypoint", msg));
}

static bool start_invoke_locked(struct invoke *inv, struct blob *event,
                                const struct invoke_meta *meta)
{
    if (S.init_error && S.child == CHILD_NONE) {
        serve_init_error_locked(inv);
        drop_init_error_locked();
        return false;
    }
    int rc = S.child == CHILD_NONE ? spawn_locked() : 0;
    if (rc != 0) {
        fail_entrypoint_locked(inv, rc);
        return false;
    }
    queue_locked(inv, event, meta);
    return true;
}

/* Peak RSS for the REPORT line, read outside the lock: pid is the bootstrap that served the invoke
 * (0 when it has ended, then its rusage figure, exit_rss_kb, is used). */
static long peak_rss_kb(pid_t pid, long exit_rss_kb)
{
    long kb = pid > 0 ? child_peak_rss_kb(pid) : 0;
    return kb > 0 ? kb : exit_rss_kb;
}

/* Caller holds the lock: copies the invoke's outcome for its caller, then frees its slot unless the
 * bootstrap still owes a post for it (ORPHANED: the post, or the bootstrap's end, frees it). */
static void collect_locked(struct invoke *inv, struct invoke_result *r)
{
    r->kind = inv->kind;
    r->body = blob_ref(inv->result);
    memcpy(r->request_id, inv->id, sizeof(r->request_id));
    if (inv->state != INV_ORPHANED)
        release_locked(inv);
}

struct invoke_result sandbox_invoke(struct blob *event, const struct invoke_meta *meta)
{
    struct invoke_result r = {RESULT_UNAVAILABLE, NULL, "", -1, -1};
    pthread_mutex_lock(&S.mu);
    S.st.invoke_requests++;
    struct invoke *inv = admit_locked();
    if (!inv) {
        pthread_mutex_unlock(&S.mu);
        r.body = jbody_error("ServiceException", "emulator shutting down");
        return r;
    }
    S.st.invokes++;
    int64_t start_ns = clk_mono_ns();
    /* Concurrent invokes interleave their lines in stdout: no byte range is one invoke's log. */
    r.log_start = meta->want_log_tail && !S.concurrent ? logtail_mark() : -1;
    report_start(inv->id);
    const char *status = start_invoke_locked(inv, event, meta) ? await_result_locked(inv) : "error";
    struct report_figures f = {(double)(clk_mono_ns() - start_ns) / 1e6, S.opts->memory_mb, 0,
                               S.init_ms, status};
    pid_t pid = S.child == CHILD_RUNNING ? S.pid : 0;
    long exit_rss_kb = S.exit_rss_kb;
    if (S.saw_next || S.child == CHILD_NONE)
        S.init_ms = -1; /* reported once, in the first REPORT after the bootstrap started */
    collect_locked(inv, &r);
    pthread_mutex_unlock(&S.mu);
    f.max_rss_kb = peak_rss_kb(pid, exit_rss_kb);
    report_end(r.request_id, &f);
    r.log_end = r.log_start >= 0 ? logtail_mark() : -1;
    return r;
}

static void fill_delivery_locked(struct invoke *inv, struct delivery *d)
{
    set_state_locked(inv, INV_DELIVERED);
    inv->seq = ++S.seq;
    memcpy(d->request_id, inv->id, sizeof(d->request_id));
    d->deadline_ms = inv->deadline_ms;
    d->function_arn = dup_or_null(S.function_arn);
    d->trace_id = dup_or_null(inv->trace_id);
    d->client_context = dup_or_null(inv->client_context);
    d->tenant_id = dup_or_null(inv->tenant_id);
    d->event = blob_ref(inv->event);
    d->seq = inv->seq;
}

static void note_first_next_locked(void)
{
    if (S.saw_next || S.child != CHILD_RUNNING)
        return;
    S.saw_next = true;
    int64_t ns = clk_mono_ns() - S.spawn_ns;
    S.init_ms = (double)ns / 1e6;
    S.st.last_init_us = ns / 1000;
}

/* Caller holds the lock. In concurrent mode a runtime may hold or await at most N invokes at once:
 * a /next beyond that is refused (and logged), so tests can prove a runtime keeps to the limit. */
static bool too_many_locked(void)
{
    if (!S.concurrent || S.held + S.waiting_next < S.tab.capacity)
        return false;
    S.st.too_many_requests++;
    fprintf(stderr,
            "lambda-emu: GET /next refused (TooManyRequests): %u invokes in flight and %u /next "
            "waiting, AWS_LAMBDA_MAX_CONCURRENCY=%u\n",
            S.held, S.waiting_next, S.tab.capacity);
    return true;
}

enum next_status sandbox_next(struct delivery *d, bool (*peer_gone)(void *), void *peer)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_lock(&S.mu);
    uint64_t gen = S.generation;
    S.st.next_requests++;
    note_first_next_locked();
    if (too_many_locked()) {
        pthread_mutex_unlock(&S.mu);
        return NEXT_TOO_MANY;
    }
    S.waiting_next++;
    struct invoke *inv = NULL;
    while (!S.shutting_down && S.generation == gen && !(inv = invtab_oldest_queued(&S.tab)))
        pthread_cond_wait(&S.cv, &S.mu);
    if (S.generation == gen)
        S.waiting_next--; /* else the count was reset for the new child */
    /* A runtime gives up a waiting /next when it stops (SIGTERM): the event written to that closed
     * socket would look delivered and be lost with the bootstrap's end. */
    enum next_status st = S.shutting_down                          ? NEXT_SHUTDOWN
                          : S.generation != gen || peer_gone(peer) ? NEXT_STALE
                                                                   : NEXT_OK;
    if (st == NEXT_OK)
        fill_delivery_locked(inv, d);
    pthread_mutex_unlock(&S.mu);
    return st;
}

void sandbox_delivery_clean_up(struct delivery *d)
{
    free(d->function_arn);
    free(d->trace_id);
    free(d->client_context);
    free(d->tenant_id);
    blob_unref(d->event);
    memset(d, 0, sizeof(*d));
}

void sandbox_undeliver(uint64_t seq)
{
    pthread_mutex_lock(&S.mu);
    struct invoke *inv = invtab_find_seq(&S.tab, seq);
    if (inv && inv->state == INV_DELIVERED) {
        set_state_locked(inv, INV_QUEUED);
        S.st.redeliveries++;
        pthread_cond_broadcast(&S.cv);
    } else if (inv && inv->state == INV_ORPHANED) {
        release_locked(inv); /* its caller has its answer, and the bootstrap never got the event */
    }
    pthread_mutex_unlock(&S.mu);
}

static struct blob *too_large_result(void)
{
    char msg[128];
    snprintf(msg, sizeof(msg),
             "Response payload size exceeded maximum allowed payload size (%zu bytes).",
             SANDBOX_MAX_PAYLOAD);
    return jbody_error("Function.ResponseSizeTooLarge", msg);
}

static struct blob *error_body(const struct post *p)
{
    if (p->body && p->body->len > 0)
        return blob_ref(p->body);
    return jbody_error(p->error_type ? p->error_type : "Runtime.Unknown", "");
}

/* Caller holds the lock; the post is for an invoke that is not answered yet. */
static int accept_post_locked(struct invoke *inv, const struct post *p, int forced_status)
{
    if (p->too_large || forced_status == 413) {
        S.st.rejected_413++;
        copy_str(S.st.last_error_type, sizeof(S.st.last_error_type),
                 "Function.ResponseSizeTooLarge");
        complete_locked(inv, RESULT_FUNCTION_ERROR, too_large_result());
        return 413;
    }
    if (p->kind == POST_RESPONSE) {
        S.st.responses++;
        complete_locked(inv, RESULT_SUCCESS, blob_ref(p->body));
    } else {
        S.st.errors++;
        copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), p->error_type);
        complete_locked(inv, RESULT_FUNCTION_ERROR, error_body(p));
    }
    return forced_status ? forced_status : 202;
}

/* Caller holds the lock: the bootstrap finally posts for an invoke that timed out (concurrent mode).
 * Its caller already has the timeout answer: the post is dropped and the slot freed. */
static int discard_late_post_locked(struct invoke *inv, const struct post *p, int forced_status)
{
    S.st.late_posts++;
    fprintf(stderr, "lambda-emu: late /%s for RequestId: %s (timed out) discarded\n",
            p->kind == POST_RESPONSE ? "response" : "error", inv->id);
    release_locked(inv);
    if (p->too_large || forced_status == 413)
        return 413;
    return forced_status ? forced_status : 202;
}

int sandbox_post(const struct post *p, int forced_status)
{
    pthread_mutex_lock(&S.mu);
    int status;
    struct invoke *inv = p->request_id ? invtab_find_id(&S.tab, p->request_id) : NULL;
    bool answered = p->request_id && invtab_was_answered(&S.tab, p->request_id);
    if (inv && inv->state == INV_ORPHANED) {
        status = discard_late_post_locked(inv, p, forced_status);
    } else if (!inv && !answered) {
        S.st.rejected_400++;
        status = 400;
    } else if (!inv || inv->state == INV_DONE) {
        S.st.rejected_403++;
        status = 403;
    } else {
        status = accept_post_locked(inv, p, forced_status);
    }
    pthread_mutex_unlock(&S.mu);
    return status;
}

int sandbox_init_error(struct blob *body, const char *error_type)
{
    const char *type = error_type && *error_type ? error_type : "Runtime.Unknown";
    pthread_mutex_lock(&S.mu);
    S.st.init_errors++;
    blob_unref(S.init_error);
    S.init_error = body && body->len ? blob_ref(body) : jbody_error(type, "");
    copy_str(S.init_error_type, sizeof(S.init_error_type), type);
    pthread_mutex_unlock(&S.mu);
    return 202;
}

static void record_exit_locked(int wait_status, const struct rusage *ru)
{
    S.st.exits++;
    S.st.last_exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    S.st.last_exit_signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
    S.exit_rss_kb = ru ? ru->ru_maxrss : 0;
    S.child = CHILD_NONE;
    S.pid = 0;
    S.generation++; /* any /next still waiting belonged to the dead bootstrap */
    S.waiting_next = 0;
}

/* Caller holds the lock: the bootstrap died with this invoke started and unanswered. */
static void fail_invoke_on_exit_locked(struct invoke *inv, int wait_status)
{
    if (S.init_error) {
        serve_init_error_locked(inv);
        return;
    }
    char how[96], reason[160];
    child_describe_exit(wait_status, how, sizeof(how));
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)
        snprintf(reason, sizeof(reason), "Runtime exited without providing a reason");
    else
        snprintf(reason, sizeof(reason), "Runtime exited with error: %s", how);
    char msg[256];
    snprintf(msg, sizeof(msg), "RequestId: %s Error: %s", inv->id, reason);
    S.st.crashes++;
    copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), "Runtime.ExitError");
    report_runtime_error(inv->id, reason, "Runtime.ExitError");
    complete_locked(inv, RESULT_FUNCTION_ERROR, jbody_error("Runtime.ExitError", msg));
}

/* Caller holds the lock: whether the end of the bootstrap fails this unanswered invoke. One it held
 * or was offered (seq: a delivery a fault spoiled, queued again; an earlier bootstrap's end failed
 * those it was offered) does; so does every one when it died in its init (the init error, or
 * Runtime.ExitError, as Lambda answers an invoke whose init failed). One never offered after an init
 * that finished (the bootstrap ended between invokes, e.g. after SIGTERM) waits for the next one. */
static bool fails_on_exit_locked(const struct invoke *inv, bool init_done)
{
    return held_by_bootstrap(inv->state) || inv->seq != 0 || S.init_error || !init_done;
}

/* Caller holds the lock: the bootstrap ended. Orphaned invokes will never be posted for: their
 * slots are freed. With fail (it was not killed on purpose), the invokes fails_on_exit_locked()
 * names fail, with the init error when one was posted. Returns whether an invoke failed. */
static bool settle_invokes_on_exit_locked(int wait_status, bool fail, int64_t spawn_ns,
                                          bool init_done)
{
    bool failed = false;
    for (unsigned i = 0; i < S.tab.capacity; i++) {
        struct invoke *inv = invtab_at(&S.tab, i);
        if (inv && inv->state == INV_ORPHANED) {
            release_locked(inv);
        } else if (inv && inv->state != INV_DONE && fail && fails_on_exit_locked(inv, init_done)) {
            if (!failed && S.init_error)
                report_init_error((double)(clk_mono_ns() - spawn_ns) / 1e6, S.init_error_type);
            fail_invoke_on_exit_locked(inv, wait_status);
            failed = true;
        }
    }
    if (failed && S.init_error)
        drop_init_error_locked(); /* served: the next invoke runs the init again */
    return failed;
}

/* Caller holds the lock, the bootstrap has ended: invokes still queued (their callers wait for an
 * answer, not to start a bootstrap) get a new one, as Lambda starts a new execution environment. */
static void restart_for_queued_locked(void)
{
    struct invoke *inv;
    if (S.shutting_down || (inv = invtab_oldest_queued(&S.tab)) == NULL)
        return;
    int rc = spawn_locked();
    while (rc != 0 && (inv = invtab_oldest_queued(&S.tab)) != NULL)
        fail_entrypoint_locked(inv, rc);
}

void sandbox_child_exited(pid_t pid, int wait_status, const struct rusage *ru)
{
    pthread_mutex_lock(&S.mu);
    if (pid != S.pid || S.pid == 0) {
        pthread_mutex_unlock(&S.mu);
        return;
    }
    bool timed_out = S.killed_for_timeout;
    S.killed_for_timeout = false;
    int64_t spawn_ns = S.spawn_ns;
    bool init_done = S.saw_next;
    record_exit_locked(wait_status, ru);
    bool failed = settle_invokes_on_exit_locked(wait_status, !timed_out && !S.shutting_down,
                                                spawn_ns, init_done);
    if (!failed && S.init_error && !S.shutting_down)
        report_init_error((double)(clk_mono_ns() - spawn_ns) / 1e6, S.init_error_type);
    restart_for_queued_locked();
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
}

pid_t sandbox_shutdown(void)
{
    pthread_mutex_lock(&S.mu);
    S.shutting_down = true;
    pid_t pid = S.child != CHILD_NONE ? S.pid : 0;
    if (pid)
        kill(pid, SIGKILL);
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    return pid;
}

bool sandbox_shutting_down(void)
{
    pthread_mutex_lock(&S.mu);
    bool v = S.shutting_down;
    pthread_mutex_unlock(&S.mu);
    return v;
}

unsigned sandbox_max_concurrency(void)
{
    pthread_mutex_lock(&S.mu);
    unsigned n = S.tab.capacity;
    pthread_mutex_unlock(&S.mu);
    return n;
}

void sandbox_count_connection(bool runtime_api)
{
    pthread_mutex_lock(&S.mu);
    if (runtime_api)
        S.st.connections++;
    else
        S.st.invoke_connections++;
    pthread_mutex_unlock(&S.mu);
}

char *sandbox_stats_json(void)
{
    pthread_mutex_lock(&S.mu);
    S.st.in_flight = S.held;
    S.st.next_waiting = S.waiting_next;
    struct stats copy = S.st;
    long pid = S.child == CHILD_RUNNING ? (long)S.pid : 0;
    pthread_mutex_unlock(&S.mu);
    return stats_json(&copy, fault_fired_count(), pid);
}
