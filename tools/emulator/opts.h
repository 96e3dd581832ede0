/* Command line of lambda-emu: `lambda-emu [options] -- BOOTSTRAP [ARGS...]`. */
#ifndef EMU_OPTS_H
#define EMU_OPTS_H

#include <stdbool.h>
#include <stdint.h>

struct opts {
    uint16_t runtime_api_port; /* 0 = ephemeral */
    uint16_t invoke_port;      /* 0 = ephemeral */
    const char *port_file;     /* NULL = none */
    uint32_t timeout_ms;
    const char *function_name;
    uint32_t memory_mb;
    /* Invokes in flight at once (AWS_LAMBDA_MAX_CONCURRENCY or --max-concurrency, 1..1024); 1 is
     * the classic one-at-a-time sandbox, more is Lambda Managed Instances' concurrent mode. */
    uint32_t max_concurrency;
    bool max_concurrency_option; /* given as --max-concurrency: the child gets it as the variable */
    char **child_argv;           /* BOOTSTRAP [ARGS...], NULL-terminated */
};

#define OPTS_MAX_CONCURRENCY_VAR "AWS_LAMBDA_MAX_CONCURRENCY"
#define OPTS_MAX_CONCURRENCY_LIMIT 1024u

/* Parses argv into *o. Every pointer stored in *o points into argv (or a static default) and lives as
 * long as argv. --fault options are armed in the fault registry as they are read. On error prints a
 * message to stderr and returns false (also for an invalid AWS_LAMBDA_MAX_CONCURRENCY when no
 * --max-concurrency overrides it); --help prints the usage and exits 0. */
bool opts_parse(int argc, char **argv, struct opts *o);

#endif
