/* The per-layer timers of training (dacc_layer_times): after a tiny epoch
 * they cover the step's time (their sum is at most the epoch's training
 * time and most of it), every conv layer has time in each of its parts,
 * and the run directory's metrics line carries them as "layer_ms", which
 * the reader gets back; a line without one, or with bad values, is
 * tolerated. A convolution whose backward runs as one call (AVX2:
 * conv32_2, conv64_2) has all of it as backward-weights, "bwd_data":null
 * in the line, read back as fused. No speed is asserted. */
#include "harness.h"
#include "nn/model_internal.h"
#include "dacc/train.h"
#include "dacc/fileio.h"
#include "study/rundir.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen { dacc_layer_times t; dacc_epoch_stats s; int epochs; } seen;

static int on_epoch(void *u, const dacc_epoch_stats *s, dacc_err *e) {
    (void)e;
    seen *x = u;
    x->s = *s;
    x->epochs++;
    return 0;
}

static double timers_sum(const dacc_model *m) {
    const dacc_layer_times *t = &m->times;
    double sum = t->pack_s + t->loss_s + t->adam_s;
    for (int i = 0; i < m->n_layers; i++) sum += t->s[i][0] + t->s[i][1] + t->s[i][2];
    return sum;
}

static void check_timers(const dacc_model *m, const seen *x) {
    double sum = timers_sum(m), train = x->s.train_seconds;
    CHECK(x->epochs == 1 && m->times.steps == 4, "epochs %d, steps %ld (want 1, 4)", x->epochs, m->times.steps);
    CHECK(train > 0 && train <= x->s.seconds, "train_seconds %g of %g", train, x->s.seconds);
    CHECK(sum <= train && sum >= 0.5 * train, "timers sum to %g s of the steps' %g s", sum, train);
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_CONV) continue;
        CHECK(m->times.s[i][DACC_TIME_FWD] > 0, "%s: no forward time", l->name);
        CHECK(m->times.s[i][DACC_TIME_BWD_WEIGHTS] > 0, "%s: no backward-weights time", l->name);
        if (dacc_model_layer_bwd_fused(m, i))
            CHECK(m->times.s[i][DACC_TIME_BWD_DATA] == 0, "%s: fused, yet backward-data time", l->name);
        else
            CHECK(l->in == 0 || m->times.s[i][DACC_TIME_BWD_DATA] > 0, "%s: no backward-data time", l->name);
    }
}

/* The metrics line through the writer and back through the reader. */
static void check_rundir(const dacc_model *m, const seen *x) {
    const char *dir = test_tmpdir();
    dacc_task t = {"00-Original-s1", 0, m->variant, 1};
    dacc_err e;
    CHECK(dacc_rd_append_metrics(dir, &t, &x->s, m, &e) == 0, "append: %s", e.msg);
    char path[4200], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    CHECK(dacc_read_file(path, 1u << 20, &buf, &len, &e) == 0, "read: %s", e.msg);
    dacc_rd_epoch ep[4];
    int bad = 0;
    CHECK(dacc_rd_parse_metrics(buf, len, ep, 4, &bad) == 1 && bad == 0 && ep[0].epoch == 1,
          "the line with layer_ms no longer parses as a metrics line");
    dacc_rd_layer_ms s;
    dacc_rd_parse_layer_ms(buf, len, &s);
    double sum = s.pack + s.loss + s.adam + s.rest;
    int layers = 0;
    for (int i = 0; i < m->n_layers; i++) layers += m->times.s[i][0] + m->times.s[i][1] + m->times.s[i][2] > 0;
    CHECK(s.n == layers && s.steps == 4 && s.epoch == 1, "read %d layers, %ld steps (want %d, 4)", s.n, s.steps, layers);
    char first[32];
    dacc_model_layer_label(m, 0, first, sizeof first);
    CHECK(s.n > 0 && !strcmp(s.name[0], first), "first layer '%s', want '%s'", s.n ? s.name[0] : "", first);
    for (int i = 0; i < s.n; i++) sum += s.ms[i][0] + s.ms[i][1] + s.ms[i][2];
    int fused = 0, read_fused = 0;
    for (int i = 0; i < m->n_layers; i++) fused += dacc_model_layer_bwd_fused(m, i);
    for (int i = 0; i < s.n; i++) read_fused += s.fused[i] && !strncmp(s.name[i], "conv", 4);
    CHECK(read_fused == fused, "%d layers read back as fused, the model fuses %d", read_fused, fused);
    if (m->k->isa == DACC_ISA_AVX2) CHECK(fused == 2, "AVX2 table: %d fused layers, want 2", fused);
    CHECK(fabs(sum - s.train) <= 0.01 * s.train + 0.1, "parts sum to %g ms, train %g ms", sum, s.train);
    CHECK(fabs(s.train - 1e3 * x->s.train_seconds) < 0.01, "train %g ms, want %g", s.train, 1e3 * x->s.train_seconds);
    free(buf);
}

static void check_reader_tolerance(void) {
    dacc_rd_layer_ms s;
    static const char none[] = "{\"epoch\":1,\"loss\":0.5}\n";
    dacc_rd_parse_layer_ms(none, sizeof none - 1, &s);
    CHECK(s.n == 0, "a line without layer_ms gave %d layers", s.n);
    static const char bad[] = "{\"epoch\":2,\"layer_ms\":{\"steps\":-5,\"layers\":[{\"name\":7,\"fwd\":-1,"
                              "\"bwd_data\":\"x\",\"bwd_weights\":1e300}],\"rest\":\"no\"}}\n"
                              "{\"epoch\":3,\"layer_ms\":{\"layers\":[{\"name\":\"conv\"";
    dacc_rd_parse_layer_ms(bad, sizeof bad - 1, &s);
    CHECK(s.n == 1 && s.epoch == 2 && s.steps == 0 && !strcmp(s.name[0], "?") && isnan(s.ms[0][0]) &&
              isnan(s.ms[0][1]) && isnan(s.ms[0][2]) && isnan(s.rest),
          "bad values: n %d epoch %d steps %ld name '%s'", s.n, s.epoch, s.steps, s.name[0]);
    static const char nul[] = "{\"epoch\":4,\"layer_ms\":{\"steps\":2,\"layers\":["
                              "{\"name\":\"a\",\"fwd\":1,\"bwd_data\":null,\"bwd_weights\":5},"
                              "{\"name\":\"b\",\"fwd\":1,\"bwd_data\":null,\"bwd_weights\":null}]}}\n";
    dacc_rd_parse_layer_ms(nul, sizeof nul - 1, &s);
    CHECK(s.n == 2 && s.fused[0] && s.ms[0][1] == 0 && s.ms[0][2] == 5 && !s.fused[1] && isnan(s.ms[1][1]),
          "bwd_data null: fused %d %d", s.fused[0], s.fused[1]);
}

int main(void) {
    dacc_images tr = {malloc(784 * 64), malloc(64), 64, 28, 28};
    for (int i = 0; i < 64 * 784; i++) tr.pixels[i] = (uint8_t)(i * 7919 % 251);
    for (int i = 0; i < 64; i++) tr.labels[i] = (uint8_t)(i % 10);
    dacc_train_config cfg;
    dacc_train_config_default(&cfg);
    dacc_variant_preset("BatchNorm", &cfg.variant);
    cfg.epochs = 1, cfg.batch = 16;
    dacc_model m;
    dacc_err e;
    CHECK(dacc_model_init(&m, &cfg.variant, 16, 2, 1, &e) == 0, "model: %s", e.msg);
    seen x = {0};
    dacc_train_hooks hooks = {&x, NULL, on_epoch, NULL};
    CHECK(dacc_train_run(&m, &cfg, &tr, &tr, 0, &hooks, NULL, &e) == 0, "train: %s", e.msg);
    check_timers(&m, &x);
    check_rundir(&m, &x);
    check_reader_tolerance();
    dacc_model_free(&m);
    free(tr.pixels), free(tr.labels);
    return test_finish();
}
