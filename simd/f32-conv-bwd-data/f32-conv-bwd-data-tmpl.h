/* Backward-data convolution, shared by the AVX-512 and AVX2 kernels, in
 * scatter form so that every stride and padding is one code path:
 *   dcol[p][kh][kw][ic] = sum_oc dy[p][oc] * w[kh][kw][ic][oc]
 * is a GEMM (pixels x oc) x (oc x kh*kw*ic) run by the indirect GEMM engine
 * with the transposed weights, for a chunk of output pixels at a time, and
 * each dcol row is then added into the dx pixels its window covers. A 1x1,
 * stride-1, unpadded convolution (the linear layer) writes dx directly.
 * Define CONV_BWD_DATA_NAME. */
#include "f32-conv-fwd/f32-conv-igemm.h"
#include "dacc/kernels.h"

void dacc_f32_conv_bwd_data__scalar(const dacc_conv_shape *s, const float *dy, const float *w,
                                    float *dx);

/* dst[0..n) += src[0..n) */
static void add_row(float *dst, const float *src, int n) {
    int i = 0;
    for (; i + VL <= n; i += VL) v_store(dst + i, v_add(v_load(dst + i), v_load(src + i)));
    if (i < n) v_storen(dst + i, v_add(v_loadn(dst + i, n - i), v_loadn(src + i, n - i)), n - i);
}

void CONV_BWD_DATA_NAME(const dacc_conv_shape *s, const float *dy, const float *w, float *dx) {
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t nx = (size_t)s->n * s->ih * s->iw * IC;
    if (nx == 0) return;
    const size_t P = (size_t)s->n * s->oh * s->ow;
    if (P == 0 || OC <= 0 || KH <= 0 || KW <= 0) {
        memset(dx, 0, sizeof(float) * nx);
        return;
    }
    const size_t taps = (size_t)KH * KW, N = taps * IC, Np = round_up(N, VL);
    const int direct = KH == 1 && KW == 1 && st == 1 && s->pad == 0 && s->oh == s->ih &&
                       s->ow == s->iw;
    /* pixels per chunk: dcol about 32 KB (L1), a multiple of every tile height */
    size_t chunk = 8192 / Np;
    chunk = chunk < 24 ? 24 : round_up(chunk, 24);
    if (chunk > P) chunk = P;
    float *wt = conv_alloc((size_t)OC * Np + (direct ? 0 : chunk * Np));
    if (!wt) {
        dacc_f32_conv_bwd_data__scalar(s, dy, w, dx);
        return;
    }
    /* wt[oc][tap][ic] = w[tap][ic][oc], columns past N zero */
    for (int o = 0; o < OC; o++) memset(wt + (size_t)o * Np + N, 0, sizeof(float) * (Np - N));
    for (size_t r = 0; r < N; r++) {
        const float *src = w + r * OC;
        for (int o = 0; o < OC; o++) wt[(size_t)o * Np + r] = src[o];
    }
    if (direct) {
        igemm_pixels px = {dy, 0, 1, 1, (int)P, (int)P, 1, OC, dx, (size_t)IC};
        igemm_run(&px, 1, (size_t)OC, wt, Np, IC, NULL, 0);
        free(wt);
        return;
    }
    float *dcol = wt + (size_t)OC * Np;
    memset(dx, 0, sizeof(float) * nx);
    int img = 0, oh = 0, ow = 0;
    for (size_t p0 = 0; p0 < P; p0 += chunk) {
        const size_t cnt = P - p0 < chunk ? P - p0 : chunk;
        igemm_pixels px = {dy + p0 * OC, 0, 1, 1, (int)cnt, (int)cnt, 1, OC, dcol, Np};
        igemm_run(&px, 1, (size_t)OC, wt, Np, (int)N, NULL, 1);
        for (size_t p = 0; p < cnt; p++) {
            const float *col = dcol + p * Np;
            float *dximg = dx + (size_t)img * s->ih * s->iw * IC;
            for (int kh = 0; kh < KH; kh++) {
                const int ih = oh * st - s->pad + kh;
                if (ih < 0 || ih >= s->ih) continue;
                for (int kw = 0; kw < KW; kw++) {
                    const int iw = ow * st - s->pad + kw;
                    if (iw < 0 || iw >= s->iw) continue;
                    add_row(dximg + ((size_t)ih * s->iw + iw) * IC,
                            col + ((size_t)kh * KW + kw) * IC, IC);
                }
            }
            if (++ow == s->ow) {
                ow = 0;
                if (++oh == s->oh) oh = 0, img++;
            }
        }
    }
    free(wt);
}
