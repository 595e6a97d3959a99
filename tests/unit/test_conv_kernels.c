/* Every compiled convolution kernel (forward, backward-data, backward-
 * weights) against the scalar reference, on fresh random inputs, over the
 * network's shapes and odd ones (channels 1, 3, 5, 17, 33; batch 1 and odd
 * batches; strides 1-3; padding 0-2, also padding >= kernel; kernels 1-5;
 * output sizes smaller than the largest the input allows; the Winograd
 * forward's partial tiles, padding and channel tails).
 *
 * Outputs are poisoned with NaN before each call (a skipped element fails)
 * and followed by guard words that must survive (an overrun fails).
 *
 * Tolerance, per output element: |got - ref| <= 1e-5 * S, where S is the sum
 * of the absolute values of the terms of that element (computed exactly as
 * the reference applied to |inputs|). Two float32 summations of K terms in
 * different orders differ by at most ~2 K u S in the worst case and by
 * ~sqrt(K) u S typically (u = 6e-8: 2.4e-6 S for K = 1600); a missing or
 * doubled term is of size ~S/K >= 6e-4 S here, far above the bound.
 *
 * Stride-1 3x3 layers may run in Winograd form (F(2x2,3x3) or F(4x4,3x3)),
 * whose rounding error in an output scales with the whole input patch of
 * its tile, not with that output's own terms: at an image border (and in
 * backward-data, a full convolution, at every edge) an output with few
 * terms shares its tile with outputs that have all of them. For those
 * layers S is the largest S within 3 pixels (a 4x4 tile's span) in the same
 * image and channel. A missing term is still ~S/K >= 1.7e-3 of it there. */
#include "dacc/kernels.h"
#include "harness.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 16
#define GUARD_VALUE 12345.678f
#define REL_TOL 1e-5

static uint64_t rng;
static dacc_conv_fwd_t *ref_fwd;
static dacc_conv_bwd_data_t *ref_bd;
static dacc_conv_bwd_filter_t *ref_bf;

static float *alloc_guarded(size_t n) {
    float *p = malloc(sizeof(float) * (n + GUARD));
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    for (int g = 0; g < GUARD; g++) p[n + g] = GUARD_VALUE;
    return p;
}

static int guards_ok(const float *p, size_t n) {
    for (int g = 0; g < GUARD; g++)
        if (p[n + g] != GUARD_VALUE) return 0;
    return 1;
}

static float *random_buf(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = test_rand_uniform(&rng, -1.0f, 1.0f);
    return p;
}

static float *abs_copy(const float *x, size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = fabsf(x[i]);
    return p;
}

/* Largest |got-ref|/S over n elements; reports the first violation. */
static int compare(const char *what, const char *kname, const dacc_conv_shape *s,
                   const float *got, const float *ref, const float *S, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        double tol = REL_TOL * (double)S[i] + 1e-30;
        if (!(d <= tol)) {
            fprintf(stderr,
                    "%s %s n=%d in=%dx%dx%d out=%dx%dx%d k=%dx%d s=%d p=%d: element %zu got %g "
                    "want %g (tol %g)\n",
                    kname, what, s->n, s->ih, s->iw, s->ic, s->oh, s->ow, s->oc, s->kh, s->kw,
                    s->stride, s->pad, i, got[i], ref[i], tol);
            return 0;
        }
    }
    return 1;
}

/* S[i] = max of S over the (2r+1)^2 pixels around i in the same image and
 * channel (n images of h x w x c). */
static void spread_scale(float *S, int n, int h, int w, int c, int r) {
    const size_t img = (size_t)h * w * c;
    float *t = malloc(sizeof(float) * (img ? img : 1));
    for (int i = 0; i < n; i++) {
        float *si = S + i * img;
        memcpy(t, si, sizeof(float) * img);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++) {
                    float m = 0;
                    for (int yy = y - r; yy <= y + r; yy++)
                        for (int xx = x - r; xx <= x + r; xx++)
                            if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                                const float v = t[((size_t)yy * w + xx) * c + ch];
                                if (v > m) m = v;
                            }
                    si[((size_t)y * w + x) * c + ch] = m;
                }
    }
    free(t);
}

static int maybe_winograd(const dacc_conv_shape *s) {
    return s->kh == 3 && s->kw == 3 && s->stride == 1;
}

static const char *shape_str(const dacc_conv_shape *s) {
    static char buf[160];
    snprintf(buf, sizeof buf, "n=%d in=%dx%dx%d out=%dx%dx%d k=%dx%d s=%d p=%d", s->n, s->ih,
             s->iw, s->ic, s->oh, s->ow, s->oc, s->kh, s->kw, s->stride, s->pad);
    return buf;
}

typedef struct kernel_set {
    dacc_conv_fwd_t *fwd[DACC_ISA_COUNT * 2];
    const char *fwd_name[DACC_ISA_COUNT * 2];
    int nfwd;
    dacc_conv_bwd_data_t *bd[DACC_ISA_COUNT * 2];
    const char *bd_name[DACC_ISA_COUNT * 2];
    int nbd;
    dacc_conv_bwd_filter_t *bf[DACC_ISA_COUNT * 2];
    const char *bf_name[DACC_ISA_COUNT * 2];
    int nbf;
} kernel_set;

static void test_shape(const kernel_set *ks, const dacc_conv_shape *s) {
    const size_t nx = (size_t)s->n * s->ih * s->iw * s->ic;
    const size_t ny = (size_t)s->n * s->oh * s->ow * s->oc;
    const size_t nw = (size_t)s->kh * s->kw * s->ic * s->oc;
    float *x = random_buf(nx), *w = random_buf(nw), *b = random_buf(s->oc), *dy = random_buf(ny);
    float *ax = abs_copy(x, nx), *aw = abs_copy(w, nw), *ab = abs_copy(b, s->oc),
          *ady = abs_copy(dy, ny);

    /* forward: with and without bias, with and without the fused ReLU
     * (the reference clamped afterwards; the tolerance stays that of the
     * unclamped sum) */
    for (int mode = 0; mode < 4; mode++) {
        const int with_bias = mode & 1;
        dacc_conv_shape sr = *s;
        sr.relu = mode >> 1;
        const char *what = mode == 0 ? "fwd" : mode == 1 ? "fwd+bias" : mode == 2 ? "fwd+relu"
                                                                              : "fwd+bias+relu";
        float *ref = malloc(sizeof(float) * (ny ? ny : 1)), *S = malloc(sizeof(float) * (ny ? ny : 1));
        ref_fwd(s, x, w, with_bias ? b : NULL, ref);
        ref_fwd(s, ax, aw, with_bias ? ab : NULL, S);
        if (maybe_winograd(s)) spread_scale(S, s->n, s->oh, s->ow, s->oc, 3);
        if (sr.relu)
            for (size_t j = 0; j < ny; j++) ref[j] = ref[j] > 0 ? ref[j] : 0;
        for (int k = 0; k < ks->nfwd; k++) {
            float *y = alloc_guarded(ny);
            ks->fwd[k](&sr, x, w, with_bias ? b : NULL, y);
            CHECK(guards_ok(y, ny), "%s wrote past y (%s)", ks->fwd_name[k], shape_str(s));
            int neg = 0;
            if (sr.relu)
                for (size_t j = 0; j < ny; j++) neg += !(y[j] >= 0);
            CHECK(!neg, "%s %s left %d negative outputs (%s)", ks->fwd_name[k], what, neg,
                  shape_str(s));
            CHECK(compare(what, ks->fwd_name[k], s, y, ref, S, ny), "%s forward %s mismatch (%s)",
                  ks->fwd_name[k], what, shape_str(s));
            free(y);
        }
        free(ref);
        free(S);
    }
    /* backward-data */
    {
        float *ref = malloc(sizeof(float) * (nx ? nx : 1)), *S = malloc(sizeof(float) * (nx ? nx : 1));
        ref_bd(s, dy, w, ref);
        ref_bd(s, ady, aw, S);
        if (maybe_winograd(s)) spread_scale(S, s->n, s->ih, s->iw, s->ic, 3);
        for (int k = 0; k < ks->nbd; k++) {
            float *dx = alloc_guarded(nx);
            ks->bd[k](s, dy, w, dx);
            CHECK(guards_ok(dx, nx), "%s wrote past dx (%s)", ks->bd_name[k], shape_str(s));
            CHECK(compare("bwd-data", ks->bd_name[k], s, dx, ref, S, nx),
                  "%s backward-data mismatch (%s)", ks->bd_name[k], shape_str(s));
            free(dx);
        }
        free(ref);
        free(S);
    }
    /* backward-weights: with and without db */
    for (int with_db = 0; with_db < 2; with_db++) {
        float *ref = malloc(sizeof(float) * (nw + s->oc + 1)), *S = malloc(sizeof(float) * (nw + s->oc + 1));
        ref_bf(s, x, dy, ref, with_db ? ref + nw : NULL);
        ref_bf(s, ax, ady, S, with_db ? S + nw : NULL);
        for (int k = 0; k < ks->nbf; k++) {
            float *dw = alloc_guarded(nw), *db = alloc_guarded(s->oc);
            ks->bf[k](s, x, dy, dw, with_db ? db : NULL);
            CHECK(guards_ok(dw, nw) && guards_ok(db, s->oc), "%s wrote past dw/db (%s)",
                  ks->bf_name[k], shape_str(s));
            CHECK(compare("bwd-filter dw", ks->bf_name[k], s, dw, ref, S, nw),
                  "%s backward-weights dw mismatch (%s)", ks->bf_name[k], shape_str(s));
            if (with_db)
                CHECK(compare("bwd-filter db", ks->bf_name[k], s, db, ref + nw, S + nw, s->oc),
                      "%s backward-weights db mismatch (%s)", ks->bf_name[k], shape_str(s));
            else {
                int untouched = 1;
                for (int o = 0; o < s->oc; o++) untouched &= isnan(db[o]);
                CHECK(untouched, "%s touched db although NULL was passed", ks->bf_name[k]);
            }
            free(dw);
            free(db);
        }
        free(ref);
        free(S);
    }
    free(x); free(w); free(b); free(dy); free(ax); free(aw); free(ab); free(ady);
}

static dacc_conv_shape make_shape(int n, int ih, int iw, int ic, int oc, int k, int stride,
                                  int pad) {
    dacc_conv_shape s = {n, ih, iw, ic, 0, 0, oc, k, k, stride, pad, 0, 0};
    s.oh = (ih + 2 * pad - k) / stride + 1;
    s.ow = (iw + 2 * pad - k) / stride + 1;
    return s;
}

static int rand_int(int lo, int hi) { return lo + (int)(test_rand_u64(&rng) % (uint64_t)(hi - lo + 1)); }

/* The comparison must reject a result that lacks terms: forward without the
 * bias checked against forward with it. */
static void test_comparator_fails(void) {
    dacc_conv_shape s = make_shape(2, 6, 6, 3, 5, 3, 1, 1);
    size_t nx = (size_t)s.n * s.ih * s.iw * s.ic, ny = (size_t)s.n * s.oh * s.ow * s.oc,
           nw = (size_t)s.kh * s.kw * s.ic * s.oc;
    float *x = random_buf(nx), *w = random_buf(nw), *b = random_buf(s.oc);
    float *y0 = random_buf(ny), *y1 = random_buf(ny), *S = random_buf(ny);
    float *ax = abs_copy(x, nx), *aw = abs_copy(w, nw), *ab = abs_copy(b, s.oc);
    ref_fwd(&s, x, w, NULL, y0);
    ref_fwd(&s, x, w, b, y1);
    ref_fwd(&s, ax, aw, ab, S);
    fprintf(stderr, "(expected mismatch report follows)\n");
    CHECK(!compare("self-test", "scalar", &s, y0, y1, S, ny),
          "comparator accepted an output without its bias");
    free(x); free(w); free(b); free(y0); free(y1); free(S); free(ax); free(aw); free(ab);
}

int main(void) {
    rng = test_seed();
    kernel_set ks;
    memset(&ks, 0, sizeof ks);
    int count;
    const dacc_kernel_impl *im = dacc_kernel_impls(&count);
    for (int i = 0; i < count; i++) {
        int conv = im[i].op == DACC_OP_conv_fwd || im[i].op == DACC_OP_conv_bwd_data ||
                   im[i].op == DACC_OP_conv_bwd_filter;
        if (!conv) continue;
        if (im[i].isa == DACC_ISA_SCALAR) {
            if (im[i].op == DACC_OP_conv_fwd) ref_fwd = (dacc_conv_fwd_t *)im[i].fn;
            if (im[i].op == DACC_OP_conv_bwd_data) ref_bd = (dacc_conv_bwd_data_t *)im[i].fn;
            if (im[i].op == DACC_OP_conv_bwd_filter) ref_bf = (dacc_conv_bwd_filter_t *)im[i].fn;
            continue;
        }
        if (!dacc_cpu_supports(im[i].isa)) {
            SKIP("%s: this CPU lacks %s", im[i].name, dacc_isa_name(im[i].isa));
            continue;
        }
        if (im[i].op == DACC_OP_conv_fwd) {
            ks.fwd_name[ks.nfwd] = im[i].name;
            ks.fwd[ks.nfwd++] = (dacc_conv_fwd_t *)im[i].fn;
        } else if (im[i].op == DACC_OP_conv_bwd_data) {
            ks.bd_name[ks.nbd] = im[i].name;
            ks.bd[ks.nbd++] = (dacc_conv_bwd_data_t *)im[i].fn;
        } else {
            ks.bf_name[ks.nbf] = im[i].name;
            ks.bf[ks.nbf++] = (dacc_conv_bwd_filter_t *)im[i].fn;
        }
    }
    CHECK(ref_fwd && ref_bd && ref_bf, "scalar references missing from the kernel table");
    if (!ref_fwd || !ref_bd || !ref_bf) return test_finish();
    fprintf(stderr, "testing %d fwd, %d bwd-data, %d bwd-filter kernels\n", ks.nfwd, ks.nbd,
            ks.nbf);
    test_comparator_fails();

    /* The network's layers (batch as the engine calls them, and odd). */
    static const int net[][7] = {
        /* ih, ic, oc, k, stride, pad, n */
        {28, 1, 32, 3, 1, 0, 32},  {26, 32, 32, 3, 1, 0, 32}, {12, 32, 64, 3, 1, 0, 32},
        {10, 64, 64, 3, 1, 0, 32}, {4, 64, 128, 4, 1, 0, 32}, {1, 128, 10, 1, 1, 0, 32},
        {24, 32, 32, 5, 2, 2, 32}, {8, 64, 64, 5, 2, 2, 32},  {26, 32, 32, 3, 1, 0, 1},
        {10, 64, 64, 3, 1, 0, 7},  {4, 64, 128, 4, 1, 0, 3},  {1, 128, 10, 1, 1, 0, 64},
        {24, 32, 32, 5, 2, 2, 5},  {8, 64, 64, 5, 2, 2, 1},   {12, 32, 64, 3, 1, 0, 33},
    };
    for (size_t i = 0; i < sizeof net / sizeof net[0]; i++) {
        dacc_conv_shape s = make_shape(net[i][6], net[i][0], net[i][0], net[i][1], net[i][2],
                                       net[i][3], net[i][4], net[i][5]);
        test_shape(&ks, &s);
    }
    /* Winograd forward (3x3, stride 1, ic >= 16, oc above one vector);
     * F(2x2,3x3) where its tiles cover <= 1.25x the output: partial 2x2 tiles at odd
     * output sizes (9x9, 11x7, 13x13, 9x11), padding 1-2, channel tails
     * (ic 17/33, oc 17/20/33/40/70), batch 1 and odd; and the odd small
     * outputs the size rule sends to the direct path (7x7, 5x9, 3x5, 1x1),
     * which AVX-512 and AVX2 split differently at oc 16. */
    static const int wino[][6] = {
        /* n, ih, iw, ic, oc, pad */
        {1, 26, 26, 16, 32, 0}, {3, 11, 11, 17, 33, 0}, {2, 13, 9, 32, 40, 0},
        {1, 13, 13, 64, 17, 1}, {3, 7, 9, 16, 20, 2},   {5, 10, 10, 32, 32, 1},
        {2, 8, 8, 64, 64, 2},   {1, 4, 4, 64, 64, 0},   {7, 14, 14, 48, 64, 0},
        {2, 12, 12, 33, 17, 1}, {1, 6, 12, 20, 70, 0},  {3, 20, 18, 32, 16, 0},
        {3, 9, 9, 17, 16, 0},   {2, 7, 11, 32, 33, 0},  {3, 3, 3, 64, 64, 0},
        {1, 3, 5, 16, 48, 1},   {5, 3, 3, 32, 32, 0},
        /* F(4x4,3x3): tiles covering <= 19/16 of the output, partial rows
         * (15x16, 18x16), partial columns with padding 2 (32x31), 26x26 */
        {2, 17, 18, 32, 40, 0}, {1, 30, 29, 32, 32, 2}, {2, 28, 28, 17, 33, 0},
        {3, 10, 10, 64, 64, 0}, {1, 24, 24, 48, 24, 1},
    };
    for (size_t i = 0; i < sizeof wino / sizeof wino[0]; i++) {
        const int *q = wino[i];
        dacc_conv_shape s = make_shape(q[0], q[1], q[2], q[3], q[4], 3, 1, q[5]);
        test_shape(&ks, &s);
        s.precise = 1; /* the training forward's request: F(2x2) or direct */
        test_shape(&ks, &s);
    }
    /* Shapes where backward-data takes its gather path (flipped forward
     * convolutions over padded dy, one per stride phase): stride 1 with the
     * output covering most of the input, "same" padding, padding >= the
     * kernel, and strides 2-3. */
    static const int gather[][7] = {
        /* ih, ic, oc, k, stride, pad, n */
        {16, 33, 17, 3, 1, 1, 2}, {20, 17, 33, 3, 1, 0, 3}, {14, 32, 32, 5, 1, 2, 2},
        {9, 16, 5, 1, 1, 1, 2},   {12, 64, 3, 2, 1, 1, 1},  {18, 5, 64, 3, 1, 2, 2},
        {26, 32, 32, 3, 1, 0, 3}, {11, 48, 48, 4, 1, 3, 1},
        /* strided: one stride-1 pass per phase, phases no tap reaches (k < s) */
        {24, 32, 32, 5, 2, 2, 2}, {13, 32, 32, 1, 2, 0, 2}, {17, 16, 33, 3, 2, 1, 2},
        {15, 32, 16, 2, 3, 1, 2}, {12, 48, 32, 4, 2, 1, 1}, {9, 32, 32, 3, 3, 0, 3},
        {10, 17, 20, 5, 2, 3, 2},
    };
    for (size_t i = 0; i < sizeof gather / sizeof gather[0]; i++) {
        dacc_conv_shape s = make_shape(gather[i][6], gather[i][0], gather[i][0] + 1, gather[i][1],
                                       gather[i][2], gather[i][3], gather[i][4], gather[i][5]);
        s.ow = (s.iw + 2 * s.pad - s.kw) / s.stride + 1;
        test_shape(&ks, &s);
    }
    /* Kernel rows narrower than a register tile (kw*ic <= 3, kh 3):
     * backward-weights takes three kernel rows per tile there. */
    static const int narrow[][8] = {
        /* ih, ic, oc, kh, kw, stride, pad, n */
        {15, 1, 32, 3, 3, 2, 1, 3}, {9, 3, 5, 3, 1, 1, 0, 2}, {10, 2, 17, 3, 1, 1, 2, 1},
        {7, 1, 33, 3, 2, 3, 1, 2},  {28, 1, 32, 3, 3, 1, 0, 5},
    };
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        const int *q = narrow[i];
        dacc_conv_shape s = {q[7], q[0], q[0] - 1, q[1], 0, 0, q[2], q[3], q[4], q[5], q[6], 0, 0};
        s.oh = (s.ih + 2 * s.pad - s.kh) / s.stride + 1;
        s.ow = (s.iw + 2 * s.pad - s.kw) / s.stride + 1;
        test_shape(&ks, &s);
    }
    /* Odd channel counts against every kernel size, stride and padding. */
    static const int chans[] = {1, 3, 5, 17, 33};
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++) {
            int k = 1 + (a + 2 * b) % 5, stride = 1 + (a + b) % 2, pad = (a * 3 + b) % 3;
            int ih = k + rand_int(0, 7);
            dacc_conv_shape s = make_shape(rand_int(1, 3), ih, ih + rand_int(-1, 2) > 0 ? ih : ih,
                                           chans[a], chans[b], k, stride, pad);
            s.iw = ih + rand_int(0, 3);
            s.ow = (s.iw + 2 * pad - k) / stride + 1;
            test_shape(&ks, &s);
        }
    /* Random shapes, including padding >= kernel, stride 3, rectangular
     * kernels and outputs smaller than the input allows. */
    for (int t = 0; t < 150; t++) {
        dacc_conv_shape s;
        s.relu = 0; /* test_shape runs the forward with both */
        s.n = rand_int(1, 4);
        s.ic = rand_int(0, 3) ? rand_int(1, 40) : chans[rand_int(0, 4)];
        s.oc = rand_int(0, 3) ? rand_int(1, 70) : chans[rand_int(0, 4)];
        s.kh = rand_int(1, 5);
        s.kw = rand_int(0, 2) ? s.kh : rand_int(1, 5);
        s.stride = rand_int(1, 3);
        s.pad = rand_int(0, 2);
        s.ih = rand_int(1, 13);
        s.iw = rand_int(1, 13);
        if (s.ih + 2 * s.pad < s.kh) s.ih = s.kh - 2 * s.pad > 0 ? s.kh - 2 * s.pad : 1;
        if (s.iw + 2 * s.pad < s.kw) s.iw = s.kw - 2 * s.pad > 0 ? s.kw - 2 * s.pad : 1;
        if (s.ih + 2 * s.pad < s.kh || s.iw + 2 * s.pad < s.kw) continue;
        s.oh = (s.ih + 2 * s.pad - s.kh) / s.stride + 1;
        s.ow = (s.iw + 2 * s.pad - s.kw) / s.stride + 1;
        if (t % 10 == 9 && s.oh > 1) s.oh--; /* fewer outputs than the input allows */
        if (t % 10 == 8 && s.ow > 1) s.ow--;
        test_shape(&ks, &s);
    }
    return test_finish();
}
