/* Determinism and cross-ISA agreement of whole training steps.
 *
 * 1. For a given thread count and seed, training is bit-reproducible: two
 *    fresh models trained on the same batches (dropout on), and the first
 *    model re-initialised with dacc_model_init_params and trained again,
 *    end with identical parameters, gradients, Adam moments, BN running
 *    statistics and logits (memcmp), for 1 and 2 threads and five variants.
 *    So the test can fail, it also checks that training moved the
 *    parameters and that another dropout seed gives other parameters.
 * 2. Every ISA table the CPU runs (dacc_kernels_for_isa, assigned to m.k
 *    after init) agrees with the scalar table on one training step: loss,
 *    logits, every parameter's gradient, and the parameter update of the
 *    Adam step. Loss, logits and gradients as relative L2 norms of the
 *    difference, within the tolerances below. The update is judged against
 *    Adam evaluated in double from the shared moments and the table's own
 *    gradient, element by element, for every table (scalar included): so
 *    the step itself is exact to float rounding, and the update's
 *    difference to the scalar table's is Adam's response to the gradient
 *    difference checked above. That difference is printed, not bounded on
 *    its own: a max-pool near-tie (inputs equal to a rounding) moves a whole
 *    pooled gradient to another pixel, batch norm spreads it, and Adam turns
 *    a gradient difference d into about 0.35 d of update (Original, hwy,
 *    DACC_TEST_SEED=3008976828492: gradients 1.4e-3, update 4.9e-4, no
 *    parameter's update off by more than 0.05 lr), so a fixed 1e-3 on the update failed now
 *    and then (1.12e-3) while the gradients were well within TOL_GRAD.
 *    The compared step comes after a few steps of shared history (default
 *    table), not first, so most parameters have a gradient history. The
 *    scalar step takes most of the ~10 s this test runs.
 *    The compared step takes the precise path (F(2x2) or direct,
 *    dacc_model_set_train_precise): training's F(4x4) rounds ~10x more,
 *    so its near-ties go another way than the scalar table's often enough
 *    to leave these bounds (DACC_TEST_SEED=93193996613346: BN64_2.bias
 *    3e-2 apart on avx2 and avx512, the scalar's perturbed runs 6e-6).
 *    The F(4x4) step is judged by test_train_f64.c instead, against the
 *    step in double with its near-ties accounted for; part 1 runs the
 *    default (F(4x4)) path.
 *
 * Inputs are random MNIST-looking images (fresh each run; DACC_TEST_SEED
 * replays one), so the test needs no data files. */
#include "nn/model_internal.h"
#include "nn/model_plan.h"
#include "dacc/model.h"
#include "harness.h"
#include "adam64.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 32, STEPS = 3, IMAGES = BATCH * STEPS };

/* Tolerances of part 2 (relative L2 norm of the difference to the scalar
 * table). Kernels sum in different orders (vector lanes, FMA), so results
 * differ by float rounding, amplified by batch-norm's division by the batch
 * standard deviation. */
#define TOL_LOSS 1e-5
#define TOL_LOGITS 1e-4
#define TOL_GRAD 1e-2      /* gradients, floor: a pre-activation within a rounding
                              of 0 flips its ReLU, and a near-tie in a max-pool
                              window picks another winner, when the inputs
                              differ by a rounding; either reroutes a gradient,
                              and batch-norm spreads it over the channel. Seen
                              above this floor: 1.3e-2 (ConvPool AVX2
                              BN32_1.bias, DACC_TEST_SEED=36702291742660) and
                              1.04e-2 (AveragePool hwy conv32_1.bias,
                              DACC_TEST_SEED=21187335932947); on such seeds the
                              scalar table's own sensitivity (below) raises the
                              bound. A flipped kernel gradient gives 0.2-0.4. */
/* Where rounding decides a route (the near-ties above), the scalar table
 * itself moves that much under rounding-sized changes: the gradient bound
 * of a tensor is max(TOL_GRAD, SENS_FACTOR x the largest difference between
 * the scalar step and SENS_RUNS scalar steps whose parameters were scaled by
 * 1 + PERTURB (random sign per element, ~8 float ulps: the size of a
 * different summation order's rounding after a few layers)). On a smooth
 * seed that leaves TOL_GRAD; a flipped kernel gradient (0.2-0.4) still
 * fails. */
#define SENS_RUNS 2
#define SENS_FACTOR 4.0
#define PERTURB 1e-6
#define TOL_ADAM 1e-5      /* update against double Adam of the table's own
                              gradient, relative (see adam_error) */
#define LR 1e-3f

static uint8_t images[IMAGES * 784], labels[IMAGES];

static void make_data(uint64_t seed) {
    uint64_t s = seed | 1;
    for (int i = 0; i < IMAGES; i++) {
        /* a bright rectangle at a random place on a dark background, noise */
        int x0 = (int)(test_rand_u64(&s) % 18), y0 = (int)(test_rand_u64(&s) % 18);
        int w = 4 + (int)(test_rand_u64(&s) % 8), h = 4 + (int)(test_rand_u64(&s) % 8);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int in = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
                uint64_t r = test_rand_u64(&s);
                images[i * 784 + y * 28 + x] = in ? (uint8_t)(160 + r % 96) : (r % 10 == 0 ? (uint8_t)(r >> 8) : 0);
            }
        labels[i] = (uint8_t)(test_rand_u64(&s) % 10);
    }
}

static void train_steps(dacc_model *m, int steps, uint64_t dseed, double *loss) {
    for (int st = 0; st < steps; st++) {
        int b = st % STEPS;
        dacc_model_forward(m, images + (size_t)b * BATCH * 784, BATCH, 1, dseed + (uint64_t)st);
        double l = dacc_model_loss(m, labels + b * BATCH, BATCH, 0, NULL);
        if (loss) *loss = l;
        dacc_model_backward(m, BATCH);
        dacc_model_adam_step(m, LR);
    }
}

/* Everything a training step writes that a later step or a checkpoint reads. */
typedef struct snapshot {
    float *params, *grads, *am, *av, *buffers, *logits;
    int64_t bn[16], step;
} snapshot;

static void take(const dacc_model *m, snapshot *s) {
    size_t np = m->n_params * sizeof(float);
    s->params = malloc(np);
    s->grads = malloc(np);
    s->am = malloc(np);
    s->av = malloc(np);
    s->buffers = malloc(m->n_buffers * sizeof(float) + 1);
    s->logits = malloc(BATCH * DACC_CLASSES * sizeof(float));
    memcpy(s->params, m->params, np);
    memcpy(s->grads, m->grads, np);
    memcpy(s->am, m->adam_m, np);
    memcpy(s->av, m->adam_v, np);
    memcpy(s->buffers, m->buffers, m->n_buffers * sizeof(float));
    memcpy(s->logits, dacc_model_logits(m), BATCH * DACC_CLASSES * sizeof(float));
    memset(s->bn, 0, sizeof s->bn);
    for (int i = 0; i < m->n_bn && i < 16; i++) s->bn[i] = m->bn_batches[i];
    s->step = m->adam_step;
}

static void drop(snapshot *s) {
    free(s->params); free(s->grads); free(s->am); free(s->av); free(s->buffers); free(s->logits);
}

static int same(const dacc_model *m, const snapshot *a, const snapshot *b, const char *what,
                const char *variant, int threads) {
    size_t np = m->n_params * sizeof(float);
    int ok = 1;
#define SAME(field, bytes)                                                                     \
    do {                                                                                       \
        int eq = memcmp(a->field, b->field, bytes) == 0;                                       \
        CHECK(eq, "%s, %d thread(s), %s: " #field " differ", variant, threads, what);         \
        ok &= eq;                                                                              \
    } while (0)
    SAME(params, np);
    SAME(grads, np);
    SAME(am, np);
    SAME(av, np);
    SAME(buffers, m->n_buffers * sizeof(float));
    SAME(logits, BATCH * DACC_CLASSES * sizeof(float));
    SAME(bn, sizeof a->bn);
#undef SAME
    CHECK(a->step == b->step, "%s: adam step %lld vs %lld", what, (long long)a->step, (long long)b->step);
    return ok;
}

static void reproducible(const char *variant, int threads, uint64_t seed) {
    dacc_variant v;
    dacc_err e;
    if (dacc_variant_parse(variant, &v, &e)) {
        CHECK(0, "variant %s: %s", variant, e.msg);
        return;
    }
    dacc_model a, b;
    if (dacc_model_init(&a, &v, BATCH, threads, seed, &e) || dacc_model_init(&b, &v, BATCH, threads, seed, &e)) {
        CHECK(0, "model init: %s", e.msg);
        return;
    }
    snapshot init, sa, sb, sr, sd;
    take(&a, &init);
    const uint64_t dseed = seed * 31 + 7;
    train_steps(&a, STEPS, dseed, NULL);
    train_steps(&b, STEPS, dseed, NULL);
    take(&a, &sa);
    take(&b, &sb);
    same(&a, &sa, &sb, "two fresh models", variant, threads);
    /* the same model object again, from re-initialised parameters */
    dacc_model_init_params(&a, seed);
    train_steps(&a, STEPS, dseed, NULL);
    take(&a, &sr);
    same(&a, &sa, &sr, "re-initialised model", variant, threads);
    /* the comparisons above must be able to fail */
    CHECK(memcmp(init.params, sa.params, a.n_params * sizeof(float)) != 0, "%s: training changed nothing",
          variant);
    dacc_model_init_params(&b, seed);
    train_steps(&b, STEPS, dseed + 1000, NULL);
    take(&b, &sd);
    CHECK(memcmp(sd.params, sa.params, a.n_params * sizeof(float)) != 0,
          "%s, %d thread(s): another dropout seed gave the same parameters", variant, threads);
    drop(&init); drop(&sa); drop(&sb); drop(&sr); drop(&sd);
    dacc_model_free(&a);
    dacc_model_free(&b);
}

/* ||a - b|| / ||b|| over n floats (0 if both are zero). */
static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)a[i] - b[i];
        d += x * x;
        r += (double)b[i] * b[i];
    }
    if (r == 0) return d == 0 ? 0 : INFINITY;
    return sqrt(d / r);
}

typedef struct step_result {
    double loss;
    float *logits, *grads, *update;
    float *p0, *m0, *v0; /* parameters and Adam moments before the step */
    int64_t t;      /* Adam step count of the compared step */
} step_result;

/* HISTORY steps with the default table (shared by every ISA), then one step
 * with `k`: its loss, logits, gradients and parameter update. */
enum { HISTORY = 4 };
static void perturb(dacc_model *m, uint64_t stream) {
    uint64_t x = stream * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < m->n_params; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        m->params[i] *= (float)(1.0 + ((x >> 63) ? PERTURB : -PERTURB));
    }
}

/* `pert` != 0: the parameters are perturbed (see SENS_RUNS) before the step. */
static int one_step(const char *variant, const dacc_kernels *k, uint64_t seed, uint64_t pert,
                    step_result *r) {
    dacc_variant v;
    dacc_err e;
    dacc_model m;
    if (dacc_variant_parse(variant, &v, &e) || dacc_model_init(&m, &v, BATCH, 1, seed, &e)) {
        CHECK(0, "%s: %s", variant, e.msg);
        return -1;
    }
    train_steps(&m, HISTORY, seed, NULL);
    if (pert) perturb(&m, pert);
    size_t np = m.n_params;
    float *before = malloc(np * sizeof(float));
    memcpy(before, m.params, np * sizeof(float));
    r->p0 = malloc(np * sizeof(float));
    memcpy(r->p0, before, np * sizeof(float));
    r->m0 = malloc(np * sizeof(float));
    r->v0 = malloc(np * sizeof(float));
    memcpy(r->m0, m.adam_m, np * sizeof(float));
    memcpy(r->v0, m.adam_v, np * sizeof(float));
    m.k = k; /* the table outlives the model's use of it */
    dacc_model_set_train_precise(&m, 1); /* see part 2 in the header */
    train_steps(&m, 1, seed + 99, &r->loss);
    r->t = m.adam_step;
    r->logits = malloc(BATCH * DACC_CLASSES * sizeof(float));
    memcpy(r->logits, dacc_model_logits(&m), BATCH * DACC_CLASSES * sizeof(float));
    r->grads = malloc(np * sizeof(float));
    memcpy(r->grads, m.grads, np * sizeof(float));
    r->update = before;
    for (size_t i = 0; i < np; i++) r->update[i] = m.params[i] - before[i];
    dacc_model_free(&m);
    return 0;
}

static void free_result(step_result *r) {
    free(r->logits); free(r->grads); free(r->update); free(r->p0); free(r->m0); free(r->v0);
}

/* Adam's update of parameter j from r's moments before the step and
 * gradient g, in double (adam64.h). */
static double adam_update(const step_result *r, size_t j, double g, double *mag) {
    return test_adam64(r->m0[j], r->v0[j], r->t, g, LR, mag);
}

/* r's update against double Adam of r's own gradient, element by
 * element: the worst test_adam_ratio (TOL_ADAM), which must be <= 1. */
static double adam_error(const step_result *r, size_t np, size_t *worst_j) {
    double worst = 0;
    *worst_j = 0;
    for (size_t j = 0; j < np; j++) {
        double mag, u = adam_update(r, j, r->grads[j], &mag);
        double ratio = test_adam_ratio(r->p0[j], r->update[j], u, mag, TOL_ADAM);
        if (!(ratio <= worst)) {
            worst = ratio;
            *worst_j = j;
        }
    }
    return worst;
}

static void isa_agreement(const char *variant, uint64_t seed) {
    static dacc_kernels tables[DACC_ISA_COUNT]; /* alive for the whole test */
    if (dacc_kernels_for_isa(DACC_ISA_SCALAR, &tables[DACC_ISA_SCALAR])) {
        CHECK(0, "no scalar table");
        return;
    }
    step_result ref;
    if (one_step(variant, &tables[DACC_ISA_SCALAR], seed, 0, &ref)) return;
    /* tensor layout, for per-tensor gradient checks */
    dacc_variant v;
    dacc_err e;
    dacc_model shape;
    dacc_variant_parse(variant, &v, &e);
    if (dacc_model_init(&shape, &v, 1, 1, seed, &e)) {
        CHECK(0, "%s", e.msg);
        free_result(&ref);
        return;
    }
    double *sens = calloc((size_t)shape.n_tensors + 1, sizeof(double)); /* [n_tensors]: all */
    for (int run = 1; sens && run <= SENS_RUNS; run++) {
        step_result p;
        if (one_step(variant, &tables[DACC_ISA_SCALAR], seed, seed + (uint64_t)run, &p)) continue;
        for (int t = 0; t < shape.n_tensors; t++) {
            const dacc_tensor_ref *tr = &shape.tensors[t];
            if (tr->role == DACC_T_PARAM)
                sens[t] = fmax(sens[t], rel_l2(p.grads + tr->off, ref.grads + tr->off, tr->count));
        }
        sens[shape.n_tensors] = fmax(sens[shape.n_tensors], rel_l2(p.grads, ref.grads, shape.n_params));
        free_result(&p);
    }
    size_t wj;
    double da = adam_error(&ref, shape.n_params, &wj);
    CHECK(da <= 1, "%s scalar: parameter %zu: update %.9g, double Adam of its own gradient %.9g", variant, wj,
          ref.update[wj], adam_update(&ref, wj, ref.grads[wj], NULL));
    int tested = 0;
    for (int isa = DACC_ISA_SCALAR + 1; isa < DACC_ISA_COUNT; isa++) {
        if (dacc_kernels_for_isa((dacc_isa)isa, &tables[isa])) continue; /* CPU or build lacks it */
        tested++;
        step_result r;
        if (one_step(variant, &tables[isa], seed, 0, &r)) continue;
        const char *name = dacc_isa_name((dacc_isa)isa);
        double dl = fabs(r.loss - ref.loss) / fmax(fabs(ref.loss), 1e-30);
        CHECK(dl <= TOL_LOSS, "%s %s: loss %.9g vs scalar %.9g (rel %.2e > %.0e)", variant, name, r.loss,
              ref.loss, dl, TOL_LOSS);
        double dz = rel_l2(r.logits, ref.logits, BATCH * DACC_CLASSES);
        CHECK(dz <= TOL_LOGITS, "%s %s: logits rel L2 diff %.2e > %.0e", variant, name, dz, TOL_LOGITS);
        double worst = 0;
        const char *worst_name = "";
        for (int t = 0; t < shape.n_tensors; t++) {
            const dacc_tensor_ref *tr = &shape.tensors[t];
            if (tr->role != DACC_T_PARAM) continue;
            double d = rel_l2(r.grads + tr->off, ref.grads + tr->off, tr->count);
            double tol = fmax(TOL_GRAD, SENS_FACTOR * (sens ? sens[t] : 0));
            CHECK(d <= tol, "%s %s: gradient of %s rel L2 diff %.2e > %.1e (scalar's own rounding sensitivity %.1e)",
                  variant, name, tr->name, d, tol, sens ? sens[t] : 0);
            if (d > worst) { worst = d; worst_name = tr->name; }
        }
        double dg = rel_l2(r.grads, ref.grads, shape.n_params);
        double tol_all = fmax(TOL_GRAD, SENS_FACTOR * (sens ? sens[shape.n_tensors] : 0));
        CHECK(dg <= tol_all, "%s %s: all gradients rel L2 diff %.2e > %.1e", variant, name, dg, tol_all);
        CHECK(!memcmp(r.m0, ref.m0, shape.n_params * sizeof(float)) &&
                  !memcmp(r.v0, ref.v0, shape.n_params * sizeof(float)),
              "%s %s: the shared history's Adam moments differ", variant, name);
        da = adam_error(&r, shape.n_params, &wj);
        CHECK(da <= 1, "%s %s: parameter %zu: update %.9g, double Adam of its own gradient %.9g",
              variant, name, wj, r.update[wj], adam_update(&r, wj, r.grads[wj], NULL));
        double du = rel_l2(r.update, ref.update, shape.n_params);
        fprintf(stderr, "%-11s %-6s vs scalar: loss %.1e, logits %.1e, gradients %.1e, worst tensor %.1e (%s), "
                "update %.1e; Adam %.2f of its tolerance\n", variant, name, dl, dz, dg, worst, worst_name, du, da);
        free_result(&r);
    }
    if (!tested) SKIP("%s: no ISA besides scalar on this CPU/build", variant);
    if (sens)
        fprintf(stderr, "%-11s scalar's own rounding sensitivity (all gradients): %.1e\n", variant,
                sens[shape.n_tensors]);
    free(sens);
    dacc_model_free(&shape);
    free_result(&ref);
}

int main(void) {
    uint64_t seed = test_seed();
    make_data(seed);
    static const char *const variants[] = {"Original", "BatchNorm", "Dropout", "ConvPool", "AveragePool"};
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
            reproducible(variants[i], threads, seed % 100000 + 1 + i);
    isa_agreement("Original", seed % 100000 + 11);
    isa_agreement("ConvPool", seed % 100000 + 12);
    isa_agreement("AveragePool", seed % 100000 + 13);
    return test_finish();
}
