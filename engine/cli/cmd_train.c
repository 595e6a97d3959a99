/* dacc train: one variant, one seed; a checkpoint after every epoch. */
#include "cli.h"
#include "flags.h"
#include "commands.h"
#include "dacc/checkpoint.h"
#include "dacc/fileio.h"
#include "core/threadpool.h"
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static const flag_use train_flags[] = {
    {F_VARIANT, NULL, NULL, NULL, 0},
    {F_EPOCHS, "epochs", NULL, NULL, 0},
    {F_BATCH, NULL, NULL, NULL, 0},
    {F_LR, NULL, NULL, NULL, 0},
    {F_SEED, NULL, NULL, NULL, 0},
    {F_PROTOCOL, NULL, NULL, NULL, 0},
    {F_THREADS, NULL, NULL, NULL, 0},
    {F_TRAIN_LIMIT, "use only the first N training images", NULL, NULL, 0},
    {F_DATA, NULL, NULL, NULL, 0},
    {F_OUT, "checkpoint path (default <variant>.dacc)", NULL, "FILE", 0},
    {F_RESUME, NULL, NULL, NULL, 0},
    {F_SCALE, "augment=align: sampling scale of the deformations (as the\n"
              "evaluation sets'; a resumed run keeps its checkpoint's)", NULL, NULL, 0},
    {F_MODEL, "augment=align: class model file (default: found as dacc align\n"
              "finds it: cache, shipped model, else a fit)", NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command train_cmd = {
    "train", "usage: dacc train [options]",
    "Trains one network on MNIST and writes a checkpoint after every epoch.\n",
    train_flags, sizeof train_flags / sizeof train_flags[0],
    "Ctrl-C / SIGTERM stop at the next batch; the last completed epoch's\n"
    "checkpoint stays, and the exit code is 3.\n",
    0, NULL};

typedef struct progress {
    const char *out;
    dacc_model *m;
    dacc_train_config *cfg;
    double started_eta_base;
    int tty;
    double elapsed;
} progress;

static void fmt_time(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static void on_batch(void *u, int epoch, int b, int nb, double loss, double ips) {
    progress *p = u;
    if (!p->tty || (b % 20 && b != nb)) return;
    fprintf(stderr, "\r  epoch %d  batch %d/%d  loss %.4f  %.0f img/s   ", epoch, b, nb, loss, ips);
    if (b == nb) fprintf(stderr, "\r%60s\r", "");
}

static int on_epoch(void *u, const dacc_epoch_stats *s, dacc_err *e) {
    progress *p = u;
    p->elapsed += s->seconds;
    char eta[32], took[32];
    fmt_time(s->seconds * (s->epochs - s->epoch), eta, sizeof eta);
    fmt_time(s->seconds, took, sizeof took);
    printf("epoch %2d/%d  lr %.6f  loss %.4f  train %.2f%%  test %.2f%%  %s  ETA %s\n", s->epoch,
           s->epochs, s->lr, s->loss, 100 * s->train_acc, 100 * s->test_acc, took, eta);
    fflush(stdout);
    return dacc_checkpoint_save(p->out, p->m, p->cfg, s->epoch, e);
}

/* The training configuration from the flags, or from --resume's checkpoint
 * (kept in ck for the weights). *out is --out, else the resumed file, else
 * <variant>.dacc in outbuf. Returns 0, -1 on a usage error, 1 on a runtime
 * error (an unreadable checkpoint, an output that cannot be written). */
static int train_config(const flag_values *v, dacc_train_config *cfg, dacc_checkpoint *ck, int *start,
                        const char **out, char *outbuf, size_t outlen, dacc_err *e) {
    dacc_train_config_default(cfg);
    if (dacc_variant_parse(v->s[F_VARIANT], &cfg->variant, e)) return -1;
    cfg->epochs = (int)v->i[F_EPOCHS];
    cfg->batch = (int)v->i[F_BATCH];
    cfg->lr = (float)v->r[F_LR];
    cfg->seed = (uint64_t)v->i[F_SEED];
    cfg->paper = v->i[F_PROTOCOL] == 1;
    cfg->threads = v->set[F_THREADS] ? (int)v->i[F_THREADS] : 0;
    if (v->set[F_TRAIN_LIMIT]) cfg->train_limit = v->i[F_TRAIN_LIMIT];
    *out = v->set[F_OUT] ? v->s[F_OUT] : NULL;
    *start = 0;
    if (v->set[F_RESUME]) {
        const char *resume = v->s[F_RESUME];
        if (dacc_checkpoint_read(resume, ck, e)) return 1;
        int threads = cfg->threads, epochs = cfg->epochs;
        *cfg = ck->cfg;
        if (threads) cfg->threads = threads;
        if (cfg->epochs == 0) cfg->epochs = epochs; /* imported weights: train --epochs more */
        *start = ck->epochs_done;
        if (!*out) *out = resume;
    }
    if (!cfg->threads) cfg->threads = dacc_default_threads();
    if (!*out) {
        snprintf(outbuf, outlen, "%s.dacc", cfg->variant.name);
        *out = outbuf;
    }
    /* a checkpoint that cannot be written fails now, not after an epoch */
    char tmp[FLAG_TEXT_MAX + 64];
    int fd = dacc_tmp_create(*out, tmp, sizeof tmp, e);
    if (fd < 0) {
        dacc_fail_wrap(e, "--out");
        return 1;
    }
    dacc_tmp_abort(fd, tmp);
    return 0;
}

/* augment=align: the class model and the scale (from the flags, or checked
 * against those a resumed checkpoint was trained with; a checkpoint with no
 * epoch trained, e.g. imported weights, takes them from the flags). */
static int train_augment(const flag_values *v, dacc_train_config *cfg, const dacc_images *train, int start,
                         dacc_align_model *am, dacc_err *e) {
    if (cfg->variant.augment != DACC_AUGMENT_ALIGN) return 0;
    int resumed = v->set[F_RESUME] && start > 0;
    if (resumed && v->set[F_SCALE] && v->r[F_SCALE] != cfg->augment_scale)
        return dacc_fail(e, "--scale %g: %s was trained with augment scale %g (a resumed run keeps it)",
                         v->r[F_SCALE], v->s[F_RESUME], cfg->augment_scale);
    if (!resumed) cfg->augment_scale = v->r[F_SCALE];
    char path[4200];
    if (cli_augment_model(v->s[F_MODEL], train, cfg->threads, am, path, sizeof path, e)) return -1;
    uint64_t h = dacc_align_model_hash(am);
    if (resumed && h != cfg->augment_model_hash) {
        dacc_align_model_free(am);
        return dacc_fail(e, "%s was trained with the class model %016llx, but %s is %016llx (give --model)",
                         v->s[F_RESUME], (unsigned long long)cfg->augment_model_hash, path,
                         (unsigned long long)h);
    }
    cfg->augment_model = am;
    cfg->augment_model_hash = h;
    printf("augment=align: class model %s (%016llx), scale %g\n", path, (unsigned long long)h,
           cfg->augment_scale);
    return 0;
}

/* Trains m from epoch start, printing one line per epoch; the exit code. */
static int train_loop(dacc_model *m, dacc_train_config *cfg, const dacc_images *train,
                      const dacc_images *test, int start, const char *out) {
    char sw[128];
    dacc_err e;
    dacc_variant_switches(&cfg->variant, sw, sizeof sw);
    printf("training %s (%s), %s protocol, %d epochs from epoch %d, batch %d, lr %g, seed %llu,\n"
           "  %d threads, kernels %s, %lld training images -> %s\n",
           cfg->variant.name, sw, cfg->paper ? "paper" : "default", cfg->epochs, start + 1, cfg->batch,
           cfg->lr, (unsigned long long)cfg->seed, cfg->threads, dacc_isa_name(dacc_model_kernels(m)->isa),
           (long long)(cfg->train_limit > 0 && cfg->train_limit < train->n ? cfg->train_limit : train->n), out);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    progress p = {out, m, cfg, 0, isatty(2), 0};
    dacc_train_hooks hooks = {&p, on_batch, on_epoch, &stop_requested};
    int done = start;
    int rc = dacc_train_run(m, cfg, train, test, start, &hooks, &done, &e);
    if (rc < 0) return cli_error("train", 1, &e);
    if (rc > 0) {
        fprintf(stderr, "dacc train: interrupted; %s holds epoch %d of %d (resume with --resume %s)\n",
                out, done, cfg->epochs, out);
        return 3;
    }
    printf("done: %s\n", out);
    return 0;
}

int cmd_train(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&train_cmd, argc, argv, &v);
    if (code >= 0) return code;
    dacc_train_config cfg;
    dacc_checkpoint ck = {0};
    const char *out = NULL;
    char outbuf[256];
    int start = 0;
    dacc_err e;
    int rc = train_config(&v, &cfg, &ck, &start, &out, outbuf, sizeof outbuf, &e);
    if (rc) {
        dacc_checkpoint_free(&ck);
        return cli_error("train", rc < 0 ? 2 : 1, &e);
    }
    dacc_images train = {0}, test = {0};
    if (cli_load_mnist(v.s[F_DATA], &train, &test, NULL, 0, &e)) {
        dacc_checkpoint_free(&ck);
        return cli_error("train", 1, &e);
    }
    dacc_align_model am = {0};
    dacc_model *m = NULL;
    if (train_augment(&v, &cfg, &train, start, &am, &e) ||
        !(m = dacc_model_new(&cfg.variant, cfg.batch, cfg.threads, cfg.seed, &e)) ||
        (v.set[F_RESUME] && dacc_checkpoint_apply(&ck, m, 1, v.s[F_RESUME], &e))) {
        dacc_model_delete(m);
        dacc_checkpoint_free(&ck);
        dacc_align_model_free(&am);
        dacc_images_free(&train);
        dacc_images_free(&test);
        return cli_error("train", 1, &e);
    }
    dacc_checkpoint_free(&ck);
    code = train_loop(m, &cfg, &train, &test, start, out);
    dacc_model_delete(m);
    dacc_align_model_free(&am);
    dacc_images_free(&train);
    dacc_images_free(&test);
    return code;
}
