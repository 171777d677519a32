/* EXIF orientation from a JPEG APP1 segment. Read and reported, never
 * applied: the reference hashes stored pixels, and dihedral matching covers
 * rotations. */
#include "decode.h"

#include <string.h>

static uint32_t rd16(const uint8_t *p, bool big)
{
    return big ? (uint32_t)(p[0] << 8 | p[1]) : (uint32_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const uint8_t *p, bool big)
{
    return big ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
               : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

int cs_exif_orientation(const uint8_t *app1, size_t len)
{
    enum { TAG_ORIENTATION = 0x0112, TYPE_SHORT = 3, ENTRY_BYTES = 12 };
    if (len < 6 + 8 || memcmp(app1, "Exif\0\0", 6) != 0)
        return 0;
    const uint8_t *tiff = app1 + 6;
    const size_t n = len - 6;
    bool big;
    if (memcmp(tiff, "MM", 2) == 0)
        big = true;
    else if (memcmp(tiff, "II", 2) == 0)
        big = false;
    else
        return 0;
    if (rd16(tiff + 2, big) != 42)
        return 0;
    uint32_t ifd = rd32(tiff + 4, big);
    if (ifd > n || n - ifd < 2)
        return 0;
    uint32_t entries = rd16(tiff + ifd, big);
    if ((n - ifd - 2) / ENTRY_BYTES < entries)
        return 0;
    for (uint32_t i = 0; i < entries; i++) {
        const uint8_t *e = tiff + ifd + 2 + (size_t)i * ENTRY_BYTES;
        if (rd16(e, big) != TAG_ORIENTATION)
            continue;
        if (rd16(e + 2, big) != TYPE_SHORT || rd32(e + 4, big) != 1)
            return 0;
        uint32_t v = rd16(e + 8, big);
        return v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}
