/* all_zero(p, n): whether the n bytes at p are all zero, which is what the
 * library leaves in an output it could not fill (never a partial image or
 * hash). Header-only, so the fuzz targets, which are built without the test
 * support library, share it with the unit tests. */
#ifndef CLIENTSCAN_TEST_ALL_ZERO_H
#define CLIENTSCAN_TEST_ALL_ZERO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

#endif
