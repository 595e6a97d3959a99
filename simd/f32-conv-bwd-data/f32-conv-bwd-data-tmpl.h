/* Backward-data convolution, shared by the AVX-512 and AVX2 kernels, in
 * scatter form so that every stride and padding is one code path:
 *   dx[window(p, kh, kw)][ic] += sum_oc dy[p][oc] * w[kh][kw][ic][oc]
 * is a GEMM (pixels x oc) x (oc x kh*kw*ic) run by the indirect GEMM engine
 * with the transposed weights. When ic is a multiple of the vector width,
 * column blocks never straddle two taps and each tile adds straight into the
 * dx pixels its taps hit (taps outside the image go to a dummy row); else a
 * chunk of pixels is written to a dcol buffer that is then added into dx. A
 * 1x1, stride-1, unpadded convolution (the linear layer) just stores dx.
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

/* dx += dy x wt, tap by tap, straight into dx (ic a multiple of VL). Pixels
 * go in chunks of about 256 so that their dy rows stay in cache across taps. */
static void bwd_data_accumulate(const dacc_conv_shape *s, const float *dy, const float *wt,
                                size_t Np, float *dx) {
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t P = (size_t)s->n * s->oh * s->ow;
    const int icv = IC / VL;
    float dummy[IGEMM_NR_MAX * VL] __attribute__((aligned(64)));
    memset(dummy, 0, sizeof dummy);
    for (size_t c0 = 0; c0 < P; c0 += 256) {
        const size_t c1 = c0 + 256 < P ? c0 + 256 : P;
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                const size_t tap = (size_t)kh * KW + kw;
                for (int v0 = 0; v0 < icv;) {
                    const int NR = igemm_block_nr(icv - v0), MR = igemm_mr[NR];
                    igemm_args g = {1, 0, (size_t)OC, wt + tap * IC + (size_t)v0 * VL, Np,
                                    NULL, VL, 1};
                    const float *a[IGEMM_MR_MAX];
                    float *c[IGEMM_MR_MAX];
                    size_t p = c0;
                    int img = (int)(p / ((size_t)s->oh * s->ow));
                    int oh = (int)(p / s->ow % s->oh), ow = (int)(p % s->ow);
                    while (p < c1) {
                        int m = 0;
                        for (; m < MR && p < c1; p++) {
                            const int ih = oh * st - s->pad + kh, iw = ow * st - s->pad + kw;
                            if (ih >= 0 && ih < s->ih && iw >= 0 && iw < s->iw) {
                                a[m] = dy + p * OC;
                                c[m] = dx + (((size_t)img * s->ih + ih) * s->iw + iw) * IC +
                                       (size_t)v0 * VL;
                                m++;
                            }
                            if (++ow == s->ow) {
                                ow = 0;
                                if (++oh == s->oh) oh = 0, img++;
                            }
                        }
                        if (m == 0) break;
                        for (int t = m; t < MR; t++) {
                            a[t] = a[m - 1];
                            c[t] = dummy;
                        }
                        igemm_fns[NR](a, c, &g);
                    }
                    v0 += NR;
                }
            }
    }
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
    float *wt = conv_alloc((size_t)OC * Np + (direct || IC % VL == 0 ? 0 : chunk * Np));
    if (!wt) {
        dacc_f32_conv_bwd_data__scalar(s, dy, w, dx);
        return;
    }
    /* wt[oc][tap][ic] = w[tap][ic][oc], columns past N zero; in 16x16 blocks
     * (a row-at-a-time transpose writes with a 4 KB stride for conv128 and
     * thrashes L1) */
    for (int o = 0; o < OC; o++) memset(wt + (size_t)o * Np + N, 0, sizeof(float) * (Np - N));
    for (size_t r0 = 0; r0 < N; r0 += 16)
        for (int o0 = 0; o0 < OC; o0 += 16) {
            const size_t r1 = r0 + 16 < N ? r0 + 16 : N;
            const int o1 = o0 + 16 < OC ? o0 + 16 : OC;
            for (int o = o0; o < o1; o++) /* o outer: each wt line written whole */
                for (size_t r = r0; r < r1; r++) wt[(size_t)o * Np + r] = w[r * OC + o];
        }
    if (direct) {
        igemm_pixels px = {dy, 0, 1, 1, (int)P, (int)P, 1, OC, dx, (size_t)IC};
        igemm_run(&px, 1, (size_t)OC, wt, Np, IC, NULL, 0);
        free(wt);
        return;
    }
    memset(dx, 0, sizeof(float) * nx);
    if (IC % VL == 0) {
        bwd_data_accumulate(s, dy, wt, Np, dx);
        free(wt);
        return;
    }
    float *dcol = wt + (size_t)OC * Np;
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
