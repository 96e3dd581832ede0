/* Names of the one status type (lr/common.h). */
#include "lr/common.h"

const char *lr_status_str(enum lr_status st)
{
    static const char *const names[] = {
        "LR_OK",
        "LR_E_INVALID_ARG",
        "LR_E_TOO_LARGE",
        "LR_E_CONFIG",
        "LR_E_TRANSPORT",
        "LR_E_PROTOCOL",
        "LR_E_HTTP_400",
        "LR_E_HTTP_403",
        "LR_E_HTTP_413",
        "LR_E_HTTP_500",
        "LR_E_HTTP_OTHER",
        "LR_E_NOT_JSON",
        "LR_E_NOT_OBJECT",
        "LR_E_NO_RECORDS",
        "LR_E_RECORDS_NOT_ARRAY",
        "LR_E_TOO_DEEP",
        "LR_E_TWO_TYPE_KEYS",
        "LR_E_NO_TYPE_KEY",
        "LR_E_UNKNOWN_TYPE",
        "LR_E_WRONG_JSON_TYPE",
        "LR_E_BAD_BASE64",
        "LR_E_BAD_NUMBER",
        "LR_E_NUMBER_RANGE",
        "LR_E_NUMBER_PRECISION",
        "LR_E_NUMBER_INEXACT",
        "LR_E_BAD_SEQUENCE_NUMBER",
        "LR_E_BAD_TIMESTAMP",
        "LR_E_MISSING_FIELD",
        "LR_E_INVALID_EVENT",
        "LR_E_NO_SEQUENCE",
        "LR_E_ALL_FAILED",
        "LR_E_EMF_NAMESPACE",
        "LR_E_EMF_NAME",
        "LR_E_EMF_VALUE",
        "LR_E_EMF_COUNT",
        "LR_E_EMF_UNIT",
        "LR_E_AWS_CONFIG",
        "LR_E_AWS_CREDENTIALS",
        "LR_E_TLS_CA_BUNDLE",
        "LR_E_TLS_HANDSHAKE",
        "LR_E_TLS_CERT_EXPIRED",
        "LR_E_TLS_CERT_HOST",
        "LR_E_TLS_CERT_UNTRUSTED",
        "LR_E_AWS_CONNECT",
        "LR_E_AWS_TIMEOUT",
        "LR_E_AWS_TRUNCATED",
        "LR_E_AWS_BAD_RESPONSE",
        "LR_E_AWS_BAD_ERROR",
        "LR_E_AWS_THROTTLED",
        "LR_E_AWS_SERVICE",
        "LR_E_DEADLINE",
    };
    _Static_assert(sizeof(names) / sizeof(names[0]) == LR_E_DEADLINE + 1, "a name per status");
    if ((unsigned)st < sizeof(names) / sizeof(names[0]))
        return names[st];
    return "LR_E_UNKNOWN";
}
