/* lambda-emu: a local AWS Lambda emulator in the manner of AWS's Runtime Interface Emulator.
 * The main thread owns the signals: it reaps the bootstrap (SIGCHLD) and stops everything on
 * SIGTERM/SIGINT; the HTTP work happens on libmicrohttpd's threads. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "iapi.h"
#include "opts.h"
#include "rapi.h"
#include "sandbox.h"

static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    /* Blocked before any thread starts, so every thread inherits the mask and only sigwaitinfo sees
     * them. SIGPIPE is ignored: a runtime that hangs up must not kill the emulator. */
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static bool write_port_file(const char *path, uint16_t rapi_port, uint16_t invoke_port)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return false;
    fprintf(f, "runtime_api=127.0.0.1:%u\ninvoke=127.0.0.1:%u\n", (unsigned)rapi_port,
            (unsigned)invoke_port);
    bool ok = fclose(f) == 0 && rename(tmp, path) == 0; /* readers never see a half-written file */
    if (!ok)
        unlink(tmp);
    return ok;
}

static void reap_children(void)
{
    int status;
    struct rusage ru;
    pid_t pid;
    while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0)
        sandbox_child_exited(pid, status, &ru);
}

/* Serves until SIGTERM or SIGINT. */
static void signal_loop(const sigset_t *set)
{
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(set, &si);
        if (sig == SIGCHLD)
            reap_children();
        else if (sig == SIGTERM || sig == SIGINT)
            return;
        else if (sig < 0 && errno != EINTR)
            return;
    }
}

static void shut_down(struct MHD_Daemon *rapi, struct MHD_Daemon *iapi)
{
    pid_t pid = sandbox_shutdown();
    if (pid > 0) {
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) == pid)
            sandbox_child_exited(pid, status, &ru);
    }
    if (iapi) {
        iapi_drain(2000);
        MHD_stop_daemon(iapi);
    }
    if (rapi)
        MHD_stop_daemon(rapi);
}

int main(int argc, char **argv)
{
    sigset_t set;
    block_signals(&set);
    static struct opts o;
    if (!opts_parse(argc, argv, &o))
        return 2;
    uint16_t rapi_port = 0, invoke_port = 0;
    struct MHD_Daemon *rapi = rapi_start(o.runtime_api_port, &rapi_port);
    if (!rapi) {
        fprintf(stderr, "lambda-emu: cannot listen on 127.0.0.1:%u (Runtime API)\n",
                o.runtime_api_port);
        return 1;
    }
    char endpoint[32];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned)rapi_port);
    sandbox_init(&o, child_build_env(&o, endpoint));
    struct MHD_Daemon *iapi = iapi_start(o.invoke_port, &invoke_port);
    if (!iapi) {
        fprintf(stderr, "lambda-emu: cannot listen on 127.0.0.1:%u (Invoke API)\n", o.invoke_port);
        shut_down(rapi, NULL);
        return 1;
    }
    sandbox_start_child();
    if (o.port_file && !write_port_file(o.port_file, rapi_port, invoke_port)) {
        fprintf(stderr, "lambda-emu: cannot write %s: %s\n", o.port_file, strerror(errno));
        shut_down(rapi, iapi);
        return 1;
    }
    fprintf(stderr,
            "lambda-emu: Runtime API on 127.0.0.1:%u, invoke with POST http://127.0.0.1:%u"
            "/2015-03-31/functions/function/invocations\n",
            (unsigned)rapi_port, (unsigned)invoke_port);
    signal_loop(&set);
    shut_down(rapi, iapi);
    return 0;
}
