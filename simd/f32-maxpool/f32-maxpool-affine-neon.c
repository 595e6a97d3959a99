/* Eval-mode max pooling of an affine map (kernels.h), channels in 4 lanes,
 * four vectors (16 channels) per pass, then single vectors; remainder
 * channels take the reference's scalar rule. A running max and min per
 * lane, then max or min by the sign of a, one FMA and the optional ReLU. */
#include "dacc/kernels.h"
#include "f32-maxpool/pool-window.h"
#include <arm_neon.h>
#include <math.h>

static inline __attribute__((always_inline)) void
pool_block(const float *xi, int iw_, int C, int c0, int nb, const pool_window *pw, const float *a, const float *b, int relu, float *y) {
    float32x4_t mx[4], mn[4];
    _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        mx[v] = vdupq_n_f32(-INFINITY);
        mn[v] = vdupq_n_f32(INFINITY);
    }
    for (int kh = pw->kh0; kh < pw->kh1; kh++)
        for (int kw = pw->kw0; kw < pw->kw1; kw++) {
            const float *p = xi + ((size_t)(pw->h0 + kh) * iw_ + (pw->w0 + kw)) * C + c0;
            _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
                float32x4_t x = vld1q_f32(p + 4 * v);
                mx[v] = vmaxq_f32(mx[v], x);
                mn[v] = vminq_f32(mn[v], x);
            }
        }
    _Pragma("GCC unroll 4") for (int v = 0; v < nb; v++) {
        float32x4_t r = mx[v];
        if (a) {
            float32x4_t av = vld1q_f32(a + c0 + 4 * v), bv = vld1q_f32(b + c0 + 4 * v);
            uint32x4_t neg = vcltq_f32(av, vdupq_n_f32(0.0f));
            r = vfmaq_f32(bv, vbslq_f32(neg, mn[v], mx[v]), av);
        }
        if (relu) r = vmaxq_f32(r, vdupq_n_f32(0.0f));
        vst1q_f32(y + c0 + 4 * v, r);
    }
}

void dacc_f32_maxpool_affine__neon(const dacc_pool_shape *s, const float *x, const float *a,
                                   const float *b, int relu, float *y) {
    const int C = s->c;
    const size_t in_plane = (size_t)s->ih * s->iw * C;
    for (int n = 0; n < s->n; n++) {
        const float *xi = x + n * in_plane;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yo = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const pool_window pw = pool_window_at(s, oh, ow);
                if (pool_window_empty(&pw)) { /* window entirely in the padding */
                    for (int c = 0; c < C; c++) yo[c] = relu ? 0.0f : -INFINITY;
                    continue;
                }
                int c0 = 0;
                for (; c0 + 16 <= C; c0 += 16)
                    pool_block(xi, s->iw, C, c0, 4, &pw, a, b, relu, yo);
                for (; c0 + 4 <= C; c0 += 4)
                    pool_block(xi, s->iw, C, c0, 1, &pw, a, b, relu, yo);
                for (int c = c0; c < C; c++) { /* the reference's loop */
                    float mx = -INFINITY, mn = INFINITY;
                    for (int kh = pw.kh0; kh < pw.kh1; kh++)
                        for (int kw = pw.kw0; kw < pw.kw1; kw++) {
                            float v = xi[((size_t)(pw.h0 + kh) * s->iw + (pw.w0 + kw)) * C + c];
                            mx = v > mx ? v : mx;
                            mn = v < mn ? v : mn;
                        }
                    float v = a ? (a[c] >= 0 ? mx : mn) * a[c] + b[c] : mx;
                    yo[c] = relu && !(v > 0) ? 0.0f : v;
                }
            }
    }
}
