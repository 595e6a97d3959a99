/* dacc against PyTorch: one training step of each of the six variants on the
 * committed fixtures tests/fixtures/torch/<variant>.npz (written by
 * tests/torch/make_fixtures.py; PyTorch is never needed here). Per variant,
 * with the default kernel table and the scalar one, on 2 and 1 threads:
 * import the initial state_dict (dacc_import_npz; the imported tensors must
 * equal the file's bit for bit after the layout change), eval-mode logits,
 * train-mode logits, both losses and their logit gradients, every parameter
 * gradient, the BN running statistics, one Adam step, and eval-mode logits
 * with updated running statistics. Dropout p is 0 on both sides.
 *
 * Tolerances (float32 against float32; the two sides differ only in
 * summation order, FMA contraction, expf and the float/double choice of
 * reductions, each ~1e-7 relative per operation, amplified by depth and by
 * batch norm over 8 images, where a channel's variance can be small):
 *   logits (train/eval):  max|d| <= 1e-4 * (1 + max|ref|)
 *   losses:               |d| <= 1e-5 * (1 + |ref|)
 *   dlogits:              max|d| <= 1e-5 * max|ref| + 1e-9
 *   gradients:            ||d||_2 <= 1e-3 * ||ref||_2 per tensor, and
 *                         max|d| <= 1e-3 * max|ref| (BN weights: see
 *                         grad_scale). Measured <= 1.3e-4 (the printed
 *                         table, with the Winograd F(4x4) forward); PyTorch
 *                         float32 itself is ~2e-5 from float64 on these
 *                         inputs. The fixture's batch keeps every small
 *                         layer >= 1e-5 std from a ReLU or max-pool kink
 *                         (make_fixtures.py, kink_margin): nearer, float32
 *                         rounding on either side can route a gradient the
 *                         other way, which moved whole tensors by ~1e-2.
 *   running mean/var:     max|d| <= 1e-4 * (1 + max|ref|)
 *   Adam step, against PyTorch's new parameters (a sample of the big
 *     tensors, every element of the rest): after one step from zero moments
 *     the update is lr * g / (|g| + eps) ~ lr * sign(g), so an element whose
 *     two gradients differ by more than 1e-3 of its size ("undecided": for a
 *     tiny gradient the sign is rounding) may move by up to 2 lr
 *     differently; all others must agree to 1e-7 + 2e-6 |p| + lr * 1e-3.
 *   Adam step, every element against Adam's formula in double on dacc's own
 *     gradients: 1e-7 + 2e-6 |p| + 1e-4 lr. */
#include "nn/model_internal.h"
#include "dacc/interop.h"
#include "dacc/kernels.h"
#include "dacc/model.h"
#include "dacc/npz.h"
#include "harness.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 8
#define LR 1e-3f

typedef struct fixture {
    dacc_npz *z;
    char path[512];
    uint8_t images[N * 784], labels[N];
    float logits[N * 10], dlogits[N * 10], dlogits_paper[N * 10];
    float eval_init[N * 10], eval_stats[N * 10];
    double loss, loss_paper;
    int64_t stride;
} fixture;

/* Worst case over the runs of one variant, for the summary table. */
typedef struct worst {
    double logits, eval, eval_stats, loss, dlogits, grad_rel, grad_max, stats, adam, adam_formula;
    long undecided, checked;
} worst;

static double dmax(double a, double b) { return a > b ? a : b; }

static float *read_f32(dacc_npz *z, const char *name, int64_t *count) {
    const dacc_npy_array *a = dacc_npz_find(z, name);
    if (!a) return NULL;
    float *p = malloc(sizeof(float) * (size_t)(a->count ? a->count : 1));
    dacc_err e;
    if (!p || dacc_npz_read_f32(z, a, 0, a->count, p, &e)) {
        free(p);
        return NULL;
    }
    if (count) *count = a->count;
    return p;
}

static int read_fixed(dacc_npz *z, const char *name, float *dst, int64_t count) {
    int64_t n = 0;
    float *p = read_f32(z, name, &n);
    if (!p || n != count) {
        free(p);
        return -1;
    }
    memcpy(dst, p, sizeof(float) * (size_t)count);
    free(p);
    return 0;
}

static int open_fixture(const char *variant, fixture *f) {
    char rel[128];
    dacc_err e;
    snprintf(rel, sizeof rel, "tests/fixtures/torch/%s.npz", variant);
    test_source_path(rel, f->path, sizeof f->path);
    if (dacc_npz_open(f->path, &f->z, &e)) {
        CHECK(0, "%s", e.msg);
        return -1;
    }
    const dacc_npy_array *im = dacc_npz_find(f->z, "images"), *lb = dacc_npz_find(f->z, "labels"),
                         *st = dacc_npz_find(f->z, "after_stride");
    float l1, l2;
    int bad = !im || im->count != N * 784 || !lb || lb->count != N || !st ||
              dacc_npz_read_u8(f->z, im, 0, N * 784, f->images, &e) ||
              dacc_npz_read_u8(f->z, lb, 0, N, f->labels, &e) ||
              dacc_npz_read_i64(f->z, st, 0, 1, &f->stride, &e) ||
              read_fixed(f->z, "logits", f->logits, N * 10) ||
              read_fixed(f->z, "dlogits", f->dlogits, N * 10) ||
              read_fixed(f->z, "dlogits_paper", f->dlogits_paper, N * 10) ||
              read_fixed(f->z, "eval_logits_init", f->eval_init, N * 10) ||
              read_fixed(f->z, "eval_logits_stats", f->eval_stats, N * 10) ||
              read_fixed(f->z, "loss", &l1, 1) || read_fixed(f->z, "loss_paper", &l2, 1);
    CHECK(!bad, "%s: a fixture array is missing or malformed", f->path);
    if (bad) {
        dacc_npz_close(f->z);
        return -1;
    }
    f->loss = l1;
    f->loss_paper = l2;
    return 0;
}

static const dacc_layer *owner(const dacc_model *m, const dacc_tensor_ref *t) {
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == DACC_L_CONV && m->layers[i].w_off == t->off) return &m->layers[i];
    return NULL;
}

/* A model tensor (parameter data, or its gradient if grads) in PyTorch layout. */
static void to_torch(const dacc_model *m, const dacc_tensor_ref *t, const float *src, float *dst) {
    if (t->conv_weight) {
        const dacc_layer *l = owner(m, t);
        dacc_weight_to_torch(src, l->oc, l->c, l->k, l->k, dst);
    } else {
        memcpy(dst, src, sizeof(float) * t->count);
    }
}

static double max_abs_diff(const float *a, const float *b, size_t n, double *maxref) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (!(x <= d)) d = x; /* NaN sticks */
        r = dmax(r, fabs(b[i]));
    }
    if (maxref) *maxref = r;
    return d;
}

static float *last_dlogits(dacc_model *m) {
    return m->dacts + m->dact_off[m->layers[m->n_layers - 1].out];
}

/* The scale a gradient's error is measured against: its reference's L2 norm
 * and max|.|. A batch-norm weight adds its bias's: when the layers after a BN
 * are positively homogeneous up to the next BN (ReLU, max/avg pooling, as
 * after BN32_2 and BN64_2 with beta = 0), the loss is invariant to gamma's
 * scale and d loss/d gamma = sum dy*xhat is zero in exact arithmetic; what
 * remains is rounding (PyTorch float32 and float64 disagree by ~10% on it).
 * Its terms are as large as those of d loss/d beta = sum dy (|xhat| ~ 1), so
 * the bias gradient's size is the right yardstick for its error. */
static void grad_scale(const dacc_model *m, fixture *f, const char *prefix,
                       const dacc_tensor_ref *t, double *l2, double *maxabs) {
    char name[96];
    *l2 = *maxabs = 0;
    for (int pass = 0; pass < 2; pass++) {
        snprintf(name, sizeof name, "%s", t->name);
        if (pass == 1) {
            char *dot = strrchr(name, '.');
            char rm[128];
            if (!dot || strcmp(dot, ".weight")) break;
            *dot = 0;
            snprintf(rm, sizeof rm, "%s.running_mean", name);
            if (!dacc_model_find_tensor(m, rm)) break;
            strcat(name, ".bias");
        }
        char full[128];
        snprintf(full, sizeof full, "%s/%s", prefix, name);
        int64_t n = 0;
        float *ref = read_f32(f->z, full, &n);
        double s = 0;
        for (int64_t j = 0; ref && j < n; j++) {
            s += (double)ref[j] * ref[j];
            *maxabs = dmax(*maxabs, fabs(ref[j]));
        }
        *l2 = dmax(*l2, sqrt(s));
        free(ref);
    }
}

static void compare_grads(dacc_model *m, fixture *f, const char *prefix, const char *what,
                          worst *w, int only_present) {
    float *tmp = malloc(sizeof(float) * 140000);
    for (int i = 0; i < m->n_tensors; i++) {
        const dacc_tensor_ref *t = &m->tensors[i];
        if (t->role != DACC_T_PARAM) continue;
        char name[96];
        snprintf(name, sizeof name, "%s/%s", prefix, t->name);
        int64_t n = 0;
        float *ref = read_f32(f->z, name, &n);
        if (!ref && only_present) continue;
        CHECK(ref && n == (int64_t)t->count, "%s: %s missing or wrong size", what, name);
        if (!ref || n != (int64_t)t->count) {
            free(ref);
            continue;
        }
        to_torch(m, t, m->grads + t->off, tmp);
        double num = 0, den = 0, maxd = 0, maxr = 0;
        for (size_t j = 0; j < t->count; j++) {
            double d = (double)tmp[j] - ref[j];
            num += d * d;
            if (!(fabs(d) <= maxd)) maxd = fabs(d);
        }
        grad_scale(m, f, prefix, t, &den, &maxr);
        double rel = sqrt(num) / (den + 1e-30), relmax = maxd / (maxr + 1e-30);
        if (den == 0) rel = relmax = maxd; /* an all-zero gradient must stay zero */
        CHECK(rel <= 1e-3 && relmax <= 1e-3,
              "%s: gradient %s: |d|/scale = %.3g, max|d|/max-scale = %.3g (max-scale %.3g)", what,
              t->name, rel, relmax, maxr);
        w->grad_rel = dmax(w->grad_rel, rel);
        w->grad_max = dmax(w->grad_max, relmax);
        free(ref);
    }
    free(tmp);
}

static void run(const dacc_variant *v, fixture *f, const dacc_kernels *table, int threads,
                worst *w) {
    char what[128];
    snprintf(what, sizeof what, "%s, %s kernels, %d thread%s", v->name, dacc_isa_name(table->isa),
             threads, threads > 1 ? "s" : "");
    dacc_model m;
    dacc_err e;
    if (dacc_model_init(&m, v, N, threads, 12345, &e)) {
        CHECK(0, "%s: %s", what, e.msg);
        return;
    }
    m.k = table;
    int drop = 0;
    for (int i = 0; i < m.n_layers; i++)
        if (m.layers[i].kind == DACC_L_DROPOUT) {
            m.layers[i].p = 0;
            drop++;
        }
    CHECK(drop == (v->dropout == DACC_DROPOUT_ALL ? 3 : 1), "%s: %d dropout layers", what, drop);

    /* import, and the import's result against the file */
    int rc = dacc_import_npz(&m, f->path, &e);
    CHECK(rc == 0, "%s: import: %s", what, rc ? e.msg : "");
    if (rc) {
        dacc_model_free(&m);
        return;
    }
    float *tmp = malloc(sizeof(float) * 140000);
    int n_state = 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const dacc_tensor_ref *t = &m.tensors[i];
        int64_t n = 0;
        float *ref = read_f32(f->z, t->name, &n);
        to_torch(&m, t, dacc_model_tensor_data(&m, t), tmp);
        CHECK(ref && n == (int64_t)t->count && !memcmp(ref, tmp, sizeof(float) * t->count),
              "%s: imported %s differs from the file", what, t->name);
        free(ref);
    }
    /* the file's state_dict (names without '/', not the extras) must be exactly
     * the model's tensors plus num_batches_tracked */
    static const char *extras[] = {"images", "labels", "logits", "loss", "loss_paper", "dlogits",
                                   "dlogits_paper", "eval_logits_init", "eval_logits_stats",
                                   "after_stride"};
    for (int i = 0; i < dacc_npz_count(f->z); i++) {
        const char *name = dacc_npz_array(f->z, i)->name;
        int extra = strchr(name, '/') != NULL;
        for (size_t j = 0; j < sizeof extras / sizeof *extras; j++) extra |= !strcmp(name, extras[j]);
        if (extra) continue;
        n_state++;
        if (strstr(name, ".num_batches_tracked")) continue;
        CHECK(dacc_model_find_tensor(&m, name), "%s: state_dict key %s is not a dacc tensor", what,
              name);
    }
    CHECK(n_state == m.n_tensors + m.n_bn, "%s: %d state_dict keys, dacc has %d tensors + %d BN",
          what, n_state, m.n_tensors, m.n_bn);

    double d, r;
    /* eval mode, initial running statistics */
    const float *lg = dacc_model_forward(&m, f->images, N, 0, 0);
    d = max_abs_diff(lg, f->eval_init, N * 10, &r);
    CHECK(d <= 1e-4 * (1 + r), "%s: eval logits: max|d| %.3g (max|ref| %.3g)", what, d, r);
    w->eval = dmax(w->eval, d);

    /* train mode */
    lg = dacc_model_forward(&m, f->images, N, 1, 99);
    d = max_abs_diff(lg, f->logits, N * 10, &r);
    CHECK(d <= 1e-4 * (1 + r), "%s: train logits: max|d| %.3g (max|ref| %.3g)", what, d, r);
    w->logits = dmax(w->logits, d);

    /* paper protocol: loss, dlogits, end-to-end gradients of conv32_1 and fc */
    double loss = dacc_model_loss(&m, f->labels, N, 1, NULL);
    d = fabs(loss - f->loss_paper);
    CHECK(d <= 1e-5 * (1 + fabs(f->loss_paper)), "%s: paper loss %.8f vs %.8f", what, loss,
          f->loss_paper);
    w->loss = dmax(w->loss, d);
    d = max_abs_diff(last_dlogits(&m), f->dlogits_paper, N * 10, &r);
    CHECK(d <= 1e-5 * r + 1e-9, "%s: paper dlogits: max|d| %.3g (max|ref| %.3g)", what, d, r);
    w->dlogits = dmax(w->dlogits, d / (r + 1e-30));
    dacc_model_backward(&m, N);
    compare_grads(&m, f, "grad_paper", what, w, 1);

    /* default protocol: loss, dlogits, every gradient */
    loss = dacc_model_loss(&m, f->labels, N, 0, NULL);
    d = fabs(loss - f->loss);
    CHECK(d <= 1e-5 * (1 + fabs(f->loss)), "%s: loss %.8f vs %.8f", what, loss, f->loss);
    w->loss = dmax(w->loss, d);
    d = max_abs_diff(last_dlogits(&m), f->dlogits, N * 10, &r);
    CHECK(d <= 1e-5 * r + 1e-9, "%s: dlogits: max|d| %.3g (max|ref| %.3g)", what, d, r);
    w->dlogits = dmax(w->dlogits, d / (r + 1e-30));
    dacc_model_backward(&m, N);
    compare_grads(&m, f, "grad", what, w, 0);

    /* running statistics after the training forward */
    for (int i = 0; i < m.n_tensors; i++) {
        const dacc_tensor_ref *t = &m.tensors[i];
        if (t->role != DACC_T_BUFFER) continue;
        char name[96];
        snprintf(name, sizeof name, "after/%s", t->name);
        int64_t n = 0;
        float *ref = read_f32(f->z, name, &n);
        CHECK(ref && n == (int64_t)t->count, "%s: %s missing", what, name);
        if (ref && n == (int64_t)t->count) {
            d = max_abs_diff(dacc_model_tensor_data(&m, t), ref, t->count, &r);
            CHECK(d <= 1e-4 * (1 + r), "%s: %s: max|d| %.3g (max|ref| %.3g)", what, t->name, d, r);
            w->stats = dmax(w->stats, d);
        }
        free(ref);
    }
    for (int i = 0; i < m.n_bn; i++)
        CHECK(m.bn_batches[i] == 1, "%s: num_batches_tracked[%d] = %lld", what, i,
              (long long)m.bn_batches[i]);

    /* one Adam step */
    float *p0 = malloc(sizeof(float) * m.n_params), *g = malloc(sizeof(float) * m.n_params);
    memcpy(p0, m.params, sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    dacc_model_adam_step(&m, LR);
    double worst_formula = 0;
    for (size_t j = 0; j < m.n_params; j++) {
        /* m = 0.1 g, v = 0.001 g^2, bc1 = 0.1, bc2 = 0.001 */
        double gj = g[j], mh = 0.1 * gj / (1 - 0.9), vh = 0.001 * gj * gj / (1 - 0.999);
        double want = p0[j] - (double)LR * mh / (sqrt(vh) + 1e-8);
        double dd = fabs(m.params[j] - want);
        if (!(dd <= 1e-7 + 2e-6 * fabs(want) + 1e-4 * LR) && worst_formula == 0)
            CHECK(0, "%s: Adam: parameter %zu: %.9g, formula %.9g (g %.3g)", what, j, m.params[j],
                  want, gj);
        if (!(dd - 2e-6 * fabs(want) <= worst_formula)) worst_formula = dd - 2e-6 * fabs(want);
    }
    CHECK(worst_formula <= 1e-7 + 1e-4 * LR, "%s: Adam against its formula: excess %.3g", what,
          worst_formula);
    w->adam_formula = dmax(w->adam_formula, worst_formula);
    float *gt = malloc(sizeof(float) * 140000);
    for (int i = 0; i < m.n_tensors; i++) {
        const dacc_tensor_ref *t = &m.tensors[i];
        if (t->role != DACC_T_PARAM) continue;
        char name[96];
        snprintf(name, sizeof name, "after/%s", t->name);
        int64_t n = 0;
        float *ref = read_f32(f->z, name, &n);
        snprintf(name, sizeof name, "grad/%s", t->name);
        int64_t ng = 0;
        float *gref = read_f32(f->z, name, &ng);
        int64_t stride = n == (int64_t)t->count ? 1 : f->stride;
        int ok = ref && gref && ng == (int64_t)t->count && stride >= 1 &&
                 n == ((int64_t)t->count + stride - 1) / stride;
        CHECK(ok, "%s: after/%s missing or of the wrong size", what, t->name);
        if (ok) {
            /* undecided: the two gradients of this element differ by more
             * than 1e-3 of its size (the gradient check bounds them by the
             * tensor's scale; a tiny element's sign can still be rounding) */
            float *gd = malloc(sizeof(float) * t->count);
            to_torch(&m, t, g + t->off, gd);
            to_torch(&m, t, m.params + t->off, gt);
            int bad = 0;
            for (int64_t s = 0; s < n; s++) {
                size_t j = (size_t)(s * stride);
                double dd = fabs((double)gt[j] - ref[s]);
                w->checked++;
                if (!(fabs((double)gd[j] - gref[j]) <= 1e-3 * fabs(gref[j]))) {
                    w->undecided++;
                    if (dd > 2 * LR + 1e-6) bad++;
                } else {
                    if (dd > 1e-7 + 2e-6 * fabs(ref[s]) + 1e-3 * LR) bad++;
                    w->adam = dmax(w->adam, dd);
                }
            }
            CHECK(!bad, "%s: after the Adam step, %d elements of %s differ from PyTorch", what,
                  bad, t->name);
            free(gd);
        }
        free(ref);
        free(gref);
    }
    free(gt);
    free(p0);
    free(g);

    /* eval mode with the initial parameters and the updated running stats */
    rc = dacc_import_npz(&m, f->path, &e);
    CHECK(rc == 0, "%s: re-import: %s", what, rc ? e.msg : "");
    for (int i = 0; i < m.n_tensors; i++) {
        const dacc_tensor_ref *t = &m.tensors[i];
        if (t->role != DACC_T_BUFFER) continue;
        char name[96];
        snprintf(name, sizeof name, "after/%s", t->name);
        int64_t n = 0;
        float *ref = read_f32(f->z, name, &n);
        if (ref && n == (int64_t)t->count)
            memcpy(dacc_model_tensor_data(&m, t), ref, sizeof(float) * t->count);
        free(ref);
    }
    lg = dacc_model_forward(&m, f->images, N, 0, 0);
    d = max_abs_diff(lg, f->eval_stats, N * 10, &r);
    CHECK(d <= 1e-4 * (1 + r), "%s: eval logits (updated stats): max|d| %.3g (max|ref| %.3g)",
          what, d, r);
    w->eval_stats = dmax(w->eval_stats, d);
    free(tmp);
    dacc_model_free(&m);
}

int main(void) {
    const dacc_kernels *def = dacc_kernels_get();
    static dacc_kernels scalar;
    CHECK(def != NULL, "default kernel table: %s", dacc_kernels_error());
    CHECK(dacc_kernels_for_isa(DACC_ISA_SCALAR, &scalar) == 0, "no scalar kernel table");
    if (!def) return test_finish();
    const dacc_kernels *tables[2] = {def, &scalar};
    printf("%-12s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %s\n", "variant", "logits", "eval",
           "eval_rs", "loss", "dlogits_r", "grad_rel", "grad_max", "run_stat", "adam", "adam_f",
           "undecided/checked");
    for (int vi = 0; vi < DACC_N_PRESETS; vi++) {
        dacc_variant v;
        CHECK(dacc_variant_preset(dacc_preset_names[vi], &v) == 0, "preset %s",
              dacc_preset_names[vi]);
        fixture *f = calloc(1, sizeof *f);
        if (open_fixture(v.name, f)) {
            free(f);
            continue;
        }
        worst w = {0};
        for (int ti = 0; ti < 2; ti++)
            for (int threads = 2; threads >= 1; threads--) run(&v, f, tables[ti], threads, &w);
        printf("%-12s %9.2e %9.2e %9.2e %9.2e %9.2e %9.2e %9.2e %9.2e %9.2e %9.2e %ld/%ld\n", v.name,
               w.logits, w.eval, w.eval_stats, w.loss, w.dlogits, w.grad_rel, w.grad_max, w.stats,
               w.adam, w.adam_formula, w.undecided, w.checked);
        dacc_npz_close(f->z);
        free(f);
    }
    return test_finish();
}
