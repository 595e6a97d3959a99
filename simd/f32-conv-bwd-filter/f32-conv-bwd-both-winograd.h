/* Backward-data and backward-weights of one unpadded 3x3 layer in one pass
 * over dy's F(4x4) tiles, for the x86 kernels (included by
 * f32-conv-bwd-filter-tmpl.h after the two ops' Winograd headers). Both
 * ops transform each 4x4 dy tile the same way, Q = A dY A^T
 * (f32-conv-winograd-dy.h): the weight gradients meet it with the
 * transformed input patch (dU += V^T Q, f32-conv-bwd-filter-winograd.h),
 * the transposed backward-data with the transformed weights (M = Q U,
 * then B M B^T into dx, f32-conv-bwd-data-winograd.h). Apart, each op
 * reads dy and transforms it; here one Q per tile serves both, and each
 * position's Q rows are still in L1 when the second GEMM reads them.
 *
 * Same bits as the two ops apart: Q comes from the same code; the weight
 * GEMMs add each tile in turn into dU (its bits do not depend on the
 * chunking), and neither does the backward-data's result. Shapes: what both ops take in F(4x4) (wbt_fits) with outputs
 * a multiple of 4 per side, so that the weight gradients need no padded
 * copy of the input (wgw_geometry's need_pad). */
#ifndef DACC_F32_CONV_BWD_BOTH_WINOGRAD_H
#define DACC_F32_CONV_BWD_BOTH_WINOGRAD_H

static int wboth_fits(const dacc_conv_shape *s, dacc_conv_algo data_algo, dacc_conv_algo wgt_algo) {
    return data_algo == DACC_CONV_WINO4 && wgt_algo == DACC_CONV_WINO4 && wbt_fits(s) &&
           s->oh % 4 == 0 && s->ow % 4 == 0 && s->n > 0 && s->ic > 0 && s->oc > 0 &&
           !wgw_geometry(s, 4).need_pad;
}

/* The work areas of one call: V and dU as wgw_run's, Q and
 * M with wbt_run's tile strides (P + 1 rows of one vector-padded channel
 * row each: the GEMM engine's pixel stride is a whole number of rows). */
typedef struct wboth_geom {
    wgw_geom g;
    size_t ldq, qtile, ldm, mtile, scratch;
} wboth_geom;

static wboth_geom wboth_geometry(const dacc_conv_shape *s) {
    wboth_geom b;
    b.g = wgw_geometry(s, 4);
#ifdef WBOTH_CHUNK /* experiments */
    b.g.chunk = WBOTH_CHUNK;
#endif
    const size_t R = wino_tile_rows((size_t)b.g.P);
    b.ldq = b.g.Np; /* oc rounded up to the vector width */
    b.qtile = R * b.ldq;
    b.ldm = b.g.ldv; /* ic rounded up */
    b.mtile = R * b.ldm;
    b.scratch = b.g.chunk * (b.g.vtile + b.qtile + b.mtile) + (size_t)b.g.P * b.g.us + b.g.Np;
    return b;
}

/* dx, dw and db (db may be NULL) of every image of s (wboth_fits), from
 * the backward-data's packed weights (wbt_pack). */
static void wboth_run(const dacc_conv_shape *s, const float *x, const float *dy,
                      const float *packed, float *dx, float *dw, float *db, float *scratch) {
    const int IC = s->ic, OC = s->oc;
    const wboth_geom b = wboth_geometry(s);
    const wgw_geom *g = &b.g;
    float *V = scratch, *Q = V + g->chunk * g->vtile, *M = Q + g->chunk * b.qtile;
    float *U = M + g->chunk * b.mtile, *dbacc = U + (size_t)g->P * g->us;
    memset(U, 0, sizeof(float) * g->P * g->us);
    memset(dbacc, 0, sizeof(float) * g->Np);
    const wino_tiles tl = {x, (size_t)s->ih * s->iw * IC, (size_t)s->iw * IC, s->n, g->th, g->tw,
                           NULL};
    const size_t orow = (size_t)s->ow * OC, xrow = (size_t)s->iw * IC;
    const size_t total = (size_t)s->n * g->th * g->tw, ustride = wino_pos_stride(OC, b.ldm);
    for (size_t T0 = 0; T0 < total; T0 += g->chunk) {
        const int cnt = (int)(total - T0 < g->chunk ? total - T0 : g->chunk);
        wino_pos q = wino_pos_of(&tl, T0);
        for (int j = 0; j < cnt; j++, wino_pos_next(&tl, &q)) {
            const float *p = x + q.img * tl.img_stride + 4 * (size_t)q.ty * tl.rs + 4 * (size_t)q.tx * IC;
            wino_prefetch(p, 4, tl.rs, IC);
            wino_input_tile(4, p, tl.rs, IC, V + j * g->vtile, g->ldv);
            const float *d = dy + ((q.img * s->oh + 4 * (size_t)q.ty) * s->ow + 4 * (size_t)q.tx) * OC;
            wgw_prefetch_dy(d, 4, orow, OC);
            wgw_dy_tile(4, d, orow, OC, 4, 4, Q + j * b.qtile, b.ldq, db ? dbacc : NULL);
        }
        for (int t = 0; t < g->P; t++) {
            const float *Qt = Q + t * b.ldq;
            wgw_position(g, IC, cnt, V + t * g->ldv, g->vtile, Qt, b.qtile, U + t * g->us);
            igemm_pixels px = {Qt, 0, 1, 1, cnt, 0, (int)(b.qtile / b.ldq), (int)b.ldq,
                               M + t * b.ldm, b.mtile, 0, 0};
            igemm_run_ex(&px, 1, (size_t)OC, packed + t * ustride, b.ldm, (int)b.ldm, NULL, 1, 0);
        }
        q = wino_pos_of(&tl, T0);
        for (int j = 0; j < cnt; j++, wino_pos_next(&tl, &q)) {
            float *dst = dx + ((q.img * s->ih + 4 * (size_t)q.ty) * s->iw + 4 * (size_t)q.tx) * IC;
            const int nr = s->ih - 4 * q.ty < 6 ? s->ih - 4 * q.ty : 6;
            const int nc = s->iw - 4 * q.tx < 6 ? s->iw - 4 * q.tx : 6;
            wbt_patch_tile(M + j * b.mtile, b.ldm, IC, nr, nc, q.ty > 0, q.tx > 0, dst, xrow);
        }
    }
    wgw_final(4, U, g->us, IC, OC, g->Np, dw);
    if (db) memcpy(db, dbacc, sizeof(float) * OC);
}

#endif
