/* Test support implementation (see support.h). */
#define _GNU_SOURCE
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *ts_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/clientscan-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *copy = strdup(d);
    assert_non_null(copy);
    return copy;
}

void ts_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = ts_path(dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(p, 0700);
            ts_rmtree(p);
        } else {
            unlink(p);
        }
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

void *ts_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

char *ts_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = ts_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void ts_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

uint8_t *ts_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, used = 0;
    uint8_t *buf = ts_malloc(cap + 1);
    size_t n;
    while ((n = fread(buf + used, 1, cap - used, f)) > 0) {
        used += n;
        if (used == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[used] = 0;
    if (len)
        *len = used;
    return buf;
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 4096;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
}

void ts_run(const char *const argv[], const void *in, size_t in_len, ts_output *res)
{
    memset(res, 0, sizeof *res);
    int pin[2], pout[2], perr[2];
    assert_int_equal(pipe(pin), 0);
    assert_int_equal(pipe(pout), 0);
    assert_int_equal(pipe(perr), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]); close(pin[1]);
        close(pout[0]); close(pout[1]);
        close(perr[0]); close(perr[1]);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    signal(SIGPIPE, SIG_IGN);
    const uint8_t *inp = in;
    size_t in_left = in ? in_len : 0;
    int in_fd = pin[1];
    if (in_left == 0) {
        close(in_fd);
        in_fd = -1;
    } else {
        fcntl(in_fd, F_SETFL, O_NONBLOCK);
    }
    size_t out_cap = 0, err_cap = 0;
    append(&res->out, &res->out_len, &out_cap, "", 0);
    append(&res->err, &res->err_len, &err_cap, "", 0);
    int open_fds = 2;
    while (open_fds > 0 || in_fd >= 0) {
        struct pollfd fds[3] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
        int nf = in_fd >= 0 ? 3 : 2;
        if (poll(fds, (nfds_t)nf, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail_msg("poll: %s", strerror(errno));
        }
        char buf[65536];
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
                ssize_t n = read(fds[i].fd, buf, sizeof buf);
                if (n > 0) {
                    if (i == 0)
                        append(&res->out, &res->out_len, &out_cap, buf, (size_t)n);
                    else
                        append(&res->err, &res->err_len, &err_cap, buf, (size_t)n);
                } else {
                    close(fds[i].fd);
                    if (i == 0)
                        pout[0] = -1;
                    else
                        perr[0] = -1;
                    open_fds--;
                }
            }
        }
        if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in_fd, inp, in_left);
            if (n > 0) {
                inp += n;
                in_left -= (size_t)n;
            }
            if (n < 0 && errno != EAGAIN) 
                in_left = 0;
            if (in_left == 0) {
                close(in_fd);
                in_fd = -1;
            }
        }
        if (pout[0] < 0 && perr[0] < 0)
            open_fds = 0;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void ts_output_free(ts_output *res)
{
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

const char *ts_cli(void)
{
    const char *p = getenv("CLIENTSCAN_CLI");
    return p && *p ? p : "build/clientscan";
}

const char *ts_vectors_dir(const char *what)
{
    const char *p = getenv("CLIENTSCAN_VECTORS");
    if (!p || !*p)
        p = "../shared/pdq-vectors";
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/expected-full.tsv", p);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "\n*** SKIPPED: %s: %s not found (set CLIENTSCAN_VECTORS) ***\n\n", what, probe);
        return NULL;
    }
    return p;
}
