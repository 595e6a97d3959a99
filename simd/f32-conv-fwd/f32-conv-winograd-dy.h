/* The Winograd transform of dy tiles, Q = A dY A^T: an m x m tile of a
 * forward output's gradient to the (m+2)^2 transform positions. Shared by
 * the backward-weights (f32-conv-bwd-filter-winograd.h), whose Q meets the
 * transformed input patches, and the transposed backward-data
 * (f32-conv-bwd-data-winograd.h), whose Q meets the transformed weights.
 * Include after f32-conv-winograd.h. */
#ifndef DACC_F32_CONV_WINOGRAD_DY_H
#define DACC_F32_CONV_WINOGRAD_DY_H

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

/* F(4x4): A (6x4, the forward's A^T transposed) on one 4-vector. */
CONV_INLINE void wgw4_a(const vf y[4], vf r[6]) {
    const vf s02 = v_add(y[0], y[2]), s13 = v_add(y[1], y[3]);
    const vf t = v_fma(y[2], v_set1(4.0f), y[0]);
    const vf u = v_mul(v_fma(y[3], v_set1(4.0f), y[1]), v_set1(2.0f));
    r[0] = y[0];
    r[1] = v_add(s02, s13);
    r[2] = v_sub(s02, s13);
    r[3] = v_add(t, u);
    r[4] = v_sub(t, u);
    r[5] = y[3];
}

/* q[(6a+b)*qs + o0..] = (A dY A^T)[a][b] for the n channels from o0 of the
 * 4x4 dy tile at p (nr x nc of it inside the output; the rest read as
 * zero); db[o0..] += the tile's sum, (A dY A^T)[1][1]. */
CONV_INLINE void wgw4_dy_vec(const float *p, size_t orow, int OC, int o0, int n, int nr, int nc,
                             float *q, size_t qs, float *db) {
    const float *p0 = p + o0;
    vf t[4][6], y[4], r[6]; /* t[row][b] = (dY A^T)[row][b] */
    WINO_UNROLL
    for (int i = 0; i < 4; i++) {
        WINO_UNROLL
        for (int j = 0; j < 4; j++)
            y[j] = i < nr && j < nc ? wino_ld(p0 + i * orow + j * OC, n) : v_zero();
        wgw4_a(y, t[i]);
    }
    float *o = q + o0;
    WINO_UNROLL
    for (int b = 0; b < 6; b++) {
        WINO_UNROLL
        for (int i = 0; i < 4; i++) y[i] = t[i][b];
        wgw4_a(y, r);
        WINO_UNROLL
        for (int a = 0; a < 6; a++) v_store(o + (6 * a + b) * qs, r[a]);
        if (b == 1 && db) v_store(db + o0, v_add(v_load(db + o0), r[1]));
    }
}

/* Every channel of one m x m dy tile (m a compile-time constant); whole
 * vectors with plain loads (constant n, nr, nc on the path of whole
 * tiles), then a masked tail. */
CONV_INLINE void wgw_dy_vec_m(const int m, const float *p, size_t orow, int OC, int o0, int n,
                              int nr, int nc, float *q, size_t qs, float *db) {
    if (m == 2) wgw_dy_vec(p, orow, OC, o0, n, nr, nc, q, qs, db);
    else wgw4_dy_vec(p, orow, OC, o0, n, nr, nc, q, qs, db);
}
CONV_INLINE void wgw_dy_tile(const int m, const float *p, size_t orow, int OC, int nr, int nc,
                             float *q, size_t qs, float *db) {
    int o0 = 0;
    if (nr == m && nc == m)
        for (; o0 + VL <= OC; o0 += VL) wgw_dy_vec_m(m, p, orow, OC, o0, VL, m, m, q, qs, db);
    for (; o0 + VL <= OC; o0 += VL) wgw_dy_vec_m(m, p, orow, OC, o0, VL, nr, nc, q, qs, db);
    if (o0 < OC) wgw_dy_vec_m(m, p, orow, OC, o0, OC - o0, nr, nc, q, qs, db);
}

/* The dy rows of the tile WINO_PF_TILES ahead in its tile row, as
 * wino_prefetch does for the patches: dy too comes from beyond L2 (a batch
 * of 32 conv32_2 images: 2.4 MB), and without it the 32-image call took
 * ~1.25x as long per tile as the 16-image one. */
CONV_INLINE void wgw_prefetch_dy(const float *d, int m, size_t orow, int OC) {
    const float *pf = d + (size_t)WINO_PF_TILES * m * OC;
    for (int r = 0; r < m; r++)
        for (int l = 0; l < m * OC; l += 64 / (int)sizeof(float)) __builtin_prefetch(pf + r * orow + l);
}

#endif
