/* The engine packs convolution weights once per training step and once per
 * parameter change for eval, never per call or per thread: a kernel table
 * whose pack ops count their calls, over training steps, repeated eval
 * forwards, a parameter written behind the model's back, and a swap of the
 * table (the plan must follow it). */
#include "nn/model_internal.h"
#include "dacc/model.h"
#include "harness.h"
#include <string.h>

static dacc_kernels real;
/* atomic: the training step packs its layers on the pool's threads (two
 * here), and a plain ++ from both lost a count (CI's ASan run at 05c5aee) */
static _Atomic int fwd_packs, bwd_packs;

static void count_fwd(const dacc_conv_shape *s, dacc_conv_algo a, const float *w,
                      const float *b, float *packed) {
    fwd_packs++;
    real.conv_fwd_pack(s, a, w, b, packed);
}
static void count_bwd(const dacc_conv_shape *s, dacc_conv_algo a, const float *w,
                      float *packed) {
    bwd_packs++;
    real.conv_bwd_data_pack(s, a, w, packed);
}

int main(void) {
    uint64_t rng = test_seed();
    const dacc_kernels *best = dacc_kernels_get();
    CHECK(best != NULL, "no kernel table: %s", dacc_kernels_error());
    if (!best) return test_finish();
    real = *best;
    dacc_kernels counting = real;
    counting.conv_fwd_pack = count_fwd;
    counting.conv_bwd_data_pack = count_bwd;
    dacc_variant v;
    dacc_variant_preset("Original", &v);
    dacc_model m;
    dacc_err e;
    if (dacc_model_init(&m, &v, 16, 2, test_rand_u64(&rng), &e)) {
        CHECK(0, "model init: %s", e.msg);
        return test_finish();
    }
    int convs = 0;
    for (int i = 0; i < m.n_layers; i++) convs += m.layers[i].kind == DACC_L_CONV;
    static uint8_t img[16 * 784], lab[16];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(test_rand_u64(&rng) >> 56);
    for (int i = 0; i < 16; i++) lab[i] = (uint8_t)(i % 10);
    m.k = &counting;
    for (int step = 0; step < 3; step++) {
        dacc_model_forward(&m, img, 16, 1, (uint64_t)step);
        dacc_model_loss(&m, lab, 16, 0, NULL);
        dacc_model_backward(&m, 16);
        dacc_model_adam_step(&m, 1e-3f);
    }
    /* every conv's forward, every conv but the first one's backward-data */
    CHECK(fwd_packs == 3 * convs && bwd_packs == 3 * (convs - 1),
          "3 training steps: %d forward and %d backward-data packs, want %d and %d", fwd_packs,
          bwd_packs, 3 * convs, 3 * (convs - 1));
    fwd_packs = bwd_packs = 0;
    float first[DACC_CLASSES];
    memcpy(first, dacc_model_forward(&m, img, 16, 0, 0), sizeof first);
    for (int i = 0; i < 4; i++) dacc_model_forward(&m, img, 1 + i * 5, 0, 0);
    CHECK(fwd_packs == convs && bwd_packs == 0, "5 eval calls, one parameter set: %d packs, want %d",
          fwd_packs, convs);
    m.params[m.layers[0].w_off] += 0.5f; /* behind the model's back */
    dacc_model_forward(&m, img, 16, 0, 0);
    CHECK(fwd_packs == 2 * convs, "eval after a parameter change: %d packs, want %d", fwd_packs,
          2 * convs);
    m.params[m.layers[0].w_off] -= 0.5f;
    dacc_kernels scalar;
    CHECK(dacc_kernels_for_isa(DACC_ISA_SCALAR, &scalar) == 0, "no scalar table");
    m.k = &scalar; /* the plan follows a swapped table */
    const float *z = dacc_model_forward(&m, img, 16, 0, 0);
    double d = 0;
    for (int j = 0; j < DACC_CLASSES; j++) d += (z[j] - first[j]) * (z[j] - first[j]);
    CHECK(d < 1e-6, "scalar table after the swap: logits %g away from the first table's", d);
    dacc_model_free(&m);
    return test_finish();
}
