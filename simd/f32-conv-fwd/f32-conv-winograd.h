/* Winograd forward convolution (stride 1, 3x3 kernels) for the x86
 * kernels, compiled once per ISA through f32-conv-vec.h, in four tile sizes:
 *   F(2x2,3x3): 2x2 output tiles from 4x4 input patches, 16 products;
 *   F(4x4,3x3): 4x4 output tiles from 6x6 input patches, 36 products;
 *   F(5x5,3x3): 5x5 output tiles from 7x7 input patches, 49 products;
 *   F(6x6,3x3): 6x6 output tiles from 8x8 input patches, 64 products
 *               (the last two in f32-conv-winograd-f56.h; the engine
 *               runs them in evaluation only).
 * With input transform B^T, kernel transform G and output transform A^T,
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * and the element-wise products, summed over input channels, are P GEMMs
 * (tiles x ic) x (ic x oc): per output pixel and channel pair 4 multiplies
 * with F(2x2), 2.25 with F(4x4), 1.96 and 1.78 with F(5x5) and F(6x6)
 * instead of the direct 9. The larger tiles' transforms have larger
 * entries (F(4x4) up to 8, F(6x6) 32) and add more rounding; the
 * tests bound both against the reference. Channels are contiguous in NHWC,
 * so every transform works on whole vectors of channels.
 *
 * Tiles are flattened over rows and images and processed in chunks small
 * enough that the transformed inputs V[chunk][P][ic] and the products
 * M[chunk][P][oc] stay in L2 while the GEMMs (the shared indirect-GEMM
 * engine, one "pixel" per tile) pass over them. A tile's result depends only
 * on its own inputs, never on the chunk it falls in, so the output is the
 * same however a batch is split across calls or threads. */
#ifndef DACC_F32_CONV_WINOGRAD_H
#define DACC_F32_CONV_WINOGRAD_H
#include "f32-conv-fwd/f32-conv-igemm.h"

/* Tiles per chunk: a multiple of every register tile's MR (12, 8, 6 with
 * AVX-512; 8, 6, 4, 3 with AVX2) so only the last chunk has a short tile. */
#ifndef WINO_CHUNK_QUANTUM
#define WINO_CHUNK_QUANTUM 24
#endif
/* F(6x6)'s: its U alone is 264 KB for 32 channels, and 24 tiles' V and M
 * (393 KB) with it exceed the AVX2 machine's 512 KB L2. 12 tiles were
 * faster in 5 of 6 interleaved rounds (conv32_2 forward, batch 64, medians
 * 3.0-3.6 ms against 3.3-5.3; the sixth 5.3 against 4.7). 12 is a
 * multiple of AVX2's 6-, 4- and 3-tile blocks, not of 8x1's (output
 * channels in one vector), whose chunks then each end in a short tile. */
#ifndef WINO6_CHUNK_QUANTUM
#define WINO6_CHUNK_QUANTUM 12
#endif
/* Floats of V plus M per chunk: an L2-resident working set (chunks of
 * 12 to 96 tiles measured within noise of each other). */
#ifndef WINO_CHUNK_FLOATS
#define WINO_CHUNK_FLOATS 49152
#endif

/* Tiles ahead whose new input rows are prefetched (2, 4, 8 measured alike). */
#ifndef WINO_PF_TILES
#define WINO_PF_TILES 4
#endif

/* Complete unrolling of the transforms' short constant loops (GCC at -O2
 * leaves them rolled, and the tile then lives on the stack). */
#define WINO_UNROLL _Pragma("GCC unroll 8")

/* Masked only for a channel tail: a full-width load is cheaper (AVX2's
 * vmaskmovps especially). */
CONV_INLINE vf wino_ld(const float *p, int n) { return n == VL ? v_load(p) : v_loadn(p, n); }

/* ---- the 1-D transforms, on vectors of channels ---- */

/* F(2x2): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] */
CONV_INLINE void wino2_g(const vf g[3], vf r[4]) {
    const vf half = v_set1(0.5f), e = v_add(g[0], g[2]);
    r[0] = g[0];
    r[1] = v_mul(v_add(e, g[1]), half);
    r[2] = v_mul(v_sub(e, g[1]), half);
    r[3] = g[2];
}
/* F(2x2): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
CONV_INLINE void wino2_bt(const vf d[4], vf r[4]) {
    r[0] = v_sub(d[0], d[2]);
    r[1] = v_add(d[1], d[2]);
    r[2] = v_sub(d[2], d[1]);
    r[3] = v_sub(d[1], d[3]);
}
/* F(2x2): A^T = [1 1 1 0; 0 1 -1 -1] */
CONV_INLINE void wino2_at(const vf m[4], vf r[2]) {
    r[0] = v_add(v_add(m[0], m[1]), m[2]);
    r[1] = v_sub(v_sub(m[1], m[2]), m[3]);
}

/* F(4x4): G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
 *              1/24 -1/12 1/6; 0 0 1] */
CONV_INLINE void wino4_g(const vf g[3], vf r[6]) {
    const vf s = v_add(g[0], g[2]), msixth = v_set1(-1.0f / 6.0f);
    const vf u = v_fma(g[0], v_set1(1.0f / 24.0f), v_mul(g[2], v_set1(1.0f / 6.0f)));
    const vf v = v_mul(g[1], v_set1(1.0f / 12.0f));
    r[0] = v_mul(g[0], v_set1(0.25f));
    r[1] = v_mul(v_add(s, g[1]), msixth);
    r[2] = v_mul(v_sub(s, g[1]), msixth);
    r[3] = v_add(u, v);
    r[4] = v_sub(u, v);
    r[5] = g[2];
}
/* F(4x4): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *                0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1] */
CONV_INLINE void wino4_bt(const vf d[6], vf r[6]) {
    const vf m4 = v_set1(-4.0f), m5 = v_set1(-5.0f), four = v_set1(4.0f);
    const vf t1 = v_fma(d[2], m4, d[4]), t2 = v_fma(d[1], m4, d[3]);
    const vf t3 = v_sub(d[4], d[2]), t4 = v_add(v_sub(d[3], d[1]), v_sub(d[3], d[1]));
    r[0] = v_fma(d[0], four, v_fma(d[2], m5, d[4]));
    r[1] = v_add(t1, t2);
    r[2] = v_sub(t1, t2);
    r[3] = v_add(t3, t4);
    r[4] = v_sub(t3, t4);
    r[5] = v_fma(d[1], four, v_fma(d[3], m5, d[5]));
}
/* F(4x4): A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1] */
CONV_INLINE void wino4_at(const vf m[6], vf r[4]) {
    const vf a = v_add(m[1], m[2]), b = v_sub(m[1], m[2]);
    const vf c = v_add(m[3], m[4]), d = v_sub(m[3], m[4]);
    r[0] = v_add(v_add(m[0], a), c);
    r[1] = v_fma(d, v_set1(2.0f), b);
    r[2] = v_fma(c, v_set1(4.0f), a);
    r[3] = v_fma(d, v_set1(8.0f), v_add(b, m[5]));
}

#include "f32-conv-fwd/f32-conv-winograd-f56.h"

/* The 1-D transforms of tile size m (2, 4, 5 or 6), a constant at each call. */
CONV_INLINE void wino_g_m(const int m, const vf g[3], vf *r) {
    if (m == 2) wino2_g(g, r); else if (m == 4) wino4_g(g, r); else if (m == 5) wino5_g(g, r);
    else wino6_g(g, r);
}
CONV_INLINE void wino_bt_m(const int m, const vf *d, vf *r) {
    if (m == 2) wino2_bt(d, r); else if (m == 4) wino4_bt(d, r); else if (m == 5) wino5_bt(d, r);
    else wino6_bt(d, r);
}
CONV_INLINE void wino_at_m(const int m, const vf *x, vf *r) {
    if (m == 2) wino2_at(x, r); else if (m == 4) wino4_at(x, r); else if (m == 5) wino5_at(x, r);
    else wino6_at(x, r);
}

/* Floats between two transform positions of U: one vector more than a
 * position's IC x Np, so that the P rows written per (i, o) do not all map
 * to the same L1 set (IC x Np x 4 bytes is a multiple of 4 KB for 32 or 64
 * channels, and 36 stores 4 KB apart thrash a 12-way L1). */
static inline size_t wino_pos_stride(int IC, size_t Np) { return (size_t)IC * Np + VL; }

/* U[WN*a+b][i][o] = (G g G^T)[a][b] for g = w[.][.][i][o], oc padded to Np
 * with zeros; WN = m + 2 transform points per side, m constant at each call
 * (wino_weights). */
CONV_INLINE void wino_weights_m(const int m, const float *w, int IC, int OC, size_t Np, float *U) {
    const int WN = m + 2;
    const size_t ts = wino_pos_stride(IC, Np); /* floats between transform positions */
    for (int i = 0; i < IC; i++)
        for (int o0 = 0; o0 < (int)Np; o0 += VL) {
            const int n = OC - o0 < VL ? OC - o0 : VL;
            vf t[8][3], g[3], r[8]; /* t[a][c] = (G g)[a][c] */
            WINO_UNROLL
            for (int c = 0; c < 3; c++) {
                WINO_UNROLL
                for (int k = 0; k < 3; k++) g[k] = v_loadn(w + ((size_t)(3 * k + c) * IC + i) * OC + o0, n);
                wino_g_m(m, g, r);
                WINO_UNROLL
                for (int a = 0; a < WN; a++) t[a][c] = r[a];
            }
            WINO_UNROLL
            for (int a = 0; a < WN; a++) {
                wino_g_m(m, t[a], r);
                float *u = U + (size_t)(WN * a) * ts + (size_t)i * Np + o0;
                WINO_UNROLL
                for (int b = 0; b < WN; b++) v_store(u + b * ts, r[b]);
            }
        }
}
static void wino_weights(int m, const float *w, int IC, int OC, size_t Np, float *U) {
    if (m == 2)
        wino_weights_m(2, w, IC, OC, Np, U);
    else if (m == 4)
        wino_weights_m(4, w, IC, OC, Np, U);
    else if (m == 5)
        wino_weights_m(5, w, IC, OC, Np, U);
    else
        wino_weights_m(6, w, IC, OC, Np, U);
}

/* One tile set: nimg images whose (m+2)^2 patches start at src +
 * i*img_stride + (m*ty*rs + m*tx*IC); th x tw tiles per image; outputs at y
 * (dense NHWC, oh x ow x OC per image). */
typedef struct wino_tiles {
    const float *src;
    size_t img_stride, rs;
    int nimg, th, tw;
    float *y;
} wino_tiles;

/* Position of a tile, advanced one tile at a time (a division per tile
 * costs as much as a tenth of its GEMM work). */
typedef struct wino_pos {
    size_t img;
    int ty, tx;
} wino_pos;
static inline wino_pos wino_pos_of(const wino_tiles *tl, size_t T) {
    const size_t per_img = (size_t)tl->th * tl->tw, r = T % per_img;
    wino_pos q = {T / per_img, (int)(r / tl->tw), (int)(r % tl->tw)};
    return q;
}
static inline void wino_pos_next(const wino_tiles *tl, wino_pos *q) {
    if (++q->tx == tl->tw) {
        q->tx = 0;
        if (++q->ty == tl->th) {
            q->ty = 0;
            q->img++;
        }
    }
}

/* The patch rows first touched by this tile (the others were the previous
 * tile row's) of the tile WINO_PF_TILES ahead: in the network the layer's
 * input comes from beyond L2, and fetching a few tiles ahead gained ~7% on
 * a batch of 64. Prefetches never fault, so running past the end of the
 * buffer at the last tiles is harmless. */
CONV_INLINE void wino_prefetch(const float *p, int m, size_t rs, int IC) {
    const float *pf = p + 2 * rs + WINO_PF_TILES * (size_t)m * IC;
    for (int r = 0; r < m; r++)
        for (int l = 0; l < m * IC; l += 64 / (int)sizeof(float)) __builtin_prefetch(pf + r * rs + l);
}

/* v[(4a+b)*vs + c] = (B^T d B)[a][b] for the n channels from c0 of the
 * 4x4 patch at p. Patch rows 1 and 2 feed every row of B^T d and stay in
 * registers (8 vectors: fits AVX2's 16); rows 0 and 3 are loaded where
 * used. Channel tails are loaded masked, so V's padding lanes are zero. */
CONV_INLINE void wino2_input_vec(const float *p, size_t rs, int IC, int c0, int n, float *v,
                                 size_t vs) {
    const float *p0 = p + c0;
    vf d1[4], d2[4], e[4], r[4];
    WINO_UNROLL
    for (int k = 0; k < 4; k++) {
        d1[k] = wino_ld(p0 + rs + k * IC, n);
        d2[k] = wino_ld(p0 + 2 * rs + k * IC, n);
    }
    float *o = v + c0;
    WINO_UNROLL
    for (int a = 0; a < 4; a++) {
        WINO_UNROLL
        for (int k = 0; k < 4; k++)
            e[k] = a == 0   ? v_sub(wino_ld(p0 + k * IC, n), d2[k])
                   : a == 1 ? v_add(d1[k], d2[k])
                   : a == 2 ? v_sub(d2[k], d1[k])
                            : v_sub(d1[k], wino_ld(p0 + 3 * rs + k * IC, n));
        wino2_bt(e, r);
        WINO_UNROLL
        for (int b = 0; b < 4; b++) v_store(o + (4 * a + b) * vs, r[b]);
    }
}

/* v[(WN a+b)*vs + c] = (B^T d B)[a][b] for the n channels from c0 of the
 * WN x WN patch at p (WN = m + 2, m = 4, 5 or 6 constant at each call): each
 * patch row through B^T, then each column of that. */
CONV_INLINE void wino_input_vec_m(const int m, const float *p, size_t rs, int IC, int c0, int n,
                                  float *v, size_t vs) {
    const int WN = m + 2;
    vf t[8][8], d[8], r[8]; /* t[row][b] = (d B)[row][b] */
    WINO_UNROLL
    for (int row = 0; row < WN; row++) {
        WINO_UNROLL
        for (int k = 0; k < WN; k++) d[k] = wino_ld(p + row * rs + k * IC + c0, n);
        wino_bt_m(m, d, t[row]);
    }
    WINO_UNROLL
    for (int b = 0; b < WN; b++) {
        WINO_UNROLL
        for (int k = 0; k < WN; k++) d[k] = t[k][b];
        wino_bt_m(m, d, r);
        WINO_UNROLL
        for (int a = 0; a < WN; a++) v_store(v + c0 + (WN * a + b) * vs, r[a]);
    }
}

/* Every channel of one patch; whole vectors with plain loads (the
 * constant n folds wino_ld's test away), then a masked tail. */
CONV_INLINE void wino_input_tile(const int m, const float *p, size_t rs, int IC, float *v,
                                 size_t vs) {
    int c0 = 0;
    for (; c0 + VL <= IC; c0 += VL) {
        if (m == 2) wino2_input_vec(p, rs, IC, c0, VL, v, vs);
        else wino_input_vec_m(m, p, rs, IC, c0, VL, v, vs);
    }
    if (c0 < IC) {
        if (m == 2) wino2_input_vec(p, rs, IC, c0, IC - c0, v, vs);
        else wino_input_vec_m(m, p, rs, IC, c0, IC - c0, v, vs);
    }
}

/* The transformed patch of tile T0 + j at V + j*vtile, position t at
 * + t*vs; m a compile-time constant at each call (wino2_input ..
 * wino6_input). */
CONV_INLINE void wino_input_m(const int m, const wino_tiles *tl, int IC, size_t T0, int cnt,
                              float *V, size_t vtile, size_t vs) {
    const size_t rs = tl->rs;
    wino_pos q = wino_pos_of(tl, T0);
    for (int j = 0; j < cnt; j++, wino_pos_next(tl, &q)) {
        const float *p = tl->src + q.img * tl->img_stride + (size_t)m * q.ty * rs +
                         (size_t)m * q.tx * IC;
        wino_prefetch(p, m, rs, IC);
        wino_input_tile(m, p, rs, IC, V + j * vtile, vs);
    }
}
static void wino2_input(const wino_tiles *tl, int IC, size_t T0, int cnt, float *V,
                        size_t vtile, size_t vs) {
    wino_input_m(2, tl, IC, T0, cnt, V, vtile, vs);
}
static void wino4_input(const wino_tiles *tl, int IC, size_t T0, int cnt, float *V,
                        size_t vtile, size_t vs) {
    wino_input_m(4, tl, IC, T0, cnt, V, vtile, vs);
}
static void wino5_input(const wino_tiles *tl, int IC, size_t T0, int cnt, float *V,
                        size_t vtile, size_t vs) {
    wino_input_m(5, tl, IC, T0, cnt, V, vtile, vs);
}
static void wino6_input(const wino_tiles *tl, int IC, size_t T0, int cnt, float *V,
                        size_t vtile, size_t vs) {
    wino_input_m(6, tl, IC, T0, cnt, V, vtile, vs);
}

/* Stores one output pixel: clamped when RELU, masked past OC. */
CONV_INLINE void wino_store(float *dst, vf v, int n, int relu) {
    if (relu) v = v_max(v, v_zero());
    if (n == VL)
        v_store(dst, v);
    else
        v_storen(dst, v, n);
}

/* y = A^T M A + bias (+ReLU) for tiles T0 .. T0+cnt-1, whose products are
 * at M + j*mtile (position t at + t*ms); only the pixels inside oh x ow and
 * the first OC channels are stored (partial tiles where m does not divide
 * the output size). m is a compile-time constant at each
 * call (wino2_output .. wino6_output): with the loops unrolled the tile
 * stays in registers (F(2x2), F(4x4)) instead of round-tripping through
 * the stack. */
CONV_INLINE void wino_output_m(const int m, const wino_tiles *tl, int oh, int ow, int OC,
                               size_t T0, int cnt, const float *M, size_t mtile, size_t ms,
                               const float *bp, int relu) {
    const int WN = m + 2;
    wino_pos q = wino_pos_of(tl, T0);
    for (int j = 0; j < cnt; j++, wino_pos_next(tl, &q)) {
        const int nr = oh - m * q.ty < m ? oh - m * q.ty : m;
        const int nc = ow - m * q.tx < m ? ow - m * q.tx : m;
        float *out = tl->y + ((q.img * oh + (size_t)m * q.ty) * ow + (size_t)m * q.tx) * OC;
        const size_t orow = (size_t)ow * OC;
        const float *mj = M + j * mtile;
        for (int o0 = 0; o0 < OC; o0 += VL) {
            const int n = OC - o0 < VL ? OC - o0 : VL;
            const float *mc = mj + o0;
            vf t[6][8], col[8], r[6]; /* t[row][b] = (A^T M)[row][b] */
            WINO_UNROLL
            for (int b = 0; b < WN; b++) {
                WINO_UNROLL
                for (int a = 0; a < WN; a++) col[a] = v_load(mc + (WN * a + b) * ms);
                wino_at_m(m, col, r);
                WINO_UNROLL
                for (int row = 0; row < m; row++) t[row][b] = r[row];
            }
            const vf bias = v_load(bp + o0), zero = v_zero();
            if (nr == m && nc == m && n == VL) {
                WINO_UNROLL
                for (int row = 0; row < m; row++) {
                    wino_at_m(m, t[row], r);
                    float *dst = out + row * orow + o0;
                    WINO_UNROLL
                    for (int c = 0; c < m; c++) {
                        vf v = v_add(r[c], bias);
                        v_store(dst + c * OC, relu ? v_max(v, zero) : v);
                    }
                }
                continue;
            }
            WINO_UNROLL
            for (int row = 0; row < m; row++) {
                if (row >= nr) break;
                wino_at_m(m, t[row], r);
                float *dst = out + row * orow + o0;
                for (int c = 0; c < nc; c++) wino_store(dst + c * OC, v_add(r[c], bias), n, relu);
            }
        }
    }
}
static void wino2_output(const wino_tiles *tl, int oh, int ow, int OC, size_t T0, int cnt,
                         const float *M, size_t mtile, size_t ms, const float *bp, int relu) {
    wino_output_m(2, tl, oh, ow, OC, T0, cnt, M, mtile, ms, bp, relu);
}
static void wino4_output(const wino_tiles *tl, int oh, int ow, int OC, size_t T0, int cnt,
                         const float *M, size_t mtile, size_t ms, const float *bp, int relu) {
    wino_output_m(4, tl, oh, ow, OC, T0, cnt, M, mtile, ms, bp, relu);
}
static void wino5_output(const wino_tiles *tl, int oh, int ow, int OC, size_t T0, int cnt,
                         const float *M, size_t mtile, size_t ms, const float *bp, int relu) {
    wino_output_m(5, tl, oh, ow, OC, T0, cnt, M, mtile, ms, bp, relu);
}
static void wino6_output(const wino_tiles *tl, int oh, int ow, int OC, size_t T0, int cnt,
                         const float *M, size_t mtile, size_t ms, const float *bp, int relu) {
    wino_output_m(6, tl, oh, ow, OC, T0, cnt, M, mtile, ms, bp, relu);
}

/* One call's plan: the packed weights (U, then the bias padded to Np)
 * and the work areas V and M in the caller's scratch. */
typedef struct wino_plan {
    int m, P, IC, OC;
    size_t Np, ldv, chunk, vtile, mtile;
    const float *U, *bp;
    float *V, *M;
} wino_plan;

/* Floats of the packed weights for tile size m: U, then the padded bias. */
static size_t wino_packed_floats(int m, int IC, int OC) {
    const size_t P = (size_t)(m + 2) * (m + 2), Np = round_up((size_t)OC, VL);
    return P * wino_pos_stride(IC, Np) + Np;
}

/* Positions (rows of ld floats) from one tile of V or M to the next: one
 * more than the P a tile holds. With exactly P, F(6x6)'s 64 x 32 floats put
 * a position's rows of every tile of a chunk 8 KB apart, all in the same
 * L1 sets. */
static inline size_t wino_tile_rows(size_t P) { return P + 1; }

/* Tiles per chunk; *work_out = floats of V and M for one chunk. */
static size_t wino_chunk(int m, int IC, int OC, size_t *work_out) {
    const size_t P = (size_t)(m + 2) * (m + 2), R = wino_tile_rows(P);
    const size_t Np = round_up((size_t)OC, VL), ldv = round_up((size_t)IC, VL);
    size_t chunk = WINO_CHUNK_FLOATS / (P * (ldv + Np));
    const size_t q = m == 6 ? WINO6_CHUNK_QUANTUM : WINO_CHUNK_QUANTUM;
    chunk = chunk / q * q;
    if (chunk < q) chunk = q;
    *work_out = R * chunk * (ldv + Np);
    return chunk;
}

/* packed = U (the weights through G g G^T) and the bias padded with zeros
 * (bias NULL: all zeros); wino_packed_floats floats. */
static void wino_pack(int m, const float *w, const float *bias, int IC, int OC, float *packed) {
    const size_t P = (size_t)(m + 2) * (m + 2), Np = round_up((size_t)OC, VL);
    float *bp = packed + P * wino_pos_stride(IC, Np);
    wino_weights(m, w, IC, OC, Np, packed);
    memset(bp, 0, sizeof(float) * Np);
    if (bias) memcpy(bp, bias, sizeof(float) * OC);
}

/* The plan for tile size m (2, 4, 5 or 6) over packed weights, with V and M in
 * work (wino_chunk's work_out floats). */
static void wino_plan_init(wino_plan *pl, int m, int IC, int OC, const float *packed,
                           float *work) {
    size_t work_floats;
    pl->m = m;
    pl->P = (m + 2) * (m + 2);
    pl->IC = IC;
    pl->OC = OC;
    pl->Np = round_up((size_t)OC, VL);
    pl->ldv = round_up((size_t)IC, VL);
    pl->chunk = wino_chunk(m, IC, OC, &work_floats);
    pl->U = packed;
    pl->bp = packed + (size_t)pl->P * wino_pos_stride(IC, pl->Np);
    pl->vtile = wino_tile_rows((size_t)pl->P) * pl->ldv;
    pl->mtile = wino_tile_rows((size_t)pl->P) * pl->Np;
    pl->V = work;
    pl->M = pl->V + pl->chunk * pl->vtile;
}

/* Every tile of tl: input transform, P GEMMs, output transform, chunk by
 * chunk. */
static void wino_run(const wino_plan *pl, const wino_tiles *tl, int oh, int ow, int relu) {
    const size_t total = (size_t)tl->nimg * tl->th * tl->tw;
    /* tile-major V[j][t][ldv] and M[j][t][Np]: the transforms read and
     * write one contiguous block per tile (position-major, 36 streams 3 KB
     * apart, kept the output transform waiting on L2) */
    const size_t vtile = pl->vtile, mtile = pl->mtile;
    for (size_t T0 = 0; T0 < total; T0 += pl->chunk) {
        const int cnt = (int)(total - T0 < pl->chunk ? total - T0 : pl->chunk);
        static void (*const input[7])(const wino_tiles *, int, size_t, int, float *, size_t,
                                      size_t) = {0, 0, wino2_input, 0, wino4_input, wino5_input,
                                                 wino6_input};
        input[pl->m](tl, pl->IC, T0, cnt, pl->V, vtile, pl->ldv);
        for (int t = 0; t < pl->P; t++) {
            /* the cnt tiles as a row of "pixels" cnt wide, a tile apart */
            igemm_pixels px = {pl->V + t * pl->ldv, 0, 1, 1, cnt, 0, (int)(vtile / pl->ldv), (int)pl->ldv,
                               pl->M + t * pl->Np, mtile, 0, 0};
            igemm_run_ex(&px, 1, (size_t)pl->IC, pl->U + t * wino_pos_stride(pl->IC, pl->Np), pl->Np,
                         (int)pl->Np, NULL, 1, 0);
        }
        static void (*const output[7])(const wino_tiles *, int, int, int, size_t, int,
                                       const float *, size_t, size_t, const float *, int) = {
            0, 0, wino2_output, 0, wino4_output, wino5_output, wino6_output};
        output[pl->m](tl, oh, ow, pl->OC, T0, cnt, pl->M, mtile, pl->Np, pl->bp, relu);
    }
}

#endif
