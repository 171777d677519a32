/* Signed hash lists: the binary format (hashdb/FORMAT.md), verification on
 * open, accessors, co-signing, and the builder that encodes new lists. */
#include "hashlist.h"

#include "keys.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ little endian */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------ names */

bool cs_list_name_valid(const char *name, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    const unsigned char *s = (const unsigned char *)name;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += n;
    }
    return true;
}

/* A fixed-size, zero-padded name field: the name, then only zero bytes. */
static bool read_name_field(const uint8_t *field, size_t field_len, size_t len, char *out)
{
    if (len == 0 || len > field_len)
        return false;
    for (size_t i = len; i < field_len; i++)
        if (field[i] != 0)
            return false;
    if (!cs_list_name_valid((const char *)field, len, field_len))
        return false;
    memcpy(out, field, len);
    out[len] = '\0';
    return true;
}

/* ------------------------------------------------------------ layout */

/* Header offsets (hashdb/FORMAT.md). */
enum {
    H_MAGIC = 0,
    H_VERSION = 8,
    H_ALGORITHM = 10,
    H_HASH_BYTES = 12,
    H_ID_BYTES = 14,
    H_FLAGS = 16,
    H_RESERVED1 = 20,
    H_COUNT = 24,
    H_SEQUENCE = 32,
    H_CREATED = 40,
    H_NAME_LEN = 48,
    H_RESERVED2 = 49,
    H_NAME = 64
};

typedef struct {
    size_t count;
    uint32_t flags;
    size_t provider_count;
    size_t entries_off; /* = header bytes */
    size_t prov_off;    /* provider records (when flagged) */
    size_t masks_off;
    size_t body_len;    /* signed part */
    size_t sig_count;
    size_t sigs_off;    /* first signature record */
    uint64_t sequence, created;
    char name[CLIENTSCAN_LIST_NAME_MAX + 1];
} list_layout;

/* Validates every length and count against len before anything is used.
 * Nothing here looks at entries or signatures beyond their sizes. */
static int parse_layout(const uint8_t *p, size_t len, uint64_t max_entries, list_layout *L,
                        clientscan_detail *detail)
{
    memset(L, 0, sizeof *L);
    if (len < CS_LIST_MAGIC_BYTES || memcmp(p, CS_LIST_MAGIC, CS_LIST_MAGIC_BYTES) != 0)
        return cs_fail(detail, len < CS_LIST_MAGIC_BYTES ? CLIENTSCAN_E_CORRUPT
                                                         : CLIENTSCAN_E_UNSUPPORTED_FORMAT,
                       len < CS_LIST_MAGIC_BYTES ? "hash list: truncated (%zu bytes)"
                                                 : "not a clientscan hash list (bad magic)",
                       len);
    if (len < CS_LIST_HEADER_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "hash list: truncated header (%zu of %d bytes)", len, CS_LIST_HEADER_BYTES);
    unsigned version = rd16(p + H_VERSION);
    if (version != CS_LIST_VERSION)
        return cs_fail(detail, CLIENTSCAN_E_VERSION,
                       "hash list: format version %u (this build reads %d)", version,
                       CS_LIST_VERSION);
    unsigned algo = rd16(p + H_ALGORITHM);
    if (algo != CS_LIST_ALGO_PDQ)
        return cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT,
                       "hash list: hash algorithm %u (only 1 = PDQ is supported)", algo);
    if (rd16(p + H_HASH_BYTES) != CLIENTSCAN_PDQ_BYTES ||
        rd16(p + H_ID_BYTES) != CLIENTSCAN_LIST_ID_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT,
                       "hash list: hash size %u / id size %u (expected %d / %d)",
                       rd16(p + H_HASH_BYTES), rd16(p + H_ID_BYTES), CLIENTSCAN_PDQ_BYTES,
                       CLIENTSCAN_LIST_ID_BYTES);
    L->flags = rd32(p + H_FLAGS);
    if (L->flags & ~CS_LIST_FLAG_PROVENANCE)
        return cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT, "hash list: unknown flags 0x%x",
                       (unsigned)L->flags);
    if (rd32(p + H_RESERVED1) != 0 || !sodium_is_zero(p + H_RESERVED2, H_NAME - H_RESERVED2))
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "hash list: reserved header bytes not zero");
    uint64_t count = rd64(p + H_COUNT);
    if (count > max_entries)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT,
                       "hash list: declares %llu entries, limit %llu", (unsigned long long)count,
                       (unsigned long long)max_entries);
    L->count = (size_t)count;
    L->sequence = rd64(p + H_SEQUENCE);
    L->created = rd64(p + H_CREATED);
    if (!read_name_field(p + H_NAME, CLIENTSCAN_LIST_NAME_MAX, p[H_NAME_LEN], L->name))
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "hash list: bad name (length %u, padding or characters)", p[H_NAME_LEN]);

    size_t pos = CS_LIST_HEADER_BYTES, entries_bytes, room = len - pos;
    L->entries_off = pos;
    if (!cs_mul_size(L->count, CS_LIST_ENTRY_BYTES, &entries_bytes) || entries_bytes > room)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "hash list: declares %zu entries but only %zu bytes follow the header",
                       L->count, room);
    pos += entries_bytes;
    if (L->flags & CS_LIST_FLAG_PROVENANCE) {
        if (len - pos < CS_LIST_PROV_HEAD_BYTES)
            return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "hash list: truncated provenance");
        uint32_t np = rd32(p + pos);
        if (np == 0 || np > CLIENTSCAN_LIST_MAX_PROVIDERS || rd32(p + pos + 4) != 0)
            return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                           "hash list: provenance declares %u providers (1..%d)", (unsigned)np,
                           CLIENTSCAN_LIST_MAX_PROVIDERS);
        L->provider_count = np;
        pos += CS_LIST_PROV_HEAD_BYTES;
        L->prov_off = pos;
        size_t names = (size_t)np * CS_LIST_PROVIDER_RECORD_BYTES, masks;
        if (!cs_mul_size(L->count, 4, &masks) || len - pos < names ||
            len - pos - names < masks)
            return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "hash list: truncated provenance");
        pos += names;
        L->masks_off = pos;
        pos += masks;
    }
    L->body_len = pos;
    if (len - pos < CS_LIST_SIG_HEAD_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "hash list: truncated before the signature block");
    if (memcmp(p + pos, CS_LIST_SIG_MAGIC, 8) != 0)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "hash list: bad signature block marker");
    uint32_t ns = rd32(p + pos + 8);
    if (ns > CLIENTSCAN_LIST_MAX_SIGNATURES)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "hash list: declares %u signatures (max %d)",
                       (unsigned)ns, CLIENTSCAN_LIST_MAX_SIGNATURES);
    pos += CS_LIST_SIG_HEAD_BYTES;
    L->sig_count = ns;
    L->sigs_off = pos;
    size_t sig_bytes = (size_t)ns * CS_LIST_SIG_RECORD_BYTES;
    if (len - pos < sig_bytes)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "hash list: truncated signatures");
    if (len - pos > sig_bytes)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "hash list: %zu trailing bytes",
                       len - pos - sig_bytes);
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < i; j++)
            if (memcmp(p + pos + i * CS_LIST_SIG_RECORD_BYTES,
                       p + pos + j * CS_LIST_SIG_RECORD_BYTES, CLIENTSCAN_KEY_ID_BYTES) == 0)
                return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                               "hash list: two signatures by the same key");
    return CLIENTSCAN_OK;
}

/* The signed message: context string (with its NUL) || list digest. */
static void signed_message(const uint8_t digest[CLIENTSCAN_LIST_DIGEST_BYTES],
                           uint8_t msg[CS_LIST_SIG_CONTEXT_BYTES + CLIENTSCAN_LIST_DIGEST_BYTES])
{
    memcpy(msg, CS_LIST_SIG_CONTEXT, CS_LIST_SIG_CONTEXT_BYTES);
    memcpy(msg + CS_LIST_SIG_CONTEXT_BYTES, digest, CLIENTSCAN_LIST_DIGEST_BYTES);
}

static void body_digest(const uint8_t *p, size_t body_len,
                        uint8_t digest[CLIENTSCAN_LIST_DIGEST_BYTES])
{
    crypto_generichash(digest, CLIENTSCAN_LIST_DIGEST_BYTES, p, body_len, NULL, 0);
}

/* ------------------------------------------------------------ open */

void clientscan_list_close(clientscan_list *list)
{
    if (!list)
        return;
    cs_index_free(list->index);
    free(list->hashes);
    free(list->ids);
    free(list->providers);
    free(list);
}

static int verify_signatures(const uint8_t *p, const list_layout *L,
                             const clientscan_list_params *params, clientscan_list *list,
                             clientscan_detail *detail)
{
    uint8_t msg[CS_LIST_SIG_CONTEXT_BYTES + CLIENTSCAN_LIST_DIGEST_BYTES];
    signed_message(list->digest, msg);
    list->signature_count = L->sig_count;
    size_t valid = 0, invalid = 0;
    for (size_t i = 0; i < L->sig_count; i++) {
        const uint8_t *rec = p + L->sigs_off + i * CS_LIST_SIG_RECORD_BYTES;
        cs_list_signature *s = &list->signatures[i];
        memcpy(s->key_id, rec, CLIENTSCAN_KEY_ID_BYTES);
        s->status = CLIENTSCAN_SIGNATURE_UNKNOWN_KEY;
        for (size_t k = 0; k < params->authority_count; k++) {
            const clientscan_public_key *key = &params->authorities[k];
            if (memcmp(key->id, rec, CLIENTSCAN_KEY_ID_BYTES) != 0)
                continue;
            if (crypto_sign_verify_detached(rec + CLIENTSCAN_KEY_ID_BYTES, msg, sizeof msg,
                                            key->bytes) == 0) {
                s->status = CLIENTSCAN_SIGNATURE_VALID;
                break;
            }
            s->status = CLIENTSCAN_SIGNATURE_INVALID;
        }
        valid += s->status == CLIENTSCAN_SIGNATURE_VALID;
        invalid += s->status == CLIENTSCAN_SIGNATURE_INVALID;
    }
    list->verified = valid > 0;
    if (list->verified || params->allow_unsigned)
        return CLIENTSCAN_OK;
    if (L->sig_count == 0)
        return cs_fail(detail, CLIENTSCAN_E_SIGNATURE, "hash list is unsigned");
    char ids[CLIENTSCAN_LIST_MAX_SIGNATURES * CLIENTSCAN_KEY_ID_HEX_BYTES + 1];
    size_t used = 0;
    for (size_t i = 0; i < L->sig_count && used + CLIENTSCAN_KEY_ID_HEX_BYTES < sizeof ids; i++) {
        if (invalid && list->signatures[i].status != CLIENTSCAN_SIGNATURE_INVALID)
            continue;
        if (used)
            ids[used++] = ' ';
        clientscan_key_id_to_hex(list->signatures[i].key_id, ids + used);
        used += CLIENTSCAN_KEY_ID_HEX_BYTES - 1;
    }
    ids[used] = '\0';
    if (invalid)
        return cs_fail(detail, CLIENTSCAN_E_SIGNATURE,
                       "hash list: signature by trusted key %s does not verify (altered or "
                       "corrupt list)",
                       ids);
    return cs_fail(detail, CLIENTSCAN_E_SIGNATURE,
                   "hash list: signed only by untrusted key(s) %s", ids);
}

static int load_entries(const uint8_t *p, const list_layout *L, clientscan_list *list,
                        clientscan_detail *detail)
{
    size_t n = L->count;
    /* 64-byte alignment keeps every 32-byte hash inside one cache line. */
    size_t hash_bytes = ((n * CLIENTSCAN_PDQ_BYTES + 63) / 64) * 64;
    list->hashes = hash_bytes < (2u << 20) ? aligned_alloc(64, hash_bytes ? hash_bytes : 64)
                                           : cs_index_alloc(hash_bytes);
    list->ids = malloc(n ? n * CLIENTSCAN_LIST_ID_BYTES : 1);
    if (!list->hashes || !list->ids)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "hash list: cannot allocate %zu entries", n);
    const uint8_t *e = p + L->entries_off;
    for (size_t i = 0; i < n; i++, e += CS_LIST_ENTRY_BYTES) {
        memcpy(list->hashes[i].bytes, e, CLIENTSCAN_PDQ_BYTES);
        memcpy(list->ids[i], e + CLIENTSCAN_PDQ_BYTES, CLIENTSCAN_LIST_ID_BYTES);
        if (i > 0) {
            int c = memcmp(list->hashes[i - 1].bytes, list->hashes[i].bytes, CLIENTSCAN_PDQ_BYTES);
            if (c >= 0)
                return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                               c == 0 ? "hash list: entry %zu duplicates the hash of entry %zu"
                                      : "hash list: entry %zu is not sorted after entry %zu",
                               i, i - 1);
        }
    }
    list->count = n;
    if (L->flags & CS_LIST_FLAG_PROVENANCE) {
        list->provider_count = L->provider_count;
        for (size_t k = 0; k < L->provider_count; k++) {
            const uint8_t *rec = p + L->prov_off + k * CS_LIST_PROVIDER_RECORD_BYTES;
            const uint8_t *nul = memchr(rec, 0, CS_LIST_PROVIDER_RECORD_BYTES);
            size_t nlen = nul ? (size_t)(nul - rec) : CS_LIST_PROVIDER_RECORD_BYTES;
            if (!read_name_field(rec, CS_LIST_PROVIDER_RECORD_BYTES, nlen,
                                 list->provider_names[k]))
                return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "hash list: bad provider name %zu",
                               k);
        }
        list->providers = malloc(n ? n * sizeof *list->providers : 1);
        if (!list->providers)
            return cs_fail(detail, CLIENTSCAN_E_NOMEM, "hash list: cannot allocate provenance");
        uint32_t allowed = L->provider_count >= 32 ? UINT32_MAX
                                                   : (((uint32_t)1 << L->provider_count) - 1);
        for (size_t i = 0; i < n; i++) {
            uint32_t m = rd32(p + L->masks_off + 4 * i);
            if (m & ~allowed)
                return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                               "hash list: entry %zu names an undeclared provider", i);
            list->providers[i] = m;
        }
    }
    return CLIENTSCAN_OK;
}

int clientscan_list_open_memory(const void *data, size_t len, const clientscan_list_params *params,
                                clientscan_list **out, clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (!out || (!data && len))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "hash list: NULL argument");
    clientscan_list_params none;
    if (!params) {
        memset(&none, 0, sizeof none);
        params = &none;
    }
    if (params->authority_count == 0 && !params->allow_unsigned)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "hash list: no trusted authority key given");
    if (params->authority_count && !params->authorities)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "hash list: NULL authority keys");
    for (size_t k = 0; k < params->authority_count; k++)
        if (params->authorities[k].role != CLIENTSCAN_ROLE_AUTHORITY)
            return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                           "hash list: trusted key %zu has role %s, not authority", k,
                           clientscan_key_role_name(params->authorities[k].role));
    if (params->index_substrings > CS_INDEX_MAX_TABLES)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "hash list: index_substrings over %d", CS_INDEX_MAX_TABLES);
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    uint64_t max_entries = params->max_entries && params->max_entries < CLIENTSCAN_LIST_MAX_ENTRIES
                               ? params->max_entries
                               : CLIENTSCAN_LIST_MAX_ENTRIES;
    const uint8_t *p = data;
    list_layout L;
    int rc = parse_layout(p, len, max_entries, &L, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    clientscan_list *list = calloc(1, sizeof *list);
    if (!list)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "hash list: out of memory");
    memcpy(list->name, L.name, sizeof list->name);
    list->sequence = L.sequence;
    list->created = L.created;
    body_digest(p, L.body_len, list->digest);

    /* Trust first: no entry is looked at before a trusted signature holds. */
    rc = verify_signatures(p, &L, params, list, detail);
    if (rc == CLIENTSCAN_OK && list->sequence < params->accepted_sequence)
        rc = cs_fail(detail, CLIENTSCAN_E_ROLLBACK,
                     "hash list: sequence %llu is older than the accepted %llu",
                     (unsigned long long)list->sequence,
                     (unsigned long long)params->accepted_sequence);
    if (rc == CLIENTSCAN_OK && params->accepted_digest && params->accepted_sequence > 0 &&
        list->sequence == params->accepted_sequence &&
        sodium_memcmp(list->digest, params->accepted_digest, CLIENTSCAN_LIST_DIGEST_BYTES) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_ROLLBACK,
                     "hash list: sequence %llu was accepted before with a different digest",
                     (unsigned long long)list->sequence);
    if (rc == CLIENTSCAN_OK)
        rc = load_entries(p, &L, list, detail);
    if (rc == CLIENTSCAN_OK && params->skip_index) {
        cs_index_shape linear_only = {0, 0, 0};
        rc = cs_index_build_shape(list->hashes, list->count, linear_only, &list->index, detail);
    } else if (rc == CLIENTSCAN_OK) {
        rc = cs_index_build(list->hashes, list->count, params->index_substrings, &list->index,
                            detail);
    }
    if (rc != CLIENTSCAN_OK) {
        clientscan_list_close(list);
        return rc;
    }
    *out = list;
    return CLIENTSCAN_OK;
}

/* Largest well-formed file for max_entries entries. */
static uint64_t max_file_bytes(uint64_t max_entries)
{
    return CS_LIST_HEADER_BYTES + max_entries * (CS_LIST_ENTRY_BYTES + 4) +
           CS_LIST_PROV_HEAD_BYTES +
           (uint64_t)CLIENTSCAN_LIST_MAX_PROVIDERS * CS_LIST_PROVIDER_RECORD_BYTES +
           CS_LIST_SIG_HEAD_BYTES +
           (uint64_t)CLIENTSCAN_LIST_MAX_SIGNATURES * CS_LIST_SIG_RECORD_BYTES;
}

int clientscan_list_open(const char *path, const clientscan_list_params *params,
                         clientscan_list **out, clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "hash list: NULL argument");
    uint64_t max_entries = params && params->max_entries &&
                                   params->max_entries < CLIENTSCAN_LIST_MAX_ENTRIES
                               ? params->max_entries
                               : CLIENTSCAN_LIST_MAX_ENTRIES;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = cs_read_file(path, max_file_bytes(max_entries), &data, &len, detail);
    if (rc == CLIENTSCAN_E_LIMIT)
        return cs_fail(detail, rc, "hash list: file larger than any list of at most %llu entries",
                       (unsigned long long)max_entries);
    if (rc != CLIENTSCAN_OK)
        return rc;
    rc = clientscan_list_open_memory(data, len, params, out, detail);
    free(data);
    return rc;
}

/* ------------------------------------------------------------ accessors */

size_t clientscan_list_count(const clientscan_list *list)
{
    return list ? list->count : 0;
}
const char *clientscan_list_name(const clientscan_list *list)
{
    return list ? list->name : "";
}
uint64_t clientscan_list_sequence(const clientscan_list *list)
{
    return list ? list->sequence : 0;
}
uint64_t clientscan_list_created(const clientscan_list *list)
{
    return list ? list->created : 0;
}
const uint8_t *clientscan_list_digest(const clientscan_list *list)
{
    return list ? list->digest : NULL;
}
int clientscan_list_verified(const clientscan_list *list)
{
    return list ? list->verified : 0;
}

int clientscan_list_entry_at(const clientscan_list *list, size_t i, clientscan_list_entry *out)
{
    if (!list || !out || i >= list->count)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    out->hash = list->hashes[i];
    memcpy(out->id, list->ids[i], CLIENTSCAN_LIST_ID_BYTES);
    out->providers = list->providers ? list->providers[i] : 0;
    return CLIENTSCAN_OK;
}

size_t clientscan_list_provider_count(const clientscan_list *list)
{
    return list ? list->provider_count : 0;
}

const char *clientscan_list_provider_name(const clientscan_list *list, size_t p)
{
    return list && p < list->provider_count ? list->provider_names[p] : NULL;
}

size_t clientscan_list_signature_count(const clientscan_list *list)
{
    return list ? list->signature_count : 0;
}

int clientscan_list_signature_at(const clientscan_list *list, size_t i,
                                 uint8_t key_id[CLIENTSCAN_KEY_ID_BYTES],
                                 clientscan_signature_status *status)
{
    if (!list || i >= list->signature_count)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    if (key_id)
        memcpy(key_id, list->signatures[i].key_id, CLIENTSCAN_KEY_ID_BYTES);
    if (status)
        *status = list->signatures[i].status;
    return CLIENTSCAN_OK;
}

void clientscan_list_entry_to_text(const clientscan_list_entry *entry,
                                   char line[CLIENTSCAN_LIST_TEXT_LINE_BYTES])
{
    clientscan_pdq_to_hex(&entry->hash, line);
    line[64] = ',';
    line[65] = ',';
    sodium_bin2hex(line + 66, CLIENTSCAN_LIST_ID_HEX_BYTES, entry->id, CLIENTSCAN_LIST_ID_BYTES);
    line[98] = '\n';
    line[99] = '\0';
}

/* ------------------------------------------------------------ signing */

/* Writes the signature block for `digest` after body[0..body_len): kept
 * records (already signed) then one new signature per signer. */
static int write_signatures(uint8_t *out, const uint8_t digest[CLIENTSCAN_LIST_DIGEST_BYTES],
                            const uint8_t *kept, size_t kept_count,
                            const clientscan_secret_key *const *signers, size_t signer_count,
                            clientscan_detail *detail)
{
    memcpy(out, CS_LIST_SIG_MAGIC, 8);
    wr32(out + 8, (uint32_t)(kept_count + signer_count));
    uint8_t *rec = out + CS_LIST_SIG_HEAD_BYTES;
    if (kept_count) {
        memcpy(rec, kept, kept_count * CS_LIST_SIG_RECORD_BYTES);
        rec += kept_count * CS_LIST_SIG_RECORD_BYTES;
    }
    uint8_t msg[CS_LIST_SIG_CONTEXT_BYTES + CLIENTSCAN_LIST_DIGEST_BYTES];
    signed_message(digest, msg);
    for (size_t i = 0; i < signer_count; i++, rec += CS_LIST_SIG_RECORD_BYTES) {
        clientscan_public_key pub;
        clientscan_secret_key_public(signers[i], &pub);
        memcpy(rec, pub.id, CLIENTSCAN_KEY_ID_BYTES);
        int rc = cs_secret_key_sign(signers[i], msg, sizeof msg, rec + CLIENTSCAN_KEY_ID_BYTES,
                                    detail);
        if (rc != CLIENTSCAN_OK)
            return rc;
    }
    return CLIENTSCAN_OK;
}

static int check_signers(const clientscan_secret_key *const *signers, size_t n,
                         clientscan_detail *detail)
{
    if (n && !signers)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "hash list: NULL signers");
    if (n > CLIENTSCAN_LIST_MAX_SIGNATURES)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "hash list: %zu signers (max %d)", n,
                       CLIENTSCAN_LIST_MAX_SIGNATURES);
    for (size_t i = 0; i < n; i++) {
        if (!signers[i] || clientscan_secret_key_role(signers[i]) != CLIENTSCAN_ROLE_AUTHORITY)
            return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                           "hash list: signer %zu is not an authority key", i);
        clientscan_public_key a, b;
        clientscan_secret_key_public(signers[i], &a);
        for (size_t j = 0; j < i; j++) {
            clientscan_secret_key_public(signers[j], &b);
            if (memcmp(a.id, b.id, CLIENTSCAN_KEY_ID_BYTES) == 0)
                return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                               "hash list: the same key signs twice");
        }
    }
    return CLIENTSCAN_OK;
}

int clientscan_list_add_signature(const void *data, size_t len, const clientscan_secret_key *signer,
                                  uint8_t **out, size_t *out_len, clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!data || !signer || !out || !out_len)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "hash list: NULL argument");
    int rc = check_signers(&signer, 1, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    const uint8_t *p = data;
    list_layout L;
    if ((rc = parse_layout(p, len, CLIENTSCAN_LIST_MAX_ENTRIES, &L, detail)) != CLIENTSCAN_OK)
        return rc;
    clientscan_public_key pub;
    clientscan_secret_key_public(signer, &pub);
    /* Keep the other signers' records, drop an older one by the same key. */
    uint8_t kept[CLIENTSCAN_LIST_MAX_SIGNATURES * CS_LIST_SIG_RECORD_BYTES];
    size_t nk = 0;
    for (size_t i = 0; i < L.sig_count; i++) {
        const uint8_t *rec = p + L.sigs_off + i * CS_LIST_SIG_RECORD_BYTES;
        if (memcmp(rec, pub.id, CLIENTSCAN_KEY_ID_BYTES) != 0)
            memcpy(kept + CS_LIST_SIG_RECORD_BYTES * nk++, rec, CS_LIST_SIG_RECORD_BYTES);
    }
    if (nk + 1 > CLIENTSCAN_LIST_MAX_SIGNATURES)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "hash list: already %d signatures",
                       CLIENTSCAN_LIST_MAX_SIGNATURES);
    size_t total = L.body_len + CS_LIST_SIG_HEAD_BYTES + (nk + 1) * CS_LIST_SIG_RECORD_BYTES;
    uint8_t *buf = malloc(total);
    if (!buf)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "hash list: out of memory");
    memcpy(buf, p, L.body_len);
    uint8_t digest[CLIENTSCAN_LIST_DIGEST_BYTES];
    body_digest(buf, L.body_len, digest);
    rc = write_signatures(buf + L.body_len, digest, kept, nk, &signer, 1, detail);
    if (rc != CLIENTSCAN_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = total;
    return CLIENTSCAN_OK;
}

/* ------------------------------------------------------------ builder */

int clientscan_list_builder_new(clientscan_list_builder **out, clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "builder: NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "builder: out of memory");
    strcpy((*out)->name, "unnamed");
    (*out)->canonical = true;
    return CLIENTSCAN_OK;
}

void clientscan_list_builder_free(clientscan_list_builder *b)
{
    if (!b)
        return;
    free(b->v);
    free(b);
}

int clientscan_list_builder_set_name(clientscan_list_builder *b, const char *name,
                                     clientscan_detail *detail)
{
    if (!b || !name || !cs_list_name_valid(name, strlen(name), CLIENTSCAN_LIST_NAME_MAX))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "list name must be 1..%d bytes of UTF-8 without control characters",
                       CLIENTSCAN_LIST_NAME_MAX);
    strcpy(b->name, name);
    return CLIENTSCAN_OK;
}

void clientscan_list_builder_set_sequence(clientscan_list_builder *b, uint64_t sequence)
{
    if (b)
        b->sequence = sequence;
}

void clientscan_list_builder_set_created(clientscan_list_builder *b, uint64_t unix_seconds)
{
    if (b) {
        b->created = unix_seconds;
        b->created_set = true;
    }
}

int clientscan_list_builder_add_provider(clientscan_list_builder *b, const char *name,
                                         unsigned *index, clientscan_detail *detail)
{
    if (!b || !name ||
        !cs_list_name_valid(name, strlen(name), CLIENTSCAN_LIST_PROVIDER_NAME_MAX))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "provider name must be 1..%d bytes of UTF-8 without control characters",
                       CLIENTSCAN_LIST_PROVIDER_NAME_MAX);
    if (b->provider_count >= CLIENTSCAN_LIST_MAX_PROVIDERS)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "more than %d providers",
                       CLIENTSCAN_LIST_MAX_PROVIDERS);
    strcpy(b->provider_names[b->provider_count], name);
    if (index)
        *index = (unsigned)b->provider_count;
    b->provider_count++;
    return CLIENTSCAN_OK;
}

void clientscan_list_derive_id(const clientscan_pdq *hash, uint8_t id[CLIENTSCAN_LIST_ID_BYTES])
{
    crypto_generichash(id, CLIENTSCAN_LIST_ID_BYTES, hash->bytes, CLIENTSCAN_PDQ_BYTES, NULL, 0);
}

static int cmp_builder_entry(const void *pa, const void *pb)
{
    const cs_builder_entry *a = pa, *b = pb;
    int c = memcmp(a->hash.bytes, b->hash.bytes, CLIENTSCAN_PDQ_BYTES);
    if (c)
        return c;
    return (a->order > b->order) - (a->order < b->order);
}

/* Sorts by hash and merges duplicates (first id kept, providers united). */
static void canonicalize(clientscan_list_builder *b)
{
    if (b->canonical)
        return;
    qsort(b->v, b->n, sizeof *b->v, cmp_builder_entry);
    size_t out = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (out > 0 && memcmp(b->v[out - 1].hash.bytes, b->v[i].hash.bytes,
                              CLIENTSCAN_PDQ_BYTES) == 0) {
            b->v[out - 1].providers |= b->v[i].providers;
            continue;
        }
        b->v[out++] = b->v[i];
    }
    b->n = out;
    b->canonical = true;
}

int cs_builder_push(clientscan_list_builder *b, const clientscan_pdq *hash,
                    const uint8_t id[CLIENTSCAN_LIST_ID_BYTES], int provider,
                    clientscan_detail *detail)
{
    if (provider < -1 || provider >= (int)b->provider_count)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "builder: undeclared provider %d",
                       provider);
    if (b->n >= CLIENTSCAN_LIST_MAX_ENTRIES)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "builder: more than %u entries",
                       CLIENTSCAN_LIST_MAX_ENTRIES);
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        if (ncap > CLIENTSCAN_LIST_MAX_ENTRIES)
            ncap = CLIENTSCAN_LIST_MAX_ENTRIES;
        cs_builder_entry *nv = realloc(b->v, ncap * sizeof *nv);
        if (!nv)
            return cs_fail(detail, CLIENTSCAN_E_NOMEM, "builder: out of memory");
        b->v = nv;
        b->cap = ncap;
    }
    cs_builder_entry *e = &b->v[b->n];
    e->hash = *hash;
    if (id)
        memcpy(e->id, id, CLIENTSCAN_LIST_ID_BYTES);
    else
        clientscan_list_derive_id(hash, e->id);
    e->providers = provider >= 0 ? (uint32_t)1 << provider : 0;
    e->reserved = 0;
    e->order = b->next_order++;
    if (b->canonical && b->n > 0 &&
        memcmp(b->v[b->n - 1].hash.bytes, hash->bytes, CLIENTSCAN_PDQ_BYTES) >= 0)
        b->canonical = false;
    b->n++;
    return CLIENTSCAN_OK;
}

int clientscan_list_builder_add(clientscan_list_builder *b, const clientscan_pdq *hash,
                                const uint8_t id[CLIENTSCAN_LIST_ID_BYTES], int provider,
                                clientscan_detail *detail)
{
    if (!b || !hash)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "builder: NULL argument");
    if (b->n >= CLIENTSCAN_LIST_MAX_ENTRIES)
        canonicalize(b); /* duplicates may make room */
    return cs_builder_push(b, hash, id, provider, detail);
}

int clientscan_list_builder_add_list(clientscan_list_builder *b, const clientscan_list *list,
                                     int provider, clientscan_detail *detail)
{
    if (!b || !list)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "builder: NULL argument");
    for (size_t i = 0; i < list->count; i++) {
        int rc = clientscan_list_builder_add(b, &list->hashes[i], list->ids[i], provider, detail);
        if (rc != CLIENTSCAN_OK)
            return rc;
    }
    return CLIENTSCAN_OK;
}

size_t clientscan_list_builder_count(clientscan_list_builder *b)
{
    if (!b)
        return 0;
    canonicalize(b);
    return b->n;
}

int clientscan_list_builder_require(clientscan_list_builder *b, unsigned k, int within_distance,
                                    size_t *kept, clientscan_detail *detail)
{
    if (!b || k < 1 || k > b->provider_count || within_distance < 0 || within_distance > 256)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "k-of-n: need 1 <= k (%u) <= providers (%zu) and 0 <= distance <= 256", k,
                       b ? b->provider_count : (size_t)0);
    canonicalize(b);
    size_t n = b->n;
    uint32_t *support = malloc(n ? n * sizeof *support : 1);
    if (!support)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "k-of-n: out of memory");
    int rc = CLIENTSCAN_OK;
    if (within_distance == 0) {
        for (size_t i = 0; i < n; i++)
            support[i] = b->v[i].providers;
    } else {
        /* A provider supports h if it has any hash within the distance. */
        clientscan_pdq *hashes = malloc(n ? n * sizeof *hashes : 1);
        cs_index *ix = NULL;
        if (!hashes)
            rc = cs_fail(detail, CLIENTSCAN_E_NOMEM, "k-of-n: out of memory");
        for (size_t i = 0; rc == CLIENTSCAN_OK && i < n; i++)
            hashes[i] = b->v[i].hash;
        if (rc == CLIENTSCAN_OK)
            rc = cs_index_build(hashes, n, 0, &ix, detail);
        for (size_t i = 0; rc == CLIENTSCAN_OK && i < n; i++) {
            cs_hit local[64];
            cs_hits hits = {local, 0, 64, false};
            rc = cs_index_search(ix, &hashes[i], 0, within_distance, CLIENTSCAN_MATCH_AUTO, &hits);
            if (rc != CLIENTSCAN_OK)
                rc = cs_fail(detail, rc, "k-of-n: out of memory");
            uint32_t s = 0;
            for (size_t h = 0; h < hits.n; h++)
                s |= b->v[hits.v[h].entry].providers;
            support[i] = s;
            cs_hits_release(&hits);
        }
        cs_index_free(ix);
        free(hashes);
    }
    if (rc == CLIENTSCAN_OK) {
        size_t out = 0;
        for (size_t i = 0; i < n; i++) {
            if ((unsigned)__builtin_popcount(support[i]) < k)
                continue;
            b->v[out] = b->v[i];
            b->v[out].providers = support[i];
            out++;
        }
        b->n = out;
        if (kept)
            *kept = out;
    }
    free(support);
    return rc;
}

int clientscan_list_builder_encode(clientscan_list_builder *b,
                                   const clientscan_secret_key *const *signers,
                                   size_t signer_count, uint8_t **out, size_t *out_len,
                                   clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!b || !out || !out_len)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "builder: NULL argument");
    int rc = check_signers(signers, signer_count, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    canonicalize(b);
    size_t n = b->n;
    bool prov = b->provider_count > 0;
    /* n <= CLIENTSCAN_LIST_MAX_ENTRIES keeps every product far from overflow. */
    size_t body = CS_LIST_HEADER_BYTES + n * CS_LIST_ENTRY_BYTES;
    if (prov)
        body += CS_LIST_PROV_HEAD_BYTES + b->provider_count * CS_LIST_PROVIDER_RECORD_BYTES + 4 * n;
    size_t total = body + CS_LIST_SIG_HEAD_BYTES + signer_count * CS_LIST_SIG_RECORD_BYTES;
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "builder: cannot allocate %zu bytes", total);
    memcpy(buf + H_MAGIC, CS_LIST_MAGIC, CS_LIST_MAGIC_BYTES);
    wr16(buf + H_VERSION, CS_LIST_VERSION);
    wr16(buf + H_ALGORITHM, CS_LIST_ALGO_PDQ);
    wr16(buf + H_HASH_BYTES, CLIENTSCAN_PDQ_BYTES);
    wr16(buf + H_ID_BYTES, CLIENTSCAN_LIST_ID_BYTES);
    wr32(buf + H_FLAGS, prov ? CS_LIST_FLAG_PROVENANCE : 0);
    wr64(buf + H_COUNT, n);
    wr64(buf + H_SEQUENCE, b->sequence);
    wr64(buf + H_CREATED, b->created_set ? b->created : (uint64_t)time(NULL));
    size_t name_len = strlen(b->name);
    buf[H_NAME_LEN] = (uint8_t)name_len;
    memcpy(buf + H_NAME, b->name, name_len);
    uint8_t *e = buf + CS_LIST_HEADER_BYTES;
    for (size_t i = 0; i < n; i++, e += CS_LIST_ENTRY_BYTES) {
        memcpy(e, b->v[i].hash.bytes, CLIENTSCAN_PDQ_BYTES);
        memcpy(e + CLIENTSCAN_PDQ_BYTES, b->v[i].id, CLIENTSCAN_LIST_ID_BYTES);
    }
    if (prov) {
        wr32(e, (uint32_t)b->provider_count);
        e += CS_LIST_PROV_HEAD_BYTES;
        for (size_t k = 0; k < b->provider_count; k++, e += CS_LIST_PROVIDER_RECORD_BYTES)
            memcpy(e, b->provider_names[k], strlen(b->provider_names[k]));
        for (size_t i = 0; i < n; i++, e += 4)
            wr32(e, b->v[i].providers);
    }
    uint8_t digest[CLIENTSCAN_LIST_DIGEST_BYTES];
    body_digest(buf, body, digest);
    rc = write_signatures(buf + body, digest, NULL, 0, signers, signer_count, detail);
    if (rc != CLIENTSCAN_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = total;
    return CLIENTSCAN_OK;
}
