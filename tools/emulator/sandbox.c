/* The emulated execution environment (see sandbox.h).
 *
 * States: an invoke is QUEUED (waiting for /next), DELIVERED (the bootstrap has it) or DONE (a result
 * is recorded). The child is NONE, RUNNING or DYING (SIGKILLed after a timeout, not yet reaped). Each
 * child gets a new generation, so a /next left waiting by a dead child can tell it is stale. */
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
#include "jbody.h"
#include "logtail.h"
#include "report.h"
#include "stats.h"

enum inv_state { INV_QUEUED, INV_DELIVERED, INV_DONE };
enum child_state { CHILD_NONE, CHILD_RUNNING, CHILD_DYING };

struct invoke {
    char id[REQID_LEN + 1];
    struct blob *event;
    char *trace_id, *client_context, *tenant_id;
    int64_t deadline_ms;
    enum inv_state state;
    uint64_t seq;
    enum result_kind kind;
    struct blob *result;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const struct opts *opts;
    char **envp;
    char *function_arn;
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
    /* invoke */
    bool busy;
    bool shutting_down;
    uint64_t seq;
    struct invoke cur;
    char last_id[REQID_LEN +
                 1]; /* the invoke answered last: a late post for it is a 403, not a 400 */
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
    S.opts = o;
    S.envp = child_envp;
    const char *region = getenv("AWS_REGION");
    char arn[512];
    snprintf(arn, sizeof(arn), "arn:aws:lambda:%s:012345678912:function:%s",
             region && *region ? region : "us-east-1", o->function_name);
    S.function_arn = dup_or_null(arn);
    S.init_ms = -1;
    S.st.last_exit_code = -1;
    S.st.last_init_us = -1;
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

/* Caller holds the lock: records the invoke's outcome and wakes its waiter. Takes over body. */
static void complete_locked(enum result_kind kind, struct blob *body)
{
    S.cur.kind = kind;
    blob_unref(S.cur.result);
    S.cur.result = body;
    S.cur.state = INV_DONE;
    pthread_cond_broadcast(&S.cv);
}

static void release_invoke_locked(void)
{
    blob_unref(S.cur.event);
    blob_unref(S.cur.result);
    free(S.cur.trace_id);
    free(S.cur.client_context);
    free(S.cur.tenant_id);
    memset(&S.cur, 0, sizeof(S.cur));
    S.busy = false;
    pthread_cond_broadcast(&S.cv);
}

static void queue_locked(struct blob *event, const struct invoke_meta *meta)
{
    S.cur.event = blob_ref(event);
    S.cur.trace_id = dup_or_null(meta->trace_id);
    S.cur.client_context = dup_or_null(meta->client_context);
    S.cur.tenant_id = dup_or_null(meta->tenant_id);
    S.cur.deadline_ms = clk_real_ms() + (int64_t)S.opts->timeout_ms;
    S.cur.state = INV_QUEUED;
    pthread_cond_broadcast(&S.cv);
}

static struct timespec abs_mono(int64_t ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

/* Caller holds the lock: the invoke ran out of time. Kill the bootstrap, as Lambda resets the sandbox. */
static void time_out_locked(void)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "RequestId: %s Error: Task timed out after %.2f seconds", S.cur.id,
             (double)S.opts->timeout_ms / 1000.0);
    S.st.timeouts++;
    report_timeout(S.cur.id, S.opts->timeout_ms);
    complete_locked(RESULT_FUNCTION_ERROR, jbody_error("Sandbox.Timedout", msg));
    if (S.child == CHILD_RUNNING) {
        S.exit_rss_kb = child_peak_rss_kb(S.pid); /* for this REPORT: the reaper comes later */
        S.killed_for_timeout = true;
        S.child = CHILD_DYING;
        kill(S.pid, SIGKILL);
    }
}

/* Caller holds the lock: waits for a result, the deadline, or shutdown. Returns the REPORT status. */
static const char *await_result_locked(void)
{
    int64_t deadline_ns = clk_mono_ns() + (int64_t)S.opts->timeout_ms * 1000000;
    struct timespec until = abs_mono(deadline_ns);
    while (S.cur.state != INV_DONE && !S.shutting_down) {
        int rc = pthread_cond_timedwait(&S.cv, &S.mu, &until);
        if (rc == ETIMEDOUT && S.cur.state != INV_DONE) {
            time_out_locked();
            return "timeout";
        }
    }
    if (S.cur.state != INV_DONE)
        complete_locked(RESULT_UNAVAILABLE,
                        jbody_error("ServiceException", "emulator shutting down"));
    return S.cur.kind == RESULT_FUNCTION_ERROR ? "error" : NULL;
}

/* Caller holds the lock: answers the invoke with the stored init error (consumed). */
static void serve_init_error_locked(void)
{
    S.st.errors++;
    copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), S.init_error_type);
    complete_locked(RESULT_FUNCTION_ERROR, S.init_error);
    S.init_error = NULL;
}

/* Caller holds the lock: the bootstrap could not be executed (errno rc), worded as Lambda does. */
static void fail_entrypoint_locked(int rc)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "RequestId: %s Error: fork/exec %s: %s", S.cur.id,
             S.opts->child_argv[0], strerror(rc));
    size_t at = strlen(msg) - strlen(strerror(rc));
    msg[at] = (char)tolower((unsigned char)msg[at]); /* Go's error text starts in lower case */
    S.st.errors++;
    copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), "Runtime.InvalidEntrypoint");
    report_runtime_error(S.cur.id, msg + strlen("RequestId: ") + REQID_LEN + strlen(" Error: "),
                         "Runtime.InvalidEntrypoint");
    complete_locked(RESULT_FUNCTION_ERROR, jbody_error("Runtime.InvalidEntrypoint", msg));
}

static bool start_invoke_locked(struct blob *event, const struct invoke_meta *meta)
{
    if (S.init_error && S.child == CHILD_NONE) {
        serve_init_error_locked();
        return false;
    }
    int rc = S.child == CHILD_NONE ? spawn_locked() : 0;
    if (rc != 0) {
        fail_entrypoint_locked(rc);
        return false;
    }
    queue_locked(event, meta);
    return true;
}

/* Peak RSS for the REPORT line, read outside the lock: pid is the bootstrap that served the invoke
 * (0 when it has ended, then its rusage figure, exit_rss_kb, is used). */
static long peak_rss_kb(pid_t pid, long exit_rss_kb)
{
    long kb = pid > 0 ? child_peak_rss_kb(pid) : 0;
    return kb > 0 ? kb : exit_rss_kb;
}

struct invoke_result sandbox_invoke(struct blob *event, const struct invoke_meta *meta)
{
    struct invoke_result r = {RESULT_UNAVAILABLE, NULL, "", -1, -1};
    pthread_mutex_lock(&S.mu);
    S.st.invoke_requests++;
    while ((S.busy || S.child == CHILD_DYING) && !S.shutting_down)
        pthread_cond_wait(&S.cv, &S.mu);
    if (S.shutting_down) {
        pthread_mutex_unlock(&S.mu);
        r.body = jbody_error("ServiceException", "emulator shutting down");
        return r;
    }
    S.busy = true;
    S.st.invokes++;
    int64_t start_ns = clk_mono_ns();
    reqid_new(S.cur.id);
    r.log_start = meta->want_log_tail ? logtail_mark() : -1;
    report_start(S.cur.id);
    const char *status = start_invoke_locked(event, meta) ? await_result_locked() : "error";
    struct report_figures f = {(double)(clk_mono_ns() - start_ns) / 1e6, S.opts->memory_mb, 0,
                               S.init_ms, status};
    pid_t pid = S.child == CHILD_RUNNING ? S.pid : 0;
    long exit_rss_kb = S.exit_rss_kb;
    if (S.saw_next || S.child == CHILD_NONE)
        S.init_ms = -1; /* reported once, in the first REPORT after the bootstrap started */
    r.kind = S.cur.kind;
    r.body = blob_ref(S.cur.result);
    memcpy(r.request_id, S.cur.id, sizeof(r.request_id));
    memcpy(S.last_id, S.cur.id, sizeof(S.last_id));
    release_invoke_locked();
    pthread_mutex_unlock(&S.mu);
    f.max_rss_kb = peak_rss_kb(pid, exit_rss_kb);
    report_end(r.request_id, &f);
    r.log_end = r.log_start >= 0 ? logtail_mark() : -1;
    return r;
}

static void fill_delivery_locked(struct delivery *d)
{
    S.cur.state = INV_DELIVERED;
    S.cur.seq = ++S.seq;
    memcpy(d->request_id, S.cur.id, sizeof(d->request_id));
    d->deadline_ms = S.cur.deadline_ms;
    d->function_arn = dup_or_null(S.function_arn);
    d->trace_id = dup_or_null(S.cur.trace_id);
    d->client_context = dup_or_null(S.cur.client_context);
    d->tenant_id = dup_or_null(S.cur.tenant_id);
    d->event = blob_ref(S.cur.event);
    d->seq = S.cur.seq;
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

enum next_status sandbox_next(struct delivery *d)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_lock(&S.mu);
    uint64_t gen = S.generation;
    S.st.next_requests++;
    note_first_next_locked();
    while (!S.shutting_down && S.generation == gen && !(S.busy && S.cur.state == INV_QUEUED))
        pthread_cond_wait(&S.cv, &S.mu);
    enum next_status st = S.shutting_down       ? NEXT_SHUTDOWN
                          : S.generation != gen ? NEXT_STALE
                                                : NEXT_OK;
    if (st == NEXT_OK)
        fill_delivery_locked(d);
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
    if (S.busy && S.cur.seq == seq && S.cur.state == INV_DELIVERED) {
        S.cur.state = INV_QUEUED;
        S.st.redeliveries++;
        pthread_cond_broadcast(&S.cv);
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

/* Caller holds the lock; the post is for the current, unanswered invoke. */
static int accept_post_locked(const struct post *p, int forced_status)
{
    if (p->too_large || forced_status == 413) {
        S.st.rejected_413++;
        copy_str(S.st.last_error_type, sizeof(S.st.last_error_type),
                 "Function.ResponseSizeTooLarge");
        complete_locked(RESULT_FUNCTION_ERROR, too_large_result());
        return 413;
    }
    if (p->kind == POST_RESPONSE) {
        S.st.responses++;
        complete_locked(RESULT_SUCCESS, blob_ref(p->body));
    } else {
        S.st.errors++;
        copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), p->error_type);
        complete_locked(RESULT_FUNCTION_ERROR, error_body(p));
    }
    return forced_status ? forced_status : 202;
}

int sandbox_post(const struct post *p, int forced_status)
{
    pthread_mutex_lock(&S.mu);
    int status;
    bool current = S.busy && p->request_id && strcmp(p->request_id, S.cur.id) == 0;
    bool answered = p->request_id && S.last_id[0] && strcmp(p->request_id, S.last_id) == 0;
    if (!current && !answered) {
        S.st.rejected_400++;
        status = 400;
    } else if (answered || S.cur.state == INV_DONE) {
        S.st.rejected_403++;
        status = 403;
    } else {
        status = accept_post_locked(p, forced_status);
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
}

/* Caller holds the lock: the bootstrap died during an invoke without answering it. */
static void fail_invoke_on_exit_locked(int wait_status)
{
    double init_ms = (double)(clk_mono_ns() - S.spawn_ns) / 1e6;
    if (S.init_error) {
        report_init_error(init_ms, S.init_error_type);
        serve_init_error_locked();
        return;
    }
    char how[96], reason[160];
    child_describe_exit(wait_status, how, sizeof(how));
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)
        snprintf(reason, sizeof(reason), "Runtime exited without providing a reason");
    else
        snprintf(reason, sizeof(reason), "Runtime exited with error: %s", how);
    char msg[256];
    snprintf(msg, sizeof(msg), "RequestId: %s Error: %s", S.cur.id, reason);
    S.st.crashes++;
    copy_str(S.st.last_error_type, sizeof(S.st.last_error_type), "Runtime.ExitError");
    report_runtime_error(S.cur.id, reason, "Runtime.ExitError");
    complete_locked(RESULT_FUNCTION_ERROR, jbody_error("Runtime.ExitError", msg));
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
    record_exit_locked(wait_status, ru);
    if (S.busy && S.cur.state != INV_DONE && !timed_out && !S.shutting_down)
        fail_invoke_on_exit_locked(wait_status);
    else if (S.init_error && !S.shutting_down)
        report_init_error((double)(clk_mono_ns() - spawn_ns) / 1e6, S.init_error_type);
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
    struct stats copy = S.st;
    long pid = S.child == CHILD_RUNNING ? (long)S.pid : 0;
    pthread_mutex_unlock(&S.mu);
    return stats_json(&copy, fault_fired_count(), pid);
}
