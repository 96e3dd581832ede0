/* Parser of the Runtime API /next response headers (internal; also the fuzzing entry point).
 * Header lines are fed one at a time, exactly as libcurl's header callback delivers them; the values
 * of the headers the runtime knows are copied into storage owned by struct lr_headers, and the views
 * lr_headers_get() returns stay valid (NUL-terminated) until the next parse_line/reset/clean_up. */
#ifndef LR_CORE_HEADERS_H
#define LR_CORE_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/buf.h"
#include "lr/runtime.h"

/* One header line (name, colon, value, CRLF) longer than this is refused with LR_E_TOO_LARGE. */
#define LR_HEADER_MAX_LINE ((size_t)16 * 1024)
/* All header lines of one response together (unknown headers included). */
#define LR_HEADERS_MAX_TOTAL ((size_t)64 * 1024)
/* Longest accepted request id (real ones are 36-byte UUIDs); it goes into the POST URL. */
#define LR_REQUEST_ID_MAX 256
/* Plausible deadline range in epoch ms: from 2001-09-09 (below that the value is surely not epoch
 * milliseconds, e.g. seconds) to 9999-12-31, which keeps all later ms arithmetic overflow-free. */
#define LR_DEADLINE_MIN_MS INT64_C(1000000000000)
#define LR_DEADLINE_MAX_MS INT64_C(253402300799999)

enum lr_header_id {
    LR_HDR_REQUEST_ID = 0, /* Lambda-Runtime-Aws-Request-Id */
    LR_HDR_DEADLINE_MS,    /* Lambda-Runtime-Deadline-Ms */
    LR_HDR_FUNCTION_ARN,   /* Lambda-Runtime-Invoked-Function-Arn */
    LR_HDR_TRACE_ID,       /* Lambda-Runtime-Trace-Id */
    LR_HDR_CLIENT_CONTEXT, /* Lambda-Runtime-Client-Context */
    LR_HDR_COGNITO,        /* Lambda-Runtime-Cognito-Identity */
    LR_HDR_TENANT_ID,      /* Lambda-Runtime-Aws-Tenant-Id */
    LR_HDR_CONTENT_TYPE,   /* Content-Type */
    LR_HDR_COUNT
};

struct lr_headers {
    struct lr_buf store;      /* values of known headers, each NUL-terminated */
    size_t off[LR_HDR_COUNT]; /* offset of each value in store */
    size_t len[LR_HDR_COUNT]; /* length of each value */
    bool present[LR_HDR_COUNT];
    size_t total; /* header bytes seen for this response */
};

/* Prepares an empty set. Cannot fail. */
void lr_headers_init(struct lr_headers *h);

/* Forgets every value (keeps memory) before a new response. */
void lr_headers_reset(struct lr_headers *h);

/* Frees the storage; safe on a zeroed struct and safe to call twice. */
void lr_headers_clean_up(struct lr_headers *h);

/* Feeds one raw header line of len bytes (trailing CRLF or LF optional; not NUL-terminated).
 * A status line ("HTTP/...") starts a new header block (e.g. after a 100 Continue) and forgets the
 * values seen so far; an empty line ends a block. Known header names match case-insensitively and
 * their values are trimmed of spaces/tabs. Errors: LR_E_TOO_LARGE for a line or a total beyond the
 * caps above; LR_E_PROTOCOL for a line without ':' or with an invalid name, a known header appearing
 * twice, or a known header value holding control bytes. */
enum lr_status lr_headers_parse_line(struct lr_headers *h, const char *line,
                                     size_t len) LR_NODISCARD;

/* View of a known header's value (len 0 when absent). */
struct lr_str lr_headers_get(const struct lr_headers *h, enum lr_header_id id);

/* Checks what /next requires once all lines are in: a request id of 1..LR_REQUEST_ID_MAX visible
 * ASCII characters (0x21-0x7E). LR_E_PROTOCOL otherwise. */
enum lr_status lr_headers_check(const struct lr_headers *h) LR_NODISCARD;

/* The invoke deadline: the Deadline-Ms header when it is a plain decimal within
 * [LR_DEADLINE_MIN_MS, LR_DEADLINE_MAX_MS]; otherwise (absent or garbage, which must not fail the
 * invoke) now_ms + fallback_ms. Returns true when the header was used. */
bool lr_headers_deadline_ms(const struct lr_headers *h, int64_t now_ms, int64_t fallback_ms,
                            int64_t *deadline_ms);

#endif
