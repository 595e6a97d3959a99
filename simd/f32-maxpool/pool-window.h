/* The part of a pooling window that lies inside the image, shared by the
 * pooling kernels of every ISA (plain C, no intrinsics): padding never
 * takes part in a max, so kernels loop over kh0..kh1 x kw0..kw1 only. */
#ifndef DACC_POOL_WINDOW_H
#define DACC_POOL_WINDOW_H
#include "dacc/kernels.h"

typedef struct pool_window {
    int h0, w0;           /* top-left corner in input coordinates (may be < 0) */
    int kh0, kh1, kw0, kw1; /* taps inside the image: [kh0, kh1) x [kw0, kw1) */
} pool_window;

static inline pool_window pool_window_at(const dacc_pool_shape *s, int oh, int ow) {
    pool_window w;
    w.h0 = oh * s->stride - s->pad;
    w.w0 = ow * s->stride - s->pad;
    w.kh0 = w.h0 < 0 ? -w.h0 : 0;
    w.kw0 = w.w0 < 0 ? -w.w0 : 0;
    w.kh1 = s->ih - w.h0 < s->k ? s->ih - w.h0 : s->k;
    w.kw1 = s->iw - w.w0 < s->k ? s->iw - w.w0 : s->k;
    return w;
}
/* A window entirely in the padding (possible when pad >= k - stride). */
static inline int pool_window_empty(const pool_window *w) {
    return w->kh0 >= w->kh1 || w->kw0 >= w->kw1;
}

/* Channel blocks whose scale a has a negative entry need the window's min
 * as well as its max (maxpool_affine); with batch-norm's usual positive
 * gammas most need only the max, half the work. need[k] for the block of
 * channels [k*block, (k+1)*block); blocks past POOL_MAX_BLOCKS always need
 * it. */
#define POOL_MAX_BLOCKS 64

/* Widest input row the AVX kernels pool separably (columns first, into a
 * stack buffer of this many columns x 4 vectors x max and min); wider rows
 * take the window-by-window path. */
#define POOL_SEP_MAX_W 64

/* Largest window height and output row the AVX maxpool_fwd kernels pool
 * rows first (a stack ring of SEP_KMAX x SEP_OWMAX winners and positions,
 * 32 KB with AVX-512); larger ones take the window-by-window path. */
#define SEP_KMAX 8
#define SEP_OWMAX 32
static inline void pool_min_blocks(const float *a, int C, int block, unsigned char *need) {
    for (int k = 0; k < POOL_MAX_BLOCKS && k * block < C; k++) {
        need[k] = 0;
        for (int c = k * block; c < C && c < (k + 1) * block; c++) need[k] |= a && a[c] < 0;
    }
}
static inline int pool_needs_min(const unsigned char *need, int k) {
    return k >= POOL_MAX_BLOCKS || need[k];
}

/* The AVX-512 kernels' mask of the first n of 16 lanes (n clipped to
 * 0..16), as a plain integer (it converts to __mmask16). */
static inline unsigned short pool_lanes16(int n) {
    return n >= 16 ? (unsigned short)0xffff : n <= 0 ? (unsigned short)0 : (unsigned short)((1u << n) - 1u);
}
#endif
