/* Region, endpoints (standard per partition, or overridden), credentials, CA bundle, attempts. */
#define _POSIX_C_SOURCE 200809L /* strncasecmp */
#include "aws/lr_aws_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Service models: endpoint prefix, signing name, serviceId as env suffix, X-Amz-Target prefix. */
const struct lr_aws_service lr_aws_dynamodb = {"dynamodb", "dynamodb", "DYNAMODB",
                                               "DynamoDB_20120810", "1.0"};
const struct lr_aws_service lr_aws_dynamodb_streams = {
    "streams.dynamodb", "dynamodb", "DYNAMODB_STREAMS", "DynamoDBStreams_20120810", "1.0"};
const struct lr_aws_service lr_aws_sqs = {"sqs", "sqs", "SQS", "AmazonSQS", "1.0"};
const struct lr_aws_service lr_aws_sns = {"sns", "sns", "SNS", NULL, NULL};
const struct lr_aws_service lr_aws_eventbridge = {"events", "events", "EVENTBRIDGE", "AWSEvents",
                                                  "1.1"};
const struct lr_aws_service lr_aws_firehose = {"firehose", "firehose", "FIREHOSE",
                                               "Firehose_20150804", "1.1"};

const struct lr_aws_service *lr_aws_service_by_name(const char *name)
{
    static const struct {
        const char *name;
        const struct lr_aws_service *svc;
    } table[] = {{"dynamodb", &lr_aws_dynamodb},
                 {"dynamodbstreams", &lr_aws_dynamodb_streams},
                 {"sqs", &lr_aws_sqs},
                 {"sns", &lr_aws_sns},
                 {"events", &lr_aws_eventbridge},
                 {"firehose", &lr_aws_firehose}};
    for (size_t i = 0; name != NULL && i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].svc;
    return NULL;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v
                                   : NULL; /* an empty variable counts as unset, as in the SDKs */
}

bool lr_aws_config_region_valid(const char *r)
{
    size_t n = strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-");
    return n > 0 && n <= LR_AWS_REGION_MAX && r[n] == '\0';
}

enum lr_status lr_aws_config_region(char out[LR_AWS_REGION_MAX + 1])
{
    const char *r = env("AWS_REGION");
    if (r == NULL)
        r = env("AWS_DEFAULT_REGION");
    if (r == NULL || !lr_aws_config_region_valid(r))
        return LR_E_AWS_CONFIG;
    snprintf(out, LR_AWS_REGION_MAX + 1, "%s", r);
    return LR_OK;
}

/* The partitions' DNS suffixes by region prefix (endpoints.json); "aws" and "aws-us-gov" use the default. */
static const char *dns_suffix(const char *region)
{
    static const struct {
        const char *prefix, *suffix;
    } table[] = {{"cn-", "amazonaws.com.cn"},    {"us-isob-", "sc2s.sgov.gov"},
                 {"us-isof-", "csp.hci.ic.gov"}, {"us-iso-", "c2s.ic.gov"},
                 {"eu-isoe-", "cloud.adc-e.uk"}, {"eusc-", "amazonaws.eu"}};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strncmp(region, table[i].prefix, strlen(table[i].prefix)) == 0)
            return table[i].suffix;
    return "amazonaws.com";
}

static bool fits(int n, size_t cap)
{
    return n >= 0 && (size_t)n < cap;
}

/* authority = host[:port], host = [A-Za-z0-9.-]+ or an [IPv6] literal. */
static bool authority_valid(const char *a, size_t n, size_t *host_len, unsigned long *port)
{
    size_t h = a[0] == '['
                   ? strcspn(a, "]") + 1
                   : strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-");
    if (a[0] == '[' && (h > n || strspn(a + 1, "0123456789abcdefABCDEF:.") != h - 2))
        return false;
    if (h == 0 || h > n)
        return false;
    *host_len = h;
    *port = 0;
    if (h == n)
        return true;
    size_t digits = strspn(a + h + 1, "0123456789");
    if (a[h] != ':' || digits == 0 || digits > 5 || h + 1 + digits != n)
        return false;
    *port = strtoul(a + h + 1, NULL, 10);
    return *port >= 1 && *port <= 65535;
}

enum lr_status lr_aws_config_parse_url(const char *url, struct lr_aws_endpoint *out)
{
    size_t scheme = strncasecmp(url, "https://", 8) == 0  ? 8
                    : strncasecmp(url, "http://", 7) == 0 ? 7
                                                          : 0;
    if (scheme == 0)
        return LR_E_AWS_CONFIG;
    const char *a = url + scheme;
    size_t n = strcspn(a, "/"), host_len;
    unsigned long port;
    const char *path = a + n;
    /* The path is sent as given and signed, so only printable bytes other than space, '?' and '#'. */
    for (const char *p = path; *p; p++)
        if (*p <= ' ' || *p >= 0x7F || *p == '?' || *p == '#')
            return LR_E_AWS_CONFIG;
    if (!authority_valid(a, n, &host_len, &port))
        return LR_E_AWS_CONFIG;
    out->https = scheme == 8;
    bool default_port = port == 0 || port == (out->https ? 443u : 80u);
    int hn = snprintf(out->host, sizeof(out->host), "%.*s", (int)(default_port ? host_len : n), a);
    int pn = snprintf(out->path, sizeof(out->path), "%s", *path ? path : "/");
    int un = snprintf(out->url, sizeof(out->url), "%s://%.*s%s", out->https ? "https" : "http",
                      (int)n, a, out->path);
    return fits(hn, sizeof(out->host)) && fits(pn, sizeof(out->path)) && fits(un, sizeof(out->url))
               ? LR_OK
               : LR_E_AWS_CONFIG;
}

enum lr_status lr_aws_config_endpoint(const struct lr_aws_service *svc, const char *region,
                                      struct lr_aws_endpoint *out)
{
    const char *ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (ignore == NULL || strcasecmp(ignore, "true") != 0) {
        char name[96];
        snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", svc->env_id);
        const char *url = env(name);
        if (url == NULL)
            url = env("AWS_ENDPOINT_URL");
        if (url != NULL)
            return lr_aws_config_parse_url(url, out);
    }
    char url[512];
    int n = snprintf(url, sizeof(url), "https://%s.%s.%s", svc->endpoint_prefix, region,
                     dns_suffix(region));
    return fits(n, sizeof(url)) ? lr_aws_config_parse_url(url, out) : LR_E_AWS_CONFIG;
}

/* 1..max bytes, printable ASCII without blanks (what a header can carry unchanged). */
static bool token_valid(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (s[n] <= ' ' || s[n] >= 0x7F || n >= max)
            return false;
    return n > 0;
}

enum lr_status lr_aws_config_credentials(struct lr_aws_creds *out)
{
    out->access_key_id = env("AWS_ACCESS_KEY_ID");
    out->secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    out->session_token = env("AWS_SESSION_TOKEN");
    if (out->access_key_id == NULL || out->secret_access_key == NULL ||
        !token_valid(out->access_key_id, 128) || !token_valid(out->secret_access_key, 128) ||
        (out->session_token != NULL && !token_valid(out->session_token, 16384)))
        return LR_E_AWS_CREDENTIALS;
    return LR_OK;
}

enum lr_status lr_aws_config_ca_bundle(const char **path)
{
    static const char *const defaults[] = {
        "/etc/pki/tls/certs/ca-bundle.crt", /* Amazon Linux 2, 2023 */
        "/etc/ssl/certs/ca-certificates.crt"};
    const char *set = env("SSL_CERT_FILE");
    if (set != NULL) {
        *path =
            set; /* a bundle asked for but unreadable is an error, not a reason to trust another */
        return access(set, R_OK) == 0 ? LR_OK : LR_E_TLS_CA_BUNDLE;
    }
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if (access(defaults[i], R_OK) == 0) {
            *path = defaults[i];
            return LR_OK;
        }
    return LR_E_TLS_CA_BUNDLE;
}

enum lr_status lr_aws_config_max_attempts(unsigned *out)
{
    const char *v = env("AWS_MAX_ATTEMPTS");
    if (v == NULL)
        return LR_OK;
    size_t digits = strspn(v, "0123456789");
    unsigned long n = digits > 0 && digits <= 2 && v[digits] == '\0' ? strtoul(v, NULL, 10) : 0;
    if (n < 1 || n > 20)
        return LR_E_AWS_CONFIG;
    *out = (unsigned)n;
    return LR_OK;
}
