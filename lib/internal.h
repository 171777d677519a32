/* Internal helpers shared by the library's modules. Never installed. */
#ifndef CLIENTSCAN_INTERNAL_H
#define CLIENTSCAN_INTERNAL_H

#include "clientscan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CS_PRINTF(fmt, args)
#endif

/* Fills detail (if non-NULL) and returns code, so call sites read
 * `return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "PNG: %s", msg);`. */
int cs_fail(clientscan_detail *detail, int code, const char *fmt, ...) CS_PRINTF(3, 4);

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool cs_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool cs_add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Reads a whole regular file of at most max_bytes into a malloc'd buffer
 * (caller frees). Errors: IO (with strerror), LIMIT. */
int cs_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *len,
                 clientscan_detail *detail);

#endif
