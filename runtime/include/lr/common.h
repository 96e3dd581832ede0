/* Shared vocabulary of the lambda_ddb runtime: the status type, borrowed string views, attributes.
 *
 * Error convention of the whole public API: a function that can fail returns enum lr_status by value
 * (LR_OK, or the LR_E_* code that names what went wrong) and writes its results through out
 * parameters, which it leaves as documented on error; predicates and iterators return bool. Passing
 * NULL where a pointer is required, or breaking a documented precondition, is a programmer error and
 * asserts. Running out of memory aborts the process (Lambda replaces the execution environment), so
 * no function returns an out-of-memory status. Each function's comment lists the codes it can
 * return, and only those. */
#ifndef LR_COMMON_H
#define LR_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LR_NODISCARD __attribute__((warn_unused_result))
#define LR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LR_NODISCARD
#define LR_PRINTF(fmt, args)
#endif

enum lr_status {
    LR_OK = 0,
    /* any module */
    LR_E_INVALID_ARG, /* a value the caller passed cannot be used (not a NULL: NULLs assert) */
    LR_E_TOO_LARGE,   /* a capped buffer or body would exceed its cap */
    LR_E_CONFIG,      /* a setting (environment variable) is missing or invalid */
    /* the Runtime API client (lr/runtime.h) */
    LR_E_TRANSPORT,  /* libcurl could not complete the exchange (refused, reset, truncated) */
    LR_E_PROTOCOL,   /* the reply breaks the contract: no request id, bad deadline, bad header */
    LR_E_HTTP_400,   /* Runtime API said 400: invalid request id */
    LR_E_HTTP_403,   /* Runtime API said 403: invalid state transition */
    LR_E_HTTP_413,   /* Runtime API said 413: response too large, invoke already failed */
    LR_E_HTTP_500,   /* Runtime API said 500: container error, exit promptly */
    LR_E_HTTP_OTHER, /* any other unexpected status */
    /* the DynamoDB event model (lr/ddb.h) */
    LR_E_NOT_JSON,          /* syntax error (offset in struct ddb_parse_error) */
    LR_E_NOT_OBJECT,        /* valid JSON, but the event (or a record) is not an object */
    LR_E_NO_RECORDS,        /* no "Records" member and not a single record either */
    LR_E_RECORDS_NOT_ARRAY, /* "Records" is not an array */
    LR_E_TOO_DEEP,          /* nesting above DDB_MAX_NESTING / DDB_MAX_JSON_DEPTH */
    LR_E_TWO_TYPE_KEYS,     /* an attribute value object with more than one key */
    LR_E_NO_TYPE_KEY,       /* an attribute value object with no key ({}) */
    LR_E_UNKNOWN_TYPE,      /* a type key other than S N B SS NS BS M L NULL BOOL */
    LR_E_WRONG_JSON_TYPE,   /* a member has the wrong JSON type (e.g. {"S":1}, "Keys":[]) */
    LR_E_BAD_BASE64,        /* B/BS not strict standard base64 (position in error_detail) */
    LR_E_BAD_NUMBER,        /* N does not follow the decimal grammar */
    LR_E_NUMBER_RANGE,      /* N outside 1E-130..9.99..9E+125 in magnitude; int64/double overflow */
    LR_E_NUMBER_PRECISION,  /* N with more than 38 significant digits */
    LR_E_NUMBER_INEXACT, /* a converter would lose digits (fraction to int64, digits to double) */
    LR_E_BAD_SEQUENCE_NUMBER, /* SequenceNumber not 1..40 decimal digits */
    LR_E_BAD_TIMESTAMP,       /* ApproximateCreationDateTime not a non-negative number in range */
    LR_E_MISSING_FIELD,       /* a record without its "dynamodb" object */
    /* the batch layer (lr/batch.h) */
    LR_E_INVALID_EVENT, /* the event is not a parseable DynamoDB Streams event */
    LR_E_NO_SEQUENCE,   /* a failed record has no usable SequenceNumber */
    LR_E_ALL_FAILED,    /* no record succeeded and the policy is LR_BATCH_ALL_FAILED_ERROR */
    /* Embedded Metric Format (lr/emf.h) */
    LR_E_EMF_NAMESPACE, /* namespace empty or longer than LR_EMF_MAX_NAMESPACE */
    LR_E_EMF_NAME,      /* a member name empty, too long, "_aws", or used twice */
    LR_E_EMF_VALUE,     /* a dimension/property value empty or longer than LR_EMF_MAX_VALUE */
    LR_E_EMF_COUNT,     /* no metric, or more metrics/dimensions than the limits */
    LR_E_EMF_UNIT,      /* a unit that is not one of CloudWatch's unit names */
    /* calls to AWS services (lr/aws.h) */
    LR_E_AWS_CONFIG,       /* no region, or a bad AWS_ENDPOINT_URL* / AWS_MAX_ATTEMPTS value */
    LR_E_AWS_CREDENTIALS,  /* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY missing or unusable */
    LR_E_TLS_CA_BUNDLE,    /* no readable CA bundle (SSL_CERT_FILE, then the two default paths) */
    LR_E_TLS_HANDSHAKE,    /* the TLS handshake failed (reset, protocol error) */
    LR_E_TLS_CERT_EXPIRED, /* the server's certificate has expired */
    LR_E_TLS_CERT_HOST,    /* the server's certificate is not for the host called */
    LR_E_TLS_CERT_UNTRUSTED, /* the certificate does not chain to the CA bundle (or fails otherwise) */
    LR_E_AWS_CONNECT,      /* no connection: resolve/connect failed, or closed before any answer */
    LR_E_AWS_TIMEOUT,      /* an attempt ran past its own transfer time */
    LR_E_AWS_TRUNCATED,    /* the answer ended before its announced length */
    LR_E_AWS_BAD_RESPONSE, /* a 2xx answer whose body is not the protocol's JSON object / XML */
    LR_E_AWS_BAD_ERROR,    /* an error status without a readable AWS error code */
    LR_E_AWS_THROTTLED,    /* a throttling error, still on the last attempt */
    LR_E_AWS_SERVICE,      /* an AWS error answer (code and message in the response) */
    LR_E_DEADLINE, /* gave up: one more attempt would end after the deadline minus the margin */
    LR_E_STATE_TOO_LARGE, /* a tumbling window's state no answer can carry (over 6 MB) */
    LR_E_CANCELLED        /* abandoned on request (a worker stopping on SIGTERM) */
};

/* Static name of a status ("LR_E_BAD_BASE64"; "LR_E_UNKNOWN" for a value that is none). Never NULL. */
const char *lr_status_str(enum lr_status st);

/* A borrowed, non-owning view of bytes: NOT necessarily NUL-terminated, may hold NUL bytes.
 * Whoever hands one out says how long it stays valid; never free ptr. */
struct lr_str {
    const char *ptr;
    size_t len;
};

#define LR_STR_LIT(s) ((struct lr_str){(s), sizeof(s) - 1})

#ifdef __cplusplus
}
#endif
#endif
