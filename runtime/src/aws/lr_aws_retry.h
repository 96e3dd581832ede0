/* Retry decisions of the SDKs' standard mode: which outcomes are retried, and the full-jitter backoff. */
#ifndef LR_AWS_RETRY_H
#define LR_AWS_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "lr/common.h"

/* True for the AWS throttling error codes (ThrottlingException, ProvisionedThroughputExceededException,
 * RequestLimitExceeded, TooManyRequestsException, ...). */
bool lr_aws_retry_is_throttling(const char *code);

/* True when an attempt that ended with st (HTTP status, AWS error code) is worth another attempt:
 * throttling and transient codes, HTTP 500/502/503/504, connection failures and timeouts. */
bool lr_aws_retry_is_retryable(enum lr_status st, long http_status, const char *code);

/* The wait before retry number n (1 for the first retry): random(0,1) * min(max_ms, base_ms * 2^(n-1)).
 * rng is the caller's generator state (never 0). */
uint32_t lr_aws_retry_backoff_ms(unsigned n, uint32_t base_ms, uint32_t max_ms, uint64_t *rng);

#endif
