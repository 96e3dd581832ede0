/* Reference-counted, immutable byte buffers: one event or result is shared by the thread that
 * received it and the thread that sends it on, and whichever finishes last frees it. */
#ifndef EMU_BLOB_H
#define EMU_BLOB_H

#include <stdatomic.h>
#include <stddef.h>

struct blob {
    atomic_uint refs;
    size_t len;
    char *data; /* heap, NUL-terminated at data[len] for convenience; may hold NUL bytes */
};

/* A new blob holding a copy of bytes[0..len); the caller owns the one reference. Aborts on OOM. */
struct blob *blob_new(const void *bytes, size_t len);

/* A new blob that takes ownership of data (malloc'd, with room for data[len] = '\0'). */
struct blob *blob_take(char *data, size_t len);

/* A new blob holding a copy of the NUL-terminated string s. */
struct blob *blob_from_str(const char *s);

/* Adds a reference and returns b (NULL stays NULL). */
struct blob *blob_ref(struct blob *b);

/* Drops a reference; frees the blob with the last one. NULL is a no-op. */
void blob_unref(struct blob *b);

#endif
