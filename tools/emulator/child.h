/* The bootstrap child process: its Lambda environment, spawning, and describing how it ended. */
#ifndef EMU_CHILD_H
#define EMU_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "opts.h"

/* Builds the child's environment: this process's environment, without _X_AMZN_TRACE_ID (the runtime
 * sets it per invoke), plus the Lambda variables (AWS_LAMBDA_RUNTIME_API=runtime_api and those from
 * o, AWS_LAMBDA_MAX_CONCURRENCY among them when --max-concurrency gave it). Returns a heap
 * NULL-terminated array of heap strings owned by the caller for the life of the process (it is never
 * freed: the emulator spawns from it until it exits). */
char **child_build_env(const struct opts *o, const char *runtime_api);

/* Starts argv[0] with envp, stdin from /dev/null, stdout/stderr inherited, signals unblocked.
 * Returns 0 and *pid, or an errno value. */
int child_spawn(char **argv, char **envp, pid_t *pid);

/* Writes how the child ended as Lambda words it: "exit status 1", "signal: segmentation fault". */
void child_describe_exit(int wait_status, char *buf, size_t cap);

/* Peak resident set of a running process in KiB from /proc/PID/status (VmHWM), 0 when unknown. */
long child_peak_rss_kb(pid_t pid);

#endif
