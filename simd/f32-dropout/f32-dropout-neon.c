/* Inverted dropout apply, 16 mask bytes per step widened to four 4-lane
 * masks; a dropped lane is zeroed even if x is NaN or inf. */
#include "dacc/kernels.h"
#include <arm_neon.h>

static inline void apply4(const float *x, float *y, float32x4_t vs, int16x4_t keep) {
    uint32x4_t k = vreinterpretq_u32_s32(vmovl_s16(keep));
    float32x4_t v = vmulq_f32(vld1q_f32(x), vs);
    vst1q_f32(y, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), k)));
}

void dacc_f32_dropout__neon(size_t n, const float *x, const uint8_t *mask, float scale, float *y) {
    const float32x4_t vs = vdupq_n_f32(scale);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t mb = vld1q_u8(mask + i);
        int8x16_t keep = vreinterpretq_s8_u8(vtstq_u8(mb, mb)); /* 0 or -1 */
        int16x8_t lo = vmovl_s8(vget_low_s8(keep)), hi = vmovl_s8(vget_high_s8(keep));
        apply4(x + i, y + i, vs, vget_low_s16(lo));
        apply4(x + i + 4, y + i + 4, vs, vget_high_s16(lo));
        apply4(x + i + 8, y + i + 8, vs, vget_low_s16(hi));
        apply4(x + i + 12, y + i + 12, vs, vget_high_s16(hi));
    }
    for (; i < n; i++) y[i] = mask[i] ? x[i] * scale : 0.0f;
}
