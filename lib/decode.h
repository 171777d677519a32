/* Internal interface between lib/image.c (sniffing, limits, public entry
 * points) and the codecs (lib/png.c, lib/jpeg.c). Never installed. */
#ifndef CLIENTSCAN_DECODE_H
#define CLIENTSCAN_DECODE_H

#include "internal.h"

/* Limits resolved from clientscan_decode_params (zero fields = defaults). */
typedef struct cs_limits {
    uint64_t max_pixels;
    uint32_t max_side;
    uint32_t jpeg_min_side; /* 0: full size */
} cs_limits;

/* What a codec knows once the header is read. */
typedef struct cs_header {
    clientscan_format format;
    uint32_t width, height;               /* rows delivered will be this size */
    uint32_t channels;                    /* 1 or 3 */
    uint32_t source_width, source_height; /* as stored (before DCT scaling) */
    int exif_orientation;
} cs_header;

/* Where decoded rows go. A codec calls begin() once (after checking the
 * limits, before allocating pixel memory), then for each row y in order
 * row_buffer(y) for a place to write width*channels bytes and row_done(y)
 * once written. Any non-zero return aborts the decode with that code. This
 * one mechanism serves both a full image (rows written in place) and
 * streaming into a hasher (one scratch row). */
typedef struct cs_row_sink {
    int (*begin)(void *ctx, const cs_header *hdr, clientscan_detail *detail);
    uint8_t *(*row_buffer)(void *ctx, uint32_t y);
    int (*row_done)(void *ctx, uint32_t y);
    void *ctx;
} cs_row_sink;

/* Rows a consumer reads right after they are decoded. libjpeg-turbo's SIMD
 * colour conversion writes a row that starts on a 16- or 32-byte boundary
 * with non-temporal stores, which bypass the caches: whoever reads the row
 * next then waits for memory (a 12 MP photo hashed as it streams: ~5 ms
 * more, docs/speed.md). Such rows start CS_STREAM_ROW_SKEW bytes past a
 * 64-byte boundary instead, and lie a whole number of 64-byte lines apart,
 * so every one of them takes libjpeg-turbo's cached-store path. */
enum { CS_STREAM_ROW_SKEW = 8 };

/* n rows of row_bytes: returns row 0 (NULL on overflow or without memory),
 * *stride the distance between rows (stride may be NULL for one row), *mem
 * what to free(). */
uint8_t *cs_stream_rows_alloc(size_t n, size_t row_bytes, size_t *stride, void **mem);

/* Decoding on the calling thread while another consumes the rows
 * (lib/row_pipe.c). consume(ctx, y, row) is called on the pipe's thread for
 * every row, in order; a non-zero return is kept and reported back. */
typedef int (*cs_row_consumer)(void *ctx, uint32_t y, const uint8_t *row);
typedef struct cs_row_pipe cs_row_pipe;

/* Starts the consumer thread for rows of row_bytes bytes. NULL when memory
 * or a thread cannot be had: the caller then consumes rows itself. */
cs_row_pipe *cs_row_pipe_start(size_t row_bytes, cs_row_consumer consume, void *ctx);
/* Where to write row y (rows in order); may wait for the consumer. */
uint8_t *cs_row_pipe_buffer(cs_row_pipe *p, uint32_t y);
/* Row y is written; returns the consumer's first error so far. */
int cs_row_pipe_done(cs_row_pipe *p, uint32_t y);
/* Hands over the last rows (unless abandon: the decode failed and the rest
 * is not wanted), waits for the consumer, frees the pipe, and returns the
 * consumer's first error. */
int cs_row_pipe_finish(cs_row_pipe *p, bool abandon);

/* Checks a header's dimensions against the limits; E_LIMIT with a reason. */
int cs_check_limits(const char *codec, uint32_t width, uint32_t height, const cs_limits *limits,
                    clientscan_detail *detail);

int cs_png_decode(const uint8_t *data, size_t len, const cs_limits *limits,
                  const cs_row_sink *sink, clientscan_detail *detail);
int cs_jpeg_decode(const uint8_t *data, size_t len, const cs_limits *limits,
                   const cs_row_sink *sink, clientscan_detail *detail);

/* Any supported format by magic bytes; refuses the others by name. */
int cs_decode_rows(const void *data, size_t len, const clientscan_decode_params *params,
                   const cs_row_sink *sink, clientscan_detail *detail);

/* EXIF orientation (1..8) from an APP1 payload starting at "Exif\0\0";
 * 0 when absent or malformed. Bounds-checked: payload is untrusted. */
int cs_exif_orientation(const uint8_t *app1, size_t len);

#endif
