/* dacc eval: a checkpoint's clean accuracy and robustness. */
#include "cli.h"
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

int cmd_eval(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *atrain = NULL, *atest = NULL, *v;
    int threads = 0, blocks = 5, train_too = 0;
    long iv;
    dacc_err e;
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: dacc eval CHECKPOINT [options]\n\n"
                   "Accuracy of a trained network on the MNIST test set (and with --train on\n"
                   "the training set), and on AlignMNIST-layout files: x (clean), y1..y5, x^ and\n"
                   "delta = x^ - x, overall and per class.\n\n"
                   "  --data DIR               MNIST IDX folder (default: the cache)\n"
                   "  --alignmnist FILE        AlignMNIST of the training images (e.g. the real\n"
                   "                           alignmnist.npz): the paper's protocol\n"
                   "  --alignmnist-test FILE   AlignMNIST of the test images: held-out protocol\n"
                   "  --blocks N               transformed blocks to use (default 5)\n"
                   "  --train                  also report clean training-set accuracy\n"
                   "  --threads N              worker threads\n");
            return 0;
        } else if ((v = cli_value(argc, argv, &i, "--data", &miss))) {
            data = v;
        } else if ((v = cli_value(argc, argv, &i, "--alignmnist", &miss))) {
            atrain = v;
        } else if ((v = cli_value(argc, argv, &i, "--alignmnist-test", &miss))) {
            atest = v;
        } else if ((v = cli_value(argc, argv, &i, "--blocks", &miss))) {
            if (cli_int("--blocks", v, 1, 75, &iv, &e)) return cli_error("eval", 2, &e);
            blocks = (int)iv;
        } else if ((v = cli_value(argc, argv, &i, "--threads", &miss))) {
            if (cli_int("--threads", v, 1, 256, &iv, &e)) return cli_error("eval", 2, &e);
            threads = (int)iv;
        } else if (!strcmp(argv[i], "--train")) {
            train_too = 1;
        } else if (argv[i][0] != '-' && !ckpt) {
            ckpt = argv[i];
        } else {
            fprintf(stderr, "dacc eval: %s '%s' (try --help)\n", miss ? "missing value for" : "unknown option", argv[i]);
            return 2;
        }
    }
    if (!ckpt) {
        fprintf(stderr, "dacc eval: need a CHECKPOINT (try --help)\n");
        return 2;
    }
    dacc_checkpoint c;
    if (dacc_checkpoint_read(ckpt, &c, &e)) return cli_error("eval", 1, &e);
    dacc_images train = {0}, test = {0};
    dacc_model m;
    int rc = cli_load_mnist(data, &train, &test, NULL, 0, &e);
    if (rc == 0) rc = dacc_model_init(&m, &c.cfg.variant, 256, threads ? threads : dacc_default_threads(), 0, &e);
    if (rc == 0) {
        rc = dacc_checkpoint_apply(&c, &m, 0, ckpt, &e);
        if (rc == 0) {
            if (c.cfg.epochs == 0)
                printf("%s: variant %s, imported weights (no training record)\n", ckpt, c.cfg.variant.name);
            else
                printf("%s: variant %s, %d of %d epochs trained\n", ckpt, c.cfg.variant.name,
                       c.epochs_done, c.cfg.epochs);
            dacc_robustness r;
            if (atest) rc = dacc_eval_alignmnist(&m, atest, &test, blocks, 0, &r, NULL, NULL, &e);
            else dacc_eval_clean(&m, &test, &r, NULL, NULL);
            if (rc == 0) {
                print_row(atest ? "held-out (test set)" : "test set", &r);
                print_classes(&r);
            }
            if (rc == 0 && (atrain || train_too)) {
                if (atrain) rc = dacc_eval_alignmnist(&m, atrain, &train, blocks, 0, &r, NULL, NULL, &e);
                else dacc_eval_clean(&m, &train, &r, NULL, NULL);
                if (rc == 0) {
                    print_row(atrain ? "paper (training set)" : "training set", &r);
                    print_classes(&r);
                }
            }
        }
        dacc_model_free(&m);
    }
    dacc_checkpoint_free(&c);
    dacc_images_free(&train);
    dacc_images_free(&test);
    return rc ? cli_error("eval", 1, &e) : 0;
}
