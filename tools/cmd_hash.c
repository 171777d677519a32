/* clientscan hash — PDQ-hash image files, directories or stdin. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_JOBS 256
#define PROGRESS_MIN_FILES 20

static void hash_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan hash [options] PATH...\n"
            "\n"
            "PDQ-hash PNG and JPEG images. PATH is a file, a directory (its files;\n"
            "with --recursive also its subdirectories), or - for standard input.\n"
            "\n"
            "Output, one line per image in argument order:\n"
            "  HASH,QUALITY,PATH                   (the reference CLI's layout)\n"
            "  with --dihedral: HASH,ROT90,ROT180,ROT270,FLIPX,FLIPY,FLIPPLUS1,FLIPMINUS1,QUALITY,PATH\n"
            "\n"
            "Options:\n"
            "  --json            one JSON object per line\n"
            "  --dihedral        also the 7 rotated/mirrored variants\n"
            "  --fast            decode JPEGs at a reduced DCT scale (smaller side >= %u);\n"
            "                    approximate (distance to exact: docs/speed.md)\n"
            "  --mode MODE       full (default: reference full-resolution hash, what\n"
            "                    shared lists contain) or cli512 (the reference CLI:\n"
            "                    images over 512 px resized to 512x512 first)\n"
            "  -r, --recursive   descend into subdirectories\n"
            "  -j, --jobs N      hash with N threads (default: one per CPU); output order\n"
            "                    unchanged. With fewer images than threads, each is\n"
            "                    decoded on one thread while another hashes it\n"
            "  --max-pixels N    refuse images over N pixels (default 100000000)\n"
            "  -h, --help        this text\n"
            "\n"
            "Errors go to standard error as 'PATH: reason' and the batch goes on.\n"
            "Exit status: 0 all hashed, 1 some failed, 2 usage error.\n",
            CLIENTSCAN_FAST_MIN_SIDE);
}

typedef struct {
    clientscan_hash_item *items; /* path = names[i], or NULL for stdin (data/len) */
    char **names;                /* what to print: the path as given, or "-" */
    size_t count, cap;
    bool path_errors; /* a PATH could not be listed */
} job_list;

/* Items are hashed in chunks through the library's batch API, then printed
 * in order: output streams for long runs and needs no second thread pool. */
#define CHUNK_PER_THREAD 32

static int job_add(job_list *list, const char *path)
{
    if (list->count == list->cap) {
        size_t ncap = list->cap ? list->cap * 2 : 64;
        clientscan_hash_item *n = realloc(list->items, ncap * sizeof *n);
        if (!n)
            return -1;
        list->items = n;
        char **names = realloc(list->names, ncap * sizeof *names);
        if (!names)
            return -1;
        list->names = names;
        list->cap = ncap;
    }
    char *name = strdup(path);
    if (!name)
        return -1;
    clientscan_hash_item *it = &list->items[list->count];
    memset(it, 0, sizeof *it);
    it->path = strcmp(name, "-") == 0 ? NULL : name;
    list->names[list->count++] = name;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the regular files of dir in name order; descends when recursive.
 * Symbolic links to directories are not followed (no cycles). */
static int collect_dir(job_list *list, const char *dir, bool recursive)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        list->path_errors = true;
        return 0;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = -1;
            break;
        }
        bool slash = dir[0] && dir[strlen(dir) - 1] == '/';
        snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        struct stat st;
        if (lstat(p, &st) != 0) {
            fprintf(stderr, "%s: %s\n", p, strerror(errno));
            list->path_errors = true;
        } else if (S_ISDIR(st.st_mode)) {
            if (recursive)
                rc = collect_dir(list, p, recursive);
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            rc = job_add(list, p);
        }
        free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static void print_item(const clientscan_hash_item *it, const char *name,
                       const clientscan_hash_params *params, bool json)
{
    char hex[CLIENTSCAN_DIHEDRAL_COUNT][CLIENTSCAN_PDQ_HEX_BYTES];
    int variants = params->dihedral ? CLIENTSCAN_DIHEDRAL_COUNT : 1;
    for (int v = 0; v < variants; v++)
        clientscan_pdq_to_hex(&it->result.hash[v], hex[v]);
    if (!json) {
        for (int v = 0; v < variants; v++)
            printf("%s,", hex[v]);
        printf("%d,%s\n", it->result.quality, name);
        return;
    }
    fputs("{\"path\":", stdout);
    cli_json_string(stdout, name);
    printf(",\"algorithm\":\"pdq\",\"mode\":\"%s%s\",\"hash\":\"%s\",\"quality\":%d,"
           "\"width\":%u,\"height\":%u,\"format\":\"%s\",\"exif_orientation\":%d",
           params->mode == CLIENTSCAN_PDQ_MODE_CLI512 ? "cli512" : "full",
           params->decode.jpeg_min_side ? "+fast" : "", hex[0], it->result.quality,
           it->info.source_width, it->info.source_height, clientscan_format_name(it->info.format),
           it->info.exif_orientation);
    if (params->dihedral) {
        fputs(",\"dihedral\":{", stdout);
        for (int v = 1; v < CLIENTSCAN_DIHEDRAL_COUNT; v++)
            printf("%s\"%s\":\"%s\"", v > 1 ? "," : "",
                   clientscan_dihedral_name((clientscan_dihedral)v), hex[v]);
        fputc('}', stdout);
    }
    fputs("}\n", stdout);
}

static void progress(size_t done, size_t total, bool show)
{
    if (!show)
        return;
    fprintf(stderr, "\r[%zu/%zu] hashed", done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

int cmd_hash(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'J'},        {"dihedral", no_argument, NULL, 'D'},
        {"fast", no_argument, NULL, 'F'},        {"mode", required_argument, NULL, 'm'},
        {"recursive", no_argument, NULL, 'r'},   {"jobs", required_argument, NULL, 'j'},
        {"max-pixels", required_argument, NULL, 'P'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    clientscan_hash_params params = {.mode = CLIENTSCAN_PDQ_MODE_FULL};
    bool json = false, recursive = false;
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long jobs = cpus < 1 ? 1 : cpus > MAX_JOBS ? MAX_JOBS : cpus;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "rj:h", longopts, NULL)) != -1) {
        long v;
        switch (c) {
        case 'J': json = true; break;
        case 'D': params.dihedral = 1; break;
        case 'F': params.decode.jpeg_min_side = CLIENTSCAN_FAST_MIN_SIDE; break;
        case 'r': recursive = true; break;
        case 'm':
            if (strcmp(optarg, "full") == 0)
                params.mode = CLIENTSCAN_PDQ_MODE_FULL;
            else if (strcmp(optarg, "cli512") == 0)
                params.mode = CLIENTSCAN_PDQ_MODE_CLI512;
            else {
                cli_error("hash: --mode must be full or cli512, not '%s'", optarg);
                return CLI_USAGE;
            }
            break;
        case 'j':
            if (!cli_parse_int(optarg, 1, MAX_JOBS, &jobs)) {
                cli_error("hash: --jobs must be 1..%d", MAX_JOBS);
                return CLI_USAGE;
            }
            break;
        case 'P':
            if (!cli_parse_int(optarg, 1, (long)CLIENTSCAN_DEFAULT_MAX_PIXELS * 10, &v)) {
                cli_error("hash: --max-pixels must be a positive number");
                return CLI_USAGE;
            }
            params.decode.max_pixels = (uint64_t)v;
            break;
        case 'h': hash_usage(stdout); return CLI_OK;
        default: hash_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("hash: no PATH given (see 'clientscan hash --help')");
        return CLI_USAGE;
    }

    job_list list = {0};
    int rc = 0;
    int stdin_count = 0;
    for (int i = optind; i < argc && rc == 0; i++) {
        struct stat st;
        if (strcmp(argv[i], "-") == 0) {
            if (++stdin_count > 1) {
                cli_error("hash: '-' (standard input) given more than once");
                rc = -2;
                break;
            }
            rc = job_add(&list, "-");
        } else if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = collect_dir(&list, argv[i], recursive);
        } else {
            rc = job_add(&list, argv[i]); /* a missing file fails when hashed */
        }
    }
    int status = CLI_OK;
    if (rc == -1)
        cli_error("hash: out of memory");
    if (rc != 0) {
        status = rc == -2 ? CLI_USAGE : CLI_FAILED;
        goto out;
    }

    /* Spare threads overlap decoding and hashing within each image instead:
     * the latency case, one photo at a time. */
    params.pipeline = list.count < (size_t)jobs;
    bool show_progress = list.count >= PROGRESS_MIN_FILES && isatty(STDERR_FILENO);
    bool all_ok = !list.path_errors;
    size_t chunk = (size_t)jobs * CHUNK_PER_THREAD;
    uint8_t *stdin_bytes = NULL;
    for (size_t first = 0; first < list.count; first += chunk) {
        size_t n = list.count - first < chunk ? list.count - first : chunk;
        for (size_t i = first; i < first + n; i++) {
            clientscan_hash_item *it = &list.items[i];
            /* stdin: its bytes; on a read error (already reported) it stays
             * empty and fails as such */
            if (!it->path && !stdin_bytes &&
                cli_read_file("-", (size_t)CLIENTSCAN_DEFAULT_MAX_FILE_BYTES, &stdin_bytes,
                              &it->len) == 0)
                it->data = stdin_bytes;
        }
        clientscan_hash_batch(list.items + first, n, &params, (unsigned)jobs);
        for (size_t i = first; i < first + n; i++) {
            clientscan_hash_item *it = &list.items[i];
            if (show_progress)
                fputc('\r', stderr);
            if (it->rc == CLIENTSCAN_OK) {
                print_item(it, list.names[i], &params, json);
            } else {
                fprintf(stderr, "%s: %s\n", list.names[i],
                        it->detail.text[0] ? it->detail.text : clientscan_strerror(it->rc));
                all_ok = false;
            }
            progress(i + 1, list.count, show_progress);
        }
        fflush(stdout);
    }
    free(stdin_bytes);
    status = all_ok ? CLI_OK : CLI_FAILED;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("hash: cannot write output: %s", strerror(errno));
        status = CLI_FAILED;
    }
out:
    for (size_t i = 0; i < list.count; i++)
        free(list.names[i]);
    free(list.names);
    free(list.items);
    return status;
}
