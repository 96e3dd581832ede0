/* aws_sign: signs one request with lr_aws_sigv4 at a given time and prints X-Amz-Date and
 * Authorization, for tests/integration/test_aws_sigv4.py to compare with botocore's signer.
 *   aws_sign EPOCH[,EPOCH...] REGION SERVICE HOST PATH BODY_FILE [name:value ...]
 * Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
 * Several times, comma-separated, are signed in turn with one signing-key cache, as a client does. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/lr_aws_sigv4.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *data = malloc(1 << 20);
    *len = data ? fread(data, 1, 1 << 20, f) : 0;
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr,
                "usage: aws_sign EPOCH REGION SERVICE HOST PATH BODY_FILE [name:value ...]\n");
        return 2;
    }
    struct lr_aws_header headers[LR_AWS_SIGV4_MAX_HEADERS];
    size_t n = 0;
    for (int i = 7; i < argc && n < LR_AWS_SIGV4_MAX_HEADERS; i++) {
        char *colon = strchr(argv[i], ':');
        if (colon == NULL)
            return 2;
        *colon = '\0';
        headers[n++] = (struct lr_aws_header){argv[i], colon + 1};
    }
    size_t len = 0;
    char *body = read_file(argv[6], &len);
    if (body == NULL)
        return 2;
    const char *token = getenv("AWS_SESSION_TOKEN");
    struct lr_aws_creds cr = {getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
                              token && *token ? token : NULL};
    struct lr_aws_sign_request r = {"POST",      argv[4], argv[5], headers, n,
                                    {body, len}, argv[2], argv[3], 0};
    struct lr_aws_sigv4_cache cache = {0}; /* shared by the times given, as a client shares it */
    enum lr_status st = LR_OK;
    printf("backend=%s\n", lr_aws_crypto_backend());
    for (char *t = strtok(argv[1], ","); t != NULL && st == LR_OK; t = strtok(NULL, ",")) {
        struct lr_aws_signature sig;
        r.now = (time_t)strtoll(t, NULL, 10);
        st = lr_aws_sigv4_sign(&r, &cr, &cache, &sig);
        if (st == LR_OK)
            printf("X-Amz-Date: %s\nAuthorization: %s\n", sig.amz_date, sig.authorization);
        else
            printf("status=%s\n", lr_status_str(st));
    }
    free(body);
    return st == LR_OK ? 0 : 1;
}
