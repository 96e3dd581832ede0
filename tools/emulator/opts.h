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
    char **child_argv; /* BOOTSTRAP [ARGS...], NULL-terminated */
};

/* Parses argv into *o. Every pointer stored in *o points into argv (or a static default) and lives as
 * long as argv. --fault options are armed in the fault registry as they are read. On error prints a
 * message to stderr and returns false; --help prints the usage and exits 0. */
bool opts_parse(int argc, char **argv, struct opts *o);

#endif
