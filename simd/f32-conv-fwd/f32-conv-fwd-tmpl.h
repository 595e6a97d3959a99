/* Forward convolution shared by the AVX-512 and AVX2 kernels. The engine
 * chooses the algorithm: Winograd F(6x6,3x3), F(5x5,3x3), F(4x4,3x3) or
 * F(2x2,3x3) for 3x3 stride-1 layers (f32-conv-winograd.h, 5.1x, 4.6x, 4x
 * or 2.25x fewer multiplies; the first two in evaluation only), or
 * direct (no im2col copy): the weights are packed beforehand with oc padded
 * to the vector width (and, for Winograd, transformed), the input is
 * zero-padded into scratch only when a window can leave the image, then
 * every output pixel runs through the indirect GEMM engine with K = kw*ic
 * contiguous values per kernel row. Define CONV_ISA. */
#include "f32-conv-fwd/f32-conv-igemm.h"
#include "f32-conv-fwd/f32-conv-pad.h"
#include "f32-conv-fwd/f32-conv-winograd.h"
#include "dacc/kernels.h"

/* Images per padded group: about 256 KB of scratch, at least one. */
static int conv_pad_group(const dacc_conv_shape *s, size_t img_floats) {
    int group = (int)(65536 / (img_floats ? img_floats : 1));
    if (group < 1) group = 1;
    return group > s->n ? s->n : group;
}

/* The padded input's size (sh x sw per image) and whether it is needed: a
 * window can leave the image, or (Winograd, m > 0) the partial tiles at the
 * output's edge would read past it, since an (m+2)^2 patch always covers
 * m*tiles + 2 rows and columns. */
typedef struct conv_fwd_geom {
    int sh, sw, need_pad, group;
    size_t img_floats;
} conv_fwd_geom;

static conv_fwd_geom conv_fwd_geometry(const dacc_conv_shape *s, int m) {
    conv_fwd_geom g;
    if (m) {
        g.sh = m * ((s->oh + m - 1) / m) + 2;
        g.sw = m * ((s->ow + m - 1) / m) + 2;
    } else {
        g.sh = (s->oh - 1) * s->stride + s->kh;
        g.sw = (s->ow - 1) * s->stride + s->kw;
    }
    g.need_pad = s->pad > 0 || g.sh > s->ih || g.sw > s->iw;
    g.img_floats = (size_t)g.sh * g.sw * s->ic;
    g.group = g.need_pad ? conv_pad_group(s, g.img_floats) : 0;
    return g;
}

/* F(2x2) and F(4x4); F(5x5) and F(6x6) (evaluation's forward only, by
 * the engine's rule in engine/nn/conv_algo.c). */
static int conv_fwd_wino_ok(const dacc_conv_shape *s, dacc_conv_algo algo) {
    return (algo == DACC_CONV_WINO2 || algo == DACC_CONV_WINO4 ||
            algo == DACC_CONV_WINO5 || algo == DACC_CONV_WINO6) &&
           s->kh == 3 && s->kw == 3 && s->stride == 1;
}

int CONV_SYM(dacc_f32_conv_fwd_query__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                        dacc_conv_need *need) {
    need->lanes = VL;
    if (algo != DACC_CONV_DIRECT && !conv_fwd_wino_ok(s, algo)) return -1;
    need->packed_size = need->scratch_size = 0;
    if (s->n <= 0 || s->oh <= 0 || s->ow <= 0 || s->oc <= 0) return 0;
    const int m = algo == DACC_CONV_DIRECT ? 0 : (int)algo;
    const conv_fwd_geom g = conv_fwd_geometry(s, m);
    need->scratch_size = (size_t)g.group * g.img_floats;
    if (m) {
        size_t work;
        wino_chunk(m, s->ic, s->oc, &work);
        need->packed_size = wino_packed_floats(m, s->ic, s->oc);
        need->scratch_size += work;
    } else {
        const size_t Np = round_up((size_t)s->oc, VL);
        need->packed_size = (size_t)s->kh * s->kw * s->ic * Np + Np;
    }
    return 0;
}

void CONV_SYM(dacc_f32_conv_fwd_pack__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                        const float *w, const float *bias, float *packed) {
    const int IC = s->ic, OC = s->oc;
    if (OC <= 0) return;
    if (conv_fwd_wino_ok(s, algo)) {
        wino_pack((int)algo, w, bias, IC, OC, packed);
        return;
    }
    const size_t Np = round_up((size_t)OC, VL), rows = (size_t)s->kh * s->kw * IC;
    for (size_t r = 0; r < rows; r++) {
        memcpy(packed + r * Np, w + r * OC, sizeof(float) * OC);
        memset(packed + r * Np + OC, 0, sizeof(float) * (Np - OC));
    }
    float *bp = packed + rows * Np;
    memset(bp, 0, sizeof(float) * Np);
    if (bias) memcpy(bp, bias, sizeof(float) * OC);
}

static void conv_fwd_winograd(const dacc_conv_shape *s, int m, const float *x,
                              const float *packed, float *y, float *scratch) {
    const int IC = s->ic, OC = s->oc, th = (s->oh + m - 1) / m, tw = (s->ow + m - 1) / m;
    const conv_fwd_geom g = conv_fwd_geometry(s, m);
    wino_plan pl;
    wino_plan_init(&pl, m, IC, OC, packed, scratch);
    if (!g.need_pad) {
        wino_tiles tl = {x, (size_t)s->ih * s->iw * IC, (size_t)s->iw * IC, s->n, th, tw, y};
        wino_run(&pl, &tl, s->oh, s->ow, s->relu);
        return;
    }
    size_t work;
    wino_chunk(m, IC, OC, &work);
    float *xs = scratch + work;
    for (int i0 = 0; i0 < s->n; i0 += g.group) {
        const int cnt = s->n - i0 < g.group ? s->n - i0 : g.group;
        conv_pad_images(s, x, i0, cnt, g.sh, g.sw, xs);
        wino_tiles tl = {xs, g.img_floats, (size_t)g.sw * IC, cnt, th, tw,
                         y + (size_t)i0 * s->oh * s->ow * OC};
        wino_run(&pl, &tl, s->oh, s->ow, s->relu);
    }
}

/* One input channel, 3x3, stride 1, unpadded, 2 x C1_HALVES vectors of
 * output channels (conv32_1: 32). The generic tile spends as much on its
 * set-up (12 input pointers, arguments) as on its 9 multiply steps; here
 * the pixels of a tile are consecutive in one output row, so they are
 * consecutive input values from one pointer, and the 9 taps unroll. A tile
 * is C1_MR pixels x 2 vectors: AVX-512 13 x 2 (26 accumulators, 2 weight
 * vectors and a broadcast in 32 registers), AVX2 6 x 2 (12, 2 and 1 of
 * 16), there run twice, once per half of the 32 channels. */
#if defined(DACC_CONV_AVX512)
#define C1_MR 13
#define C1_HALVES 1
#else
#define C1_MR 6
#define C1_HALVES 2
#endif
/* ld: floats between two pixels of y and two taps of w (all channels) */
CONV_INLINE void conv1ch_tile(const float *x, size_t iw, const float *w, const float *bias,
                              float *y, size_t ld, const int mr, int relu) {
    vf acc[C1_MR][2];
    _Pragma("GCC unroll 16") for (int m = 0; m < C1_MR; m++) {
        acc[m][0] = v_load(bias);
        acc[m][1] = v_load(bias + VL);
    }
    _Pragma("GCC unroll 9") for (int t = 0; t < 9; t++) {
        const float *xr = x + (size_t)(t / 3) * iw + t % 3;
        const vf w0 = v_load(w + t * ld), w1 = v_load(w + t * ld + VL);
        _Pragma("GCC unroll 16") for (int m = 0; m < C1_MR; m++) {
            if (m >= mr) break;
            const vf xb = v_bcast(xr + m);
            acc[m][0] = v_fma(xb, w0, acc[m][0]);
            acc[m][1] = v_fma(xb, w1, acc[m][1]);
        }
    }
    const vf z = v_zero();
    _Pragma("GCC unroll 16") for (int m = 0; m < C1_MR; m++) {
        if (m >= mr) break;
        v_store(y + m * ld, relu ? v_max(acc[m][0], z) : acc[m][0]);
        v_store(y + m * ld + VL, relu ? v_max(acc[m][1], z) : acc[m][1]);
    }
}

static int conv_fwd_1ch_ok(const dacc_conv_shape *s, const conv_fwd_geom *g) {
    return s->ic == 1 && s->kh == 3 && s->kw == 3 && s->stride == 1 && !g->need_pad &&
           s->oc == 2 * VL * C1_HALVES;
}

/* w: the 9 taps' 2*VL*C1_HALVES weights (the direct packing), then the
 * bias. */
static void conv_fwd_1ch(const dacc_conv_shape *s, const float *x, const float *w, float *y) {
    const size_t ld = 2 * VL * C1_HALVES, iw = (size_t)s->iw;
    const float *bias = w + 9 * ld;
    for (int i = 0; i < s->n; i++)
        for (int oy = 0; oy < s->oh; oy++) {
            const float *xr = x + ((size_t)i * s->ih + oy) * iw;
            float *yr = y + ((size_t)i * s->oh + oy) * s->ow * ld;
            for (int h = 0; h < C1_HALVES; h++) {
                const float *wh = w + h * 2 * VL, *bh = bias + h * 2 * VL;
                int ox = 0;
                for (; ox + C1_MR <= s->ow; ox += C1_MR)
                    conv1ch_tile(xr + ox, iw, wh, bh, yr + ox * ld + h * 2 * VL, ld, C1_MR, s->relu);
                if (ox < s->ow)
                    conv1ch_tile(xr + ox, iw, wh, bh, yr + ox * ld + h * 2 * VL, ld, s->ow - ox,
                                 s->relu);
            }
        }
}

void CONV_SYM(dacc_f32_conv_fwd__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                   const float *x, const float *packed, float *y,
                                   float *scratch) {
    if (s->n <= 0 || s->oh <= 0 || s->ow <= 0 || s->oc <= 0) return;
    if (conv_fwd_wino_ok(s, algo)) {
        conv_fwd_winograd(s, (int)algo, x, packed, y, scratch);
        return;
    }
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t Np = round_up((size_t)OC, VL), taps = (size_t)KH * KW;
    const conv_fwd_geom g = conv_fwd_geometry(s, 0);
    const float *wp = packed, *bp = packed + taps * IC * Np;
    igemm_pixels px = {x, (size_t)s->ih * s->iw * IC, s->n, s->oh, s->ow, s->iw, st, IC, y,
                       (size_t)OC, 0, 0};
    if (conv_fwd_1ch_ok(s, &g)) {
        conv_fwd_1ch(s, x, wp, y);
        return;
    }
    if (!g.need_pad) {
        igemm_run_ex(&px, KH, (size_t)KW * IC, wp, Np, OC, bp, 0, s->relu);
        return;
    }
    float *xs = scratch;
    for (int i0 = 0; i0 < s->n; i0 += g.group) {
        const int cnt = s->n - i0 < g.group ? s->n - i0 : g.group;
        conv_pad_images(s, x, i0, cnt, g.sh, g.sw, xs);
        igemm_pixels q = {xs, g.img_floats, cnt, s->oh, s->ow, g.sw, st, IC,
                          y + (size_t)i0 * s->oh * s->ow * OC, (size_t)OC, 0, 0};
        igemm_run_ex(&q, KH, (size_t)KW * IC, wp, Np, OC, bp, 0, s->relu);
    }
}
