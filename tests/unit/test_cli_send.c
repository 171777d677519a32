/* The send / receive / report commands through the CLI under test
 * (ts_cli()), and the demo script itself (tools/demo.sh), whose claims are
 * checked independently with the library. */
#include "support.h"

#include "clientscan.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAMPLES "hashdb/samples"

typedef struct fixture {
    char *dir;
    char *authority_pub, *other_authority_pub, *moderator_pub, *moderator_sec, *user_pub, *user_sec, *other_user_sec;
    char *list;
} fixture;

static fixture fx;

static char *save_pair(clientscan_key_role role, const char *name, char **sec_path)
{
    clientscan_public_key pub;
    clientscan_secret_key *sec = NULL;
    assert_int_equal(clientscan_keypair_generate(role, &pub, &sec, NULL), 0);
    char file[64];
    snprintf(file, sizeof file, "%s.pub", name);
    char *pub_path = ts_path(fx.dir, file);
    snprintf(file, sizeof file, "%s.sec", name);
    char *sp = ts_path(fx.dir, file);
    assert_int_equal(clientscan_public_key_save(&pub, pub_path, NULL), 0);
    assert_int_equal(clientscan_secret_key_save(sec, sp, NULL), 0);
    clientscan_secret_key_free(sec);
    if (sec_path)
        *sec_path = sp;
    else
        free(sp);
    return pub_path;
}

/* Keys and a list of known-1 and known-2, made with the library so these
 * tests depend only on the commands under test. */
static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    fx.dir = ts_tempdir();
    char *authority_sec = NULL;
    fx.authority_pub = save_pair(CLIENTSCAN_ROLE_AUTHORITY, "authority", &authority_sec);
    fx.moderator_pub = save_pair(CLIENTSCAN_ROLE_MODERATOR, "moderator", &fx.moderator_sec);
    fx.user_pub = save_pair(CLIENTSCAN_ROLE_USER, "user", &fx.user_sec);
    free(save_pair(CLIENTSCAN_ROLE_USER, "other", &fx.other_user_sec));
    fx.other_authority_pub = save_pair(CLIENTSCAN_ROLE_AUTHORITY, "other-authority", NULL);
    clientscan_secret_key *authority = NULL;
    assert_int_equal(clientscan_secret_key_load(authority_sec, CLIENTSCAN_ROLE_AUTHORITY, &authority, NULL), 0);
    free(authority_sec);
    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), 0);
    clientscan_list_builder_set_sequence(b, 3);
    const char *listed[] = {SAMPLES "/known-1.jpg", SAMPLES "/known-2.jpg"};
    for (int i = 0; i < 2; i++) {
        clientscan_pdq_result r;
        clientscan_detail d;
        if (clientscan_hash_file(listed[i], NULL, &r, NULL, &d) != CLIENTSCAN_OK)
            fail_msg("%s: %s (run the tests from the repository root)", listed[i], d.text);
        assert_int_equal(clientscan_list_builder_add(b, &r.hash[0], NULL, -1, NULL), 0);
    }
    uint8_t *list;
    size_t len;
    const clientscan_secret_key *signers[] = {authority};
    assert_int_equal(clientscan_list_builder_encode(b, signers, 1, &list, &len, NULL), 0);
    fx.list = ts_path(fx.dir, "list.bin");
    ts_write_file(fx.list, list, len);
    free(list);
    clientscan_list_builder_free(b);
    clientscan_secret_key_free(authority);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(fx.dir);
    free(fx.dir);
    free(fx.authority_pub);
    free(fx.other_authority_pub);
    free(fx.moderator_pub);
    free(fx.moderator_sec);
    free(fx.user_pub);
    free(fx.user_sec);
    free(fx.other_user_sec);
    free(fx.list);
    return 0;
}

/* Runs the CLI with up to 24 arguments (NULL-terminated list). */
static void run(ts_output *out, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = ts_cli();
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    ts_run(argv, NULL, 0, out);
}

#define RUN(out, ...)                                        \
    do {                                                     \
        const char *const args_[] = {__VA_ARGS__, NULL};     \
        run(out, args_);                                     \
    } while (0)

static size_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s: missing", path);
    return (size_t)st.st_size;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void send_ok(const char *in, const char *outdir, bool verbose, ts_output *out)
{
    if (verbose)
        RUN(out, "send", "--verbose", "--list", fx.list, "--authority", fx.authority_pub,
            "--moderator", fx.moderator_pub, "--to", fx.user_pub, in, outdir);
    else
        RUN(out, "send", "--list", fx.list, "--authority", fx.authority_pub, "--moderator",
            fx.moderator_pub, "--to", fx.user_pub, in, outdir);
    if (out->status != 0)
        fail_msg("send %s: exit %d: %s", in, out->status, out->err);
}

static void assert_same_file(const char *a, const char *b)
{
    size_t la, lb;
    uint8_t *da = ts_read_file(a, &la), *db = ts_read_file(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    free(da);
    free(db);
}

static void test_help_and_usage(void **state)
{
    (void)state;
    const char *cmds[] = {"send", "receive", "report", "samples"};
    ts_output out;
    for (size_t i = 0; i < 4; i++) {
        RUN(&out, cmds[i], "--help");
        assert_int_equal(out.status, 0);
        assert_non_null(strstr(out.out, "usage: clientscan"));
        ts_output_free(&out);
    }
    RUN(&out, "send", "in.jpg");
    assert_int_equal(out.status, 2);
    assert_non_null(strstr(out.err, "required"));
    ts_output_free(&out);
    RUN(&out, "send", "--list", fx.list, "--authority", fx.authority_pub, "--moderator",
        fx.moderator_pub, "--to", fx.user_pub, "only-one-arg");
    assert_int_equal(out.status, 2);
    ts_output_free(&out);
    RUN(&out, "send", "--threshold", "300", "x", "y");
    assert_int_equal(out.status, 2);
    ts_output_free(&out);
    RUN(&out, "receive", "a", "b");
    assert_int_equal(out.status, 2);
    ts_output_free(&out);
    RUN(&out, "report", "close");
    assert_int_equal(out.status, 2);
    ts_output_free(&out);
    RUN(&out, "report", "open", "--key", fx.moderator_sec);
    assert_int_equal(out.status, 2);
    ts_output_free(&out);
}

static void test_send_receive_report_round_trip(void **state)
{
    (void)state;
    const char *inputs[] = {SAMPLES "/other-1.jpg", SAMPLES "/known-1.jpg", SAMPLES "/known-3.png"};
    const char *expect_kind[] = {"no-match", "match", "no-match"};
    ts_output out;
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "msg-%d", i);
        char *outdir = ts_path(fx.dir, name);
        send_ok(inputs[i], outdir, false, &out);
        /* Quiet by default: nothing about the verdict anywhere. */
        assert_string_equal(out.err, "");
        assert_null(strstr(out.out, "match"));
        ts_output_free(&out);
        char *ct = ts_path(outdir, "attachment.bin"), *slot = ts_path(outdir, "report.slot"),
             *sealed = ts_path(outdir, "key.sealed");
        assert_int_equal(file_size(slot), CLIENTSCAN_REPORT_SLOT_BYTES);
        assert_int_equal(file_size(sealed), CLIENTSCAN_SEALED_KEY_BYTES);
        uint64_t expect_ct;
        assert_int_equal(clientscan_attachment_ciphertext_size(file_size(inputs[i]), &expect_ct), 0);
        assert_int_equal(file_size(ct), expect_ct);
        /* Recipient: byte-identical. */
        char *got = ts_path(fx.dir, "received.bin");
        RUN(&out, "receive", "--key", fx.user_sec, outdir, got);
        assert_int_equal(out.status, 0);
        ts_output_free(&out);
        assert_same_file(inputs[i], got);
        struct stat st;
        assert_int_equal(stat(got, &st), 0);
        assert_int_equal(st.st_mode & 077, 0); /* private: 0600 */
        unlink(got);
        free(got);
        /* Moderator. */
        RUN(&out, "report", "open", "--json", "--key", fx.moderator_sec, slot);
        assert_int_equal(out.status, 0);
        char kind[40];
        snprintf(kind, sizeof kind, "\"kind\":\"%s\"", expect_kind[i]);
        assert_non_null(strstr(out.out, kind));
        if (i == 1) {
            assert_non_null(strstr(out.out, "\"entry_id\":\""));
            assert_non_null(strstr(out.out, "\"distance\":0"));
        } else {
            assert_null(strstr(out.out, "entry_id"));
            assert_null(strstr(out.out, "list_digest"));
        }
        ts_output_free(&out);
        free(ct);
        free(slot);
        free(sealed);
        free(outdir);
    }
}

static void test_verbose_and_json(void **state)
{
    (void)state;
    ts_output out;
    char *outdir = ts_path(fx.dir, "verbose");
    send_ok(SAMPLES "/known-2.jpg", outdir, true, &out);
    assert_non_null(strstr(out.err, "verdict: match"));
    ts_output_free(&out);
    RUN(&out, "send", "--json", "--list", fx.list, "--authority", fx.authority_pub, "--moderator",
        fx.moderator_pub, "--to", fx.user_pub, SAMPLES "/known-2.jpg", outdir);
    assert_int_equal(out.status, 0);
    assert_non_null(strstr(out.out, "\"slot_bytes\":304"));
    assert_null(strstr(out.out, "verdict"));
    ts_output_free(&out);
    RUN(&out, "send", "--json", "-v", "--list", fx.list, "--authority", fx.authority_pub,
        "--moderator", fx.moderator_pub, "--to", fx.user_pub, SAMPLES "/known-2.jpg", outdir);
    assert_int_equal(out.status, 0);
    assert_non_null(strstr(out.out, "\"verdict\":{\"kind\":\"match\""));
    ts_output_free(&out);
    /* --exact and --fast (the default) both scan; the sample is small enough
     * that neither scales it, so the verdict is the same. */
    const char *modes[] = {"--exact", "--fast"};
    for (int m = 0; m < 2; m++) {
        RUN(&out, "send", modes[m], "--json", "-v", "--list", fx.list, "--authority",
            fx.authority_pub, "--moderator", fx.moderator_pub, "--to", fx.user_pub,
            SAMPLES "/known-2.jpg", outdir);
        assert_int_equal(out.status, 0);
        assert_non_null(strstr(out.out, "\"verdict\":{\"kind\":\"match\""));
        ts_output_free(&out);
    }
    char *got = ts_path(fx.dir, "verbose.jpg");
    RUN(&out, "receive", "--json", "--key", fx.user_sec, outdir, got);
    assert_int_equal(out.status, 0);
    char expect[64];
    snprintf(expect, sizeof expect, "\"bytes\":%zu", file_size(SAMPLES "/known-2.jpg"));
    assert_non_null(strstr(out.out, expect));
    ts_output_free(&out);
    free(got);
    free(outdir);
}

static void test_unscannable_sent_or_refused(void **state)
{
    (void)state;
    char *text = ts_path(fx.dir, "notes.txt");
    ts_write_file(text, "not an image at all\n", 20);
    char *outdir = ts_path(fx.dir, "unscanned");
    ts_output out;
    send_ok(text, outdir, true, &out);
    assert_non_null(strstr(out.err, "verdict: unscannable"));
    ts_output_free(&out);
    char *slot = ts_path(outdir, "report.slot");
    assert_int_equal(file_size(slot), CLIENTSCAN_REPORT_SLOT_BYTES);
    RUN(&out, "report", "open", "--key", fx.moderator_sec, slot);
    assert_int_equal(out.status, 0);
    assert_non_null(strstr(out.out, "unscanned"));
    ts_output_free(&out);

    char *refused = ts_path(fx.dir, "refused");
    RUN(&out, "send", "--refuse-unscannable", "--list", fx.list, "--authority", fx.authority_pub,
        "--moderator", fx.moderator_pub, "--to", fx.user_pub, text, refused);
    assert_int_equal(out.status, 1);
    assert_non_null(strstr(out.err, "refused"));
    assert_false(exists(refused)); /* nothing written, not even the directory */
    ts_output_free(&out);
    free(refused);
    free(slot);
    free(outdir);
    free(text);
}

static void test_refusals(void **state)
{
    (void)state;
    char *outdir = ts_path(fx.dir, "tamper");
    ts_output out;
    send_ok(SAMPLES "/known-1.jpg", outdir, false, &out);
    ts_output_free(&out);
    char *got = ts_path(fx.dir, "tampered.jpg");
    /* Wrong recipient key. */
    RUN(&out, "receive", "--key", fx.other_user_sec, outdir, got);
    assert_int_equal(out.status, 1);
    assert_non_null(strstr(out.err, "key.sealed"));
    assert_false(exists(got));
    ts_output_free(&out);
    /* Flipped byte, then truncation: refused, OUT never created. */
    char *ct = ts_path(outdir, "attachment.bin");
    size_t len;
    uint8_t *data = ts_read_file(ct, &len);
    data[len / 2] ^= 1;
    ts_write_file(ct, data, len);
    RUN(&out, "receive", "--key", fx.user_sec, outdir, got);
    assert_int_equal(out.status, 1);
    assert_non_null(strstr(out.err, "authentication failed"));
    assert_false(exists(got));
    ts_output_free(&out);
    data[len / 2] ^= 1;
    ts_write_file(ct, data, len - 17);
    RUN(&out, "receive", "--key", fx.user_sec, outdir, got);
    assert_int_equal(out.status, 1);
    assert_false(exists(got));
    ts_output_free(&out);
    RUN(&out, "receive", "--key", fx.user_sec, outdir, "-");
    assert_int_equal(out.status, 1);
    assert_int_equal(out.out_len, 0); /* nothing reaches stdout */
    ts_output_free(&out);
    ts_write_file(ct, data, len);
    /* Report: wrong key role, wrong size, fetch of another ciphertext. */
    char *slot = ts_path(outdir, "report.slot");
    RUN(&out, "report", "open", "--key", fx.user_sec, slot);
    assert_int_equal(out.status, 1);
    ts_output_free(&out);
    size_t slot_len;
    uint8_t *slot_data = ts_read_file(slot, &slot_len);
    char *short_slot = ts_path(fx.dir, "short.slot");
    ts_write_file(short_slot, slot_data, slot_len - 1);
    RUN(&out, "report", "open", "--key", fx.moderator_sec, short_slot);
    assert_int_equal(out.status, 1);
    assert_non_null(strstr(out.err, "expected 304"));
    ts_output_free(&out);
    char *other = ts_path(fx.dir, "other-msg");
    send_ok(SAMPLES "/known-1.jpg", other, false, &out);
    ts_output_free(&out);
    char *other_ct = ts_path(other, "attachment.bin"), *review = ts_path(fx.dir, "review.jpg");
    RUN(&out, "report", "open", "--key", fx.moderator_sec, slot, "--fetch", other_ct, "-o", review);
    assert_int_equal(out.status, 1);
    assert_non_null(strstr(out.err, "digest"));
    assert_false(exists(review));
    ts_output_free(&out);
    RUN(&out, "report", "open", "--key", fx.moderator_sec, slot, "--fetch", ct, "-o", review);
    assert_int_equal(out.status, 0);
    assert_same_file(SAMPLES "/known-1.jpg", review);
    ts_output_free(&out);
    /* Rollback: the list is older than the sequence this client accepted. */
    RUN(&out, "send", "--accepted-sequence", "5", "--list", fx.list, "--authority",
        fx.authority_pub, "--moderator", fx.moderator_pub, "--to", fx.user_pub,
        SAMPLES "/known-1.jpg", other);
    assert_int_equal(out.status, 1);
    assert_non_null(strstr(out.err, fx.list));
    ts_output_free(&out);
    /* A list signed by someone else is refused, naming the list. */
    RUN(&out, "send", "--list", fx.list, "--authority", fx.other_authority_pub, "--moderator",
        fx.moderator_pub, "--to", fx.user_pub, SAMPLES "/known-1.jpg", other);
    assert_int_equal(out.status, 1);
    assert_non_null(strstr(out.err, fx.list));
    ts_output_free(&out);
    free(review);
    free(other_ct);
    free(other);
    free(short_slot);
    free(slot_data);
    free(slot);
    free(data);
    free(ct);
    free(got);
    free(outdir);
}

/* ------------------------------------------------------------ the demo */

/* Opens DIR/name/report.slot with the demo's moderator key. */
static clientscan_report open_demo_slot(const char *work, const clientscan_secret_key *moderator,
                                        const char *msg)
{
    char rel[64];
    snprintf(rel, sizeof rel, "server/%s/report.slot", msg);
    char *slot = ts_path(work, rel);
    assert_int_equal(file_size(slot), CLIENTSCAN_REPORT_SLOT_BYTES);
    size_t len;
    uint8_t *data = ts_read_file(slot, &len);
    clientscan_report r;
    clientscan_detail d;
    if (clientscan_open_report(moderator, data, len, &r, &d) != CLIENTSCAN_OK)
        fail_msg("%s: %s", slot, d.text);
    free(data);
    free(slot);
    return r;
}

static void test_demo_runs_and_its_claims_hold(void **state)
{
    (void)state;
    char *work = ts_path(fx.dir, "demo");
    const char *argv[] = {"/bin/sh", "tools/demo.sh", ts_cli(), work, NULL};
    ts_output out;
    ts_run(argv, NULL, 0, &out);
    if (out.status != 0)
        fail_msg("demo failed (exit %d):\n%s\n%s", out.status, out.out, out.err);
    /* The narration states the three claims. */
    assert_non_null(strstr(out.out, "identical size"));
    assert_non_null(strstr(out.out, "byte-identical"));
    assert_non_null(strstr(out.out, "reveals nothing"));

    /* Check them here, with the library, not with the CLI under test. */
    char *mod_path = ts_path(work, "keys/moderator.sec");
    clientscan_secret_key *moderator = NULL;
    assert_int_equal(clientscan_secret_key_load(mod_path, CLIENTSCAN_ROLE_MODERATOR, &moderator, NULL), 0);
    const char *msgs[] = {"1-unrelated", "2-listed", "3-edited-copy"};
    const char *sent[] = {"outbox/unrelated.jpg", "outbox/listed.jpg", "outbox/edited-copy.jpg"};
    const char *received[] = {"recipient/unrelated.jpg", "recipient/listed.jpg",
                              "recipient/edited-copy.jpg"};
    char *list_path = ts_path(work, "list/demo-list.bin");
    char *auth_path = ts_path(work, "keys/authority.pub");
    clientscan_public_key authority;
    assert_int_equal(clientscan_public_key_load(auth_path, CLIENTSCAN_ROLE_AUTHORITY, &authority, NULL), 0);
    clientscan_list_params lp;
    memset(&lp, 0, sizeof lp);
    lp.authorities = &authority;
    lp.authority_count = 1;
    clientscan_list *list = NULL;
    assert_int_equal(clientscan_list_open(list_path, &lp, &list, NULL), 0);
    for (int i = 0; i < 3; i++) {
        char *a = ts_path(work, sent[i]), *b = ts_path(work, received[i]);
        assert_same_file(a, b); /* recipient: byte-identical */
        clientscan_report r = open_demo_slot(work, moderator, msgs[i]);
        if (i == 0) {
            assert_int_equal(r.kind, CLIENTSCAN_REPORT_NO_MATCH);
        } else {
            assert_int_equal(r.kind, CLIENTSCAN_REPORT_MATCH);
            assert_memory_equal(r.list_digest, clientscan_list_digest(list), 32);
            /* The named entry really is near the sent image. */
            clientscan_hash_params hp = {.mode = CLIENTSCAN_PDQ_MODE_FULL, .dihedral = 1};
            clientscan_pdq_result h;
            assert_int_equal(clientscan_hash_file(a, &hp, &h, NULL, NULL), 0);
            bool found = false;
            for (size_t e = 0; e < clientscan_list_count(list); e++) {
                clientscan_list_entry entry;
                assert_int_equal(clientscan_list_entry_at(list, e, &entry), 0);
                if (memcmp(entry.id, r.entry_id, CLIENTSCAN_LIST_ID_BYTES) != 0)
                    continue;
                found = true;
                assert_int_equal(clientscan_pdq_distance(&h.hash[r.variant], &entry.hash), r.distance);
                assert_true(r.distance <= CLIENTSCAN_PDQ_MATCH_THRESHOLD);
            }
            assert_true(found);
            if (i == 2)
                assert_int_not_equal(r.variant, CLIENTSCAN_DIHEDRAL_ORIGINAL); /* mirrored */
        }
        clientscan_report_release(&r);
        free(a);
        free(b);
    }
    /* The edited copy really is a different file from the listed original. */
    char *orig = ts_path(work, "outbox/listed.jpg"), *copy = ts_path(work, "outbox/edited-copy.jpg");
    assert_int_not_equal(file_size(orig), file_size(copy));
    clientscan_list_close(list);
    clientscan_secret_key_free(moderator);
    ts_output_free(&out);
    free(orig);
    free(copy);
    free(list_path);
    free(auth_path);
    free(mod_path);
    free(work);
}

int main(void)
{
    if (clientscan_init() != CLIENTSCAN_OK)
        return 1;
    if (access(ts_cli(), X_OK) != 0) {
        fprintf(stderr, "test_cli_send: %s not found (set CLIENTSCAN_CLI)\n", ts_cli());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_send_receive_report_round_trip),
        cmocka_unit_test(test_verbose_and_json),
        cmocka_unit_test(test_unscannable_sent_or_refused),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_demo_runs_and_its_claims_hold),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
