/* dacc run: the study. Resolves the data (MNIST, AlignMNIST real or
 * generated), then runs the tasks while the dashboard watches the run
 * directory (or plain log lines without a terminal), and prints the table. */
#include "cli.h"
#include "commands.h"
#include "study_flags.h"
#include "dacc/align.h"
#include "dacc/study.h"
#include "dacc/fileio.h"
#include "dacc/runlock.h"
#include "core/threadpool.h"
#include "dacc/tui.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static void usage(FILE *f) {
    fprintf(f,
        "usage: dacc run [options]\n\n"
        "The study of STUDY.md: trains every variant (default: the six of the paper)\n"
        "for every seed, evaluates each on clean MNIST and on AlignMNIST (the paper's\n"
        "protocol on the training images and the held-out protocol on the test\n"
        "images), and reports clean accuracy, y1..y5, x^ and delta per variant.\n"
        "Progress, metrics, results and checkpoints go to the run directory; a\n"
        "finished task is skipped and an interrupted one resumes, so running the\n"
        "same command again continues where it stopped.\n\n"
        "  --out DIR          run directory (default runs/study)\n"
        "  --variants LIST    ';'-separated variant specs (default: all six presets);\n"
        "                     e.g. 'Original;AveragePool;name=Mine,bn=off,pool=avg'\n"
        "  --seeds N|LIST     number of seeds (1..N) or a comma list (default 1)\n"
        "  --epochs N         epochs per task (default 20)\n"
        "  --batch N          batch size (default 64)\n"
        "  --lr X             learning rate (default 0.001)\n"
        "  --protocol P       default (single softmax, shuffled) or paper (notebook)\n"
        "  --threads N        worker threads (default SLURM_CPUS_PER_TASK or all cores)\n"
        "  --train-limit N    train on the first N images only (quick looks)\n"
        "  --blocks N         transformed blocks to evaluate (default 5)\n"
        "  --data DIR         MNIST IDX folder (default: the cache, fetched if missing)\n"
        "  --alignmnist FILE  the real alignmnist.npz (training images; paper protocol)\n"
        "  --alignmnist-test FILE  an AlignMNIST-layout file of the test images\n"
        "  --no-align         clean accuracy only (no AlignMNIST)\n"
        "  --shard I/N        run only tasks with index %% N == I (default from\n"
        "                     SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)\n"
        "  --plain            line logs instead of the dashboard\n"
        "  --no-color         dashboard without colour (also NO_COLOR=1)\n\n"
        "Without AlignMNIST files dacc generates a compatible set once (see\n"
        "dacc align) and caches it. Exit codes: 0 done, 1 error, 2 usage, 3\n"
        "interrupted (state saved; run again to resume).\n");
}

typedef struct job {
    dacc_study_config cfg;
    const dacc_images *train, *test;
    dacc_err e;
    int rc;
    volatile int finished;
} job;

static void *study_thread(void *arg) {
    job *j = arg;
    j->rc = dacc_study_run(&j->cfg, j->train, j->test, &stop_requested, &j->e);
    j->finished = 1;
    return NULL;
}

int cmd_run(int argc, char **argv) {
    job j;
    memset(&j, 0, sizeof j);
    dacc_study_config *c = &j.cfg;
    dacc_train_config_default(&c->train);
    dacc_err e;
    const char *data = NULL, *out = "runs/study", *v;
    const char *align_train = NULL, *align_test = NULL;
    int no_align = 0, plain = 0, no_color = 0;
    long iv;
    double dv;
    study_flags_defaults(c);
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--plain")) {
            plain = 1;
        } else if (!strcmp(argv[i], "--no-color")) {
            no_color = 1;
        } else if (!strcmp(argv[i], "--no-align")) {
            no_align = 1;
        } else if ((v = cli_value(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else if ((v = cli_value(argc, argv, &i, "--variants", &miss))) {
            if (study_flags_variants(v, c, &e)) return cli_error("run", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--seeds", &miss))) {
            if (study_flags_seeds(v, c, &e)) return cli_error("run", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--epochs", &miss))) {
            if (cli_int("--epochs", v, 1, 1000, &iv, &e)) return cli_error("run", 2, &e);
            c->train.epochs = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--batch", &miss))) {
            if (cli_int("--batch", v, 1, 4096, &iv, &e)) return cli_error("run", 2, &e);
            c->train.batch = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--lr", &miss))) {
            if (cli_double("--lr", v, 1e-9, 10, &dv, &e)) return cli_error("run", 2, &e);
            c->train.lr = (float)dv;
        } else if ((v = cli_value(argc, argv, &i, "--protocol", &miss))) {
            if (strcmp(v, "paper") && strcmp(v, "default")) {
                fprintf(stderr, "dacc run: --protocol %s: use default or paper\n", v);
                return 2;
            }
            c->train.paper = !strcmp(v, "paper");
        } else if ((v = cli_value(argc, argv, &i, "--threads", &miss))) {
            if (cli_int("--threads", v, 1, 256, &iv, &e)) return cli_error("run", 2, &e);
            c->train.threads = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--train-limit", &miss))) {
            if (cli_int("--train-limit", v, 1, 1L << 40, &iv, &e)) return cli_error("run", 2, &e);
            c->train.train_limit = iv;
        } else if ((v = cli_value(argc, argv, &i, "--blocks", &miss))) {
            if (cli_int("--blocks", v, 1, 75, &iv, &e)) return cli_error("run", 2, &e);
            c->blocks = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--data", &miss))) {
            data = v;
        } else if ((v = cli_value(argc, argv, &i, "--alignmnist", &miss))) {
            align_train = v;
        } else if ((v = cli_value(argc, argv, &i, "--alignmnist-test", &miss))) {
            align_test = v;
        } else if ((v = cli_value(argc, argv, &i, "--shard", &miss))) {
            if (study_flags_shard(v, &c->shard_i, &c->shard_n, &e)) return cli_error("run", 2, &e);
        } else {
            fprintf(stderr, "dacc run: %s '%s' (try --help)\n", miss ? "missing value for" : "unknown option", argv[i]);
            return 2;
        }
    }
    if (!c->train.threads) c->train.threads = dacc_default_threads();
    /* before anything slow: a second process on this folder and shard stops here */
    dacc_lock *shard_lock = NULL;
    if (dacc_mkdir_p(out, &e) || dacc_lock_shard(out, c->shard_i, c->shard_n, &shard_lock, &e))
        return cli_error("run", 1, &e);
    dacc_images train = {0}, test = {0};
    char mnist[4096];
    if (cli_load_mnist(data, &train, &test, mnist, sizeof mnist, &e)) {
        dacc_lock_release(shard_lock);
        return cli_error("run", 1, &e);
    }
    c->mnist_dir = mnist;
    c->out_dir = out;
    char gen_train[4096], gen_test[4096];
    if (!no_align && (!align_train || !align_test)) {
        dacc_align_options ao;
        dacc_align_options_default(&ao);
        ao.blocks = c->blocks;
        ao.threads = c->train.threads;
        ao.verbose = 1;
        fprintf(stderr, "dacc run: preparing AlignMNIST (generated once, then cached)...\n");
        if (dacc_alignmnist_ensure(&ao, &train, &test, gen_train, gen_test, sizeof gen_train, &e)) {
            dacc_images_free(&train);
            dacc_images_free(&test);
            dacc_lock_release(shard_lock);
            return cli_error("run", 1, &e);
        }
        if (!align_train) align_train = gen_train;
        if (!align_test) align_test = gen_test;
    }
    if (!no_align) {
        c->align_train = align_train;
        c->align_test = align_test;
    }
    j.train = &train;
    j.test = &test;
    int tty = isatty(1) && !plain && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!tty) {
        c->log = stdout;
        printf("dacc run: %d variants x %d seeds, %d epochs, run directory %s%s\n", c->n_variants, c->n_seeds,
               c->train.epochs, out, c->shard_n > 1 ? " (sharded)" : "");
        fflush(stdout);
        study_thread(&j);
    } else {
        pthread_t th;
        c->log = NULL;
        pthread_create(&th, NULL, study_thread, &j);
        /* wait for the run directory, then watch it until the study ends */
        dacc_tui_options o = {no_color, 0, 0, 1, 0};
        for (int t = 0; t < 200 && !j.finished; t++) {
            char p[4200];
            snprintf(p, sizeof p, "%s/progress.json", out);
            if (access(p, F_OK) == 0) break;
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
        dacc_err te;
        if (!j.finished && dacc_tui_watch(out, &o, &te))
            fprintf(stderr, "dacc run: dashboard: %s (training continues)\n", te.msg);
        if (!j.finished) fprintf(stderr, "dacc run: dashboard closed; training continues (Ctrl-C stops and saves)\n");
        pthread_join(th, NULL);
    }
    int code = 0;
    if (j.rc < 0) code = cli_error("run", 1, &j.e);
    else if (j.rc > 0) {
        fprintf(stderr, "dacc run: interrupted; state saved in %s (run the same command to resume)\n", out);
        code = 3;
    }
    if (j.rc >= 0) {
        dacc_err se;
        if (dacc_tui_print_summary(out, stdout, &se)) fprintf(stderr, "dacc run: %s\n", se.msg);
    }
    dacc_images_free(&train);
    dacc_images_free(&test);
    dacc_lock_release(shard_lock);
    return code;
}
