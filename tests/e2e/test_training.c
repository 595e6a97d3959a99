/* End-to-end learning checks: a network overfits 256 images (training can
 * drive the loss down), and on real MNIST one epoch on 6000 images reaches
 * >= 93% on the 10000 test images (the engine learns, not just runs). */
#include "dacc/data.h"
#include "dacc/train.h"
#include "harness.h"
#include <stdlib.h>
#include <string.h>

static int load(dacc_images *train, dacc_images *test) {
    char dir[4096];
    dacc_err e;
    if (dacc_data_resolve(NULL, 0, dir, sizeof dir, &e) || dacc_mnist_load(dir, train, test, &e)) {
        SKIP("MNIST not available (%s); run `dacc data`", e.msg);
        return -1;
    }
    return 0;
}

/* 256 images, 30 epochs of batch 32: every variant must fit its training
 * set: at least 245 of 256 (95.7%; chance is ~26). The variant without
 * batch-norm fits slowest: with seed 920 (DACC_TEST_SEED=129009728302919)
 * it reaches 249, which the earlier bound of 250 failed, as it already did
 * before the Winograd work (same count at 0e7a80d). */
static void overfit(const dacc_images *train, const char *variant) {
    dacc_train_config cfg;
    dacc_train_config_default(&cfg);
    dacc_err e;
    CHECK(dacc_variant_parse(variant, &cfg.variant, &e) == 0, "variant %s", variant);
    cfg.epochs = 30;
    cfg.batch = 32;
    cfg.train_limit = 256;
    cfg.seed = test_seed() % 1000 + 1;
    cfg.variant.lr_decay = 0;
    dacc_model *m = dacc_model_new(&cfg.variant, 64, 2, cfg.seed, &e);
    if (!m) {
        CHECK(0, "model init: %s", e.msg);
        return;
    }
    int done = 0;
    int rc = dacc_train_run(m, &cfg, train, NULL, 0, NULL, &done, &e);
    CHECK(rc == 0 && done == 30, "%s: training ran all epochs (%s)", variant, rc ? e.msg : "");
    int64_t ok = dacc_evaluate(m, train->pixels, train->labels, 256, NULL, NULL);
    fprintf(stderr, "%s, 30 epochs on 256 images (seed %llu): %lld/256 correct\n", variant,
            (unsigned long long)cfg.seed, (long long)ok);
    CHECK(ok >= 245, "%s: overfits 256 images: %lld/256 correct in eval mode", variant, (long long)ok);
    dacc_model_delete(m);
}

int main(void) {
    dacc_images train = {0}, test = {0};
    if (load(&train, &test) == 0) {
        for (int i = 0; i < DACC_N_PRESETS; i++) overfit(&train, dacc_preset_names[i]);

        dacc_train_config cfg;
        dacc_train_config_default(&cfg);
        cfg.epochs = 1;
        cfg.train_limit = 6000;
        cfg.seed = test_seed() % 1000 + 1;
        dacc_err e;
        dacc_model *m = dacc_model_new(&cfg.variant, 64, 2, cfg.seed, &e);
        CHECK(m != NULL, "model init: %s", m ? "" : e.msg);
        if (m) {
            int rc = dacc_train_run(m, &cfg, &train, NULL, 0, NULL, NULL, &e);
            CHECK(rc == 0, "1 epoch: %s", rc ? e.msg : "");
            double acc = (double)dacc_evaluate(m, test.pixels, test.labels, test.n, NULL, NULL) / test.n;
            fprintf(stderr, "Original, 1 epoch on 6000 images: test accuracy %.2f%%\n", 100 * acc);
            /* seeds seen: 94.83% (DACC_TEST_SEED=11709876482529, the same
             * at 0e7a80d, before the Winograd work) to 96.73%; the earlier
             * bound of 95% failed the first; no learning stays near 10% */
            CHECK(acc >= 0.93, "1 epoch on 6000 images: %.2f%% < 93%% on the test set", 100 * acc);
            dacc_model_delete(m);
        }
    }
    dacc_images_free(&train);
    dacc_images_free(&test);
    return test_finish();
}
