/* Test support: temporary directories, files, running the CLI.
 * Used with cmocka; every helper fails the current test on error. */
#ifndef CLIENTSCAN_TEST_SUPPORT_H
#define CLIENTSCAN_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh empty directory under $TMPDIR; removed by ts_rmtree(). Caller frees. */
char *ts_tempdir(void);
void ts_rmtree(const char *dir);

/* malloc(bytes) that fails the current test instead of returning NULL. */
void *ts_malloc(size_t bytes);

/* dir + "/" + name, malloc'd. */
char *ts_path(const char *dir, const char *name);

void ts_write_file(const char *path, const void *data, size_t len);
/* Whole file, NUL-terminated (len excludes the NUL). Caller frees. */
uint8_t *ts_read_file(const char *path, size_t *len);

typedef struct ts_output {
    char *out;      /* captured stdout, NUL-terminated */
    size_t out_len;
    char *err;      /* captured stderr, NUL-terminated */
    size_t err_len;
    int status;     /* exit status, or 128+signal */
} ts_output;

/* Runs argv (argv[0] is a path) with the given stdin bytes (may be NULL),
 * waits, and captures both outputs. */
void ts_run(const char *const argv[], const void *in, size_t in_len, ts_output *res);
void ts_output_free(ts_output *res);

/* Path of the CLI under test: $CLIENTSCAN_CLI, else build/clientscan. */
const char *ts_cli(void);

/* Directory of the shared PDQ vectors: $CLIENTSCAN_VECTORS, else
 * ../shared/pdq-vectors; NULL (after printing a loud SKIPPED line naming
 * `what`) when absent. */
const char *ts_vectors_dir(const char *what);

#endif
