/* Bounded decimal parsing (see num.h). */
#include "num.h"

bool num_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    if (len == 0 || len > 9)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10u + (uint32_t)(c - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}
