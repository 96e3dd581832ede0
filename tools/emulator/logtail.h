/* The tail of an invoke's log for `X-Amz-Log-Type: Tail` (Lambda returns the last 4 KB, base64, in
 * X-Amz-Log-Result). The bootstrap shares the emulator's stdout, so when stdout is a regular file the
 * invoke's lines lie between two offsets of that file and can be read back; on a pipe or terminal
 * there is no tail. */
#ifndef EMU_LOGTAIL_H
#define EMU_LOGTAIL_H

#include <stddef.h>
#include <stdint.h>

#define LOGTAIL_MAX_BYTES 4096

/* The current offset of stdout when it is a regular file, else -1. */
int64_t logtail_mark(void);

/* The base64 of the last LOGTAIL_MAX_BYTES (at most) of stdout between offsets [start, end), as a
 * heap string owned by the caller (free), or NULL when there is nothing to read. */
char *logtail_base64(int64_t start, int64_t end);

#endif
