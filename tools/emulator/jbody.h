/* Small JSON bodies the emulator sends: Lambda-style error documents. */
#ifndef EMU_JBODY_H
#define EMU_JBODY_H

#include "blob.h"

/* {"errorMessage":message,"errorType":type} with both strings JSON-escaped; the caller owns the
 * returned blob's reference. */
struct blob *jbody_error(const char *type, const char *message);

#endif
