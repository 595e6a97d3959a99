/* The activation gradients share regions (engine/nn/model_build.c). For
 * every preset and several batch sizes:
 * 1. No backward round (dacc_model_bwd_round_end and _tensors, as
 *    model_pass.c runs them) touches two tensors whose gradients overlap:
 *    the tasks of a round run its layers without waiting for each other, so a fast task
 *    writing one tensor's gradient must never reach memory a slow task
 *    still reads for another.
 * 2. A gradient is not overwritten between the backward of the layer that
 *    writes it and that of the layer that reads it.
 * 3. The arena is smaller than one region per tensor (the point of
 *    sharing): for the study's network at batch 64 at most 60% of it.
 * Whether the shared layout gives the same gradients is checked by
 * test_gradcheck, test_determinism and test_torch_agreement. */
#include "nn/model_internal.h"
#include "dacc/model.h"
#include "harness.h"
#include <string.h>

static int overlap(const dacc_model *m, int a, int b) {
    size_t a0 = m->dact_off[a], a1 = a0 + m->act_size[a] * (size_t)m->max_batch;
    size_t b0 = m->dact_off[b], b1 = b0 + m->act_size[b] * (size_t)m->max_batch;
    return a != b && a0 < b1 && b0 < a1;
}

static void check_rounds(const dacc_model *m, const char *name) {
    int rounds = 0, bad = 0;
    for (int i = m->n_layers - 1; i >= 0; rounds++) {
        int conv, end = dacc_model_bwd_round_end(m, i, &conv), ids[2 * DACC_MAX_LAYERS + 1];
        int n = dacc_model_bwd_round_tensors(m, i, end, ids);
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
                if (overlap(m, ids[a], ids[b])) {
                    if (!bad++)
                        CHECK(0, "%s batch %d: round from layer %d: gradients of tensors %d and %d overlap",
                              name, m->max_batch, i, ids[a], ids[b]);
                }
        CHECK(end < i, "%s: round from layer %d does not move down", name, i);
        if (end >= i) break;
        i = end;
    }
    CHECK(!bad && rounds > 1, "%s batch %d: %d rounds, %d overlaps", name, m->max_batch, rounds, bad);
}

/* A tensor's gradient, written by the backward of layer c (its reader),
 * lives until the backward of layer p (its writer); layers p+1 .. c-1 run
 * in between and may write only that same gradient or disjoint ones. */
static void check_lifetimes(const dacc_model *m, const char *name) {
    int bad = 0;
    for (int c = 0; c < m->n_layers; c++) {
        const dacc_layer *lc = &m->layers[c];
        if (lc->in == lc->out || lc->in == 0) continue;
        int p = c - 1;
        while (p >= 0 && (m->layers[p].out != lc->in || m->layers[p].in == m->layers[p].out)) p--;
        for (int j = p + 1; j < c && p >= 0; j++) bad += overlap(m, m->layers[j].in, lc->in);
    }
    CHECK(!bad, "%s batch %d: %d gradients overwritten while live", name, m->max_batch, bad);
}

int main(void) {
    static const int batches[] = {1, 7, 64};
    for (int v = 0; v < DACC_N_PRESETS; v++)
        for (int b = 0; b < 3; b++) {
            dacc_variant var;
            dacc_variant_preset(dacc_preset_names[v], &var);
            dacc_model m;
            dacc_err e;
            if (dacc_model_init(&m, &var, batches[b], 1, 1, &e)) {
                CHECK(0, "%s: %s", dacc_preset_names[v], e.msg);
                continue;
            }
            check_rounds(&m, dacc_preset_names[v]);
            check_lifetimes(&m, dacc_preset_names[v]);
            size_t all = 0, used = 0;
            for (int i = 0; i < m.n_acts; i++) {
                size_t end = m.dact_off[i] + m.act_size[i] * (size_t)m.max_batch;
                all += m.act_size[i] * (size_t)m.max_batch;
                if (end > used) used = end;
            }
            CHECK(used < all, "%s batch %d: gradient arena %zu floats, one region per tensor %zu",
                  dacc_preset_names[v], batches[b], used, all);
            if (!strcmp(dacc_preset_names[v], "Original") && batches[b] == 64)
                CHECK(used * 10 <= all * 6, "Original batch 64: gradient arena %.1f MB, %.0f%% of one region per tensor",
                      used * 4.0 / 1e6, 100.0 * used / all);
            dacc_model_free(&m);
        }
    return test_finish();
}
