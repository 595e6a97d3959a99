/* Winograd F(2x2,3x3) forward convolution (stride 1, 3x3 kernels) for the
 * x86 kernels, compiled once per ISA through f32-conv-vec.h.
 *
 * Each 2x2 output tile reads a 4x4 input patch d; with the standard
 * matrices (transform entries 0, +-1, +-1/2 only, so the transforms add
 * little rounding)
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * the 16 element-wise products, summed over input channels, are 16 GEMMs
 * (tiles x ic) x (ic x oc): 16 MACs per tile and channel pair instead of
 * the direct 36, i.e. 2.25x fewer multiplies. Channels are contiguous in
 * NHWC, so every transform works on whole vectors of channels.
 *
 * Tiles are flattened over rows and images and processed in chunks small
 * enough that the transformed inputs V[16][chunk][ic] and the products
 * M[16][chunk][oc] stay in L2 while the GEMMs (the shared indirect-GEMM
 * engine, one "pixel" per tile) pass over them. A tile's result depends only
 * on its own inputs, never on the chunk it falls in, so the output is the
 * same however a batch is split across calls or threads. */
#ifndef DACC_F32_CONV_WINOGRAD_H
#define DACC_F32_CONV_WINOGRAD_H
#include "f32-conv-fwd/f32-conv-igemm.h"

/* Tiles per chunk: a multiple of every register tile's MR (12, 8, 6 with
 * AVX-512; 8, 6, 4 with AVX2) so only the last chunk has a short tile. */
#ifndef WINO_CHUNK_QUANTUM
#define WINO_CHUNK_QUANTUM 24
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

/* Masked only for a channel tail: a full-width load is cheaper (AVX2's
 * vmaskmovps especially). */
CONV_INLINE vf wino_ld(const float *p, int n) { return n == VL ? v_load(p) : v_loadn(p, n); }

/* U[4a+b][i][o] = (G g G^T)[a][b] for g = w[.][.][i][o], oc padded to Np
 * with zeros. G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static void wino_weights(const float *w, int IC, int OC, size_t Np, float *U) {
    const vf half = v_set1(0.5f);
    for (int i = 0; i < IC; i++)
        for (int o0 = 0; o0 < (int)Np; o0 += VL) {
            const int n = OC - o0 < VL ? OC - o0 : VL;
            vf t[4][3];
            for (int c = 0; c < 3; c++) {
                vf g0 = v_loadn(w + ((size_t)(0 + c) * IC + i) * OC + o0, n);
                vf g1 = v_loadn(w + ((size_t)(3 + c) * IC + i) * OC + o0, n);
                vf g2 = v_loadn(w + ((size_t)(6 + c) * IC + i) * OC + o0, n);
                vf e = v_add(g0, g2);
                t[0][c] = g0;
                t[1][c] = v_mul(v_add(e, g1), half);
                t[2][c] = v_mul(v_sub(e, g1), half);
                t[3][c] = g2;
            }
            for (int a = 0; a < 4; a++) {
                vf e = v_add(t[a][0], t[a][2]);
                float *u = U + ((size_t)(4 * a) * IC + i) * Np + o0;
                const size_t ts = (size_t)IC * Np; /* floats between transform positions */
                v_store(u, t[a][0]);
                v_store(u + ts, v_mul(v_add(e, t[a][1]), half));
                v_store(u + 2 * ts, v_mul(v_sub(e, t[a][1]), half));
                v_store(u + 3 * ts, t[a][2]);
            }
        }
}

/* One tile set: nimg images whose 4x4 patches start at src + i*img_stride
 * + (2ty*rs + 2tx*IC); th x tw tiles per image; outputs at y (dense NHWC,
 * oh x ow x OC per image). */
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

/* Row a of B^T d (t0..t3 over the patch columns) times B, stored at o + b*vs. */
CONV_INLINE void wino_in_row(vf t0, vf t1, vf t2, vf t3, float *o, size_t vs) {
    v_store(o, v_sub(t0, t2));
    v_store(o + vs, v_add(t1, t2));
    v_store(o + 2 * vs, v_sub(t2, t1));
    v_store(o + 3 * vs, v_sub(t1, t3));
}

/* V[4a+b][j][.] = (B^T d B)[a][b] for the channels of tile T0 + j, with
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Patch rows 1 and 2 feed
 * every row of B^T d and stay in registers (8 vectors: fits AVX2's 16);
 * rows 0 and 3 are loaded where used. Channel tails are loaded masked, so
 * V's padding lanes are zero. */
static void wino_input(const wino_tiles *tl, int IC, size_t T0, int cnt, float *V, size_t ldv,
                       size_t vs) {
    const size_t rs = tl->rs;
    wino_pos q = wino_pos_of(tl, T0);
    for (int j = 0; j < cnt; j++, wino_pos_next(tl, &q)) {
        const float *p = tl->src + q.img * tl->img_stride + 2 * (size_t)q.ty * rs +
                         2 * (size_t)q.tx * IC;
        float *v = V + j * ldv;
        /* Patch rows 2 and 3 are first touched here (rows 0-1 were the
         * previous tile row's 2-3); in the network the layer's input comes
         * from beyond L2, and fetching a few tiles ahead gained ~7% on a
         * batch of 64. Prefetches never fault, so running past the end of
         * the buffer at the last tiles is harmless. */
        const float *pf = p + 2 * rs + WINO_PF_TILES * 2 * (size_t)IC;
        for (int l = 0; l < 2 * IC; l += 64 / (int)sizeof(float)) {
            __builtin_prefetch(pf + l);
            __builtin_prefetch(pf + rs + l);
        }
        for (int c0 = 0; c0 < IC; c0 += VL) {
            const int n = IC - c0 < VL ? IC - c0 : VL;
            const float *p0 = p + c0, *p1 = p0 + rs, *p2 = p1 + rs, *p3 = p2 + rs;
            const vf d10 = wino_ld(p1, n), d11 = wino_ld(p1 + IC, n),
                     d12 = wino_ld(p1 + 2 * IC, n), d13 = wino_ld(p1 + 3 * IC, n);
            const vf d20 = wino_ld(p2, n), d21 = wino_ld(p2 + IC, n),
                     d22 = wino_ld(p2 + 2 * IC, n), d23 = wino_ld(p2 + 3 * IC, n);
            float *o = v + c0;
            wino_in_row(v_sub(wino_ld(p0, n), d20), v_sub(wino_ld(p0 + IC, n), d21),
                        v_sub(wino_ld(p0 + 2 * IC, n), d22), v_sub(wino_ld(p0 + 3 * IC, n), d23),
                        o, vs);
            wino_in_row(v_add(d10, d20), v_add(d11, d21), v_add(d12, d22), v_add(d13, d23),
                        o + 4 * vs, vs);
            wino_in_row(v_sub(d20, d10), v_sub(d21, d11), v_sub(d22, d12), v_sub(d23, d13),
                        o + 8 * vs, vs);
            wino_in_row(v_sub(d10, wino_ld(p3, n)), v_sub(d11, wino_ld(p3 + IC, n)),
                        v_sub(d12, wino_ld(p3 + 2 * IC, n)), v_sub(d13, wino_ld(p3 + 3 * IC, n)),
                        o + 12 * vs, vs);
        }
    }
}

/* Stores one output pixel: clamped when RELU, masked past OC. */
CONV_INLINE void wino_store(float *dst, vf v, int n, int relu) {
    if (relu) v = v_max(v, v_zero());
    if (n == VL)
        v_store(dst, v);
    else
        v_storen(dst, v, n);
}

/* y = A^T M A + bias (+ReLU) for tiles T0 .. T0+cnt-1, A^T = [1 1 1 0;
 * 0 1 -1 -1]; only the pixels inside oh x ow and the first OC channels
 * are stored (partial tiles at odd output sizes). */
static void wino_output(const wino_tiles *tl, int oh, int ow, int OC, size_t T0, int cnt,
                        const float *M, size_t Np, size_t ms, const float *bp, int relu) {
    wino_pos q = wino_pos_of(tl, T0);
    for (int j = 0; j < cnt; j++, wino_pos_next(tl, &q)) {
        /* the second column / row of a tile falls outside odd outputs */
        const int two_c = 2 * q.tx + 2 <= ow, two_r = 2 * q.ty + 2 <= oh;
        float *out = tl->y + ((q.img * oh + 2 * (size_t)q.ty) * ow + 2 * (size_t)q.tx) * OC;
        const size_t orow = (size_t)ow * OC;
        const float *m = M + j * Np;
        for (int o0 = 0; o0 < OC; o0 += VL) {
            const int n = OC - o0 < VL ? OC - o0 : VL;
            const float *mc = m + o0;
            /* columns of A^T M: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 */
#define WINO_COL(b, s0, s1)                                                          \
    vf s0, s1;                                                                       \
    {                                                                                \
        const vf m1 = v_load(mc + (4 + b) * ms), m2 = v_load(mc + (8 + b) * ms);     \
        s0 = v_add(v_add(v_load(mc + (b) * ms), m1), m2);                            \
        s1 = v_sub(v_sub(m1, m2), v_load(mc + (12 + b) * ms));                       \
    }
            WINO_COL(0, a0, b0)
            WINO_COL(1, a1, b1)
            WINO_COL(2, a2, b2)
            WINO_COL(3, a3, b3)
#undef WINO_COL
            const vf bias = v_load(bp + o0);
            const vf y00 = v_add(v_add(v_add(a0, a1), a2), bias);
            const vf y01 = v_add(v_sub(v_sub(a1, a2), a3), bias);
            const vf y10 = v_add(v_add(v_add(b0, b1), b2), bias);
            const vf y11 = v_add(v_sub(v_sub(b1, b2), b3), bias);
            float *dst = out + o0;
            wino_store(dst, y00, n, relu);
            if (two_c) wino_store(dst + OC, y01, n, relu);
            if (two_r) wino_store(dst + orow, y10, n, relu);
            if (two_c && two_r) wino_store(dst + orow + OC, y11, n, relu);
        }
    }
}

/* The scratch of one call: U, padded bias, V, M. */
typedef struct wino_plan {
    int IC, OC;
    size_t Np, ldv, chunk;
    float *U, *bp, *V, *M;
} wino_plan;

static size_t wino_scratch_floats(int IC, int OC, size_t *chunk_out) {
    const size_t Np = round_up((size_t)OC, VL), ldv = round_up((size_t)IC, VL);
    size_t chunk = WINO_CHUNK_FLOATS / (16 * (ldv + Np));
    chunk = chunk / WINO_CHUNK_QUANTUM * WINO_CHUNK_QUANTUM;
    if (chunk < WINO_CHUNK_QUANTUM) chunk = WINO_CHUNK_QUANTUM;
    *chunk_out = chunk;
    return 16 * (size_t)IC * Np + Np + 16 * chunk * (ldv + Np);
}

/* Sets up the plan in scratch (at least wino_scratch_floats floats). */
static void wino_plan_init(wino_plan *pl, int IC, int OC, const float *w, const float *bias,
                           float *scratch) {
    pl->IC = IC;
    pl->OC = OC;
    pl->Np = round_up((size_t)OC, VL);
    pl->ldv = round_up((size_t)IC, VL);
    wino_scratch_floats(IC, OC, &pl->chunk);
    pl->U = scratch;
    pl->bp = pl->U + 16 * (size_t)IC * pl->Np;
    pl->V = pl->bp + pl->Np;
    pl->M = pl->V + 16 * pl->chunk * pl->ldv;
    wino_weights(w, IC, OC, pl->Np, pl->U);
    memset(pl->bp, 0, sizeof(float) * pl->Np);
    if (bias) memcpy(pl->bp, bias, sizeof(float) * OC);
}

/* Every tile of tl: input transform, 16 GEMMs, output transform, chunk by
 * chunk. */
static void wino_run(const wino_plan *pl, const wino_tiles *tl, int oh, int ow, int relu) {
    const size_t total = (size_t)tl->nimg * tl->th * tl->tw;
    const size_t vs = pl->chunk * pl->ldv, ms = pl->chunk * pl->Np;
    for (size_t T0 = 0; T0 < total; T0 += pl->chunk) {
        const int cnt = (int)(total - T0 < pl->chunk ? total - T0 : pl->chunk);
        wino_input(tl, pl->IC, T0, cnt, pl->V, pl->ldv, vs);
        for (int t = 0; t < 16; t++) {
            /* the cnt tiles as a row of "pixels" cnt wide, ldv apart */
            igemm_pixels px = {pl->V + t * vs, 0, 1, 1, cnt, 0, 1, (int)pl->ldv,
                               pl->M + t * ms, pl->Np, 0, 0};
            igemm_run_ex(&px, 1, (size_t)pl->IC, pl->U + (size_t)t * pl->IC * pl->Np, pl->Np,
                         (int)pl->Np, NULL, 1, 0);
        }
        wino_output(tl, oh, ow, pl->OC, T0, cnt, pl->M, pl->Np, ms, pl->bp, relu);
    }
}

#endif
