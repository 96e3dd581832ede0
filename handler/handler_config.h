/* Configuration of the bundled handler, read once at init from the environment (docs/handler.md has
 * the table). Everything is validated; a bad value is an init error, never a silent default. */
#ifndef LR_HANDLER_CONFIG_H
#define LR_HANDLER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/batch.h"
#include "lr/ddb.h"
#include "lr/emf.h"

enum handler_log_records {
    HANDLER_LOG_RECORDS_FULL = 0, /* keys, new and old images */
    HANDLER_LOG_RECORDS_KEYS,     /* keys only: keeps item contents (personal data) out of logs */
    HANDLER_LOG_RECORDS_NONE /* no per-record line (the summary and failures are still logged) */
};

enum handler_log_images {
    HANDLER_LOG_IMAGES_DDB = 0, /* DynamoDB JSON, {"S":"x"}, as the event carries it */
    HANDLER_LOG_IMAGES_PLAIN    /* plain JSON ("x"), numbers with their exact digits */
};

enum handler_sink {
    HANDLER_SINK_LOG = 0,    /* log lines only */
    HANDLER_SINK_DYNAMODB,   /* replicate every change into another table */
    HANDLER_SINK_SQS,        /* a message per change to a queue */
    HANDLER_SINK_SNS,        /* ... to a topic */
    HANDLER_SINK_EVENTBRIDGE /* an event per change on a bus */
};

/* LR_SINK_MAX_BYTES: a message's size limit, and a request's (default 256 KiB, the limit every
 * queue, topic and bus accepts; 1 MiB where the target takes it). */
#define HANDLER_SINK_MAX_BYTES_DEFAULT 262144
#define HANDLER_SINK_MAX_BYTES_MIN 1024
#define HANDLER_SINK_MAX_BYTES_MAX 1048576
#define HANDLER_DEFAULT_EVENT_SOURCE "lambda-ddb"

enum handler_sink_format {
    HANDLER_SINK_FORMAT_PLAIN = 0, /* a record in messages: ddb_record_render_plain() */
    HANDLER_SINK_FORMAT_DDB        /* the record as the stream has it */
};

#define HANDLER_DEFAULT_EMF_NAMESPACE "DynamoDBStreamsLambda"

struct handler_config {
    struct lr_batch_options batch; /* mode, all-failed policy, deadline margin */
    enum handler_log_records log_records;
    enum handler_log_images log_images;
    bool emf;
    char emf_namespace[LR_EMF_MAX_NAMESPACE + 1];
    enum handler_sink sink;
    char sink_table[1024];  /* dynamodb: the target's name or ARN (LR_SINK_TARGET as given) */
    char sink_target[1024]; /* sqs, sns, eventbridge: LR_SINK_TARGET as given */
    char sink_region[64];   /* the region of a target ARN or queue URL; "" for AWS_REGION */
    bool sink_fifo;         /* a FIFO queue or topic (its name ends in ".fifo") */
    size_t sink_max_bytes;  /* LR_SINK_MAX_BYTES */
    char event_source[257]; /* eventbridge: LR_EVENT_SOURCE */
    enum handler_sink_format sink_format; /* messages of the message sinks (not dynamodb) */
    enum ddb_plain_numbers sink_numbers;
};

/* Fills *cfg (plain values, nothing to free) from the environment. LR_E_CONFIG when a variable is
 * wrong, with msg[0..msg_cap) saying which and why. */
enum lr_status handler_config_from_env(struct handler_config *cfg, char *msg, size_t msg_cap);

#endif
