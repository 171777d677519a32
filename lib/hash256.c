/* 256-bit PDQ hash values: Hamming distance, hex text, variant names. */
#include "internal.h"

#include <string.h>

int clientscan_pdq_distance(const clientscan_pdq *a, const clientscan_pdq *b)
{
    int d = 0;
    for (int w = 0; w < CLIENTSCAN_PDQ_BYTES / 8; w++) {
        uint64_t x, y;
        memcpy(&x, a->bytes + 8 * w, 8);
        memcpy(&y, b->bytes + 8 * w, 8);
        d += __builtin_popcountll(x ^ y);
    }
    return d;
}

void clientscan_pdq_to_hex(const clientscan_pdq *hash, char hex[CLIENTSCAN_PDQ_HEX_BYTES])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < CLIENTSCAN_PDQ_BYTES; i++) {
        hex[2 * i] = digits[hash->bytes[i] >> 4];
        hex[2 * i + 1] = digits[hash->bytes[i] & 15];
    }
    hex[2 * CLIENTSCAN_PDQ_BYTES] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int clientscan_pdq_from_hex(const char *text, size_t len, clientscan_pdq *out,
                            clientscan_detail *detail)
{
    if (!text || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no hash text");
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < len && i < 2 * CLIENTSCAN_PDQ_BYTES; i++)
        if (hex_value(text[i]) < 0)
            return cs_fail(detail, CLIENTSCAN_E_PARSE,
                           "hash: character %zu is not a hex digit", i + 1);
    if (len != 2 * CLIENTSCAN_PDQ_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "hash has %zu characters, expected 64", len);
    for (int i = 0; i < CLIENTSCAN_PDQ_BYTES; i++)
        out->bytes[i] = (uint8_t)(hex_value(text[2 * i]) << 4 | hex_value(text[2 * i + 1]));
    return CLIENTSCAN_OK;
}

const char *clientscan_dihedral_name(clientscan_dihedral d)
{
    static const char *const names[CLIENTSCAN_DIHEDRAL_COUNT] = {
        "original", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"};
    return (unsigned)d < CLIENTSCAN_DIHEDRAL_COUNT ? names[d] : "unknown";
}
