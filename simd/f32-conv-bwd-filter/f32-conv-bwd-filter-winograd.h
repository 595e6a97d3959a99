/* Winograd backward-weights for the x86 kernels, F(2x2,3x3) and
 * F(4x4,3x3), included by f32-conv-bwd-filter-tmpl.h after its GEMM tiles.
 * The forward computes an m x m output tile from its (m+2)^2 input patch d
 * as
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A,
 * so the gradient of the 3x3 kernel g, summed over tiles, is
 *   dg = G^T [ sum over tiles of (A dY A^T) .* (B^T d B) ] G.
 * Per chunk of tiles: each patch is transformed as in the forward
 * (V = B^T d B, f32-conv-winograd.h), each m x m dy tile to (m+2)^2
 * (Q = A dY A^T), and the P = (m+2)^2 positions are P GEMMs
 *   dU[t][ic][oc] += sum over tiles of V[tile][t][ic] * Q[tile][t][oc]
 * run by the direct kernel's register tiles with K = tiles instead of
 * pixels: per output pixel and channel pair 4 products with F(2x2) and
 * 2.25 with F(4x4) instead of the direct 9. After the last tile,
 * dg = G^T dU G once per (ic, oc) pair. Partial tiles (outputs not a
 * multiple of m) read zeros for the dy entries past the output, so their
 * patch values past it add nothing; the input is zero-padded into scratch
 * when the padding or a partial tile's patch leaves the image.
 *
 * F(2x2) sign: Q is computed with A's last row [0 -1] as [0 1] (no
 * negation per tile); that flips the sign of dU's row and column 3, which
 * the final G^T and G undo (their row 3 negated). F(4x4) uses A and G as
 * they are; its larger entries round more (tests/unit/test_conv_kernels.c,
 * test_wgrad_f64, measures both against float64). */
#ifndef DACC_F32_CONV_BWD_FILTER_WINOGRAD_H
#define DACC_F32_CONV_BWD_FILTER_WINOGRAD_H
/* The forward's input transform and tile walk; its forward-only drivers are
 * not used here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "f32-conv-fwd/f32-conv-winograd.h"
#pragma GCC diagnostic pop
#include "f32-conv-fwd/f32-conv-winograd-dy.h"

/* Tiles per chunk: V and Q of one position for the whole chunk stay in L1
 * while the position's register tiles pass over them (about 24 KB), and
 * the chunk's V and Q (all positions) in L2 (384 KB: F(2x2) at 32 + 32
 * channels keeps its 96 tiles; F(4x4) gets 42). */
#define WGW_L1_FLOATS 6144
#define WGW_L2_FLOATS 98304
/* Floats between consecutive tiles of V and Q: one cache line more than a
 * tile's P positions, so one position's rows of a chunk do not all fall
 * into the few L1 sets that a 2 or 4 KB stride maps to. */
static inline size_t wgw_tile_stride(size_t ld, int P) { return (size_t)P * ld + 16; }

/* The padded input and the work areas of one call with m x m tiles. */
typedef struct wgw_geom {
    int m, P, th, tw, sh, sw, need_pad, group;
    size_t img_floats, ldv, Np, vtile, qtile, us, chunk, scratch;
} wgw_geom;

static wgw_geom wgw_geometry(const dacc_conv_shape *s, int m) {
    wgw_geom g;
    g.m = m;
    g.P = (m + 2) * (m + 2);
    g.th = (s->oh + m - 1) / m;
    g.tw = (s->ow + m - 1) / m;
    g.sh = m * g.th + 2;
    g.sw = m * g.tw + 2;
    g.need_pad = s->pad > 0 || g.sh > s->ih || g.sw > s->iw;
    g.img_floats = (size_t)g.sh * g.sw * s->ic;
    g.group = 0;
    if (g.need_pad) { /* images per padded group: about 256 KB, at least one */
        g.group = (int)(65536 / g.img_floats);
        if (g.group < 1) g.group = 1;
        if (g.group > s->n) g.group = s->n;
    }
    g.ldv = round_up((size_t)s->ic, VL);
    g.Np = round_up((size_t)s->oc, VL);
    g.vtile = wgw_tile_stride(g.ldv, g.P);
    g.qtile = wgw_tile_stride(g.Np, g.P);
    g.us = wino_pos_stride(s->ic, g.Np);
    g.chunk = WGW_L1_FLOATS / (g.ldv + g.Np);
    const size_t l2 = WGW_L2_FLOATS / ((size_t)g.P * (g.ldv + g.Np));
    if (l2 < g.chunk) g.chunk = l2;
    if (g.chunk < 8) g.chunk = 8;
    g.scratch = (size_t)g.group * g.img_floats + g.chunk * (g.vtile + g.qtile) +
                (size_t)g.P * g.us + g.Np;
    return g;
}

/* G^T S on one 4-vector (S = diag(1, 1, 1, -1), see the sign note). */
CONV_INLINE void wgw_gt(const vf *u, vf r[3]) {
    const vf half = v_set1(0.5f), h = v_mul(v_add(u[1], u[2]), half);
    r[0] = v_add(u[0], h);
    r[1] = v_mul(v_sub(u[1], u[2]), half);
    r[2] = v_sub(h, u[3]);
}

/* F(4x4): G^T (3x6) on one 6-vector. */
CONV_INLINE void wgw4_gt(const vf *u, vf r[3]) {
    const vf s12 = v_add(u[1], u[2]), d21 = v_sub(u[2], u[1]);
    const vf s34 = v_add(u[3], u[4]), d34 = v_sub(u[3], u[4]);
    const vf sixth = v_set1(1.0f / 6.0f);
    r[0] = v_fma(u[0], v_set1(0.25f),
                 v_fma(s34, v_set1(1.0f / 24.0f), v_mul(s12, v_set1(-1.0f / 6.0f))));
    r[1] = v_fma(d21, sixth, v_mul(d34, v_set1(1.0f / 12.0f)));
    r[2] = v_fma(v_sub(s34, s12), sixth, u[5]);
}

/* dw[kh][kw][i][o] = (G^T dU G)[kh][kw] for every (i, o) (F(2x2): with
 * S, see the sign note); m a compile-time constant at each call. */
CONV_INLINE void wgw_final_m(const int m, const float *U, size_t us, int IC, int OC, size_t Np,
                             float *dw) {
    const int WN = m + 2;
    for (int i = 0; i < IC; i++)
        for (int o0 = 0; o0 < OC; o0 += VL) {
            const int n = OC - o0 < VL ? OC - o0 : VL;
            const float *u = U + (size_t)i * Np + o0;
            vf t[3][6], col[6], r[3]; /* t[kh][b] = (G^T dU)[kh][b] */
            WINO_UNROLL
            for (int b = 0; b < WN; b++) {
                WINO_UNROLL
                for (int a = 0; a < WN; a++) col[a] = v_load(u + (size_t)(WN * a + b) * us);
                if (m == 2) wgw_gt(col, r); else wgw4_gt(col, r);
                WINO_UNROLL
                for (int k = 0; k < 3; k++) t[k][b] = r[k];
            }
            WINO_UNROLL
            for (int k = 0; k < 3; k++) {
                if (m == 2) wgw_gt(t[k], r); else wgw4_gt(t[k], r);
                WINO_UNROLL
                for (int l = 0; l < 3; l++) {
                    float *d = dw + ((size_t)(3 * k + l) * IC + i) * OC + o0;
                    if (n == VL) v_store(d, r[l]);
                    else v_storen(d, r[l], n);
                }
            }
        }
}
static void wgw_final(int m, const float *U, size_t us, int IC, int OC, size_t Np, float *dw) {
    if (m == 2) wgw_final_m(2, U, us, IC, OC, Np, dw);
    else wgw_final_m(4, U, us, IC, OC, Np, dw);
}

/* One position's GEMM over a chunk of cnt tiles: Ut[ic][oc] += sum over
 * tiles of Vt[tile][ic] * Qt[tile][oc] (tiles vtile and qtile floats
 * apart), on the register tiles. */
static void wgw_position(const wgw_geom *g, int IC, int cnt, const float *Vt, size_t vtile,
                         const float *Qt, size_t qtile, float *Ut) {
    const int nvec = (int)(g->Np / VL);
    for (int v0 = 0; v0 < nvec;) {
        const int NR = nvec - v0 < WGRAD_NR_MAX ? nvec - v0 : WGRAD_NR_MAX;
        for (int m0 = 0; m0 < IC;) {
            const int MR = IC - m0 < wgrad_mr[NR] ? IC - m0 : wgrad_mr[NR];
            /* the cnt tiles as one row of "pixels", a tile apart */
            wgrad_args a = {1, 1, cnt, Vt + m0, 0, 0, vtile, Qt + (size_t)v0 * VL, 0, 0, qtile,
                            Ut + (size_t)m0 * g->Np + (size_t)v0 * VL, g->Np};
            wgrad_fns[NR][MR](&a);
            m0 += MR;
        }
        v0 += NR;
    }
}

/* Tiles T0 .. T0+cnt-1 of tl (dy from dyi, oh x ow x OC per image): each
 * patch's V and each dy tile's Q (tiles qtile floats apart, rows g->Np),
 * db summed unless NULL; m a compile-time constant at each call. */
CONV_INLINE void wgw_transforms(const int m, const dacc_conv_shape *s, const wgw_geom *g,
                                const wino_tiles *tl, const float *dyi, size_t T0, int cnt,
                                float *V, float *Q, size_t qtile, float *db) {
    const int IC = s->ic, OC = s->oc, oh = s->oh, ow = s->ow;
    const size_t orow = (size_t)ow * OC;
    wino_pos q = wino_pos_of(tl, T0);
    for (int j = 0; j < cnt; j++, wino_pos_next(tl, &q)) {
        const float *p = tl->src + q.img * tl->img_stride + (size_t)m * q.ty * tl->rs +
                         (size_t)m * q.tx * IC;
        wino_prefetch(p, m, tl->rs, IC);
        wino_input_tile(m, p, tl->rs, IC, V + j * g->vtile, g->ldv);
        const int nr = oh - m * q.ty < m ? oh - m * q.ty : m;
        const int nc = ow - m * q.tx < m ? ow - m * q.tx : m;
        const float *d = dyi + ((q.img * oh + (size_t)m * q.ty) * ow + (size_t)m * q.tx) * OC;
        wgw_prefetch_dy(d, m, orow, OC);
        wgw_dy_tile(m, d, orow, OC, nr, nc, Q + j * qtile, g->Np, db);
    }
}

/* Tiles T0 .. T0+cnt-1 of tl (whose dy starts at dyi, oh x ow x OC per
 * image): V and Q, then the P position GEMMs into U; m a compile-time
 * constant at each call (wgw_chunk). */
CONV_INLINE void wgw_chunk_m(const int m, const dacc_conv_shape *s, const wgw_geom *g,
                             const wino_tiles *tl, const float *dyi, size_t T0, int cnt,
                             float *V, float *Q, float *U, float *db) {
    const int IC = s->ic;
    wgw_transforms(m, s, g, tl, dyi, T0, cnt, V, Q, g->qtile, db);
    for (int t = 0; t < g->P; t++)
        wgw_position(g, IC, cnt, V + t * g->ldv, g->vtile, Q + t * g->Np, g->qtile, U + t * g->us);
}
static void wgw_chunk(const dacc_conv_shape *s, const wgw_geom *g, const wino_tiles *tl,
                      const float *dyi, size_t T0, int cnt, float *V, float *Q, float *U,
                      float *db) {
    if (g->m == 2) wgw_chunk_m(2, s, g, tl, dyi, T0, cnt, V, Q, U, db);
    else wgw_chunk_m(4, s, g, tl, dyi, T0, cnt, V, Q, U, db);
}

/* dw (and db) of the whole call with m x m tiles (2 or 4). */
static void wgw_run(const dacc_conv_shape *s, int m, const float *x, const float *dy, float *dw,
                    float *db, float *scratch) {
    const int IC = s->ic, OC = s->oc;
    const wgw_geom g = wgw_geometry(s, m);
    float *xs = scratch, *V = xs + (size_t)g.group * g.img_floats;
    float *Q = V + g.chunk * g.vtile, *U = Q + g.chunk * g.qtile;
    float *dbacc = U + (size_t)g.P * g.us;
    memset(U, 0, sizeof(float) * g.P * g.us);
    memset(dbacc, 0, sizeof(float) * g.Np);
    const int group = g.need_pad ? g.group : s->n;
    for (int i0 = 0; i0 < s->n; i0 += group) {
        const int cnt = s->n - i0 < group ? s->n - i0 : group;
        wino_tiles tl = {x + (size_t)i0 * s->ih * s->iw * IC, (size_t)s->ih * s->iw * IC,
                         (size_t)s->iw * IC, cnt, g.th, g.tw, NULL};
        if (g.need_pad) {
            conv_pad_images(s, x, i0, cnt, g.sh, g.sw, xs);
            tl.src = xs;
            tl.img_stride = g.img_floats;
            tl.rs = (size_t)g.sw * IC;
        }
        const float *dyi = dy + (size_t)i0 * s->oh * s->ow * OC;
        const size_t total = (size_t)cnt * g.th * g.tw;
        for (size_t T0 = 0; T0 < total; T0 += g.chunk) {
            const int c = (int)(total - T0 < g.chunk ? total - T0 : g.chunk);
            wgw_chunk(s, &g, &tl, dyi, T0, c, V, Q, U, db ? dbacc : NULL);
        }
    }
    wgw_final(m, U, g.us, IC, OC, g.Np, dw);
    if (db) memcpy(db, dbacc, sizeof(float) * OC);
}

#endif
