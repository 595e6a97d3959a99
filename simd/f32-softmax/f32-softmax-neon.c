/* Row-wise softmax, 4 lanes along the row; the tail goes through a small
 * padded buffer so every element uses the same vector exp (a degree-7
 * polynomial on the reduced argument, ~2 ulp; SLEEF is not assumed on Arm). */
#include "dacc/kernels.h"
#include <arm_neon.h>
#include <math.h>

static inline float32x4_t exp4(float32x4_t x) {
    /* exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2 / 2 */
    x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.0f)), vdupq_n_f32(-87.0f));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145752f));
    r = vfmsq_f32(r, n, vdupq_n_f32(1.42860677e-6f));
    float32x4_t p = vdupq_n_f32(1.0f / 5040);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 720), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    int32x4_t e = vshlq_n_s32(vcvtq_s32_f32(n), 23);
    return vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), e));
}

void dacc_f32_softmax__neon(size_t rows, int k, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float *yr = y + r * k;
        float m = xr[0];
        int j = 0;
        if (k >= 4) {
            float32x4_t vm = vld1q_f32(xr);
            for (j = 4; j + 4 <= k; j += 4) vm = vmaxq_f32(vm, vld1q_f32(xr + j));
            m = vmaxvq_f32(vm);
        }
        for (; j < k; j++) m = xr[j] > m ? xr[j] : m;
        const float32x4_t vmx = vdupq_n_f32(m);
        float32x4_t vs = vdupq_n_f32(0.0f);
        for (j = 0; j + 4 <= k; j += 4) {
            float32x4_t e = exp4(vsubq_f32(vld1q_f32(xr + j), vmx));
            vs = vaddq_f32(vs, e);
            vst1q_f32(yr + j, e);
        }
        float sum = vaddvq_f32(vs);
        if (j < k) {
            float t[4] = {m, m, m, m}, e[4];
            for (int i = 0; j + i < k; i++) t[i] = xr[j + i];
            vst1q_f32(e, exp4(vsubq_f32(vld1q_f32(t), vmx)));
            for (int i = 0; j + i < k; i++) sum += yr[j + i] = e[i];
        }
        const float inv = 1.0f / sum;
        for (j = 0; j + 4 <= k; j += 4) vst1q_f32(yr + j, vmulq_n_f32(vld1q_f32(yr + j), inv));
        for (; j < k; j++) yr[j] *= inv;
    }
}
