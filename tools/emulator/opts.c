/* Command-line parsing for lambda-emu (see opts.h). */
#include "opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "num.h"

#define DEFAULT_TIMEOUT_MS 300000u
#define MAX_TIMEOUT_MS (15u * 60u * 1000u * 4u) /* generous: tests may want long timeouts */

static const char usage[] =
    "usage: lambda-emu [options] -- BOOTSTRAP [ARGS...]\n"
    "A local AWS Lambda emulator: the Runtime API and the Invoke API on 127.0.0.1.\n"
    "  --runtime-api-port N  Runtime API port (default 9001, 0 = ephemeral)\n"
    "  --invoke-port N       Invoke API port (default 8080, 0 = ephemeral)\n"
    "  --port-file PATH      write runtime_api=HOST:PORT and invoke=HOST:PORT once listening\n"
    "  --timeout-ms N        function timeout (default AWS_LAMBDA_FUNCTION_TIMEOUT s, else 300 s)\n"
    "  --function-name NAME  AWS_LAMBDA_FUNCTION_NAME (default \"function\")\n"
    "  --memory-mb N         AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128)\n"
    "  --fault SPEC          arm a fault, NAME[=N][:COUNT] (repeatable; see README.md)\n"
    "  --max-concurrency N   invokes in flight at once, 1..1024 (default "
    "AWS_LAMBDA_MAX_CONCURRENCY,\n"
    "                        else 1; also sets that variable for the bootstrap)\n";

/* Bounded decimal: 1..9 digits and at most max. */
static bool parse_num(const char *s, uint32_t max, uint32_t *out)
{
    return num_parse_u32(s, strlen(s), max, out);
}

static void set_defaults(struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->runtime_api_port = 9001;
    o->invoke_port = 8080;
    o->function_name = getenv("AWS_LAMBDA_FUNCTION_NAME");
    if (!o->function_name || !*o->function_name)
        o->function_name = "function";
    o->memory_mb = 128;
    o->max_concurrency = 1;
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    uint32_t s;
    const char *env = getenv("AWS_LAMBDA_FUNCTION_TIMEOUT");
    if (env && parse_num(env, MAX_TIMEOUT_MS / 1000u, &s) && s > 0)
        o->timeout_ms = s * 1000u;
}

static bool set_port(const char *v, uint16_t *port)
{
    uint32_t n;
    if (!parse_num(v, 65535u, &n))
        return false;
    *port = (uint16_t)n;
    return true;
}

static bool apply(struct opts *o, const char *name, const char *v)
{
    uint32_t n;
    if (strcmp(name, "--runtime-api-port") == 0)
        return set_port(v, &o->runtime_api_port);
    if (strcmp(name, "--invoke-port") == 0)
        return set_port(v, &o->invoke_port);
    if (strcmp(name, "--port-file") == 0)
        return (o->port_file = v), *v != '\0';
    if (strcmp(name, "--function-name") == 0)
        return (o->function_name = v), *v != '\0';
    if (strcmp(name, "--timeout-ms") == 0) {
        if (!parse_num(v, MAX_TIMEOUT_MS, &n) || n == 0)
            return false;
        return (o->timeout_ms = n), true;
    }
    if (strcmp(name, "--memory-mb") == 0) {
        if (!parse_num(v, 10240u, &n) || n < 1)
            return false;
        return (o->memory_mb = n), true;
    }
    if (strcmp(name, "--max-concurrency") == 0) {
        if (!parse_num(v, OPTS_MAX_CONCURRENCY_LIMIT, &n) || n < 1)
            return false;
        o->max_concurrency_option = true;
        return (o->max_concurrency = n), true;
    }
    if (strcmp(name, "--fault") == 0) {
        enum fault_status st = fault_arm(v, strlen(v));
        if (st != FAULT_OK)
            fprintf(stderr, "lambda-emu: --fault %s: %s\n", v, fault_status_str(st));
        return st == FAULT_OK;
    }
    return false;
}

static bool known(const char *name)
{
    static const char *const names[] = {
        "--runtime-api-port", "--invoke-port", "--port-file", "--function-name",
        "--timeout-ms",       "--memory-mb",   "--fault",     "--max-concurrency"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* Copies at most 64 bytes of s into out (cap > 68) with anything unprintable shown as '?', so that a
 * hostile value can neither flood nor forge the error line that quotes it. */
static void printable_prefix(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s[n] && n < 64 && n + 4 < cap; n++)
        out[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
    snprintf(out + n, cap - n, "%s", s[n] ? "..." : "");
}

/* AWS_LAMBDA_MAX_CONCURRENCY, as Lambda sets it on Managed Instances: a plain decimal 1..1024. Read
 * through a bounded length, so any value, however long, costs at most 10 bytes of scanning. */
static bool concurrency_from_env(struct opts *o)
{
    const char *v = getenv(OPTS_MAX_CONCURRENCY_VAR);
    uint32_t n;
    if (!v)
        return true; /* unset: one invoke at a time */
    if (num_parse_u32(v, strnlen(v, 10), OPTS_MAX_CONCURRENCY_LIMIT, &n) && n >= 1) {
        o->max_concurrency = n;
        return true;
    }
    char shown[72];
    printable_prefix(v, shown, sizeof(shown));
    fprintf(stderr, "lambda-emu: invalid %s=\"%s\": expected a plain decimal number from 1 to %u\n",
            OPTS_MAX_CONCURRENCY_VAR, shown, OPTS_MAX_CONCURRENCY_LIMIT);
    return false;
}

bool opts_parse(int argc, char **argv, struct opts *o)
{
    set_defaults(o);
    int i = 1;
    while (i < argc && argv[i][0] == '-' && argv[i][1] == '-') {
        const char *name = argv[i];
        if (strcmp(name, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(name, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (!known(name)) {
            fprintf(stderr, "lambda-emu: unknown option %s\n%s", name, usage);
            return false;
        }
        if (i + 1 >= argc || !apply(o, name, argv[i + 1])) {
            fprintf(stderr, "lambda-emu: bad or missing value for %s\n", name);
            return false;
        }
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "lambda-emu: no bootstrap given\n%s", usage);
        return false;
    }
    o->child_argv = &argv[i];
    return o->max_concurrency_option || concurrency_from_env(o);
}
