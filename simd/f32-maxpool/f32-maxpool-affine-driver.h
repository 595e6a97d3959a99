/* The outer loops of the AVX-512 and AVX2 maxpool_affine kernels, shared:
 * per image and output row, channel blocks of four vectors, each pooled
 * separably (pool_row_sep) when the row fits POOL_SEP_MAX_W columns, else
 * window by window (pool_block); one specialisation per block width and
 * min / no min. The including file defines POOL_FN (the kernel's name),
 * POOL_VL (lanes per vector), POOL_MASK_T and POOL_LANES(n) (the mask of
 * the first n lanes, n clipped to 0..POOL_VL), pool_row_sep and
 * pool_block. */
#define POOL_BLOCK_C (4 * POOL_VL) /* channels per block */

/* BODY(nb) for each block of up to four vectors of channels, nb of them
 * holding channels */
#define POOL_BLOCKS(BODY)                                                                  \
    for (int c0 = 0; c0 < C; c0 += POOL_BLOCK_C) {                                         \
        POOL_MASK_T m[4];                                                                  \
        const int left = C - c0;                                                           \
        for (int v = 0; v < 4; v++) m[v] = POOL_LANES(left - POOL_VL * v);                 \
        if (left > 2 * POOL_VL)                                                            \
            BODY(4);                                                                       \
        else if (left > POOL_VL)                                                           \
            BODY(2);                                                                       \
        else                                                                               \
            BODY(1);                                                                       \
    }
#define POOL_ROW(nb)                                                                       \
    do {                                                                                   \
        if (pool_needs_min(need_min, c0 / POOL_BLOCK_C))                                   \
            pool_row_sep(xi, s, oh, C, c0, nb, m, a, b, relu, 1, yrow);                    \
        else                                                                               \
            pool_row_sep(xi, s, oh, C, c0, nb, m, a, b, relu, 0, yrow);                    \
    } while (0)
#define POOL_BLOCK(nb)                                                                     \
    do {                                                                                   \
        if (pool_needs_min(need_min, c0 / POOL_BLOCK_C))                                   \
            pool_block(xi, s->iw, C, c0, nb, m, &pw, a, b, relu, 1, yo);                   \
        else                                                                               \
            pool_block(xi, s->iw, C, c0, nb, m, &pw, a, b, relu, 0, yo);                   \
    } while (0)

void POOL_FN(const dacc_pool_shape *s, const float *x, const float *a, const float *b, int relu,
             float *y) {
    const int C = s->c;
    const size_t in_plane = (size_t)s->ih * s->iw * C;
    unsigned char need_min[POOL_MAX_BLOCKS];
    pool_min_blocks(a, C, POOL_BLOCK_C, need_min);
    for (int n = 0; n < s->n; n++) {
        const float *xi = x + n * in_plane;
        for (int oh = 0; oh < s->oh && s->iw <= POOL_SEP_MAX_W; oh++) {
            float *yrow = y + ((size_t)n * s->oh + oh) * s->ow * C;
            POOL_BLOCKS(POOL_ROW);
        }
        for (int oh = 0; oh < s->oh && s->iw > POOL_SEP_MAX_W; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yo = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const pool_window pw = pool_window_at(s, oh, ow);
                if (pool_window_empty(&pw)) { /* window entirely in the padding */
                    for (int c = 0; c < C; c++) yo[c] = relu ? 0.0f : -INFINITY;
                    continue;
                }
                POOL_BLOCKS(POOL_BLOCK);
            }
    }
}
#undef POOL_BLOCK_C
#undef POOL_BLOCKS
#undef POOL_ROW
#undef POOL_BLOCK
