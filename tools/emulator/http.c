/* libmicrohttpd glue (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_INITIAL_CAP 4096

void http_body_init(struct http_body *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

static void grow(struct http_body *b, size_t need)
{
    size_t cap = b->cap ? b->cap : BODY_INITIAL_CAP;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->ptr, cap);
    if (!p)
        abort(); /* out of memory */
    b->ptr = p;
    b->cap = cap;
}

void http_body_append(struct http_body *b, const char *data, size_t n)
{
    if (b->too_large || n == 0)
        return;
    if (n > b->max - b->len) {
        b->too_large = true; /* keep reading the upload, store nothing more */
        free(b->ptr);
        b->ptr = NULL;
        b->len = b->cap = 0;
        return;
    }
    if (b->len + n + 1 > b->cap)
        grow(b, b->len + n + 1);
    memcpy(b->ptr + b->len, data, n);
    b->len += n;
}

bool http_body_collect(struct http_body *b, const char *upload, size_t *upload_size)
{
    if (*upload_size == 0)
        return false;
    http_body_append(b, upload, *upload_size);
    *upload_size = 0;
    return true;
}

struct blob *http_body_take(struct http_body *b)
{
    if (b->too_large)
        return NULL;
    if (!b->ptr)
        grow(b, 1);
    struct blob *blob = blob_take(b->ptr, b->len);
    b->ptr = NULL;
    b->len = b->cap = 0;
    return blob;
}

void http_body_clean_up(struct http_body *b)
{
    free(b->ptr);
    memset(b, 0, sizeof(*b));
}

/* libmicrohttpd's own messages, prefixed. We close connections on purpose (injected resets, requests
 * of a dead bootstrap, shutdown) by returning MHD_NO or a reader error; its notes about those are
 * noise, so they are dropped. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (strstr(msg, "Application reported internal error") != NULL ||
        strstr(msg, "application reported error generating data") != NULL)
        return;
    fprintf(stderr, "lambda-emu: libmicrohttpd: %s", msg);
}

struct MHD_Daemon *http_start(uint16_t port, MHD_AccessHandlerCallback handler,
                              MHD_RequestCompletedCallback completed,
                              MHD_NotifyConnectionCallback notify, uint16_t *bound_port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* never reachable from outside the machine */
    /* One thread per connection: a long-polling /next or a waiting invoke blocks only its own thread. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port,
        NULL, NULL, handler, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* must come first */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, notify, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 0u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024, MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return d;
}

static void release_blob(void *cls)
{
    blob_unref(cls);
}

struct MHD_Response *http_blob_response(struct blob *b)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
        b->len, b->data, release_blob, blob_ref(b));
    if (!r)
        abort(); /* out of memory */
    return r;
}

void http_header(struct MHD_Response *r, const char *name, const char *value)
{
    if (MHD_add_response_header(r, name, value) != MHD_YES)
        abort();
}

enum MHD_Result http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result http_queue_json(struct MHD_Connection *c, unsigned status, const char *json)
{
    struct blob *b = blob_from_str(json);
    struct MHD_Response *r = http_blob_response(b);
    blob_unref(b);
    http_header(r, "Content-Type", "application/json");
    return http_queue(c, status, r);
}

void http_arm_reset(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info)
        return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(info->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

bool http_peer_gone(void *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info)
        return false;
    struct pollfd p = {.fd = info->connect_fd, .events = POLLIN | POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
