/* Version, error strings, libsodium initialisation, shared helpers. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *clientscan_version(void)
{
    return CLIENTSCAN_VERSION_STRING;
}

const char *clientscan_strerror(int code)
{
    switch ((clientscan_error)code) {
    case CLIENTSCAN_OK: return "success";
    case CLIENTSCAN_E_INVALID_ARGUMENT: return "invalid argument";
    case CLIENTSCAN_E_NOMEM: return "out of memory";
    case CLIENTSCAN_E_IO: return "I/O error";
    case CLIENTSCAN_E_UNSUPPORTED_FORMAT: return "unsupported format";
    case CLIENTSCAN_E_CORRUPT: return "corrupt or truncated input";
    case CLIENTSCAN_E_LIMIT: return "input exceeds a configured limit";
    case CLIENTSCAN_E_PARSE: return "parse error";
    case CLIENTSCAN_E_CRYPTO: return "cryptographic library failure";
    case CLIENTSCAN_E_SIGNATURE: return "no valid signature from a trusted key";
    case CLIENTSCAN_E_ROLLBACK: return "list rollback refused";
    case CLIENTSCAN_E_VERSION: return "unsupported format version";
    case CLIENTSCAN_E_DECRYPT: return "decryption failed (wrong key or tampered data)";
    case CLIENTSCAN_E_PERMISSION: return "secret file is readable by group or others";
    case CLIENTSCAN_E_REFUSED: return "refused by scanner policy";
    case CLIENTSCAN_E_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int clientscan_init(void)
{
    /* sodium_init() is itself thread-safe and idempotent: 0 first time, 1 after. */
    return sodium_init() < 0 ? CLIENTSCAN_E_CRYPTO : CLIENTSCAN_OK;
}

int cs_fail(clientscan_detail *detail, int code, const char *fmt, ...)
{
    if (detail) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail->text, sizeof detail->text, fmt, ap);
        va_end(ap);
    }
    return code;
}

int cs_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *len,
                 clientscan_detail *detail)
{
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before the
     * regular-file check below refuses it (reads of regular files ignore it). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return cs_fail(detail, CLIENTSCAN_E_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return cs_fail(detail, CLIENTSCAN_E_IO, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cs_fail(detail, CLIENTSCAN_E_IO, "not a regular file");
    }
    if ((uint64_t)st.st_size > max_bytes || (uint64_t)st.st_size > SIZE_MAX - 1) {
        close(fd);
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "file is %lld bytes, limit %llu",
                       (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t cap = (size_t)st.st_size;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        close(fd);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate %zu bytes", cap);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return cs_fail(detail, CLIENTSCAN_E_IO, "read failed: %s", strerror(e));
        }
        if (n == 0)
            break; /* file shrank while reading: use what is there, the parser decides */
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = got;
    return CLIENTSCAN_OK;
}
