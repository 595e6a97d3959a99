/* The convolution algorithm rule and the one-shot helpers (conv_algo.h). */
#include "nn/conv_algo.h"
#include "nn/conv_ops.h"
#include <stdlib.h>

/* The x86 tables' vector width and up (AVX2 8 lanes, AVX-512 16): the
 * forms below that were written and timed there only (the polyphase
 * form, F(5x5)/F(6x6), the transposed backward-data); NEON's 4 lanes
 * keep the plain rule. */
#define X86_LANES 8
/* Winograd needs this many input channels: with fewer the GEMMs are too
 * short to pay for the transforms (ic 8, oc 32: no gain with AVX-512). */
#define WINO_MIN_IC 16
/* F(4x4) when its tiles cover at most WINO4_MAX_COVER / 16 of the output
 * pixels (partial tiles pay for whole ones). */
#define WINO4_MAX_COVER 19
static int wino4_covers(const dacc_conv_shape *s) {
    const size_t th4 = (size_t)(s->oh + 3) / 4, tw4 = (size_t)(s->ow + 3) / 4;
    return 16 * 16 * th4 * tw4 <= WINO4_MAX_COVER * (size_t)s->oh * s->ow;
}

/* Where Winograd measured faster than the direct engine (bench_conv and
 * A/B runs over channel counts and output sizes, docs/PERFORMANCE.md):
 * - 3x3, stride 1, ic >= 16;
 * - oc > one vector: a one-vector column block (AVX-512 oc 16) only tied;
 * - F(2x2): tiles covering at most 1.25x the output pixels: odd outputs
 *   compute whole 2x2 tiles and need a padded copy of the input; 5x5 and
 *   3x3 outputs (1.44x, 1.78x) were slower than direct, 1x1 (4x) 2.5x
 *   slower, 7x7 (1.31x) even at 32 channels, even sizes and 9x9 and up
 *   faster;
 * - F(4x4): where its 4x4 tiles cover the output almost exactly (24x24,
 *   8x8, 12x12 and 26x26 in the network), in training as in eval; with
 *   8-lane vectors (AVX2) also in place of F(2x2) where it needs fewer
 *   products (36 per 4x4 tile against 16 per 2x2 one; 10x10 outputs:
 *   324 against 400 per channel pair, at 1.44x coverage). Measured only on
 *   the network's 10x10 (conv64_1's forward, conv64_2's backward-data):
 *   0.95x and 0.88x F(2x2)'s time with AVX2 (batch 64, 1 thread), while
 *   with AVX-512 F(2x2) was faster there (0.18 against 0.19-0.20 ms,
 *   4dd9e6e). Its
 *   rounding is ~10x a direct sum's, and in training the forward decides
 *   which ReLUs pass and which max-pool input wins: tests/unit/
 *   test_train_f64.c judges the whole step against float64: its error with
 *   the float step's decisions is within 4.1x of F(2x2)'s (logits; the
 *   gradients' error, batch-norm's float statistics, is the same), and the
 *   decisions that differ from the exact step's are near-ties. Original
 *   trained to the same test accuracy (docs/PERFORMANCE.md). `precise`
 *   (tests comparing the two) leaves F(4x4) out. */
dacc_conv_algo dacc_conv_rule(const dacc_conv_shape *s, int lanes, int precise) {
    if (s->kh != 3 || s->kw != 3 || s->stride != 1 || s->ic < WINO_MIN_IC || s->oc <= lanes)
        return DACC_CONV_DIRECT;
    if (!precise && wino4_covers(s)) return DACC_CONV_WINO4;
    const size_t px = (size_t)s->oh * s->ow;
    const size_t th4 = (size_t)(s->oh + 3) / 4, tw4 = (size_t)(s->ow + 3) / 4;
    const size_t th = (size_t)(s->oh + 1) / 2, tw = (size_t)(s->ow + 1) / 2;
    if (16 * th * tw > 5 * px) return DACC_CONV_DIRECT;
    if (!precise && lanes == 8 && 36 * th4 * tw4 < 16 * th * tw) return DACC_CONV_WINO4;
    return DACC_CONV_WINO2;
}

/* Polyphase form (conv_ops.h) for 5x5 stride-2 layers, on the kernels'
 * Winograd ops for the 3x3 form (never on direct: its 36 taps against 25
 * would only add work). Measured with 8-lane vectors (AVX2), on
 * ConvPool's pool_1 and pool_2, batch 64, 1 thread: forward 0.46-0.68x,
 * backward-weights 0.59-0.83x and backward-data (F(4x4) transposed, one
 * tile per 4x4 of dy; the flipped form over the padded phases measured
 * 1.07x and 2.9x) 0.64-0.70x and 0.80-0.87x the direct time
 * (docs/PERFORMANCE.md). Not with precise: it adds Winograd rounding
 * where the layer summed directly. Only from POLY_MIN_IC input channels:
 * the measured layers have 32 and 64, and fewer make short GEMMs.
 * Backward-data only where dy has at least POLY_BWD_DATA_MIN_OUT pixels
 * per side (4 or more F(4x4) tiles per image): pool_2's 4x4 gained 13-20%
 * (~0.4 ms per batch of 64, under 1% of a ConvPool step) for 2 MB more
 * packed weights per model (its 3x3 form's U over 4 x 64 input channels),
 * which took two ConvPool models at once (`dacc run --variants ConvPool
 * --seeds 3`) past the 200 MB peak-memory target. With AVX-512 (16 lanes,
 * 3 interleaved rounds): forward 0.62-0.64x (pool_1) and 0.52-0.53x
 * (pool_2), pool_1's backward-data 0.62-0.66x, but backward-weights
 * 0.98-1.14x and 1.04-1.08x, so there the weights stay direct
 * (POLY_WGRAD_LANES). */
#define POLY_WGRAD_LANES 8
#define POLY_MIN_IC 16
#define POLY_BWD_DATA_MIN_OUT 8
static int poly_wins(const dacc_conv_shape *s, int lanes, int precise) {
    return !precise && lanes >= X86_LANES && dacc_conv_poly_fits(s) && s->ic >= POLY_MIN_IC;
}

/* Evaluation's forward in F(6x6) or F(5x5) (f32-conv-winograd-f56.h)
 * where 6 or 5 divides the output, m up to max_m, and the rule would run
 * Winograd: 1.78 and 1.96 products per output and channel pair with no
 * partial tiles, against F(4x4)'s 2.25 (more at partial tiles). The
 * network's layers: conv32_2's 24x24 in F(6x6) (16 tiles per image
 * against 36), conv64_1's 10x10 in F(5x5) (4 tiles against 9; 196
 * products per channel pair against 324). Their rounding is 1.25-1.8x
 * (F(5x5)) and 1.7-2.2x (F(6x6)) F(4x4)'s (RMS against float64 over six
 * shapes, docs/PERFORMANCE.md; tests/unit/test_conv_kernels.c bounds it
 * against the scalar direct sum). Neither runs in training, where the
 * forward decides which ReLUs pass and which max-pool input wins: F(6x6)
 * in conv32_2's training forward moved decisions in test_torch_agreement's
 * fixture (AveragePool's gradients 6.7e-3 from PyTorch's, where the
 * fixture keeps its inputs 1e-5 from a kink) and took test_train_f64's
 * error ratio to 5.8-7.0 (bound 8); F(5x5) in conv64_1's alone did the
 * same in CI (the ASan build's AveragePool fixture; a BatchNorm step at
 * ratio 9.2). Measured with 8-lane vectors (AVX2), batch 64, 1 thread,
 * interleaved rounds (docs/
 * PERFORMANCE.md): conv64_1's eval forward 0.60-0.64x F(4x4)'s time;
 * conv32_2's a median 0.88x over 12 rounds on a noisy host. With AVX-512
 * (3 interleaved rounds): conv64_1's 0.60-0.62x F(2x2)'s, conv32_2's
 * 0.82-0.85x F(4x4)'s. */
static dacc_conv_algo wino56_rule(const dacc_conv_shape *s, int lanes, int precise, int max_m) {
    if (precise || lanes < X86_LANES || dacc_conv_rule(s, lanes, precise) == DACC_CONV_DIRECT)
        return DACC_CONV_DIRECT;
    if (max_m >= 6 && s->oh % 6 == 0 && s->ow % 6 == 0) return DACC_CONV_WINO6;
    if (max_m >= 5 && s->oh % 5 == 0 && s->ow % 5 == 0) return DACC_CONV_WINO5;
    return DACC_CONV_DIRECT;
}

/* The forward of a layer in its own form, Winograd tiles up to max_m. The
 * polyphase form passes 4: pool_1's phases (12x12 outputs over 4 x 32
 * channels) measured the same in F(6x6) as in F(4x4), whose U is 56% the
 * size (36 positions against 64). */
static dacc_conv_algo fwd_algo_own_form(const dacc_kernels *k, const dacc_conv_shape *s,
                                        int precise, int max_m) {
    dacc_conv_need need;
    k->conv_fwd_query(s, DACC_CONV_DIRECT, &need);
    const dacc_conv_algo big = wino56_rule(s, need.lanes, precise, max_m);
    if (big != DACC_CONV_DIRECT && !k->conv_fwd_query(s, big, &need)) return big;
    dacc_conv_algo a = dacc_conv_rule(s, need.lanes, precise);
    return a != DACC_CONV_DIRECT && k->conv_fwd_query(s, a, &need) ? DACC_CONV_DIRECT : a;
}

static dacc_conv_algo fwd_algo(const dacc_kernels *k, const dacc_conv_shape *s, int precise,
                               int max_m) {
    dacc_conv_need need;
    k->conv_fwd_query(s, DACC_CONV_DIRECT, &need);
    if (poly_wins(s, need.lanes, precise)) {
        const dacc_conv_shape p = dacc_conv_poly_shape(s);
        const dacc_conv_algo in = fwd_algo_own_form(k, &p, precise, 4);
        if (in != DACC_CONV_DIRECT) return dacc_conv_poly(in);
    }
    return fwd_algo_own_form(k, s, precise, max_m);
}

dacc_conv_algo dacc_conv_fwd_algo(const dacc_kernels *k, const dacc_conv_shape *s, int precise) {
    return fwd_algo(k, s, precise, 4);
}

dacc_conv_algo dacc_conv_eval_fwd_algo(const dacc_kernels *k, const dacc_conv_shape *s) {
    return fwd_algo(k, s, 0, 6);
}

dacc_conv_algo dacc_conv_bwd_data_algo(const dacc_kernels *k, const dacc_conv_shape *s,
                                       int precise) {
    dacc_conv_need need;
    k->conv_bwd_data_query(s, DACC_CONV_DIRECT, &need);
    if (poly_wins(s, need.lanes, precise) && s->oh >= POLY_BWD_DATA_MIN_OUT &&
        s->ow >= POLY_BWD_DATA_MIN_OUT) {
        const dacc_conv_shape p = dacc_conv_poly_shape(s);
        const dacc_conv_algo in = dacc_conv_bwd_data_algo(k, &p, precise);
        if (in != DACC_CONV_DIRECT) return dacc_conv_poly(in);
    }
    if (s->kh != 3 || s->kw != 3 || s->stride != 1) return DACC_CONV_DIRECT;
    /* dx is dy convolved with the flipped kernel, ic and oc swapped (f);
     * but where the x86 kernels run F(4x4) transposed (f32-conv-bwd-data-
     * tmpl.h: unpadded, dx = dy + 2) its GEMMs reduce over oc into ic
     * columns on dy's tiles (g): F(4x4) where g's rule or f's picks it (the
     * transposed form's tiles are dy's, never more than f's; conv64_1's
     * 10x10 dy, 9 tiles either way, with AVX-512: 0.60 ms transposed, 0.72
     * flipped, 1.10-1.14 ms in F(2x2)) */
    const int transposed = need.lanes >= X86_LANES && s->pad == 0 && s->ih == s->oh + 2 && s->iw == s->ow + 2;
    const dacc_conv_shape f = {s->n, s->oh, s->ow, s->oc, s->ih, s->iw, s->ic, 3, 3, 1, 2 - s->pad, 0};
    const dacc_conv_shape g = {s->n, s->ih, s->iw, s->oc, s->oh, s->ow, s->ic, 3, 3, 1, 0, 0};
    dacc_conv_algo a = dacc_conv_rule(&f, need.lanes, precise);
    if (transposed && dacc_conv_rule(&g, need.lanes, precise) == DACC_CONV_WINO4) a = DACC_CONV_WINO4;
    return a != DACC_CONV_DIRECT && k->conv_bwd_data_query(s, a, &need) ? DACC_CONV_DIRECT : a;
}

/* Backward-weights in Winograd form where it measured faster than direct
 * (f32-conv-bwd-filter-winograd.h; interleaved CPU-time medians over
 * channel counts and output sizes, docs/PERFORMANCE.md): 3x3, stride 1,
 * - ic >= one vector: AVX-512 ic 4 and 8 were 1.40x and 0.96-1.14x the
 *   direct time, ic 16 0.96-1.02x, ic 32-64 0.57-0.90x; AVX2 won from
 *   ic 4 (0.76x); oc 8-64 all won with ic >= 16 (direct pads oc to a
 *   vector);
 * - F(4x4) where its tiles cover at most WINO4_MAX_COVER / 16 of the
 *   output
 *   (24x24 and 8x8 in the network: 2.25 products per output and channel
 *   pair instead of F(2x2)'s 4; at conv64_1's 10x10, 1.44x, it measured
 *   the same as F(2x2)), unless precise: its error against float64 is
 *   3-8x F(2x2)'s, ~1e-6 of the terms' scale
 *   (tests/unit/test_conv_kernels.c), and test_train_f64 bounds the
 *   training step with it. Written and timed on AVX2; with AVX-512 it
 *   trained 1.02x and 1.04x faster (2 and 1 threads, 8 alternating pairs
 *   each), test_train_f64's AVX-512 ratio 3.05-3.80 over 20 seeds;
 * - else F(2x2) where its tiles cover at most 1.5x the output pixels: 5x5
 *   outputs (1.44x) 0.91-0.95x (AVX-512) and 0.77-0.81x (AVX2), 3x3
 *   (1.78x) 1.06-1.09x on AVX-512, 1x1 1.8-2.6x. */
dacc_conv_algo dacc_conv_wgrad_rule(const dacc_conv_shape *s, int lanes, int precise) {
    if (s->kh != 3 || s->kw != 3 || s->stride != 1 || s->ic < lanes) return DACC_CONV_DIRECT;
    if (!precise && wino4_covers(s)) return DACC_CONV_WINO4;
    const size_t th = (size_t)(s->oh + 1) / 2, tw = (size_t)(s->ow + 1) / 2;
    return 8 * th * tw <= 3 * (size_t)s->oh * s->ow ? DACC_CONV_WINO2 : DACC_CONV_DIRECT;
}

dacc_conv_algo dacc_conv_bwd_filter_algo(const dacc_kernels *k, const dacc_conv_shape *s,
                                         int precise) {
    dacc_conv_need need;
    k->conv_bwd_filter_query(s, DACC_CONV_DIRECT, &need);
    if (poly_wins(s, need.lanes, precise) && need.lanes == POLY_WGRAD_LANES) {
        const dacc_conv_shape p = dacc_conv_poly_shape(s);
        const dacc_conv_algo in = dacc_conv_bwd_filter_algo(k, &p, precise);
        if (in != DACC_CONV_DIRECT) return dacc_conv_poly(in);
    }
    dacc_conv_algo a = dacc_conv_wgrad_rule(s, need.lanes, precise);
    if (a == DACC_CONV_WINO4 && k->conv_bwd_filter_query(s, a, &need))
        a = dacc_conv_wgrad_rule(s, need.lanes, 1);
    return a != DACC_CONV_DIRECT && k->conv_bwd_filter_query(s, a, &need) ? DACC_CONV_DIRECT : a;
}

float *dacc_conv_alloc(size_t floats) {
    return aligned_alloc(64, dacc_conv_lines(floats ? floats : 1) * sizeof(float));
}

int dacc_conv_fwd_once(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo algo,
                       const float *x, const float *w, const float *bias, float *y) {
    dacc_conv_need need;
    if (dacc_conv_fwd_query(k, s, algo, &need)) return -1;
    float *packed = dacc_conv_alloc(need.packed_size), *scratch = dacc_conv_alloc(need.scratch_size);
    int rc = -1;
    if (packed && scratch) {
        dacc_conv_fwd_pack(k, s, algo, w, bias, packed, scratch);
        dacc_conv_fwd(k, s, algo, x, packed, y, scratch);
        rc = 0;
    }
    free(packed);
    free(scratch);
    return rc;
}

int dacc_conv_bwd_data_once(const dacc_kernels *k, const dacc_conv_shape *s,
                            dacc_conv_algo algo, const float *dy, const float *w, float *dx) {
    dacc_conv_need need;
    if (dacc_conv_bwd_data_query(k, s, algo, &need)) return -1;
    float *packed = dacc_conv_alloc(need.packed_size), *scratch = dacc_conv_alloc(need.scratch_size);
    int rc = -1;
    if (packed && scratch) {
        dacc_conv_bwd_data_pack(k, s, algo, w, packed, scratch);
        dacc_conv_bwd_data(k, s, algo, dy, packed, dx, scratch);
        rc = 0;
    }
    free(packed);
    free(scratch);
    return rc;
}

int dacc_conv_bwd_filter_once(const dacc_kernels *k, const dacc_conv_shape *s,
                              dacc_conv_algo algo, const float *x, const float *dy, float *dw,
                              float *db) {
    dacc_conv_need need;
    if (dacc_conv_bwd_filter_query(k, s, algo, &need)) return -1;
    float *scratch = dacc_conv_alloc(need.scratch_size);
    if (!scratch) return -1;
    dacc_conv_bwd_filter(k, s, algo, x, dy, dw, db, scratch);
    free(scratch);
    return 0;
}
