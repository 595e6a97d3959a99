/* ReLU forward/backward, 4 lanes, scalar remainder. A compare-and-mask, not
 * FMAX: FMAX returns NaN for a NaN input where the reference returns 0. */
#include "dacc/kernels.h"
#include <arm_neon.h>

void dacc_f32_relu_fwd__neon(size_t n, const float *x, float *y) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
        uint32x4_t ka = vcgtq_f32(a, zero), kb = vcgtq_f32(b, zero);
        vst1q_f32(y + i, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), ka)));
        vst1q_f32(y + i + 4, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(b), kb)));
    }
    for (; i + 4 <= n; i += 4) {
        float32x4_t a = vld1q_f32(x + i);
        uint32x4_t ka = vcgtq_f32(a, zero);
        vst1q_f32(y + i, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), ka)));
    }
    for (; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void dacc_f32_relu_bwd__neon(size_t n, const float *y, const float *dy, float *dx) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32x4_t k = vcgtq_f32(vld1q_f32(y + i), zero);
        vst1q_f32(dx + i, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(vld1q_f32(dy + i)), k)));
    }
    for (; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
