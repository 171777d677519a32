/* Internal layout of opened hash lists and list builders, shared by the
 * binary format (hashlist.c), text import (textlist.c) and matching
 * (index.c). Never installed. Format: hashdb/FORMAT.md. */
#ifndef CLIENTSCAN_HASHLIST_H
#define CLIENTSCAN_HASHLIST_H

#include "index.h"
#include "internal.h"

/* Binary layout constants (hashdb/FORMAT.md). */
#define CS_LIST_MAGIC "\x89" "CSHL\r\n\x1a"
#define CS_LIST_MAGIC_BYTES 8
#define CS_LIST_VERSION 1
#define CS_LIST_ALGO_PDQ 1
#define CS_LIST_HEADER_BYTES 128
#define CS_LIST_ENTRY_BYTES (CLIENTSCAN_PDQ_BYTES + CLIENTSCAN_LIST_ID_BYTES)
#define CS_LIST_FLAG_PROVENANCE 1u
#define CS_LIST_PROV_HEAD_BYTES 8
#define CS_LIST_PROVIDER_RECORD_BYTES CLIENTSCAN_LIST_PROVIDER_NAME_MAX
#define CS_LIST_SIG_MAGIC "CSHLSIGS"
#define CS_LIST_SIG_HEAD_BYTES 12 /* magic + u32 count */
#define CS_LIST_SIG_BYTES 64
#define CS_LIST_SIG_RECORD_BYTES (CLIENTSCAN_KEY_ID_BYTES + CS_LIST_SIG_BYTES)
/* Ed25519 signs CONTEXT || list digest (domain separation). */
#define CS_LIST_SIG_CONTEXT "clientscan hash list v1"
#define CS_LIST_SIG_CONTEXT_BYTES 24 /* including its NUL */

typedef struct cs_list_signature {
    uint8_t key_id[CLIENTSCAN_KEY_ID_BYTES];
    clientscan_signature_status status;
} cs_list_signature;

struct clientscan_list {
    char name[CLIENTSCAN_LIST_NAME_MAX + 1];
    uint64_t sequence;
    uint64_t created;
    uint8_t digest[CLIENTSCAN_LIST_DIGEST_BYTES];
    int verified;
    size_t count;
    clientscan_pdq *hashes;                    /* count, sorted ascending */
    uint8_t (*ids)[CLIENTSCAN_LIST_ID_BYTES];  /* count */
    uint32_t *providers;                       /* count, or NULL: no provenance */
    size_t provider_count;
    char provider_names[CLIENTSCAN_LIST_MAX_PROVIDERS][CLIENTSCAN_LIST_PROVIDER_NAME_MAX + 1];
    size_t signature_count;
    cs_list_signature signatures[CLIENTSCAN_LIST_MAX_SIGNATURES];
    cs_index *index;
};

/* A list being built: raw entries (duplicates allowed until canonical). */
typedef struct cs_builder_entry {
    clientscan_pdq hash;
    uint8_t id[CLIENTSCAN_LIST_ID_BYTES];
    uint32_t providers;
    uint32_t reserved;
    uint64_t order; /* insertion number: the first added id wins a merge */
} cs_builder_entry;

struct clientscan_list_builder {
    char name[CLIENTSCAN_LIST_NAME_MAX + 1];
    uint64_t sequence;
    uint64_t created;
    bool created_set;
    cs_builder_entry *v;
    size_t n, cap;
    bool canonical; /* v[0..n) sorted by hash, no duplicate hash */
    uint64_t next_order;
    size_t provider_count;
    char provider_names[CLIENTSCAN_LIST_MAX_PROVIDERS][CLIENTSCAN_LIST_PROVIDER_NAME_MAX + 1];
};

/* Appends one raw entry (provider -1 = none). Errors: INVALID_ARGUMENT,
 * LIMIT, NOMEM. */
int cs_builder_push(clientscan_list_builder *b, const clientscan_pdq *hash,
                    const uint8_t id[CLIENTSCAN_LIST_ID_BYTES], int provider,
                    clientscan_detail *detail);

/* Checks a list or provider name: 1..max bytes, no control bytes (< 0x20,
 * 0x7f), valid UTF-8. */
bool cs_list_name_valid(const char *name, size_t len, size_t max);

#endif
