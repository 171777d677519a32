/* A row pipe: the decoder writes rows into a small ring of strips on the
 * calling thread while a second thread consumes them (hashes them), so the
 * two stages of one image overlap on two cores. Rows are handed over a
 * strip at a time, which keeps locking to a few hundred handovers for a
 * 12 MP photo. The consumer sees every row once, in order, as the calling
 * thread would have; only the thread differs. */
#include "decode.h"

#include <pthread.h>
#include <stdlib.h>

enum {
    PIPE_SLOTS = 3,         /* one being written, one being consumed, one spare */
    PIPE_MAX_STRIP = 16,    /* rows per strip: the hasher's block height */
};
#define PIPE_STRIP_BYTES ((size_t)256 << 10) /* fewer rows per strip for wide rows */

struct cs_row_pipe {
    cs_row_consumer consume;
    void *ctx;
    size_t stride; /* bytes from one row to the next */
    uint32_t strip_rows;
    uint8_t *rows; /* PIPE_SLOTS x strip_rows rows, stride bytes apart */
    void *rows_mem;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a slot filled or freed, or the producer stopped */
    uint32_t filled[PIPE_SLOTS]; /* rows ready in a slot; 0 = free */
    uint32_t first_y[PIPE_SLOTS];
    bool closed;  /* producer will publish nothing more */
    bool abandon; /* ... and the consumer may stop at once */
    int rc;       /* consumer's first error */

    unsigned head; /* slot the producer writes (producer thread only) */
    uint32_t head_rows;
};

static uint8_t *slot_row(const cs_row_pipe *p, unsigned slot, uint32_t k)
{
    return p->rows + ((size_t)slot * p->strip_rows + k) * p->stride;
}

static void *consumer_main(void *arg)
{
    cs_row_pipe *p = arg;
    unsigned tail = 0;
    int rc = CLIENTSCAN_OK;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->filled[tail] == 0 && !p->closed && !p->abandon)
            pthread_cond_wait(&p->changed, &p->lock);
        const uint32_t n = p->abandon ? 0 : p->filled[tail];
        const uint32_t y0 = p->first_y[tail];
        pthread_mutex_unlock(&p->lock);
        if (n == 0)
            return NULL; /* closed and drained, or abandoned */
        for (uint32_t k = 0; k < n && rc == CLIENTSCAN_OK; k++)
            rc = p->consume(p->ctx, y0 + k, slot_row(p, tail, k));
        pthread_mutex_lock(&p->lock);
        if (rc != CLIENTSCAN_OK && p->rc == CLIENTSCAN_OK)
            p->rc = rc;
        p->filled[tail] = 0;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        tail = (tail + 1) % PIPE_SLOTS;
    }
}

uint8_t *cs_stream_rows_alloc(size_t n, size_t row_bytes, size_t *stride, void **mem)
{
    size_t line_bytes, bytes;
    if (!cs_add_size(row_bytes, 63, &line_bytes))
        return NULL;
    line_bytes &= ~(size_t)63;
    if (!cs_mul_size(n, line_bytes, &bytes) ||
        !cs_add_size(bytes, 64 + CS_STREAM_ROW_SKEW, &bytes) || !(*mem = malloc(bytes)))
        return NULL;
    if (stride)
        *stride = line_bytes;
    const uintptr_t base = ((uintptr_t)*mem + 63) & ~(uintptr_t)63;
    return (uint8_t *)*mem + (base - (uintptr_t)*mem) + CS_STREAM_ROW_SKEW;
}

cs_row_pipe *cs_row_pipe_start(size_t row_bytes, cs_row_consumer consume, void *ctx)
{
    if (row_bytes == 0 || !consume)
        return NULL;
    cs_row_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->consume = consume;
    p->ctx = ctx;
    p->strip_rows = PIPE_STRIP_BYTES / row_bytes;
    if (p->strip_rows > PIPE_MAX_STRIP)
        p->strip_rows = PIPE_MAX_STRIP;
    if (p->strip_rows == 0)
        p->strip_rows = 1;
    p->rows = cs_stream_rows_alloc((size_t)p->strip_rows * PIPE_SLOTS, row_bytes, &p->stride,
                                   &p->rows_mem);
    if (!p->rows)
        goto no_rows;
    if (pthread_mutex_init(&p->lock, NULL) != 0)
        goto no_lock;
    if (pthread_cond_init(&p->changed, NULL) != 0)
        goto no_cond;
    if (pthread_create(&p->thread, NULL, consumer_main, p) != 0)
        goto no_thread;
    return p;
no_thread:
    pthread_cond_destroy(&p->changed);
no_cond:
    pthread_mutex_destroy(&p->lock);
no_lock:
    free(p->rows_mem);
no_rows:
    free(p);
    return NULL;
}

uint8_t *cs_row_pipe_buffer(cs_row_pipe *p, uint32_t y)
{
    if (p->head_rows == 0) { /* starting a strip: wait until the consumer freed the slot */
        pthread_mutex_lock(&p->lock);
        while (p->filled[p->head] != 0)
            pthread_cond_wait(&p->changed, &p->lock);
        pthread_mutex_unlock(&p->lock);
        p->first_y[p->head] = y; /* the consumer reads it only once the slot is filled */
    }
    return slot_row(p, p->head, p->head_rows);
}

/* Hands the producer's strip to the consumer; returns the consumer's first error. */
static int publish(cs_row_pipe *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->head_rows > 0) {
        p->filled[p->head] = p->head_rows;
        p->head = (p->head + 1) % PIPE_SLOTS;
        p->head_rows = 0;
        pthread_cond_broadcast(&p->changed);
    }
    const int rc = p->rc;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int cs_row_pipe_done(cs_row_pipe *p, uint32_t y)
{
    (void)y; /* rows arrive in order: the strip's first row fixes the rest */
    if (++p->head_rows < p->strip_rows)
        return CLIENTSCAN_OK;
    return publish(p);
}

int cs_row_pipe_finish(cs_row_pipe *p, bool abandon)
{
    if (!p)
        return CLIENTSCAN_OK;
    if (!abandon)
        publish(p);
    pthread_mutex_lock(&p->lock);
    p->closed = true;
    p->abandon = abandon;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    const int rc = p->rc; /* the consumer has exited: no lock needed */
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p->rows_mem);
    free(p);
    return rc;
}
