/* ThreatExchange-style text import: one "HASH[,QUALITY][,ID]" per line.
 * Grammar and id rules: hashdb/FORMAT.md, "Text lists". */
#include "hashlist.h"

#include <sodium.h>
#include <string.h>

#define LINE_MAX_BYTES 4096
#define ID_TEXT_MAX 256

typedef struct {
    clientscan_pdq hash;
    uint8_t id[CLIENTSCAN_LIST_ID_BYTES];
    bool has_id;
    int quality; /* -1 when absent */
} text_entry;

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len && is_space((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_space((*s)[*len - 1]))
        (*len)--;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int parse_hash(const char *s, size_t len, clientscan_pdq *out, size_t line,
                      clientscan_detail *detail)
{
    for (size_t i = 0; i < len; i++)
        if (!is_hex(s[i])) {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x20 && c < 0x7f)
                return cs_fail(detail, CLIENTSCAN_E_PARSE,
                               "line %zu: hash: '%c' at column %zu is not a hex digit", line, c,
                               i + 1);
            return cs_fail(detail, CLIENTSCAN_E_PARSE,
                           "line %zu: hash: byte 0x%02x at column %zu is not a hex digit", line,
                           c, i + 1);
        }
    if (len != 2 * CLIENTSCAN_PDQ_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "line %zu: hash has %zu hex digits, not 64",
                       line, len);
    return clientscan_pdq_from_hex(s, len, out, detail) == CLIENTSCAN_OK
               ? CLIENTSCAN_OK
               : cs_fail(detail, CLIENTSCAN_E_PARSE, "line %zu: bad hash", line);
}

static int parse_quality(const char *s, size_t len, int *out, size_t line,
                         clientscan_detail *detail)
{
    *out = -1;
    if (len == 0)
        return CLIENTSCAN_OK;
    int v = 0;
    bool ok = len <= 3;
    for (size_t i = 0; ok && i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            ok = false;
        else
            v = v * 10 + (s[i] - '0');
    }
    if (!ok || v > 100)
        return cs_fail(detail, CLIENTSCAN_E_PARSE,
                       "line %zu: quality '%.*s' is not an integer 0..100", line,
                       (int)(len > 16 ? 16 : len), s);
    *out = v;
    return CLIENTSCAN_OK;
}

/* 32 hex digits: the id itself; other text: BLAKE2b-128 of it. */
static int parse_id(const char *s, size_t len, text_entry *e, size_t line,
                    clientscan_detail *detail)
{
    e->has_id = false;
    if (len == 0)
        return CLIENTSCAN_OK;
    if (len > ID_TEXT_MAX)
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "line %zu: id longer than %d bytes", line,
                       ID_TEXT_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return cs_fail(detail, CLIENTSCAN_E_PARSE,
                           "line %zu: id contains control byte 0x%02x", line, c);
    }
    bool hex = len == 2 * CLIENTSCAN_LIST_ID_BYTES;
    for (size_t i = 0; hex && i < len; i++)
        hex = is_hex(s[i]);
    if (hex) {
        size_t got = 0;
        if (sodium_hex2bin(e->id, sizeof e->id, s, len, NULL, &got, NULL) != 0 ||
            got != sizeof e->id)
            return cs_fail(detail, CLIENTSCAN_E_PARSE, "line %zu: bad hex id", line);
    } else {
        crypto_generichash(e->id, sizeof e->id, (const unsigned char *)s, len, NULL, 0);
    }
    e->has_id = true;
    return CLIENTSCAN_OK;
}

/* Parses one line. *kind: 0 = skip (blank or comment), 1 = entry. */
static int parse_line(const char *s, size_t len, size_t line, text_entry *e, int *kind,
                      clientscan_detail *detail)
{
    *kind = 0;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    if (memchr(s, '\0', len))
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "line %zu: contains a NUL byte", line);
    trim(&s, &len);
    if (len == 0 || s[0] == '#')
        return CLIENTSCAN_OK;
    const char *c1 = memchr(s, ',', len);
    const char *f1 = s, *f2 = NULL, *f3 = NULL;
    size_t l1 = len, l2 = 0, l3 = 0;
    if (c1) {
        l1 = (size_t)(c1 - s);
        f2 = c1 + 1;
        l2 = len - l1 - 1;
        const char *c2 = memchr(f2, ',', l2);
        if (c2) {
            f3 = c2 + 1;
            l3 = (size_t)(s + len - f3);
            l2 = (size_t)(c2 - f2);
        }
    }
    trim(&f1, &l1);
    int rc = parse_hash(f1, l1, &e->hash, line, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    if (f2)
        trim(&f2, &l2);
    if ((rc = parse_quality(f2, l2, &e->quality, line, detail)) != CLIENTSCAN_OK)
        return rc;
    if (f3)
        trim(&f3, &l3);
    if ((rc = parse_id(f3, l3, e, line, detail)) != CLIENTSCAN_OK)
        return rc;
    *kind = 1;
    return CLIENTSCAN_OK;
}

/* Walks every line, calling back for each entry kept by min_quality. */
typedef int (*entry_fn)(void *ctx, const text_entry *e, size_t line, clientscan_detail *detail);

static int walk(const char *text, size_t len, int min_quality, entry_fn fn, void *ctx,
                clientscan_detail *detail)
{
    size_t line = 0, pos = 0;
    while (pos < len) {
        line++;
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - s) : len - pos;
        pos += l + (nl ? 1 : 0);
        if (l > LINE_MAX_BYTES)
            return cs_fail(detail, CLIENTSCAN_E_PARSE, "line %zu: longer than %d bytes", line,
                           LINE_MAX_BYTES);
        text_entry e;
        int kind;
        int rc = parse_line(s, l, line, &e, &kind, detail);
        if (rc != CLIENTSCAN_OK)
            return rc;
        if (kind == 0 || (e.quality >= 0 && e.quality < min_quality))
            continue;
        if ((rc = fn(ctx, &e, line, detail)) != CLIENTSCAN_OK)
            return rc;
    }
    return CLIENTSCAN_OK;
}

static int count_entry(void *ctx, const text_entry *e, size_t line, clientscan_detail *detail)
{
    (void)e;
    size_t *n = ctx;
    if (++*n > CLIENTSCAN_LIST_MAX_ENTRIES)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "line %zu: more than %u entries", line,
                       CLIENTSCAN_LIST_MAX_ENTRIES);
    return CLIENTSCAN_OK;
}

typedef struct {
    clientscan_list_builder *b;
    int provider;
} push_ctx;

static int push_entry(void *ctx, const text_entry *e, size_t line, clientscan_detail *detail)
{
    push_ctx *p = ctx;
    int rc = cs_builder_push(p->b, &e->hash, e->has_id ? e->id : NULL, p->provider, detail);
    if (rc != CLIENTSCAN_OK && detail) {
        clientscan_detail inner = *detail;
        cs_fail(detail, rc, "line %zu: %s", line, inner.text);
    }
    return rc;
}

int clientscan_list_builder_add_text(clientscan_list_builder *b, const void *text, size_t len,
                                     int provider, int min_quality, size_t *added,
                                     clientscan_detail *detail)
{
    if (added)
        *added = 0;
    if (!b || (!text && len) || min_quality < 0 || min_quality > 100)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "text import: bad argument");
    if (provider < -1 || provider >= (int)b->provider_count)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "text import: undeclared provider %d", provider);
    /* Pass 1 validates everything, so a bad line adds nothing. */
    size_t n = 0;
    int rc = walk(text, len, min_quality, count_entry, &n, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    if (b->n + n > CLIENTSCAN_LIST_MAX_ENTRIES) {
        clientscan_list_builder_count(b); /* merging duplicates may make room */
        if (b->n + n > CLIENTSCAN_LIST_MAX_ENTRIES)
            return cs_fail(detail, CLIENTSCAN_E_LIMIT, "text import: more than %u entries",
                           CLIENTSCAN_LIST_MAX_ENTRIES);
    }
    size_t before = b->n;
    bool canonical = b->canonical;
    uint64_t order = b->next_order;
    push_ctx ctx = {b, provider};
    rc = walk(text, len, min_quality, push_entry, &ctx, detail);
    if (rc != CLIENTSCAN_OK) {
        /* Only NOMEM gets here; push never reorders, so this undoes it. */
        b->n = before;
        b->canonical = canonical;
        b->next_order = order;
        return rc;
    }
    if (added)
        *added = n;
    return CLIENTSCAN_OK;
}
