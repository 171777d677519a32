/* Helpers shared by the CLI's commands: errors, JSON, numbers, files. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("clientscan: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
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
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void cli_json_string(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            s++;
        } else if (c == '\n') {
            fputs("\\n", out);
            s++;
        } else if (c == '\t') {
            fputs("\\t", out);
            s++;
        } else if (c == '\r') {
            fputs("\\r", out);
            s++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            s++;
        } else {
            size_t n = utf8_sequence_length(s);
            if (n == 0) {
                /* Not UTF-8: keep the byte visible as U+00XX. */
                fprintf(out, "\\u%04x", c);
                s++;
            } else {
                fwrite(s, 1, n, out);
                s += n;
            }
        }
    }
    fputc('"', out);
}

bool cli_parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int cli_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 0, used = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (used == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > max_bytes + 1)
                ncap = max_bytes + 1;
            if (ncap <= cap) {
                fprintf(stderr, "%s: larger than the %zu-byte limit\n", path, max_bytes);
                goto fail;
            }
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                fprintf(stderr, "%s: out of memory\n", path);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (n == 0) {
            if (ferror(f)) {
                fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    if (used > max_bytes) {
        fprintf(stderr, "%s: larger than the %zu-byte limit\n", path, max_bytes);
        goto fail;
    }
    if (f != stdin)
        fclose(f);
    *data = buf;
    *len = used;
    return 0;
fail:
    if (f != stdin)
        fclose(f);
    free(buf);
    return -1;
}

int cli_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot create temporary file: %s\n", path, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *why = NULL;
    int err = 0;
    if (fchmod(fd, (mode_t)mode) != 0) {
        why = "chmod";
        err = errno;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (!why && left > 0) {
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
        fprintf(stderr, "%s: %s failed: %s\n", path, why, strerror(err));
        free(tmp);
        return -1;
    }
    /* Make the rename itself durable: fsync the directory (best effort;
     * some filesystems refuse). tmp is reused for the directory's name. */
    char *slash = strrchr(tmp, '/');
    if (!slash)
        strcpy(tmp, ".");
    else if (slash == tmp)
        tmp[1] = '\0';
    else
        *slash = '\0';
    int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(tmp);
    return 0;
}
