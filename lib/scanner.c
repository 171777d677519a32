/* The scanner: a verified list, its index, the moderator key and a policy.
 * scan = decode + PDQ (8 variants) + match; prepare = scan + encrypt + seal
 * a report slot. Immutable after open, so any number of threads share one. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clientscan_scanner {
    clientscan_list *list;
    uint8_t moderator_pk[CLIENTSCAN_PUBLIC_KEY_BYTES];
    int threshold;
    clientscan_unscannable_policy unscannable;
    clientscan_low_quality_policy low_quality;
    clientscan_decode_params decode;
};

const char *clientscan_verdict_kind_name(clientscan_verdict_kind kind)
{
    switch (kind) {
    case CLIENTSCAN_VERDICT_NO_MATCH: return "no-match";
    case CLIENTSCAN_VERDICT_MATCH: return "match";
    case CLIENTSCAN_VERDICT_UNSCANNABLE: return "unscannable";
    case CLIENTSCAN_VERDICT_LOW_QUALITY: return "low-quality";
    }
    return "unknown";
}

/* Checks everything about params except the list itself. */
static int check_params(const clientscan_scanner_params *p, clientscan_detail *detail)
{
    if (!p->moderator)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "scanner: no moderator key");
    if (p->moderator->role != CLIENTSCAN_ROLE_MODERATOR)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "scanner: the moderator key is a %s key",
                       clientscan_key_role_name(p->moderator->role));
    if (p->threshold < 0 || p->threshold > 256)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "scanner: threshold %d outside 1..256 (0 = default %d)", p->threshold,
                       CLIENTSCAN_PDQ_MATCH_THRESHOLD);
    if (p->unscannable != CLIENTSCAN_UNSCANNABLE_SEND &&
        p->unscannable != CLIENTSCAN_UNSCANNABLE_REFUSE)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "scanner: unknown unscannable policy %d",
                       (int)p->unscannable);
    if (p->low_quality != CLIENTSCAN_LOW_QUALITY_MATCH &&
        p->low_quality != CLIENTSCAN_LOW_QUALITY_UNSCANNABLE)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "scanner: unknown low-quality policy %d",
                       (int)p->low_quality);
    return CLIENTSCAN_OK;
}

/* Takes ownership of list (closed on failure). */
static int scanner_from_list(clientscan_list *list, const clientscan_scanner_params *p,
                             clientscan_scanner **out, clientscan_detail *detail)
{
    /* Seal one throw-away slot: a key that is not a usable X25519 point
     * fails here, at open, rather than on the first attachment. */
    uint8_t probe[CLIENTSCAN_REPORT_SLOT_BYTES];
    int rc = cs_report_seal(CLIENTSCAN_REPORT_NO_MATCH, NULL, p->moderator->bytes, probe, detail);
    if (rc != CLIENTSCAN_OK) {
        clientscan_list_close(list);
        if (rc == CLIENTSCAN_E_NOMEM) /* not the key's fault */
            return cs_fail(detail, rc, "scanner: out of memory sealing a probe slot");
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "scanner: the moderator key is not usable");
    }
    clientscan_scanner *s = calloc(1, sizeof *s);
    if (!s) {
        clientscan_list_close(list);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "scanner: out of memory");
    }
    s->list = list;
    memcpy(s->moderator_pk, p->moderator->bytes, sizeof s->moderator_pk);
    s->threshold = p->threshold ? p->threshold : CLIENTSCAN_PDQ_MATCH_THRESHOLD;
    s->unscannable = p->unscannable;
    s->low_quality = p->low_quality;
    s->decode = p->decode;
    if (p->exact)
        s->decode.jpeg_min_side = 0;
    else if (s->decode.jpeg_min_side == 0)
        s->decode.jpeg_min_side = CLIENTSCAN_FAST_MIN_SIDE;
    *out = s;
    return CLIENTSCAN_OK;
}

int clientscan_scanner_open_memory(const void *list_data, size_t list_len,
                                   const clientscan_scanner_params *params,
                                   clientscan_scanner **out, clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (!list_data || !params || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "scanner: NULL argument");
    int rc = check_params(params, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    clientscan_list *list = NULL;
    rc = clientscan_list_open_memory(list_data, list_len, &params->list, &list, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    return scanner_from_list(list, params, out, detail);
}

int clientscan_scanner_open(const char *list_path, const clientscan_scanner_params *params,
                            clientscan_scanner **out, clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (!list_path || !params || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "scanner: NULL argument");
    int rc = check_params(params, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    clientscan_list *list = NULL;
    rc = clientscan_list_open(list_path, &params->list, &list, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    return scanner_from_list(list, params, out, detail);
}

void clientscan_scanner_close(clientscan_scanner *scanner)
{
    if (!scanner)
        return;
    clientscan_list_close(scanner->list);
    free(scanner);
}

const clientscan_list *clientscan_scanner_list(const clientscan_scanner *scanner)
{
    return scanner ? scanner->list : NULL;
}

/* Decoder errors that mean "this input cannot be scanned" rather than "the
 * call failed": the verdict says UNSCANNABLE and policy decides. */
static bool is_unscannable_error(int rc)
{
    return rc == CLIENTSCAN_E_UNSUPPORTED_FORMAT || rc == CLIENTSCAN_E_CORRUPT ||
           rc == CLIENTSCAN_E_LIMIT;
}

int clientscan_scan(const clientscan_scanner *scanner, const void *data, size_t len,
                    clientscan_verdict *out, clientscan_detail *detail)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!scanner || !out || (!data && len))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "scan: NULL argument");
    out->quality = -1;
    out->kind = CLIENTSCAN_VERDICT_UNSCANNABLE;
    out->format = len ? clientscan_sniff(data, len) : CLIENTSCAN_FORMAT_UNKNOWN;
    if (len == 0) {
        out->scan_error = CLIENTSCAN_E_UNSUPPORTED_FORMAT;
        snprintf(out->reason.text, sizeof out->reason.text, "empty attachment");
        return CLIENTSCAN_OK;
    }
    clientscan_hash_params hp = {.decode = scanner->decode, .mode = CLIENTSCAN_PDQ_MODE_FULL,
                                 .dihedral = 1};
    clientscan_pdq_result result;
    int rc = clientscan_hash_memory(data, len, &hp, &result, NULL, &out->reason);
    if (rc != CLIENTSCAN_OK) {
        if (!is_unscannable_error(rc)) {
            clientscan_detail why = out->reason;
            memset(out, 0, sizeof *out);
            return cs_fail(detail, rc, "scan: %s", why.text);
        }
        out->scan_error = rc;
        return CLIENTSCAN_OK;
    }
    out->quality = result.quality;
    bool low = result.quality < CLIENTSCAN_PDQ_MIN_QUALITY;
    if (low && scanner->low_quality == CLIENTSCAN_LOW_QUALITY_UNSCANNABLE) {
        out->kind = CLIENTSCAN_VERDICT_LOW_QUALITY;
        snprintf(out->reason.text, sizeof out->reason.text,
                 "PDQ quality %d below %d: not matched by policy", result.quality,
                 CLIENTSCAN_PDQ_MIN_QUALITY);
        return CLIENTSCAN_OK;
    }
    clientscan_match_params mp = {scanner->threshold, 1, 0, CLIENTSCAN_MATCH_AUTO};
    clientscan_match best;
    size_t found = 0;
    rc = clientscan_list_match(scanner->list, &result, &mp, &best, 1, &found, NULL, detail);
    if (rc != CLIENTSCAN_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->scanned = 1;
    out->reason.text[0] = '\0';
    out->kind = low ? CLIENTSCAN_VERDICT_LOW_QUALITY
                    : found ? CLIENTSCAN_VERDICT_MATCH : CLIENTSCAN_VERDICT_NO_MATCH;
    if (found) {
        clientscan_list_entry entry;
        rc = clientscan_list_entry_at(scanner->list, best.entry, &entry);
        if (rc != CLIENTSCAN_OK) {
            memset(out, 0, sizeof *out);
            return cs_fail(detail, CLIENTSCAN_E_INTERNAL, "scan: matched entry out of range");
        }
        out->matched = 1;
        out->match_count = found;
        out->entry = best.entry;
        memcpy(out->entry_id, entry.id, sizeof out->entry_id);
        out->distance = best.distance;
        out->variant = best.variant;
    }
    return CLIENTSCAN_OK;
}

int clientscan_prepare_attachment(const clientscan_scanner *scanner, const void *data, size_t len,
                                  clientscan_prepared *out, clientscan_detail *detail)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!scanner || !out || (!data && len))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "prepare: NULL argument");
    clientscan_verdict verdict;
    int rc = clientscan_scan(scanner, data, len, &verdict, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    clientscan_report_kind kind = verdict.matched   ? CLIENTSCAN_REPORT_MATCH
                                  : verdict.scanned ? CLIENTSCAN_REPORT_NO_MATCH
                                                    : CLIENTSCAN_REPORT_UNSCANNED;
    if (kind == CLIENTSCAN_REPORT_UNSCANNED && scanner->unscannable == CLIENTSCAN_UNSCANNABLE_REFUSE) {
        out->verdict = verdict;
        return cs_fail(detail, CLIENTSCAN_E_REFUSED, "attachment not scanned (%s): policy refuses it",
                       verdict.reason.text[0] ? verdict.reason.text : "unscannable");
    }
    /* From here every verdict takes the same path: fresh key, encryption,
     * one slot of the same size. */
    rc = clientscan_attachment_key_new(&out->key, detail);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_encrypt_attachment(out->key, data, len, &out->ciphertext,
                                           &out->ciphertext_len, out->ciphertext_digest, detail);
    if (rc == CLIENTSCAN_OK) {
        cs_report_match m;
        memset(&m, 0, sizeof m);
        if (kind == CLIENTSCAN_REPORT_MATCH) {
            m.hash_algorithm = CLIENTSCAN_HASH_ALGORITHM_PDQ;
            memcpy(m.list_digest, clientscan_list_digest(scanner->list), sizeof m.list_digest);
            m.list_sequence = clientscan_list_sequence(scanner->list);
            memcpy(m.entry_id, verdict.entry_id, sizeof m.entry_id);
            m.distance = verdict.distance;
            m.variant = verdict.variant;
            m.day = cs_report_today();
            m.key = out->key;
            memcpy(m.ciphertext_digest, out->ciphertext_digest, sizeof m.ciphertext_digest);
        }
        rc = cs_report_seal(kind, kind == CLIENTSCAN_REPORT_MATCH ? &m : NULL,
                            scanner->moderator_pk, out->slot, detail);
        /* m holds a pointer to the key, not its bytes; nothing to wipe. */
    }
    if (rc != CLIENTSCAN_OK) {
        clientscan_prepared_release(out);
        return rc;
    }
    out->verdict = verdict;
    return CLIENTSCAN_OK;
}

void clientscan_prepared_release(clientscan_prepared *prepared)
{
    if (!prepared)
        return;
    clientscan_attachment_key_free(prepared->key);
    free(prepared->ciphertext);
    memset(prepared, 0, sizeof *prepared);
}
