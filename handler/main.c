/* The bundled DynamoDB Streams bootstrap: logs every record (and replicates it with LR_SINK=dynamodb),
 * reports partial batch failures, prints one summary line and the EMF metrics lines per invoke.
 * Settings: docs/handler.md. With AWS_LAMBDA_MAX_CONCURRENCY=N (Lambda Managed Instances) the run
 * loop has N workers; each has its own struct handler (log buffers, sink client), so they share
 * nothing mutable. */
#include "handler.h"

int main(void)
{
    return handler_main(NULL);
}
