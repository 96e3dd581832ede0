/* Standard-mode retry rules (the codes and statuses the AWS SDKs retry) and full-jitter backoff. */
#include "aws/lr_aws_retry.h"

#include "lr/aws.h"

#include <string.h>

static bool in(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return true;
    return false;
}

bool lr_aws_retry_is_throttling(const char *code)
{
    static const char *const codes[] = {"Throttling",
                                        "ThrottlingException",
                                        "ThrottledException",
                                        "RequestThrottledException",
                                        "TooManyRequestsException",
                                        "ProvisionedThroughputExceededException",
                                        "TransactionInProgressException",
                                        "RequestLimitExceeded",
                                        "BandwidthLimitExceeded",
                                        "LimitExceededException",
                                        "RequestThrottled",
                                        "SlowDown",
                                        "EC2ThrottledException"};
    return in(code, codes, sizeof(codes) / sizeof(codes[0]));
}

bool lr_aws_retry_is_retryable(enum lr_status st, long http_status, const char *code)
{
    static const char *const transient[] = {"RequestTimeout", "RequestTimeoutException",
                                            "PriorRequestNotComplete"};
    switch (st) {
    case LR_E_AWS_CONNECT:
    case LR_E_AWS_TIMEOUT:
    case LR_E_AWS_TRUNCATED:
    case LR_E_TLS_HANDSHAKE:
    case LR_E_AWS_THROTTLED: return true;
    case LR_E_AWS_SERVICE:
    case LR_E_AWS_BAD_ERROR:
        return in(code, transient, sizeof(transient) / sizeof(transient[0])) ||
               http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504;
    default: return false;
    }
}

bool lr_aws_entry_is_retryable(const char *code)
{
    static const char *const server[] = {"InternalError",      "InternalFailure",
                                         "InternalException",  "InternalServerError",
                                         "ServiceUnavailable", "ServiceUnavailableException"};
    return lr_aws_retry_is_throttling(code) ||
           lr_aws_retry_is_retryable(LR_E_AWS_SERVICE, 0, code) ||
           in(code, server, sizeof(server) / sizeof(server[0]));
}

uint32_t lr_aws_retry_backoff_ms(unsigned n, uint32_t base_ms, uint32_t max_ms, uint64_t *rng)
{
    uint64_t ceiling = base_ms;
    for (unsigned i = 1; i < n && ceiling < max_ms; i++)
        ceiling *= 2;
    if (ceiling > max_ms)
        ceiling = max_ms;
    /* xorshift64*: jitter needs spread, not secrecy */
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    uint64_t r = (*rng * 0x2545F4914F6CDD1DULL) >> 11; /* 53 random bits */
    return (uint32_t)((double)r / (double)(1ULL << 53) * (double)ceiling);
}
