/* lr_bench_tls_client: HTTPS GETs through libcurl, for the TLS figures of docs/packaging.md and the
 * certificate tests (tests/integration/test_static_tls.py). Built statically like the bootstrap by
 * the packaging superbuild (mbedTLS), and against the system's libcurl in the normal build.
 *
 *   lr_bench_tls_client --url URL [--cainfo FILE] [--fresh N] [--reuse N] [--resume]
 *                       [--upload-buffer BYTES]
 *   lr_bench_tls_client --info
 *
 * --fresh N: N GETs, each on a new connection (full handshake; --resume lets libcurl resume its TLS
 *            session). Prints the handshake time (connected -> TLS done) and the client's CPU time.
 * --reuse N: then N GETs on one kept-alive connection. Prints wall and CPU time per request.
 * --upload-buffer: CURLOPT_UPLOAD_BUFFERSIZE. Over TLS libcurl copies every request into this
 *            buffer (64 KB by default) and frees it after the transfer; musl's malloc maps and unmaps
 *            a block that size each time, which dominates a kept-alive request's cost.
 * --info:    what this libcurl was built with: TLS library, compiled-in CA file and directory.
 * Certificates are always verified. A failed transfer prints "curl_error=CODE message" and exits 1. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct options {
    const char *url;
    const char *cainfo;
    long fresh;
    long reuse;
    long upload_buffer;
    int resume;
};

static size_t discard(char *ptr, size_t size, size_t nmemb, void *user)
{
    (void)ptr;
    *(size_t *)user += size * nmemb;
    return size * nmemb;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_series(const char *name, double *v, long n, double cpu_total)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    printf("%s n=%ld median_us=%.1f p10_us=%.1f p90_us=%.1f cpu_us_each=%.1f\n", name, n, v[n / 2],
           v[n / 10], v[(n * 9) / 10], cpu_total / (double)n);
}

/* One GET; 0 on a 200 with a body, 1 (message printed) otherwise. */
static int get(CURL *curl, char *errbuf)
{
    size_t body = 0;
    long status = 0;
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    errbuf[0] = '\0';
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        printf("curl_error=%d %s\n", (int)rc, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return 1;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || body == 0) {
        printf("bad_answer status=%ld body_bytes=%zu\n", status, body);
        return 1;
    }
    return 0;
}

static CURL *new_handle(const struct options *o, char *errbuf)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, o->url);
    if (o->cainfo)
        curl_easy_setopt(curl, CURLOPT_CAINFO, o->cainfo);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_SSL_SESSIONID_CACHE, (long)o->resume);
    if (o->upload_buffer)
        curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, o->upload_buffer);
    return curl;
}

static int run_fresh(CURL *curl, const struct options *o, char *errbuf)
{
    double *hs = calloc((size_t)o->fresh, sizeof *hs);
    if (!hs)
        return 1;
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    double cpu0 = cpu_us();
    for (long i = 0; i < o->fresh; i++) {
        curl_off_t connected = 0, tls_done = 0;
        if (get(curl, errbuf)) {
            free(hs);
            return 1;
        }
        curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected);
        curl_easy_getinfo(curl, CURLINFO_APPCONNECT_TIME_T, &tls_done);
        hs[i] = (double)(tls_done - connected);
    }
    print_series(o->resume ? "handshake_resumed" : "handshake_full", hs, o->fresh, cpu_us() - cpu0);
    free(hs);
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 0L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 0L);
    return 0;
}

static int run_reuse(CURL *curl, const struct options *o, char *errbuf)
{
    double *req = calloc((size_t)o->reuse, sizeof *req);
    if (!req)
        return 1;
    int rc = get(curl, errbuf); /* opens the connection the series then reuses */
    double cpu0 = cpu_us();
    for (long i = 0; i < o->reuse && rc == 0; i++) {
        long connects = -1;
        double t0 = now_us();
        rc = get(curl, errbuf);
        req[i] = now_us() - t0;
        curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
        if (rc == 0 && connects != 0) {
            printf("not_reused request=%ld\n", i);
            rc = 1;
        }
    }
    if (rc == 0)
        print_series("request_kept_alive", req, o->reuse, cpu_us() - cpu0);
    free(req);
    return rc;
}

static int print_info(void)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return 1;
    char *cainfo = NULL, *capath = NULL;
    curl_easy_getinfo(curl, CURLINFO_CAINFO, &cainfo);
    curl_easy_getinfo(curl, CURLINFO_CAPATH, &capath);
    printf("ssl_version=%s\n", curl_version_info(CURLVERSION_NOW)->ssl_version);
    printf("default_cainfo=%s\ndefault_capath=%s\n", cainfo ? cainfo : "(none)",
           capath ? capath : "(none)");
    curl_easy_cleanup(curl);
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--resume"))
            o->resume = 1;
        else if (!next)
            return 1;
        else if (!strcmp(argv[i], "--url"))
            o->url = argv[++i];
        else if (!strcmp(argv[i], "--cainfo"))
            o->cainfo = argv[++i];
        else if (!strcmp(argv[i], "--fresh"))
            o->fresh = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reuse"))
            o->reuse = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--upload-buffer"))
            o->upload_buffer = strtol(argv[++i], NULL, 10);
        else
            return 1;
    }
    return !o->url || o->upload_buffer < 0 || o->fresh < 0 || o->reuse < 0 ||
           o->fresh + o->reuse == 0 || o->fresh > 1000000 || o->reuse > 1000000;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    char errbuf[CURL_ERROR_SIZE];
    if (argc == 2 && !strcmp(argv[1], "--info"))
        return print_info();
    if (parse_args(argc, argv, &o)) {
        fprintf(stderr,
                "usage: %s --url URL [--cainfo FILE] [--fresh N] [--reuse N] [--resume] "
                "[--upload-buffer BYTES]\n",
                argv[0]);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    CURL *curl = new_handle(&o, errbuf);
    int rc = curl ? 0 : 1;
    if (rc == 0 && o.fresh > 0)
        rc = run_fresh(curl, &o, errbuf);
    if (rc == 0 && o.reuse > 0)
        rc = run_reuse(curl, &o, errbuf);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}
