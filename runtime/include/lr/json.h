/* The one JSON string escaper, used by every writer of JSON (log lines, the batch response, EMF,
 * DynamoDB JSON, Runtime API error bodies) and by the Text log format. It writes only into caller
 * storage and keeps no pointer. */
#ifndef LR_JSON_H
#define LR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How to escape. Every mode turns each byte that does not start a valid UTF-8 sequence (overlong
 * forms and surrogates included) into \ufffd and escapes NUL and the other C0 controls and DEL. */
enum lr_json_escape {
    LR_JSON_ESCAPE_LOG,  /* a JSON string in a log line: also ", \, the C1 controls and U+2028/9 */
    LR_JSON_ESCAPE_TEXT, /* a Text log message: as LOG, but '"' is kept as is for readability */
    LR_JSON_ESCAPE_MIN   /* a JSON document that is no log line (batch response, EMF): ", \, C0, DEL
                          * (\b and \f short forms); C1 controls and U+2028/9 are kept */
};

/* The longest output one input character can produce ("\ufffd" or a 4-byte UTF-8 sequence). */
#define LR_JSON_ESCAPE_MAX_UNIT 6

/* Escapes bytes[0..len) into dst[0..cap) (no NUL written), stopping before the first character whose
 * escaped form does not fit; never cuts an escape or a UTF-8 sequence. Returns the bytes written;
 * *needed (if not NULL) receives the length of the full escaping. dst may be NULL when cap is 0. */
size_t lr_json_escape(char *dst, size_t cap, const char *bytes, size_t len, enum lr_json_escape how,
                      size_t *needed);

/* LR_JSON_ESCAPE_LOG escaping like snprintf: dst (capacity cap) is always NUL-terminated when cap > 0
 * and may be NULL when cap is 0; returns the length the full escaping needs, so a result >= cap means
 * it was cut (never inside an escape or a UTF-8 sequence). For short messages built on the stack. */
size_t lr_json_escape_str(char *dst, size_t cap, const char *bytes, size_t len);

/* True when every character of bytes[0..len) is printable ASCII or valid UTF-8 that LR_JSON_ESCAPE_LOG
 * (with " and \ aside) would keep unchanged: such bytes cannot split or forge a line. */
bool lr_json_is_inert(const char *bytes, size_t len);

/* True when json[0..len), a valid JSON text, is written exactly as a renderer that escapes its
 * strings with LR_JSON_ESCAPE_LOG and puts no whitespace between tokens would write it: no whitespace
 * outside strings, no backslash (so no escape at all), and in strings only printable ASCII and valid
 * UTF-8 that the escaping keeps (no C0 control, DEL, C1 control, U+2028 or U+2029). Such text can be
 * copied into a log line as it is. A vector scan: a few instructions per 16 bytes. */
bool lr_json_is_compact_log_text(const char *json, size_t len);

/* Writes json[0..len), a valid JSON text, into dst[0..cap) without the blanks between its tokens
 * and with every raw DEL in its strings written \u007f: the same value, and no raw control byte (a
 * valid text has no other one in its strings). Like snprintf, returns the length of the whole
 * result and writes only what fits (dst may be NULL when cap is 0); dst does not overlap json. */
size_t lr_json_compact(char *dst, size_t cap, const char *json, size_t len);

/* The longest decimal text of an int64_t, "-9223372036854775808". */
#define LR_JSON_INT_MAX 20

/* Writes v in decimal, as JSON writes the number, into out (no NUL); returns its length. The log
 * lines and metrics of every invoke carry counts: this is what they cost without printf. */
size_t lr_json_int(char out[LR_JSON_INT_MAX], int64_t v);

#ifdef __cplusplus
}
#endif
#endif
