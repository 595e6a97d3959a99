/* The fused backward op (kernels.h: conv_bwd_both) of every compiled
 * table: where its query accepts a shape, dx, dw and db must be the bits of
 * the same table's backward-data then backward-weights (the training
 * checkpoints do not change with it), with db and without; scratch and
 * outputs poisoned with NaN (a read of anything never written fails) and
 * followed by guard words (an overrun of the query's sizes fails).
 *
 * Acceptance: where a table runs both ops in F(4x4) (8-lane vectors), the
 * network's conv32_2 and conv64_2 must be fused, and the engine must pick
 * F(4x4) for both their backward ops (a silent refusal would leave the
 * bit comparison with nothing to compare); odd outputs, padding and
 * F(2x2) must be refused, as must every pair on a table that does not
 * fuse. The refused shapes still give the two ops' results through the
 * compute op where a table's query refuses everything (its compute then
 * runs them in turn). */
#include "dacc/kernels.h"
#include "harness.h"
#include "guarded.h"
#include "nn/conv_algo.h"
#include "nn/conv_ops.h"
#include <stdlib.h>
#include <string.h>

static uint64_t rng;

static float *random_buf(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = test_rand_uniform(&rng, -1.0f, 1.0f);
    return p;
}

static dacc_conv_shape shape(int n, int ih, int ic, int oc, int pad) {
    dacc_conv_shape s = {n, ih, ih, ic, ih + 2 * pad - 2, ih + 2 * pad - 2, oc, 3, 3, 1, pad, 0};
    return s;
}

static const char *str(const dacc_conv_shape *s) {
    static char b[96];
    snprintf(b, sizeof b, "%dx%dx%dx%d>%d pad %d", s->n, s->ih, s->iw, s->ic, s->oc, s->pad);
    return b;
}

/* The two ops apart into dx0, dw0, db0 (db0 NULL: no bias gradient). */
static void run_apart(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo da,
                      dacc_conv_algo wa, const float *x, const float *dy, const float *packed,
                      float *dx0, float *dw0, float *db0) {
    dacc_conv_need nb, nf;
    k->conv_bwd_data_query(s, da, &nb);
    k->conv_bwd_filter_query(s, wa, &nf);
    const size_t sc = nb.scratch_size > nf.scratch_size ? nb.scratch_size : nf.scratch_size;
    float *scratch = alloc_guarded(sc);
    k->conv_bwd_data(s, da, dy, packed, dx0, scratch);
    k->conv_bwd_filter(s, wa, x, dy, dw0, db0, scratch);
    free(scratch);
}

/* Fused against apart for one table, shape and pair; returns whether the
 * query accepted. */
static int compare_one(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo da,
                       dacc_conv_algo wa, int with_db) {
    const char *name = k->names[DACC_OP_conv_bwd_both];
    dacc_conv_need nd, nboth;
    if (k->conv_bwd_data_query(s, da, &nd)) return 0;
    dacc_conv_need nf;
    if (k->conv_bwd_filter_query(s, wa, &nf)) return 0;
    const int fused = k->conv_bwd_both_query(s, da, wa, &nboth) == 0;
    if (fused)
        CHECK(nboth.packed_size == nd.packed_size, "%s: packed size %zu, backward-data's %zu (%s)",
              name, nboth.packed_size, nd.packed_size, str(s));
    else
        nboth.scratch_size = nd.scratch_size > nf.scratch_size ? nd.scratch_size : nf.scratch_size;
    const size_t nx = (size_t)s->n * s->ih * s->iw * s->ic, ny = (size_t)s->n * s->oh * s->ow * s->oc;
    const size_t nw = (size_t)9 * s->ic * s->oc;
    float *x = random_buf(nx), *dy = random_buf(ny), *w = random_buf(nw);
    float *packed = alloc_guarded(nd.packed_size);
    k->conv_bwd_data_pack(s, da, w, packed);
    float *dx0 = alloc_guarded(nx), *dw0 = alloc_guarded(nw), *db0 = alloc_guarded(s->oc);
    float *dx1 = alloc_guarded(nx), *dw1 = alloc_guarded(nw), *db1 = alloc_guarded(s->oc);
    float *scratch = alloc_guarded(nboth.scratch_size);
    run_apart(k, s, da, wa, x, dy, packed, dx0, dw0, with_db ? db0 : NULL);
    k->conv_bwd_both(s, da, wa, x, dy, packed, dx1, dw1, with_db ? db1 : NULL, scratch);
    CHECK(!memcmp(dx0, dx1, sizeof(float) * nx), "%s: dx differs from backward-data's (%s)", name,
          str(s));
    CHECK(!memcmp(dw0, dw1, sizeof(float) * nw), "%s: dw differs from backward-weights' (%s)",
          name, str(s));
    if (with_db)
        CHECK(!memcmp(db0, db1, sizeof(float) * s->oc), "%s: db differs (%s)", name, str(s));
    else {
        int untouched = 1;
        for (int o = 0; o < s->oc; o++) untouched &= db1[o] != db1[o]; /* still NaN */
        CHECK(untouched, "%s: wrote db although db was NULL (%s)", name, str(s));
    }
    CHECK(guards_ok(scratch, nboth.scratch_size) && guards_ok(dx1, nx) && guards_ok(dw1, nw) &&
              guards_ok(db1, s->oc),
          "%s wrote past its scratch or an output (%s)", name, str(s));
    free(x), free(dy), free(w), free(packed), free(scratch);
    free(dx0), free(dw0), free(db0), free(dx1), free(dw1), free(db1);
    return fused;
}

static const dacc_conv_algo algos[] = {DACC_CONV_DIRECT, DACC_CONV_WINO2, DACC_CONV_WINO4};

/* Every pair of algorithms both ops accept; returns whether F(4x4) for
 * both was fused. */
static int compare_all(const dacc_kernels *k, const dacc_conv_shape *s) {
    int f44 = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            const int fused = compare_one(k, s, algos[i], algos[j], (i + j) % 2 == 0);
            CHECK(!fused || (i == 2 && j == 2), "%s fused algorithms %d and %d (%s)",
                  k->names[DACC_OP_conv_bwd_both], (int)algos[i], (int)algos[j], str(s));
            if (i == 2 && j == 2) f44 = fused;
        }
    return f44;
}

static void test_table(const dacc_kernels *k) {
    /* the AVX2 table fuses (its backward-data runs F(4x4) transposed, as
     * AVX-512's, which measured no gain from the pass); the others run the
     * two ops apart */
    const int fuses = strstr(k->names[DACC_OP_conv_bwd_data], "__avx2") != NULL;
    const char *name = k->names[DACC_OP_conv_bwd_both];
    /* fused where both run F(4x4): the network's conv32_2 and conv64_2,
     * a batch of one, channel tails */
    const dacc_conv_shape yes[] = {shape(5, 26, 32, 32, 0), shape(7, 10, 64, 64, 0),
                                   shape(1, 26, 32, 32, 0), shape(3, 14, 17, 20, 0),
                                   shape(2, 6, 33, 9, 0)};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        const int f = compare_all(k, &yes[i]);
        CHECK(f == fuses, "%s: F(4x4) pair %s on %s", name, f ? "fused" : "not fused", str(&yes[i]));
    }
    /* refused: outputs not a multiple of 4 (conv64_1), padding */
    const dacc_conv_shape no[] = {shape(3, 12, 32, 64, 0), shape(2, 11, 16, 16, 0),
                                  shape(2, 8, 32, 32, 1)};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CHECK(!compare_all(k, &no[i]), "%s fused %s", name, str(&no[i]));
    /* not square: 12x8 outputs fused, 12x9 refused */
    dacc_conv_shape wide = shape(2, 14, 16, 24, 0), odd = shape(2, 14, 16, 24, 0);
    wide.iw = 10, wide.ow = 8, odd.iw = 11, odd.ow = 9;
    CHECK(compare_all(k, &wide) == fuses, "%s: 12x8 outputs %s", name, fuses ? "not fused" : "fused");
    CHECK(!compare_all(k, &odd), "%s fused 12x9 outputs", name);
    if (!fuses) return;
    dacc_conv_need need;
    /* the engine's choice for conv32_2 and conv64_2 leads to the fused op */
    for (int i = 0; i < 2; i++) {
        const dacc_conv_shape s = i ? shape(32, 10, 64, 64, 0) : shape(32, 26, 32, 32, 0);
        const dacc_conv_algo da = dacc_conv_bwd_data_algo(k, &s, 0);
        const dacc_conv_algo wa = dacc_conv_bwd_filter_algo(k, &s, 0);
        CHECK(dacc_conv_bwd_both_query(k, &s, da, wa, &need) == 0,
              "%s: the engine's algorithms (%d, %d) for %s are not fused", name, (int)da, (int)wa,
              str(&s));
    }
}

int main(void) {
    rng = test_seed();
    int tables = 0, fusing = 0;
    for (int isa = 0; isa < DACC_ISA_COUNT; isa++) {
        dacc_kernels k;
        if (dacc_kernels_for_isa((dacc_isa)isa, &k)) continue;
        const int before = test_failed;
        test_table(&k);
        tables++;
        dacc_conv_need need;
        const dacc_conv_shape s = shape(2, 26, 32, 32, 0);
        fusing += k.conv_bwd_both_query(&s, DACC_CONV_WINO4, DACC_CONV_WINO4, &need) == 0;
        if (test_failed > before) fprintf(stderr, "table %s failed\n", dacc_isa_name(k.isa));
    }
    fprintf(stderr, "%d tables, %d fuse\n", tables, fusing);
    if (dacc_cpu_supports(DACC_ISA_AVX2))
        CHECK(fusing > 0, "the AVX2 table runs here but no table fused conv32_2's backward");
    else
        SKIP("no AVX2: no table fuses the backward ops");
    return test_finish();
}
