/* Shared by the seed generators (make fuzz-seeds): make_seeds.c writes the
 * image seeds and owns main(); make_data_seeds.c writes the rest. */
#ifndef CLIENTSCAN_FUZZ_SEED_WRITER_H
#define CLIENTSCAN_FUZZ_SEED_WRITER_H
#include <stddef.h>

/* Writes data as SEEDS_DIR/target/name; exits on failure. */
void seed_put(const char *target, const char *name, const void *data, size_t len);

/* malloc(n), or the generator ends: out of memory. */
void *must_malloc(size_t n);

/* Seeds of the list, text, key, report and attachment targets; tmpdir
 * receives (and loses again) the key files the library writes. */
void data_seeds(const char *tmpdir);
#endif
