/* Max pooling forward/backward, channels in 4 lanes, four vectors (16
 * channels) per pass; remainder channels take the reference's scalar rule.
 * Forward: strict > (the first maximum wins), NaN always taken (the last NaN
 * wins), padding never wins: bit-identical to the reference. Backward, with
 * no scatter: each input pixel sums, in output order, the gradients of the
 * outputs whose window covers it and whose idx names it (the reference's
 * order of additions). It requires idx as written by maxpool_fwd. */
#include "dacc/kernels.h"
#include "f32-maxpool/pool-window.h"
#include <arm_neon.h>
#include <math.h>

static inline __attribute__((always_inline)) void
pool_block(const float *xi, int iw_, int C, int c0, int nb, const pool_window *pw, float *y, int32_t *idx) {
    const int h0 = pw->h0, w0 = pw->w0, kh0 = pw->kh0, kh1 = pw->kh1, kw0 = pw->kw0, kw1 = pw->kw1;
    static const int32_t iota_[4] = {0, 1, 2, 3};
    const int32x4_t iota = vld1q_s32(iota_);
    float32x4_t best[4];
    int32x4_t bi[4];
    int32_t j0 = ((h0 + kh0) * iw_ + (w0 + kw0)) * C + c0;
    for (int b = 0; b < nb; b++) {
        best[b] = vdupq_n_f32(-INFINITY);
        bi[b] = vaddq_s32(vdupq_n_s32(j0 + 4 * b), iota);
    }
    for (int kh = kh0; kh < kh1; kh++)
        for (int kw = kw0; kw < kw1; kw++) {
            int32_t j = ((h0 + kh) * iw_ + (w0 + kw)) * C + c0;
            for (int b = 0; b < nb; b++) {
                float32x4_t v = vld1q_f32(xi + j + 4 * b);
                uint32x4_t k = vorrq_u32(vcgtq_f32(v, best[b]), vmvnq_u32(vceqq_f32(v, v)));
                best[b] = vbslq_f32(k, v, best[b]);
                bi[b] = vbslq_s32(k, vaddq_s32(vdupq_n_s32(j + 4 * b), iota), bi[b]);
            }
        }
    for (int b = 0; b < nb; b++) {
        vst1q_f32(y + c0 + 4 * b, best[b]);
        vst1q_s32(idx + c0 + 4 * b, bi[b]);
    }
}

void dacc_f32_maxpool_fwd__neon(const dacc_pool_shape *s, const float *x, float *y, int32_t *idx) {
    const int C = s->c;
    const size_t in_plane = (size_t)s->ih * s->iw * C;
    for (int n = 0; n < s->n; n++) {
        const float *xi = x + n * in_plane;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                size_t o = (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const pool_window pw = pool_window_at(s, oh, ow);
                int c0 = 0;
                if (!pool_window_empty(&pw)) {
                    for (; c0 + 16 <= C; c0 += 16)
                        pool_block(xi, s->iw, C, c0, 4, &pw, y + o, idx + o);
                    for (; c0 + 4 <= C; c0 += 4)
                        pool_block(xi, s->iw, C, c0, 1, &pw, y + o, idx + o);
                }
                for (int c = c0; c < C; c++) { /* the reference's loop */
                    float best = -INFINITY;
                    int32_t bi = -1;
                    for (int kh = pw.kh0; kh < pw.kh1; kh++)
                        for (int kw = pw.kw0; kw < pw.kw1; kw++) {
                            int32_t j = ((pw.h0 + kh) * s->iw + (pw.w0 + kw)) * C + c;
                            float v = xi[j];
                            if (bi < 0) bi = j;
                            if (v > best || isnan(v)) {
                                best = v;
                                bi = j;
                            }
                        }
                    y[o + c] = best;
                    idx[o + c] = bi;
                }
            }
    }
}

void dacc_f32_maxpool_bwd__neon(const dacc_pool_shape *s, const float *dy, const int32_t *idx,
                                float *dx) {
    static const int32_t iota_[4] = {0, 1, 2, 3};
    const int32x4_t iota = vld1q_s32(iota_);
    const int C = s->c, K = s->k, S = s->stride, P = s->pad;
    const size_t out_plane = (size_t)s->oh * s->ow * C;
    for (int n = 0; n < s->n; n++) {
        const float *dyn = dy + n * out_plane;
        const int32_t *in = idx + n * out_plane;
        for (int ih = 0; ih < s->ih; ih++) {
            int lo = ih + P - K + 1, oh0 = lo <= 0 ? 0 : (lo + S - 1) / S;
            int oh1 = (ih + P) / S;
            if (oh1 > s->oh - 1) oh1 = s->oh - 1;
            for (int iw = 0; iw < s->iw; iw++) {
                int lw = iw + P - K + 1, ow0 = lw <= 0 ? 0 : (lw + S - 1) / S;
                int ow1 = (iw + P) / S;
                if (ow1 > s->ow - 1) ow1 = s->ow - 1;
                int32_t base = (ih * s->iw + iw) * C;
                float *dxp = dx + (size_t)n * s->ih * s->iw * C + base;
                int c0 = 0;
                for (; c0 + 4 <= C; c0 += 4) {
                    int32x4_t target = vaddq_s32(vdupq_n_s32(base + c0), iota);
                    float32x4_t acc = vdupq_n_f32(0.0f);
                    for (int oh = oh0; oh <= oh1; oh++)
                        for (int ow = ow0; ow <= ow1; ow++) {
                            size_t o = ((size_t)oh * s->ow + ow) * C + c0;
                            uint32x4_t hit = vceqq_s32(vld1q_s32(in + o), target);
                            acc = vaddq_f32(acc, vreinterpretq_f32_u32(vandq_u32(
                                                     hit, vreinterpretq_u32_f32(vld1q_f32(dyn + o)))));
                        }
                    vst1q_f32(dxp + c0, acc);
                }
                for (int c = c0; c < C; c++) {
                    float acc = 0.0f;
                    for (int oh = oh0; oh <= oh1; oh++)
                        for (int ow = ow0; ow <= ow1; ow++) {
                            size_t o = ((size_t)oh * s->ow + ow) * C + c;
                            if (in[o] == base + c) acc += dyn[o];
                        }
                    dxp[c] = acc;
                }
            }
        }
    }
}
