/* Replays every fuzz target's checked-in inputs through the target's own
 * code, in the normal (gcc, and ASan+UBSan) test build: the seed corpora
 * tests/fuzz/seeds/<target>/ and the regression corpus tests/corpus/<target>/
 * (inputs that once crashed, hung or broke an invariant). The fuzz targets
 * abort() on a broken invariant; the SIGABRT handler names the input first.
 * Each target's entry point is compiled under the name <target>_one_input
 * (Makefile: FUZZ_REPLAY_OBJ), so all of them live in this one program. */
#include "support.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TARGETS(X)                                                                                 \
    X(fuzz_attachment)                                                                             \
    X(fuzz_decode)                                                                                 \
    X(fuzz_exif)                                                                                   \
    X(fuzz_hash)                                                                                   \
    X(fuzz_hashlist)                                                                               \
    X(fuzz_jpeg)                                                                                   \
    X(fuzz_keyfile)                                                                                \
    X(fuzz_png)                                                                                    \
    X(fuzz_report)                                                                                 \
    X(fuzz_textlist)

#define DECLARE(name) int name##_one_input(const uint8_t *data, size_t size);
TARGETS(DECLARE)

typedef struct {
    const char *name;
    int (*one_input)(const uint8_t *data, size_t size);
} fuzz_target;

#define ENTRY(name) {#name, name##_one_input},
static const fuzz_target targets[] = {TARGETS(ENTRY)};

/* The input being replayed, for the abort handler (async-signal-safe write). */
static char current[1024];

static void name_input_on_abort(int sig)
{
    static const char msg[] = "\nfuzz replay: invariant broken on input ";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    ignored = write(2, current, strlen(current));
    ignored = write(2, "\n", 1);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Replays every regular file in dir (names starting with '.' are
 * placeholders); returns how many. */
static size_t replay_dir(const fuzz_target *t, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(current, sizeof current, "%s/%s", dir, e->d_name);
        size_t len = 0;
        uint8_t *data = ts_read_file(current, &len);
        /* An exact-size copy, so the sanitizer build sees any overread. */
        uint8_t *exact = ts_malloc(len ? len : 1);
        memcpy(exact, data, len);
        free(data);
        assert_int_equal(t->one_input(exact, len), 0);
        free(exact);
        n++;
    }
    closedir(d);
    return n;
}

static void test_every_target_replays_its_inputs(void **state)
{
    (void)state;
    signal(SIGABRT, name_input_on_abort);
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/seeds/%s", targets[i].name);
        size_t seeds = replay_dir(&targets[i], dir);
        snprintf(dir, sizeof dir, "tests/corpus/%s", targets[i].name);
        size_t regressions = replay_dir(&targets[i], dir);
        printf("%s: %zu seeds, %zu regression inputs replayed\n", targets[i].name, seeds,
               regressions);
        /* Every target has generated seeds (make fuzz-seeds). */
        assert_true(seeds > 0);
    }
    signal(SIGABRT, SIG_DFL);
}

/* A new tests/fuzz/fuzz_*.c must join TARGETS above, or its inputs would
 * silently go unreplayed. */
static void test_every_fuzz_target_is_listed(void **state)
{
    (void)state;
    DIR *d = opendir("tests/fuzz");
    assert_non_null(d);
    struct dirent *e;
    size_t found = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "fuzz_", 5) != 0 || len < 3 || strcmp(e->d_name + len - 2, ".c"))
            continue;
        found++;
        bool listed = false;
        for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
            if (strlen(targets[i].name) == len - 2 &&
                strncmp(targets[i].name, e->d_name, len - 2) == 0)
                listed = true;
        if (!listed)
            fail_msg("tests/fuzz/%s is not in test_fuzz_replay.c's TARGETS", e->d_name);
    }
    closedir(d);
    assert_int_equal(found, sizeof targets / sizeof targets[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fuzz_target_is_listed),
        cmocka_unit_test(test_every_target_replays_its_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
