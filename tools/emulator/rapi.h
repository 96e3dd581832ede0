/* The Lambda Runtime API (2018-06-01) served to the bootstrap: /next, /response, /error, /init/error,
 * with the /next and post faults of fault.h applied. */
#ifndef EMU_RAPI_H
#define EMU_RAPI_H

#include <stdint.h>

#include <microhttpd.h>

/* Starts the daemon on 127.0.0.1:port (0 = ephemeral); returns NULL on failure, else the daemon
 * (stopped with MHD_stop_daemon) and the bound port. */
struct MHD_Daemon *rapi_start(uint16_t port, uint16_t *bound_port);

#endif
