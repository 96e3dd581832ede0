/* Bootstrap child process management (see child.h). */
#include "child.h"

#include <ctype.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ENV 4096

struct env_list {
    char **vars;
    size_t n;
};

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort(); /* out of memory */
    return p;
}

static bool has_key(const char *var, const char *key)
{
    size_t n = strlen(key);
    return strncmp(var, key, n) == 0 && var[n] == '=';
}

static const char *const always_set[] = {
    "AWS_LAMBDA_RUNTIME_API",          "AWS_LAMBDA_FUNCTION_NAME",  "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_INITIALIZATION_TYPE",  "_X_AMZN_TRACE_ID",
};

/* Whether the emulator sets var itself rather than passing on its own value. */
static bool overridden(const char *var, const struct opts *o)
{
    if (o->max_concurrency_option && has_key(var, OPTS_MAX_CONCURRENCY_VAR))
        return true; /* --max-concurrency sets it */
    for (size_t i = 0; i < sizeof(always_set) / sizeof(always_set[0]); i++)
        if (has_key(var, always_set[i]))
            return true;
    return false;
}

static void add(struct env_list *e, const char *key, const char *value)
{
    if (e->n + 1 >= MAX_ENV)
        return; /* absurd environments are cut rather than overflowing */
    size_t len = strlen(key) + strlen(value) + 2;
    char *var = malloc(len);
    if (!var)
        abort();
    snprintf(var, len, "%s=%s", key, value);
    e->vars[e->n++] = var;
}

static void add_default(struct env_list *e, const char *key, const char *value)
{
    const char *cur = getenv(key);
    if (!cur || !*cur)
        add(e, key, value);
}

static void add_log_stream(struct env_list *e)
{
    char stream[96];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    unsigned rnd = (unsigned)getpid() * 2654435761u ^ (unsigned)now;
    snprintf(stream, sizeof(stream), "%04d/%02d/%02d/[$LATEST]%08x%08x", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, rnd, rnd ^ 0x5bd1e995u);
    add(e, "AWS_LAMBDA_LOG_STREAM_NAME", stream);
}

static void add_lambda_vars(struct env_list *e, const struct opts *o, const char *runtime_api)
{
    char buf[512];
    add(e, "AWS_LAMBDA_RUNTIME_API", runtime_api);
    add(e, "AWS_LAMBDA_FUNCTION_NAME", o->function_name);
    add(e, "AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    snprintf(buf, sizeof(buf), "%u", (unsigned)o->memory_mb);
    add(e, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", buf);
    snprintf(buf, sizeof(buf), "/aws/lambda/%s", o->function_name);
    add(e, "AWS_LAMBDA_LOG_GROUP_NAME", buf);
    add_log_stream(e);
    add(e, "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    if (o->max_concurrency_option) {
        snprintf(buf, sizeof(buf), "%u", (unsigned)o->max_concurrency);
        add(e, OPTS_MAX_CONCURRENCY_VAR, buf);
    }
    add_default(e, "_HANDLER", "function.handler");
    add_default(e, "AWS_REGION", "us-east-1");
    add_default(e, "AWS_DEFAULT_REGION", "us-east-1");
    char *copy = xstrdup(o->child_argv[0]); /* dirname may modify its argument */
    char dir[4096];
    if (realpath(dirname(copy), dir))
        add_default(e, "LAMBDA_TASK_ROOT", dir);
    free(copy);
}

char **child_build_env(const struct opts *o, const char *runtime_api)
{
    struct env_list e = {calloc(MAX_ENV, sizeof(char *)), 0};
    if (!e.vars)
        abort();
    for (char **v = environ; *v && e.n + 32 < MAX_ENV; v++)
        if (!overridden(*v, o))
            e.vars[e.n++] = xstrdup(*v);
    add_lambda_vars(&e, o, runtime_api);
    e.vars[e.n] = NULL;
    return e.vars;
}

int child_spawn(char **argv, char **envp, pid_t *pid)
{
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGCHLD);
    posix_spawnattr_init(&attr);
    /* The emulator blocks these signals in all its threads; the bootstrap must get a clean slate. */
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawn(pid, argv[0], &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

void child_describe_exit(int wait_status, char *buf, size_t cap)
{
    if (WIFEXITED(wait_status)) {
        snprintf(buf, cap, "exit status %d", WEXITSTATUS(wait_status));
        return;
    }
    if (!WIFSIGNALED(wait_status)) {
        snprintf(buf, cap, "unknown wait status %d", wait_status);
        return;
    }
    /* Lambda (Go's os.ProcessState) writes the signal's description in lower case. */
    const char *desc = strsignal(WTERMSIG(wait_status));
    int n = snprintf(buf, cap, "signal: %s", desc ? desc : "unknown");
    size_t prefix = strlen("signal: ");
    if (n > 0 && cap > prefix + 1)
        buf[prefix] = (char)tolower((unsigned char)buf[prefix]);
}

long child_peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    long kb = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}
