/* clientscan hash — PDQ-hash image files, directories or stdin. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
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
            "  --mode MODE       full (default: reference full-resolution hash, what\n"
            "                    shared lists contain) or cli512 (the reference CLI:\n"
            "                    images over 512 px resized to 512x512 first)\n"
            "  -r, --recursive   descend into subdirectories\n"
            "  -j, --jobs N      hash with N threads (default 1); output order unchanged\n"
            "  --max-pixels N    refuse images over N pixels (default 100000000)\n"
            "  -h, --help        this text\n"
            "\n"
            "Errors go to standard error as 'PATH: reason' and the batch goes on.\n"
            "Exit status: 0 all hashed, 1 some failed, 2 usage error.\n");
}

typedef struct {
    char *path;
    /* filled by a worker: */
    int rc;
    clientscan_detail detail;
    clientscan_pdq_result result;
    uint32_t width, height;
    clientscan_format format;
    int orientation;
    bool done;
} hash_job;

typedef struct {
    hash_job *jobs;
    size_t count, cap;
    bool path_errors; /* a PATH could not be listed */
} job_list;

typedef struct {
    clientscan_pdq_mode mode;
    bool dihedral;
    clientscan_decode_params params;
} hash_options;

static int job_add(job_list *list, const char *path)
{
    if (list->count == list->cap) {
        size_t ncap = list->cap ? list->cap * 2 : 64;
        hash_job *n = realloc(list->jobs, ncap * sizeof *n);
        if (!n)
            return -1;
        list->jobs = n;
        list->cap = ncap;
    }
    hash_job *j = &list->jobs[list->count];
    memset(j, 0, sizeof *j);
    j->path = strdup(path);
    if (!j->path)
        return -1;
    list->count++;
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

static void hash_one(hash_job *job, const hash_options *opt)
{
    clientscan_image img;
    uint8_t *data = NULL;
    size_t len = 0;
    if (strcmp(job->path, "-") == 0) {
        if (cli_read_file("-", (size_t)CLIENTSCAN_DEFAULT_MAX_FILE_BYTES, &data, &len) != 0) {
            job->rc = CLIENTSCAN_E_IO;
            snprintf(job->detail.text, sizeof job->detail.text, "cannot read standard input");
            return;
        }
        job->rc = clientscan_decode_memory(data, len, &opt->params, &img, &job->detail);
        free(data);
    } else {
        job->rc = clientscan_decode_file(job->path, &opt->params, &img, &job->detail);
    }
    if (job->rc != CLIENTSCAN_OK)
        return;
    job->width = img.width;
    job->height = img.height;
    job->format = img.format;
    job->orientation = img.exif_orientation;
    job->rc = clientscan_pdq_hash_image(&img, opt->mode, opt->dihedral, &job->result,
                                        &job->detail);
    clientscan_image_release(&img);
}

static void print_job(const hash_job *job, const hash_options *opt, bool json)
{
    char hex[CLIENTSCAN_DIHEDRAL_COUNT][CLIENTSCAN_PDQ_HEX_BYTES];
    int variants = opt->dihedral ? CLIENTSCAN_DIHEDRAL_COUNT : 1;
    for (int v = 0; v < variants; v++)
        clientscan_pdq_to_hex(&job->result.hash[v], hex[v]);
    if (!json) {
        for (int v = 0; v < variants; v++)
            printf("%s,", hex[v]);
        printf("%d,%s\n", job->result.quality, job->path);
        return;
    }
    fputs("{\"path\":", stdout);
    cli_json_string(stdout, job->path);
    printf(",\"algorithm\":\"pdq\",\"mode\":\"%s\",\"hash\":\"%s\",\"quality\":%d,"
           "\"width\":%u,\"height\":%u,\"format\":\"%s\",\"exif_orientation\":%d",
           opt->mode == CLIENTSCAN_PDQ_MODE_CLI512 ? "cli512" : "full", hex[0],
           job->result.quality, job->width, job->height, clientscan_format_name(job->format),
           job->orientation);
    if (opt->dihedral) {
        fputs(",\"dihedral\":{", stdout);
        for (int v = 1; v < CLIENTSCAN_DIHEDRAL_COUNT; v++)
            printf("%s\"%s\":\"%s\"", v > 1 ? "," : "",
                   clientscan_dihedral_name((clientscan_dihedral)v), hex[v]);
        fputc('}', stdout);
    }
    fputs("}\n", stdout);
}

typedef struct {
    job_list *list;
    const hash_options *opt;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    size_t next; /* next job to hand out */
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->list->count ? p->next++ : SIZE_MAX;
        pthread_mutex_unlock(&p->lock);
        if (i == SIZE_MAX)
            return NULL;
        hash_one(&p->list->jobs[i], p->opt);
        pthread_mutex_lock(&p->lock);
        p->list->jobs[i].done = true;
        pthread_cond_broadcast(&p->done_cond);
        pthread_mutex_unlock(&p->lock);
    }
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

/* Prints job i (waiting for it) and returns whether it succeeded. */
static bool report_job(pool *p, size_t i, bool json, bool show_progress)
{
    hash_job *job = &p->list->jobs[i];
    pthread_mutex_lock(&p->lock);
    while (!job->done)
        pthread_cond_wait(&p->done_cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    if (show_progress)
        fputc('\r', stderr);
    bool ok = job->rc == CLIENTSCAN_OK;
    if (ok)
        print_job(job, p->opt, json);
    else
        fprintf(stderr, "%s: %s\n", job->path,
                job->detail.text[0] ? job->detail.text : clientscan_strerror(job->rc));
    fflush(stdout);
    progress(i + 1, p->list->count, show_progress);
    return ok;
}

int cmd_hash(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'J'},        {"dihedral", no_argument, NULL, 'D'},
        {"mode", required_argument, NULL, 'm'},  {"recursive", no_argument, NULL, 'r'},
        {"jobs", required_argument, NULL, 'j'},  {"max-pixels", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    hash_options opt = {.mode = CLIENTSCAN_PDQ_MODE_FULL};
    bool json = false, recursive = false;
    long jobs = 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "rj:h", longopts, NULL)) != -1) {
        long v;
        switch (c) {
        case 'J': json = true; break;
        case 'D': opt.dihedral = true; break;
        case 'r': recursive = true; break;
        case 'm':
            if (strcmp(optarg, "full") == 0)
                opt.mode = CLIENTSCAN_PDQ_MODE_FULL;
            else if (strcmp(optarg, "cli512") == 0)
                opt.mode = CLIENTSCAN_PDQ_MODE_CLI512;
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
            opt.params.max_pixels = (uint64_t)v;
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
            rc = job_add(&list, argv[i]); /* missing files fail when hashed */
        }
    }
    int status = CLI_OK;
    if (rc == -1)
        cli_error("hash: out of memory");
    if (rc != 0) {
        status = rc == -2 ? CLI_USAGE : CLI_FAILED;
        goto out;
    }

    pool p = {.list = &list, .opt = &opt};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.done_cond, NULL);
    bool show_progress = list.count >= PROGRESS_MIN_FILES && isatty(STDERR_FILENO);
    size_t nthreads = (size_t)jobs < list.count ? (size_t)jobs : list.count;
    pthread_t threads[MAX_JOBS];
    size_t started = 0;
    if (nthreads > 1) {
        for (; started < nthreads; started++)
            if (pthread_create(&threads[started], NULL, worker, &p) != 0)
                break;
    }
    bool all_ok = !list.path_errors;
    for (size_t i = 0; i < list.count; i++) {
        if (started == 0) { /* single-threaded: hash in place */
            hash_one(&list.jobs[i], &opt);
            list.jobs[i].done = true;
        }
        if (!report_job(&p, i, json, show_progress))
            all_ok = false;
    }
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    pthread_cond_destroy(&p.done_cond);
    pthread_mutex_destroy(&p.lock);
    status = all_ok ? CLI_OK : CLI_FAILED;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("hash: cannot write output: %s", strerror(errno));
        status = CLI_FAILED;
    }
out:
    for (size_t i = 0; i < list.count; i++)
        free(list.jobs[i].path);
    free(list.jobs);
    return status;
}
