/* Every compiled kernel of every op against the scalar reference of the
 * same op: fresh random inputs each run (test_seed), many shapes including
 * tails that no vector width divides, outputs poisoned with NaN before each
 * call, guard bytes after every output checked untouched. ISAs the CPU (or
 * the build) cannot run are skipped. Also checks the kernel tables.
 *
 * Tolerances, per op (why):
 *   relu_fwd/bwd, dropout, maxpool_fwd/bwd: bit-exact (no arithmetic, or one
 *     multiply, or additions in the reference's order).
 *   dropout_mask: bit-exact, and the scalar kernel equal to dacc_rng_next.
 *   u8_normalize, channel_affine/affine2/affine2_relu: |d| <= 2e-6 + 2e-6|ref|
 *     (one FMA vs the reference's separate multiply and add); affine2_relu
 *     also bit-exact against its own ISA's affine2 then relu_bwd.
 *   avgpool_fwd/bwd: |d| <= 1e-6 + 1e-5|ref| (same order; contraction).
 *   channel_moments/dot: |d| <= 1e-9 + 1e-5 * sum|terms| (float partial
 *     sums over short row blocks vs the reference's double sums).
 *   softmax: |d| <= 1e-8 + 1e-5|ref| (vector exp within a few ulp, other
 *     summation order).
 *   adam: |d| <= 1e-7 + 1e-5|ref| for p, m and v.
 *   conv_*: |d| <= 1e-6 + 1e-4 * (the same op on |inputs|), i.e. relative to
 *     the sum of |terms| of each output, which allows any summation order or
 *     blocking but not a missing or extra term. Each runs through its own
 *     ISA's query and pack ops with the algorithm the engine chooses for
 *     training's forward (test_conv_kernels tries every algorithm and the
 *     packing). */
#include "dacc/kernels.h"
#include "harness.h"
#include "core/rng.h"
#include "nn/conv_algo.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t rng;

/* ---- buffers with guard bytes after the end */
#define GUARD 64
#define GUARD_BYTE 0xA5

static void *gbuf(size_t bytes) {
    unsigned char *p = malloc(bytes + GUARD);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p + bytes, GUARD_BYTE, GUARD);
    return p;
}

static int guard_ok(const void *p, size_t bytes) {
    const unsigned char *g = (const unsigned char *)p + bytes;
    for (int i = 0; i < GUARD; i++)
        if (g[i] != GUARD_BYTE) return 0;
    return 1;
}

static void poison(float *p, size_t n) {
    const uint32_t nan_bits = 0x7fc0beefu;
    for (size_t i = 0; i < n; i++) memcpy(p + i, &nan_bits, 4);
}

static float *fnew(size_t n) { return gbuf(n * sizeof(float)); }

static void fill(float *p, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) p[i] = test_rand_uniform(&rng, lo, hi);
}

/* Compare n floats; atol < 0 means bit-exact. One CHECK per call. */
static void cmp_f32(const char *what, const char *name, const char *shape, const float *ref,
                    const float *got, size_t n, double atol, double rtol, const float *scale) {
    for (size_t i = 0; i < n; i++) {
        int ok;
        if (atol < 0) {
            ok = !memcmp(ref + i, got + i, sizeof(float));
        } else if (isnan(ref[i]) || isnan(got[i])) {
            ok = isnan(ref[i]) && isnan(got[i]);
        } else {
            double r = ref[i], g = got[i];
            double mag = scale ? fabs((double)scale[i]) : fabs(r);
            ok = (r == g) || fabs(r - g) <= atol + rtol * mag;
        }
        if (!ok) {
            CHECK(0, "%s %s [%s]: element %zu of %zu: ref %.9g got %.9g", name, what, shape, i, n,
                  ref[i], got[i]);
            return;
        }
    }
    CHECK(1, "%s", name);
}

static void check_guard(const char *name, const char *shape, const void *p, size_t bytes) {
    CHECK(guard_ok(p, bytes), "%s [%s]: wrote past the end of an output (%zu bytes)", name,
          shape, bytes);
}

/* ---- elementwise ops */
static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 33, 64, 1003, 4099};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void special_values(float *x, size_t n) {
    /* sprinkle zeros, -0, inf, -inf, NaN into a random input */
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)(test_rand_u64(&rng) % 64);
        if (r == 0) x[i] = 0.0f;
        else if (r == 1) x[i] = -0.0f;
        else if (r == 2) x[i] = INFINITY;
        else if (r == 3) x[i] = -INFINITY;
        else if (r == 4) x[i] = NAN;
    }
}

static void t_relu_fwd(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_relu_fwd_t *f0 = (dacc_relu_fwd_t *)ref->fn, *f1 = (dacc_relu_fwd_t *)im->fn;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        char sh[64];
        snprintf(sh, sizeof sh, "n=%zu", n);
        float *x = fnew(n), *y0 = fnew(n), *y1 = fnew(n), *y2 = fnew(n);
        fill(x, n, -1, 1);
        special_values(x, n);
        poison(y0, n), poison(y1, n);
        f0(n, x, y0);
        f1(n, x, y1);
        cmp_f32("y", im->name, sh, y0, y1, n, -1, 0, NULL);
        check_guard(im->name, sh, y1, n * 4);
        memcpy(y2, x, n * 4); /* in place */
        f1(n, y2, y2);
        cmp_f32("y (in place)", im->name, sh, y0, y2, n, -1, 0, NULL);
        check_guard(im->name, sh, y2, n * 4);
        free(x), free(y0), free(y1), free(y2);
    }
}

static void t_relu_bwd(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_relu_bwd_t *f0 = (dacc_relu_bwd_t *)ref->fn, *f1 = (dacc_relu_bwd_t *)im->fn;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        char sh[64];
        snprintf(sh, sizeof sh, "n=%zu", n);
        float *y = fnew(n), *dy = fnew(n), *d0 = fnew(n), *d1 = fnew(n), *d2 = fnew(n);
        fill(y, n, -1, 1);
        special_values(y, n);
        fill(dy, n, -3, 3);
        special_values(dy, n);
        poison(d0, n), poison(d1, n);
        f0(n, y, dy, d0);
        f1(n, y, dy, d1);
        cmp_f32("dx", im->name, sh, d0, d1, n, -1, 0, NULL);
        check_guard(im->name, sh, d1, n * 4);
        memcpy(d2, dy, n * 4);
        f1(n, y, d2, d2);
        cmp_f32("dx (in place)", im->name, sh, d0, d2, n, -1, 0, NULL);
        free(y), free(dy), free(d0), free(d1), free(d2);
    }
}

/* Dropout masks: streams seeded as the engine seeds them, counts that are
 * and are not multiples of the vector kernels' 8 streams and 8 draws, a
 * stride wider than n (the bytes between rows must stay untouched), keep
 * near 0, near 2^64 and in between. The scalar kernel is checked against
 * dacc_rng_next draw by draw, so every table draws the engine's masks. */
static void t_dropout_mask(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_dropout_mask_t *f0 = (dacc_dropout_mask_t *)ref->fn, *f1 = (dacc_dropout_mask_t *)im->fn;
    static const int nstreams[] = {1, 3, 8, 9, 17, 32};
    static const size_t ns[] = {0, 1, 7, 8, 9, 100, 1027};
    static const uint64_t keeps[] = {0, 1, 0x8000000000000000ULL, 0xb333333333333333ULL, UINT64_MAX};
    for (size_t a = 0; a < sizeof nstreams / sizeof nstreams[0]; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
            const int S = nstreams[a];
            const size_t n = ns[b], stride = n + (b % 2) * 5;
            const uint64_t keep = keeps[(a + b) % 5];
            char sh[96];
            snprintf(sh, sizeof sh, "streams=%d n=%zu stride=%zu keep=%016llx", S, n, stride,
                     (unsigned long long)keep);
            uint64_t *st = gbuf((size_t)S * 4 * sizeof(uint64_t));
            const uint64_t seed = test_rand_u64(&rng);
            for (int i = 0; i < S; i++) {
                dacc_rng r;
                dacc_rng_seed(&r, seed, DACC_STREAM_DROPOUT, 1, (uint64_t)i);
                memcpy(st + 4 * i, r.s, sizeof r.s);
            }
            const size_t bytes = (size_t)S * stride;
            uint8_t *m0 = gbuf(bytes + 1), *m1 = gbuf(bytes + 1);
            memset(m0, 0x5a, bytes + 1), memset(m1, 0x5a, bytes + 1);
            f0(S, st, n, keep, m0, stride);
            f1(S, st, n, keep, m1, stride);
            CHECK(!memcmp(m0, m1, bytes + 1), "%s [%s]: differs from the reference", im->name, sh);
            check_guard(im->name, sh, m1, bytes + 1);
            CHECK(m0[bytes] == 0x5a, "%s [%s]: wrote past the last row", ref->name, sh);
            for (int i = 0; i < S; i++) { /* the reference's draws are the engine's */
                dacc_rng r;
                memcpy(r.s, st + 4 * i, sizeof r.s);
                size_t bad = 0;
                for (size_t j = 0; j < stride; j++)
                    bad += m0[(size_t)i * stride + j] != (j < n ? dacc_rng_next(&r) < keep : 0x5a);
                CHECK(!bad, "%s [%s]: stream %d: %zu bytes differ from dacc_rng_next", im->name, sh, i, bad);
            }
            free(st), free(m0), free(m1);
        }
}

static void t_dropout(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_dropout_t *f0 = (dacc_dropout_t *)ref->fn, *f1 = (dacc_dropout_t *)im->fn;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        char sh[64];
        snprintf(sh, sizeof sh, "n=%zu", n);
        float *x = fnew(n), *y0 = fnew(n), *y1 = fnew(n), *y2 = fnew(n);
        uint8_t *mask = gbuf(n);
        fill(x, n, -2, 2);
        special_values(x, n);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = test_rand_u64(&rng);
            mask[i] = (r & 1) ? (uint8_t)(1 + (r >> 8) % 255) : 0; /* any nonzero byte keeps */
        }
        float scale = 1.0f / (1.0f - test_rand_uniform(&rng, 0.05f, 0.7f));
        poison(y0, n), poison(y1, n);
        f0(n, x, mask, scale, y0);
        f1(n, x, mask, scale, y1);
        cmp_f32("y", im->name, sh, y0, y1, n, -1, 0, NULL);
        check_guard(im->name, sh, y1, n * 4);
        memcpy(y2, x, n * 4);
        f1(n, y2, mask, scale, y2);
        cmp_f32("y (in place)", im->name, sh, y0, y2, n, -1, 0, NULL);
        free(x), free(y0), free(y1), free(y2), free(mask);
    }
}

static void t_u8_normalize(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_u8_normalize_t *f0 = (dacc_u8_normalize_t *)ref->fn, *f1 = (dacc_u8_normalize_t *)im->fn;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        char sh[64];
        snprintf(sh, sizeof sh, "n=%zu", n);
        uint8_t *x = gbuf(n);
        float *y0 = fnew(n), *y1 = fnew(n);
        for (size_t i = 0; i < n; i++) x[i] = (uint8_t)test_rand_u64(&rng);
        float scale = 1.0f / 255 / 0.3081f * test_rand_uniform(&rng, 0.5f, 2.0f);
        float shift = -0.1307f / 0.3081f * test_rand_uniform(&rng, 0.5f, 2.0f);
        poison(y0, n), poison(y1, n);
        f0(n, x, scale, shift, y0);
        f1(n, x, scale, shift, y1);
        cmp_f32("y", im->name, sh, y0, y1, n, 2e-6, 2e-6, NULL);
        check_guard(im->name, sh, y1, n * 4);
        free(x), free(y0), free(y1);
    }
}

static void t_adam(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_adam_t *f0 = (dacc_adam_t *)ref->fn, *f1 = (dacc_adam_t *)im->fn;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        char sh[64];
        int t = 1 + (int)(test_rand_u64(&rng) % 1000);
        snprintf(sh, sizeof sh, "n=%zu t=%d", n, t);
        dacc_adam_args a = {.lr = test_rand_uniform(&rng, 1e-4f, 1e-2f), .beta1 = 0.9f,
                            .beta2 = 0.999f, .eps = 1e-8f};
        a.bc1 = 1.0f - powf(a.beta1, (float)t);
        a.bc2 = 1.0f - powf(a.beta2, (float)t);
        float *p0 = fnew(n), *g = fnew(n), *m0 = fnew(n), *v0 = fnew(n);
        float *p1 = fnew(n), *m1 = fnew(n), *v1 = fnew(n);
        fill(p0, n, -1, 1);
        fill(g, n, -1, 1);
        fill(m0, n, -0.1f, 0.1f);
        fill(v0, n, 0, 0.01f);
        memcpy(p1, p0, n * 4), memcpy(m1, m0, n * 4), memcpy(v1, v0, n * 4);
        f0(n, p0, g, m0, v0, &a);
        f1(n, p1, g, m1, v1, &a);
        cmp_f32("p", im->name, sh, p0, p1, n, 1e-7, 1e-5, NULL);
        cmp_f32("m", im->name, sh, m0, m1, n, 1e-7, 1e-5, NULL);
        cmp_f32("v", im->name, sh, v0, v1, n, 1e-7, 1e-5, NULL);
        check_guard(im->name, sh, p1, n * 4);
        check_guard(im->name, sh, m1, n * 4);
        check_guard(im->name, sh, v1, n * 4);
        free(p0), free(g), free(m0), free(v0), free(p1), free(m1), free(v1);
    }
}

static void t_softmax(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_softmax_t *f0 = (dacc_softmax_t *)ref->fn, *f1 = (dacc_softmax_t *)im->fn;
    static const size_t rowss[] = {1, 3, 64, 65};
    static const int ks[] = {1, 2, 7, 8, 10, 16, 17, 33, 100};
    for (size_t ri = 0; ri < 4; ri++)
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
            size_t rows = rowss[ri], n = rows * ks[ki];
            char sh[64];
            snprintf(sh, sizeof sh, "rows=%zu k=%d", rows, ks[ki]);
            float *x = fnew(n), *y0 = fnew(n), *y1 = fnew(n);
            float span = test_rand_uniform(&rng, 1, 30);
            fill(x, n, -span, span);
            poison(y0, n), poison(y1, n);
            f0(rows, ks[ki], x, y0);
            f1(rows, ks[ki], x, y1);
            cmp_f32("y", im->name, sh, y0, y1, n, 1e-8, 1e-5, NULL);
            check_guard(im->name, sh, y1, n * 4);
            free(x), free(y0), free(y1);
        }
}

/* ---- per-channel ops */
static const size_t ch_rows[] = {1, 2, 7, 33, 64, 1003};
static const int ch_c[] = {1, 3, 17, 32, 64};
#define FOR_CH_SHAPES                                                        \
    for (size_t ri = 0; ri < sizeof ch_rows / sizeof ch_rows[0]; ri++)       \
        for (size_t ci = 0; ci < sizeof ch_c / sizeof ch_c[0]; ci++)

static double *dnew_copy(const double *src, int c) {
    double *d = gbuf(sizeof(double) * c);
    memcpy(d, src, sizeof(double) * c);
    return d;
}

static void cmp_f64(const char *what, const char *name, const char *shape, const double *ref,
                    const double *got, const double *mag, int c) {
    for (int j = 0; j < c; j++)
        if (!(fabs(ref[j] - got[j]) <= 1e-9 + 1e-5 * mag[j])) {
            CHECK(0, "%s %s [%s]: channel %d: ref %.12g got %.12g (sum|terms| %.6g)", name, what,
                  shape, j, ref[j], got[j], mag[j]);
            return;
        }
    CHECK(1, "%s", name);
}

static void t_channel_red(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    FOR_CH_SHAPES {
        size_t rows = ch_rows[ri];
        int c = ch_c[ci];
        size_t n = rows * c;
        char sh[64];
        snprintf(sh, sizeof sh, "rows=%zu c=%d", rows, c);
        float *x = fnew(n), *dy = fnew(n), *mean = fnew(c);
        double init[64], init2[64], mag[64] = {0}, mag2[64] = {0};
        fill(x, n, -1.5f, 2.5f);
        fill(dy, n, -1, 1);
        fill(mean, c, -0.5f, 0.5f);
        for (int j = 0; j < c; j++) {
            init[j] = test_rand_uniform(&rng, -10, 10);
            init2[j] = test_rand_uniform(&rng, -10, 10);
        }
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < c; j++) {
                double xv = x[r * c + j], d = xv - mean[j], g = dy[r * c + j];
                if (im->op == DACC_OP_channel_moments) mag[j] += fabs(d), mag2[j] += d * d;
                else mag[j] += fabs(g), mag2[j] += fabs(g * d);
            }
        double *o0 = dnew_copy(init, c), *o1 = dnew_copy(init, c);
        double *q0 = dnew_copy(init2, c), *q1 = dnew_copy(init2, c);
        if (im->op == DACC_OP_channel_moments) {
            ((dacc_channel_moments_t *)ref->fn)(rows, c, x, mean, o0, q0);
            ((dacc_channel_moments_t *)im->fn)(rows, c, x, mean, o1, q1);
        } else {
            ((dacc_channel_dot_t *)ref->fn)(rows, c, dy, x, mean, o0, q0);
            ((dacc_channel_dot_t *)im->fn)(rows, c, dy, x, mean, o1, q1);
        }
        cmp_f64("second sum", im->name, sh, q0, q1, mag2, c);
        check_guard(im->name, sh, q1, sizeof(double) * c);
        cmp_f64("out", im->name, sh, o0, o1, mag, c);
        check_guard(im->name, sh, o1, sizeof(double) * c);
        free(x), free(dy), free(mean), free(o0), free(o1), free(q0), free(q1);
    }
}

static void t_channel_affine(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_channel_affine_t *f0 = (dacc_channel_affine_t *)ref->fn, *f1 = (dacc_channel_affine_t *)im->fn;
    FOR_CH_SHAPES {
        size_t rows = ch_rows[ri];
        int c = ch_c[ci];
        size_t n = rows * c;
        char sh[64];
        snprintf(sh, sizeof sh, "rows=%zu c=%d", rows, c);
        float *x = fnew(n), *a = fnew(c), *b = fnew(c), *y0 = fnew(n), *y1 = fnew(n), *y2 = fnew(n);
        fill(x, n, -2, 2), fill(a, c, -2, 2), fill(b, c, -1, 1);
        poison(y0, n), poison(y1, n);
        f0(rows, c, x, a, b, y0);
        f1(rows, c, x, a, b, y1);
        cmp_f32("y", im->name, sh, y0, y1, n, 2e-6, 2e-6, NULL);
        check_guard(im->name, sh, y1, n * 4);
        memcpy(y2, x, n * 4);
        f1(rows, c, y2, a, b, y2);
        cmp_f32("y (in place)", im->name, sh, y0, y2, n, 2e-6, 2e-6, NULL);
        free(x), free(a), free(b), free(y0), free(y1), free(y2);
    }
}

static void t_channel_affine2(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_channel_affine2_t *f0 = (dacc_channel_affine2_t *)ref->fn;
    dacc_channel_affine2_t *f1 = (dacc_channel_affine2_t *)im->fn;
    FOR_CH_SHAPES {
        size_t rows = ch_rows[ri];
        int c = ch_c[ci];
        size_t n = rows * c;
        char sh[64];
        snprintf(sh, sizeof sh, "rows=%zu c=%d", rows, c);
        float *p = fnew(n), *q = fnew(n), *a = fnew(c), *b = fnew(c), *k = fnew(c);
        float *o0 = fnew(n), *o1 = fnew(n), *o2 = fnew(n);
        fill(p, n, -2, 2), fill(q, n, -2, 2), fill(a, c, -2, 2), fill(b, c, -1, 1), fill(k, c, -1, 1);
        poison(o0, n), poison(o1, n);
        f0(rows, c, p, q, a, b, k, o0);
        f1(rows, c, p, q, a, b, k, o1);
        cmp_f32("out", im->name, sh, o0, o1, n, 4e-6, 2e-6, NULL);
        check_guard(im->name, sh, o1, n * 4);
        memcpy(o2, p, n * 4); /* out aliases p */
        f1(rows, c, o2, q, a, b, k, o2);
        cmp_f32("out (aliasing p)", im->name, sh, o0, o2, n, 4e-6, 2e-6, NULL);
        free(p), free(q), free(a), free(b), free(k), free(o0), free(o1), free(o2);
    }
}

/* The same ISA's affine2 then relu_bwd, or NULL when the ISA lacks one. */
static const dacc_kernel_impl *impl_by_name(const char *name);
static int same_isa_pair(const char *name, dacc_channel_affine2_t **f, dacc_relu_bwd_t **r) {
    const char *isa = strstr(name, "__");
    char n1[96], n2[96];
    if (!isa) return 0;
    snprintf(n1, sizeof n1, "dacc_f32_channel_affine2%s", isa);
    snprintf(n2, sizeof n2, "dacc_f32_relu_bwd%s", isa);
    const dacc_kernel_impl *a = impl_by_name(n1), *b = impl_by_name(n2);
    if (!a || !b) return 0;
    *f = (dacc_channel_affine2_t *)a->fn;
    *r = (dacc_relu_bwd_t *)b->fn;
    return 1;
}

/* Against the scalar reference, and bit for bit against the same ISA's
 * affine2 followed by relu_bwd (the two passes it replaces). q holds
 * zeros and -0 so the mask's boundary is crossed. */
static void t_channel_affine2_relu(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_channel_affine2_relu_t *f0 = (dacc_channel_affine2_relu_t *)ref->fn;
    dacc_channel_affine2_relu_t *f1 = (dacc_channel_affine2_relu_t *)im->fn;
    dacc_channel_affine2_t *fa = NULL;
    dacc_relu_bwd_t *fr = NULL;
    int pair = same_isa_pair(im->name, &fa, &fr);
    FOR_CH_SHAPES {
        size_t rows = ch_rows[ri];
        int c = ch_c[ci];
        size_t n = rows * c;
        char sh[64];
        snprintf(sh, sizeof sh, "rows=%zu c=%d", rows, c);
        float *p = fnew(n), *q = fnew(n), *a = fnew(c), *b = fnew(c), *k = fnew(c);
        float *o0 = fnew(n), *o1 = fnew(n), *o2 = fnew(n);
        fill(p, n, -2, 2), fill(q, n, -2, 2), fill(a, c, -2, 2), fill(b, c, -1, 1), fill(k, c, -1, 1);
        for (size_t i = 0; i < n; i += 5) q[i] = (i / 5) % 2 ? 0.0f : -0.0f;
        poison(o0, n), poison(o1, n);
        f0(rows, c, p, q, a, b, k, o0);
        f1(rows, c, p, q, a, b, k, o1);
        cmp_f32("out", im->name, sh, o0, o1, n, 4e-6, 2e-6, NULL);
        check_guard(im->name, sh, o1, n * 4);
        memcpy(o2, p, n * 4); /* out aliases p */
        f1(rows, c, o2, q, a, b, k, o2);
        cmp_f32("out (aliasing p)", im->name, sh, o1, o2, n, -1, 0, NULL);
        if (pair) {
            poison(o2, n);
            fa(rows, c, p, q, a, b, k, o2);
            fr(n, q, o2, o2);
            cmp_f32("out (= affine2, relu_bwd)", im->name, sh, o2, o1, n, -1, 0, NULL);
        }
        free(p), free(q), free(a), free(b), free(k), free(o0), free(o1), free(o2);
    }
}

/* ---- pooling */
static const dacc_pool_shape pool_shapes[] = {
    /* n, ih, iw, c, oh, ow, k, stride, pad (oh/ow filled in below) */
    {1, 24, 24, 32, 0, 0, 5, 2, 2}, /* pool_1 of the network */
    {3, 8, 8, 64, 0, 0, 5, 2, 2},   /* pool_2 */
    {2, 24, 24, 32, 0, 0, 5, 2, 2},
    {3, 7, 9, 17, 0, 0, 5, 2, 2},
    {1, 5, 3, 3, 0, 0, 5, 2, 2},
    {2, 9, 7, 1, 0, 0, 3, 2, 1},
    {3, 6, 6, 40, 0, 0, 2, 2, 0},
    {1, 7, 6, 33, 0, 0, 5, 1, 2},
    {1, 4, 5, 80, 0, 0, 3, 3, 1},
    {2, 5, 70, 20, 0, 0, 3, 2, 1},  /* rows wider than POOL_SEP_MAX_W */
};
#define NPOOL (sizeof pool_shapes / sizeof pool_shapes[0])

static dacc_pool_shape pool_shape(size_t i, char *sh, size_t shn) {
    dacc_pool_shape s = pool_shapes[i];
    s.oh = (s.ih + 2 * s.pad - s.k) / s.stride + 1;
    s.ow = (s.iw + 2 * s.pad - s.k) / s.stride + 1;
    snprintf(sh, shn, "n=%d %dx%dx%d k%d s%d p%d", s.n, s.ih, s.iw, s.c, s.k, s.stride, s.pad);
    return s;
}

/* Max-pool inputs: few distinct levels (many ties), sometimes NaN and -inf. */
static void pool_input(float *x, size_t n, int specials) {
    for (size_t i = 0; i < n; i++) {
        uint64_t r = test_rand_u64(&rng);
        x[i] = (float)((int)(r % 5) - 2) * 0.5f;
        if (specials && (r >> 32) % 97 == 0) x[i] = NAN;
        if (specials && (r >> 32) % 89 == 1) x[i] = -INFINITY;
    }
}

static void t_maxpool_fwd(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_maxpool_fwd_t *f0 = (dacc_maxpool_fwd_t *)ref->fn, *f1 = (dacc_maxpool_fwd_t *)im->fn;
    for (size_t i = 0; i < NPOOL; i++)
        for (int specials = 0; specials < 3; specials++) {
            char sh[96];
            dacc_pool_shape s = pool_shape(i, sh, sizeof sh);
            size_t ni = (size_t)s.n * s.ih * s.iw * s.c, no = (size_t)s.n * s.oh * s.ow * s.c;
            float *x = fnew(ni), *y0 = fnew(no), *y1 = fnew(no);
            int32_t *i0 = gbuf(no * 4), *i1 = gbuf(no * 4);
            if (specials == 2) fill(x, ni, -1, 1); /* distinct values */
            else pool_input(x, ni, specials);
            if (specials == 1 && ni > 2) x[ni - 1] = x[0] = -INFINITY;
            poison(y0, no), poison(y1, no);
            memset(i0, 0x7f, no * 4), memset(i1, 0x7f, no * 4);
            f0(&s, x, y0, i0);
            f1(&s, x, y1, i1);
            cmp_f32("y", im->name, sh, y0, y1, no, -1, 0, NULL);
            CHECK(!memcmp(i0, i1, no * 4), "%s idx [%s]: differs from the reference", im->name, sh);
            check_guard(im->name, sh, y1, no * 4);
            check_guard(im->name, sh, i1, no * 4);
            free(x), free(y0), free(y1), free(i0), free(i1);
        }
}

/* Eval-mode max pooling of an affine map, checked against its definition
 * (affine over the input, then the reference max pooling, then ReLU) for
 * the scalar kernel and this ISA's: this checks the max/min commutation,
 * not just agreement between two implementations of it. Tolerance: the
 * vector kernels fuse the affine into one FMA, the definition rounds twice
 * (values are O(1), so 1e-6 absolute is a few ulp). */
static void t_maxpool_affine(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    int nimp;
    const dacc_kernel_impl *all = dacc_kernel_impls(&nimp);
    dacc_maxpool_fwd_t *pool = NULL;
    for (int i = 0; i < nimp; i++)
        if (all[i].op == DACC_OP_maxpool_fwd && all[i].isa == DACC_ISA_SCALAR)
            pool = (dacc_maxpool_fwd_t *)all[i].fn;
    const dacc_kernel_impl *impls[2] = {ref, im};
    /* mode: affine or identity, x relu, x the signs of a: mixed (with
     * zeros), all >= 0 (kernels may skip the window's min), or negative in
     * the last channel only (a block that needs the min after blocks that
     * do not) */
    for (size_t i = 0; i < NPOOL; i++)
        for (int mode = 0; mode < 12; mode++) {
            char sh[96], what[160];
            dacc_pool_shape s = pool_shape(i, sh, sizeof sh);
            const int affine = mode & 1, relu = (mode >> 1) & 1, signs = mode >> 2;
            if (!affine && signs) continue;
            size_t ni = (size_t)s.n * s.ih * s.iw * s.c, no = (size_t)s.n * s.oh * s.ow * s.c;
            float *x = fnew(ni), *z = fnew(ni), *want = fnew(no), *got = fnew(no);
            float *a = fnew(s.c), *b = fnew(s.c);
            int32_t *idx = gbuf(no * 4);
            if (i % 2) fill(x, ni, -1, 1); /* distinct values */
            else pool_input(x, ni, 0);     /* ties */
            fill(a, s.c, -2, 2);
            fill(b, s.c, -1, 1);
            for (int c = 0; c < s.c; c += 5) a[c] = 0; /* every sign, and zero */
            for (int c = 0; signs && c < s.c; c++) a[c] = fabsf(a[c]);
            if (signs == 2) a[s.c - 1] = -0.5f - a[s.c - 1];
            for (size_t j = 0; j < ni; j++) {
                int c = (int)(j % (size_t)s.c);
                z[j] = affine ? x[j] * a[c] + b[c] : x[j];
            }
            pool(&s, z, want, idx);
            for (size_t j = 0; relu && j < no; j++) want[j] = want[j] > 0 ? want[j] : 0.0f;
            for (int k = 0; k < 2; k++) {
                poison(got, no);
                ((dacc_maxpool_affine_t *)impls[k]->fn)(&s, x, affine ? a : NULL, affine ? b : NULL,
                                                        relu, got);
                snprintf(what, sizeof what, "%s%s%s", affine ? "affine" : "identity", relu ? "+relu" : "",
                         signs == 1 ? " a>=0" : signs == 2 ? " a<0 last" : "");
                cmp_f32(what, impls[k]->name, sh, want, got, no, 1e-6, 1e-6, NULL);
                check_guard(impls[k]->name, sh, got, no * 4);
            }
            free(x), free(z), free(want), free(got), free(a), free(b), free(idx);
        }
}

static void t_maxpool_bwd(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    dacc_maxpool_bwd_t *f0 = (dacc_maxpool_bwd_t *)ref->fn, *f1 = (dacc_maxpool_bwd_t *)im->fn;
    int nimp;
    const dacc_kernel_impl *all = dacc_kernel_impls(&nimp);
    dacc_maxpool_fwd_t *fwd = NULL;
    for (int i = 0; i < nimp; i++)
        if (all[i].op == DACC_OP_maxpool_fwd && all[i].isa == DACC_ISA_SCALAR)
            fwd = (dacc_maxpool_fwd_t *)all[i].fn;
    for (size_t i = 0; i < NPOOL; i++) {
        char sh[96];
        dacc_pool_shape s = pool_shape(i, sh, sizeof sh);
        size_t ni = (size_t)s.n * s.ih * s.iw * s.c, no = (size_t)s.n * s.oh * s.ow * s.c;
        float *x = fnew(ni), *y = fnew(no), *dy = fnew(no), *d0 = fnew(ni), *d1 = fnew(ni);
        int32_t *idx = gbuf(no * 4);
        pool_input(x, ni, 0); /* ties: one input often wins several windows */
        fwd(&s, x, y, idx);
        fill(dy, no, -1, 1);
        poison(d0, ni), poison(d1, ni);
        f0(&s, dy, idx, d0);
        f1(&s, dy, idx, d1);
        cmp_f32("dx", im->name, sh, d0, d1, ni, -1, 0, NULL);
        check_guard(im->name, sh, d1, ni * 4);
        free(x), free(y), free(dy), free(d0), free(d1), free(idx);
    }
}

static void t_avgpool(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    for (size_t i = 0; i < NPOOL; i++) {
        char sh[96];
        dacc_pool_shape s = pool_shape(i, sh, sizeof sh);
        size_t ni = (size_t)s.n * s.ih * s.iw * s.c, no = (size_t)s.n * s.oh * s.ow * s.c;
        if (im->op == DACC_OP_avgpool_fwd) {
            float *x = fnew(ni), *y0 = fnew(no), *y1 = fnew(no);
            fill(x, ni, -1, 1);
            poison(y0, no), poison(y1, no);
            ((dacc_avgpool_fwd_t *)ref->fn)(&s, x, y0);
            ((dacc_avgpool_fwd_t *)im->fn)(&s, x, y1);
            cmp_f32("y", im->name, sh, y0, y1, no, 1e-6, 1e-5, NULL);
            check_guard(im->name, sh, y1, no * 4);
            free(x), free(y0), free(y1);
        } else {
            float *dy = fnew(no), *d0 = fnew(ni), *d1 = fnew(ni);
            fill(dy, no, -1, 1);
            poison(d0, ni), poison(d1, ni);
            ((dacc_avgpool_bwd_t *)ref->fn)(&s, dy, d0);
            ((dacc_avgpool_bwd_t *)im->fn)(&s, dy, d1);
            cmp_f32("dx", im->name, sh, d0, d1, ni, 1e-6, 1e-5, NULL);
            check_guard(im->name, sh, d1, ni * 4);
            free(dy), free(d0), free(d1);
        }
    }
}

/* ---- convolutions */
static const dacc_conv_shape conv_shapes[] = {
    /* n, ih, iw, ic, oh, ow, oc, kh, kw, stride, pad, relu (oh/ow filled in below;
     * the forward is also run with relu = 1) */
    {1, 28, 28, 1, 0, 0, 32, 3, 3, 1, 0, 0},  /* conv32_1 */
    {1, 26, 26, 32, 0, 0, 32, 3, 3, 1, 0, 0}, /* conv32_2 */
    {1, 12, 12, 32, 0, 0, 64, 3, 3, 1, 0, 0}, /* conv64_1 */
    {3, 10, 10, 64, 0, 0, 64, 3, 3, 1, 0, 0}, /* conv64_2, odd batch */
    {16, 10, 10, 64, 0, 0, 64, 3, 3, 1, 0, 0}, /* conv64_2, a batch that threads or blocks split */
    {2, 4, 4, 64, 0, 0, 128, 4, 4, 1, 0, 0},  /* conv128 */
    {3, 1, 1, 128, 0, 0, 10, 1, 1, 1, 0, 0},  /* fc as a 1x1 convolution */
    {3, 7, 9, 3, 0, 0, 17, 3, 3, 1, 1, 0},
    {1, 9, 7, 5, 0, 0, 13, 5, 5, 2, 2, 0},
    {3, 6, 5, 17, 0, 0, 33, 2, 2, 2, 0, 0},
    {1, 5, 5, 2, 0, 0, 1, 3, 3, 1, 2, 0},
    {2, 11, 10, 16, 0, 0, 24, 3, 3, 1, 1, 0},
    {1, 14, 14, 32, 0, 0, 32, 5, 5, 2, 2, 0},
    {1, 3, 3, 1, 0, 0, 5, 3, 3, 1, 0, 0},
};
#define NCONV (sizeof conv_shapes / sizeof conv_shapes[0])

static void fabs_copy(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = fabsf(src[i]);
}

/* The table of an implementation's ISA (its query and pack ops). */
static dacc_kernels conv_table(const dacc_kernel_impl *im) {
    dacc_kernels k;
    if (dacc_kernels_for_isa(im->isa, &k)) memset(&k, 0, sizeof k);
    return k;
}
static void fwd_via(const dacc_kernels *k, const dacc_conv_shape *s, const float *x,
                    const float *w, const float *b, float *y) {
    CHECK(!dacc_conv_fwd_once(k, s, dacc_conv_fwd_algo(k, s, 0), x, w, b, y), "%s: no memory",
          k->names[DACC_OP_conv_fwd]);
}
static void bd_via(const dacc_kernels *k, const dacc_conv_shape *s, const float *dy,
                   const float *w, float *dx) {
    CHECK(!dacc_conv_bwd_data_once(k, s, dacc_conv_bwd_data_algo(k, s, 0), dy, w, dx),
          "%s: no memory", k->names[DACC_OP_conv_bwd_data]);
}
static void bf_via(const dacc_kernels *k, const dacc_conv_shape *s, const float *x,
                   const float *dy, float *dw, float *db) {
    CHECK(!dacc_conv_bwd_filter_once(k, s, dacc_conv_bwd_filter_algo(k, s, 0), x, dy, dw, db),
          "%s: no memory",
          k->names[DACC_OP_conv_bwd_filter]);
}

static void t_conv(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    const dacc_kernels k0 = conv_table(ref), k1 = conv_table(im);
    CHECK(k0.conv_fwd && k1.conv_fwd, "%s: no table for its ISA", im->name);
    if (!k0.conv_fwd || !k1.conv_fwd) return;
    for (size_t ci = 0; ci < NCONV; ci++) {
        dacc_conv_shape s = conv_shapes[ci];
        s.oh = (s.ih + 2 * s.pad - s.kh) / s.stride + 1;
        s.ow = (s.iw + 2 * s.pad - s.kw) / s.stride + 1;
        char sh[128];
        snprintf(sh, sizeof sh, "n=%d %dx%dx%d -> %dx%dx%d k%dx%d s%d p%d", s.n, s.ih, s.iw, s.ic,
                 s.oh, s.ow, s.oc, s.kh, s.kw, s.stride, s.pad);
        size_t nx = (size_t)s.n * s.ih * s.iw * s.ic, ny = (size_t)s.n * s.oh * s.ow * s.oc;
        size_t nw = (size_t)s.kh * s.kw * s.ic * s.oc;
        float *x = fnew(nx), *w = fnew(nw), *dy = fnew(ny), *b = fnew(s.oc);
        float *ax = fnew(nx), *aw = fnew(nw), *ady = fnew(ny), *ab = fnew(s.oc);
        fill(x, nx, -1, 1), fill(w, nw, -1, 1), fill(dy, ny, -1, 1), fill(b, s.oc, -1, 1);
        fabs_copy(ax, x, nx), fabs_copy(aw, w, nw), fabs_copy(ady, dy, ny), fabs_copy(ab, b, s.oc);
        int with_bias = (int)(ci % 2 == 0);
        if (im->op == DACC_OP_conv_fwd) {
            float *y0 = fnew(ny), *y1 = fnew(ny), *mag = fnew(ny);
            poison(y0, ny), poison(y1, ny);
            fwd_via(&k0, &s, x, w, with_bias ? b : NULL, y0);
            fwd_via(&k0, &s, ax, aw, with_bias ? ab : NULL, mag);
            fwd_via(&k1, &s, x, w, with_bias ? b : NULL, y1);
            cmp_f32(with_bias ? "y (bias)" : "y (no bias)", im->name, sh, y0, y1, ny, 1e-6, 1e-4, mag);
            check_guard(im->name, sh, y1, ny * 4);
            /* fused ReLU: against the reference with relu set */
            dacc_conv_shape sr = s;
            sr.relu = 1;
            poison(y0, ny), poison(y1, ny);
            fwd_via(&k0, &sr, x, w, with_bias ? b : NULL, y0);
            fwd_via(&k1, &sr, x, w, with_bias ? b : NULL, y1);
            cmp_f32(with_bias ? "y (bias, relu)" : "y (relu)", im->name, sh, y0, y1, ny, 1e-6, 1e-4, mag);
            check_guard(im->name, sh, y1, ny * 4);
            size_t neg = 0, pos = 0;
            for (size_t j = 0; j < ny; j++) neg += !(y1[j] >= 0), pos += y1[j] > 0;
            CHECK(!neg && (ny <= 8 || pos), "%s %s: relu output has %zu negatives, %zu positives",
                  im->name, sh, neg, pos);
            free(y0), free(y1), free(mag);
        } else if (im->op == DACC_OP_conv_bwd_data) {
            float *d0 = fnew(nx), *d1 = fnew(nx), *mag = fnew(nx);
            poison(d0, nx), poison(d1, nx);
            bd_via(&k0, &s, dy, w, d0);
            bd_via(&k0, &s, ady, aw, mag);
            bd_via(&k1, &s, dy, w, d1);
            cmp_f32("dx", im->name, sh, d0, d1, nx, 1e-6, 1e-4, mag);
            check_guard(im->name, sh, d1, nx * 4);
            free(d0), free(d1), free(mag);
        } else {
            float *w0 = fnew(nw), *w1 = fnew(nw), *wm = fnew(nw);
            float *b0 = fnew(s.oc), *b1 = fnew(s.oc), *bm = fnew(s.oc);
            poison(w0, nw), poison(w1, nw), poison(b0, s.oc), poison(b1, s.oc);
            bf_via(&k0, &s, x, dy, w0, with_bias ? b0 : NULL);
            bf_via(&k0, &s, ax, ady, wm, with_bias ? bm : NULL);
            bf_via(&k1, &s, x, dy, w1, with_bias ? b1 : NULL);
            cmp_f32("dw", im->name, sh, w0, w1, nw, 1e-6, 1e-4, wm);
            if (with_bias) cmp_f32("db", im->name, sh, b0, b1, s.oc, 1e-6, 1e-4, bm);
            else CHECK(isnan(b1[0]), "%s [%s]: wrote db although db was NULL", im->name, sh);
            check_guard(im->name, sh, w1, nw * 4);
            check_guard(im->name, sh, b1, s.oc * 4);
            free(w0), free(w1), free(wm), free(b0), free(b1), free(bm);
        }
        free(x), free(w), free(dy), free(b), free(ax), free(aw), free(ady), free(ab);
    }
}

static void run_op(const dacc_kernel_impl *ref, const dacc_kernel_impl *im) {
    switch (im->op) {
    case DACC_OP_conv_fwd:
    case DACC_OP_conv_bwd_data:
    case DACC_OP_conv_bwd_filter: t_conv(ref, im); break;
    /* run with their compute op above (and in test_conv_kernels) */
    case DACC_OP_conv_fwd_query:
    case DACC_OP_conv_fwd_pack:
    case DACC_OP_conv_bwd_data_query:
    case DACC_OP_conv_bwd_data_pack:
    case DACC_OP_conv_bwd_filter_query:
    /* the fused backward: against the same ISA's two ops in test_conv_bwd_both */
    case DACC_OP_conv_bwd_both_query:
    case DACC_OP_conv_bwd_both: break;
    case DACC_OP_maxpool_fwd: t_maxpool_fwd(ref, im); break;
    case DACC_OP_maxpool_bwd: t_maxpool_bwd(ref, im); break;
    case DACC_OP_maxpool_affine: t_maxpool_affine(ref, im); break;
    case DACC_OP_avgpool_fwd:
    case DACC_OP_avgpool_bwd: t_avgpool(ref, im); break;
    case DACC_OP_relu_fwd: t_relu_fwd(ref, im); break;
    case DACC_OP_relu_bwd: t_relu_bwd(ref, im); break;
    case DACC_OP_channel_moments:
    case DACC_OP_channel_dot: t_channel_red(ref, im); break;
    case DACC_OP_channel_affine: t_channel_affine(ref, im); break;
    case DACC_OP_channel_affine2: t_channel_affine2(ref, im); break;
    case DACC_OP_channel_affine2_relu: t_channel_affine2_relu(ref, im); break;
    case DACC_OP_dropout: t_dropout(ref, im); break;
    case DACC_OP_dropout_mask: t_dropout_mask(ref, im); break;
    case DACC_OP_softmax: t_softmax(ref, im); break;
    case DACC_OP_adam: t_adam(ref, im); break;
    case DACC_OP_u8_normalize: t_u8_normalize(ref, im); break;
    default: CHECK(0, "%s: no test for op %d", im->name, (int)im->op);
    }
}

/* ---- tables */
static const dacc_kernel_impl *impl_by_name(const char *name) {
    int n;
    const dacc_kernel_impl *all = dacc_kernel_impls(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(all[i].name, name)) return &all[i];
    return NULL;
}

static void test_tables(void) {
    int n;
    const dacc_kernel_impl *all = dacc_kernel_impls(&n);
    CHECK(dacc_cpu_supports(DACC_ISA_SCALAR), "scalar must always be supported");
    for (int op = 0; op < DACC_OP_COUNT; op++) {
        int has_scalar = 0, last_scalar = 0;
        for (int i = 0; i < n; i++)
            if ((int)all[i].op == op) {
                last_scalar = all[i].isa == DACC_ISA_SCALAR;
                has_scalar |= last_scalar;
            }
        CHECK(has_scalar && last_scalar, "op %s: the scalar kernel must exist and come last",
              dacc_op_name((dacc_op)op));
    }
    for (int isa = 0; isa < DACC_ISA_COUNT; isa++) {
        dacc_kernels k;
        int rc = dacc_kernels_for_isa((dacc_isa)isa, &k);
        if (!dacc_cpu_supports((dacc_isa)isa)) {
            CHECK(rc == -1, "dacc_kernels_for_isa(%s) should fail on this CPU/build",
                  dacc_isa_name((dacc_isa)isa));
            continue;
        }
        CHECK(rc == 0, "dacc_kernels_for_isa(%s) failed", dacc_isa_name((dacc_isa)isa));
        CHECK(k.isa == (dacc_isa)isa, "table isa %d != %d", (int)k.isa, isa);
        int complete = 1;
#define X(name, type) complete &= k.name != NULL;
        DACC_OPS(X)
#undef X
        CHECK(complete, "table for %s has a NULL op", dacc_isa_name((dacc_isa)isa));
        for (int op = 0; op < DACC_OP_COUNT; op++) {
            const dacc_kernel_impl *im = k.names[op] ? impl_by_name(k.names[op]) : NULL;
            CHECK(im && (int)im->op == op && (im->isa == (dacc_isa)isa || im->isa == DACC_ISA_SCALAR),
                  "table %s op %s: bad choice %s", dacc_isa_name((dacc_isa)isa),
                  dacc_op_name((dacc_op)op), k.names[op] ? k.names[op] : "(null)");
            /* the ISA's own kernel is taken when the list has one */
            const dacc_kernel_impl *first = NULL;
            for (int i = 0; i < n && !first; i++)
                if ((int)all[i].op == op && all[i].isa == (dacc_isa)isa) first = &all[i];
            if (first && im)
                CHECK(im == first, "table %s op %s: chose %s, expected %s",
                      dacc_isa_name((dacc_isa)isa), dacc_op_name((dacc_op)op), im->name, first->name);
        }
    }
    /* DACC_ISA parsing */
    for (int isa = 0; isa < DACC_ISA_COUNT; isa++) {
        dacc_isa got = DACC_ISA_COUNT;
        CHECK(dacc_isa_parse(dacc_isa_name((dacc_isa)isa), &got) == 0 && got == (dacc_isa)isa,
              "dacc_isa_parse(%s)", dacc_isa_name((dacc_isa)isa));
    }
    static const char *bad[] = {"", "AVX2", "avx", "avx512f", "sse", "scalar ", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dacc_isa got;
        CHECK(dacc_isa_parse(bad[i], &got) == -1, "dacc_isa_parse(\"%s\") should fail", bad[i]);
    }
    /* The default table: the best supported kernel per op, and on an x86
     * CPU with AVX-512/AVX2 one of those wherever the op has one. */
    const char *env = getenv("DACC_ISA");
    if (env && *env) {
        SKIP("default table: DACC_ISA=%s is set", env);
    } else {
        const dacc_kernels *k = dacc_kernels_get();
        CHECK(k != NULL, "dacc_kernels_get: %s", dacc_kernels_error());
        for (int op = 0; k && op < DACC_OP_COUNT; op++) {
            const dacc_kernel_impl *first = NULL, *x86 = NULL;
            for (int i = 0; i < n; i++)
                if ((int)all[i].op == op && dacc_cpu_supports(all[i].isa)) {
                    if (!first) first = &all[i];
                    if (!x86 && (all[i].isa == DACC_ISA_AVX512 || all[i].isa == DACC_ISA_AVX2)) x86 = &all[i];
                }
            const dacc_kernel_impl *im = impl_by_name(k->names[op] ? k->names[op] : "");
            CHECK(im == first, "default op %s: chose %s, expected %s", dacc_op_name((dacc_op)op),
                  im ? im->name : "(null)", first ? first->name : "(null)");
            if (x86)
                CHECK(im && (im->isa == DACC_ISA_AVX512 || im->isa == DACC_ISA_AVX2),
                      "default op %s: chose %s although %s runs here", dacc_op_name((dacc_op)op),
                      im ? im->name : "(null)", x86->name);
        }
    }
}

/* DACC_ISA forces a path (in a child, before this process chooses its own
 * table: the choice is made once per process and a child inherits it). */
static void test_forced(void) {
    static const struct { const char *val; int ok; } forced[] = {
        {"scalar", 1}, {"avx2", -1}, {"avx512", -1}, {"neon", -1}, {"hwy", -1}, {"bogus", 0}};
    for (size_t i = 0; i < sizeof forced / sizeof forced[0]; i++) {
        dacc_isa isa = DACC_ISA_SCALAR;
        int want = forced[i].ok;
        if (want == -1) {
            dacc_isa_parse(forced[i].val, &isa);
            want = dacc_cpu_supports(isa);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("DACC_ISA", forced[i].val, 1);
            const dacc_kernels *k = dacc_kernels_get();
            if (!want) _exit(k == NULL && strstr(dacc_kernels_error(), forced[i].val) ? 0 : 1);
            if (!k || k->isa != isa) _exit(1);
            for (int op = 0; op < DACC_OP_COUNT; op++) {
                const dacc_kernel_impl *im = impl_by_name(k->names[op] ? k->names[op] : "");
                if (!im || (im->isa != isa && im->isa != DACC_ISA_SCALAR)) _exit(1);
            }
            _exit(0);
        }
        int st = -1;
        CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "DACC_ISA=%s: %s", forced[i].val, want ? "should select that path" : "should be refused");
    }
}

int main(void) {
    rng = test_seed();
    printf("CPU: %s\n", dacc_cpu_description());
    test_forced();
    test_tables();
    int n;
    const dacc_kernel_impl *all = dacc_kernel_impls(&n);
    for (int i = 0; i < n; i++) {
        const dacc_kernel_impl *im = &all[i];
        if (im->isa == DACC_ISA_SCALAR) continue;
        const dacc_kernel_impl *ref = NULL;
        for (int j = 0; j < n; j++)
            if (all[j].op == im->op && all[j].isa == DACC_ISA_SCALAR) ref = &all[j];
        if (!ref) {
            CHECK(0, "%s: no scalar reference for op %s", im->name, dacc_op_name(im->op));
            continue;
        }
        if (!dacc_cpu_supports(im->isa)) {
            SKIP("%s: this CPU cannot run %s", im->name, dacc_isa_name(im->isa));
            continue;
        }
        int before = test_failed;
        run_op(ref, im);
        fprintf(stderr, "%-40s %s\n", im->name, test_failed == before ? "ok" : "FAILED");
    }
    return test_finish();
}
