/* The 1-D transforms of Winograd F(5x5,3x3) on vectors of channels, for
 * f32-conv-winograd.h: 5x5 output tiles from 7x7 input patches, 49
 * products (1.96 per output against F(4x4)'s 2.25), interpolation points
 * 0, 1, -1, 2, -2, -1/2 and infinity. Used where 5 divides the output
 * (conv64_1's 10x10: 4 tiles per image against F(4x4)'s 9). The matrices
 * follow from Toom-Cook: A^T[i][j] = p_j^i, G[j][k] = p_j^k / prod_{l != j}
 * (p_j - p_l), and B^T solves A^T diag(G g) B^T = the 1-D correlation;
 * tests/unit/test_conv_kernels.c checks the result against float64. */
#ifndef DACC_F32_CONV_WINOGRAD_F5_H
#define DACC_F32_CONV_WINOGRAD_F5_H

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

#endif
