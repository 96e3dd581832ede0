/* Where and as whom to call: region, endpoint, credentials, CA bundle and attempts, read from the
 * environment as the AWS SDKs read them. Every function reads the environment when called. */
#ifndef LR_AWS_CONFIG_H
#define LR_AWS_CONFIG_H

#include <stdbool.h>

#include "aws/lr_aws_sigv4.h"
#include "lr/aws.h"

#define LR_AWS_REGION_MAX 63

struct lr_aws_endpoint {
    char url[1024]; /* what curl is given: scheme://authority/path */
    char host[300]; /* the Host header: host[:port], the port only when not the scheme's default */
    char path[768]; /* the request path: the override's path, else "/" */
    bool https;
};

/* AWS_REGION, else AWS_DEFAULT_REGION: 1..63 of [a-z0-9-]. LR_E_AWS_CONFIG when neither is usable. */
enum lr_status lr_aws_config_region(char out[LR_AWS_REGION_MAX + 1]) LR_NODISCARD;

/* True for a region name of 1..63 of [a-z0-9-]. */
bool lr_aws_config_region_valid(const char *region);

/* AWS_ENDPOINT_URL_<svc->env_id>, else AWS_ENDPOINT_URL (both skipped when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else https://<prefix>.<region>.<partition's DNS suffix>.
 * LR_E_AWS_CONFIG for an override that is not an http(s) URL without user, query or fragment. */
enum lr_status lr_aws_config_endpoint(const struct lr_aws_service *svc, const char *region,
                                      struct lr_aws_endpoint *out) LR_NODISCARD;

/* Parses an endpoint URL (exposed for the unit test). */
enum lr_status lr_aws_config_parse_url(const char *url, struct lr_aws_endpoint *out) LR_NODISCARD;

/* Pointers into the environment (valid until it changes): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN (NULL when unset or empty). LR_E_AWS_CREDENTIALS when a key is missing or holds
 * bytes a header cannot carry. */
enum lr_status lr_aws_config_credentials(struct lr_aws_creds *out) LR_NODISCARD;

/* The CA bundle: SSL_CERT_FILE when set (it must be readable), else the first readable of
 * /etc/pki/tls/certs/ca-bundle.crt and /etc/ssl/certs/ca-certificates.crt; LR_E_TLS_CA_BUNDLE if none.
 * *path points into the environment or at a static string. */
enum lr_status lr_aws_config_ca_bundle(const char **path) LR_NODISCARD;

/* AWS_MAX_ATTEMPTS (1..20) into *out; *out untouched when unset; LR_E_AWS_CONFIG when invalid. */
enum lr_status lr_aws_config_max_attempts(unsigned *out) LR_NODISCARD;

#endif
