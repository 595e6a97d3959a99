/* Backward-weights convolution, shared by the AVX-512 and AVX2 kernels.
 * Winograd F(2x2,3x3) where the engine chose it (3x3, stride 1;
 * f32-conv-bwd-filter-winograd.h, on the GEMM tiles below). Direct: for
 * each kernel row kh, dw[kh] (kw*ic rows x oc columns) is a GEMM over
 * output pixels: dw[kh][m][oc] += x_window(p, kh)[m] * dy[p][oc], where m
 * runs over kw*ic values that are contiguous in NHWC. The register tile is MR
 * consecutive m (broadcast from x) x NR vectors of oc (loaded from dy); the
 * pixel loop runs over a chunk of output rows of one image that stays in
 * cache while every (kh, m, oc) tile passes over it. The input is zero-
 * padded into scratch when a window can leave the image; dy and dw are
 * padded to whole vectors when oc is not a multiple of the vector width, so
 * the hot loop has no masks. Scratch comes from the caller (the query
 * gives its size). Define CONV_ISA. */
#include "f32-conv-fwd/f32-conv-pad.h"
#include "f32-conv-fwd/f32-conv-vec.h"
#include "dacc/kernels.h"
#include <string.h>

typedef struct wgrad_args {
    size_t nimg, rows;    /* images, and output rows of each, in the chunk */
    int ow;               /* pixels per row */
    const float *a;       /* x at (first image and row, this kh, first pixel, m0) */
    size_t a_is, a_rs, a_ps; /* floats between images / rows / pixels in x */
    const float *b;       /* dy at (first image, row and pixel, n0) */
    size_t b_is, b_rs, b_ps; /* floats between images / rows / pixels in dy */
    float *c;             /* dw at (m0, n0), accumulated into */
    size_t ldc;
} wgrad_args;

/* A macro for fixed-size accumulator arrays (see f32-conv-igemm.h). */
#define WGRAD_DEFINE(MR, NR)                                                       \
    static __attribute__((noinline)) void wgrad_##MR##x##NR(const wgrad_args *g) { \
        vf acc[MR][NR];                                                            \
        _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++)                      \
            _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)                  \
                acc[m][v] = v_load(g->c + m * g->ldc + v * VL);                    \
        const int ow = g->ow;                                                      \
        const size_t a_ps = g->a_ps, b_ps = g->b_ps;                               \
        for (size_t ir = 0; ir < g->nimg * g->rows; ir++) {                        \
            const size_t i = ir / g->rows, r = ir % g->rows;                       \
            const float *ap = g->a + i * g->a_is + r * g->a_rs;                    \
            const float *bp = g->b + i * g->b_is + r * g->b_rs;                    \
            for (int x = 0; x < ow; x++) {                                         \
                vf bv[NR];                                                         \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    bv[v] = v_load(bp + v * VL);                                   \
                _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) {            \
                    vf xb = v_bcast(ap + m);                                       \
                    _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)          \
                        acc[m][v] = v_fma(xb, bv[v], acc[m][v]);                   \
                }                                                                  \
                ap += a_ps;                                                        \
                bp += b_ps;                                                        \
            }                                                                      \
        }                                                                          \
        _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++)                      \
            _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)                  \
                v_store(g->c + m * g->ldc + v * VL, acc[m][v]);                    \
    }

typedef void wgrad_fn(const wgrad_args *);
#define WGRAD_ROW(NR)                                                              \
    WGRAD_DEFINE(1, NR) WGRAD_DEFINE(2, NR) WGRAD_DEFINE(3, NR) WGRAD_DEFINE(4, NR) \
    WGRAD_DEFINE(5, NR) WGRAD_DEFINE(6, NR)
#define WGRAD_PTRS6(NR) wgrad_1x##NR, wgrad_2x##NR, wgrad_3x##NR, wgrad_4x##NR, \
                        wgrad_5x##NR, wgrad_6x##NR

#if defined(DACC_CONV_AVX512)
/* MR (broadcast rows) x NR (vectors of oc): 6x4, 8x3, 12x2, 12x1 */
WGRAD_ROW(1) WGRAD_ROW(2) WGRAD_ROW(3) WGRAD_ROW(4)
WGRAD_DEFINE(7, 1) WGRAD_DEFINE(8, 1) WGRAD_DEFINE(9, 1) WGRAD_DEFINE(10, 1)
WGRAD_DEFINE(11, 1) WGRAD_DEFINE(12, 1)
WGRAD_DEFINE(7, 2) WGRAD_DEFINE(8, 2) WGRAD_DEFINE(9, 2) WGRAD_DEFINE(10, 2)
WGRAD_DEFINE(11, 2) WGRAD_DEFINE(12, 2)
WGRAD_DEFINE(7, 3) WGRAD_DEFINE(8, 3)
#define WGRAD_NR_MAX 4
#define WGRAD_MR_MAX 12
static const int wgrad_mr[WGRAD_NR_MAX + 1] = {0, 12, 12, 8, 6};
static wgrad_fn *const wgrad_fns[WGRAD_NR_MAX + 1][WGRAD_MR_MAX + 1] = {
    {0},
    {0, WGRAD_PTRS6(1), wgrad_7x1, wgrad_8x1, wgrad_9x1, wgrad_10x1, wgrad_11x1, wgrad_12x1},
    {0, WGRAD_PTRS6(2), wgrad_7x2, wgrad_8x2, wgrad_9x2, wgrad_10x2, wgrad_11x2, wgrad_12x2},
    {0, WGRAD_PTRS6(3), wgrad_7x3, wgrad_8x3},
    {0, WGRAD_PTRS6(4)},
};
#else
/* 16 registers: MR x NR accumulators + NR dy vectors + 1 broadcast */
WGRAD_ROW(1) WGRAD_ROW(2) WGRAD_DEFINE(1, 3) WGRAD_DEFINE(2, 3) WGRAD_DEFINE(3, 3)
WGRAD_DEFINE(4, 3) WGRAD_DEFINE(7, 1) WGRAD_DEFINE(8, 1)
#define WGRAD_NR_MAX 3
#define WGRAD_MR_MAX 8
static const int wgrad_mr[WGRAD_NR_MAX + 1] = {0, 8, 6, 4};
static wgrad_fn *const wgrad_fns[WGRAD_NR_MAX + 1][WGRAD_MR_MAX + 1] = {
    {0},
    {0, WGRAD_PTRS6(1), wgrad_7x1, wgrad_8x1},
    {0, WGRAD_PTRS6(2)},
    {0, wgrad_1x3, wgrad_2x3, wgrad_3x3, wgrad_4x3},
};
#endif

/* Three kernel rows in one tile, for rows too narrow to fill a tile alone
 * (conv32_1: kw*ic = 3 gives 3x2 accumulators per row, fewer than FMA
 * latency x pipes; the three rows together give 9x2). Row r's values are at
 * a + r*kstep, its dw rows at c + r*M*ldc. */
#define WGRAD3_DEFINE(MR, NR)                                                      \
    static __attribute__((noinline)) void wgrad3_##MR##x##NR(const wgrad_args *g,  \
                                                             size_t kstep, size_t M) { \
        vf acc[3][MR][NR];                                                         \
        _Pragma("GCC unroll 4") for (int k = 0; k < 3; k++)                        \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++)                  \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    acc[k][m][v] = v_load(g->c + (k * M + m) * g->ldc + v * VL);   \
        const int ow = g->ow;                                                      \
        const size_t a_ps = g->a_ps, b_ps = g->b_ps;                               \
        for (size_t ir = 0; ir < g->nimg * g->rows; ir++) {                        \
            const size_t i = ir / g->rows, r = ir % g->rows;                       \
            const float *a0 = g->a + i * g->a_is + r * g->a_rs;                    \
            const float *a1 = a0 + kstep, *a2 = a1 + kstep;                        \
            const float *bp = g->b + i * g->b_is + r * g->b_rs;                    \
            for (int x = 0; x < ow; x++) {                                         \
                vf bv[NR];                                                         \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    bv[v] = v_load(bp + v * VL);                                   \
                _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) {            \
                    vf x0 = v_bcast(a0 + m), x1 = v_bcast(a1 + m), x2 = v_bcast(a2 + m); \
                    _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++) {        \
                        acc[0][m][v] = v_fma(x0, bv[v], acc[0][m][v]);             \
                        acc[1][m][v] = v_fma(x1, bv[v], acc[1][m][v]);             \
                        acc[2][m][v] = v_fma(x2, bv[v], acc[2][m][v]);             \
                    }                                                              \
                }                                                                  \
                a0 += a_ps;                                                        \
                a1 += a_ps;                                                        \
                a2 += a_ps;                                                        \
                bp += b_ps;                                                        \
            }                                                                      \
        }                                                                          \
        _Pragma("GCC unroll 4") for (int k = 0; k < 3; k++)                        \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++)                  \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    v_store(g->c + (k * M + m) * g->ldc + v * VL, acc[k][m][v]);   \
    }
typedef void wgrad3_fn(const wgrad_args *, size_t, size_t);
/* [NR][MR] for MR <= 3: at most 18 accumulators (AVX2: NR 1 only) */
#if defined(DACC_CONV_AVX512)
WGRAD3_DEFINE(1, 1) WGRAD3_DEFINE(2, 1) WGRAD3_DEFINE(3, 1)
WGRAD3_DEFINE(1, 2) WGRAD3_DEFINE(2, 2) WGRAD3_DEFINE(3, 2)
#define WGRAD3_NR_MAX 2
static wgrad3_fn *const wgrad3_fns[3][4] = {
    {0}, {0, wgrad3_1x1, wgrad3_2x1, wgrad3_3x1}, {0, wgrad3_1x2, wgrad3_2x2, wgrad3_3x2}};
#else
WGRAD3_DEFINE(1, 1) WGRAD3_DEFINE(2, 1) WGRAD3_DEFINE(3, 1)
#define WGRAD3_NR_MAX 1
static wgrad3_fn *const wgrad3_fns[2][4] = {{0}, {0, wgrad3_1x1, wgrad3_2x1, wgrad3_3x1}};
#endif

#include "f32-conv-bwd-filter/f32-conv-bwd-filter-winograd.h"
/* the transposed backward-data's tile pass, for the fused op below; its
 * own driver and packing are not used here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "f32-conv-bwd-data/f32-conv-bwd-data-winograd.h"
#pragma GCC diagnostic pop
#include "f32-conv-bwd-filter/f32-conv-bwd-both-winograd.h"

/* The chunking of one call: the input padded per group of images when a
 * window can leave it, dy and dw padded to whole vectors when oc is not a
 * multiple of the vector width. */
typedef struct wgrad_geom {
    int need_pad, srow, pad_oc, rows, imgs, group;
    size_t img_floats, Np, chunk_px, ldc, scratch;
} wgrad_geom;

static wgrad_geom wgrad_geometry(const dacc_conv_shape *s) {
    wgrad_geom g;
    const int OH = s->oh, OW = s->ow, IC = s->ic, OC = s->oc;
    const size_t M = (size_t)s->kw * IC;
    const int sh = (OH - 1) * s->stride + s->kh, sw = (OW - 1) * s->stride + s->kw;
    g.need_pad = s->pad > 0 || sh > s->ih || sw > s->iw;
    g.img_floats = g.need_pad ? (size_t)sh * sw * IC : (size_t)s->ih * s->iw * IC;
    g.srow = g.need_pad ? sw : s->iw; /* source row width in pixels */
    g.pad_oc = OC % VL != 0;
    g.Np = round_up((size_t)OC, VL);
    /* A chunk of about 256 output pixels (their dy rows and x windows stay
     * in cache while every (kh, m, oc) tile passes over them): rows of one
     * image, or whole images when an image has fewer pixels. */
    const size_t img_px = (size_t)OH * OW;
    const size_t target = g.Np >= 256 ? 32 : 8192 / g.Np; /* dy of the chunk ~32 KB, in L1 */
    g.rows = img_px >= target ? (int)(target / OW) : OH;
    g.imgs = img_px >= target ? 1 : (int)(target / img_px);
    if (g.rows < 1) g.rows = 1;
    if (g.imgs > s->n) g.imgs = s->n;
    /* images per padded group: a whole number of chunks, about 256 KB */
    g.group = s->n;
    if (g.need_pad) {
        g.group = (int)(65536 / g.img_floats);
        g.group = g.group < g.imgs ? g.imgs : g.group / g.imgs * g.imgs;
        if (g.group > s->n) g.group = s->n;
    }
    g.chunk_px = (size_t)g.imgs * g.rows * OW;
    g.ldc = g.pad_oc ? g.Np : (size_t)OC;
    g.scratch = (g.need_pad ? (size_t)g.group * g.img_floats : 0) +
                (g.pad_oc ? g.chunk_px * g.Np + (size_t)s->kh * M * g.Np : 0) + g.Np;
    return g;
}

static int wgrad_trivial(const dacc_conv_shape *s) {
    return s->oc <= 0 || (size_t)s->kh * s->kw * s->ic == 0 || (size_t)s->n * s->oh * s->ow == 0;
}

/* Winograd tile size of algo (F(4x4) or F(2x2)). */
static int wgrad_wino_m(dacc_conv_algo algo) { return algo == DACC_CONV_WINO4 ? 4 : 2; }

static int wgrad_wino_ok(const dacc_conv_shape *s, dacc_conv_algo algo) {
    return (algo == DACC_CONV_WINO2 || algo == DACC_CONV_WINO4) && s->kh == 3 && s->kw == 3 &&
           s->stride == 1;
}

int CONV_SYM(dacc_f32_conv_bwd_filter_query__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                               dacc_conv_need *need) {
    need->lanes = VL;
    if (algo != DACC_CONV_DIRECT && !wgrad_wino_ok(s, algo)) return -1;
    need->packed_size = 0;
    need->scratch_size = wgrad_trivial(s)          ? 0
                         : algo != DACC_CONV_DIRECT ? wgw_geometry(s, wgrad_wino_m(algo)).scratch
                                                    : wgrad_geometry(s).scratch;
    return 0;
}

void CONV_SYM(dacc_f32_conv_bwd_filter__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                          const float *x, const float *dy, float *dw, float *db,
                                          float *scratch) {
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const int OH = s->oh, OW = s->ow;
    const size_t nw = (size_t)KH * KW * IC * OC, M = (size_t)KW * IC;
    if (OC <= 0) return;
    const size_t P = (size_t)s->n * OH * OW;
    if (wgrad_trivial(s)) { /* no weights, or nothing to sum: db alone */
        if (db) {
            memset(db, 0, sizeof(float) * OC);
            for (size_t p = 0; p < P; p++)
                for (int o = 0; o < OC; o++) db[o] += dy[p * OC + o];
        }
        if (nw) memset(dw, 0, sizeof(float) * nw);
        return;
    }
    if (wgrad_wino_ok(s, algo)) {
        wgw_run(s, wgrad_wino_m(algo), x, dy, dw, db, scratch);
        return;
    }
    const wgrad_geom g = wgrad_geometry(s);
    const int need_pad = g.need_pad, srow = g.srow, pad_oc = g.pad_oc, rows = g.rows;
    const int imgs = g.imgs, group = g.group;
    const size_t img_floats = g.img_floats, Np = g.Np, ldc = g.ldc, img_px = (size_t)OH * OW;
    const size_t chunk_px = g.chunk_px;
    const int sh = (OH - 1) * st + KH, sw = (OW - 1) * st + KW;
    float *xs = scratch, *dyp = xs + (need_pad ? (size_t)group * img_floats : 0);
    float *dwp = pad_oc ? dyp + chunk_px * Np : dw;
    /* db sums each chunk's dy rows while they are in cache (a separate pass
     * re-reads all of dy from memory: as long as conv32_1's whole kernel) */
    float *dbacc = (pad_oc ? dwp + KH * M * Np : dyp);
    memset(dbacc, 0, sizeof(float) * Np);
    memset(dwp, 0, sizeof(float) * KH * M * ldc);
    const int nvec = (int)(Np / VL);
    for (int g0 = 0; g0 < s->n; g0 += group) {
        const int gn = s->n - g0 < group ? s->n - g0 : group;
        const float *src = x + (size_t)g0 * s->ih * s->iw * IC;
        if (need_pad) { /* the forward kernel's zero padding */
            conv_pad_images(s, x, g0, gn, sh, sw, xs);
            src = xs;
        }
        for (int i0 = 0; i0 < gn; i0 += imgs)
            for (int oh0 = 0; oh0 < OH; oh0 += rows) {
                const int ni = gn - i0 < imgs ? gn - i0 : imgs;
                const int nr = OH - oh0 < rows ? OH - oh0 : rows;
                const float *dyc = dy + (((size_t)(g0 + i0) * OH + oh0) * OW) * OC;
                size_t b_ps = OC;
                if (pad_oc) { /* rows of whole vectors; the chunk's pixels are contiguous */
                    const size_t cnt = (size_t)ni * nr * OW;
                    for (size_t p = 0; p < cnt; p++) {
                        memcpy(dyp + p * Np, dyc + p * OC, sizeof(float) * OC);
                        memset(dyp + p * Np + OC, 0, sizeof(float) * (Np - OC));
                    }
                    dyc = dyp;
                    b_ps = Np;
                }
                if (db) {
                    const size_t cnt = (size_t)ni * nr * OW;
                    for (int v = 0; v < nvec; v++) {
                        vf s0 = v_zero(), s1 = v_zero();
                        const float *q = dyc + (size_t)v * VL;
                        size_t p = 0;
                        for (; p + 2 <= cnt; p += 2) {
                            s0 = v_add(s0, v_load(q + p * b_ps));
                            s1 = v_add(s1, v_load(q + (p + 1) * b_ps));
                        }
                        if (p < cnt) s0 = v_add(s0, v_load(q + p * b_ps));
                        v_store(dbacc + (size_t)v * VL,
                                v_add(v_load(dbacc + (size_t)v * VL), v_add(s0, s1)));
                    }
                }
                if (KH == 3 && M <= 3) {
                    const float *a0 = src + (size_t)i0 * img_floats + (size_t)oh0 * st * srow * IC;
                    for (int v0 = 0; v0 < nvec;) {
                        const int NR = nvec - v0 < WGRAD3_NR_MAX ? nvec - v0 : WGRAD3_NR_MAX;
                        wgrad_args g = {(size_t)ni, (size_t)nr, OW, a0, img_floats,
                                        (size_t)st * srow * IC, (size_t)st * IC,
                                        dyc + (size_t)v0 * VL, img_px * b_ps, (size_t)OW * b_ps,
                                        b_ps, dwp + (size_t)v0 * VL, ldc};
                        wgrad3_fns[NR][M](&g, (size_t)srow * IC, M);
                        v0 += NR;
                    }
                    continue;
                }
                for (int kh = 0; kh < KH; kh++) {
                    const float *a0 =
                        src + (size_t)i0 * img_floats + ((size_t)oh0 * st + kh) * srow * IC;
                    for (int v0 = 0; v0 < nvec;) {
                        const int NR = nvec - v0 < WGRAD_NR_MAX ? nvec - v0 : WGRAD_NR_MAX;
                        for (size_t m0 = 0; m0 < M;) {
                            int MR = wgrad_mr[NR];
                            if ((size_t)MR > M - m0) MR = (int)(M - m0);
                            wgrad_args g = {(size_t)ni, (size_t)nr, OW, a0 + m0, img_floats,
                                            (size_t)st * srow * IC, (size_t)st * IC,
                                            dyc + (size_t)v0 * VL, img_px * b_ps,
                                            (size_t)OW * b_ps, b_ps,
                                            dwp + ((size_t)kh * M + m0) * ldc + (size_t)v0 * VL,
                                            ldc};
                            wgrad_fns[NR][MR](&g);
                            m0 += MR;
                        }
                        v0 += NR;
                    }
                }
            }
    }
    if (pad_oc)
        for (size_t r = 0; r < KH * M; r++) memcpy(dw + r * OC, dwp + r * Np, sizeof(float) * OC);
    if (db) memcpy(db, dbacc, sizeof(float) * OC);
}

int CONV_SYM(dacc_f32_conv_bwd_both_query__)(const dacc_conv_shape *s, dacc_conv_algo data_algo,
                                             dacc_conv_algo wgt_algo, dacc_conv_need *need) {
    need->lanes = VL;
    need->packed_size = 0;
    need->scratch_size = 0;
    if (!wboth_fits(s, data_algo, wgt_algo)) return -1;
    need->packed_size = wbt_packed_floats(s);
    need->scratch_size = wboth_geometry(s).scratch;
    return 0;
}

dacc_conv_bwd_data_t CONV_SYM(dacc_f32_conv_bwd_data__);

void CONV_SYM(dacc_f32_conv_bwd_both__)(const dacc_conv_shape *s, dacc_conv_algo data_algo,
                                        dacc_conv_algo wgt_algo, const float *x, const float *dy,
                                        const float *packed, float *dx, float *dw, float *db,
                                        float *scratch) {
    if (wboth_fits(s, data_algo, wgt_algo)) {
        wboth_run(s, x, dy, packed, dx, dw, db, scratch);
        return;
    }
    /* a pair the query refuses: the two ops in turn */
    CONV_SYM(dacc_f32_conv_bwd_data__)(s, data_algo, dy, packed, dx, scratch);
    CONV_SYM(dacc_f32_conv_bwd_filter__)(s, wgt_algo, x, dy, dw, db, scratch);
}
