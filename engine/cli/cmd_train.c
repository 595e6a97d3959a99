/* dacc train: one variant, one seed; a checkpoint after every epoch. */
#include "cli.h"
#include "commands.h"
#include "dacc/checkpoint.h"
#include "core/threadpool.h"
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static void usage(FILE *f) {
    fprintf(f,
        "usage: dacc train [options]\n\n"
        "Trains one network on MNIST and writes a checkpoint after every epoch.\n\n"
        "  --variant SPEC     Original (default), StepLR, BatchNorm, Dropout, ConvPool,\n"
        "                     AveragePool, or switches: name=Mine,base=Original,bn=on|off,\n"
        "                     dropout=all|fc|none,pool=max|avg|conv,lr_decay=on|off\n"
        "  --epochs N         epochs (default 20)\n"
        "  --batch N          batch size (default 64)\n"
        "  --lr X             Adam learning rate (default 0.001; StepLR x0.7 per epoch)\n"
        "  --seed S           initialisation, shuffling and dropout seed (default 1)\n"
        "  --protocol P       default (softmax + cross-entropy, shuffled) or paper\n"
        "                     (the notebook: softmax fed to cross-entropy, file order)\n"
        "  --threads N        worker threads (default: SLURM_CPUS_PER_TASK or all cores)\n"
        "  --train-limit N    use only the first N training images\n"
        "  --data DIR         folder with the four MNIST IDX files (raw or .gz);\n"
        "                     default: the cache ($DACC_DATA or ~/.cache/dacc), fetched if missing\n"
        "  --out FILE         checkpoint path (default <variant>.dacc)\n"
        "  --resume FILE      continue a run from its checkpoint (settings come from it)\n\n"
        "Ctrl-C / SIGTERM stop at the next batch; the last completed epoch's\n"
        "checkpoint stays, and the exit code is 3.\n");
}

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

int cmd_train(int argc, char **argv) {
    dacc_train_config cfg;
    dacc_train_config_default(&cfg);
    const char *data = NULL, *out = NULL, *resume = NULL, *v;
    char outbuf[256];
    dacc_err e;
    long iv;
    double dv;
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if ((v = cli_value(argc, argv, &i, "--variant", &miss))) {
            if (dacc_variant_parse(v, &cfg.variant, &e)) return cli_error("train", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--epochs", &miss))) {
            if (cli_int("--epochs", v, 1, 1000, &iv, &e)) return cli_error("train", 2, &e);
            cfg.epochs = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--batch", &miss))) {
            if (cli_int("--batch", v, 1, 4096, &iv, &e)) return cli_error("train", 2, &e);
            cfg.batch = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--lr", &miss))) {
            if (cli_double("--lr", v, 1e-9, 10, &dv, &e)) return cli_error("train", 2, &e);
            cfg.lr = (float)dv;
        } else if ((v = cli_value(argc, argv, &i, "--seed", &miss))) {
            if (cli_int("--seed", v, 0, 2147483647L, &iv, &e)) return cli_error("train", 2, &e);
            cfg.seed = (uint64_t)iv;
        } else if ((v = cli_value(argc, argv, &i, "--protocol", &miss))) {
            if (!strcmp(v, "paper")) cfg.paper = 1;
            else if (!strcmp(v, "default")) cfg.paper = 0;
            else {
                fprintf(stderr, "dacc train: --protocol %s: use default or paper\n", v);
                return 2;
            }
        } else if ((v = cli_value(argc, argv, &i, "--threads", &miss))) {
            if (cli_int("--threads", v, 1, 256, &iv, &e)) return cli_error("train", 2, &e);
            cfg.threads = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--train-limit", &miss))) {
            if (cli_int("--train-limit", v, 1, 1L << 40, &iv, &e)) return cli_error("train", 2, &e);
            cfg.train_limit = iv;
        } else if ((v = cli_value(argc, argv, &i, "--data", &miss))) {
            data = v;
        } else if ((v = cli_value(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else if ((v = cli_value(argc, argv, &i, "--resume", &miss))) {
            resume = v;
        } else {
            fprintf(stderr, "dacc train: %s '%s' (try --help)\n",
                    miss ? "missing value for" : "unknown option", argv[i]);
            return 2;
        }
    }
    int start = 0;
    dacc_checkpoint ck = {0};
    if (resume) {
        if (dacc_checkpoint_read(resume, &ck, &e)) return cli_error("train", 1, &e);
        int threads = cfg.threads, epochs = cfg.epochs;
        cfg = ck.cfg;
        if (threads) cfg.threads = threads;
        if (cfg.epochs == 0) cfg.epochs = epochs; /* imported weights: train --epochs more */
        start = ck.epochs_done;
        if (!out) out = resume;
    }
    if (!cfg.threads) cfg.threads = dacc_default_threads();
    if (!out) {
        snprintf(outbuf, sizeof outbuf, "%s.dacc", cfg.variant.name);
        out = outbuf;
    }
    dacc_images train = {0}, test = {0};
    if (cli_load_mnist(data, &train, &test, NULL, 0, &e)) {
        dacc_checkpoint_free(&ck);
        return cli_error("train", 1, &e);
    }
    dacc_model m;
    if (dacc_model_init(&m, &cfg.variant, cfg.batch, cfg.threads, cfg.seed, &e) ||
        (resume && dacc_checkpoint_apply(&ck, &m, 1, resume, &e))) {
        dacc_checkpoint_free(&ck);
        dacc_images_free(&train);
        dacc_images_free(&test);
        return cli_error("train", 1, &e);
    }
    dacc_checkpoint_free(&ck);
    char sw[128];
    dacc_variant_switches(&cfg.variant, sw, sizeof sw);
    printf("training %s (%s), %s protocol, %d epochs from epoch %d, batch %d, lr %g, seed %llu,\n"
           "  %d threads, kernels %s, %lld training images -> %s\n",
           cfg.variant.name, sw, cfg.paper ? "paper" : "default", cfg.epochs, start + 1, cfg.batch,
           cfg.lr, (unsigned long long)cfg.seed, cfg.threads, dacc_isa_name(m.k->isa),
           (long long)(cfg.train_limit > 0 && cfg.train_limit < train.n ? cfg.train_limit : train.n), out);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    progress p = {out, &m, &cfg, 0, isatty(2), 0};
    dacc_train_hooks hooks = {&p, on_batch, on_epoch, &stop_requested};
    int done = start;
    int rc = dacc_train_run(&m, &cfg, &train, &test, start, &hooks, &done, &e);
    int code = 0;
    if (rc < 0) code = cli_error("train", 1, &e);
    else if (rc > 0) {
        fprintf(stderr, "dacc train: interrupted; %s holds epoch %d of %d (resume with --resume %s)\n",
                out, done, cfg.epochs, out);
        code = 3;
    } else {
        printf("done: %s\n", out);
    }
    dacc_model_free(&m);
    dacc_images_free(&train);
    dacc_images_free(&test);
    return code;
}
