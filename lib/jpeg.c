/* JPEG decoding with libjpeg-turbo, to the reference's conventions: the
 * library's default decode (ISLOW IDCT, fancy upsampling), grey as one
 * channel, CMYK/YCCK converted to RGB the way libjpeg-turbo's djpeg does.
 * Optional DCT-domain scaling for fast mode. */
#include "decode.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* before jerror.h: its message list depends on jconfig.h */
#include <jerror.h>

/* A progressive file may have any number of scans, each a full pass over
 * the coefficients: bound the work an attacker can ask for. */
#define MAX_SCANS 100 /* real progressive files use about 10 */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int code; /* clientscan error for the longjmp */
    char msg[JMSG_LENGTH_MAX];
} jpeg_errors;

/* What a libjpeg error means to the caller: most are corrupt input, a few
 * are features this build lacks or bounds we imposed. */
static int error_code(int msg_code)
{
    switch (msg_code) {
    case JERR_BAD_PRECISION:      /* 12-bit JPEG in an 8-bit build */
    case JERR_CONVERSION_NOTIMPL: /* e.g. 2-component or unknown colour space */
    case JERR_SOF_UNSUPPORTED:    /* lossless or hierarchical JPEG (SOF3, 5-7, 11, 13-15) */
    case JERR_ARITH_NOTIMPL:      /* arithmetic coding, in a build without it */
        return CLIENTSCAN_E_UNSUPPORTED_FORMAT;
    case JERR_NO_BACKING_STORE: /* max_memory_to_use exceeded */
    case JERR_IMAGE_TOO_BIG:    /* > JPEG_MAX_DIMENSION */
    case JERR_WIDTH_OVERFLOW:
        return CLIENTSCAN_E_LIMIT;
    case JERR_OUT_OF_MEMORY:
        return CLIENTSCAN_E_NOMEM;
    default:
        return CLIENTSCAN_E_CORRUPT;
    }
}

/* Leaves the decoder for the setjmp in cs_jpeg_decode with libjpeg's
 * message for the current msg_code. */
static _Noreturn void fail_jump(j_common_ptr cinfo, int code)
{
    jpeg_errors *err = (jpeg_errors *)cinfo->err;
    cinfo->err->format_message(cinfo, err->msg);
    err->code = code;
    longjmp(err->jump, 1);
}

static void on_error_exit(j_common_ptr cinfo)
{
    fail_jump(cinfo, error_code(cinfo->err->msg_code));
}

/* libjpeg only warns on a truncated or corrupt entropy stream and fills the
 * rest with grey; such a picture must never be hashed, so those warnings are
 * errors. Harmless ones (extraneous bytes before a marker, odd APP data)
 * are ignored, as every viewer does. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return; /* trace messages */
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:       /* Premature end of JPEG file */
    case JWRN_HIT_MARKER:     /* premature end of data segment */
    case JWRN_HUFF_BAD_CODE:
#if JPEG_LIB_VERSION >= 70 || defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE: /* declared only in builds like these */
#endif
    case JWRN_MUST_RESYNC:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_NOT_SEQUENTIAL:
        fail_jump(cinfo, CLIENTSCAN_E_CORRUPT);
        break;
    default:
        break;
    }
}

static void on_output(j_common_ptr cinfo)
{
    (void)cinfo; /* never print to stderr from a library */
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->is_decompressor && d->input_scan_number > MAX_SCANS) {
        jpeg_errors *err = (jpeg_errors *)cinfo->err;
        snprintf(err->msg, sizeof err->msg, "more than %d scans", MAX_SCANS);
        err->code = CLIENTSCAN_E_LIMIT;
        longjmp(err->jump, 1);
    }
}

static int orientation_from_markers(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1) {
            int o = cs_exif_orientation(m->data, m->data_length);
            if (o)
                return o;
        }
    return 0;
}

/* libjpeg-turbo 2.1 refuses CMYK/YCCK -> JCS_RGB in the library
 * ("Unsupported color conversion request"); its djpeg decodes to CMYK and
 * its PPM writer converts as r = c*k/255, rounded, in double precision. The
 * vectors' CMYK.jpg was hashed from that output, so this is that formula. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, uint32_t width)
{
    for (uint32_t x = 0; x < width; x++, cmyk += 4, rgb += 3) {
        double k = cmyk[3];
        rgb[0] = (uint8_t)((double)cmyk[0] * k / 255.0 + 0.5);
        rgb[1] = (uint8_t)((double)cmyk[1] * k / 255.0 + 0.5);
        rgb[2] = (uint8_t)((double)cmyk[2] * k / 255.0 + 0.5);
    }
}

/* The decode proper. libjpeg changes *cinfo and the handlers change *err
 * between setjmp and a longjmp, and both are used afterwards, so they must
 * not be locals of this function (C11 7.13.2.1 leaves such locals
 * indeterminate): cs_jpeg_decode owns them. */
static int decode(struct jpeg_decompress_struct *cinfo, jpeg_errors *err,
                  struct jpeg_progress_mgr *progress, const uint8_t *data, size_t len,
                  const cs_limits *limits, const cs_row_sink *sink, clientscan_detail *detail)
{
    uint8_t *volatile cmyk_row = NULL; /* set after setjmp, freed after longjmp */
    int rc;

    if (setjmp(err->jump)) {
        rc = cs_fail(detail, err->code, "JPEG: %s", err->msg[0] ? err->msg : "decode error");
        goto done;
    }
    jpeg_create_decompress(cinfo);
    cinfo->progress = progress;
    /* Bounds the whole-image coefficient buffer of progressive and
     * multi-scan files (2 bytes per sample, up to 4 components) plus room for
     * tables and rows. libjpeg-turbo has no backing store, so past this it
     * fails cleanly (JERR_NO_BACKING_STORE -> E_LIMIT). */
    const uint64_t slack = 64u << 20;
    const uint64_t mem_cap = (uint64_t)LONG_MAX;
    uint64_t mem = limits->max_pixels > (mem_cap - slack) / 8 ? mem_cap
                                                               : limits->max_pixels * 8 + slack;
    cinfo->mem->max_memory_to_use = (long)mem;
    jpeg_mem_src(cinfo, data, (unsigned long)len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT, "JPEG: no image (tables only)");
        goto done;
    }
    rc = cs_check_limits("JPEG", cinfo->image_width, cinfo->image_height, limits, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;
    /* A cut arithmetic-coded stream decodes without any warning, into a
     * partly made-up picture: never hash one. Browsers do not show these
     * files either; the scanner's unscannable policy decides what happens. */
    if (cinfo->arith_code) {
        rc = cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT,
                     "JPEG: arithmetic coding is not supported");
        goto done;
    }

    const bool cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
    if (cmyk)
        cinfo->out_color_space = JCS_CMYK;
    else if (cinfo->num_components == 1)
        cinfo->out_color_space = JCS_GRAYSCALE;
    else
        cinfo->out_color_space = JCS_RGB;
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->scale_denom = 8;
    cinfo->scale_num = 8;
    if (limits->jpeg_min_side > 0) {
        /* powers of two only: the scaled IDCTs libjpeg-turbo vectorises */
        for (unsigned num = 1; num <= 8; num *= 2) {
            cinfo->scale_num = num;
            jpeg_calc_output_dimensions(cinfo);
            if (cinfo->output_width >= limits->jpeg_min_side &&
                cinfo->output_height >= limits->jpeg_min_side)
                break;
        }
    }
    jpeg_start_decompress(cinfo);

    const uint32_t channels = cmyk ? 3 : (uint32_t)cinfo->output_components;
    if (channels != 1 && channels != 3) {
        rc = cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT, "JPEG: %d output components",
                     cinfo->output_components);
        goto done;
    }
    if (cmyk && !(cmyk_row = malloc((size_t)cinfo->output_width * 4))) {
        rc = cs_fail(detail, CLIENTSCAN_E_NOMEM, "JPEG: cannot allocate a row");
        goto done;
    }
    cs_header hdr = {CLIENTSCAN_FORMAT_JPEG, cinfo->output_width, cinfo->output_height, channels,
                     cinfo->image_width, cinfo->image_height, orientation_from_markers(cinfo)};
    rc = sink->begin(sink->ctx, &hdr, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;
    while (cinfo->output_scanline < cinfo->output_height) {
        uint32_t y = cinfo->output_scanline;
        uint8_t *dst = sink->row_buffer(sink->ctx, y);
        JSAMPROW row = cmyk ? cmyk_row : dst;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT, "JPEG: decoder returned no row %u", y);
            goto done;
        }
        if (cmyk)
            cmyk_to_rgb(cmyk_row, dst, cinfo->output_width);
        if ((rc = sink->row_done(sink->ctx, y)) != CLIENTSCAN_OK)
            goto done;
    }
    jpeg_finish_decompress(cinfo); /* reads to EOI: a cut file fails here too */
    rc = CLIENTSCAN_OK;
done:
    free(cmyk_row);
    jpeg_destroy_decompress(cinfo);
    return rc;
}

int cs_jpeg_decode(const uint8_t *data, size_t len, const cs_limits *limits,
                   const cs_row_sink *sink, clientscan_detail *detail)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_errors err;
    struct jpeg_progress_mgr progress = {.progress_monitor = on_progress};
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error_exit;
    err.pub.emit_message = on_message;
    err.pub.output_message = on_output;
    err.msg[0] = '\0';
    err.code = CLIENTSCAN_E_CORRUPT;
    return decode(&cinfo, &err, &progress, data, len, limits, sink, detail);
}
