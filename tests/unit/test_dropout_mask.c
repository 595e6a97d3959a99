/* Dropout's keep masks in a training forward (engine/nn/model_pass.c: one
 * draw of the image's stream per element). For every dropout layer of
 * Original at batch 64: the kept fraction is 1 - p, also for each element
 * index mod 4 (a generator that packs four masks into a draw must keep each
 * slice's rate) and for pairs of neighbouring elements (both kept: (1 -
 * p)^2, so neighbours are independent), each within 5 standard deviations
 * of its binomial count; images get different masks, and another dropout
 * seed another mask.
 * Inputs are random images (DACC_TEST_SEED replays one). */
#include "nn/model_internal.h"
#include "dacc/model.h"
#include "harness.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 64 };

static const uint8_t *mask_of(const dacc_model *m, const dacc_layer *l) {
    return m->aux + l->aux_off * (size_t)m->max_batch;
}

/* |kept - n q| within 5 binomial standard deviations */
static void rate(const char *what, long kept, long n, double q) {
    double sd = sqrt(n * q * (1 - q)), dev = fabs(kept - n * q);
    CHECK(dev <= 5 * sd, "%s: %ld of %ld kept, expected %.1f (+- %.1f)", what, kept, n, n * q, 5 * sd);
}

static void check_layer(const dacc_model *m, const dacc_layer *l, const uint8_t *other) {
    const size_t in_sz = m->act_size[l->in], n = in_sz * BATCH;
    const uint8_t *mk = mask_of(m, l);
    const double q = 1.0 - l->p;
    long kept = 0, slice[4] = {0}, slice_n[4] = {0}, pairs = 0, npairs = 0, same_img = 0, same_seed = 0;
    for (size_t i = 0; i < n; i++) {
        kept += mk[i];
        slice[i % in_sz % 4] += mk[i];
        slice_n[i % in_sz % 4]++;
        if (i % in_sz % 2 == 0 && i % in_sz + 1 < in_sz) pairs += mk[i] && mk[i + 1], npairs++; /* disjoint */
        if (i >= in_sz) same_img += mk[i] == mk[i - in_sz];
        same_seed += mk[i] == other[i];
    }
    char what[96];
    snprintf(what, sizeof what, "layer %d (%zu per image)", (int)(l - m->layers), in_sz);
    rate(what, kept, (long)n, q);
    for (int s = 0; s < 4; s++) {
        char w2[128];
        snprintf(w2, sizeof w2, "%s, elements %d mod 4", what, s);
        rate(w2, slice[s], slice_n[s], q);
    }
    char w3[128];
    snprintf(w3, sizeof w3, "%s, neighbours both kept", what);
    rate(w3, pairs, npairs, q * q);
    /* agreement of independent masks: q^2 + (1-q)^2 of the elements */
    double agree = q * q + (1 - q) * (1 - q);
    snprintf(w3, sizeof w3, "%s, image i against image i-1", what);
    rate(w3, same_img, (long)(n - in_sz), agree);
    snprintf(w3, sizeof w3, "%s, against another dropout seed", what);
    rate(w3, same_seed, (long)n, agree);
}

int main(void) {
    uint64_t seed = test_seed(), s = seed | 1;
    static uint8_t images[BATCH * 784];
    for (size_t i = 0; i < sizeof images; i++) images[i] = (uint8_t)test_rand_u64(&s);
    dacc_variant v;
    dacc_err e;
    dacc_model m;
    if (dacc_variant_parse("Original", &v, &e) || dacc_model_init(&m, &v, BATCH, 1, seed % 1000 + 1, &e)) {
        CHECK(0, "model: %s", e.msg);
        return test_finish();
    }
    dacc_model_forward(&m, images, BATCH, 1, seed + 7);
    uint8_t *first = malloc(m.aux_per_image * BATCH + 1);
    memcpy(first, m.aux, m.aux_per_image * BATCH);
    dacc_model_forward(&m, images, BATCH, 1, seed + 8);
    int layers = 0;
    for (int i = 0; i < m.n_layers; i++) {
        const dacc_layer *l = &m.layers[i];
        if (l->kind != DACC_L_DROPOUT) continue;
        layers++;
        check_layer(&m, l, first + l->aux_off * (size_t)m.max_batch);
    }
    CHECK(layers == 3, "Original has 3 dropout layers (found %d)", layers);
    free(first);
    dacc_model_free(&m);
    return test_finish();
}
