/* Winograd F(2x2,3x3) backward-weights for the x86 kernels, included by
 * f32-conv-bwd-filter-tmpl.h after its GEMM tiles. The forward computes a
 * 2x2 output tile from its 4x4 input patch d as
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A,
 * so the gradient of the 3x3 kernel g, summed over tiles, is
 *   dg = G^T [ sum over tiles of (A dY A^T) .* (B^T d B) ] G.
 * Per chunk of tiles: each patch is transformed as in the forward
 * (V = B^T d B, f32-conv-winograd.h), each 2x2 dy tile to 4x4
 * (Q = A dY A^T), and the 16 positions are 16 GEMMs
 *   dU[t][ic][oc] += sum over tiles of V[tile][t][ic] * Q[tile][t][oc]
 * run by the direct kernel's register tiles with K = tiles instead of
 * pixels: 16 products per tile and channel pair instead of 4 x 9 = 36.
 * After the last tile, dg = G^T dU G once per (ic, oc) pair. Partial
 * tiles (odd output sizes) read zeros for the dy entries past the output,
 * so their patch values past it add nothing; the input is zero-padded into
 * scratch when the padding or a partial tile's patch leaves the image.
 *
 * Sign: Q is computed with A's last row [0 -1] as [0 1] (no negation per
 * tile); that flips the sign of dU's row and column 3, which the final G^T
 * and G undo (their row 3 negated). */
#ifndef DACC_F32_CONV_BWD_FILTER_WINOGRAD_H
#define DACC_F32_CONV_BWD_FILTER_WINOGRAD_H
/* The forward's input transform and tile walk; its forward-only drivers are
 * not used here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "f32-conv-fwd/f32-conv-winograd.h"
#pragma GCC diagnostic pop

/* Tiles per chunk: V and Q of one position for the whole chunk stay in L1
 * while the position's register tiles pass over them (about 24 KB). */
#define WGW_L1_FLOATS 6144
/* Floats between consecutive tiles of V and Q: one cache line more than a
 * tile's 16 positions, so one position's rows of a chunk do not all fall
 * into the few L1 sets that a 2 or 4 KB stride maps to. */
static inline size_t wgw_tile_stride(size_t ld) { return 16 * ld + 16; }

/* The padded input and the work areas of one call. */
typedef struct wgw_geom {
    int th, tw, sh, sw, need_pad, group;
    size_t img_floats, ldv, Np, vtile, qtile, us, chunk, scratch;
} wgw_geom;

static wgw_geom wgw_geometry(const dacc_conv_shape *s) {
    wgw_geom g;
    g.th = (s->oh + 1) / 2;
    g.tw = (s->ow + 1) / 2;
    g.sh = 2 * g.th + 2;
    g.sw = 2 * g.tw + 2;
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
    g.vtile = wgw_tile_stride(g.ldv);
    g.qtile = wgw_tile_stride(g.Np);
    g.us = wino_pos_stride(s->ic, g.Np);
    g.chunk = WGW_L1_FLOATS / (g.ldv + g.Np);
    if (g.chunk < 8) g.chunk = 8;
    g.scratch = (size_t)g.group * g.img_floats + g.chunk * (g.vtile + g.qtile) + 16 * g.us + g.Np;
    return g;
}

/* A' (A with its last row negated) on one dy row or column pair. */
CONV_INLINE void wgw_a(vf y0, vf y1, vf r[4]) {
    r[0] = y0;
    r[1] = v_add(y0, y1);
    r[2] = v_sub(y0, y1);
    r[3] = y1;
}

/* q[(4a+b)*qs + o0..] = (A' dY A'^T)[a][b] for the n channels from o0 of
 * the dy tile at p (nr x nc of its 2x2 inside the output; the rest read as
 * zero); db[o0..] += the tile's sum, (A' dY A'^T)[1][1]. */
CONV_INLINE void wgw_dy_vec(const float *p, size_t orow, int OC, int o0, int n, int nr, int nc,
                            float *q, size_t qs, float *db) {
    const float *p0 = p + o0;
    const vf z = v_zero();
    const vf y00 = wino_ld(p0, n), y01 = nc > 1 ? wino_ld(p0 + OC, n) : z;
    const vf y10 = nr > 1 ? wino_ld(p0 + orow, n) : z;
    const vf y11 = nr > 1 && nc > 1 ? wino_ld(p0 + orow + OC, n) : z;
    vf r0[4], r1[4], c[4];
    wgw_a(y00, y01, r0);
    wgw_a(y10, y11, r1);
    float *o = q + o0;
    WINO_UNROLL
    for (int b = 0; b < 4; b++) {
        wgw_a(r0[b], r1[b], c);
        WINO_UNROLL
        for (int a = 0; a < 4; a++) v_store(o + (4 * a + b) * qs, c[a]);
        if (b == 1 && db) v_store(db + o0, v_add(v_load(db + o0), c[1]));
    }
}

/* Every channel of one dy tile; whole vectors with plain loads (constant
 * n, nr, nc on the path of whole tiles), then a masked tail. */
CONV_INLINE void wgw_dy_tile(const float *p, size_t orow, int OC, int nr, int nc, float *q,
                             size_t qs, float *db) {
    int o0 = 0;
    if (nr == 2 && nc == 2)
        for (; o0 + VL <= OC; o0 += VL) wgw_dy_vec(p, orow, OC, o0, VL, 2, 2, q, qs, db);
    for (; o0 + VL <= OC; o0 += VL) wgw_dy_vec(p, orow, OC, o0, VL, nr, nc, q, qs, db);
    if (o0 < OC) wgw_dy_vec(p, orow, OC, o0, OC - o0, nr, nc, q, qs, db);
}

/* The dy rows of the tile WINO_PF_TILES ahead in its tile row, as
 * wino_prefetch does for the patches: dy too comes from beyond L2 (a batch
 * of 32 conv32_2 images: 2.4 MB), and without it the 32-image call took
 * ~1.25x as long per tile as the 16-image one. */
CONV_INLINE void wgw_prefetch_dy(const float *d, size_t orow, int OC) {
    const float *pf = d + (size_t)WINO_PF_TILES * 2 * OC;
    for (int r = 0; r < 2; r++)
        for (int l = 0; l < 2 * OC; l += 64 / (int)sizeof(float)) __builtin_prefetch(pf + r * orow + l);
}

/* G^T S on one 4-vector (S = diag(1, 1, 1, -1), see the sign note). */
CONV_INLINE void wgw_gt(const vf u[4], vf r[3]) {
    const vf half = v_set1(0.5f), h = v_mul(v_add(u[1], u[2]), half);
    r[0] = v_add(u[0], h);
    r[1] = v_mul(v_sub(u[1], u[2]), half);
    r[2] = v_sub(h, u[3]);
}

/* dw[kh][kw][i][o] = (G^T S dU S G)[kh][kw] for every (i, o). */
static void wgw_final(const float *U, size_t us, int IC, int OC, size_t Np, float *dw) {
    for (int i = 0; i < IC; i++)
        for (int o0 = 0; o0 < OC; o0 += VL) {
            const int n = OC - o0 < VL ? OC - o0 : VL;
            const float *u = U + (size_t)i * Np + o0;
            vf t[3][4], col[4], r[3]; /* t[kh][b] = (G^T S dU)[kh][b] */
            WINO_UNROLL
            for (int b = 0; b < 4; b++) {
                WINO_UNROLL
                for (int a = 0; a < 4; a++) col[a] = v_load(u + (size_t)(4 * a + b) * us);
                wgw_gt(col, r);
                WINO_UNROLL
                for (int k = 0; k < 3; k++) t[k][b] = r[k];
            }
            WINO_UNROLL
            for (int k = 0; k < 3; k++) {
                wgw_gt(t[k], r);
                WINO_UNROLL
                for (int l = 0; l < 3; l++) {
                    float *d = dw + ((size_t)(3 * k + l) * IC + i) * OC + o0;
                    if (n == VL) v_store(d, r[l]);
                    else v_storen(d, r[l], n);
                }
            }
        }
}

/* Tiles T0 .. T0+cnt-1 of tl (whose dy starts at dyi, oh x ow x OC per
 * image): V and Q, then the 16 position GEMMs into U. */
static void wgw_chunk(const dacc_conv_shape *s, const wgw_geom *g, const wino_tiles *tl,
                      const float *dyi, size_t T0, int cnt, float *V, float *Q, float *U,
                      float *db) {
    const int IC = s->ic, OC = s->oc, oh = s->oh, ow = s->ow;
    const size_t orow = (size_t)ow * OC;
    wino_pos q = wino_pos_of(tl, T0);
    for (int j = 0; j < cnt; j++, wino_pos_next(tl, &q)) {
        const float *p = tl->src + q.img * tl->img_stride + 2 * q.ty * tl->rs + (size_t)2 * q.tx * IC;
        wino_prefetch(p, 2, tl->rs, IC);
        wino_input_tile(2, p, tl->rs, IC, V + j * g->vtile, g->ldv);
        const int nr = oh - 2 * q.ty < 2 ? 1 : 2, nc = ow - 2 * q.tx < 2 ? 1 : 2;
        const float *d = dyi + ((q.img * oh + (size_t)2 * q.ty) * ow + (size_t)2 * q.tx) * OC;
        wgw_prefetch_dy(d, orow, OC);
        wgw_dy_tile(d, orow, OC, nr, nc, Q + j * g->qtile, g->Np, db);
    }
    const int nvec = (int)(g->Np / VL);
    for (int t = 0; t < 16; t++)
        for (int v0 = 0; v0 < nvec;) {
            const int NR = nvec - v0 < WGRAD_NR_MAX ? nvec - v0 : WGRAD_NR_MAX;
            for (int m0 = 0; m0 < IC;) {
                const int MR = IC - m0 < wgrad_mr[NR] ? IC - m0 : wgrad_mr[NR];
                /* the cnt tiles as one row of "pixels", a tile apart */
                wgrad_args a = {1, 1, cnt, V + t * g->ldv + m0, 0, 0, g->vtile,
                                Q + t * g->Np + (size_t)v0 * VL, 0, 0, g->qtile,
                                U + t * g->us + (size_t)m0 * g->Np + (size_t)v0 * VL, g->Np};
                wgrad_fns[NR][MR](&a);
                m0 += MR;
            }
            v0 += NR;
        }
}

static void wgw_run(const dacc_conv_shape *s, const float *x, const float *dy, float *dw,
                    float *db, float *scratch) {
    const int IC = s->ic, OC = s->oc;
    const wgw_geom g = wgw_geometry(s);
    float *xs = scratch, *V = xs + (size_t)g.group * g.img_floats;
    float *Q = V + g.chunk * g.vtile, *U = Q + g.chunk * g.qtile, *dbacc = U + 16 * g.us;
    memset(U, 0, sizeof(float) * 16 * g.us);
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
    wgw_final(U, g.us, IC, OC, g.Np, dw);
    if (db) memcpy(db, dbacc, sizeof(float) * OC);
}

#endif
