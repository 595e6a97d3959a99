/* Convolution backward-weights for NEON: dw[kh][kw][i][o] += x[i] dy[o]
 * over every image and output position, o in 4-lane vectors (a rank-1
 * update per tap), scalar remainder; db[o] += dy[o]. */
#include "f32-conv-fwd/f32-conv-plain.h"
#include "f32-conv-bwd-filter/f32-conv-bwd-both-apart.h"
#include <arm_neon.h>
#include <string.h>

CONV_PLAIN_BWD_FILTER(neon, 4)
CONV_BWD_BOTH_APART(neon, 4)

void dacc_f32_conv_bwd_filter__neon(const dacc_conv_shape *s, dacc_conv_algo algo,
                                 const float *x, const float *dy, float *dw, float *db,
                                 float *scratch) {
    (void)algo; /* the query accepts direct only */
    (void)scratch;
    const int OC = s->oc, IC = s->ic;
    memset(dw, 0, sizeof(float) * (size_t)s->kh * s->kw * IC * OC);
    if (db) memset(db, 0, sizeof(float) * (size_t)OC);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                const float *dyp = dy + (((size_t)n * s->oh + oh) * s->ow + ow) * OC;
                if (db) {
                    int o = 0;
                    for (; o + 4 <= OC; o += 4) vst1q_f32(db + o, vaddq_f32(vld1q_f32(db + o), vld1q_f32(dyp + o)));
                    for (; o < OC; o++) db[o] += dyp[o];
                }
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                int kh1 = s->ih - h0 < s->kh ? s->ih - h0 : s->kh;
                int kw1 = s->iw - w0 < s->kw ? s->iw - w0 : s->kw;
                for (int kh = kh0; kh < kh1; kh++)
                    for (int kw = kw0; kw < kw1; kw++) {
                        const float *xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                        float *wp = dw + ((size_t)kh * s->kw + kw) * IC * OC;
                        for (int i = 0; i < IC; i++, wp += OC) {
                            const float xv = xp[i];
                            int o = 0;
                            for (; o + 8 <= OC; o += 8) {
                                vst1q_f32(wp + o, vfmaq_n_f32(vld1q_f32(wp + o), vld1q_f32(dyp + o), xv));
                                vst1q_f32(wp + o + 4, vfmaq_n_f32(vld1q_f32(wp + o + 4), vld1q_f32(dyp + o + 4), xv));
                            }
                            for (; o + 4 <= OC; o += 4)
                                vst1q_f32(wp + o, vfmaq_n_f32(vld1q_f32(wp + o), vld1q_f32(dyp + o), xv));
                            for (; o < OC; o++) wp[o] += xv * dyp[o];
                        }
                    }
            }
}
