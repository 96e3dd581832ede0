/* Logging to stdout for CloudWatch: Text or JSON lines as Lambda's AWS_LAMBDA_LOG_FORMAT /
 * AWS_LAMBDA_LOG_LEVEL say, one log event per line, every byte escaped so no input can split or forge a
 * line. It copies everything it is given and keeps no caller pointer beyond a call.
 * Threads: configure it (lr_log_configure / lr_log_init_from_env) once before any worker starts; after
 * that every function is safe to call from any thread. The request id is per thread, and each line
 * goes out whole in one write(2) under the stream's lock, so concurrent lines never interleave.
 *
 * Line shapes (timestamps are RFC 3339 UTC with milliseconds):
 *   Text: 2026-11-30T15:40:04.123Z<TAB>request-id<TAB>INFO<TAB>message key=value key="a b"
 *         (Node.js runtime style; "undefined" in place of the request id outside an invoke; the message
 *         is escaped like a JSON string except that '"' stays as is; a field value made only of
 *         [A-Za-z0-9-_.:/@+,] is written bare, any other one quoted with JSON escaping; is_json values
 *         are written as they are.)
 *   JSON: {"timestamp":"2026-11-30T15:40:04.123Z","level":"INFO","requestId":"..","message":"..",
 *         "key":"value","img":{...}}  ("requestId" is left out outside an invoke.)
 * Field keys are written with every byte outside [A-Za-z0-9_.-] replaced by '_'. */
#ifndef LR_LOG_H
#define LR_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "lr/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lr_log_level {
    LR_LOG_TRACE = 0,
    LR_LOG_DEBUG,
    LR_LOG_INFO,
    LR_LOG_WARN,
    LR_LOG_ERROR,
    LR_LOG_FATAL
};

enum lr_log_format { LR_LOG_FORMAT_TEXT = 0, LR_LOG_FORMAT_JSON };

/* Default cap of one output line, in bytes (CloudWatch events are limited to 256 KB). Longer values
 * are cut, the line stays valid and says it was truncated: the message first, then each field in
 * order, gets what it needs while that fits; the first value that does not fit is cut (never inside
 * an escape or a UTF-8 sequence) and ends with "[truncated]", later ones keep only that mark (an
 * is_json value is replaced by the string "[truncated]"). Fixed parts (timestamp, level, request id,
 * keys) are never cut, so with an absurdly small cap a line can exceed it. */
#define LR_LOG_DEFAULT_MAX_LINE ((size_t)240 * 1024)
/* What ends a value that was cut (also in Runtime API error bodies). */
#define LR_LOG_TRUNCATION_MARK "[truncated]"

/* What a field's value is, for the log (is_json takes false, true, or the third value). */
enum lr_log_value_kind {
    LR_LOG_VALUE_TEXT = 0, /* false: escaped */
    LR_LOG_VALUE_JSON = 1, /* true: see lr_log_field */
    /* JSON the caller has just had lr_json_is_compact_log_text() accept (which implies inert): the
     * log does not scan it a second time. Never use it for anything else. */
    LR_LOG_VALUE_JSON_CHECKED = 2,
};

/* An extra member of a log line: in JSON format "key": value; in Text format key=value after the
 * message. value is escaped unless is_json is set, in which case it must be one valid, compact JSON
 * value produced by the program itself (e.g. a serialised DynamoDB image); it is then written as is
 * when lr_json_is_inert() finds it cannot split or forge a line, else escaped as a string. */
struct lr_log_field {
    const char *key;     /* static or caller-owned, NUL-terminated; must be a plain identifier */
    struct lr_str value; /* borrowed for the duration of the call */
    enum lr_log_value_kind is_json;
};

/* Reads AWS_LAMBDA_LOG_FORMAT ("JSON" or "Text"; default Text) and AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG,
 * INFO, WARN, ERROR, FATAL; default INFO), in any case, as Lambda's runtimes read them. Unset or
 * empty means the default; any other value also means the default and logs one WARN naming the
 * variable, the value and what is used instead. The output stream and line cap stay as they were.
 * lr_run_handler() calls this itself when the log was never configured. */
void lr_log_init_from_env(void);

/* True once lr_log_configure() or lr_log_init_from_env() ran (lr_run_handler() then leaves the
 * configuration alone; otherwise it reads the environment itself). */
bool lr_log_is_configured(void);

/* Explicit configuration (tests, embedders). out NULL means stdout. max_line 0 means the default. */
void lr_log_configure(enum lr_log_format format, enum lr_log_level min_level, FILE *out,
                      size_t max_line);

/* Parses a level / format name as Lambda spells it ("INFO", "JSON", "Text"), in any case ("json");
 * returns false (and leaves *out) on anything else. */
bool lr_log_parse_level(const char *s, enum lr_log_level *out);
bool lr_log_parse_format(const char *s, enum lr_log_format *out);

/* Static upper-case name of a level ("INFO"). */
const char *lr_log_level_name(enum lr_log_level level);

/* True when a line of this level would be written: test it before building expensive fields. */
bool lr_log_enabled(enum lr_log_level level);

/* Sets the request id stamped on every following line of the calling thread (copied, at most 256
 * bytes kept; NULL or len 0 clears it). The run loop sets it for each invoke on the worker's thread and
 * clears it after the response is posted. */
void lr_log_set_request_id(const char *id, size_t len);

/* Writes one line (printf-style message) at level, whole, in one write. */
void lr_log(enum lr_log_level level, const char *fmt, ...) LR_PRINTF(2, 3);

/* Writes one line with extra fields. */
void lr_log_fields(enum lr_log_level level, const struct lr_log_field *fields, size_t n_fields,
                   const char *fmt, ...) LR_PRINTF(4, 5);
void lr_log_vfields(enum lr_log_level level, const struct lr_log_field *fields, size_t n_fields,
                    const char *fmt, va_list ap) LR_PRINTF(4, 0);

/* lr_log_fields() with the message as bytes, msg[0..msg_len), instead of a printf format: the same
 * line as lr_log_fields(level, fields, n_fields, "%.*s", (int)msg_len, msg) for a message without a
 * NUL byte (escaped like any message, cut at the line cap), without formatting it again. For lines
 * written per record. */
void lr_log_fields_str(enum lr_log_level level, const struct lr_log_field *fields, size_t n_fields,
                       const char *msg, size_t msg_len);

/* Writes a pre-rendered single-line JSON document as is (used for Embedded Metric Format lines),
 * whatever the format and level. Refuses, writing nothing, one of max_line bytes or more
 * (LR_E_TOO_LARGE), and an empty one or one holding a raw newline or any other byte below 0x20
 * (LR_E_INVALID_ARG: compact JSON has none). */
enum lr_status lr_log_raw_json_line(const char *json, size_t len);

/* Writes the lines the calling thread holds (inside an invoke, INFO lines of one millisecond are held
 * and written together) and flushes the output stream. The run loop calls it before posting each
 * response and at exit(); call it before anything that may block for long: held lines wait for the
 * thread's next line or flush, and a SIGKILL (Lambda's timeout) takes them with it. */
void lr_log_flush(void);

/* For a fatal-signal handler: writes what the calling thread holds, with no lock, no allocation and
 * no stdio (async-signal-safe), so a crash loses none of its lines. lr_run_handler() installs such a
 * handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT, where they have their default action, at
 * its first invoke. */
void lr_log_crash_flush(void);

#ifdef __cplusplus
}
#endif
#endif
