/* Key pairs of the three roles, key ids, and key files (hashdb/FORMAT.md,
 * "Key files"). Secret material only ever sits in sodium_malloc'd memory. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX 64 /* Ed25519 libsodium secret key; X25519 uses 32 */
#define SEED_BYTES 32 /* what a secret key file stores, for every role */
#define FILE_VERSION 1

struct clientscan_secret_key {
    clientscan_public_key pub;
    size_t secret_len;
    uint8_t secret[SECRET_MAX];
    uint8_t seed[SEED_BYTES]; /* Ed25519 seed or X25519 secret: the file form */
};

const char *clientscan_key_role_name(clientscan_key_role role)
{
    switch (role) {
    case CLIENTSCAN_ROLE_AUTHORITY: return "authority";
    case CLIENTSCAN_ROLE_MODERATOR: return "moderator";
    case CLIENTSCAN_ROLE_USER: return "user";
    }
    return "unknown";
}

static bool role_valid(clientscan_key_role role)
{
    return role == CLIENTSCAN_ROLE_AUTHORITY || role == CLIENTSCAN_ROLE_MODERATOR ||
           role == CLIENTSCAN_ROLE_USER;
}

static int role_from_text(const char *s, size_t len, clientscan_key_role *out)
{
    static const clientscan_key_role roles[] = {CLIENTSCAN_ROLE_AUTHORITY,
                                                CLIENTSCAN_ROLE_MODERATOR, CLIENTSCAN_ROLE_USER};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        const char *name = clientscan_key_role_name(roles[i]);
        if (strlen(name) == len && memcmp(name, s, len) == 0) {
            *out = roles[i];
            return 0;
        }
    }
    return -1;
}

int clientscan_key_role_from_name(const char *name, clientscan_key_role *out,
                                  clientscan_detail *detail)
{
    if (!name || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "key role: NULL argument");
    if (role_from_text(name, strlen(name), out) != 0)
        return cs_fail(detail, CLIENTSCAN_E_PARSE,
                       "unknown key role (expected authority, moderator or user)");
    return CLIENTSCAN_OK;
}

void clientscan_key_id_to_hex(const uint8_t id[CLIENTSCAN_KEY_ID_BYTES],
                              char hex[CLIENTSCAN_KEY_ID_HEX_BYTES])
{
    sodium_bin2hex(hex, CLIENTSCAN_KEY_ID_HEX_BYTES, id, CLIENTSCAN_KEY_ID_BYTES);
}

void cs_key_id(const uint8_t pk[CLIENTSCAN_PUBLIC_KEY_BYTES], uint8_t id[CLIENTSCAN_KEY_ID_BYTES])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, pk, CLIENTSCAN_PUBLIC_KEY_BYTES, NULL, 0);
    memcpy(id, h, CLIENTSCAN_KEY_ID_BYTES);
}

/* Rejects keys that cannot work: a non-canonical or small-order Ed25519
 * point, an all-zero X25519 key. */
static int check_public_bytes(clientscan_key_role role, const uint8_t *pk,
                              clientscan_detail *detail)
{
    if (role == CLIENTSCAN_ROLE_AUTHORITY) {
        if (!crypto_core_ed25519_is_valid_point(pk))
            return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "not a valid Ed25519 public key");
    } else if (sodium_is_zero(pk, CLIENTSCAN_PUBLIC_KEY_BYTES)) {
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "all-zero X25519 public key");
    }
    return CLIENTSCAN_OK;
}

int clientscan_public_key_from_bytes(clientscan_key_role role,
                                     const uint8_t bytes[CLIENTSCAN_PUBLIC_KEY_BYTES],
                                     clientscan_public_key *out, clientscan_detail *detail)
{
    if (!bytes || !out || !role_valid(role))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "public key: bad argument");
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    int rc = check_public_bytes(role, bytes, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->role = role;
    memcpy(out->bytes, bytes, CLIENTSCAN_PUBLIC_KEY_BYTES);
    cs_key_id(out->bytes, out->id);
    return CLIENTSCAN_OK;
}

static clientscan_secret_key *secret_alloc(void)
{
    clientscan_secret_key *sk = sodium_malloc(sizeof *sk);
    if (sk)
        sodium_memzero(sk, sizeof *sk);
    return sk;
}

void clientscan_secret_key_free(clientscan_secret_key *secret)
{
    /* sodium_free wipes the whole allocation before releasing it. */
    if (secret)
        sodium_free(secret);
}

/* Fills the key's secret and public halves from its 32-byte seed. */
static int derive_from_seed(clientscan_secret_key *sk, clientscan_key_role role)
{
    sk->pub.role = role;
    if (role == CLIENTSCAN_ROLE_AUTHORITY) {
        if (crypto_sign_seed_keypair(sk->pub.bytes, sk->secret, sk->seed) != 0)
            return CLIENTSCAN_E_CRYPTO;
        sk->secret_len = crypto_sign_SECRETKEYBYTES;
    } else {
        memcpy(sk->secret, sk->seed, crypto_box_SECRETKEYBYTES);
        if (crypto_scalarmult_base(sk->pub.bytes, sk->secret) != 0)
            return CLIENTSCAN_E_CRYPTO;
        sk->secret_len = crypto_box_SECRETKEYBYTES;
    }
    cs_key_id(sk->pub.bytes, sk->pub.id);
    return CLIENTSCAN_OK;
}

int clientscan_keypair_generate(clientscan_key_role role, clientscan_public_key *pub,
                                clientscan_secret_key **secret, clientscan_detail *detail)
{
    if (secret)
        *secret = NULL;
    if (!secret || !role_valid(role))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "keygen: bad argument");
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    clientscan_secret_key *sk = secret_alloc();
    if (!sk)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    randombytes_buf(sk->seed, sizeof sk->seed);
    if (derive_from_seed(sk, role) != CLIENTSCAN_OK) {
        clientscan_secret_key_free(sk);
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "key derivation failed");
    }
    if (pub)
        *pub = sk->pub;
    *secret = sk;
    return CLIENTSCAN_OK;
}

clientscan_key_role clientscan_secret_key_role(const clientscan_secret_key *secret)
{
    return secret ? secret->pub.role : (clientscan_key_role)0;
}

void clientscan_secret_key_public(const clientscan_secret_key *secret, clientscan_public_key *out)
{
    if (secret && out)
        *out = secret->pub;
}

const uint8_t *cs_secret_key_bytes(const clientscan_secret_key *secret, size_t *len)
{
    *len = secret->secret_len;
    return secret->secret;
}

int cs_secret_key_sign(const clientscan_secret_key *secret, const uint8_t *msg, size_t len,
                       uint8_t sig[64], clientscan_detail *detail)
{
    if (!secret || secret->pub.role != CLIENTSCAN_ROLE_AUTHORITY)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "signing needs an authority key");
    if (crypto_sign_detached(sig, NULL, msg, len, secret->secret) != 0)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "Ed25519 signing failed");
    return CLIENTSCAN_OK;
}

/* ------------------------------------------------------------ key files
 * Text, one "field value" per line, fields in a fixed order:
 *   clientscan-public-key 1 | clientscan-secret-key 1
 *   role <authority|moderator|user>
 *   id <16 hex>
 *   public <64 hex>
 *   secret <64 hex>            (secret files only)
 * Lines end in LF (CRLF accepted); nothing else is allowed. */

typedef struct {
    const char *p, *end;
    int line;
} line_reader;

/* Next line's contents (without the line ending); false at end of data. */
static bool next_line(line_reader *r, const char **s, size_t *len)
{
    if (r->p >= r->end)
        return false;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    const char *stop = nl ? nl : r->end;
    *s = r->p;
    *len = (size_t)(stop - r->p);
    if (*len > 0 && (*s)[*len - 1] == '\r')
        (*len)--;
    r->p = nl ? nl + 1 : r->end;
    r->line++;
    return true;
}

/* Reads "name value" into value/vlen. */
static int expect_field(line_reader *r, const char *name, const char **value, size_t *vlen,
                        const char *what, clientscan_detail *detail)
{
    const char *s;
    size_t len;
    size_t nlen = strlen(name);
    if (!next_line(r, &s, &len))
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "%s: missing '%s' line", what, name);
    if (len <= nlen || memcmp(s, name, nlen) != 0 || s[nlen] != ' ')
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "%s: line %d: expected '%s <value>'", what,
                       r->line, name);
    *value = s + nlen + 1;
    *vlen = len - nlen - 1;
    return CLIENTSCAN_OK;
}

/* Decodes exactly `bytes` bytes of lowercase-or-uppercase hex (constant time:
 * sodium_hex2bin) into out. */
static int field_hex(const char *v, size_t vlen, uint8_t *out, size_t bytes, const char *field,
                     const char *what, int line, clientscan_detail *detail)
{
    size_t got = 0;
    const char *endp = NULL;
    if (vlen != 2 * bytes || sodium_hex2bin(out, bytes, v, vlen, NULL, &got, &endp) != 0 ||
        got != bytes || endp != v + vlen)
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "%s: line %d: %s must be %zu hex digits",
                       what, line, field, 2 * bytes);
    return CLIENTSCAN_OK;
}

/* Parses the common part (header, role, id, public key). */
static int parse_common(line_reader *r, bool secret, clientscan_key_role expect_role,
                        clientscan_public_key *pub, clientscan_detail *detail)
{
    const char *what = secret ? "secret key" : "public key";
    const char *magic = secret ? "clientscan-secret-key" : "clientscan-public-key";
    const char *start = r->p;
    const char *v;
    size_t vlen;
    int rc = expect_field(r, magic, &v, &vlen, what, detail);
    if (rc != CLIENTSCAN_OK) {
        /* Say clearly when the other kind of key file was given. */
        const char *other = secret ? "clientscan-public-key " : "clientscan-secret-key ";
        size_t olen = strlen(other), avail = (size_t)(r->end - start);
        if (avail >= olen && memcmp(start, other, olen) == 0)
            return cs_fail(detail, CLIENTSCAN_E_PARSE, "this is a %s key file, expected a %s",
                           secret ? "public" : "secret", what);
        return rc;
    }
    if (vlen != 1 || v[0] != '0' + FILE_VERSION)
        return cs_fail(detail, CLIENTSCAN_E_VERSION, "%s: unsupported key file version '%.*s'",
                       what, (int)(vlen > 16 ? 16 : vlen), v);
    clientscan_key_role role;
    if ((rc = expect_field(r, "role", &v, &vlen, what, detail)) != CLIENTSCAN_OK)
        return rc;
    if (role_from_text(v, vlen, &role) != 0)
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "%s: line %d: unknown role", what, r->line);
    if (expect_role != 0 && role != expect_role)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "%s has role %s, expected %s",
                       what, clientscan_key_role_name(role), clientscan_key_role_name(expect_role));
    uint8_t id[CLIENTSCAN_KEY_ID_BYTES];
    if ((rc = expect_field(r, "id", &v, &vlen, what, detail)) != CLIENTSCAN_OK ||
        (rc = field_hex(v, vlen, id, sizeof id, "id", what, r->line, detail)) != CLIENTSCAN_OK)
        return rc;
    if ((rc = expect_field(r, "public", &v, &vlen, what, detail)) != CLIENTSCAN_OK ||
        (rc = field_hex(v, vlen, pub->bytes, sizeof pub->bytes, "public", what, r->line,
                        detail)) != CLIENTSCAN_OK)
        return rc;
    if ((rc = check_public_bytes(role, pub->bytes, detail)) != CLIENTSCAN_OK)
        return rc;
    pub->role = role;
    cs_key_id(pub->bytes, pub->id);
    if (sodium_memcmp(id, pub->id, sizeof id) != 0)
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "%s: id does not match the public key", what);
    return CLIENTSCAN_OK;
}

static int expect_end(line_reader *r, const char *what, clientscan_detail *detail)
{
    const char *s;
    size_t len;
    if (next_line(r, &s, &len))
        return cs_fail(detail, CLIENTSCAN_E_PARSE, "%s: line %d: unexpected extra line", what,
                       r->line);
    return CLIENTSCAN_OK;
}

int clientscan_public_key_parse(const void *data, size_t len, clientscan_key_role expect_role,
                                clientscan_public_key *out, clientscan_detail *detail)
{
    if (!data || !out || (expect_role != 0 && !role_valid(expect_role)))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "public key: bad argument");
    if (len > CLIENTSCAN_KEY_FILE_MAX_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "public key: file over %d bytes",
                       CLIENTSCAN_KEY_FILE_MAX_BYTES);
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    line_reader r = {data, (const char *)data + len, 0};
    clientscan_public_key pub;
    memset(&pub, 0, sizeof pub);
    int rc = parse_common(&r, false, expect_role, &pub, detail);
    if (rc == CLIENTSCAN_OK)
        rc = expect_end(&r, "public key", detail);
    if (rc == CLIENTSCAN_OK)
        *out = pub;
    return rc;
}

int clientscan_secret_key_parse(const void *data, size_t len, clientscan_key_role expect_role,
                                clientscan_secret_key **out, clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (!data || !out || (expect_role != 0 && !role_valid(expect_role)))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "secret key: bad argument");
    if (len > CLIENTSCAN_KEY_FILE_MAX_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "secret key: file over %d bytes",
                       CLIENTSCAN_KEY_FILE_MAX_BYTES);
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    clientscan_secret_key *sk = secret_alloc();
    if (!sk)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    line_reader r = {data, (const char *)data + len, 0};
    clientscan_public_key stored;
    memset(&stored, 0, sizeof stored);
    const char *v;
    size_t vlen;
    int rc = parse_common(&r, true, expect_role, &stored, detail);
    if (rc == CLIENTSCAN_OK)
        rc = expect_field(&r, "secret", &v, &vlen, "secret key", detail);
    if (rc == CLIENTSCAN_OK)
        rc = field_hex(v, vlen, sk->seed, sizeof sk->seed, "secret", "secret key", r.line, detail);
    if (rc == CLIENTSCAN_OK)
        rc = expect_end(&r, "secret key", detail);
    if (rc == CLIENTSCAN_OK && derive_from_seed(sk, stored.role) != CLIENTSCAN_OK)
        rc = cs_fail(detail, CLIENTSCAN_E_CRYPTO, "secret key: derivation failed");
    if (rc == CLIENTSCAN_OK &&
        sodium_memcmp(sk->pub.bytes, stored.bytes, CLIENTSCAN_PUBLIC_KEY_BYTES) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_PARSE,
                     "secret key: the secret does not belong to the stored public key");
    if (rc != CLIENTSCAN_OK) {
        clientscan_secret_key_free(sk);
        return rc;
    }
    *out = sk;
    return CLIENTSCAN_OK;
}

/* Reads a small file whole into buf[0..cap) (guarded memory for secrets).
 * With secret set, refuses group/other permission bits on the open fd. */
static int read_small_file(const char *path, bool secret, uint8_t *buf, size_t cap, size_t *len,
                           clientscan_detail *detail)
{
    /* O_NONBLOCK: a FIFO must be refused below, not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return cs_fail(detail, CLIENTSCAN_E_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    int rc = CLIENTSCAN_OK;
    if (fstat(fd, &st) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_IO, "cannot stat: %s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = cs_fail(detail, CLIENTSCAN_E_IO, "not a regular file");
    else if (secret && (st.st_mode & 077) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_PERMISSION,
                     "secret key file has mode %03o; it must not be accessible by group or "
                     "others (chmod 600)",
                     (unsigned)(st.st_mode & 0777));
    else if ((uint64_t)st.st_size > cap)
        rc = cs_fail(detail, CLIENTSCAN_E_LIMIT, "key file over %zu bytes", cap);
    size_t got = 0;
    while (rc == CLIENTSCAN_OK) {
        if (got == cap) {
            /* Grew past the limit while we read. */
            rc = cs_fail(detail, CLIENTSCAN_E_LIMIT, "key file over %zu bytes", cap);
            break;
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = cs_fail(detail, CLIENTSCAN_E_IO, "read failed: %s", strerror(errno));
        else if (n == 0)
            break;
        else
            got += (size_t)n;
    }
    close(fd);
    *len = got;
    return rc;
}

int clientscan_public_key_load(const char *path, clientscan_key_role expect_role,
                               clientscan_public_key *out, clientscan_detail *detail)
{
    if (!path || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "public key: NULL argument");
    uint8_t buf[CLIENTSCAN_KEY_FILE_MAX_BYTES + 1];
    size_t len = 0;
    int rc = read_small_file(path, false, buf, CLIENTSCAN_KEY_FILE_MAX_BYTES, &len, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    return clientscan_public_key_parse(buf, len, expect_role, out, detail);
}

int clientscan_secret_key_load(const char *path, clientscan_key_role expect_role,
                               clientscan_secret_key **out, clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "secret key: NULL argument");
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    uint8_t *buf = sodium_malloc(CLIENTSCAN_KEY_FILE_MAX_BYTES);
    if (!buf)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    size_t len = 0;
    int rc = read_small_file(path, true, buf, CLIENTSCAN_KEY_FILE_MAX_BYTES, &len, detail);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_secret_key_parse(buf, len, expect_role, out, detail);
    sodium_free(buf); /* wipes */
    return rc;
}

/* Writes the common lines; returns the length written or 0 if cap is short. */
static size_t format_common(char *buf, size_t cap, const clientscan_public_key *pub, bool secret)
{
    char id[CLIENTSCAN_KEY_ID_HEX_BYTES];
    char pk[2 * CLIENTSCAN_PUBLIC_KEY_BYTES + 1];
    clientscan_key_id_to_hex(pub->id, id);
    sodium_bin2hex(pk, sizeof pk, pub->bytes, sizeof pub->bytes);
    int n = snprintf(buf, cap, "clientscan-%s-key %d\nrole %s\nid %s\npublic %s\n",
                     secret ? "secret" : "public", FILE_VERSION,
                     clientscan_key_role_name(pub->role), id, pk);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int clientscan_public_key_save(const clientscan_public_key *pub, const char *path,
                               clientscan_detail *detail)
{
    if (!pub || !path || !role_valid(pub->role))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "public key: bad argument");
    char buf[512];
    size_t n = format_common(buf, sizeof buf, pub, false);
    if (n == 0)
        return cs_fail(detail, CLIENTSCAN_E_INTERNAL, "public key: format overflow");
    return cs_write_file_atomic(path, buf, n, 0644, detail);
}

int clientscan_secret_key_save(const clientscan_secret_key *secret, const char *path,
                               clientscan_detail *detail)
{
    if (!secret || !path)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "secret key: NULL argument");
    enum { CAP = 512 };
    char *buf = sodium_malloc(CAP);
    if (!buf)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    size_t n = format_common(buf, CAP, &secret->pub, true);
    int rc = CLIENTSCAN_OK;
    if (n == 0 || CAP - n < 2 * SEED_BYTES + 9) {
        rc = cs_fail(detail, CLIENTSCAN_E_INTERNAL, "secret key: format overflow");
    } else {
        memcpy(buf + n, "secret ", 7);
        n += 7;
        sodium_bin2hex(buf + n, CAP - n, secret->seed, SEED_BYTES);
        n += 2 * SEED_BYTES;
        buf[n++] = '\n';
        rc = cs_write_file_atomic(path, buf, n, 0600, detail);
    }
    sodium_free(buf);
    return rc;
}

/* ------------------------------------------------------------ atomic writes */

int cs_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         clientscan_detail *detail)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    /* mkstemp creates the file 0600, so a secret is never briefly readable. */
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return cs_fail(detail, CLIENTSCAN_E_IO, "cannot create temporary file: %s", strerror(e));
    }
    const char *why = NULL;
    int err = 0;
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            why = "write";
            err = errno;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    if (!why && fchmod(fd, (mode_t)mode) != 0) {
        why = "chmod";
        err = errno;
    }
    if (!why && fsync(fd) != 0) {
        why = "fsync";
        err = errno;
    }
    if (close(fd) != 0 && !why) {
        why = "close";
        err = errno;
    }
    if (!why && rename(tmp, path) != 0) {
        why = "rename";
        err = errno;
    }
    if (why) {
        unlink(tmp);
        free(tmp);
        return cs_fail(detail, CLIENTSCAN_E_IO, "%s failed: %s", why, strerror(err));
    }
    free(tmp);
    /* Make the rename itself durable. Best effort: some filesystems refuse. */
    char *dir = strdup(path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        const char *d = ".";
        if (slash) {
            if (slash == dir)
                slash[1] = '\0';
            else
                *slash = '\0';
            d = dir;
        }
        int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return CLIENTSCAN_OK;
}
