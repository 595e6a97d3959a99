/* dacc eval: a checkpoint's clean accuracy and robustness. */
#include "cli.h"
#include "flags.h"
#include "commands.h"
#include "dacc/checkpoint.h"
#include "dacc/robustness.h"
#include "core/threadpool.h"
#include <stdio.h>
#include <string.h>

static void print_row(const char *what, const dacc_robustness *r) {
    printf("%-22s clean %6.2f%%", what, 100 * r->acc[0]);
    if (r->blocks) {
        printf("  y:");
        for (int b = 1; b <= r->blocks && b <= 5; b++) printf(" %6.2f", 100 * r->acc[b]);
        printf("  x^ %6.2f%%  delta %+6.2f", 100 * r->xhat, 100 * r->delta);
    }
    printf("  (n=%lld)\n", (long long)r->n);
}

static void print_classes(const dacc_robustness *r) {
    printf("  per class   ");
    for (int c = 0; c < DACC_CLASSES; c++) printf("%7d", c);
    printf("\n  clean %%     ");
    for (int c = 0; c < DACC_CLASSES; c++) printf("%7.2f", 100 * r->class_clean[c]);
    if (r->blocks) {
        printf("\n  x^ %%        ");
        for (int c = 0; c < DACC_CLASSES; c++) printf("%7.2f", 100 * r->class_xhat[c]);
    }
    printf("\n");
}

static const flag_use eval_flags[] = {
    {F_DATA, "MNIST IDX folder (default: the cache)", NULL, NULL, 0},
    {F_ALIGNMNIST, NULL, NULL, NULL, 0},
    {F_ALIGNMNIST_TEST, NULL, NULL, NULL, 0},
    {F_BLOCKS, "transformed blocks to use", NULL, NULL, 0},
    {F_TRAIN, NULL, NULL, NULL, 0},
    {F_THREADS, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command eval_cmd = {
    "eval", "usage: dacc eval CHECKPOINT [options]",
    "Accuracy of a trained network on the MNIST test set (and with --train on\n"
    "the training set), and on AlignMNIST-layout files: x (clean), y1..y5, x^ and\n"
    "delta = x^ - x, overall and per class.\n",
    eval_flags, sizeof eval_flags / sizeof eval_flags[0], NULL, 1, "CHECKPOINT"};

/* Prints the test-set rows (and the training-set rows when asked). */
static int eval_print(dacc_model *m, const flag_values *v, const dacc_images *train,
                      const dacc_images *test, dacc_err *e) {
    const char *atrain = v->s[F_ALIGNMNIST], *atest = v->s[F_ALIGNMNIST_TEST];
    int blocks = (int)v->i[F_BLOCKS];
    dacc_robustness r;
    if (atest) {
        if (dacc_eval_alignmnist(m, atest, test, blocks, 0, &r, NULL, NULL, e)) return -1;
    } else {
        dacc_eval_clean(m, test, &r, NULL, NULL);
    }
    print_row(atest ? "held-out (test set)" : "test set", &r);
    print_classes(&r);
    if (!atrain && !v->set[F_TRAIN]) return 0;
    if (atrain) {
        if (dacc_eval_alignmnist(m, atrain, train, blocks, 0, &r, NULL, NULL, e)) return -1;
    } else {
        dacc_eval_clean(m, train, &r, NULL, NULL);
    }
    print_row(atrain ? "paper (training set)" : "training set", &r);
    print_classes(&r);
    return 0;
}

int cmd_eval(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&eval_cmd, argc, argv, &v);
    if (code >= 0) return code;
    if (v.npos < 1) return flags_usage_error(&eval_cmd, "need a CHECKPOINT (try --help)");
    const char *ckpt = v.pos[0];
    int threads = v.set[F_THREADS] ? (int)v.i[F_THREADS] : dacc_default_threads();
    dacc_err e;
    dacc_checkpoint c;
    if (dacc_checkpoint_read(ckpt, &c, &e)) return cli_error("eval", 1, &e);
    dacc_images train = {0}, test = {0};
    dacc_model *m = NULL;
    int rc = cli_load_mnist(v.s[F_DATA], &train, &test, NULL, 0, &e);
    if (rc == 0 && !(m = dacc_model_new(&c.cfg.variant, 256, threads, 0, &e))) rc = -1;
    if (rc == 0) {
        rc = dacc_checkpoint_apply(&c, m, 0, ckpt, &e);
        if (rc == 0) {
            if (c.cfg.epochs == 0)
                printf("%s: variant %s, imported weights (no training record)\n", ckpt, c.cfg.variant.name);
            else
                printf("%s: variant %s, %d of %d epochs trained\n", ckpt, c.cfg.variant.name, c.epochs_done,
                       c.cfg.epochs);
            rc = eval_print(m, &v, &train, &test, &e);
        }
        dacc_model_delete(m);
    }
    dacc_checkpoint_free(&c);
    dacc_images_free(&train);
    dacc_images_free(&test);
    return rc ? cli_error("eval", 1, &e) : 0;
}
