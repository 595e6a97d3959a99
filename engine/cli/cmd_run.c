/* dacc run: the study. Resolves the data (MNIST, AlignMNIST real or
 * generated), then runs the tasks while the dashboard watches the run
 * directory (or plain log lines without a terminal), and prints the table. */
#include "cli.h"
#include "flags.h"
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

static const flag_use run_flags[] = {
    {F_OUT, "run directory", "runs/study", NULL, 0},
    {F_VARIANTS, NULL, NULL, NULL, 0},
    {F_SEEDS, NULL, NULL, NULL, 0},
    {F_EPOCHS, NULL, NULL, NULL, 0},
    {F_BATCH, NULL, NULL, NULL, 0},
    {F_LR, NULL, NULL, NULL, 0},
    {F_PROTOCOL, NULL, NULL, NULL, 0},
    {F_THREADS, NULL, NULL, NULL, 0},
    {F_JOBS, NULL, NULL, NULL, 0},
    {F_TRAIN_LIMIT, NULL, NULL, NULL, 0},
    {F_BLOCKS, NULL, NULL, NULL, 0},
    {F_DATA, NULL, NULL, NULL, 0},
    {F_ALIGNMNIST, "the real alignmnist.npz (training images; paper protocol)", NULL, NULL, 0},
    {F_ALIGNMNIST_TEST, "an AlignMNIST-layout file of the test images", NULL, NULL, 0},
    {F_NO_ALIGN, NULL, NULL, NULL, 0},
    {F_SCALE, "sampling scale of the generated AlignMNIST (default: the calibrated\n"
              "one, docs/ALIGNMNIST.md; 1 = uncalibrated)", NULL, NULL, 0},
    {F_SCALES, NULL, NULL, NULL, 0},
    {F_MODEL, "class model of the generated AlignMNIST and of augment=align variants\n"
              "(default: the cached or shipped one, fitted when neither matches the\n"
              "training images)", NULL, NULL, 0},
    {F_SHARD, NULL, NULL, NULL, 0},
    {F_PLAIN, NULL, NULL, NULL, 0},
    {F_NO_COLOR, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

const flag_command run_cmd = {
    "run", "usage: dacc run [options]",
    "The study of STUDY.md: trains every variant (default: the six of the paper)\n"
    "for every seed, evaluates each on clean MNIST and on AlignMNIST (the paper's\n"
    "protocol on the training images and the held-out protocol on the test\n"
    "images), and reports clean accuracy, y1..y5, x^ and delta per variant.\n"
    "Progress, metrics, results and checkpoints go to the run directory; a\n"
    "finished task is skipped and an interrupted one resumes, so running the\n"
    "same command again continues where it stopped. --scales adds, to a new or\n"
    "finished study, each network's accuracy on sets generated at other\n"
    "deformation scales (tasks/<id>/scales.json) without retraining.\n",
    run_flags, sizeof run_flags / sizeof run_flags[0],
    "Without AlignMNIST files dacc generates a compatible set once (see\n"
    "dacc align) and caches it. Exit codes: 0 done, 1 error (also: another\n"
    "process runs this shard of DIR), 2 usage, 3 interrupted (state saved; run\n"
    "again to resume).\n",
    0, NULL};

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

/* The study configuration from the parsed flags. */
static int run_config(const flag_values *v, dacc_study_config *c, dacc_err *e) {
    dacc_train_config_default(&c->train);
    if (study_flags_apply(v, c, e)) return -1;
    c->train.epochs = (int)v->i[F_EPOCHS];
    c->train.batch = (int)v->i[F_BATCH];
    c->train.lr = (float)v->r[F_LR];
    c->train.paper = v->i[F_PROTOCOL] == 1;
    c->train.threads = v->set[F_THREADS] ? (int)v->i[F_THREADS] : dacc_default_threads();
    c->jobs = v->set[F_JOBS] ? (int)v->i[F_JOBS] : 0;
    if (v->set[F_TRAIN_LIMIT]) c->train.train_limit = v->i[F_TRAIN_LIMIT];
    c->blocks = (int)v->i[F_BLOCKS];
    c->out_dir = v->s[F_OUT];
    if (v->set[F_SCALES]) {
        if (v->set[F_NO_ALIGN]) return dacc_fail(e, "--scales: needs AlignMNIST (given together with --no-align)");
        if (study_flags_scales(v->s[F_SCALES], c->scales, &c->n_scales, e)) return -1;
    }
    return 0;
}

/* The generated sets of every --scales entry (made once each and cached,
 * one after another: only one set is built in memory at a time).
 * paths: 2 * DACC_MAX_SCALES buffers of len bytes. */
static int run_scale_sets(const dacc_align_options *base, dacc_study_config *c, const dacc_images *train,
                          const dacc_images *test, char *paths, size_t len, dacc_err *e) {
    for (int i = 0; i < c->n_scales; i++) {
        dacc_align_options ao = *base;
        ao.scale = c->scales[i];
        char *tr = paths + (size_t)(2 * i) * len, *te = tr + len;
        fprintf(stderr, "dacc run: AlignMNIST at scale %g (%d/%d; generated once, then cached)...\n", c->scales[i],
                i + 1, c->n_scales);
        if (dacc_alignmnist_ensure(&ao, train, test, tr, te, len, e)) return -1;
        c->scale_train[i] = tr;
        c->scale_test[i] = te;
    }
    return 0;
}

/* The AlignMNIST files: those given, else the generated sets (made once
 * and cached). gen_* hold the generated paths. */
static int run_alignmnist(const flag_values *v, dacc_study_config *c, const dacc_images *train,
                          const dacc_images *test, char *gen_train, char *gen_test, size_t len,
                          char *scale_paths, dacc_err *e) {
    const char *align_train = v->s[F_ALIGNMNIST], *align_test = v->s[F_ALIGNMNIST_TEST];
    if (v->set[F_NO_ALIGN]) return 0;
    dacc_align_options ao;
    dacc_align_options_default(&ao);
    ao.blocks = c->blocks;
    ao.scale = v->r[F_SCALE];
    ao.threads = c->train.threads;
    ao.verbose = 1;
    ao.class_model = v->s[F_MODEL];
    if (!align_train || !align_test) {
        fprintf(stderr, "dacc run: preparing AlignMNIST (generated once, then cached)...\n");
        if (dacc_alignmnist_ensure(&ao, train, test, gen_train, gen_test, len, e)) return -1;
        if (!align_train) align_train = gen_train;
        if (!align_test) align_test = gen_test;
    }
    c->align_train = align_train;
    c->align_test = align_test;
    return run_scale_sets(&ao, c, train, test, scale_paths, len, e);
}

/* The class model of the augment=align variants, if any (found as the
 * generator finds it; also with --no-align, which only skips evaluation on
 * AlignMNIST), at the study's sampling scale. */
static int run_augment(const flag_values *v, dacc_study_config *c, const dacc_images *train,
                       dacc_align_model *am, char *path, size_t len, dacc_err *e) {
    int any = 0;
    for (int i = 0; i < c->n_variants; i++) any |= c->variants[i].augment == DACC_AUGMENT_ALIGN;
    if (!any) return 0;
    if (cli_augment_model(v->s[F_MODEL], train, c->train.threads, am, path, len, e)) return -1;
    c->train.augment_model = am;
    c->train.augment_model_hash = dacc_align_model_hash(am);
    c->train.augment_scale = v->r[F_SCALE];
    c->augment_model_path = path;
    return 0;
}

/* Runs the study in a thread while the dashboard watches its directory. */
static void run_with_dashboard(job *j, int no_color) {
    const char *out = j->cfg.out_dir;
    pthread_t th;
    j->cfg.log = NULL;
    pthread_create(&th, NULL, study_thread, j);
    /* wait for the run directory, then watch it until the study ends */
    dacc_tui_options o = {no_color, 0, 0, 1, 0};
    for (int t = 0; t < 200 && !j->finished; t++) {
        char p[FLAG_TEXT_MAX + 32];
        snprintf(p, sizeof p, "%s/progress.json", out);
        if (access(p, F_OK) == 0) break;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    dacc_err te;
    if (!j->finished && dacc_tui_watch(out, &o, &te))
        fprintf(stderr, "dacc run: dashboard: %s (training continues)\n", te.msg);
    if (!j->finished) fprintf(stderr, "dacc run: dashboard closed; training continues (Ctrl-C stops and saves)\n");
    pthread_join(th, NULL);
}

/* Runs the configured study (plain log lines or the dashboard) and returns
 * the exit code. */
static int run_study(job *j, const flag_values *v) {
    dacc_study_config *c = &j->cfg;
    const char *out = c->out_dir;
    int tty = isatty(1) && !v->set[F_PLAIN] && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!tty) {
        c->log = stdout;
        printf("dacc run: %d variants x %d seeds, %d epochs, run directory %s%s\n", c->n_variants, c->n_seeds,
               c->train.epochs, out, c->shard_n > 1 ? " (sharded)" : "");
        fflush(stdout);
        study_thread(j);
    } else {
        run_with_dashboard(j, v->set[F_NO_COLOR]);
    }
    int code = 0;
    if (j->rc < 0) code = cli_error("run", 1, &j->e);
    else if (j->rc > 0) {
        fprintf(stderr, "dacc run: interrupted; state saved in %s (run the same command to resume)\n", out);
        code = 3;
    }
    if (j->rc >= 0) {
        dacc_err se;
        if (dacc_tui_print_summary(out, stdout, &se)) fprintf(stderr, "dacc run: %s\n", se.msg);
    }
    return code;
}

int cmd_run(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&run_cmd, argc, argv, &v);
    if (code >= 0) return code;
    job j;
    memset(&j, 0, sizeof j);
    dacc_err e;
    if (run_config(&v, &j.cfg, &e)) return cli_error("run", 2, &e);
    /* before anything slow: a second process on this folder and shard stops here */
    dacc_lock *shard_lock = NULL;
    if (dacc_mkdir_p(j.cfg.out_dir, &e) || dacc_lock_shard(j.cfg.out_dir, j.cfg.shard_i, j.cfg.shard_n, &shard_lock, &e))
        return cli_error("run", 1, &e);
    dacc_images train = {0}, test = {0};
    char mnist[4096], gen_train[4096], gen_test[4096], aug_model[4200];
    dacc_align_model am = {0};
    char *scale_paths = calloc(2 * DACC_MAX_SCALES, sizeof gen_train);
    int loaded = cli_load_mnist(v.s[F_DATA], &train, &test, mnist, sizeof mnist, &e) == 0;
    j.cfg.mnist_dir = mnist;
    if (loaded && !scale_paths) loaded = dacc_fail(&e, "out of memory") == 0;
    if (!loaded ||
        run_alignmnist(&v, &j.cfg, &train, &test, gen_train, gen_test, sizeof gen_train, scale_paths, &e) ||
        run_augment(&v, &j.cfg, &train, &am, aug_model, sizeof aug_model, &e)) {
        code = cli_error("run", 1, &e);
    } else {
        j.train = &train;
        j.test = &test;
        code = run_study(&j, &v);
    }
    dacc_align_model_free(&am);
    dacc_images_free(&train);
    dacc_images_free(&test);
    free(scale_paths);
    dacc_lock_release(shard_lock);
    return code;
}
