/* Forward convolution shared by the AVX-512 and AVX2 kernels. 3x3 stride-1
 * layers with enough channels go through Winograd F(4x4,3x3) or F(2x2,3x3)
 * (f32-conv-winograd.h, 4x or 2.25x fewer multiplies; the tile size by
 * f32-conv-winograd-rule.h); everything else is direct
 * (no im2col copy): weights are repacked with oc padded to the vector width,
 * the input is zero-padded into scratch only when a window can leave the
 * image, then every output pixel runs through the indirect GEMM engine with
 * K = kw*ic contiguous values per kernel row. Define CONV_FWD_NAME. */
#include "f32-conv-fwd/f32-conv-igemm.h"
#include "f32-conv-fwd/f32-conv-winograd.h"
#include "f32-conv-fwd/f32-conv-winograd-rule.h"
#include "dacc/kernels.h"

void dacc_f32_conv_fwd__scalar(const dacc_conv_shape *s, const float *x, const float *w,
                               const float *bias, float *y);

/* Copy images [i0, i0+cnt) into xs as sh x sw windows with zero borders:
 * xs(r, c) = x(r - pad, c - pad), or 0 outside the image. */
static void conv_pad_images(const dacc_conv_shape *s, const float *x, int i0, int cnt, int sh,
                            int sw, float *xs) {
    const size_t IC = (size_t)s->ic;
    for (int i = 0; i < cnt; i++)
        for (int r = 0; r < sh; r++) {
            float *dst = xs + (((size_t)i * sh + r) * sw) * IC;
            const int ih = r - s->pad;
            if (ih < 0 || ih >= s->ih) {
                memset(dst, 0, sizeof(float) * sw * IC);
                continue;
            }
            /* columns c with 0 <= c - pad < iw */
            int c0 = s->pad < sw ? s->pad : sw;
            int c1 = s->pad + s->iw < sw ? s->pad + s->iw : sw;
            if (c1 < c0) c1 = c0;
            memset(dst, 0, sizeof(float) * c0 * IC);
            memcpy(dst + c0 * IC, x + (((size_t)(i0 + i) * s->ih + ih) * s->iw + (c0 - s->pad)) * IC,
                   sizeof(float) * (c1 - c0) * IC);
            memset(dst + c1 * IC, 0, sizeof(float) * (sw - c1) * IC);
        }
}

/* Images per padded group: about 256 KB of scratch, at least one. */
static int conv_pad_group(const dacc_conv_shape *s, size_t img_floats) {
    int group = (int)(65536 / (img_floats ? img_floats : 1));
    if (group < 1) group = 1;
    return group > s->n ? s->n : group;
}

/* Returns 0 (nothing written) when scratch cannot be allocated. The input
 * is padded into scratch when a window can leave the image, and also when
 * the partial tiles at the output's edge would read past it: an (m+2)^2
 * patch always covers (m*tiles + 2) rows and columns. */
static int conv_fwd_winograd(const dacc_conv_shape *s, int m, const float *x, const float *w,
                             const float *bias, float *y) {
    const int IC = s->ic, OC = s->oc, th = (s->oh + m - 1) / m, tw = (s->ow + m - 1) / m;
    const int sh = m * th + 2, sw = m * tw + 2;
    const int need_pad = s->pad > 0 || sh > s->ih || sw > s->iw;
    const size_t img_floats = (size_t)sh * sw * IC;
    const int group = need_pad ? conv_pad_group(s, img_floats) : 0;
    size_t chunk;
    const size_t plan_floats = wino_scratch_floats(m, IC, OC, &chunk);
    float *scratch = conv_alloc(plan_floats + (size_t)group * img_floats);
    if (!scratch) return 0;
    wino_plan pl;
    wino_plan_init(&pl, m, IC, OC, w, bias, scratch);
    if (!need_pad) {
        wino_tiles tl = {x, (size_t)s->ih * s->iw * IC, (size_t)s->iw * IC, s->n, th, tw, y};
        wino_run(&pl, &tl, s->oh, s->ow, s->relu);
    } else {
        float *xs = scratch + plan_floats;
        for (int i0 = 0; i0 < s->n; i0 += group) {
            const int cnt = s->n - i0 < group ? s->n - i0 : group;
            conv_pad_images(s, x, i0, cnt, sh, sw, xs);
            wino_tiles tl = {xs, img_floats, (size_t)sw * IC, cnt, th, tw,
                             y + (size_t)i0 * s->oh * s->ow * OC};
            wino_run(&pl, &tl, s->oh, s->ow, s->relu);
        }
    }
    free(scratch);
    return 1;
}

void CONV_FWD_NAME(const dacc_conv_shape *s, const float *x, const float *w, const float *bias,
                   float *y) {
    if (s->n <= 0 || s->oh <= 0 || s->ow <= 0 || s->oc <= 0) return;
    const int wino_m = conv_fwd_winograd_tile(s);
    if (wino_m && conv_fwd_winograd(s, wino_m, x, w, bias, y)) return;
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t Np = round_up((size_t)OC, VL), taps = (size_t)KH * KW;
    const int sh = (s->oh - 1) * st + KH, sw = (s->ow - 1) * st + KW;
    const int need_pad = s->pad > 0 || sh > s->ih || sw > s->iw;
    const size_t img_floats = (size_t)sh * sw * IC;
    const int group = need_pad ? conv_pad_group(s, img_floats) : 0;
    float *wp = conv_alloc(taps * IC * Np + Np + (size_t)group * img_floats);
    if (!wp) {
        dacc_f32_conv_fwd__scalar(s, x, w, bias, y);
        return;
    }
    float *bp = wp + taps * IC * Np, *xs = bp + Np;
    for (size_t r = 0; r < taps * IC; r++) {
        memcpy(wp + r * Np, w + r * OC, sizeof(float) * OC);
        memset(wp + r * Np + OC, 0, sizeof(float) * (Np - OC));
    }
    memset(bp, 0, sizeof(float) * Np);
    if (bias) memcpy(bp, bias, sizeof(float) * OC);

    igemm_pixels px = {x, (size_t)s->ih * s->iw * IC, s->n, s->oh, s->ow, s->iw, st, IC, y,
                       (size_t)OC, 0, 0};
    if (!need_pad) {
        igemm_run_ex(&px, KH, (size_t)KW * IC, wp, Np, OC, bp, 0, s->relu);
    } else {
        for (int i0 = 0; i0 < s->n; i0 += group) {
            const int cnt = s->n - i0 < group ? s->n - i0 : group;
            conv_pad_images(s, x, i0, cnt, sh, sw, xs);
            igemm_pixels g = {xs, img_floats, cnt, s->oh, s->ow, sw, st, IC,
                              y + (size_t)i0 * s->oh * s->ow * OC, (size_t)OC, 0, 0};
            igemm_run_ex(&g, KH, (size_t)KW * IC, wp, Np, OC, bp, 0, s->relu);
        }
    }
    free(wp);
}
