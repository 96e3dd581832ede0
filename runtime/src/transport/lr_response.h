/* Internal side of the response constructors: header-value sanitising shared with the client.
 * Writes only into caller storage. */
#ifndef LR_CORE_RESPONSE_H
#define LR_CORE_RESPONSE_H

#include <stddef.h>

/* Longest error type / content type sent in an HTTP header; longer ones are cut. */
#define LR_HEADER_VALUE_MAX 256
/* Cap of the escaped errorMessage in a failure body; a longer one is cut and marked. */
#define LR_ERROR_MESSAGE_MAX ((size_t)64 * 1024)

/* Copies src into dst (capacity LR_HEADER_VALUE_MAX + 1, NUL-terminated) so it is safe as one HTTP
 * header value: every byte outside printable ASCII (CR and LF above all: header injection) becomes
 * '_', surrounding spaces are trimmed, the length is capped. NULL src gives "". Returns the length. */
size_t lr_response_header_value(char dst[LR_HEADER_VALUE_MAX + 1], const char *src);

#endif
