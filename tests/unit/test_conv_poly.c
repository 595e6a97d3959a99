/* The polyphase form of 5x5 stride-2 convolutions (engine/nn/conv_ops.c):
 * forward (with and without the fused ReLU), backward-data and
 * backward-weights, through
 * every compiled table's 3x3 Winograd ops (F(2x2) and F(4x4), where the
 * query accepts them), against a float64 direct sum, on ConvPool's two
 * layers, odd sizes, channel counts and every padding 0-4, and a shape
 * whose batch runs in several calls (the last one partial).
 *
 * Packed weights and scratch are poisoned with NaN (a read of anything
 * not written first fails) and followed by guard words (an overrun of
 * the query's sizes fails).
 *
 * Tolerances, as in test_conv_kernels.c, in units of S, the sum of the
 * absolute values of an element's terms: the forward's error scales with
 * the 3x3 form's tile, so S is the largest within 3 output pixels, and is
 * held to 3e-5 S for F(4x4) and 1e-5 S for F(2x2); backward-data the
 * same, with S the largest within 7 input pixels (a tile's patch in the
 * 3x3 form spans 6 phase pixels, 12 input pixels); backward-weights mixes
 * every tap of an (input channel, output channel) pair, so S' is the
 * largest S over the 25 taps, and is held to 5e-6 S' for F(4x4) and 1e-6
 * S' for F(2x2). A tap split into the wrong phase, a missed tap or image
 * is off by ~S/K >= 1e-3 S. */
#include "dacc/kernels.h"
#include "harness.h"
#include "guarded.h"
#include "nn/conv_algo.h"
#include "nn/conv_ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>


static uint64_t rng;

static float *random_buf(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = test_rand_uniform(&rng, -1.0f, 1.0f);
    return p;
}

/* y = conv(x, w) + b in float64 (|x|, |w|, |b| when absv: the scale S). */
static void fwd_f64(const dacc_conv_shape *s, const float *x, const float *w, const float *b,
                    int absv, double *y) {
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                double *yo = y + (((size_t)n * s->oh + oy) * s->ow + ox) * s->oc;
                for (int o = 0; o < s->oc; o++) yo[o] = absv ? fabs(b[o]) : b[o];
                for (int t = 0; t < 25; t++) {
                    const int iy = 2 * oy - s->pad + t / 5, ix = 2 * ox - s->pad + t % 5;
                    if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                    const float *xp = x + (((size_t)n * s->ih + iy) * s->iw + ix) * s->ic;
                    for (int i = 0; i < s->ic; i++) {
                        const float *wr = w + ((size_t)t * s->ic + i) * s->oc;
                        for (int o = 0; o < s->oc; o++)
                            yo[o] += absv ? fabs((double)xp[i] * wr[o]) : (double)xp[i] * wr[o];
                    }
                }
            }
}

/* dw, db in float64 (absolute terms when absv). */
static void bf_f64(const dacc_conv_shape *s, const float *x, const float *dy, int absv,
                   double *dw, double *db) {
    memset(dw, 0, sizeof(double) * 25 * s->ic * s->oc);
    memset(db, 0, sizeof(double) * s->oc);
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                const float *d = dy + (((size_t)n * s->oh + oy) * s->ow + ox) * s->oc;
                for (int o = 0; o < s->oc; o++) db[o] += absv ? fabs(d[o]) : d[o];
                for (int t = 0; t < 25; t++) {
                    const int iy = 2 * oy - s->pad + t / 5, ix = 2 * ox - s->pad + t % 5;
                    if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                    const float *xp = x + (((size_t)n * s->ih + iy) * s->iw + ix) * s->ic;
                    for (int i = 0; i < s->ic; i++)
                        for (int o = 0; o < s->oc; o++) {
                            const double v = (double)xp[i] * d[o];
                            dw[((size_t)t * s->ic + i) * s->oc + o] += absv ? fabs(v) : v;
                        }
                }
            }
}

/* dx in float64 (absolute terms when absv). */
static void bd_f64(const dacc_conv_shape *s, const float *dy, const float *w, int absv, double *dx) {
    memset(dx, 0, sizeof(double) * s->n * s->ih * s->iw * s->ic);
    for (int n = 0; n < s->n; n++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                const float *d = dy + (((size_t)n * s->oh + oy) * s->ow + ox) * s->oc;
                for (int t = 0; t < 25; t++) {
                    const int iy = 2 * oy - s->pad + t / 5, ix = 2 * ox - s->pad + t % 5;
                    if (iy < 0 || iy >= s->ih || ix < 0 || ix >= s->iw) continue;
                    double *xp = dx + (((size_t)n * s->ih + iy) * s->iw + ix) * s->ic;
                    for (int i = 0; i < s->ic; i++) {
                        const float *wr = w + ((size_t)t * s->ic + i) * s->oc;
                        for (int o = 0; o < s->oc; o++)
                            xp[i] += absv ? fabs((double)wr[o] * d[o]) : (double)wr[o] * d[o];
                    }
                }
            }
}

/* S[i] = max of S within r pixels in the same image and channel. */
static void spread_pixels(const double *S, double *out, int n, int h, int w, int c, int r) {
    for (int b = 0; b < n; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++) {
                    double m = 0;
                    for (int yy = y - r; yy <= y + r; yy++)
                        for (int xx = x - r; xx <= x + r; xx++)
                            if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                                const double v = S[(((size_t)b * h + yy) * w + xx) * c + ch];
                                if (v > m) m = v;
                            }
                    out[(((size_t)b * h + y) * w + x) * c + ch] = m;
                }
}

static const char *shape_str(const dacc_conv_shape *s) {
    static char buf[96];
    snprintf(buf, sizeof buf, "n%d %dx%dx%d>%d pad %d", s->n, s->ih, s->iw, s->ic, s->oc, s->pad);
    return buf;
}

/* Largest |got - ref| / S over n elements (NaN counts as infinite). */
static double worst(const float *got, const double *ref, const double *S, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs(got[i] - ref[i]) / (S[i] + 1e-30);
        if (!(d <= e)) e = d;
    }
    return e;
}

static int compared;    /* comparisons that ran (a table may refuse an algorithm) */
static int compared_bd; /* of them, backward-data */

/* Packed at the batch of s0 (as the engine packs once for max_batch), run on
 * its first n images. */
static void check_fwd(const dacc_kernels *k, const dacc_conv_shape *s0, int n, dacc_conv_algo a,
                      int relu, const float *x, const float *w, const float *b, const double *ref,
                      const double *S) {
    dacc_conv_shape s = *s0;
    s.relu = relu;
    dacc_conv_need need;
    if (dacc_conv_fwd_query(k, &s, a, &need)) return;
    compared++;
    const size_t ny = (size_t)s.n * s.oh * s.ow * s.oc;
    float *packed = alloc_guarded(need.packed_size), *scratch = alloc_guarded(need.scratch_size);
    float *y = alloc_guarded(ny);
    double *r = malloc(sizeof(double) * ny);
    for (size_t i = 0; i < ny; i++) r[i] = relu && ref[i] < 0 ? 0 : ref[i];
    dacc_conv_fwd_pack(k, &s, a, w, b, packed, scratch);
    for (size_t i = 0; i < ny; i++) y[i] = NAN;
    s.n = n;
    dacc_conv_fwd(k, &s, a, x, packed, y, scratch);
    const size_t nrun = (size_t)n * s.oh * s.ow * s.oc; /* past it: still NaN */
    for (size_t i = nrun; i < ny; i++) r[i] = NAN;
    const char *name = k->names[DACC_OP_conv_fwd];
    const int f4 = dacc_conv_inner(a) == DACC_CONV_WINO4;
    const double e = worst(y, r, S, nrun), tol = f4 ? 3e-5 : 1e-5;
    CHECK(e <= tol, "%s poly F(%dx%d)%s: %.2e of S from float64 > %.0e (%s)", name,
          (int)dacc_conv_inner(a), (int)dacc_conv_inner(a), relu ? " relu" : "", e, tol,
          shape_str(&s));
    CHECK(guards_ok(packed, need.packed_size) && guards_ok(scratch, need.scratch_size) &&
              guards_ok(y, ny) && (nrun == ny || isnan(y[nrun])),
          "%s poly forward wrote past its packed, scratch or output (%s)", name, shape_str(&s));
    free(packed), free(scratch), free(y), free(r);
}

/* Packed at the batch of s0, run on its first n images. */
static void check_bd(const dacc_kernels *k, const dacc_conv_shape *s0, int n, dacc_conv_algo a,
                     const float *dy, const float *w, const double *ref, const double *S) {
    dacc_conv_shape s = *s0;
    dacc_conv_need need;
    if (dacc_conv_bwd_data_query(k, &s, a, &need)) return;
    compared++, compared_bd++;
    const size_t nx = (size_t)s.n * s.ih * s.iw * s.ic, nrun = (size_t)n * s.ih * s.iw * s.ic;
    float *packed = alloc_guarded(need.packed_size), *scratch = alloc_guarded(need.scratch_size);
    float *dx = alloc_guarded(nx);
    dacc_conv_bwd_data_pack(k, &s, a, w, packed, scratch);
    for (size_t i = 0; i < nx; i++) dx[i] = NAN;
    s.n = n;
    dacc_conv_bwd_data(k, &s, a, dy, packed, dx, scratch);
    const char *name = k->names[DACC_OP_conv_bwd_data];
    const int f4 = dacc_conv_inner(a) == DACC_CONV_WINO4;
    const double e = worst(dx, ref, S, nrun), tol = f4 ? 3e-5 : 1e-5;
    CHECK(e <= tol, "%s poly F(%dx%d) backward-data: %.2e of S from float64 > %.0e (%s)", name,
          (int)dacc_conv_inner(a), (int)dacc_conv_inner(a), e, tol, shape_str(&s));
    CHECK(guards_ok(packed, need.packed_size) && guards_ok(scratch, need.scratch_size) &&
              guards_ok(dx, nx) && (nrun == nx || isnan(dx[nrun])),
          "%s poly backward-data wrote past its packed, scratch or output (%s)", name, shape_str(&s));
    free(packed), free(scratch), free(dx);
}

/* db NULL when with_db is 0 (dw alone is compared then). */
static void check_bf(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                     int with_db, const float *x, const float *dy, const double *ref,
                     const double *S) {
    dacc_conv_need need;
    if (dacc_conv_bwd_filter_query(k, s, a, &need)) return;
    compared++;
    const size_t nw = (size_t)25 * s->ic * s->oc;
    float *scratch = alloc_guarded(need.scratch_size), *g = alloc_guarded(nw + s->oc);
    for (int o = 0; o < s->oc; o++) g[nw + o] = NAN;
    dacc_conv_bwd_filter(k, s, a, x, dy, g, with_db ? g + nw : NULL, scratch);
    const char *name = k->names[DACC_OP_conv_bwd_filter];
    const int f4 = dacc_conv_inner(a) == DACC_CONV_WINO4;
    const double e = worst(g, ref, S, with_db ? nw + s->oc : nw), tol = f4 ? 5e-6 : 1e-6;
    CHECK(e <= tol, "%s poly F(%dx%d) backward-weights: %.2e of S' from float64 > %.0e (%s)",
          name, (int)dacc_conv_inner(a), (int)dacc_conv_inner(a), e, tol, shape_str(s));
    CHECK(need.packed_size == 0 && guards_ok(scratch, need.scratch_size) && guards_ok(g, nw + s->oc) &&
              (with_db || isnan(g[nw])),
          "%s poly backward-weights wrote past its scratch or output (%s)", name, shape_str(s));
    free(scratch), free(g);
}

static void test_shape(const dacc_kernels *tabs, int nt, int n, int ih, int iw, int ic, int oc,
                       int pad) {
    const int oh = (ih + 2 * pad - 5) / 2 + 1, ow = (iw + 2 * pad - 5) / 2 + 1;
    const dacc_conv_shape s = {n, ih, iw, ic, oh, ow, oc, 5, 5, 2, pad, 0};
    CHECK(dacc_conv_poly_fits(&s), "5x5 stride 2 not in polyphase form (%s)", shape_str(&s));
    const size_t nx = (size_t)n * ih * iw * ic, ny = (size_t)n * oh * ow * oc;
    const size_t nw = (size_t)25 * ic * oc;
    float *x = random_buf(nx), *w = random_buf(nw), *b = random_buf(oc), *dy = random_buf(ny);
    double *yr = malloc(sizeof(double) * ny), *ys = malloc(sizeof(double) * ny);
    double *S = malloc(sizeof(double) * ny);
    double *gr = malloc(sizeof(double) * (nw + oc)), *gs = malloc(sizeof(double) * (nw + oc));
    double *xr = malloc(sizeof(double) * nx), *xs = malloc(sizeof(double) * nx);
    double *Sx = malloc(sizeof(double) * nx);
    bd_f64(&s, dy, w, 0, xr);
    bd_f64(&s, dy, w, 1, xs);
    spread_pixels(xs, Sx, n, ih, iw, ic, 7); /* a 3x3-form tile's patch spans ~12 input pixels */
    fwd_f64(&s, x, w, b, 0, yr);
    fwd_f64(&s, x, w, b, 1, ys);
    spread_pixels(ys, S, n, oh, ow, oc, 3);
    bf_f64(&s, x, dy, 0, gr, gr + nw);
    bf_f64(&s, x, dy, 1, gs, gs + nw);
    for (size_t j = 0; j < (size_t)ic * oc; j++) { /* S' over the 25 taps */
        double m = 0;
        for (int t = 0; t < 25; t++) m = gs[t * (size_t)ic * oc + j] > m ? gs[t * (size_t)ic * oc + j] : m;
        for (int t = 0; t < 25; t++) gs[t * (size_t)ic * oc + j] = m;
    }
    static const dacc_conv_algo inner[] = {DACC_CONV_WINO2, DACC_CONV_WINO4};
    for (int t = 0; t < nt; t++)
        for (int q = 0; q < 2; q++) {
            const dacc_conv_algo a = dacc_conv_poly(inner[q]);
            check_fwd(&tabs[t], &s, n, a, 0, x, w, b, yr, S);
            check_fwd(&tabs[t], &s, n - n / 3, a, 1, x, w, b, yr, S); /* fewer than packed for */
            check_bf(&tabs[t], &s, a, q, x, dy, gr, gs);
            check_bd(&tabs[t], &s, n, a, dy, w, xr, Sx);
            check_bd(&tabs[t], &s, n - n / 3, a, dy, w, xr, Sx);
        }
    free(x), free(w), free(b), free(dy), free(yr), free(ys), free(S), free(gr), free(gs);
    free(xr), free(xs), free(Sx);
}

/* The comparison must catch a misplaced tap: a weight moved by one tap
 * changes outputs by ~S/K. Returns the tables that ran it. */
static int test_detects_misplaced_tap(const dacc_kernels *tabs, int nt) {
    const dacc_conv_shape s = {2, 12, 12, 16, 6, 6, 16, 5, 5, 2, 2, 0};
    const size_t nx = (size_t)2 * 12 * 12 * 16, nw = (size_t)25 * 16 * 16, ny = (size_t)2 * 36 * 16;
    float *x = random_buf(nx), *w = random_buf(nw), *b = random_buf(16), *w2 = malloc(sizeof(float) * nw);
    double *yr = malloc(sizeof(double) * ny), *ys = malloc(sizeof(double) * ny), *S = malloc(sizeof(double) * ny);
    fwd_f64(&s, x, w, b, 0, yr);
    fwd_f64(&s, x, w, b, 1, ys);
    spread_pixels(ys, S, 2, 6, 6, 16, 3);
    memcpy(w2, w, sizeof(float) * nw);
    memcpy(w2 + (size_t)7 * 256, w + (size_t)8 * 256, sizeof(float) * 256); /* tap 8 into tap 7 */
    float *y = malloc(sizeof(float) * ny);
    int ran = 0;
    for (int t = 0; t < nt; t++)
        if (dacc_conv_fwd_once(&tabs[t], &s, dacc_conv_poly(DACC_CONV_WINO2), x, w2, b, y) == 0) {
            CHECK(worst(y, yr, S, ny) > 1e-3, "a misplaced tap passed the comparison (%s)",
                  dacc_isa_name(tabs[t].isa));
            ran++;
        }
    free(x), free(w), free(b), free(w2), free(yr), free(ys), free(S), free(y);
    return ran;
}

int main(void) {
    rng = test_seed();
    dacc_kernels tabs[DACC_ISA_COUNT];
    int nt = 0;
    for (int isa = 0; isa < DACC_ISA_COUNT; isa++)
        if (dacc_kernels_for_isa((dacc_isa)isa, &tabs[nt]) == 0) nt++;
    CHECK(nt >= 1, "no kernel table");
    /* n, ih, iw, ic, oc, pad */
    static const int shapes[][6] = {
        {4, 24, 24, 32, 32, 2}, /* ConvPool pool_1 */
        {8, 8, 8, 64, 64, 2},   /* ConvPool pool_2 */
        {3, 11, 13, 5, 9, 0},  {2, 9, 7, 17, 12, 1}, {5, 6, 6, 3, 33, 3},
        {1, 5, 5, 8, 16, 4},   {2, 10, 9, 16, 8, 2},
        {7, 61, 61, 16, 8, 2}, /* 69696 phase floats per image: calls of 3, 3 and 1 images */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *h = shapes[i];
        test_shape(tabs, nt, h[0], h[1], h[2], h[3], h[4], h[5]);
    }
    const int tap_tables = test_detects_misplaced_tap(tabs, nt);
    /* the x86 tables run the polyphase form on their Winograd ops */
    if (dacc_cpu_supports(DACC_ISA_AVX2))
        CHECK(compared > 0 && compared_bd > 0 && tap_tables > 0, "no table ran the polyphase form");
    else
        SKIP("no AVX2: the polyphase form ran on %d comparisons", compared);
    const dacc_conv_shape s3 = {1, 8, 8, 16, 6, 6, 16, 3, 3, 1, 0, 0};
    const dacc_conv_shape s1 = {1, 8, 8, 16, 4, 4, 16, 5, 5, 1, 2, 0};
    CHECK(!dacc_conv_poly_fits(&s3) && !dacc_conv_poly_fits(&s1), "polyphase form for a non-5x5/2 shape");
    return test_finish();
}
