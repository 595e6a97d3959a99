/* uint8 -> float normalisation, 16 bytes per step widened to four 4-lane
 * vectors; one FMA (a single rounding). */
#include "dacc/kernels.h"
#include <arm_neon.h>
#include <math.h>

void dacc_u8_normalize__neon(size_t n, const uint8_t *x, float scale, float shift, float *y) {
    const float32x4_t vb = vdupq_n_f32(shift);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t b = vld1q_u8(x + i);
        uint16x8_t lo = vmovl_u8(vget_low_u8(b)), hi = vmovl_u8(vget_high_u8(b));
        vst1q_f32(y + i, vfmaq_n_f32(vb, vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo))), scale));
        vst1q_f32(y + i + 4, vfmaq_n_f32(vb, vcvtq_f32_u32(vmovl_u16(vget_high_u16(lo))), scale));
        vst1q_f32(y + i + 8, vfmaq_n_f32(vb, vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi))), scale));
        vst1q_f32(y + i + 12, vfmaq_n_f32(vb, vcvtq_f32_u32(vmovl_u16(vget_high_u16(hi))), scale));
    }
    for (; i < n; i++) y[i] = fmaf((float)x[i], scale, shift);
}
