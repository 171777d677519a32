/* Decode + hash glue and the threaded batch API. */
#include "decode.h"
#include "pdq_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCH_THREADS 256

/* Decoder sink that hashes rows as they arrive: no image-sized buffer.
 * With a pipe, the rows are hashed on the pipe's thread instead. */
typedef struct {
    clientscan_pdq_mode mode;
    bool want_pipe;
    cs_pdq_feeder feeder;
    bool started;
    uint8_t *row;
    void *row_mem;
    cs_row_pipe *pipe;
    clientscan_hash_info *info;
} hash_sink;

static int feed_row(void *ctx, uint32_t y, const uint8_t *row)
{
    return cs_pdq_feeder_row(ctx, y, row);
}

static int hash_begin(void *ctx, const cs_header *hdr, clientscan_detail *detail)
{
    hash_sink *s = ctx;
    const size_t row_bytes = (size_t)hdr->width * hdr->channels;
    int rc = cs_pdq_feeder_init(&s->feeder, hdr->width, hdr->height, hdr->source_width,
                                hdr->source_height, hdr->channels, s->mode, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    s->started = true;
    if (s->want_pipe && (uint64_t)hdr->width * hdr->height >= CLIENTSCAN_PIPELINE_MIN_PIXELS)
        s->pipe = cs_row_pipe_start(row_bytes, feed_row, &s->feeder); /* NULL: no thread, go on */
    if (!s->pipe && !(s->row = cs_stream_rows_alloc(1, row_bytes, NULL, &s->row_mem)))
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate a row");
    s->info->format = hdr->format;
    s->info->width = s->feeder.width;
    s->info->height = s->feeder.height;
    s->info->source_width = hdr->source_width;
    s->info->source_height = hdr->source_height;
    s->info->exif_orientation = hdr->exif_orientation;
    return CLIENTSCAN_OK;
}

static uint8_t *hash_row_buffer(void *ctx, uint32_t y)
{
    hash_sink *s = ctx;
    return s->pipe ? cs_row_pipe_buffer(s->pipe, y) : s->row;
}

static int hash_row_done(void *ctx, uint32_t y)
{
    hash_sink *s = ctx;
    return s->pipe ? cs_row_pipe_done(s->pipe, y) : cs_pdq_feeder_row(&s->feeder, y, s->row);
}

int clientscan_hash_memory(const void *data, size_t len, const clientscan_hash_params *params,
                           clientscan_pdq_result *out, clientscan_hash_info *info,
                           clientscan_detail *detail)
{
    static const clientscan_hash_params defaults = {.mode = CLIENTSCAN_PDQ_MODE_FULL};
    clientscan_hash_info scratch;
    if (!params)
        params = &defaults;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no result buffer");
    memset(out, 0, sizeof *out);
    hash_sink s = {.mode = params->mode, .want_pipe = params->pipeline != 0, .info = info};
    cs_row_sink sink = {hash_begin, hash_row_buffer, hash_row_done, &s};
    int rc = cs_decode_rows(data, len, &params->decode, &sink, detail);
    if (s.pipe) {
        const int consumed = cs_row_pipe_finish(s.pipe, rc != CLIENTSCAN_OK);
        if (rc == CLIENTSCAN_OK && consumed != CLIENTSCAN_OK)
            rc = cs_fail(detail, consumed, "hashing rows failed");
    }
    if (rc == CLIENTSCAN_OK)
        rc = cs_pdq_feeder_finish(&s.feeder, params->dihedral, out, detail);
    else if (s.started)
        cs_pdq_feeder_free(&s.feeder);
    free(s.row_mem);
    if (rc != CLIENTSCAN_OK) {
        memset(out, 0, sizeof *out); /* never a hash of a partial image */
        memset(info, 0, sizeof *info);
    }
    return rc;
}

int clientscan_hash_file(const char *path, const clientscan_hash_params *params,
                         clientscan_pdq_result *out, clientscan_hash_info *info,
                         clientscan_detail *detail)
{
    /* Zeroed before anything can fail, as clientscan_hash_memory() does:
     * a caller never sees a stale hash after an I/O or allocation error. */
    if (out)
        memset(out, 0, sizeof *out);
    if (info)
        memset(info, 0, sizeof *info);
    if (!path)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no path");
    uint64_t limit = params && params->decode.max_file_bytes ? params->decode.max_file_bytes
                                                             : CLIENTSCAN_DEFAULT_MAX_FILE_BYTES;
    uint8_t *data;
    size_t len;
    int rc = cs_read_file(path, limit, &data, &len, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    rc = clientscan_hash_memory(data, len, params, out, info, detail);
    free(data);
    return rc;
}

typedef struct {
    clientscan_hash_item *items;
    size_t n;
    const clientscan_hash_params *params;
    pthread_mutex_t lock;
    size_t next;
} batch;

static void hash_item(clientscan_hash_item *it, const clientscan_hash_params *params)
{
    it->detail.text[0] = '\0';
    if (it->path)
        it->rc = clientscan_hash_file(it->path, params, &it->result, &it->info, &it->detail);
    else
        it->rc = clientscan_hash_memory(it->data, it->len, params, &it->result, &it->info,
                                        &it->detail);
}

static void *batch_worker(void *arg)
{
    batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < b->n ? b->next++ : SIZE_MAX;
        pthread_mutex_unlock(&b->lock);
        if (i == SIZE_MAX)
            return NULL;
        hash_item(&b->items[i], b->params);
    }
}

int clientscan_hash_batch(clientscan_hash_item *items, size_t n,
                          const clientscan_hash_params *params, unsigned threads)
{
    if (!items && n > 0)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (threads > MAX_BATCH_THREADS)
        threads = MAX_BATCH_THREADS;
    if (threads > n)
        threads = (unsigned)n;
    batch b = {.items = items, .n = n, .params = params};
    if (threads <= 1) {
        for (size_t i = 0; i < n; i++)
            hash_item(&items[i], params);
        return CLIENTSCAN_OK;
    }
    pthread_mutex_init(&b.lock, NULL);
    pthread_t tid[MAX_BATCH_THREADS];
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, batch_worker, &b) != 0)
            break;
    if (started == 0) {
        pthread_mutex_destroy(&b.lock);
        return CLIENTSCAN_E_NOMEM;
    }
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&b.lock);
    return CLIENTSCAN_OK;
}
