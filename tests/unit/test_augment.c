/* Learned augmentation (variant switch augment=align), with the shipped
 * class model on random digit-like images (no data files needed):
 * 1. a batch is warped: every image differs from its original, the labels
 *    are untouched, every pixel stays within its source image's range, and
 *    scale 0 gives the originals back;
 * 2. two epochs draw different warps of the same image;
 * 3. the warp of (seed, epoch, image) is the same for 1, 2 and 3 threads
 *    (tasks 1..5) and wherever the image sits in the batch;
 * 4. no augmentation draw reproduces an evaluation block: for seeds 1..3,
 *    epochs 0..4 and the generator's blocks 1..5 of both splits (seeds
 *    1..3), no augmented image equals the generated one of the same index,
 *    and no theta equals the generator's;
 * 5. a label outside the model is an error naming the image;
 * 6. training: augment=align changes the result, is bit-reproducible for a
 *    given seed and thread count, fails clearly without a model, and a run
 *    stopped after epoch 1, checkpointed and resumed from the file ends
 *    bit-identical to an uninterrupted one (checkpoint version 2 carries
 *    the switch, the scale and the model hash). */
#include "dacc/align.h"
#include "dacc/checkpoint.h"
#include "dacc/train.h"
#include "core/threadpool.h"
#include "nn/model_internal.h"
#include "harness.h"
#include <stdlib.h>
#include <string.h>

enum { N = 40, PX = 784, TRAIN_N = 192, TEST_N = 64 };

/* A stroke-like image: a few thick random line segments of varying ink. */
static void make_image(uint64_t *s, uint8_t *img) {
    memset(img, 0, PX);
    int segs = 2 + (int)(test_rand_u64(s) % 3);
    for (int k = 0; k < segs; k++) {
        float x0 = test_rand_uniform(s, 6, 22), y0 = test_rand_uniform(s, 5, 23);
        float x1 = test_rand_uniform(s, 6, 22), y1 = test_rand_uniform(s, 5, 23);
        int ink = 128 + (int)(test_rand_u64(s) % 128);
        for (int t = 0; t <= 40; t++) {
            float x = x0 + (x1 - x0) * t / 40, y = y0 + (y1 - y0) * t / 40;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int r = (int)(y + 0.5f) + dy, c = (int)(x + 0.5f) + dx;
                    if (r >= 0 && r < 28 && c >= 0 && c < 28 && img[r * 28 + c] < ink) img[r * 28 + c] = (uint8_t)ink;
                }
        }
    }
}

static void make_set(uint64_t seed, int n, uint8_t *px, uint8_t *lab) {
    uint64_t s = seed | 1;
    for (int i = 0; i < n; i++) {
        make_image(&s, px + (size_t)i * PX);
        lab[i] = (uint8_t)(i % 10);
    }
}

static int32_t idx_all[N];
static uint8_t src[N * PX], lab[N];

/* The batch of images (seed, epoch) with a pool of `threads` threads split
 * into `tasks` parts, into out. */
static int augment(const dacc_align_model *m, double scale, int threads, int tasks, uint64_t seed, int epoch,
                   uint8_t *out) {
    dacc_err e;
    dacc_augmenter *a;
    if (dacc_augmenter_new(m, scale, tasks, &a, &e)) {
        fprintf(stderr, "augmenter: %s\n", e.msg);
        return -1;
    }
    dacc_pool *pool = dacc_pool_create(threads);
    memcpy(out, src, sizeof src);
    int rc = dacc_augment_batch(a, pool, seed, epoch, idx_all, lab, out, N, &e);
    if (rc) fprintf(stderr, "augment: %s\n", e.msg);
    dacc_pool_destroy(pool);
    dacc_augmenter_free(a);
    return rc;
}

static void batch_properties(const dacc_align_model *m) {
    static uint8_t out[N * PX], lab0[N];
    memcpy(lab0, lab, N);
    CHECK(augment(m, DACC_ALIGN_DEFAULT_SCALE, 2, 2, 1, 0, out) == 0, "augment");
    int changed = 0, in_range = 0;
    for (int i = 0; i < N; i++) {
        const uint8_t *a = src + (size_t)i * PX, *b = out + (size_t)i * PX;
        changed += memcmp(a, b, PX) != 0;
        int lo = 255, hi = 0, ok = 1;
        for (int p = 0; p < PX; p++) lo = a[p] < lo ? a[p] : lo, hi = a[p] > hi ? a[p] : hi;
        for (int p = 0; p < PX; p++) ok &= b[p] >= lo && b[p] <= hi;
        in_range += ok;
    }
    CHECK(changed == N, "every image warped: %d of %d differ from the original", changed, N);
    CHECK(in_range == N, "warped pixels within the source's range: %d of %d images", in_range, N);
    CHECK(memcmp(lab, lab0, N) == 0, "labels untouched");
    CHECK(augment(m, 0.0, 2, 2, 1, 0, out) == 0 && memcmp(out, src, sizeof src) == 0, "scale 0 gives the originals");
}

static void epochs_and_threads(const dacc_align_model *m) {
    static uint8_t ref[N * PX], b[N * PX];
    CHECK(augment(m, DACC_ALIGN_DEFAULT_SCALE, 1, 1, 7, 3, ref) == 0, "augment 1 thread");
    CHECK(augment(m, DACC_ALIGN_DEFAULT_SCALE, 1, 1, 7, 4, b) == 0, "augment epoch 4");
    int same = 0;
    for (int i = 0; i < N; i++) same += !memcmp(ref + (size_t)i * PX, b + (size_t)i * PX, PX);
    CHECK(same == 0, "epochs 3 and 4 draw different warps (%d of %d images equal)", same, N);
    CHECK(augment(m, DACC_ALIGN_DEFAULT_SCALE, 1, 1, 8, 3, b) == 0 && memcmp(ref, b, sizeof b) != 0,
          "another seed draws other warps");
    const int cfgs[][2] = {{2, 2}, {3, 3}, {2, 5}, {3, 1}};
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        CHECK(augment(m, DACC_ALIGN_DEFAULT_SCALE, cfgs[k][0], cfgs[k][1], 7, 3, b) == 0 && memcmp(ref, b, sizeof b) == 0,
              "%d threads, %d tasks: the same bytes as 1 thread", cfgs[k][0], cfgs[k][1]);
    }
    /* the same images in reverse order, keyed by their indices */
    static uint8_t rev[N * PX], rlab[N];
    int32_t ridx[N];
    for (int i = 0; i < N; i++) {
        memcpy(rev + (size_t)i * PX, src + (size_t)(N - 1 - i) * PX, PX);
        rlab[i] = lab[N - 1 - i];
        ridx[i] = idx_all[N - 1 - i];
    }
    dacc_err e;
    dacc_augmenter *a;
    int ok = dacc_augmenter_new(m, DACC_ALIGN_DEFAULT_SCALE, 2, &a, &e) == 0;
    dacc_pool *pool = dacc_pool_create(2);
    ok = ok && dacc_augment_batch(a, pool, 7, 3, ridx, rlab, rev, N, &e) == 0;
    int moved = 0;
    for (int i = 0; ok && i < N; i++) moved += memcmp(rev + (size_t)i * PX, ref + (size_t)(N - 1 - i) * PX, PX) != 0;
    CHECK(ok && moved == 0, "an image's warp does not depend on its place in the batch (%d differ)", moved);
    /* a label outside the model */
    rlab[5] = 10;
    memcpy(rev, src, sizeof rev);
    int rc = ok ? dacc_augment_batch(a, pool, 7, 3, ridx, rlab, rev, N, &e) : 0;
    char want[64];
    snprintf(want, sizeof want, "image %d has label 10", (int)ridx[5]);
    CHECK(rc != 0 && strstr(e.msg, want), "a bad label fails naming the image: %s", e.msg);
    dacc_pool_destroy(pool);
    if (ok) dacc_augmenter_free(a);
}

static void never_an_evaluation_block(const dacc_align_model *m) {
    static uint8_t gen[N * PX], aug[N * PX];
    dacc_images imgs = {src, lab, N, 28, 28};
    double ta[64], tg[64];
    int equal_img = 0, equal_theta = 0, compared = 0;
    for (uint64_t seed = 1; seed <= 3; seed++)
        for (int epoch = 0; epoch < 5; epoch++) {
            dacc_err e;
            if (augment(m, DACC_ALIGN_DEFAULT_SCALE, 2, 2, seed, epoch, aug)) break;
            for (int split = 0; split <= 1; split++)
                for (int block = 1; block <= 5; block++)
                    for (uint64_t gseed = 1; gseed <= 3; gseed++) {
                        if (dacc_align_generate_block(m, &imgs, split, block, gseed, DACC_ALIGN_DEFAULT_SCALE, 2, gen, &e)) {
                            CHECK(0, "generate: %s", e.msg);
                            return;
                        }
                        for (int i = 0; i < N; i++) {
                            equal_img += !memcmp(gen + (size_t)i * PX, aug + (size_t)i * PX, PX);
                            dacc_align_augment_theta(m, lab[i], 1.0, seed, epoch, (uint64_t)i, ta);
                            dacc_align_sample(m, lab[i], 1.0, gseed, (uint64_t)i, dacc_align_tag(split, block), tg);
                            equal_theta += !memcmp(ta, tg, sizeof(double) * m->d);
                            compared++;
                        }
                    }
        }
    CHECK(compared == 3 * 5 * 2 * 5 * 3 * N, "compared %d pairs", compared);
    CHECK(equal_img == 0, "augmented images equal to an evaluation block's: %d of %d", equal_img, compared);
    CHECK(equal_theta == 0, "augmentation thetas equal to the generator's: %d of %d", equal_theta, compared);
}

/* ---- training ---- */
static uint8_t tr_px[TRAIN_N * PX], tr_lab[TRAIN_N], te_px[TEST_N * PX], te_lab[TEST_N];

static dacc_model *train(const dacc_align_model *am, const char *spec, int threads, int start, int epochs,
                         dacc_model *resume_into, dacc_train_config *cfg_out, int *rc_out) {
    dacc_train_config cfg;
    dacc_err e;
    dacc_train_config_default(&cfg);
    dacc_variant_parse(spec, &cfg.variant, &e);
    cfg.epochs = epochs;
    cfg.batch = 64;
    cfg.threads = threads;
    cfg.augment_model = am;
    cfg.augment_model_hash = am ? dacc_align_model_hash(am) : 0;
    dacc_images tr = {tr_px, tr_lab, TRAIN_N, 28, 28}, te = {te_px, te_lab, TEST_N, 28, 28};
    dacc_model *m = resume_into ? resume_into : dacc_model_new(&cfg.variant, cfg.batch, threads, cfg.seed, &e);
    if (!m) return NULL;
    *rc_out = dacc_train_run(m, &cfg, &tr, &te, start, NULL, NULL, &e);
    if (*rc_out) fprintf(stderr, "train %s: %s\n", spec, e.msg);
    if (cfg_out) *cfg_out = cfg;
    return m;
}

static int same_params(const dacc_model *a, const dacc_model *b) {
    return a->n_params == b->n_params && !memcmp(a->params, b->params, a->n_params * sizeof(float)) &&
           !memcmp(a->adam_m, b->adam_m, a->n_params * sizeof(float));
}

static void training(const dacc_align_model *am) {
    const char *aug = "name=AlignAug,base=Original,augment=align", *plain = "name=Plain,base=Original";
    make_set(99, TRAIN_N, tr_px, tr_lab);
    make_set(98, TEST_N, te_px, te_lab);
    int rc1, rc2, rc3, rc4;
    dacc_model *a1 = train(am, aug, 2, 0, 2, NULL, NULL, &rc1), *a2 = train(am, aug, 2, 0, 2, NULL, NULL, &rc2);
    dacc_model *p = train(am, plain, 2, 0, 2, NULL, NULL, &rc3);
    CHECK(a1 && a2 && p && !rc1 && !rc2 && !rc3, "training runs");
    if (a1 && a2 && p) {
        CHECK(same_params(a1, a2), "augmented training is bit-reproducible (same seed and threads)");
        CHECK(!same_params(a1, p), "augment=align changes the trained network");
    }
    dacc_model *none = train(NULL, aug, 1, 0, 1, NULL, NULL, &rc4);
    CHECK(rc4 < 0, "augment=align without a class model fails");
    dacc_model_delete(none);
    /* stop after epoch 1, checkpoint, resume from the file */
    char path[4200];
    snprintf(path, sizeof path, "%s/aug.dacc", test_tmpdir());
    dacc_train_config cfg;
    dacc_model *h = train(am, aug, 2, 0, 1, NULL, &cfg, &rc1);
    dacc_err e;
    cfg.epochs = 2; /* the run's length; epoch 1 done */
    CHECK(h && !rc1 && dacc_checkpoint_save(path, h, &cfg, 1, &e) == 0, "checkpoint after epoch 1");
    dacc_checkpoint ck;
    int read = dacc_checkpoint_read(path, &ck, &e) == 0;
    CHECK(read && ck.cfg.variant.augment == DACC_AUGMENT_ALIGN && ck.cfg.augment_scale == cfg.augment_scale &&
              ck.cfg.augment_model_hash == cfg.augment_model_hash && ck.epochs_done == 1,
          "the checkpoint records augment=align, scale and model hash: %s", read ? "read" : e.msg);
    if (read && h && a1) {
        dacc_model *r = dacc_model_new(&ck.cfg.variant, 64, 2, ck.cfg.seed, &e);
        CHECK(r && dacc_checkpoint_apply(&ck, r, 1, path, &e) == 0, "apply: %s", e.msg);
        if (r) {
            train(am, aug, 2, 1, 2, r, NULL, &rc2);
            CHECK(!rc2 && same_params(r, a1), "resumed after epoch 1 = uninterrupted, bit for bit");
            dacc_model_delete(r);
        }
    }
    if (read) dacc_checkpoint_free(&ck);
    dacc_model_delete(h);
    dacc_model_delete(a1);
    dacc_model_delete(a2);
    dacc_model_delete(p);
}

int main(void) {
    char path[4200];
    dacc_align_model m;
    dacc_err e;
    test_source_path("engine/align/alignclass-4x4.bin", path, sizeof path);
    if (dacc_align_model_load(path, &m, &e)) {
        CHECK(0, "shipped model: %s", e.msg);
        return test_finish();
    }
    make_set(test_seed(), N, src, lab);
    for (int i = 0; i < N; i++) idx_all[i] = 1000 + 37 * i;
    batch_properties(&m);
    epochs_and_threads(&m);
    for (int i = 0; i < N; i++) idx_all[i] = i; /* the generator's indices */
    never_an_evaluation_block(&m);
    training(&m);
    dacc_align_model_free(&m);
    return test_finish();
}
