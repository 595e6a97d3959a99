/* Per-channel reductions and affine maps over rows x c, channels in 4 lanes
 * (scalar remainder channels). Reductions sum float lanes over blocks of
 * ROWS_BLOCK rows and add each block's partial sums to the double outputs. */
#include "dacc/kernels.h"
#include <arm_neon.h>

#define ROWS_BLOCK 32

static inline void add_to_double(double *out, float32x4_t acc) {
    vst1q_f64(out, vaddq_f64(vld1q_f64(out), vcvt_f64_f32(vget_low_f32(acc))));
    vst1q_f64(out + 2, vaddq_f64(vld1q_f64(out + 2), vcvt_high_f64_f32(acc)));
}

void dacc_f32_channel_moments__neon(size_t rows, int c, const float *x, const float *shift,
                                    double *sum, double *sq) {
    for (size_t r0 = 0; r0 < rows; r0 += ROWS_BLOCK) {
        size_t r1 = rows - r0 < ROWS_BLOCK ? rows : r0 + ROWS_BLOCK;
        int j = 0;
        for (; j + 4 <= c; j += 4) {
            const float32x4_t s = vld1q_f32(shift + j);
            float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
            float32x4_t q0 = vdupq_n_f32(0), q1 = vdupq_n_f32(0);
            size_t r = r0;
            for (; r + 2 <= r1; r += 2) {
                float32x4_t d0 = vsubq_f32(vld1q_f32(x + r * c + j), s);
                float32x4_t d1 = vsubq_f32(vld1q_f32(x + (r + 1) * c + j), s);
                s0 = vaddq_f32(s0, d0);
                s1 = vaddq_f32(s1, d1);
                q0 = vfmaq_f32(q0, d0, d0);
                q1 = vfmaq_f32(q1, d1, d1);
            }
            if (r < r1) {
                float32x4_t d0 = vsubq_f32(vld1q_f32(x + r * c + j), s);
                s0 = vaddq_f32(s0, d0);
                q0 = vfmaq_f32(q0, d0, d0);
            }
            add_to_double(sum + j, vaddq_f32(s0, s1));
            add_to_double(sq + j, vaddq_f32(q0, q1));
        }
        for (; j < c; j++) {
            float a = 0.0f, q = 0.0f;
            for (size_t r = r0; r < r1; r++) {
                float d = x[r * c + j] - shift[j];
                a += d;
                q += d * d;
            }
            sum[j] += a;
            sq[j] += q;
        }
    }
}

void dacc_f32_channel_dot__neon(size_t rows, int c, const float *dy, const float *x,
                                const float *mean, double *sum_dy, double *sum_dyx) {
    for (size_t r0 = 0; r0 < rows; r0 += ROWS_BLOCK) {
        size_t r1 = rows - r0 < ROWS_BLOCK ? rows : r0 + ROWS_BLOCK;
        int j = 0;
        for (; j + 4 <= c; j += 4) {
            const float32x4_t mu = vld1q_f32(mean + j);
            float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
            float32x4_t p0 = vdupq_n_f32(0), p1 = vdupq_n_f32(0);
            size_t r = r0;
            for (; r + 2 <= r1; r += 2) {
                size_t o = r * c + j;
                float32x4_t g0 = vld1q_f32(dy + o), g1 = vld1q_f32(dy + o + c);
                s0 = vaddq_f32(s0, g0);
                s1 = vaddq_f32(s1, g1);
                p0 = vfmaq_f32(p0, g0, vsubq_f32(vld1q_f32(x + o), mu));
                p1 = vfmaq_f32(p1, g1, vsubq_f32(vld1q_f32(x + o + c), mu));
            }
            if (r < r1) {
                size_t o = r * c + j;
                float32x4_t g0 = vld1q_f32(dy + o);
                s0 = vaddq_f32(s0, g0);
                p0 = vfmaq_f32(p0, g0, vsubq_f32(vld1q_f32(x + o), mu));
            }
            add_to_double(sum_dy + j, vaddq_f32(s0, s1));
            add_to_double(sum_dyx + j, vaddq_f32(p0, p1));
        }
        for (; j < c; j++) {
            float s = 0.0f, p = 0.0f;
            for (size_t r = r0; r < r1; r++) {
                float g = dy[r * c + j];
                s += g;
                p += g * (x[r * c + j] - mean[j]);
            }
            sum_dy[j] += s;
            sum_dyx[j] += p;
        }
    }
}

void dacc_f32_channel_affine__neon(size_t rows, int c, const float *x, const float *a,
                                   const float *b, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        int j = 0;
        for (; j + 4 <= c; j += 4)
            vst1q_f32(yr + j, vfmaq_f32(vld1q_f32(b + j), vld1q_f32(xr + j), vld1q_f32(a + j)));
        for (; j < c; j++) yr[j] = xr[j] * a[j] + b[j];
    }
}

void dacc_f32_channel_affine2__neon(size_t rows, int c, const float *p, const float *q,
                                    const float *a, const float *b, const float *k, float *out) {
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * c;
        int j = 0;
        for (; j + 4 <= c; j += 4) {
            float32x4_t t = vfmaq_f32(vld1q_f32(k + j), vld1q_f32(q + o + j), vld1q_f32(b + j));
            vst1q_f32(out + o + j, vfmaq_f32(t, vld1q_f32(p + o + j), vld1q_f32(a + j)));
        }
        for (; j < c; j++) out[o + j] = p[o + j] * a[j] + q[o + j] * b[j] + k[j];
    }
}

/* As affine2, then zero where q <= 0 (the ReLU mask from q, the ReLU's
 * output). */
void dacc_f32_channel_affine2_relu__neon(size_t rows, int c, const float *p, const float *q,
                                         const float *a, const float *b, const float *k,
                                         float *out) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * c;
        int j = 0;
        for (; j + 4 <= c; j += 4) {
            float32x4_t qv = vld1q_f32(q + o + j);
            float32x4_t t = vfmaq_f32(vld1q_f32(k + j), qv, vld1q_f32(b + j));
            float32x4_t v = vfmaq_f32(t, vld1q_f32(p + o + j), vld1q_f32(a + j));
            vst1q_f32(out + o + j, vbslq_f32(vcgtq_f32(qv, zero), v, zero));
        }
        for (; j < c; j++)
            out[o + j] = q[o + j] > 0.0f ? p[o + j] * a[j] + q[o + j] * b[j] + k[j] : 0.0f;
    }
}
