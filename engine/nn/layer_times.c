/* Per-layer timers and layer labels (dacc/model.h). */
#include "nn/model_internal.h"
#include <stdio.h>
#include <string.h>

void dacc_model_times_reset(dacc_model *m) { memset(&m->times, 0, sizeof m->times); }

int dacc_model_layer_count(const dacc_model *m) { return m->n_layers; }

double dacc_model_layer_time(const dacc_model *m, int i, int part) {
    if (i < 0 || i >= m->n_layers || part < 0 || part >= DACC_TIME_PARTS) return 0;
    return m->times.s[i][part];
}

int dacc_model_layer_bwd_fused(const dacc_model *m, int i) {
    return i >= 0 && i < m->n_layers && m->layers[i].kind == DACC_L_CONV && m->conv[i].train_both;
}

void dacc_model_step_times(const dacc_model *m, dacc_step_times *out) {
    *out = (dacc_step_times){m->times.pack_s, m->times.loss_s, m->times.adam_s, m->times.steps};
}

void dacc_model_layer_label(const dacc_model *m, int i, char *buf, size_t n) {
    const char *prev = "input";
    int pools = 0;
    char pool_name[24] = ""; /* "pool_" and any int */
    for (int j = 0; j <= i && j < m->n_layers; j++) {
        const dacc_layer *l = &m->layers[j];
        if (l->kind == DACC_L_MAXPOOL || l->kind == DACC_L_AVGPOOL) {
            snprintf(pool_name, sizeof pool_name, "pool_%d", ++pools);
            prev = pool_name;
        } else if (l->kind == DACC_L_CONV) {
            prev = l->name;
            pools += !strncmp(l->name, "pool_", 5); /* ConvPool's pooling convolutions */
        }
        if (j < i) continue;
        if (l->kind == DACC_L_RELU || l->kind == DACC_L_DROPOUT)
            snprintf(buf, n, "%s+%s", prev, l->kind == DACC_L_RELU ? "relu" : "dropout");
        else if (l->name[0]) snprintf(buf, n, "%s", l->name);
        else snprintf(buf, n, "%s", prev);
    }
}
