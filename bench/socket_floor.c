/* The floor of the cold-start benchmark for a Runtime API client: a static program that does only
 * what any client must (read AWS_LAMBDA_RUNTIME_API, connect over TCP, send GET /next) with raw
 * syscalls and no HTTP library, then waits to be killed. Accepts only a numeric "a.b.c.d:port". */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_endpoint(const char *s, struct sockaddr_in *sa)
{
    char host[16];
    const char *colon = strchr(s, ':');
    unsigned long port = 0;
    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
            return -1;
    }
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(void)
{
    static const char req[] =
        "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rapi\r\n\r\n";
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    struct sockaddr_in sa = {0};
    if (api == NULL || parse_endpoint(api, &sa) != 0)
        return 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return 1;
    if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
        return 1;
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    return 0;
}
