/* Fuzzes ThreatExchange-style text import. Accepted text must encode to a
 * list that opens, and its export must import back to the same bytes. */
#include "hashlist.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *encode(clientscan_list_builder *b, size_t *len)
{
    uint8_t *out = NULL;
    clientscan_list_builder_set_created(b, 1);
    if (clientscan_list_builder_encode(b, NULL, 0, &out, len, NULL) != CLIENTSCAN_OK)
        abort();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clientscan_list_builder *b = NULL;
    if (clientscan_list_builder_new(&b, NULL) != CLIENTSCAN_OK)
        abort();
    clientscan_detail d;
    size_t added = 0;
    int min_quality = size ? data[0] % 101 : 0;
    int rc = clientscan_list_builder_add_text(b, data, size, -1, min_quality, &added, &d);
    if (rc != CLIENTSCAN_OK) {
        if (added != 0 || clientscan_list_builder_count(b) != 0 || rc != CLIENTSCAN_E_PARSE ||
            strncmp(d.text, "line ", 5) != 0)
            abort();
        clientscan_list_builder_free(b);
        return 0;
    }
    size_t len;
    uint8_t *enc = encode(b, &len);
    clientscan_list_params p;
    memset(&p, 0, sizeof p);
    p.allow_unsigned = 1;
    clientscan_list *list = NULL;
    if (clientscan_list_open_memory(enc, len, &p, &list, &d) != CLIENTSCAN_OK ||
        clientscan_list_count(list) > added)
        abort();
    size_t n = clientscan_list_count(list);
    char *text = malloc(n * (CLIENTSCAN_LIST_TEXT_LINE_BYTES - 1) + 1);
    if (!text)
        abort();
    for (size_t i = 0; i < n; i++) {
        clientscan_list_entry e;
        clientscan_list_entry_at(list, i, &e);
        clientscan_list_entry_to_text(&e, text + i * (CLIENTSCAN_LIST_TEXT_LINE_BYTES - 1));
    }
    clientscan_list_builder *b2 = NULL;
    if (clientscan_list_builder_new(&b2, NULL) != CLIENTSCAN_OK ||
        clientscan_list_builder_add_text(b2, text, n * (CLIENTSCAN_LIST_TEXT_LINE_BYTES - 1), -1,
                                         0, NULL, &d) != CLIENTSCAN_OK)
        abort();
    size_t len2;
    uint8_t *enc2 = encode(b2, &len2);
    if (len2 != len || memcmp(enc, enc2, len) != 0)
        abort();
    free(enc);
    free(enc2);
    free(text);
    clientscan_list_close(list);
    clientscan_list_builder_free(b);
    clientscan_list_builder_free(b2);
    return 0;
}
