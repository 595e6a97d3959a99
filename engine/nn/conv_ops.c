/* The engine's convolution ops: the kernel table's, or their polyphase
 * form for 5x5 stride-2 convolutions (conv_ops.h). */
#include "nn/conv_ops.h"
#include "nn/conv_algo.h"
#include <string.h>

/* Images per call of the 3x3 kernels: a call's input phases take at most
 * this many floats (1 MB; ConvPool's pool_1: 10 images, pool_2: 28), which
 * bounds the scratch. Backward-weights in Winograd form gains from longer
 * calls (pool_2, one tile per image: 2.0 ms per batch of 64 in one call
 * against 2.5 ms in three, AVX2), but 4 MB calls took 1.3 MB more
 * scratch per thread; the forward measured the same from 1 MB on. */
#define POLY_CHUNK_FLOATS (1 << 18)

int dacc_conv_poly_fits(const dacc_conv_shape *s) {
    return s->kh == 5 && s->kw == 5 && s->stride == 2 && s->pad >= 0 && s->pad < 5 &&
           s->oh >= 1 && s->ow >= 1 && s->ic >= 1 && s->oc >= 1;
}

dacc_conv_shape dacc_conv_poly_shape(const dacc_conv_shape *s) {
    dacc_conv_shape p = {s->n, s->oh + 2, s->ow + 2, 4 * s->ic, s->oh, s->ow, s->oc,
                         3, 3, 1, 0, s->relu};
    return p;
}

static size_t phase_floats(const dacc_conv_shape *p) { return (size_t)p->ih * p->iw * p->ic; }
static size_t w3_floats(const dacc_conv_shape *p) { return (size_t)9 * p->ic * p->oc; }
static size_t in_floats(const dacc_conv_shape *s) { return (size_t)s->ih * s->iw * s->ic; }
static size_t out_floats(const dacc_conv_shape *s) { return (size_t)s->oh * s->ow * s->oc; }

/* The 3x3 form of s for one call of at most *chunk images. */
static dacc_conv_shape chunk_shape(const dacc_conv_shape *s, int *chunk) {
    dacc_conv_shape p = dacc_conv_poly_shape(s);
    const size_t c = POLY_CHUNK_FLOATS / phase_floats(&p);
    *chunk = c < 1 ? 1 : c > (size_t)s->n ? (s->n > 0 ? s->n : 1) : (int)c;
    p.n = *chunk;
    return p;
}

/* ---- rearrangements (channels stay contiguous: one copy per pixel and
 * phase) ---- */

/* Phase q = 2 * (row parity) + (column parity) of the padded input, at
 * phase pixel (j, i): input pixel (2j + q/2 - pad, 2i + q%2 - pad). */
static void to_phases(const dacc_conv_shape *s, const dacc_conv_shape *p, int n, const float *x,
                      float *ph) {
    const int ic = s->ic;
    for (int b = 0; b < n; b++) {
        const float *xb = x + b * in_floats(s);
        float *pb = ph + b * phase_floats(p);
        for (int j = 0; j < p->ih; j++)
            for (int i = 0; i < p->iw; i++)
                for (int q = 0; q < 4; q++) {
                    const int h = 2 * j + q / 2 - s->pad, w = 2 * i + q % 2 - s->pad;
                    float *d = pb + ((size_t)j * p->iw + i) * p->ic + (size_t)q * ic;
                    if (h >= 0 && h < s->ih && w >= 0 && w < s->iw)
                        memcpy(d, xb + ((size_t)h * s->iw + w) * ic, sizeof(float) * ic);
                    else
                        memset(d, 0, sizeof(float) * ic);
                }
    }
}

/* Weights [kh][kw][ic][oc]: w3[a][b][q*ic + c] = w5[2a + q/2][2b + q%2][c],
 * zero past the 5x5 edge. */
static void split_weights(const dacc_conv_shape *s, const dacc_conv_shape *p, const float *w5,
                          float *w3) {
    const size_t row = sizeof(float) * s->oc;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int q = 0; q < 4; q++)
                for (int c = 0; c < s->ic; c++) {
                    const int kh = 2 * a + q / 2, kw = 2 * b + q % 2;
                    float *d = w3 + (((size_t)a * 3 + b) * p->ic + (size_t)q * s->ic + c) * s->oc;
                    if (kh < s->kh && kw < s->kw)
                        memcpy(d, w5 + (((size_t)kh * s->kw + kw) * s->ic + c) * s->oc, row);
                    else
                        memset(d, 0, row);
                }
}

/* The phases' gradient back to the input's: dx pixel (h, w) is phase
 * q = 2 * ((h + pad) % 2) + (w + pad) % 2 at ((h + pad) / 2, (w + pad) / 2);
 * the padding's gradients are dropped. */
static void from_phases(const dacc_conv_shape *s, const dacc_conv_shape *p, int n,
                        const float *ph, float *dx) {
    const int ic = s->ic;
    for (int b = 0; b < n; b++) {
        const float *pb = ph + b * phase_floats(p);
        float *db = dx + b * in_floats(s);
        for (int h = 0; h < s->ih; h++)
            for (int w = 0; w < s->iw; w++) {
                const int q = 2 * ((h + s->pad) % 2) + (w + s->pad) % 2;
                const size_t j = (size_t)(h + s->pad) / 2, i = (size_t)(w + s->pad) / 2;
                memcpy(db + ((size_t)h * s->iw + w) * ic, pb + (j * p->iw + i) * p->ic + (size_t)q * ic,
                       sizeof(float) * ic);
            }
    }
}

/* The gradient back: dw5[kh][kw][c] = dw3[kh/2][kw/2][(2*(kh%2) + kw%2)*ic + c]
 * (the zero taps' gradients are dropped); added to dw5 when add is set. */
static void fold_weights(const dacc_conv_shape *s, const dacc_conv_shape *p, const float *dw3,
                         int add, float *dw5) {
    for (int kh = 0; kh < s->kh; kh++)
        for (int kw = 0; kw < s->kw; kw++)
            for (int c = 0; c < s->ic; c++) {
                const int q = 2 * (kh % 2) + kw % 2;
                const size_t src = (((size_t)(kh / 2) * 3 + kw / 2) * p->ic + (size_t)q * s->ic + c);
                const float *g = dw3 + src * s->oc;
                float *d = dw5 + (((size_t)kh * s->kw + kw) * s->ic + c) * s->oc;
                if (add)
                    for (int o = 0; o < s->oc; o++) d[o] += g[o];
                else
                    memcpy(d, g, sizeof(float) * s->oc);
            }
}

/* ---- polyphase ops. Packed (forward, backward-data): the kernels'
 * packed 3x3 form. Scratch: one call's phases (backward-data: their
 * gradient), (backward-weights) its 3x3 gradients, then the kernels'
 * scratch; at packing, the split weights the 3x3 form is packed from. ---- */

typedef enum { POLY_FWD, POLY_BWD_DATA, POLY_BWD_FILTER } poly_op;

static int poly_query(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                      poly_op op, dacc_conv_need *need) {
    int chunk;
    if (!dacc_conv_poly_fits(s)) {
        k->conv_fwd_query(s, DACC_CONV_DIRECT, need);
        return -1;
    }
    const dacc_conv_shape p = chunk_shape(s, &chunk);
    const dacc_conv_algo in = dacc_conv_inner(a);
    dacc_conv_need n = {0, 0, 0};
    const int rc = op == POLY_FWD        ? k->conv_fwd_query(&p, in, &n)
                 : op == POLY_BWD_DATA ? k->conv_bwd_data_query(&p, in, &n)
                                       : k->conv_bwd_filter_query(&p, in, &n);
    const size_t grads = op == POLY_BWD_FILTER ? dacc_conv_lines(w3_floats(&p) + s->oc) : 0;
    const size_t run = dacc_conv_lines((size_t)chunk * phase_floats(&p)) + grads + n.scratch_size;
    need->lanes = n.lanes;
    need->packed_size = op == POLY_BWD_FILTER ? 0 : n.packed_size;
    need->scratch_size = op == POLY_BWD_FILTER || run >= w3_floats(&p) ? run : w3_floats(&p);
    return rc;
}

/* The weights split in scratch (w3), then packed for the forward (fwd) or
 * backward-data. */
static void poly_pack(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a, int fwd,
                      const float *w, const float *bias, float *packed, float *w3) {
    dacc_conv_shape p = dacc_conv_poly_shape(s);
    p.n = 1; /* the packed form does not depend on n (kernels.h) */
    split_weights(s, &p, w, w3);
    if (fwd) k->conv_fwd_pack(&p, dacc_conv_inner(a), w3, bias, packed);
    else k->conv_bwd_data_pack(&p, dacc_conv_inner(a), w3, packed);
}

static void poly_fwd(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                     const float *x, const float *packed, float *y, float *scratch) {
    int chunk;
    dacc_conv_shape p = chunk_shape(s, &chunk);
    float *ph = scratch, *ks = scratch + dacc_conv_lines((size_t)chunk * phase_floats(&p));
    for (int b = 0; b < s->n; b += chunk) {
        p.n = s->n - b < chunk ? s->n - b : chunk;
        to_phases(s, &p, p.n, x + b * in_floats(s), ph);
        k->conv_fwd(&p, dacc_conv_inner(a), ph, packed, y + b * out_floats(s), ks);
    }
}

static void poly_bwd_data(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                          const float *dy, const float *packed, float *dx, float *scratch) {
    int chunk;
    dacc_conv_shape p = chunk_shape(s, &chunk);
    float *ph = scratch, *ks = scratch + dacc_conv_lines((size_t)chunk * phase_floats(&p));
    for (int b = 0; b < s->n; b += chunk) {
        p.n = s->n - b < chunk ? s->n - b : chunk;
        k->conv_bwd_data(&p, dacc_conv_inner(a), dy + b * out_floats(s), packed, ph, ks);
        from_phases(s, &p, p.n, ph, dx + b * in_floats(s));
    }
}

/* Each call's 3x3 gradients are folded into dw (and db) and summed there
 * in call order. */
static void poly_bwd_filter(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                            const float *x, const float *dy, float *dw, float *db,
                            float *scratch) {
    int chunk;
    dacc_conv_shape p = chunk_shape(s, &chunk);
    const size_t nw = w3_floats(&p);
    float *ph = scratch, *g = ph + dacc_conv_lines((size_t)chunk * phase_floats(&p));
    float *ks = g + dacc_conv_lines(nw + s->oc);
    if (s->n <= 0) { /* no images: zero gradients */
        memset(dw, 0, sizeof(float) * s->kh * s->kw * s->ic * s->oc);
        if (db) memset(db, 0, sizeof(float) * s->oc);
    }
    for (int b = 0; b < s->n; b += chunk) {
        p.n = s->n - b < chunk ? s->n - b : chunk;
        to_phases(s, &p, p.n, x + b * in_floats(s), ph);
        k->conv_bwd_filter(&p, dacc_conv_inner(a), ph, dy + b * out_floats(s), g, g + nw, ks);
        fold_weights(s, &p, g, b > 0, dw);
        if (db && b == 0) memcpy(db, g + nw, sizeof(float) * s->oc);
        else if (db)
            for (int o = 0; o < s->oc; o++) db[o] += g[nw + o];
    }
}

/* ---- the ops ---- */

int dacc_conv_fwd_query(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                        dacc_conv_need *need) {
    return dacc_conv_is_poly(a) ? poly_query(k, s, a, POLY_FWD, need) : k->conv_fwd_query(s, a, need);
}

void dacc_conv_fwd_pack(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                        const float *w, const float *bias, float *packed, float *scratch) {
    if (dacc_conv_is_poly(a)) poly_pack(k, s, a, 1, w, bias, packed, scratch);
    else k->conv_fwd_pack(s, a, w, bias, packed);
}

void dacc_conv_fwd(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                   const float *x, const float *packed, float *y, float *scratch) {
    if (dacc_conv_is_poly(a)) poly_fwd(k, s, a, x, packed, y, scratch);
    else k->conv_fwd(s, a, x, packed, y, scratch);
}

int dacc_conv_bwd_data_query(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                             dacc_conv_need *need) {
    return dacc_conv_is_poly(a) ? poly_query(k, s, a, POLY_BWD_DATA, need)
                                : k->conv_bwd_data_query(s, a, need);
}

void dacc_conv_bwd_data_pack(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                             const float *w, float *packed, float *scratch) {
    if (dacc_conv_is_poly(a)) poly_pack(k, s, a, 0, w, NULL, packed, scratch);
    else k->conv_bwd_data_pack(s, a, w, packed);
}

void dacc_conv_bwd_data(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                        const float *dy, const float *packed, float *dx, float *scratch) {
    if (dacc_conv_is_poly(a)) poly_bwd_data(k, s, a, dy, packed, dx, scratch);
    else k->conv_bwd_data(s, a, dy, packed, dx, scratch);
}

int dacc_conv_bwd_filter_query(const dacc_kernels *k, const dacc_conv_shape *s,
                               dacc_conv_algo a, dacc_conv_need *need) {
    return dacc_conv_is_poly(a) ? poly_query(k, s, a, POLY_BWD_FILTER, need)
                                : k->conv_bwd_filter_query(s, a, need);
}

void dacc_conv_bwd_filter(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                          const float *x, const float *dy, float *dw, float *db, float *scratch) {
    if (dacc_conv_is_poly(a)) poly_bwd_filter(k, s, a, x, dy, dw, db, scratch);
    else k->conv_bwd_filter(s, a, x, dy, dw, db, scratch);
}

int dacc_conv_bwd_both_query(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo data_algo,
                             dacc_conv_algo wgt_algo, dacc_conv_need *need) {
    if (dacc_conv_is_poly(data_algo) || dacc_conv_is_poly(wgt_algo)) {
        need->packed_size = need->scratch_size = 0;
        return -1; /* the polyphase form rearranges dy and dx around each op */
    }
    return k->conv_bwd_both_query(s, data_algo, wgt_algo, need);
}

void dacc_conv_bwd_both(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo data_algo,
                        dacc_conv_algo wgt_algo, const float *x, const float *dy,
                        const float *packed, float *dx, float *dw, float *db, float *scratch) {
    if (dacc_conv_is_poly(data_algo) || dacc_conv_is_poly(wgt_algo)) { /* never fused: apart */
        dacc_conv_bwd_data(k, s, data_algo, dy, packed, dx, scratch);
        dacc_conv_bwd_filter(k, s, wgt_algo, x, dy, dw, db, scratch);
        return;
    }
    k->conv_bwd_both(s, data_algo, wgt_algo, x, dy, packed, dx, dw, db, scratch);
}
