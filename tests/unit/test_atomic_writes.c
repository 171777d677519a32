/* Outputs under faults, through the CLI under test (ts_cli()): a full disk,
 * a killed process, inputs that are missing or arrive in short reads. What
 * must hold: a command that cannot write everything exits 1 with a
 * "path: reason" message, and never leaves a file under the final name
 * that looks valid but is not (files are written to a temporary name,
 * fsync'd and renamed; an earlier file of that name stays as it was).
 *
 *  - Standard output on /dev/full: ENOSPC on every write.
 *  - A file system that is full: RLIMIT_FSIZE in the child (SIGXFSZ
 *    ignored) makes write() fail with EFBIG past a size, which follows the
 *    same code path as ENOSPC and needs neither root nor a tiny mount.
 *  - SIGKILL at points spread over a run of 'send' with a 24 MiB input and
 *    of 'list build' with 100 000 entries: whatever the moment, the final
 *    files are absent, the previous complete ones, or the new complete ones.
 */
#include "support.h"
#include "images.h"

#include "clientscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ running */

typedef struct spawn_opts {
    const char *stdout_path; /* NULL: captured */
    long fsize_limit;        /* > 0: RLIMIT_FSIZE in bytes */
    double kill_after;       /* > 0: SIGKILL after this many seconds */
    const uint8_t *in;       /* standard input, written in short pieces */
    size_t in_len;
} spawn_opts;

typedef struct spawn_result {
    int status; /* exit status, or 128 + signal */
    double seconds;
    char *out, *err;
} spawn_result;

static char *scratch;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_for(double seconds)
{
    struct timespec t = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static char *slurp(const char *path)
{
    size_t len;
    return (char *)ts_read_file(path, &len);
}

/* Runs the CLI with args (NULL-terminated). Output goes to files in the
 * scratch directory (a killed child cannot leave a pipe half-read). */
static spawn_result spawn(const spawn_opts *o, const char *const *args)
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = ts_cli();
    for (; args[n - 1] && n < 47; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    char *out_path = ts_path(scratch, "stdout.txt"), *err_path = ts_path(scratch, "stderr.txt");
    int in_pipe[2] = {-1, -1};
    if (o->in)
        assert_int_equal(pipe(in_pipe), 0);
    fflush(NULL);
    double t0 = now();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd_out = open(o->stdout_path ? o->stdout_path : out_path,
                          O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd_out < 0 || fd_err < 0)
            _exit(126);
        dup2(fd_out, 1);
        dup2(fd_err, 2);
        if (o->in) {
            dup2(in_pipe[0], 0);
            close(in_pipe[0]);
            close(in_pipe[1]);
        } else {
            int null_in = open("/dev/null", O_RDONLY);
            dup2(null_in, 0);
        }
        if (o->fsize_limit > 0) {
            signal(SIGXFSZ, SIG_IGN); /* write() then fails with EFBIG */
            struct rlimit lim = {(rlim_t)o->fsize_limit, (rlim_t)o->fsize_limit};
            if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
                _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (o->in) {
        /* 1..7 bytes at a time with pauses: the reader sees short reads. */
        close(in_pipe[0]);
        signal(SIGPIPE, SIG_IGN);
        size_t off = 0, k = 0;
        while (off < o->in_len) {
            size_t piece = k++ % 7 + 1;
            if (piece > o->in_len - off)
                piece = o->in_len - off;
            ssize_t w = write(in_pipe[1], o->in + off, piece);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
            if (k % 64 == 0)
                sleep_for(0.0005);
        }
        close(in_pipe[1]);
    }
    int st = 0;
    bool reaped = false;
    if (o->kill_after > 0) {
        /* Poll until it exits or its time is up; a child not yet reaped
         * cannot have its pid reused, so the kill hits the right process. */
        while (!reaped && now() - t0 < o->kill_after) {
            pid_t w = waitpid(pid, &st, WNOHANG);
            if (w == pid)
                reaped = true;
            else
                sleep_for(0.0005);
        }
        if (!reaped)
            kill(pid, SIGKILL);
    }
    while (!reaped && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    spawn_result r;
    r.seconds = now() - t0;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = o->stdout_path ? strdup("") : slurp(out_path);
    r.err = slurp(err_path);
    assert_non_null(r.out);
    free(out_path);
    free(err_path);
    return r;
}

static void spawn_free(spawn_result *r)
{
    free(r->out);
    free(r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs with default options; expects exit status `want`. */
static spawn_result expect(int want, const spawn_opts *o, const char *const *args)
{
    static const spawn_opts none;
    spawn_result r = spawn(o ? o : &none, args);
    if (r.status != want)
        fail_msg("%s %s: exit %d, expected %d\nstdout: %s\nstderr: %s", args[0], args[1],
                 r.status, want, r.out, r.err);
    return r;
}

static void expect_free(int want, const spawn_opts *o, const char *const *args)
{
    spawn_result r = expect(want, o, args);
    spawn_free(&r);
}

/* ------------------------------------------------------------ fixture */

static struct {
    char *dir;
    char *name[96], *path[96];
    size_t npaths;
    uint8_t *big;   /* 24 MiB of random bytes: unscannable, sent encrypted */
    size_t big_len;
    uint8_t *image; /* a listed image: its slot is a MATCH */
    size_t image_len;
    char *text;     /* 100 000 hash lines */
    size_t text_len;
    size_t entries;
} fx;

static const char *P(const char *name)
{
    for (size_t i = 0; i < fx.npaths; i++)
        if (strcmp(fx.name[i], name) == 0)
            return fx.path[i];
    assert_true(fx.npaths < sizeof fx.path / sizeof fx.path[0]);
    fx.name[fx.npaths] = strdup(name);
    assert_non_null(fx.name[fx.npaths]);
    return fx.path[fx.npaths++] = ts_path(fx.dir, name);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Files in dir whose name contains ".tmp.": temporaries a kill left. */
static int temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) {
            char *p = ts_path(dir, e->d_name);
            unlink(p);
            free(p);
        }
    closedir(d);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    return ts_read_file(path, len);
}

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    assert_int_equal(clientscan_init(), 0);
    fx.dir = ts_tempdir();
    scratch = fx.dir;
    expect_free(0, NULL, ARGS("keygen", "--role", "authority", "-o", P("authority")));
    expect_free(0, NULL, ARGS("keygen", "--role", "moderator", "-o", P("moderator")));
    expect_free(0, NULL, ARGS("keygen", "--role", "user", "-o", P("user")));

    fx.big_len = 24u << 20;
    fx.big = malloc(fx.big_len);
    assert_non_null(fx.big);
    randombytes_buf(fx.big, fx.big_len);
    ts_write_file(P("big.bin"), fx.big, fx.big_len);
    fx.image = ts_png_encode(96, 64, PNG_COLOR_TYPE_RGB, 8, 0, &fx.image_len);
    ts_write_file(P("image.png"), fx.image, fx.image_len);

    /* 100 000 pseudo-random hashes, the image's among them. */
    clientscan_pdq_result r;
    clientscan_detail d;
    if (clientscan_hash_memory(fx.image, fx.image_len, NULL, &r, NULL, &d) != 0)
        fail_msg("hash: %s", d.text);
    fx.entries = 100000;
    size_t cap = fx.entries * 66 + 1;
    fx.text = malloc(cap);
    assert_non_null(fx.text);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < fx.entries; i++) {
        clientscan_pdq h = r.hash[0];
        if (i)
            for (int k = 0; k < CLIENTSCAN_PDQ_BYTES; k++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                h.bytes[k] = (uint8_t)s;
            }
        clientscan_pdq_to_hex(&h, fx.text + fx.text_len);
        fx.text_len += 64;
        fx.text[fx.text_len++] = '\n';
    }
    ts_write_file(P("hashes.txt"), fx.text, fx.text_len);
    ts_write_file(P("few.txt"), fx.text, 65 * 10);
    expect_free(0, NULL, ARGS("list", "build", "-o", P("list.bin"), "--sequence", "2", "--created",
                              "1700000000", "--sign", P("authority.sec"), P("few.txt")));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(fx.dir);
    free(fx.dir);
    for (size_t i = 0; i < fx.npaths; i++) {
        free(fx.name[i]);
        free(fx.path[i]);
    }
    free(fx.big);
    free(fx.image);
    free(fx.text);
    return 0;
}

/* ------------------------------------------------------------ checks */

/* What 'send' left in dir: nothing under the final names, or a set whose
 * three files belong together. Returns the input it carries (0 none,
 * 1 the image, 2 the big file). */
static int check_send_output(const char *dir)
{
    char *ct_path = ts_path(dir, "attachment.bin"), *key_path = ts_path(dir, "key.sealed"),
         *slot_path = ts_path(dir, "report.slot");
    int which = 0;
    if (exists(ct_path)) {
        assert_true(exists(key_path));
        assert_true(exists(slot_path));
        clientscan_secret_key *user = NULL, *moderator = NULL;
        assert_int_equal(clientscan_secret_key_load(P("user.sec"), CLIENTSCAN_ROLE_USER, &user, NULL), 0);
        assert_int_equal(clientscan_secret_key_load(P("moderator.sec"), CLIENTSCAN_ROLE_MODERATOR,
                                                    &moderator, NULL), 0);
        size_t ct_len, sealed_len, slot_len;
        uint8_t *ct = read_all(ct_path, &ct_len), *sealed = read_all(key_path, &sealed_len),
                *slot = read_all(slot_path, &slot_len);
        clientscan_attachment_key *key = NULL;
        clientscan_detail d;
        if (clientscan_attachment_key_unseal(user, sealed, sealed_len, &key, &d) != 0)
            fail_msg("%s: key.sealed does not open: %s", dir, d.text);
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        if (clientscan_open_attachment(key, ct, ct_len, &plain, &plain_len, &d) != 0)
            fail_msg("%s: attachment.bin and key.sealed do not belong together: %s", dir, d.text);
        clientscan_report rep;
        if (clientscan_open_report(moderator, slot, slot_len, &rep, &d) != 0)
            fail_msg("%s: report.slot does not open: %s", dir, d.text);
        if (plain_len == fx.image_len && memcmp(plain, fx.image, plain_len) == 0) {
            which = 1;
            /* The image is listed: its slot is a MATCH naming this ciphertext. */
            uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES];
            crypto_generichash(digest, sizeof digest, ct, ct_len, NULL, 0);
            assert_int_equal(rep.kind, CLIENTSCAN_REPORT_MATCH);
            assert_memory_equal(rep.ciphertext_digest, digest, sizeof digest);
        } else {
            assert_int_equal(plain_len, fx.big_len);
            assert_memory_equal(plain, fx.big, plain_len);
            assert_int_equal(rep.kind, CLIENTSCAN_REPORT_UNSCANNED);
            which = 2;
        }
        clientscan_report_release(&rep);
        free(plain);
        clientscan_attachment_key_free(key);
        free(ct);
        free(sealed);
        free(slot);
        clientscan_secret_key_free(user);
        clientscan_secret_key_free(moderator);
    }
    free(ct_path);
    free(key_path);
    free(slot_path);
    return which;
}

/* A list file: absent, or a complete signed list of `entries` entries (the
 * old one has 10). Returns its entry count, 0 if absent. */
static size_t check_list_output(const char *path)
{
    if (!exists(path))
        return 0;
    clientscan_public_key authority;
    assert_int_equal(clientscan_public_key_load(P("authority.pub"), CLIENTSCAN_ROLE_AUTHORITY,
                                                &authority, NULL), 0);
    clientscan_list_params lp;
    memset(&lp, 0, sizeof lp);
    lp.authorities = &authority;
    lp.authority_count = 1;
    lp.skip_index = 1;
    clientscan_list *l = NULL;
    clientscan_detail d;
    if (clientscan_list_open(path, &lp, &l, &d) != 0)
        fail_msg("%s: a list file that does not open: %s", path, d.text);
    size_t n = clientscan_list_count(l);
    clientscan_list_close(l);
    return n;
}

/* ------------------------------------------------------------ tests */

static void expect_message(const spawn_result *r, const char *a, const char *b)
{
    if (!strstr(r->err, a) || (b && !strstr(r->err, b)))
        fail_msg("expected \"%s\"%s%s on stderr, got: %s", a, b ? " and " : "", b ? b : "", r->err);
}

/* Standard output on a full device: exit 1 and say so. */
static void test_stdout_full(void **state)
{
    (void)state;
    const spawn_opts full = {.stdout_path = "/dev/full"};
    const char *const *runs[] = {
        ARGS("hash", P("image.png")),
        ARGS("hash", "--json", "--dihedral", P("image.png")),
        ARGS("list", "export", "--authority", P("authority.pub"), P("list.bin")),
        ARGS("report", "open", "--key", P("moderator.sec"), P("fresh/report.slot")),
        /* Commands whose output is only a summary fail the same way
         * (one check in the dispatcher serves every command). */
        ARGS("keygen", "--role", "user", "-o", P("full-stdout-key")),
        ARGS("list", "info", "--authority", P("authority.pub"), P("list.bin")),
        ARGS("list", "verify", "--authority", P("authority.pub"), P("list.bin")),
        ARGS("list", "diff", "--authority", P("authority.pub"), P("list.bin"), P("list.bin")),
        ARGS("match", "--list", P("list.bin"), "--authority", P("authority.pub"), P("image.png")),
        ARGS("--version"),
    };
    expect_free(0, NULL, ARGS("send", "--list", P("list.bin"), "--authority", P("authority.pub"),
                              "--moderator", P("moderator.pub"), "--to", P("user.pub"),
                              P("image.png"), P("fresh")));
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        spawn_result r = expect(1, &full, runs[i]);
        assert_true(r.err[0] != 0); /* and it says so */
        spawn_free(&r);
    }
    /* receive to stdout: nothing can be taken back, so exit 1 is all. */
    spawn_result r = expect(1, &full, ARGS("receive", "--key", P("user.sec"), P("fresh"), "-"));
    expect_message(&r, strerror(ENOSPC), NULL);
    spawn_free(&r);
    r = expect(1, &full, ARGS("hash", P("image.png")));
    expect_message(&r, strerror(ENOSPC), NULL);
    spawn_free(&r);
    /* send --json: the files were written, but the caller never learnt
     * it: they are removed again. */
    r = expect(1, &full, ARGS("send", "--json", "--list", P("list.bin"), "--authority",
                              P("authority.pub"), "--moderator", P("moderator.pub"), "--to",
                              P("user.pub"), P("image.png"), P("sent-full")));
    expect_message(&r, strerror(ENOSPC), NULL);
    spawn_free(&r);
    assert_false(exists(P("sent-full/attachment.bin")));
    assert_false(exists(P("sent-full/report.slot")));
    assert_false(exists(P("sent-full/key.sealed")));
}

/* A full file system: every file output fails with "path: write failed",
 * leaves no temporary, and an earlier file of the same name intact. */
static void test_disk_full(void **state)
{
    (void)state;
    spawn_opts small = {.fsize_limit = 4096};
    const char *err_text = strerror(EFBIG);

    /* list build over an existing list */
    expect_free(0, NULL, ARGS("list", "build", "-o", P("kept.bin"), "--sequence", "1", "--created",
                              "1700000000", "--sign", P("authority.sec"), P("few.txt")));
    size_t old_len;
    uint8_t *old = read_all(P("kept.bin"), &old_len);
    spawn_result r = expect(1, &small, ARGS("list", "build", "-o", P("kept.bin"), "--sequence", "3",
                                            "--sign", P("authority.sec"), P("hashes.txt")));
    expect_message(&r, P("kept.bin"), err_text);
    spawn_free(&r);
    size_t now_len;
    uint8_t *now_data = read_all(P("kept.bin"), &now_len);
    assert_int_equal(now_len, old_len);
    assert_memory_equal(now_data, old, old_len);
    free(now_data);
    assert_int_equal(temporaries(fx.dir), 0);

    /* list export -o and list sign -o: absent afterwards */
    expect_free(0, NULL, ARGS("list", "build", "-o", P("large.bin"), "--sequence", "3", "--sign",
                              P("authority.sec"), P("hashes.txt")));
    r = expect(1, &small, ARGS("list", "export", "--authority", P("authority.pub"), "-o",
                               P("export.txt"), P("large.bin")));
    expect_message(&r, P("export.txt"), err_text);
    spawn_free(&r);
    r = expect(1, &small, ARGS("list", "sign", "--key", P("authority.sec"), "-o", P("signed.bin"),
                               P("large.bin")));
    expect_message(&r, P("signed.bin"), err_text);
    spawn_free(&r);
    assert_false(exists(P("export.txt")));
    assert_false(exists(P("signed.bin")));

    /* send: the 24 MiB ciphertext does not fit; an earlier complete set
     * in the directory is gone rather than mixed with this run's files. */
    expect_free(0, NULL, ARGS("send", "--list", P("list.bin"), "--authority", P("authority.pub"),
                              "--moderator", P("moderator.pub"), "--to", P("user.pub"),
                              P("image.png"), P("sent")));
    assert_int_equal(check_send_output(P("sent")), 1);
    r = expect(1, &small, ARGS("send", "--list", P("list.bin"), "--authority", P("authority.pub"),
                               "--moderator", P("moderator.pub"), "--to", P("user.pub"),
                               P("big.bin"), P("sent")));
    expect_message(&r, "attachment.bin", err_text);
    spawn_free(&r);
    assert_int_equal(check_send_output(P("sent")), 0);
    assert_false(exists(P("sent/report.slot")));
    assert_false(exists(P("sent/key.sealed")));
    assert_int_equal(temporaries(P("sent")), 0);

    /* receive into a file: the earlier file stays as it was. */
    expect_free(0, NULL, ARGS("send", "--list", P("list.bin"), "--authority", P("authority.pub"),
                              "--moderator", P("moderator.pub"), "--to", P("user.pub"),
                              P("big.bin"), P("sent")));
    ts_write_file(P("received.bin"), "old", 3);
    r = expect(1, &small, ARGS("receive", "--key", P("user.sec"), P("sent"), P("received.bin")));
    expect_message(&r, P("received.bin"), NULL);
    spawn_free(&r);
    uint8_t *got = read_all(P("received.bin"), &now_len);
    assert_int_equal(now_len, 3);
    assert_memory_equal(got, "old", 3);
    free(got);
    assert_int_equal(temporaries(fx.dir), 0);

    /* report open --fetch -o: the decrypted attachment is not written. */
    spawn_opts tiny = {.fsize_limit = 16};
    r = expect(1, &tiny, ARGS("report", "open", "--key", P("moderator.sec"), "--fetch",
                               P("fresh/attachment.bin"), "-o", P("fetched.bin"),
                               P("fresh/report.slot")));
    spawn_free(&r);
    assert_false(exists(P("fetched.bin")));

    /* keygen: a key file cannot even start; no half pair. */
    r = expect(1, &tiny, ARGS("keygen", "--role", "user", "-o", P("nokey")));
    spawn_free(&r);
    assert_false(exists(P("nokey.sec")));
    assert_false(exists(P("nokey.pub")));
    assert_int_equal(temporaries(fx.dir), 0);
    free(old);
}

/* Missing inputs fail cleanly before any output exists; inputs that
 * arrive a few bytes at a time give the same result as files. */
static void test_missing_and_short_inputs(void **state)
{
    (void)state;
    spawn_result r = expect(1, NULL, ARGS("hash", P("gone.png")));
    expect_message(&r, P("gone.png"), strerror(ENOENT));
    spawn_free(&r);
    r = expect(1, NULL, ARGS("send", "--list", P("list.bin"), "--authority", P("authority.pub"),
                             "--moderator", P("moderator.pub"), "--to", P("user.pub"),
                             P("gone.png"), P("never")));
    expect_message(&r, P("gone.png"), strerror(ENOENT));
    spawn_free(&r);
    assert_false(exists(P("never")));
    r = expect(1, NULL, ARGS("list", "build", "-o", P("never.bin"), P("few.txt"), P("gone.txt")));
    expect_message(&r, P("gone.txt"), NULL);
    spawn_free(&r);
    assert_false(exists(P("never.bin")));
    r = expect(1, NULL, ARGS("receive", "--key", P("user.sec"), P("nothing-here"), P("never.out")));
    spawn_free(&r);
    assert_false(exists(P("never.out")));

    /* A FIFO where an image should be: refused at once, not waited on. */
    assert_int_equal(mkfifo(P("fifo.png"), 0600), 0);
    spawn_opts guard = {.kill_after = 20};
    r = spawn(&guard, ARGS("hash", P("fifo.png")));
    assert_int_equal(r.status, 1);
    expect_message(&r, P("fifo.png"), "not a regular file");
    spawn_free(&r);
    /* Key files too: a FIFO as a public or secret key is refused at once,
     * and an unreadable key is a failure (1), not a usage error (2). */
    r = spawn(&guard, ARGS("list", "verify", "--authority", P("fifo.png"), P("list.bin")));
    assert_int_equal(r.status, 1);
    expect_message(&r, P("fifo.png"), "not a regular file");
    spawn_free(&r);
    r = spawn(&guard, ARGS("match", "--list", P("list.bin"), "--authority", P("fifo.png"),
                           P("image.png")));
    assert_int_equal(r.status, 1);
    spawn_free(&r);
    r = spawn(&guard, ARGS("report", "open", "--key", P("fifo.png"), P("fresh/report.slot")));
    assert_int_equal(r.status, 1);
    expect_message(&r, P("fifo.png"), "not a regular file");
    spawn_free(&r);

    /* Short reads from a pipe: same hash, same list bytes. */
    spawn_result from_file = expect(0, NULL, ARGS("hash", P("image.png")));
    spawn_opts trickle = {.in = fx.image, .in_len = fx.image_len};
    spawn_result from_pipe = expect(0, &trickle, ARGS("hash", "-"));
    assert_memory_equal(from_file.out, from_pipe.out, 64); /* the hash */
    spawn_free(&from_file);
    spawn_free(&from_pipe);
    spawn_opts text = {.in = (const uint8_t *)fx.text, .in_len = 65 * 2000};
    expect_free(0, &text, ARGS("list", "build", "-o", P("piped.bin"), "--created", "1", "-"));
    ts_write_file(P("part.txt"), fx.text, 65 * 2000);
    expect_free(0, NULL, ARGS("list", "build", "-o", P("filed.bin"), "--created", "1", P("part.txt")));
    size_t a_len, b_len;
    uint8_t *a = read_all(P("piped.bin"), &a_len), *b = read_all(P("filed.bin"), &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
}

/* The shorter of two complete runs (the first may pay for a cold cache). */
static double run_time(const char *const *args)
{
    double best = 0;
    for (int i = 0; i < 2; i++) {
        spawn_result r = expect(0, NULL, args);
        best = i == 0 || r.seconds < best ? r.seconds : best;
        spawn_free(&r);
    }
    return best;
}

/* Kill points spread over a run, denser towards its end where the writes
 * happen. */
static const double kill_points[] = {0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 1.0};

static void test_killed_send(void **state)
{
    (void)state;
    const char *dir = P("killed-send");
    const char *const *args = ARGS("send", "--list", P("list.bin"), "--authority",
                                   P("authority.pub"), "--moderator", P("moderator.pub"), "--to",
                                   P("user.pub"), P("big.bin"), dir);
    double t = run_time(args);
    assert_int_equal(check_send_output(dir), 2);
    int seen[3] = {0, 0, 0}, killed = 0, left = 0;
    for (size_t i = 0; i < sizeof kill_points / sizeof kill_points[0]; i++) {
        /* A complete earlier set (the image, a MATCH) first. */
        expect_free(0, NULL, ARGS("send", "--list", P("list.bin"), "--authority",
                                  P("authority.pub"), "--moderator", P("moderator.pub"), "--to",
                                  P("user.pub"), P("image.png"), dir));
        spawn_opts o = {.kill_after = t * kill_points[i]};
        spawn_result r = spawn(&o, args);
        killed += r.status == 128 + SIGKILL;
        assert_true(r.status == 0 || r.status == 128 + SIGKILL);
        spawn_free(&r);
        seen[check_send_output(dir)]++;
        left += temporaries(dir);
        remove_temporaries(dir);
    }
    print_message("  send killed %d times over %.2f s: %d old sets, %d new sets, %d none, %d "
                  "temporaries left\n", killed, t, seen[1], seen[2], seen[0], left);
    assert_true(killed > 0);
}

static void test_killed_list_build(void **state)
{
    (void)state;
    const char *out = P("killed.bin");
    const char *const *args = ARGS("list", "build", "-o", out, "--sequence", "9", "--sign",
                                   P("authority.sec"), P("hashes.txt"));
    expect_free(0, NULL, ARGS("list", "build", "-o", out, "--sequence", "1", "--sign",
                              P("authority.sec"), P("few.txt")));
    double t = run_time(args);
    assert_int_equal(check_list_output(out), fx.entries);
    int old = 0, fresh = 0, killed = 0, left = 0;
    for (size_t i = 0; i < sizeof kill_points / sizeof kill_points[0]; i++) {
        expect_free(0, NULL, ARGS("list", "build", "-o", out, "--sequence", "1", "--sign",
                                  P("authority.sec"), P("few.txt")));
        spawn_opts o = {.kill_after = t * kill_points[i]};
        spawn_result r = spawn(&o, args);
        killed += r.status == 128 + SIGKILL;
        assert_true(r.status == 0 || r.status == 128 + SIGKILL);
        spawn_free(&r);
        size_t n = check_list_output(out);
        assert_true(n == 10 || n == fx.entries); /* never absent: it existed */
        old += n == 10;
        fresh += n == fx.entries;
        left += temporaries(fx.dir);
        remove_temporaries(fx.dir);
    }
    print_message("  list build killed %d times over %.2f s: %d old lists, %d new, %d "
                  "temporaries left\n", killed, t, old, fresh, left);
    assert_true(killed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdout_full),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_missing_and_short_inputs),
        cmocka_unit_test(test_killed_send),
        cmocka_unit_test(test_killed_list_build),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
