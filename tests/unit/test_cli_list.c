/* CLI round trips for keygen, list build/sign/verify/info/export/diff and
 * match: exit codes, file modes, error messages, JSON fields. Expected
 * values come from the library API on the same files. */
#include "support.h"
#include "images.h"

#include "clientscan.h"

#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = ts_tempdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ts_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs the CLI with a NULL-terminated argument list. */
static void cli(ts_output *out, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = ts_cli();
    va_list ap;
    va_start(ap, out);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    ts_run(argv, NULL, 0, out);
}

#define H_A "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"
#define H_B "b062eb9d2ab170c0567fcb672d9a5548c5612982dd5e374a7424ebbc8b135cb5"
#define H_C "0000000000000000000000000000000000000000000000000000000000000001"
/* H_A with its first digit changed f -> e: distance 1. */
#define H_A1 "e162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"

static char *write_text(const char *dir, const char *name, const char *text)
{
    char *p = ts_path(dir, name);
    ts_write_file(p, text, strlen(text));
    return p;
}

static void test_keygen(void **state)
{
    fixture *f = *state;
    char *name = ts_path(f->dir, "auth");
    char *pub = ts_path(f->dir, "auth.pub"), *sec = ts_path(f->dir, "auth.sec");
    ts_output o;
    cli(&o, "keygen", "--role", "authority", "-o", name, "--json", NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "\"role\":\"authority\""));
    struct stat st;
    assert_int_equal(stat(sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    clientscan_public_key k;
    assert_int_equal(clientscan_public_key_load(pub, CLIENTSCAN_ROLE_AUTHORITY, &k, NULL),
                     CLIENTSCAN_OK);
    char id[17];
    clientscan_key_id_to_hex(k.id, id);
    assert_non_null(strstr(o.out, id));
    ts_output_free(&o);
    /* No silent overwrite; --force replaces. */
    cli(&o, "keygen", "--role", "authority", "-o", name, NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "already exists"));
    ts_output_free(&o);
    cli(&o, "keygen", "--role", "user", "-o", name, "--force", NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    assert_int_equal(clientscan_public_key_load(pub, CLIENTSCAN_ROLE_USER, &k, NULL),
                     CLIENTSCAN_OK);
    /* Usage errors. */
    cli(&o, "keygen", "--role", "admin", "-o", name, NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    cli(&o, "keygen", "-o", name, NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    cli(&o, "keygen", "--help", NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "usage: clientscan keygen"));
    ts_output_free(&o);
    free(name);
    free(pub);
    free(sec);
}

/* Digest reported by `list verify --json` (or NULL). */
static char *json_field(const char *json, const char *field)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", field);
    const char *p = strstr(json, key);
    if (!p)
        return NULL;
    p += strlen(key);
    const char *q = strchr(p, '"');
    return strndup(p, (size_t)(q - p));
}

static void test_list_lifecycle(void **state)
{
    fixture *f = *state;
    char *a = ts_path(f->dir, "a"), *b = ts_path(f->dir, "b");
    char *apub = ts_path(f->dir, "a.pub"), *asec = ts_path(f->dir, "a.sec");
    char *bpub = ts_path(f->dir, "b.pub"), *bsec = ts_path(f->dir, "b.sec");
    ts_output o;
    cli(&o, "keygen", "--role", "authority", "-o", a, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    cli(&o, "keygen", "--role", "authority", "-o", b, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    char *text = write_text(f->dir, "in.txt", "# provider A\n" H_A ",90,case-1\n" H_B "\n");
    char *list = ts_path(f->dir, "l.csl");

    /* Signing needs a sequence. */
    cli(&o, "list", "build", "-o", list, "--sign", asec, text, NULL);
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.err, "--sequence"));
    ts_output_free(&o);
    cli(&o, "list", "build", "-o", list, "--name", "demo", "--sequence", "7", "--sign", asec,
        "--json", text, NULL);
    assert_int_equal(o.status, 0);
    char *digest = json_field(o.out, "digest");
    assert_non_null(digest);
    ts_output_free(&o);

    /* The library agrees on the digest and the entries. */
    clientscan_public_key akey;
    assert_int_equal(clientscan_public_key_load(apub, 0, &akey, NULL), CLIENTSCAN_OK);
    clientscan_list_params p;
    memset(&p, 0, sizeof p);
    p.authorities = &akey;
    p.authority_count = 1;
    clientscan_list *l = NULL;
    assert_int_equal(clientscan_list_open(list, &p, &l, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_count(l), 2);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", clientscan_list_digest(l)[i]);
    assert_string_equal(hex, digest);
    clientscan_list_close(l);

    /* verify: right key ok, wrong key fails, rollback fails. */
    cli(&o, "list", "verify", "--authority", apub, list, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, digest));
    ts_output_free(&o);
    cli(&o, "list", "verify", "--authority", bpub, list, NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "untrusted"));
    ts_output_free(&o);
    cli(&o, "list", "verify", "--authority", apub, "--accepted-sequence", "8", list, NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "older than the accepted 8"));
    ts_output_free(&o);
    cli(&o, "list", "verify", list, NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);

    /* sign: co-signature by b, then b alone verifies; digest unchanged. */
    cli(&o, "list", "sign", "--key", bsec, list, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    cli(&o, "list", "verify", "--authority", bpub, "--json", list, NULL);
    assert_int_equal(o.status, 0);
    char *digest2 = json_field(o.out, "digest");
    assert_string_equal(digest2, digest);
    free(digest2);
    ts_output_free(&o);

    /* info: both signers; statuses with --authority. */
    cli(&o, "list", "info", "--authority", apub, "--json", list, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "\"name\":\"demo\""));
    assert_non_null(strstr(o.out, "\"sequence\":7"));
    assert_non_null(strstr(o.out, "\"status\":\"valid\""));
    assert_non_null(strstr(o.out, "\"status\":\"unknown-key\""));
    ts_output_free(&o);

    /* A secret readable by others is refused, naming the fix. */
    chmod(asec, 0644);
    cli(&o, "list", "sign", "--key", asec, list, NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "chmod 600"));
    ts_output_free(&o);
    chmod(asec, 0600);

    /* export -> build again -> diff shows no change. */
    char *exported = ts_path(f->dir, "export.txt"), *list2 = ts_path(f->dir, "l2.csl");
    cli(&o, "list", "export", "--authority", apub, "-o", exported, list, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    cli(&o, "list", "export", list, NULL);
    assert_int_equal(o.status, 2); /* needs --authority or --unsigned-ok */
    ts_output_free(&o);
    cli(&o, "list", "build", "-o", list2, exported, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "UNSIGNED"));
    ts_output_free(&o);
    cli(&o, "list", "diff", "--unsigned-ok", list, list2, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "# 0 removed, 0 added, 0 changed"));
    ts_output_free(&o);

    /* diff after adding one hash. */
    char *text3 = write_text(f->dir, "in3.txt", H_A ",90,case-1\n" H_B "\n" H_C "\n");
    char *list3 = ts_path(f->dir, "l3.csl");
    cli(&o, "list", "build", "-o", list3, text3, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    cli(&o, "list", "diff", "--unsigned-ok", list, list3, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "+ " H_C ",,"));
    assert_non_null(strstr(o.out, "# 0 removed, 1 added, 0 changed"));
    ts_output_free(&o);

    /* Unsigned list refused by match without --unsigned-ok. */
    cli(&o, "match", "--list", list3, "--authority", apub, H_C, NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "unsigned"));
    ts_output_free(&o);

    free(text3);
    free(list3);
    free(exported);
    free(list2);
    free(digest);
    free(text);
    free(list);
    free(a);
    free(b);
    free(apub);
    free(asec);
    free(bpub);
    free(bsec);
}

static void test_build_errors(void **state)
{
    fixture *f = *state;
    char *bad = write_text(f->dir, "bad.txt", H_A "\n" H_B "\n\nabc\n");
    char *out = ts_path(f->dir, "o.csl");
    ts_output o;
    cli(&o, "list", "build", "-o", out, bad, NULL);
    assert_int_equal(o.status, 1);
    /* "path: line N: reason", and no output file left behind. */
    char want[4200];
    snprintf(want, sizeof want, "%s: line 4: hash has 3 hex digits, not 64", bad);
    assert_non_null(strstr(o.err, want));
    struct stat st;
    assert_int_not_equal(stat(out, &st), 0);
    ts_output_free(&o);
    cli(&o, "list", "build", "-o", out, "/nonexistent/x.txt", NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "/nonexistent/x.txt: "));
    ts_output_free(&o);
    cli(&o, "list", "build", "-o", out, "--require", "2", bad, NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    cli(&o, "list", "frobnicate", NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    cli(&o, "list", "--help", NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    static const char *subs[] = {"build", "sign", "verify", "info", "export", "diff"};
    for (size_t i = 0; i < 6; i++) {
        cli(&o, "list", subs[i], "--help", NULL);
        assert_int_equal(o.status, 0);
        assert_non_null(strstr(o.out, "usage: clientscan list"));
        ts_output_free(&o);
    }
    free(bad);
    free(out);
}

static void test_k_of_n_cli(void **state)
{
    fixture *f = *state;
    char *p1 = write_text(f->dir, "ncmec.txt", H_A "\n" H_B "\n");
    char *p2 = write_text(f->dir, "iwf.txt", H_A "\n" H_C "\n");
    char *p3 = write_text(f->dir, "other.txt", H_A1 "\n");
    char *out = ts_path(f->dir, "k.csl");
    ts_output o;
    cli(&o, "list", "build", "-o", out, "--require", "2", p1, p2, p3, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    clientscan_list_params p;
    memset(&p, 0, sizeof p);
    p.allow_unsigned = 1;
    clientscan_list *l = NULL;
    assert_int_equal(clientscan_list_open(out, &p, &l, NULL), CLIENTSCAN_OK);
    /* Only H_A is in two providers exactly. */
    assert_int_equal(clientscan_list_count(l), 1);
    clientscan_list_entry e;
    clientscan_list_entry_at(l, 0, &e);
    char hex[65];
    clientscan_pdq_to_hex(&e.hash, hex);
    assert_string_equal(hex, H_A);
    assert_int_equal(e.providers, 3); /* ncmec.txt and iwf.txt */
    assert_string_equal(clientscan_list_provider_name(l, 2), "other.txt");
    clientscan_list_close(l);
    /* Within 1 bit, H_A and H_A1 are each supported by all three. */
    cli(&o, "list", "build", "-o", out, "--require", "3", "--within", "1", p1, p2, p3, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    assert_int_equal(clientscan_list_open(out, &p, &l, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_count(l), 2);
    clientscan_list_close(l);
    cli(&o, "list", "info", "--json", out, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "\"providers\":[\"ncmec.txt\",\"iwf.txt\",\"other.txt\"]"));
    ts_output_free(&o);
    free(p1);
    free(p2);
    free(p3);
    free(out);
}

static void test_match_cli(void **state)
{
    fixture *f = *state;
    /* A list holding an image's hash, one unrelated hash and H_A. */
    size_t len;
    uint8_t *png = ts_png_encode(96, 80, PNG_COLOR_TYPE_RGB, 8, 0, &len);
    char *img = ts_path(f->dir, "img.png");
    ts_write_file(img, png, len);
    clientscan_pdq_result r;
    clientscan_hash_params hp;
    memset(&hp, 0, sizeof hp);
    hp.dihedral = 1;
    assert_int_equal(clientscan_hash_memory(png, len, &hp, &r, NULL, NULL), CLIENTSCAN_OK);
    free(png);
    char rot[65], orig[65], text[400];
    clientscan_pdq_to_hex(&r.hash[CLIENTSCAN_DIHEDRAL_ROT90], rot);
    clientscan_pdq_to_hex(&r.hash[0], orig);
    /* The list holds the ROT90 variant: the image matches through it. */
    snprintf(text, sizeof text, "%s,,img-rot90\n" H_A ",,case-a\n" H_C "\n", rot);
    char *in = write_text(f->dir, "m.txt", text);
    char *list = ts_path(f->dir, "m.csl");
    ts_output o;
    cli(&o, "list", "build", "-o", list, in, NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);

    cli(&o, "match", "--list", list, "--unsigned-ok", "--json", H_A1, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "\"found\":1"));
    assert_non_null(strstr(o.out, "\"distance\":1"));
    assert_non_null(strstr(o.out, "\"variant\":\"original\""));
    ts_output_free(&o);
    cli(&o, "match", "--list", list, "--unsigned-ok", "--threshold", "0", H_A1, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "no match"));
    ts_output_free(&o);

    /* The image: its ROT90 variant is in the list, at distance 0, unless
     * variants are off (then only the original is tried). */
    int d_orig = clientscan_pdq_distance(&r.hash[0], &r.hash[CLIENTSCAN_DIHEDRAL_ROT90]);
    cli(&o, "match", "--list", list, "--unsigned-ok", "--json", img, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "\"distance\":0,\"variant\":\"rot90\""));
    char q[32];
    snprintf(q, sizeof q, "\"quality\":%d", r.quality);
    assert_non_null(strstr(o.out, q));
    ts_output_free(&o);
    cli(&o, "match", "--list", list, "--unsigned-ok", "--json", "--no-dihedral", img, NULL);
    assert_int_equal(o.status, 0);
    if (d_orig > 31)
        assert_non_null(strstr(o.out, "\"found\":0"));
    ts_output_free(&o);

    /* Errors: a missing image fails (1) but the others are still checked;
     * no trust option is a usage error. */
    cli(&o, "match", "--list", list, "--unsigned-ok", "/nonexistent.png", H_A, NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "/nonexistent.png: "));
    assert_non_null(strstr(o.out, H_A ": 1 match"));
    ts_output_free(&o);
    cli(&o, "match", "--list", list, H_A, NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    cli(&o, "match", "--list", list, "--unsigned-ok", "--threshold", "300", H_A, NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    cli(&o, "match", "--help", NULL);
    assert_int_equal(o.status, 0);
    ts_output_free(&o);
    free(img);
    free(in);
    free(list);
}

/* The committed sample list (hashdb/samples/demo-list.csl, format version 1)
 * must keep verifying with its committed public key, hold exactly the
 * hashes of its text form, and those must still be what the library
 * computes for the sample images: a change to the format, the signature
 * scheme or PDQ that breaks published lists fails here. */
static void test_committed_sample_list(void **state)
{
    (void)state;
    const char *list = "hashdb/samples/demo-list.csl";
    const char *key = "hashdb/keys/demo-authority.pub";
    ts_output out;
    cli(&out, "list", "verify", "--authority", key, list, NULL);
    assert_int_equal(out.status, 0);
    ts_output_free(&out);
    cli(&out, "list", "export", "--authority", key, list, NULL);
    assert_int_equal(out.status, 0);
    size_t len;
    char *text = (char *)ts_read_file("hashdb/samples/demo-list.txt", &len);
    size_t lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char hex[65], path[256];
        assert_int_equal(sscanf(line, "%64[0-9a-f],%*d,%200s", hex, path), 2);
        /* In the signed list... */
        assert_non_null(strstr(out.out, hex));
        /* ...and still the hash of the sample image. */
        char *image = ts_path("hashdb/samples", path);
        clientscan_pdq_result r;
        assert_int_equal(clientscan_hash_file(image, NULL, &r, NULL, NULL), CLIENTSCAN_OK);
        char got[CLIENTSCAN_PDQ_HEX_BYTES];
        clientscan_pdq_to_hex(&r.hash[CLIENTSCAN_DIHEDRAL_ORIGINAL], got);
        assert_string_equal(got, hex);
        free(image);
        lines++;
    }
    assert_int_equal(lines, 4);
    ts_output_free(&out);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keygen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_k_of_n_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_match_cli, setup, teardown),
        cmocka_unit_test(test_committed_sample_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
