/* Request ids: random UUID version 4 strings, as Lambda uses. */
#ifndef EMU_REQID_H
#define EMU_REQID_H

#define REQID_LEN 36

/* Writes a new random UUID v4 ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx") and a NUL into out.
 * Randomness comes from /dev/urandom (getrandom); thread-safe. */
void reqid_new(char out[REQID_LEN + 1]);

#endif
