/* Decode + hash glue and the threaded batch API. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCH_THREADS 256

int clientscan_hash_memory(const void *data, size_t len, const clientscan_hash_params *params,
                           clientscan_pdq_result *out, clientscan_hash_info *info,
                           clientscan_detail *detail)
{
    static const clientscan_hash_params defaults = {.mode = CLIENTSCAN_PDQ_MODE_FULL};
    if (!params)
        params = &defaults;
    if (info)
        memset(info, 0, sizeof *info);
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no result buffer");
    memset(out, 0, sizeof *out);
    clientscan_image img;
    int rc = clientscan_decode_memory(data, len, &params->decode, &img, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    rc = clientscan_pdq_hash_image(&img, params->mode, params->dihedral, out, detail);
    if (rc == CLIENTSCAN_OK && info) {
        info->format = img.format;
        info->width = img.width;
        info->height = img.height;
        info->source_width = img.source_width;
        info->source_height = img.source_height;
        info->exif_orientation = img.exif_orientation;
    }
    clientscan_image_release(&img);
    return rc;
}

int clientscan_hash_file(const char *path, const clientscan_hash_params *params,
                         clientscan_pdq_result *out, clientscan_hash_info *info,
                         clientscan_detail *detail)
{
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
