/* Fault injection: a process-wide FIFO of armed faults, each applying to the next COUNT matching
 * events (a /next delivery, or a /response or /error post). Thread-safe; keeps no caller pointer. */
#ifndef EMU_FAULT_H
#define EMU_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fault_kind {
    FAULT_NONE = 0,
    FAULT_NEXT_500,               /* /next answers 500 instead of the event */
    FAULT_NEXT_RESET_BEFORE_BODY, /* /next: connection reset before anything is sent */
    FAULT_NEXT_RESET_MID_BODY,    /* /next: headers and half the body, then a reset */
    FAULT_NEXT_DELAY_BODY,        /* /next: the body is sent after param milliseconds */
    FAULT_NEXT_OMIT_REQUEST_ID,   /* /next: no Lambda-Runtime-Aws-Request-Id header */
    FAULT_NEXT_BAD_DEADLINE,      /* /next: a garbage Lambda-Runtime-Deadline-Ms */
    FAULT_NEXT_OMIT_DEADLINE,     /* /next: no Lambda-Runtime-Deadline-Ms header */
    FAULT_NEXT_REPEAT_HEADER,     /* /next: Lambda-Runtime-Invoked-Function-Arn twice */
    FAULT_NEXT_LONG_HEADER,       /* /next: a header line of 20,000 bytes */
    FAULT_RESPONSE_413, /* /response or /error answered 413 (invoke failed as too large) */
    FAULT_RESPONSE_403, /* /response or /error answered 403 (result still recorded) */
    FAULT_RESPONSE_400, /* /response or /error answered 400 (result still recorded) */
    FAULT_RESPONSE_500  /* /response or /error answered 500 (result still recorded) */
};

enum fault_site { FAULT_SITE_NEXT, FAULT_SITE_POST };

struct fault {
    enum fault_kind kind;
    uint32_t param; /* milliseconds for FAULT_NEXT_DELAY_BODY, else 0 */
};

enum fault_status { FAULT_OK = 0, FAULT_E_UNKNOWN_NAME, FAULT_E_BAD_NUMBER, FAULT_E_TOO_MANY };

/* Arms one fault from "NAME[=N][:COUNT]" (spec[0..len), surrounding blanks ignored). */
enum fault_status fault_arm(const char *spec, size_t len);

/* Arms every non-empty line of text[0..len); stops at the first bad line. */
enum fault_status fault_arm_lines(const char *text, size_t len);

/* Pops the oldest armed fault matching site into *out; false (and FAULT_NONE) when none is armed. */
bool fault_take(enum fault_site site, struct fault *out);

/* Static name of a fault kind, e.g. "next-500". */
const char *fault_name(enum fault_kind kind);

/* Static description of a status, for error messages. */
const char *fault_status_str(enum fault_status st);

/* Faults fired so far (for /emulator/stats). */
uint64_t fault_fired_count(void);

#endif
