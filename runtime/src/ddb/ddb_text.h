/* Private JSON-string escaping of the ddb layer, with the rules of lr_log_escape() (lr/log.h), so a
 * serialised image or an error detail can never split or forge a log line. Kept here so the ddb
 * layer does not depend on the logger's implementation. */
#ifndef LR_DDB_TEXT_H
#define LR_DDB_TEXT_H

#include <stddef.h>

/* Appends the escaping of bytes[0..len) (no quotes) to dst (capacity cap, NUL-terminated when
 * cap > 0): ", \, control bytes, DEL and C1 controls are escaped, valid UTF-8 passes through,
 * invalid UTF-8 bytes become \ufffd. Returns the length the full escaping needs (like snprintf);
 * output is never cut inside an escape or a UTF-8 sequence. */
size_t ddb_text_escape(char *dst, size_t cap, const char *bytes, size_t len);

/* Length of the well-formed UTF-8 sequence at p[0..avail) (no overlongs or surrogates), or 0. */
size_t ddb_text_utf8_len(const unsigned char *p, size_t avail);

#endif
