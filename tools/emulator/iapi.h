/* The Invoke API served to callers (curl, awscli, tests): POST
 * /2015-03-31/functions/{name}/invocations, plus the emulator's own POST /emulator/faults and
 * GET /emulator/stats. */
#ifndef EMU_IAPI_H
#define EMU_IAPI_H

#include <stdint.h>

#include <microhttpd.h>

/* Starts the daemon on 127.0.0.1:port (0 = ephemeral); returns NULL on failure, else the daemon
 * (stopped with MHD_stop_daemon) and the bound port. */
struct MHD_Daemon *iapi_start(uint16_t port, uint16_t *bound_port);

/* Waits up to timeout_ms for every invoke request to be answered and sent (used at shutdown, after
 * sandbox_shutdown() woke them, so that callers get their 503 before the sockets are closed). */
void iapi_drain(unsigned timeout_ms);

#endif
