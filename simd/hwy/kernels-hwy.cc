// Highway kernels: one source compiled for every target Highway knows
// (foreach_target.h re-includes this file per target), dispatched at run
// time by HWY_DYNAMIC_DISPATCH. Only pointers and sizes cross into C: the
// extern "C" shim at the end defines dacc_<op>__hwy with exactly the types
// of include/dacc/kernels.h. Vector bodies use full vectors; remainders are
// scalar loops (Highway 1.0.3 has no LoadN, and its masked loads may read a
// whole vector on some targets).
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
extern "C" {
#include "dacc/kernels.h"
#include "f32-conv-fwd/f32-conv-plain.h"
}

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "hwy/kernels-hwy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

HWY_BEFORE_NAMESPACE();
namespace dacc_hwy {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;

void ReluFwd(size_t n, const float* x, float* y) {
    const DF d;
    const size_t N = hn::Lanes(d);
    const auto zero = hn::Zero(d);
    size_t i = 0;
    for (; i + N <= n; i += N) {
        const auto v = hn::LoadU(d, x + i);
        hn::StoreU(hn::IfThenElseZero(v > zero, v), d, y + i);
    }
    for (; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void ReluBwd(size_t n, const float* y, const float* dy, float* dx) {
    const DF d;
    const size_t N = hn::Lanes(d);
    const auto zero = hn::Zero(d);
    size_t i = 0;
    for (; i + N <= n; i += N)
        hn::StoreU(hn::IfThenElseZero(hn::LoadU(d, y + i) > zero, hn::LoadU(d, dy + i)), d, dx + i);
    for (; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void Dropout(size_t n, const float* x, const uint8_t* mask, float scale, float* y) {
    const DF d;
    const hn::Rebind<uint8_t, DF> du8;
    const hn::Rebind<int32_t, DF> di;
    const size_t N = hn::Lanes(d);
    const auto vs = hn::Set(d, scale);
    size_t i = 0;
    for (; i + N <= n; i += N) {
        const auto m = hn::PromoteTo(di, hn::LoadU(du8, mask + i));
        const auto keep = hn::RebindMask(d, m != hn::Zero(di));
        hn::StoreU(hn::IfThenElseZero(keep, hn::Mul(hn::LoadU(d, x + i), vs)), d, y + i);
    }
    for (; i < n; i++) y[i] = mask[i] ? x[i] * scale : 0.0f;
}

void U8Normalize(size_t n, const uint8_t* x, float scale, float shift, float* y) {
    const DF d;
    const hn::Rebind<uint8_t, DF> du8;
    const hn::Rebind<int32_t, DF> di;
    const size_t N = hn::Lanes(d);
    const auto vs = hn::Set(d, scale), vb = hn::Set(d, shift);
    size_t i = 0;
    for (; i + N <= n; i += N) {
        const auto v = hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(du8, x + i)));
        hn::StoreU(hn::MulAdd(v, vs, vb), d, y + i);
    }
    for (; i < n; i++) y[i] = fmaf((float)x[i], scale, shift);
}

void ChannelAffine(size_t rows, int c, const float* x, const float* a, const float* b, float* y) {
    const DF d;
    const int N = (int)hn::Lanes(d);
    for (size_t r = 0; r < rows; r++) {
        const float* xr = x + r * c;
        float* yr = y + r * c;
        int j = 0;
        for (; j + N <= c; j += N)
            hn::StoreU(hn::MulAdd(hn::LoadU(d, xr + j), hn::LoadU(d, a + j), hn::LoadU(d, b + j)), d, yr + j);
        for (; j < c; j++) yr[j] = xr[j] * a[j] + b[j];
    }
}

void ChannelAffine2(size_t rows, int c, const float* p, const float* q, const float* a,
                    const float* b, const float* k, float* out) {
    const DF d;
    const int N = (int)hn::Lanes(d);
    for (size_t r = 0; r < rows; r++) {
        const size_t o = r * c;
        int j = 0;
        for (; j + N <= c; j += N) {
            const auto t = hn::MulAdd(hn::LoadU(d, q + o + j), hn::LoadU(d, b + j), hn::LoadU(d, k + j));
            hn::StoreU(hn::MulAdd(hn::LoadU(d, p + o + j), hn::LoadU(d, a + j), t), d, out + o + j);
        }
        for (; j < c; j++) out[o + j] = p[o + j] * a[j] + q[o + j] * b[j] + k[j];
    }
}

// As ChannelAffine2, then zero where q <= 0 (the ReLU mask from q).
void ChannelAffine2Relu(size_t rows, int c, const float* p, const float* q, const float* a,
                        const float* b, const float* k, float* out) {
    const DF d;
    const int N = (int)hn::Lanes(d);
    const auto zero = hn::Zero(d);
    for (size_t r = 0; r < rows; r++) {
        const size_t o = r * c;
        int j = 0;
        for (; j + N <= c; j += N) {
            const auto qv = hn::LoadU(d, q + o + j);
            const auto t = hn::MulAdd(qv, hn::LoadU(d, b + j), hn::LoadU(d, k + j));
            const auto v = hn::MulAdd(hn::LoadU(d, p + o + j), hn::LoadU(d, a + j), t);
            hn::StoreU(hn::IfThenElseZero(qv > zero, v), d, out + o + j);
        }
        for (; j < c; j++)
            out[o + j] = q[o + j] > 0.0f ? p[o + j] * a[j] + q[o + j] * b[j] + k[j] : 0.0f;
    }
}

// Float lanes summed over blocks of kRowsBlock rows, each block's partial
// sums added to the double outputs (as the other ISAs do).
constexpr size_t kRowsBlock = 32;

void ChannelMoments(size_t rows, int c, const float* x, const float* shift, double* sum, double* sq) {
    const DF d;
    const int N = (int)hn::Lanes(d);
    HWY_ALIGN float part[hn::MaxLanes(d)], part2[hn::MaxLanes(d)];
    for (size_t r0 = 0; r0 < rows; r0 += kRowsBlock) {
        const size_t r1 = rows - r0 < kRowsBlock ? rows : r0 + kRowsBlock;
        int j = 0;
        for (; j + N <= c; j += N) {
            const auto sh = hn::LoadU(d, shift + j);
            auto a = hn::Zero(d), q = hn::Zero(d);
            for (size_t r = r0; r < r1; r++) {
                const auto dv = hn::Sub(hn::LoadU(d, x + r * c + j), sh);
                a = hn::Add(a, dv);
                q = hn::MulAdd(dv, dv, q);
            }
            hn::Store(a, d, part);
            hn::Store(q, d, part2);
            for (int l = 0; l < N; l++) sum[j + l] += part[l], sq[j + l] += part2[l];
        }
        for (; j < c; j++) {
            float a = 0.0f, q = 0.0f;
            for (size_t r = r0; r < r1; r++) {
                const float dv = x[r * c + j] - shift[j];
                a += dv;
                q += dv * dv;
            }
            sum[j] += a;
            sq[j] += q;
        }
    }
}

void Adam(size_t n, float* p, const float* g, float* m, float* v, const dacc_adam_args* a) {
    const DF d;
    const size_t N = hn::Lanes(d);
    const float sstep = a->lr / a->bc1, sbc2s = sqrtf(a->bc2);
    const auto b1 = hn::Set(d, a->beta1), c1 = hn::Set(d, 1.0f - a->beta1);
    const auto b2 = hn::Set(d, a->beta2), c2 = hn::Set(d, 1.0f - a->beta2);
    const auto step = hn::Set(d, sstep), bc2s = hn::Set(d, sbc2s), eps = hn::Set(d, a->eps);
    size_t i = 0;
    for (; i + N <= n; i += N) {
        const auto gv = hn::LoadU(d, g + i);
        const auto mv = hn::MulAdd(hn::LoadU(d, m + i), b1, hn::Mul(gv, c1));
        const auto vv = hn::MulAdd(hn::LoadU(d, v + i), b2, hn::Mul(hn::Mul(gv, gv), c2));
        const auto den = hn::Add(hn::Div(hn::Sqrt(vv), bc2s), eps);
        const auto pv = hn::NegMulAdd(step, hn::Div(mv, den), hn::LoadU(d, p + i));
        hn::StoreU(mv, d, m + i);
        hn::StoreU(vv, d, v + i);
        hn::StoreU(pv, d, p + i);
    }
    for (; i < n; i++) {
        m[i] = m[i] * a->beta1 + g[i] * (1.0f - a->beta1);
        v[i] = v[i] * a->beta2 + g[i] * g[i] * (1.0f - a->beta2);
        const float denom = sqrtf(v[i]) / sbc2s + a->eps;
        p[i] -= sstep * (m[i] / denom);
    }
}

void Softmax(size_t rows, int k, const float* x, float* y) {
    const DF d;
    const int N = (int)hn::Lanes(d);
    for (size_t r = 0; r < rows; r++) {
        const float* xr = x + r * k;
        float* yr = y + r * k;
        float m = xr[0];
        int j = 0;
        if (k >= N) {
            auto vm = hn::LoadU(d, xr);
            for (j = N; j + N <= k; j += N) vm = hn::Max(vm, hn::LoadU(d, xr + j));
            m = hn::GetLane(hn::MaxOfLanes(d, vm));
        }
        for (; j < k; j++) m = xr[j] > m ? xr[j] : m;
        const auto vmx = hn::Set(d, m);
        auto vs = hn::Zero(d);
        for (j = 0; j + N <= k; j += N) {
            const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, xr + j), vmx));
            vs = hn::Add(vs, e);
            hn::StoreU(e, d, yr + j);
        }
        float sum = hn::GetLane(hn::SumOfLanes(d, vs));
        for (; j < k; j++) sum += yr[j] = expf(xr[j] - m);
        const float inv = 1.0f / sum;
        const auto vinv = hn::Set(d, inv);
        for (j = 0; j + N <= k; j += N) hn::StoreU(hn::Mul(hn::LoadU(d, yr + j), vinv), d, yr + j);
        for (; j < k; j++) yr[j] *= inv;
    }
}

// Direct convolution, output channels in lanes: per output pixel up to four
// vectors of channels accumulate over the (clipped) window and the input
// channels; scalar remainder channels.
void ConvFwd(const dacc_conv_shape* s, const float* x, const float* w, const float* bias, float* y) {
    const DF d;
    const int N = (int)hn::Lanes(d);
    const int OC = s->oc, IC = s->ic, relu = s->relu;
    const auto z = hn::Zero(d);
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float* yp = y + (((size_t)n * s->oh + oh) * s->ow + ow) * OC;
                const int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                const int kh0 = h0 < 0 ? -h0 : 0, kw0 = w0 < 0 ? -w0 : 0;
                const int kh1 = s->ih - h0 < s->kh ? s->ih - h0 : s->kh;
                const int kw1 = s->iw - w0 < s->kw ? s->iw - w0 : s->kw;
                int o = 0;
                for (; o + 4 * N <= OC; o += 4 * N) {
                    auto a0 = bias ? hn::LoadU(d, bias + o) : hn::Zero(d);
                    auto a1 = bias ? hn::LoadU(d, bias + o + N) : hn::Zero(d);
                    auto a2 = bias ? hn::LoadU(d, bias + o + 2 * N) : hn::Zero(d);
                    auto a3 = bias ? hn::LoadU(d, bias + o + 3 * N) : hn::Zero(d);
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float* xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                            const float* wp = w + ((size_t)kh * s->kw + kw) * IC * OC + o;
                            for (int i = 0; i < IC; i++, wp += OC) {
                                const auto xv = hn::Set(d, xp[i]);
                                a0 = hn::MulAdd(xv, hn::LoadU(d, wp), a0);
                                a1 = hn::MulAdd(xv, hn::LoadU(d, wp + N), a1);
                                a2 = hn::MulAdd(xv, hn::LoadU(d, wp + 2 * N), a2);
                                a3 = hn::MulAdd(xv, hn::LoadU(d, wp + 3 * N), a3);
                            }
                        }
                    if (relu) {
                        a0 = hn::Max(a0, z);
                        a1 = hn::Max(a1, z);
                        a2 = hn::Max(a2, z);
                        a3 = hn::Max(a3, z);
                    }
                    hn::StoreU(a0, d, yp + o);
                    hn::StoreU(a1, d, yp + o + N);
                    hn::StoreU(a2, d, yp + o + 2 * N);
                    hn::StoreU(a3, d, yp + o + 3 * N);
                }
                for (; o + N <= OC; o += N) {
                    auto a0 = bias ? hn::LoadU(d, bias + o) : hn::Zero(d);
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float* xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                            const float* wp = w + ((size_t)kh * s->kw + kw) * IC * OC + o;
                            for (int i = 0; i < IC; i++, wp += OC)
                                a0 = hn::MulAdd(hn::Set(d, xp[i]), hn::LoadU(d, wp), a0);
                        }
                    if (relu) a0 = hn::Max(a0, z);
                    hn::StoreU(a0, d, yp + o);
                }
                for (; o < OC; o++) {
                    float a = bias ? bias[o] : 0.0f;
                    for (int kh = kh0; kh < kh1; kh++)
                        for (int kw = kw0; kw < kw1; kw++) {
                            const float* xp = x + (((size_t)n * s->ih + h0 + kh) * s->iw + w0 + kw) * IC;
                            const float* wp = w + ((size_t)kh * s->kw + kw) * IC * OC + o;
                            for (int i = 0; i < IC; i++) a += xp[i] * wp[(size_t)i * OC];
                        }
                    yp[o] = relu && !(a > 0.0f) ? 0.0f : a;
                }
            }
}

// Floats per vector of the target ConvFwd runs on.
int ConvLanes() { return (int)hn::Lanes(DF()); }

}  // namespace HWY_NAMESPACE
}  // namespace dacc_hwy
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dacc_hwy {
HWY_EXPORT(ReluFwd);
HWY_EXPORT(ReluBwd);
HWY_EXPORT(Dropout);
HWY_EXPORT(U8Normalize);
HWY_EXPORT(ChannelAffine);
HWY_EXPORT(ChannelAffine2);
HWY_EXPORT(ChannelAffine2Relu);
HWY_EXPORT(ChannelMoments);
HWY_EXPORT(Adam);
HWY_EXPORT(Softmax);
HWY_EXPORT(ConvFwd);
HWY_EXPORT(ConvLanes);
}  // namespace dacc_hwy

extern "C" {
void dacc_f32_conv_fwd_pack__scalar(const dacc_conv_shape* s, dacc_conv_algo algo, const float* w,
                                    const float* bias, float* packed);
void dacc_f32_relu_fwd__hwy(size_t n, const float* x, float* y) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::ReluFwd)(n, x, y);
}
void dacc_f32_relu_bwd__hwy(size_t n, const float* y, const float* dy, float* dx) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::ReluBwd)(n, y, dy, dx);
}
void dacc_f32_dropout__hwy(size_t n, const float* x, const uint8_t* mask, float scale, float* y) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::Dropout)(n, x, mask, scale, y);
}
void dacc_u8_normalize__hwy(size_t n, const uint8_t* x, float scale, float shift, float* y) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::U8Normalize)(n, x, scale, shift, y);
}
void dacc_f32_channel_affine__hwy(size_t rows, int c, const float* x, const float* a, const float* b,
                                  float* y) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::ChannelAffine)(rows, c, x, a, b, y);
}
void dacc_f32_channel_affine2__hwy(size_t rows, int c, const float* p, const float* q, const float* a,
                                   const float* b, const float* k, float* out) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::ChannelAffine2)(rows, c, p, q, a, b, k, out);
}
void dacc_f32_channel_affine2_relu__hwy(size_t rows, int c, const float* p, const float* q,
                                        const float* a, const float* b, const float* k, float* out) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::ChannelAffine2Relu)(rows, c, p, q, a, b, k, out);
}
void dacc_f32_channel_moments__hwy(size_t rows, int c, const float* x, const float* shift, double* sum,
                                   double* sq) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::ChannelMoments)(rows, c, x, shift, sum, sq);
}
void dacc_f32_adam__hwy(size_t n, float* p, const float* g, float* m, float* v, const dacc_adam_args* a) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::Adam)(n, p, g, m, v, a);
}
void dacc_f32_softmax__hwy(size_t rows, int k, const float* x, float* y) {
    HWY_DYNAMIC_DISPATCH(dacc_hwy::Softmax)(rows, k, x, y);
}
// The plain weight layout (f32-conv-plain.h); the query reports the lanes of
// the dispatched target.
int dacc_f32_conv_fwd_query__hwy(const dacc_conv_shape* s, dacc_conv_algo algo, dacc_conv_need* need) {
    return conv_plain_query(s, algo, need, HWY_DYNAMIC_DISPATCH(dacc_hwy::ConvLanes)(),
                            conv_plain_weights(s) + (size_t)s->oc);
}
void dacc_f32_conv_fwd_pack__hwy(const dacc_conv_shape* s, dacc_conv_algo algo, const float* w,
                                 const float* bias, float* packed) {
    dacc_f32_conv_fwd_pack__scalar(s, algo, w, bias, packed);
}
void dacc_f32_conv_fwd__hwy(const dacc_conv_shape* s, dacc_conv_algo algo, const float* x,
                            const float* packed, float* y, float* scratch) {
    (void)algo;
    (void)scratch;
    HWY_DYNAMIC_DISPATCH(dacc_hwy::ConvFwd)(s, x, packed, packed + conv_plain_weights(s), y);
}
}  // extern "C"
#endif  // HWY_ONCE
