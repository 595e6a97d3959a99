/* The 1-D transforms of Winograd F(5x5,3x3) and F(6x6,3x3) on vectors of
 * channels, for f32-conv-winograd.h:
 *   F(5x5): 5x5 output tiles from 7x7 patches, 49 products (1.96 per
 *           output against F(4x4)'s 2.25), points 0, 1, -1, 2, -2, -1/2
 *           and infinity; where 5 divides the output (conv64_1's 10x10:
 *           4 tiles per image against F(4x4)'s 9);
 *   F(6x6): 6x6 output tiles from 8x8 patches, 64 products (1.78 per
 *           output), points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity; where
 *           6 divides the output (conv32_2's 24x24: 16 tiles per image
 *           against 36).
 * The matrices follow from Toom-Cook: A^T[i][j] = p_j^i, G[j][k] = p_j^k /
 * prod_{l != j} (p_j - p_l), and B^T solves A^T diag(G g) B^T = the 1-D
 * correlation; tests/unit/test_conv_kernels.c checks the results against
 * the direct sum. */
#ifndef DACC_F32_CONV_WINOGRAD_F56_H
#define DACC_F32_CONV_WINOGRAD_F56_H

/* r = C x for a constant R x 7 matrix C (at most 7 rows): the zero, one
 * and minus-one entries fold away once the loops are unrolled. */
#define WINO5_MATVEC(R, C, x, r)                                               \
    do {                                                                       \
        WINO_UNROLL for (int i_ = 0; i_ < (R); i_++) {                         \
            vf acc_ = v_zero();                                                \
            int first_ = 1;                                                    \
            WINO_UNROLL for (int j_ = 0; j_ < 7; j_++) {                       \
                const float c_ = (C)[i_][j_];                                  \
                if (c_ == 0.0f) continue;                                      \
                if (first_) acc_ = c_ == 1.0f ? (x)[j_] : v_mul((x)[j_], v_set1(c_)); \
                else if (c_ == 1.0f) acc_ = v_add(acc_, (x)[j_]);              \
                else if (c_ == -1.0f) acc_ = v_sub(acc_, (x)[j_]);             \
                else acc_ = v_fma((x)[j_], v_set1(c_), acc_);                  \
                first_ = 0;                                                    \
            }                                                                  \
            (r)[i_] = acc_;                                                    \
        }                                                                      \
    } while (0)

/* B^T, 7 x 7 */
static const float wino5_BT[7][7] = {
    {2.0f, 4.0f, -2.5f, -5.0f, 0.5f, 1.0f, 0.0f},  {0.0f, -2.0f, -6.0f, -3.5f, 1.5f, 1.0f, 0.0f},
    {0.0f, 2.0f, 2.0f, -4.5f, -0.5f, 1.0f, 0.0f},  {0.0f, -1.0f, -2.5f, 0.0f, 2.5f, 1.0f, 0.0f},
    {0.0f, 1.0f, 1.5f, -2.0f, -1.5f, 1.0f, 0.0f},  {0.0f, 4.0f, 0.0f, -5.0f, 0.0f, 1.0f, 0.0f},
    {0.0f, 2.0f, 4.0f, -2.5f, -5.0f, 0.5f, 1.0f},
};
/* G, 7 x 3 (padded to 7 columns for WINO5_MATVEC) */
static const float wino5_G[7][7] = {
    {1.0f / 2, 0.0f, 0.0f},
    {-1.0f / 9, -1.0f / 9, -1.0f / 9},
    {1.0f / 3, -1.0f / 3, 1.0f / 3},
    {1.0f / 60, 1.0f / 30, 1.0f / 15},
    {-1.0f / 36, 1.0f / 18, -1.0f / 9},
    {-32.0f / 45, 16.0f / 45, -8.0f / 45},
    {0.0f, 0.0f, 1.0f},
};

CONV_INLINE void wino5_bt(const vf d[7], vf r[7]) { WINO5_MATVEC(7, wino5_BT, d, r); }

/* g has 3 entries; the matrix's columns 3..6 are zero and never read */
CONV_INLINE void wino5_g(const vf g[3], vf r[7]) {
    vf x[7] = {g[0], g[1], g[2], g[2], g[2], g[2], g[2]};
    WINO5_MATVEC(7, wino5_G, x, r);
}

/* A^T = [1 1 1 1 1 1 0; 0 1 -1 2 -2 -1/2 0; 0 1 1 4 4 1/4 0;
 *        0 1 -1 8 -8 -1/8 0; 0 1 1 16 16 1/16 1], through the sums and
 * differences of the +-1 and +-2 columns */
CONV_INLINE void wino5_at(const vf m[7], vf r[5]) {
    const vf a = v_add(m[1], m[2]), b = v_sub(m[1], m[2]);
    const vf c = v_add(m[3], m[4]), d = v_sub(m[3], m[4]);
    r[0] = v_add(v_add(m[0], a), v_add(c, m[5]));
    r[1] = v_fma(d, v_set1(2.0f), v_fma(m[5], v_set1(-0.5f), b));
    r[2] = v_fma(c, v_set1(4.0f), v_fma(m[5], v_set1(0.25f), a));
    r[3] = v_fma(d, v_set1(8.0f), v_fma(m[5], v_set1(-0.125f), b));
    r[4] = v_fma(c, v_set1(16.0f), v_fma(m[5], v_set1(0.0625f), v_add(a, m[6])));
}

/* F(6x6): B^T = [-1 0 21/4 0 -21/4 0 1 0;
 *               0 1 1 -17/4 -17/4 1 1 0;  0 -1 1 17/4 -17/4 -1 1 0;
 *               0 1/2 1/4 -5/2 -5/4 2 1 0;  0 -1/2 1/4 5/2 -5/4 -2 1 0;
 *               0 2 4 -5/2 -5 1/2 1 0;  0 -2 4 5/2 -5 -1/2 1 0;
 *               0 -1 0 21/4 0 -21/4 0 1],
 * rows 1-6 in pairs: the even columns' sum plus or minus the odd ones' */
CONV_INLINE void wino6_bt(const vf d[8], vf r[8]) {
    const vf k525 = v_set1(5.25f), m425 = v_set1(-4.25f), m25 = v_set1(-2.5f);
    r[0] = v_fma(v_sub(d[2], d[4]), k525, v_sub(d[6], d[0]));
    r[7] = v_fma(v_sub(d[3], d[5]), k525, v_sub(d[7], d[1]));
    vf e = v_fma(d[4], m425, v_add(d[2], d[6])), o = v_fma(d[3], m425, v_add(d[1], d[5]));
    r[1] = v_add(e, o);
    r[2] = v_sub(e, o);
    e = v_fma(d[2], v_set1(0.25f), v_fma(d[4], v_set1(-1.25f), d[6]));
    o = v_fma(d[1], v_set1(0.5f), v_fma(d[3], m25, v_add(d[5], d[5])));
    r[3] = v_add(e, o);
    r[4] = v_sub(e, o);
    e = v_fma(d[2], v_set1(4.0f), v_fma(d[4], v_set1(-5.0f), d[6]));
    o = v_fma(d[1], v_set1(2.0f), v_fma(d[3], m25, v_mul(d[5], v_set1(0.5f))));
    r[5] = v_add(e, o);
    r[6] = v_sub(e, o);
}

/* F(6x6): G = [-1 0 0; -2/9 -2/9 -2/9; -2/9 2/9 -2/9; 1/90 1/45 2/45;
 *              1/90 -1/45 2/45; 32/45 16/45 8/45; 32/45 -16/45 8/45; 0 0 1] */
CONV_INLINE void wino6_g(const vf g[3], vf r[8]) {
    const vf s = v_add(g[0], g[2]), m29 = v_set1(-2.0f / 9);
    r[0] = v_sub(v_zero(), g[0]);
    r[1] = v_mul(v_add(s, g[1]), m29);
    r[2] = v_mul(v_sub(s, g[1]), m29);
    vf e = v_fma(g[0], v_set1(1.0f / 90), v_mul(g[2], v_set1(2.0f / 45))), o = v_mul(g[1], v_set1(1.0f / 45));
    r[3] = v_add(e, o);
    r[4] = v_sub(e, o);
    e = v_fma(g[0], v_set1(32.0f / 45), v_mul(g[2], v_set1(8.0f / 45)));
    o = v_mul(g[1], v_set1(16.0f / 45));
    r[5] = v_add(e, o);
    r[6] = v_sub(e, o);
    r[7] = g[2];
}

/* F(6x6): A^T[i] = [0^i 1 (-1)^i 2^i (-2)^i 2^-i (-2)^-i 0] (+1 at the end
 * of the last row), through the sums and differences of the pairs */
CONV_INLINE void wino6_at(const vf m[8], vf r[6]) {
    const vf a1 = v_add(m[1], m[2]), b1 = v_sub(m[1], m[2]);
    const vf a2 = v_add(m[3], m[4]), b2 = v_sub(m[3], m[4]);
    const vf a3 = v_add(m[5], m[6]), b3 = v_sub(m[5], m[6]);
    r[0] = v_add(v_add(m[0], a1), v_add(a2, a3));
    r[1] = v_fma(b2, v_set1(2.0f), v_fma(b3, v_set1(0.5f), b1));
    r[2] = v_fma(a2, v_set1(4.0f), v_fma(a3, v_set1(0.25f), a1));
    r[3] = v_fma(b2, v_set1(8.0f), v_fma(b3, v_set1(0.125f), b1));
    r[4] = v_fma(a2, v_set1(16.0f), v_fma(a3, v_set1(0.0625f), a1));
    r[5] = v_fma(b2, v_set1(32.0f), v_fma(b3, v_set1(0.03125f), v_add(b1, m[7])));
}

#endif
