/* The rows-first max-pool forward of the AVX-512 and AVX2 maxpool_fwd
 * kernels, shared: each input row's winner per output column (value and
 * position h * iw + w), kept in a stack ring of k rows, then each output
 * the reference's rule over its rows' winners in row order. That equals
 * the window-order scan: the first maximum of the first row holding the
 * maximum, or the last NaN of the last row holding a NaN.
 *
 * The including file defines, for its vector width:
 *   POOL_VL              lanes per vector
 *   POOL_VF, POOL_VI     float and int32 vector types; POOL_MASK_T a lane mask
 *   POOL_LANES(n)        the mask of the first n lanes (n clipped to 0..VL)
 *   POOL_LOAD(m, full, p)  load the lanes of m from p (others zero); full:
 *                        m is every lane (a constant here, so an ISA whose
 *                        masked moves are slow, AVX2 on AMD, can use plain ones)
 *   POOL_STORE_F(p, m, full, v), POOL_STORE_I(p, m, full, v)   store the lanes of m
 *   POOL_SET1_F(x), POOL_SET1_I(x)                 broadcast
 *   POOL_INDEX(pos, C, c) pos * C + c + lane, per lane
 *   POOL_TAKE(best, pos, v, p)  take (v, p) where v > best or v is NaN
 * and gets pool_rows_fits(s) and pool_rows(s, x, y, idx), the whole batch. */

#define POOL_ROWS_INLINE static inline __attribute__((always_inline))

/* Input row h of one channel vector: each output column's winner over its
 * taps in that row. */
POOL_ROWS_INLINE void pool_row(const float *xi, const dacc_pool_shape *s, int h, int c, POOL_MASK_T m,
                              const int full, POOL_VF *rv, POOL_VI *rp) {
    const size_t C = (size_t)s->c;
    const float *row = xi + (size_t)h * s->iw * C + c;
    for (int ow = 0; ow < s->ow; ow++) {
        const pool_window pw = pool_window_at(s, 0, ow);
        if (pw.kw0 >= pw.kw1) continue; /* columns entirely in the padding */
        int w = pw.w0 + pw.kw0;
        POOL_VF best = POOL_LOAD(m, full, row + w * C);
        POOL_VI pos = POOL_SET1_I(h * s->iw + w);
        for (w++; w < pw.w0 + pw.kw1; w++) {
            const POOL_VF v = POOL_LOAD(m, full, row + w * C);
            POOL_TAKE(best, pos, v, POOL_SET1_I(h * s->iw + w));
        }
        rv[ow] = best;
        rp[ow] = pos;
    }
}

/* One output row of one channel vector from the ring slots of its input
 * rows (slot[0..nrows)). */
POOL_ROWS_INLINE void pool_out_row(const dacc_pool_shape *s, int oh, int c, POOL_MASK_T m, const int full,
                                  POOL_VF (*rv)[SEP_OWMAX], POOL_VI (*rp)[SEP_OWMAX], const int *slot,
                                  int nrows, float *yi, int32_t *ii) {
    for (int ow = 0; ow < s->ow; ow++) {
        const size_t o = ((size_t)oh * s->ow + ow) * s->c + c;
        const pool_window pw = pool_window_at(s, oh, ow);
        if (pool_window_empty(&pw)) {
            POOL_STORE_F(yi + o, m, full, POOL_SET1_F(-INFINITY));
            POOL_STORE_I(ii + o, m, full, POOL_SET1_I(-1));
            continue;
        }
        POOL_VF best = rv[slot[0]][ow];
        POOL_VI pos = rp[slot[0]][ow];
        for (int j = 1; j < nrows; j++) POOL_TAKE(best, pos, rv[slot[j]][ow], rp[slot[j]][ow]);
        POOL_STORE_F(yi + o, m, full, best);
        POOL_STORE_I(ii + o, m, full, POOL_INDEX(pos, s->c, c));
    }
}

/* One image, channels c..c+VL-1 (masked by m): each input row once. */
POOL_ROWS_INLINE void pool_image_rows(const dacc_pool_shape *s, const float *xi, int c, POOL_MASK_T m,
                                     const int full, float *yi, int32_t *ii) {
    POOL_VF rv[SEP_KMAX][SEP_OWMAX];
    POOL_VI rp[SEP_KMAX][SEP_OWMAX];
    const int K = s->k;
    int next = 0; /* rows below this are in the ring (or skipped) */
    for (int oh = 0; oh < s->oh; oh++) {
        const pool_window r = pool_window_at(s, oh, 0);
        const int a = r.h0 + r.kh0, b = r.h0 + r.kh1;
        for (int h = next > a ? next : a; h < b; h++) pool_row(xi, s, h, c, m, full, rv[h % K], rp[h % K]);
        if (b > next) next = b;
        int slot[SEP_KMAX]; /* ring slots of rows a..b-1 */
        for (int h = a; h < b; h++) slot[h - a] = h % K;
        pool_out_row(s, oh, c, m, full, rv, rp, slot, b - a, yi, ii);
    }
}

/* Whether the shape fits the ring; if so pool_rows does the whole batch. */
static inline int pool_rows_fits(const dacc_pool_shape *s) {
    return s->k <= SEP_KMAX && s->ow <= SEP_OWMAX;
}

static void pool_rows(const dacc_pool_shape *s, const float *x, float *y, int32_t *idx) {
    const size_t in_plane = (size_t)s->ih * s->iw * s->c, out_plane = (size_t)s->oh * s->ow * s->c;
    for (int n = 0; n < s->n; n++)
        for (int c = 0; c < s->c; c += POOL_VL) {
            const float *xi = x + n * in_plane;
            float *yi = y + n * out_plane;
            int32_t *ii = idx + n * out_plane;
            if (s->c - c >= POOL_VL)
                pool_image_rows(s, xi, c, POOL_LANES(POOL_VL), 1, yi, ii);
            else
                pool_image_rows(s, xi, c, POOL_LANES(s->c - c), 0, yi, ii);
        }
}
