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
 * chunking), and neither does the backward-data's result. */
#ifndef DACC_F32_CONV_BWD_BOTH_WINOGRAD_H
#define DACC_F32_CONV_BWD_BOTH_WINOGRAD_H

/* Shapes and algorithms the pass takes: F(4x4) for both, 8-lane vectors
 * (AVX2: with AVX-512 the pass measured no gain in training, 0.997x and
 * 1.004x the two ops apart at 2 and 1 threads, and alone it was slower,
 * docs/PERFORMANCE.md), an unpadded
 * layer with dx = dy + 2 per side and outputs a multiple of 4 (then the
 * weight gradients need no padded copy of the input: wgw_geometry's
 * need_pad is 0). */
static int wboth_fits(const dacc_conv_shape *s, dacc_conv_algo data_algo, dacc_conv_algo wgt_algo) {
    return VL == 8 && data_algo == DACC_CONV_WINO4 && wgt_algo == DACC_CONV_WINO4 && wbt_fits(s) &&
           s->oh > 0 && s->ow > 0 && s->oh % 4 == 0 && s->ow % 4 == 0 && s->n > 0 && s->ic > 0 &&
           s->oc > 0;
}

/* The work areas of one call: V and dU as wgw_run's, Q and M with
 * wbt_run's tile strides (P + 1 rows of one vector-padded channel row
 * each: the GEMM engine's pixel stride is a whole number of rows). */
typedef struct wboth_geom {
    wgw_geom g;
    size_t ldq, qtile, ldm, mtile, scratch;
} wboth_geom;

static wboth_geom wboth_geometry(const dacc_conv_shape *s) {
    wboth_geom b;
    b.g = wgw_geometry(s, 4);
#if defined(WBOTH_CHUNK) && WBOTH_CHUNK > 0 /* tiles per chunk, for experiments */
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

/* The work areas in scratch. */
typedef struct wboth_areas {
    float *V, *Q, *M, *U, *db;
} wboth_areas;

/* Each position's two GEMMs over the chunk, the second while Q's rows are
 * in L1: dU += V^T Q (weights), M = Q U (data). */
static void wboth_positions(const dacc_conv_shape *s, const wboth_geom *b, int cnt,
                            const float *packed, const wboth_areas *a) {
    const wgw_geom *g = &b->g;
    const size_t ustride = wino_pos_stride(s->oc, b->ldm);
    for (int t = 0; t < g->P; t++) {
        const float *Qt = a->Q + t * b->ldq;
        wgw_position(g, s->ic, cnt, a->V + t * g->ldv, g->vtile, Qt, b->qtile, a->U + t * g->us);
        wbt_position(Qt, b->qtile, b->ldq, cnt, s->oc, packed + t * ustride, a->M + t * b->ldm,
                     b->mtile, b->ldm);
    }
}

/* dx, dw and db (db may be NULL) of every image of s (wboth_fits), from
 * the backward-data's packed weights (wbt_pack). */
static void wboth_run(const dacc_conv_shape *s, const float *x, const float *dy,
                      const float *packed, float *dx, float *dw, float *db, float *scratch) {
    const wboth_geom b = wboth_geometry(s);
    const wgw_geom *g = &b.g;
    wboth_areas a;
    a.V = scratch, a.Q = a.V + g->chunk * g->vtile, a.M = a.Q + g->chunk * b.qtile;
    a.U = a.M + g->chunk * b.mtile, a.db = a.U + (size_t)g->P * g->us;
    memset(a.U, 0, sizeof(float) * g->P * g->us);
    memset(a.db, 0, sizeof(float) * g->Np);
    const wino_tiles tl = {x, (size_t)s->ih * s->iw * s->ic, (size_t)s->iw * s->ic, s->n, g->th, g->tw,
                           NULL};
    const size_t total = (size_t)s->n * g->th * g->tw;
    for (size_t T0 = 0; T0 < total; T0 += g->chunk) {
        const int cnt = (int)(total - T0 < g->chunk ? total - T0 : g->chunk);
        wgw_transforms(4, s, g, &tl, dy, T0, cnt, a.V, a.Q, b.qtile, db ? a.db : NULL);
        wboth_positions(s, &b, cnt, packed, &a);
        wbt_patches(s, &tl, T0, cnt, a.M, b.mtile, b.ldm, dx);
    }
    wgw_final(4, a.U, g->us, s->ic, s->oc, g->Np, dw);
    if (db) memcpy(db, a.db, sizeof(float) * s->oc);
}

#endif
