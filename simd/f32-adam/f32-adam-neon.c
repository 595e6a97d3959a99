/* Adam step, 4 lanes, scalar remainder; the reference's order of operations
 * (true sqrt and division, no reciprocal estimates). */
#include "dacc/kernels.h"
#include <arm_neon.h>
#include <math.h>

void dacc_f32_adam__neon(size_t n, float *p, const float *g, float *m, float *v,
                         const dacc_adam_args *a) {
    const float sstep = a->lr / a->bc1, sbc2s = sqrtf(a->bc2);
    const float32x4_t b1 = vdupq_n_f32(a->beta1), c1 = vdupq_n_f32(1.0f - a->beta1);
    const float32x4_t b2 = vdupq_n_f32(a->beta2), c2 = vdupq_n_f32(1.0f - a->beta2);
    const float32x4_t step = vdupq_n_f32(sstep), bc2s = vdupq_n_f32(sbc2s), eps = vdupq_n_f32(a->eps);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t gv = vld1q_f32(g + i);
        float32x4_t mv = vfmaq_f32(vmulq_f32(gv, c1), vld1q_f32(m + i), b1);
        float32x4_t vv = vfmaq_f32(vmulq_f32(vmulq_f32(gv, gv), c2), vld1q_f32(v + i), b2);
        float32x4_t den = vaddq_f32(vdivq_f32(vsqrtq_f32(vv), bc2s), eps);
        float32x4_t pv = vfmsq_f32(vld1q_f32(p + i), step, vdivq_f32(mv, den));
        vst1q_f32(m + i, mv);
        vst1q_f32(v + i, vv);
        vst1q_f32(p + i, pv);
    }
    for (; i < n; i++) {
        m[i] = m[i] * a->beta1 + g[i] * (1.0f - a->beta1);
        v[i] = v[i] * a->beta2 + g[i] * g[i] * (1.0f - a->beta2);
        float denom = sqrtf(v[i]) / sbc2s + a->eps;
        p[i] -= sstep * (m[i] / denom);
    }
}
