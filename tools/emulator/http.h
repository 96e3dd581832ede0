/* libmicrohttpd glue shared by the two APIs: loopback daemons, capped request bodies, and responses
 * that send a blob without copying it. */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "blob.h"

/* A request body being received. Stops storing (and sets too_large) past max bytes, so a client can
 * never make the emulator hold more than max + the growth slack. */
struct http_body {
    char *ptr;
    size_t len, cap, max;
    bool too_large;
};

void http_body_init(struct http_body *b, size_t max);
void http_body_append(struct http_body *b, const char *data, size_t n);
/* For an access handler: libmicrohttpd hands the body over in pieces and then calls once more with
 * none. Appends the piece (if any), marks it consumed, and returns true while there was one, so the
 * handler answers only when the body is complete. */
bool http_body_collect(struct http_body *b, const char *upload, size_t *upload_size);
/* Moves the body into a new blob (the caller owns the reference), or NULL when it was too large;
 * the body is left empty. */
struct blob *http_body_take(struct http_body *b);
void http_body_clean_up(struct http_body *b);

/* Starts a thread-per-connection daemon on 127.0.0.1:port (0 = ephemeral) with no idle timeout (the
 * Runtime API's /next is a long poll). Returns NULL on failure, else the daemon, owned by the caller
 * until MHD_stop_daemon(), and the bound port. */
struct MHD_Daemon *http_start(uint16_t port, MHD_AccessHandlerCallback handler,
                              MHD_RequestCompletedCallback completed,
                              MHD_NotifyConnectionCallback notify, uint16_t *bound_port);

/* A response sending b without a copy: it takes its own reference to b, dropped when libmicrohttpd
 * is done with the response. The caller owns the response until it passes it to http_queue(). */
struct MHD_Response *http_blob_response(struct blob *b);

/* Adds a header; aborts when libmicrohttpd refuses (only on out-of-memory or a bad header). */
void http_header(struct MHD_Response *r, const char *name, const char *value);

/* Queues r with status, releases the caller's ownership of r, and returns libmicrohttpd's verdict. */
enum MHD_Result http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);

/* Queues a JSON body made of the C string json. */
enum MHD_Result http_queue_json(struct MHD_Connection *c, unsigned status, const char *json);

/* Makes the next close of c's socket send a TCP reset (SO_LINGER 0) instead of a clean FIN. */
void http_arm_reset(struct MHD_Connection *c);

/* Whether the client of connection (a struct MHD_Connection *, untyped to serve as a callback's
 * argument) has closed or reset it: a long poll it gave up. */
bool http_peer_gone(void *connection);

#endif
