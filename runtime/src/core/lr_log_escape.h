/* Escaping of untrusted bytes for log lines and JSON strings (internal side of lr_log_escape()).
 * Writes only into caller storage; keeps no pointer. */
#ifndef LR_CORE_LOG_ESCAPE_H
#define LR_CORE_LOG_ESCAPE_H

#include <stddef.h>

enum lr_escape_mode {
    LR_ESCAPE_JSON, /* inside a JSON string: " and \ are escaped too */
    LR_ESCAPE_TEXT, /* a Text-format message: \ is escaped, " is kept as is for readability */
    LR_ESCAPE_JSON_MIN /* a JSON document that is no log line (batch response, EMF): only what JSON
                        * needs plus DEL, with \b and \f; C1 controls and U+2028/9 are kept */
};

/* The longest output one input character can produce ("\ufffd" or a 4-byte UTF-8 sequence). */
#define LR_ESCAPE_MAX_UNIT 6

/* Escapes bytes[0..len) into dst[0..cap) (no NUL written), stopping before the first character whose
 * escaped form does not fit; never cuts an escape or a UTF-8 sequence. Returns the bytes written;
 * *needed (if not NULL) receives the length of the full escaping. dst may be NULL when cap is 0. */
size_t lr_log_escape_ex(char *dst, size_t cap, const char *bytes, size_t len,
                        enum lr_escape_mode mode, size_t *needed);

/* True when every character of bytes[0..len) is printable ASCII or valid UTF-8 that escaping
 * (with " and \ aside) would keep unchanged: such bytes cannot split or forge a line. */
int lr_log_escape_is_inert(const char *bytes, size_t len);

#endif
