/* Cold-start probe: spawns a program many times and measures, per run, the time from posix_spawn to
 * the moment its first HTTP request line arrives on a loopback listener posing as the Lambda Runtime
 * API (mode "next"), or to its exit (mode "exit", for the empty baseline program). Prints a line
 * with every sample and a key=value line with the median and spread, in microseconds, for
 * scripts/coldstart-bench.
 *
 *   lr_coldstart_probe [--runs N] [--warmup N] [--mode next|exit] [--timeout-ms N] [--cpu N]
 *                      -- PROGRAM [ARGS]
 *
 * The child gets AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT and stdout/stderr on /dev/null; after its first
 * request line the probe kills it, so every run is a fresh process (a cold start). --cpu N pins the
 * probe and so every child (affinity is inherited) to CPU N: without it the scheduler's choice of
 * the same or the other CPU for the child splits the samples into two clusters tens of microseconds
 * apart, and the medians (and ratios) swing with the mix. */
#define _GNU_SOURCE /* sched_setaffinity */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNS 100000
#define LINE_CAP 1024 /* a request line longer than this is not a Runtime API call */

enum probe_mode { PROBE_NEXT, PROBE_EXIT };

struct probe_opts {
    long runs;
    long warmup;
    long timeout_ms;
    long cpu; /* -1: not pinned */
    enum probe_mode mode;
    char **argv; /* the program and its arguments, borrowed from main's argv */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Bounded decimal parser (no strtol: the value comes from the command line). */
static bool parse_count(const char *s, long max, long *out)
{
    long v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

static int usage(void)
{
    fputs("usage: lr_coldstart_probe [--runs N] [--warmup N] [--mode next|exit] [--timeout-ms N]"
          " [--cpu N] -- PROGRAM [ARGS...]\n",
          stderr);
    return 2;
}

static bool parse_opt(const char *name, const char *value, struct probe_opts *o)
{
    if (strcmp(name, "--runs") == 0)
        return parse_count(value, MAX_RUNS, &o->runs) && o->runs > 0;
    if (strcmp(name, "--warmup") == 0)
        return parse_count(value, MAX_RUNS, &o->warmup);
    if (strcmp(name, "--timeout-ms") == 0)
        return parse_count(value, 600000, &o->timeout_ms) && o->timeout_ms > 0;
    if (strcmp(name, "--cpu") == 0)
        return parse_count(value, CPU_SETSIZE - 1, &o->cpu);
    if (strcmp(name, "--mode") == 0) {
        if (strcmp(value, "next") == 0 || strcmp(value, "exit") == 0) {
            o->mode = strcmp(value, "next") == 0 ? PROBE_NEXT : PROBE_EXIT;
            return true;
        }
    }
    return false;
}

static bool parse_args(int argc, char **argv, struct probe_opts *o)
{
    *o = (struct probe_opts){
        .runs = 200, .warmup = 5, .timeout_ms = 5000, .cpu = -1, .mode = PROBE_NEXT};
    int i = 1;
    for (; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (!parse_opt(argv[i], argv[i + 1], o))
            return false;
    }
    if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc)
        return false;
    o->argv = &argv[i + 1];
    return true;
}

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("lr_coldstart_probe: listen");
        exit(1);
    }
    /* Wake the probe when the request arrives, not at connect: one wake-up per run instead of two,
     * and no accept() inside the measured time (Linux; elsewhere the option is ignored). */
    int defer_s = 5;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof(defer_s));
    *port = ntohs(sa.sin_port);
    return fd;
}

static pid_t spawn_child(char **argv)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "lr_coldstart_probe: cannot spawn %s: %s\n", argv[0], strerror(rc));
        exit(1);
    }
    return pid;
}

/* Waits for fd to become readable until deadline_ns; false on timeout. */
static bool wait_readable(int fd, int64_t deadline_ns)
{
    for (;;) {
        int64_t left_ms = (deadline_ns - now_ns()) / 1000000;
        if (left_ms <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left_ms);
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return false;
    }
}

/* Accepts the child's connection and reads up to the end of its first request line. Returns the
 * arrival time in ns, or -1 (timeout, early close, or a first request that is not GET .../next). */
static int64_t first_request_ns(int lfd, int64_t deadline_ns)
{
    char line[LINE_CAP];
    size_t len = 0;
    if (!wait_readable(lfd, deadline_ns))
        return -1;
    int cfd = accept(lfd, NULL, NULL);
    if (cfd < 0)
        return -1;
    while (len < sizeof(line) - 1 && wait_readable(cfd, deadline_ns)) {
        ssize_t n = read(cfd, line + len, sizeof(line) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = '\0';
        if (strstr(line, "\r\n") != NULL) {
            int64_t t = now_ns();
            close(cfd);
            return strncmp(line, "GET ", 4) == 0 && strstr(line, "/runtime/invocation/next") ? t
                                                                                             : -1;
        }
    }
    close(cfd);
    return -1;
}

/* One cold start: returns the spawn->event time in ns, or -1 on failure. */
static int64_t run_once(const struct probe_opts *o, int lfd)
{
    int status = 0;
    int64_t t0 = now_ns();
    pid_t pid = spawn_child(o->argv);
    int64_t t1;
    if (o->mode == PROBE_EXIT) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        t1 = now_ns();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t1 - t0 : -1;
    }
    t1 = first_request_ns(lfd, t0 + (int64_t)o->timeout_ms * 1000000);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return t1 < 0 ? -1 : t1 - t0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Line 1: every sample in run order (scripts/coldstart-bench pools rounds); line 2: the summary. */
static void report(int64_t *ns, long n)
{
    printf("samples_us=");
    for (long i = 0; i < n; i++)
        printf(i ? ",%.1f" : "%.1f", (double)ns[i] / 1e3);
    printf("\n");
    qsort(ns, (size_t)n, sizeof(*ns), cmp_i64);
    double median = n % 2 ? (double)ns[n / 2] : ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2.0;
    printf("runs=%ld median_us=%.1f p10_us=%.1f p90_us=%.1f min_us=%.1f max_us=%.1f\n", n,
           median / 1e3, (double)ns[n / 10] / 1e3, (double)ns[(n * 9) / 10] / 1e3,
           (double)ns[0] / 1e3, (double)ns[n - 1] / 1e3);
}

int main(int argc, char **argv)
{
    struct probe_opts o;
    uint16_t port;
    char api[32];
    if (!parse_args(argc, argv, &o))
        return usage();
    if (o.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)o.cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0) {
            perror("lr_coldstart_probe: --cpu");
            return 1;
        }
    }
    int lfd = listen_loopback(&port);
    snprintf(api, sizeof(api), "127.0.0.1:%u", (unsigned)port);
    setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
    int64_t *ns = calloc((size_t)o.runs, sizeof(*ns));
    if (ns == NULL)
        abort();
    int rc = 0;
    for (long i = 0; i < o.warmup + o.runs; i++) {
        int64_t t = run_once(&o, lfd);
        if (t < 0) {
            fprintf(stderr, "lr_coldstart_probe: run %ld of %s failed (no GET /next or bad exit)\n",
                    i, o.argv[0]);
            rc = 1;
            break;
        }
        if (i >= o.warmup)
            ns[i - o.warmup] = t;
    }
    if (rc == 0)
        report(ns, o.runs);
    free(ns);
    close(lfd);
    return rc;
}
