/* Indirect GEMM engine of the x86 convolution kernels (forward, and the
 * dy x W^T product of backward-data), compiled once per ISA through
 * f32-conv-vec.h.
 *
 * C[p][j] = init[j] + sum_{r < rows} sum_{k < K} A_p[r*rs + k] * W[(r*K + k)*ldw + j]
 *
 * for a set of "pixels" p. A_p points into a source of NHWC rows: for the
 * forward convolution A_p is the input at the output pixel's window corner,
 * r runs over the kernel rows and k over kw*ic, which is contiguous in NHWC
 * (the source is zero-padded beforehand, so no bounds checks remain). The
 * register tile is MR pixels x NR vectors of output channels (channels in
 * lanes); each step loads NR weight vectors and broadcasts MR input values. */
#ifndef DACC_F32_CONV_IGEMM_H
#define DACC_F32_CONV_IGEMM_H
#include "f32-conv-fwd/f32-conv-vec.h"
#include <string.h>

typedef struct igemm_args {
    size_t rows, rs;      /* tap rows, floats between tap rows in the source */
    size_t K;             /* contiguous reduction length of one tap row */
    const float *w;       /* packed weights, offset to the column block */
    size_t ldw;           /* floats between consecutive k of w (>= the block) */
    const float *init;    /* NR*VL start values (bias) or NULL for zero */
    int last;             /* valid lanes of the last vector when storing, 1..VL */
    int accum;            /* start from the values at c (adds into C; init unused) */
} igemm_args;

/* One register tile. A macro, not an inline function, so MR and NR are
 * integer constants and the accumulator arrays have a fixed size: GCC keeps
 * fixed-size arrays of vectors in registers once the loops are unrolled, but
 * leaves variable-length ones in memory. RELU (a constant) clamps the
 * accumulators at 0 in registers before the store (fused conv + ReLU). */
#define IGEMM_DEFINE(MR, NR)                                                       \
    IGEMM_DEFINE_EX(igemm_##MR##x##NR, MR, NR, 0)                                  \
    IGEMM_DEFINE_EX(igemm_relu_##MR##x##NR, MR, NR, 1)
#define IGEMM_DEFINE_EX(NAME, MR, NR, RELU)                                        \
    static __attribute__((noinline)) void NAME(                                    \
        const float *const *a, float *const *c, const igemm_args *g) {             \
        vf acc[MR][NR];                                                            \
        if (g->accum && g->last == VL) {                                           \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++)                  \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    acc[m][v] = v_load(c[m] + v * VL);                             \
        } else if (g->accum) {                                                     \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) {                \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR - 1; v++)          \
                    acc[m][v] = v_load(c[m] + v * VL);                             \
                acc[m][NR - 1] = v_loadn(c[m] + (NR - 1) * VL, g->last);           \
            }                                                                      \
        } else {                                                                   \
            _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++) {                \
                vf b0 = g->init ? v_load(g->init + v * VL) : v_zero();             \
                _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) acc[m][v] = b0; \
            }                                                                      \
        }                                                                          \
        const float *ap[MR];                                                       \
        _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) ap[m] = a[m];        \
        const float *w = g->w;                                                     \
        const size_t K = g->K, ldw = g->ldw, rs = g->rs;                           \
        for (size_t r = 0; r < g->rows; r++) {                                     \
            for (size_t k = 0; k < K; k++) {                                       \
                vf wv[NR];                                                         \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    wv[v] = v_load(w + v * VL);                                    \
                _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) {            \
                    vf xb = v_bcast(ap[m] + k);                                    \
                    _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)          \
                        acc[m][v] = v_fma(xb, wv[v], acc[m][v]);                   \
                }                                                                  \
                w += ldw;                                                          \
            }                                                                      \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) ap[m] += rs;     \
        }                                                                          \
        if (RELU) {                                                                \
            const vf z = v_zero();                                                 \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++)                  \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    acc[m][v] = v_max(acc[m][v], z);                               \
        }                                                                          \
        /* one test for the whole tile: per row it cost a branch per store \
         * group, ~30% of a conv32_1 tile (9 multiply steps) */                   \
        if (g->last == VL) {                                                       \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++)                  \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR; v++)              \
                    v_store(c[m] + v * VL, acc[m][v]);                             \
        } else {                                                                   \
            _Pragma("GCC unroll 16") for (int m = 0; m < MR; m++) {                \
                _Pragma("GCC unroll 16") for (int v = 0; v < NR - 1; v++)          \
                    v_store(c[m] + v * VL, acc[m][v]);                             \
                v_storen(c[m] + (NR - 1) * VL, acc[m][NR - 1], g->last);           \
            }                                                                      \
        }                                                                          \
    }

/* Tiles per column-block width (in vectors): as many accumulators as the
 * register file holds next to the NR weight vectors and one broadcast. */
#ifdef IGEMM_CUSTOM_TILES /* tuning experiments: a file with their own tile table */
#include IGEMM_CUSTOM_TILES
#else
#if defined(DACC_CONV_AVX512)
IGEMM_DEFINE(12, 1)
IGEMM_DEFINE(12, 2)
IGEMM_DEFINE(8, 3)
IGEMM_DEFINE(6, 4)
#define IGEMM_NR_MAX 4
static const int igemm_mr[IGEMM_NR_MAX + 1] = {0, 12, 12, 8, 6};
typedef void igemm_fn(const float *const *, float *const *, const igemm_args *);
static igemm_fn *const igemm_fns[IGEMM_NR_MAX + 1] = {0, igemm_12x1, igemm_12x2, igemm_8x3,
                                                      igemm_6x4};
static igemm_fn *const igemm_relu_fns[IGEMM_NR_MAX + 1] = {0, igemm_relu_12x1, igemm_relu_12x2,
                                                           igemm_relu_8x3, igemm_relu_6x4};
#else
IGEMM_DEFINE(8, 1)
IGEMM_DEFINE(6, 2)
IGEMM_DEFINE(4, 3)
IGEMM_DEFINE(3, 4)
#define IGEMM_NR_MAX 4
/* 3x4 needs 17 registers: GCC takes its fourth weight vector as the FMAs'
 * memory operand, so it suits only weights that stay in L1 (igemm_nr_max) */
#define IGEMM_NR_NEEDS_L1 4
static const int igemm_mr[IGEMM_NR_MAX + 1] = {0, 8, 6, 4, 3};
typedef void igemm_fn(const float *const *, float *const *, const igemm_args *);
static igemm_fn *const igemm_fns[IGEMM_NR_MAX + 1] = {0, igemm_8x1, igemm_6x2, igemm_4x3,
                                                      igemm_3x4};
static igemm_fn *const igemm_relu_fns[IGEMM_NR_MAX + 1] = {0, igemm_relu_8x1, igemm_relu_6x2,
                                                           igemm_relu_4x3, igemm_relu_3x4};
#endif
#endif
#ifndef IGEMM_MR_MAX
#define IGEMM_MR_MAX 12
#endif

/* A set of pixels laid out as nimg images of oh x ow outputs; pixel (i,y,x)
 * reads the source at src + i*img_stride + (y*stride*sw + x*stride)*ch and
 * writes C at out + i*out_is + y*out_rs + x*ldc; out_rs = 0 and out_is = 0
 * mean dense (ow*ldc, oh*ow*ldc). */
typedef struct igemm_pixels {
    const float *src;
    size_t img_stride;
    int nimg, oh, ow, sw, stride, ch;
    float *out;
    size_t ldc;
    size_t out_rs, out_is;
} igemm_pixels;

/* The widest column block for a reduction of kspan (tap rows x K) floats.
 * A tile loads NR weight vectors per step for its MR pixels; the wide, short
 * AVX2 tile (3 pixels x 4 vectors) saves the second pass over the pixels
 * that 4x3 + 8x1 makes for 32 channels, but loads 1.33 weight vectors per
 * pixel against 4x3's 0.75: measured (bench --isa avx2, batch 64) 7-16%
 * faster where its weight block is <= 8 KB (the Winograd positions of the
 * 32- and 64-channel layers, conv32_1) and 8-21% slower where it is 16 KB
 * or more (conv128: 128 KB forward, 16 KB per tap backward-data). */
#ifndef IGEMM_WIDE_MAX_BYTES
#define IGEMM_WIDE_MAX_BYTES 8192
#endif
static int igemm_nr_max(size_t kspan) {
#ifdef IGEMM_NR_NEEDS_L1
    if (kspan * IGEMM_NR_NEEDS_L1 * VL * sizeof(float) > IGEMM_WIDE_MAX_BYTES)
        return IGEMM_NR_NEEDS_L1 - 1;
#else
    (void)kspan;
#endif
    return IGEMM_NR_MAX;
}

/* Column width of the next block: full blocks of nr_max vectors, the
 * remainder in one block. */
static int igemm_block_nr(int nvec_left, int nr_max) {
    return nvec_left < nr_max ? nvec_left : nr_max;
}

/* Reduction bytes of one column block's weights per pass over the pixels.
 * A block whose whole reduction exceeds it (conv128: 1024 steps x 3
 * vectors, 96 KB) is run in passes of at most this much (whole tap rows,
 * or a tap row in even parts), each pass over
 * every pixel tile adding into C, so that its weights are read from L1 by
 * all tiles instead of from L2 (or L3) by each. Each output still sums its
 * products in the same order, so the bits do not change. */
#ifndef IGEMM_KBLOCK_BYTES
#define IGEMM_KBLOCK_BYTES 16384
#endif

/* One pass over every pixel tile of px with g (A pointers offset by aoff
 * floats); tail rows of the last tile go to dummy. */
static void igemm_tiles(const igemm_pixels *px, igemm_fn *fn, int MR, const igemm_args *g,
                        size_t aoff, size_t coff, float *dummy) {
    const size_t P = (size_t)px->nimg * px->oh * px->ow;
    const float *a[IGEMM_MR_MAX];
    float *c[IGEMM_MR_MAX];
    /* pointers advance incrementally: this set-up is paid per tile, and
     * with short reductions (conv32_1: 9 steps) it rivals the FMAs */
    const size_t xstep = (size_t)px->stride * px->ch, ystep = (size_t)px->stride * px->sw * px->ch;
    const float *img_base = px->src + aoff, *row = img_base, *ap = img_base;
    const size_t out_rs = px->out_rs ? px->out_rs : (size_t)px->ow * px->ldc;
    const size_t out_is = px->out_is ? px->out_is : (size_t)px->oh * out_rs;
    float *cp = px->out + coff, *cimg = cp, *crow = cp;
    int y = 0, x = 0;
    for (size_t p0 = 0; p0 < P; p0 += MR) {
        int m = 0;
        for (; m < MR && p0 + m < P; m++) {
            a[m] = ap;
            c[m] = cp;
            cp += px->ldc;
            ap += xstep;
            if (++x == px->ow) {
                x = 0;
                if (++y == px->oh) {
                    y = 0;
                    img_base += px->img_stride;
                    row = img_base;
                    cimg += out_is;
                    crow = cimg;
                } else {
                    row += ystep;
                    crow += out_rs;
                }
                ap = row;
                cp = crow;
            }
        }
        for (int t = m; t < MR; t++) { /* tail: repeat the last pixel into a dummy row */
            a[t] = a[m - 1];
            c[t] = dummy;
        }
        fn(a, c, g);
    }
}

/* C for every pixel of px, columns [0, N); w is [rows*K][ldw] with ldw >=
 * round_up(N, VL) and zeros past N; init (if not NULL) likewise padded.
 * Columns past N are not written when store_pad is 0. */
static void igemm_run_ex(const igemm_pixels *px, size_t rows, size_t K, const float *w,
                         size_t ldw, int N, const float *init, int store_pad, int relu) {
    igemm_fn *const *fns = relu ? igemm_relu_fns : igemm_fns;
    const size_t P = (size_t)px->nimg * px->oh * px->ow;
    const size_t rs = (size_t)px->sw * px->ch;
    float dummy[IGEMM_NR_MAX * VL] __attribute__((aligned(64))) = {0};
    const int nvec = (N + VL - 1) / VL, nr_max = igemm_nr_max(rows * K);
    for (int v0 = 0; v0 < nvec;) {
        const int NR = igemm_block_nr(nvec - v0, nr_max), MR = igemm_mr[NR];
        const int cols_left = N - v0 * VL;
        const int last = store_pad || cols_left >= NR * VL ? VL : cols_left - (NR - 1) * VL;
        const float *wb = w + (size_t)v0 * VL, *ib = init ? init + (size_t)v0 * VL : NULL;
        size_t kb = IGEMM_KBLOCK_BYTES / ((size_t)NR * VL * sizeof(float));
        if (kb == 0) kb = 1; /* an override below one step */
        if (K > kb) kb = (K + (K + kb - 1) / kb - 1) / ((K + kb - 1) / kb); /* even parts */
        /* passes of rp tap rows x kp steps: one pass when the block fits
         * or when a single tile has nothing to share it with */
        size_t rp = rows, kp = K;
        if (P > (size_t)MR && rows * K > kb) {
            if (K <= kb) rp = kb / K;
            else rp = 1, kp = kb;
        }
        for (size_t r0 = 0; r0 < rows; r0 += rp)
            for (size_t k0 = 0; k0 < K; k0 += kp) {
                const int first = r0 == 0 && k0 == 0, final = r0 + rp >= rows && k0 + kp >= K;
                igemm_args g = {rows - r0 < rp ? rows - r0 : rp, rs, K - k0 < kp ? K - k0 : kp,
                                wb + (r0 * K + k0) * ldw, ldw, ib, last, !first};
                igemm_tiles(px, final ? fns[NR] : igemm_fns[NR], MR, &g, r0 * rs + k0,
                            (size_t)v0 * VL, dummy);
            }
        v0 += NR;
    }
}
static inline void igemm_run(const igemm_pixels *px, size_t rows, size_t K, const float *w,
                             size_t ldw, int N, const float *init, int store_pad) {
    igemm_run_ex(px, rows, K, w, ldw, N, init, store_pad, 0);
}

#endif
