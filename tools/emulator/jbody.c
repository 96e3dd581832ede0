/* JSON error bodies (see jbody.h). */
#include "jbody.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct blob *jbody_error(const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "errorMessage", message) ||
        !cJSON_AddStringToObject(o, "errorType", type))
        abort(); /* out of memory */
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    /* cJSON allocates with malloc by default, so the blob can own and free the text. */
    return blob_take(text, strlen(text));
}
