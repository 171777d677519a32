/* No secret leaves through an error path: the CLI under test (ts_cli()) is
 * driven through its failure paths (wrong key, tampered or truncated
 * ciphertext, tampered slot, foreign or altered list, damaged secret key
 * files, secret files readable by group or others) and a few success paths,
 * and every byte it prints on stdout and stderr is searched for the secret
 * material the test knows: each secret key (every 8-byte window, as raw
 * bytes, lower- and uppercase hex, and standard and URL-safe base64), the
 * attachment key, and a marker planted in the attachment's plaintext.
 * Key files written by 'keygen' must be 0600 (secret) and 0644 (public);
 * secret files granting anything to group or others are refused, from the
 * CLI, before use. The library's own error details for damaged secret
 * files are checked the same way. */
#include "support.h"
#include "images.h"

#include "clientscan.h"
#include "keys.h"

#include <png.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ needles */

typedef struct needle {
    uint8_t bytes[96];
    size_t len;
    const char *what;
} needle;

#define MAX_NEEDLES 8192
static needle *needles;
static size_t needle_count;

static void add_needle(const void *p, size_t len, const char *what)
{
    assert_true(needle_count < MAX_NEEDLES && len <= sizeof needles[0].bytes);
    memcpy(needles[needle_count].bytes, p, len);
    needles[needle_count].len = len;
    needles[needle_count].what = what;
    needle_count++;
}

/* Every 8-byte window of secret bytes in the forms a leak could take. */
static void add_secret(const uint8_t *secret, size_t len, const char *what)
{
    enum { W = 8 };
    for (size_t i = 0; i + W <= len; i++) {
        char hex[2 * W + 1];
        add_needle(secret + i, W, what);
        sodium_bin2hex(hex, sizeof hex, secret + i, W);
        add_needle(hex, 2 * W, what);
        for (char *c = hex; *c; c++)
            if (*c >= 'a' && *c <= 'f')
                *c = (char)(*c - 'a' + 'A');
        add_needle(hex, 2 * W, what);
    }
    /* base64 is only stable on 3-byte boundaries: 12-byte windows there. */
    for (size_t i = 0; i + 12 <= len; i += 3) {
        static const int variants[] = {sodium_base64_VARIANT_ORIGINAL,
                                       sodium_base64_VARIANT_URLSAFE};
        for (int v = 0; v < 2; v++) {
            char b64[sodium_base64_ENCODED_LEN(12, sodium_base64_VARIANT_ORIGINAL)];
            sodium_bin2base64(b64, sizeof b64, secret + i, 12, variants[v]);
            add_needle(b64, strlen(b64), what);
        }
    }
}

static bool contains(const char *text, size_t len, const uint8_t *pat, size_t plen)
{
    for (size_t i = 0; i + plen <= len; i++)
        if ((uint8_t)text[i] == pat[0] && memcmp(text + i, pat, plen) == 0)
            return true;
    return false;
}

static const char *find_leak(const char *text, size_t len)
{
    for (size_t i = 0; i < needle_count; i++)
        if (contains(text, len, needles[i].bytes, needles[i].len))
            return needles[i].what;
    return NULL;
}

/* ------------------------------------------------------------ fixture */

static struct {
    char *dir;
    char *name[128], *path[128];
    size_t npaths;
    char marker[64];
    size_t runs;
} fx;

/* fx.dir + "/" + name; one string per name, freed at teardown. */
static const char *P(const char *name)
{
    for (size_t i = 0; i < fx.npaths; i++)
        if (strcmp(fx.name[i], name) == 0)
            return fx.path[i];
    assert_true(fx.npaths < sizeof fx.path / sizeof fx.path[0]);
    fx.name[fx.npaths] = strdup(name);
    assert_non_null(fx.name[fx.npaths]);
    return fx.path[fx.npaths++] = ts_path(fx.dir, name);
}

static void run_argv(const char *const *args, ts_output *out)
{
    const char *argv[40];
    size_t n = 0;
    argv[n++] = ts_cli();
    for (; args[n - 1] && n < 39; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    ts_run(argv, NULL, 0, out);
}

/* Runs the CLI, expects exit status `want`, and searches everything it
 * printed for secrets. Failures must say something on stderr. */
static void check_run(int want, const char *const *args)
{
    ts_output out;
    run_argv(args, &out);
    fx.runs++;
    if (out.status != want)
        fail_msg("%s %s ...: exit %d, expected %d\nstdout: %s\nstderr: %s", args[0],
                 args[1] ? args[1] : "", out.status, want, out.out, out.err);
    if (want != 0 && out.err_len == 0)
        fail_msg("%s: failed without a message on stderr", args[0]);
    const char *leak = find_leak(out.out, out.out_len);
    if (!leak)
        leak = find_leak(out.err, out.err_len);
    if (leak)
        fail_msg("%s %s: output contains %s\nstdout: %s\nstderr: %s", args[0],
                 args[1] ? args[1] : "", leak, out.out, out.err);
    ts_output_free(&out);
}

#define EXPECT(status, ...)                                   \
    do {                                                      \
        const char *const args_[] = {__VA_ARGS__, NULL};      \
        check_run(status, args_);                             \
    } while (0)

static void keygen(const char *role, const char *name)
{
    EXPECT(0, "keygen", "--role", role, "-o", P(name));
}

/* Loads a secret key file with the library and records its material. */
static void learn_secret(const char *sec_name, clientscan_key_role role, const char *what)
{
    char file[64];
    snprintf(file, sizeof file, "%s.sec", sec_name);
    char *path = ts_path(fx.dir, file);
    clientscan_secret_key *sk = NULL;
    clientscan_detail d;
    if (clientscan_secret_key_load(path, role, &sk, &d) != CLIENTSCAN_OK)
        fail_msg("%s: %s", path, d.text);
    size_t len;
    const uint8_t *bytes = cs_secret_key_bytes(sk, &len);
    add_secret(bytes, len, what);
    clientscan_secret_key_free(sk);
    /* The search must see the key where it certainly is: in its own file. */
    size_t file_len;
    char *file_text = (char *)ts_read_file(path, &file_len);
    assert_non_null(find_leak(file_text, file_len));
    sodium_memzero(file_text, file_len);
    free(file_text);
    free(path);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    size_t len;
    uint8_t *data = ts_read_file(from, &len);
    unlink(to);
    ts_write_file(to, data, len);
    assert_int_equal(chmod(to, mode), 0);
    free(data);
}

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    needles = calloc(MAX_NEEDLES, sizeof *needles);
    assert_non_null(needles);
    assert_int_equal(clientscan_init(), 0);
    fx.dir = ts_tempdir();
    static const struct {
        const char *role, *name, *what;
        clientscan_key_role r;
    } keys[] = {
        {"authority", "authority", "the authority secret key", CLIENTSCAN_ROLE_AUTHORITY},
        {"authority", "rogue", "a second authority secret key", CLIENTSCAN_ROLE_AUTHORITY},
        {"moderator", "moderator", "the moderator secret key", CLIENTSCAN_ROLE_MODERATOR},
        {"moderator", "moderator2", "a second moderator secret key", CLIENTSCAN_ROLE_MODERATOR},
        {"user", "user", "the user secret key", CLIENTSCAN_ROLE_USER},
        {"user", "intruder", "a second user secret key", CLIENTSCAN_ROLE_USER},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        keygen(keys[i].role, keys[i].name);
        learn_secret(keys[i].name, keys[i].r, keys[i].what);
    }

    /* The attachment: a PNG carrying a random marker in a tEXt chunk. */
    uint8_t rnd[12];
    randombytes_buf(rnd, sizeof rnd);
    char hex[2 * sizeof rnd + 1];
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(fx.marker, sizeof fx.marker, "PLAINTEXT-MARKER-%s", hex);
    add_needle(hex, strlen(hex), "the attachment plaintext marker");
    size_t png_len, marked_len;
    uint8_t *png = ts_png_encode(96, 64, PNG_COLOR_TYPE_RGB, 8, 0, &png_len);
    uint8_t text[96];
    size_t tlen = (size_t)snprintf((char *)text, sizeof text, "Comment%c%s", 0, fx.marker);
    uint8_t *marked = ts_png_insert_chunk(png, png_len, "tEXt", text, tlen, &marked_len);
    ts_write_file(P("secret.png"), marked, marked_len);

    /* A list holding the attachment's hash, signed by the authority, and
     * the same list signed by the rogue authority only. */
    clientscan_pdq_result r;
    clientscan_detail d;
    if (clientscan_hash_memory(marked, marked_len, NULL, &r, NULL, &d) != 0)
        fail_msg("hash: %s", d.text);
    char line[CLIENTSCAN_PDQ_HEX_BYTES + 2];
    clientscan_pdq_to_hex(&r.hash[0], line);
    strcat(line, "\n");
    ts_write_file(P("hashes.txt"), line, strlen(line));
    EXPECT(0, "list", "build", "-o", P("list.bin"), "--sequence", "5", "--sign",
           P("authority.sec"), P("hashes.txt"));
    EXPECT(0, "list", "build", "-o", P("rogue.bin"), "--sequence", "5", "--sign", P("rogue.sec"),
           P("hashes.txt"));
    free(png);
    free(marked);

    /* Send it: a match, so the slot carries the attachment key. */
    EXPECT(0, "send", "--list", P("list.bin"), "--authority", P("authority.pub"), "--moderator",
           P("moderator.pub"), "--to", P("user.pub"), "-v", P("secret.png"), P("out"));
    clientscan_secret_key *user = NULL;
    assert_int_equal(clientscan_secret_key_load(P("user.sec"), CLIENTSCAN_ROLE_USER, &user, NULL), 0);
    size_t sealed_len;
    uint8_t *sealed = ts_read_file(P("out/key.sealed"), &sealed_len);
    clientscan_attachment_key *key = NULL;
    assert_int_equal(clientscan_attachment_key_unseal(user, sealed, sealed_len, &key, NULL), 0);
    add_secret(clientscan_attachment_key_bytes(key), CLIENTSCAN_ATTACHMENT_KEY_BYTES,
               "the attachment key");
    clientscan_attachment_key_free(key);
    clientscan_secret_key_free(user);
    free(sealed);

    /* Damaged copies of what was sent. */
    assert_int_equal(mkdir(P("tampered"), 0755), 0);
    size_t len;
    uint8_t *ct = ts_read_file(P("out/attachment.bin"), &len);
    ct[len / 2] ^= 0x01;
    ts_write_file(P("tampered/attachment.bin"), ct, len);
    ts_write_file(P("truncated.bin"), ct, len - 20);
    ct[len / 2] ^= 0x01;
    free(ct);
    copy_file(P("out/key.sealed"), P("tampered/key.sealed"), 0644);
    assert_int_equal(mkdir(P("cut"), 0755), 0);
    copy_file(P("out/key.sealed"), P("cut/key.sealed"), 0644);
    copy_file(P("truncated.bin"), P("cut/attachment.bin"), 0644);
    uint8_t *slot = ts_read_file(P("out/report.slot"), &len);
    slot[100] ^= 0x80;
    ts_write_file(P("tampered.slot"), slot, len);
    free(slot);
    uint8_t *list = ts_read_file(P("list.bin"), &len);
    list[len - 70] ^= 0x04; /* inside the signature block */
    ts_write_file(P("altered.bin"), list, len);
    free(list);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    print_message("  %zu CLI runs searched for %zu secret patterns\n", fx.runs, needle_count);
    ts_rmtree(fx.dir);
    free(fx.dir);
    for (size_t i = 0; i < fx.npaths; i++) {
        free(fx.name[i]);
        free(fx.path[i]);
    }
    free(needles);
    return 0;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ------------------------------------------------------------ tests */

static void test_keygen_modes(void **state)
{
    (void)state;
    static const char *const names[] = {"authority", "rogue", "moderator", "moderator2", "user",
                                        "intruder"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char file[64];
        struct stat st;
        snprintf(file, sizeof file, "%s.sec", names[i]);
        assert_int_equal(stat(P(file), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        snprintf(file, sizeof file, "%s.pub", names[i]);
        assert_int_equal(stat(P(file), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
    }
    /* Existing files are not replaced without --force. */
    EXPECT(1, "keygen", "--role", "user", "-o", P("user"));
}

/* The recipient's failures: nothing decrypted is written or printed. */
static void test_receive_failures(void **state)
{
    (void)state;
    const char *plain = P("plain.png");
    EXPECT(1, "receive", "--key", P("intruder.sec"), P("out"), plain);
    EXPECT(1, "receive", "--key", P("moderator.sec"), P("out"), plain);
    EXPECT(1, "receive", "--key", P("user.sec"), P("tampered"), plain);
    EXPECT(1, "receive", "--key", P("user.sec"), P("cut"), plain);
    EXPECT(1, "receive", "--key", P("user.sec"), P("tampered"), "-");
    EXPECT(1, "receive", "--json", "--key", P("user.sec"), P("cut"), plain);
    assert_false(exists(plain));
    /* The success path prints no plaintext either. */
    EXPECT(0, "receive", "--json", "--key", P("user.sec"), P("out"), plain);
    assert_true(exists(plain));
    unlink(plain);
}

static void test_report_failures(void **state)
{
    (void)state;
    EXPECT(1, "report", "open", "--key", P("moderator2.sec"), P("out/report.slot"));
    EXPECT(1, "report", "open", "--key", P("moderator.sec"), P("tampered.slot"));
    EXPECT(1, "report", "open", "--json", "--key", P("moderator.sec"), P("tampered.slot"));
    EXPECT(1, "report", "open", "--key", P("user.sec"), P("out/report.slot"));
    EXPECT(1, "report", "open", "--key", P("moderator.sec"), P("secret.png"));
    EXPECT(1, "report", "open", "--key", P("moderator.sec"), "--fetch", P("tampered/attachment.bin"),
           P("out/report.slot"));
    EXPECT(1, "report", "open", "--key", P("moderator.sec"), "--fetch", P("truncated.bin"),
           "-o", P("fetched.png"), P("out/report.slot"));
    assert_false(exists(P("fetched.png")));
    /* Success: a match report, verified fetch; the key is never printed. */
    EXPECT(0, "report", "open", "--key", P("moderator.sec"), "--fetch", P("out/attachment.bin"),
           P("out/report.slot"));
    EXPECT(0, "report", "open", "--json", "--key", P("moderator.sec"), "--fetch",
           P("out/attachment.bin"), "-o", P("fetched.png"), P("out/report.slot"));
    struct stat st;
    assert_int_equal(stat(P("fetched.png"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* decrypted content is private */
}

static void test_list_and_send_failures(void **state)
{
    (void)state;
    const char *send_to = P("send-out");
    EXPECT(1, "send", "--list", P("rogue.bin"), "--authority", P("authority.pub"), "--moderator",
           P("moderator.pub"), "--to", P("user.pub"), P("secret.png"), send_to);
    EXPECT(1, "send", "--list", P("altered.bin"), "--authority", P("authority.pub"),
           "--moderator", P("moderator.pub"), "--to", P("user.pub"), P("secret.png"), send_to);
    EXPECT(1, "send", "--list", P("secret.png"), "--authority", P("authority.pub"), "--moderator",
           P("moderator.pub"), "--to", P("user.pub"), P("secret.png"), send_to);
    EXPECT(1, "send", "--list", P("list.bin"), "--authority", P("authority.pub"), "--moderator",
           P("user.pub"), "--to", P("user.pub"), P("secret.png"), send_to);
    assert_false(exists(send_to));
    EXPECT(1, "list", "verify", "--authority", P("authority.pub"), P("rogue.bin"));
    EXPECT(1, "list", "verify", "--json", "--authority", P("authority.pub"), P("altered.bin"));
    EXPECT(1, "list", "build", "-o", P("bad.bin"), "--sequence", "1", "--sign", P("user.sec"),
           P("hashes.txt"));
    EXPECT(1, "list", "build", "-o", P("bad.bin"), P("secret.png"));
    EXPECT(1, "list", "sign", "--key", P("moderator.sec"), "-o", P("bad.bin"), P("list.bin"));
    assert_false(exists(P("bad.bin")));
    /* Success paths that handle secret keys print none of them. */
    EXPECT(0, "list", "sign", "--key", P("rogue.sec"), "-o", P("cosigned.bin"), P("list.bin"));
    EXPECT(0, "send", "--json", "-v", "--list", P("list.bin"), "--authority", P("authority.pub"),
           "--moderator", P("moderator.pub"), "--to", P("user.pub"), P("secret.png"), send_to);
}

/* Secret files that group or others may access are refused before use. */
static void test_permissions_refused(void **state)
{
    (void)state;
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0602, 0620, 0666};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "mode %03o", (unsigned)bad[i]);
        copy_file(P("user.sec"), P("loose-user.sec"), bad[i]);
        copy_file(P("moderator.sec"), P("loose-moderator.sec"), bad[i]);
        copy_file(P("authority.sec"), P("loose-authority.sec"), bad[i]);
        const char *runs[][8] = {
            {"receive", "--key", P("loose-user.sec"), P("out"), P("plain.png"), NULL},
            {"report", "open", "--key", P("loose-moderator.sec"), P("out/report.slot"), NULL},
            {"list", "sign", "--key", P("loose-authority.sec"), "-o", P("x.bin"), P("list.bin"), NULL},
        };
        for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
            ts_output out;
            run_argv(runs[k], &out);
            fx.runs++;
            assert_int_equal(out.status, 1);
            if (!strstr(out.err, want) || !strstr(out.err, "loose-"))
                fail_msg("%s with a %03o key: expected 'path: ... %s', got: %s", runs[k][0],
                         (unsigned)bad[i], want, out.err);
            assert_null(find_leak(out.out, out.out_len));
            assert_null(find_leak(out.err, out.err_len));
            ts_output_free(&out);
        }
        assert_false(exists(P("plain.png")));
        assert_false(exists(P("x.bin")));
    }
    /* Owner-only modes are fine, read-only included. */
    copy_file(P("user.sec"), P("tight-user.sec"), 0400);
    EXPECT(0, "receive", "--key", P("tight-user.sec"), P("out"), P("plain.png"));
    unlink(P("plain.png"));
}

/* Damaged secret key files: the refusal names the problem, not the key. */
static void test_damaged_secret_files(void **state)
{
    (void)state;
    size_t len;
    char *good = (char *)ts_read_file(P("user.sec"), &len);
    char *secret_line = strstr(good, "\nsecret ");
    char *public_line = strstr(good, "\npublic ");
    assert_non_null(secret_line);
    assert_non_null(public_line);
    size_t s_at = (size_t)(secret_line - good) + 8, p_at = (size_t)(public_line - good) + 8;
    for (int variant = 0; variant < 9; variant++) {
        char *bad = ts_malloc(len + 80);
        memcpy(bad, good, len + 1);
        size_t blen = len;
        switch (variant) {
        case 0: bad[s_at + 5] = 'z'; break;                            /* not hex */
        case 1: bad[s_at + 40] = bad[s_at + 40] == '0' ? '1' : '0'; break; /* other secret */
        case 2: memmove(bad + s_at + 63, bad + s_at + 64, len - s_at - 63); blen--; break;
        case 3: bad[p_at + 3] = bad[p_at + 3] == '0' ? '1' : '0'; break; /* other public */
        case 4: blen = s_at + 30; break;                               /* cut mid-secret */
        case 5: strcpy(bad + len, "trailing line\n"); blen = len + 14; break;
        case 6: memcpy(bad + s_at - 7, "secrex", 6); break;            /* field name */
        case 7: bad[s_at + 10] = ' '; break;                           /* space inside */
        case 8: memcpy(strstr(bad, "role user"), "role zzzz", 9); break;
        }
        unlink(P("damaged.sec"));
        ts_write_file(P("damaged.sec"), bad, blen);
        assert_int_equal(chmod(P("damaged.sec"), 0600), 0);
        EXPECT(1, "receive", "--key", P("damaged.sec"), P("out"), P("plain.png"));
        /* The library's own detail, without the CLI in between. */
        clientscan_secret_key *sk = NULL;
        clientscan_detail d;
        memset(&d, 0, sizeof d);
        int rc = clientscan_secret_key_parse(bad, blen, CLIENTSCAN_ROLE_USER, &sk, &d);
        assert_true(rc < 0);
        assert_null(sk);
        assert_true(d.text[0] != 0);
        const char *leak = find_leak(d.text, strlen(d.text));
        if (leak)
            fail_msg("variant %d: detail \"%s\" contains %s", variant, d.text, leak);
        /* Nor any run of the damaged file's own secret digits. */
        char window[17];
        for (size_t i = s_at; i + 16 <= blen && i + 16 <= s_at + 64; i++) {
            memcpy(window, bad + i, 16);
            window[16] = 0;
            if (strstr(d.text, window))
                fail_msg("variant %d: detail \"%s\" echoes the secret line", variant, d.text);
        }
        free(bad);
    }
    assert_false(exists(P("plain.png")));
    free(good);
}

/* Key paths that are not key files: a directory, an oversized file. */
static void test_not_key_files(void **state)
{
    (void)state;
    char big[5000];
    memset(big, '#', sizeof big);
    ts_write_file(P("huge.pub"), big, sizeof big);
    ts_write_file(P("huge.sec"), big, sizeof big);
    assert_int_equal(chmod(P("huge.sec"), 0600), 0);
    assert_int_equal(mkdir(P("dir.sec"), 0700), 0);
    EXPECT(1, "receive", "--key", P("huge.sec"), P("out"), P("plain.png"));
    EXPECT(1, "receive", "--key", P("dir.sec"), P("out"), P("plain.png"));
    EXPECT(1, "send", "--list", P("list.bin"), "--authority", P("authority.pub"), "--moderator",
           P("moderator.pub"), "--to", P("huge.pub"), P("secret.png"), P("never-sent"));
    assert_false(exists(P("plain.png")));
    assert_false(exists(P("never-sent")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_modes),
        cmocka_unit_test(test_receive_failures),
        cmocka_unit_test(test_report_failures),
        cmocka_unit_test(test_list_and_send_failures),
        cmocka_unit_test(test_permissions_refused),
        cmocka_unit_test(test_damaged_secret_files),
        cmocka_unit_test(test_not_key_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
