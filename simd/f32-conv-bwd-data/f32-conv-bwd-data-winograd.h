/* Winograd F(4x4,3x3) backward-data as the transpose of the forward, for
 * the x86 kernels (included by f32-conv-bwd-data-tmpl.h). The forward maps
 * the 6x6 input patch D of each 4x4 output tile to
 *   Y[o] = A^T [ sum_i U[i][o] .* (B^T D[i] B) ] A,    U = G g G^T,
 * so the gradient of the patch is the transpose of that map,
 *   dD[i] = B [ sum_o U[i][o] .* (A dY[o] A^T) ] B^T,
 * and dx is the sum of the patches' dD (a patch shares 2 rows with the
 * tile row above and 2 columns with the tile on its left). Per chunk of dy
 * tiles: Q = A dY A^T (f32-conv-winograd-dy.h), the 36 position GEMMs
 *   M[tile][t][ic] = sum_oc Q[tile][t][oc] U[t][oc][ic]
 * (the forward's engine and plan with ic and oc swapped), then B M B^T
 * into dx. The tiles are dy's, where the flipped form (a forward over dy
 * padded by 2) tiles dx: conv32_2 36 tiles per image against 49, conv64_2
 * 4 against 9.
 *
 * Unpadded layers whose dx is exactly the patches' span (ih = oh + 2) only:
 * every dx pixel lies in some patch. The first tile (in tile order) whose
 * patch holds a pixel stores it and later ones add to it; which is first
 * follows from the pixel's place in the patch (rows 0-1 were the tile row
 * above's, columns 0-1 the left tile's), so dx needs no zeroing and the
 * order of the additions, hence every bit, is the same however the tiles
 * are chunked or the images split between calls. */
#ifndef DACC_F32_CONV_BWD_DATA_WINOGRAD_H
#define DACC_F32_CONV_BWD_DATA_WINOGRAD_H
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "f32-conv-fwd/f32-conv-winograd.h"
#pragma GCC diagnostic pop
#include "f32-conv-fwd/f32-conv-winograd-dy.h"

static int wbt_fits(const dacc_conv_shape *s) {
    return s->kh == 3 && s->kw == 3 && s->stride == 1 && s->pad == 0 && s->ih == s->oh + 2 &&
           s->iw == s->ow + 2;
}

/* Packed: U with [oc][ic] rows per position (ic padded to the vector
 * width; wino_packed_floats with ic and oc swapped). */
static size_t wbt_packed_floats(const dacc_conv_shape *s) {
    return wino_packed_floats(4, s->oc, s->ic);
}

static size_t wbt_scratch_floats(const dacc_conv_shape *s) {
    size_t work;
    wino_chunk(4, s->oc, s->ic, &work);
    return work;
}

/* U[6a+b][o][i] = (G g G^T)[a][b] for g = w[.][.][i][o]: the forward's U
 * with its channel indices swapped. The 3x3 taps of VL input channels are
 * gathered (OC apart in w) into a block first, so that no transposed copy
 * of w is kept. */
static void wbt_pack(const dacc_conv_shape *s, const float *w, float *packed) {
    const int IC = s->ic, OC = s->oc;
    const size_t Np = round_up((size_t)IC, VL), ts = wino_pos_stride(OC, Np);
    float blk[9][VL] __attribute__((aligned(64)));
    for (int o = 0; o < OC; o++)
        for (int i0 = 0; i0 < (int)Np; i0 += VL) {
            const int n = IC - i0 < VL ? IC - i0 : VL;
            for (int t = 0; t < 9; t++)
                for (int l = 0; l < VL; l++) blk[t][l] = l < n ? w[((size_t)t * IC + i0 + l) * OC + o] : 0.0f;
            vf t6[6][3], g[3], r[6]; /* t6[a][c] = (G g)[a][c] */
            for (int c = 0; c < 3; c++) {
                for (int k = 0; k < 3; k++) g[k] = v_load(blk[3 * k + c]);
                wino4_g(g, r);
                for (int a = 0; a < 6; a++) t6[a][c] = r[a];
            }
            for (int a = 0; a < 6; a++) {
                wino4_g(t6[a], r);
                float *u = packed + (size_t)(6 * a) * ts + (size_t)o * Np + i0;
                for (int b = 0; b < 6; b++) v_store(u + b * ts, r[b]);
            }
        }
    memset(packed + 36 * ts, 0, sizeof(float) * Np); /* the (unused) bias */
}

/* B (the forward's B^T transposed) on one 6-vector. */
CONV_INLINE void wbt4_b(const vf m[6], vf r[6]) {
    const vf s12 = v_add(m[1], m[2]), d12 = v_sub(m[1], m[2]);
    const vf s34 = v_add(m[3], m[4]), d34 = v_sub(m[3], m[4]);
    const vf four = v_set1(4.0f), m4 = v_set1(-4.0f), m5 = v_set1(-5.0f);
    r[0] = v_mul(m[0], four);
    r[1] = v_fma(d12, m4, v_fma(d34, v_set1(-2.0f), v_mul(m[5], four)));
    r[2] = v_sub(v_fma(s12, m4, v_mul(m[0], m5)), s34);
    r[3] = v_fma(m[5], m5, v_fma(d34, v_set1(2.0f), d12));
    r[4] = v_add(v_add(m[0], s12), s34);
    r[5] = m[5];
}

/* The n channels of one tile's patch gradient, B M B^T (M's position t at
 * mc + t*ms), into dst (the patch's corner in dx, rows xrow apart, pixels
 * IC apart): nr x nc of it (the rest is past dx), rows 0-1 added when top,
 * columns 0-1 when left, the rest stored. With constant top, left, full
 * the tile's loops unroll into straight stores and adds. */
CONV_INLINE void wbt_patch(const float *mc, size_t ms, int n, int nr, int nc, const int top,
                           const int left, const int full, float *dst, size_t xrow, int IC) {
    vf t[6][6], col[6], r[6]; /* t[row][b] = (B M)[row][b] */
    WINO_UNROLL
    for (int b = 0; b < 6; b++) {
        WINO_UNROLL
        for (int a = 0; a < 6; a++) col[a] = v_load(mc + (6 * a + b) * ms);
        wbt4_b(col, r);
        WINO_UNROLL
        for (int row = 0; row < 6; row++) t[row][b] = r[row];
    }
    WINO_UNROLL
    for (int row = 0; row < 6; row++) {
        if (!full && row >= nr) break;
        wbt4_b(t[row], r);
        float *d = dst + row * xrow;
        WINO_UNROLL
        for (int c = 0; c < 6; c++) {
            if (!full && c >= nc) break;
            vf v = r[c];
            if ((row < 2 && top) || (c < 2 && left)) v = v_add(v, full ? v_load(d + c * IC) : wino_ld(d + c * IC, n));
            if (full) v_store(d + c * IC, v);
            else wino_store(d + c * IC, v, n, 0);
        }
    }
}

/* One tile's patch, every channel: whole patches of whole vectors through
 * the unrolled cases, the rest (partial tiles, the channel tail) through
 * the general one. */
static void wbt_patch_tile(const float *mj, size_t ms, int IC, int nr, int nc, int top, int left,
                           float *dst, size_t xrow) {
    int i0 = 0;
    if (nr == 6 && nc == 6)
        for (; i0 + VL <= IC; i0 += VL) {
            const float *mc = mj + i0;
            float *d = dst + i0;
            if (top && left) wbt_patch(mc, ms, VL, 6, 6, 1, 1, 1, d, xrow, IC);
            else if (top) wbt_patch(mc, ms, VL, 6, 6, 1, 0, 1, d, xrow, IC);
            else if (left) wbt_patch(mc, ms, VL, 6, 6, 0, 1, 1, d, xrow, IC);
            else wbt_patch(mc, ms, VL, 6, 6, 0, 0, 1, d, xrow, IC);
        }
    for (; i0 < IC; i0 += VL)
        wbt_patch(mj + i0, ms, IC - i0 < VL ? IC - i0 : VL, nr, nc, top, left, 0, dst + i0, xrow, IC);
}

/* Position t's GEMM over a chunk of cnt tiles: Mt[tile] = Qt[tile] Ut
 * (Q's tiles qtile floats apart with ldq-float rows, a whole number of
 * rows; M's mtile apart with ldm-float rows, ldm also Ut's row). */
static void wbt_position(const float *Qt, size_t qtile, size_t ldq, int cnt, int OC, const float *Ut,
                         float *Mt, size_t mtile, size_t ldm) {
    igemm_pixels px = {Qt, 0, 1, 1, cnt, 0, (int)(qtile / ldq), (int)ldq, Mt, mtile, 0, 0};
    igemm_run_ex(&px, 1, (size_t)OC, Ut, ldm, (int)ldm, NULL, 1, 0);
}

/* Tiles T0 .. T0+cnt-1 of tl: each patch's gradient B M B^T into dx. */
static void wbt_patches(const dacc_conv_shape *s, const wino_tiles *tl, size_t T0, int cnt,
                        const float *M, size_t mtile, size_t ldm, float *dx) {
    const int IC = s->ic;
    const size_t xrow = (size_t)s->iw * IC;
    wino_pos q = wino_pos_of(tl, T0);
    for (int j = 0; j < cnt; j++, wino_pos_next(tl, &q)) {
        float *dst = dx + ((q.img * s->ih + 4 * (size_t)q.ty) * s->iw + 4 * (size_t)q.tx) * IC;
        const int nr = s->ih - 4 * q.ty < 6 ? s->ih - 4 * q.ty : 6;
        const int nc = s->iw - 4 * q.tx < 6 ? s->iw - 4 * q.tx : 6;
        wbt_patch_tile(M + j * mtile, ldm, IC, nr, nc, q.ty > 0, q.tx > 0, dst, xrow);
    }
}

/* dx of every image of s from dy (wbt_fits(s); packed by wbt_pack). */
static void wbt_run(const dacc_conv_shape *s, const float *dy, const float *packed, float *dx,
                    float *scratch) {
    const int IC = s->ic, OC = s->oc, th = (s->oh + 3) / 4, tw = (s->ow + 3) / 4;
    wino_plan pl; /* the forward's plan with ic and oc swapped: K = OC, N = IC */
    wino_plan_init(&pl, 4, OC, IC, packed, scratch);
    const wino_tiles tl = {dy, (size_t)s->oh * s->ow * OC, (size_t)s->ow * OC, s->n, th, tw, dx};
    const size_t total = (size_t)s->n * th * tw, P = 36, vtile = pl.vtile, mtile = pl.mtile;
    const size_t orow = (size_t)s->ow * OC;
    for (size_t T0 = 0; T0 < total; T0 += pl.chunk) {
        const int cnt = (int)(total - T0 < pl.chunk ? total - T0 : pl.chunk);
        wino_pos q = wino_pos_of(&tl, T0);
        for (int j = 0; j < cnt; j++, wino_pos_next(&tl, &q)) {
            const float *d = dy + ((q.img * s->oh + 4 * (size_t)q.ty) * s->ow + 4 * (size_t)q.tx) * OC;
            const int nr = s->oh - 4 * q.ty < 4 ? s->oh - 4 * q.ty : 4;
            const int nc = s->ow - 4 * q.tx < 4 ? s->ow - 4 * q.tx : 4;
            wgw_prefetch_dy(d, 4, orow, OC);
            wgw_dy_tile(4, d, orow, OC, nr, nc, pl.V + j * vtile, pl.ldv, NULL);
        }
        for (int t = 0; t < (int)P; t++)
            wbt_position(pl.V + t * pl.ldv, vtile, pl.ldv, cnt, OC, pl.U + t * wino_pos_stride(OC, pl.Np),
                         pl.M + t * pl.Np, mtile, pl.Np);
        wbt_patches(s, &tl, T0, cnt, pl.M, mtile, pl.Np, dx);
    }
}

#endif
