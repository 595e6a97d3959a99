/* Backward-data convolution, shared by the AVX-512 and AVX2 kernels.
 * Routes, fixed by the shape and the engine's algorithm (bwd_data_route):
 * - Winograd (the engine chose F(2x2) or F(4x4)), flipped: for stride 1,
 *   dx is the full convolution of dy with the kernel flipped and ic/oc
 *   swapped, a forward convolution with padding k - 1 - pad whose output
 *   is exactly dx, run by the forward kernel of the same ISA on weights
 *   packed once;
 * - Winograd F(4x4), transposed (f32-conv-bwd-data-winograd.h): the
 *   forward's own tiles run backwards, for unpadded layers whose dx is
 *   dy + 2 per side (bwd_data_use_transposed);
 * - a 1x1, stride-1, unpadded convolution (the linear layer) just stores
 *   dy x W^T;
 * - gather: the forward engine over padded dy, one pass per stride phase,
 *   when cheaper (bwd_data_use_gather);
 * - scatter, every other stride and padding in one code path:
 *     dx[window(p, kh, kw)][ic] += sum_oc dy[p][oc] * w[kh][kw][ic][oc]
 *   is a GEMM (pixels x oc) x (oc x kh*kw*ic) run by the indirect GEMM
 *   engine with the transposed weights. When ic is a multiple of the vector
 *   width, column blocks never straddle two taps and each tile adds
 *   straight into the dx pixels its taps hit (taps outside the image go to
 *   a dummy row); else a chunk of pixels is written to a dcol buffer in
 *   scratch that is then added into dx.
 * The packed weights are the route's: Winograd-transformed flipped
 * weights, the gather's sub-kernels, or W^T. Define CONV_ISA. */
#include "f32-conv-fwd/f32-conv-igemm.h"
#include "dacc/kernels.h"
#include "f32-conv-bwd-data/f32-conv-bwd-data-winograd.h"

dacc_conv_query_t CONV_SYM(dacc_f32_conv_fwd_query__);
dacc_conv_fwd_pack_t CONV_SYM(dacc_f32_conv_fwd_pack__);
dacc_conv_fwd_t CONV_SYM(dacc_f32_conv_fwd__);

/* The forward shape whose output is dx (stride-1 3x3 layers whose dx the
 * full convolution covers exactly), or 0. */
static int bwd_data_flipped(const dacc_conv_shape *s, dacc_conv_shape *f) {
    if (s->kh != 3 || s->kw != 3 || s->stride != 1 || s->pad > 2 ||
        s->ih != s->oh + 2 - 2 * s->pad || s->iw != s->ow + 2 - 2 * s->pad)
        return 0;
    const dacc_conv_shape g = {s->n, s->oh, s->ow, s->oc, s->ih, s->iw, s->ic, 3, 3, 1, 2 - s->pad, 0};
    *f = g;
    return 1;
}

/* dst[0..n) += src[0..n) */
static void add_row(float *dst, const float *src, int n) {
    int i = 0;
    for (; i + VL <= n; i += VL) v_store(dst + i, v_add(v_load(dst + i), v_load(src + i)));
    if (i < n) v_storen(dst + i, v_add(v_loadn(dst + i, n - i), v_loadn(src + i, n - i)), n - i);
}

/* dx += dy x wt straight into dx (ic a multiple of VL): for each tile of MR
 * output pixels, every tap and column block adds its products into the dx
 * pixels the tap hits. The tile's dy rows stay in L1 across the taps and the
 * pointer set-up is paid once per tile; taps that fall outside the image go
 * to a dummy row (checked only when some window can leave the image). */
static void bwd_data_accumulate(const dacc_conv_shape *s, const float *dy, const float *wt,
                                size_t Np, float *dx) {
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t P = (size_t)s->n * s->oh * s->ow;
    const int icv = IC / VL;
    const int inside = s->pad == 0 && (s->oh - 1) * st + KH <= s->ih &&
                       (s->ow - 1) * st + KW <= s->iw;
    /* equal column blocks, as wide as the tiles allow: a narrower last block
     * would run at another tile height and waste part of it (AVX2, ic 32:
     * 2+2 vectors rather than 3+1, or 4 where the weights fit igemm_nr_max) */
    int NR0 = igemm_nr_max((size_t)OC);
    while (icv % NR0) NR0--;
    const int MR = igemm_mr[NR0];
    float dummy[IGEMM_NR_MAX * VL] __attribute__((aligned(64)));
    memset(dummy, 0, sizeof dummy);
    const float *a[IGEMM_MR_MAX];
    float *base[IGEMM_MR_MAX], *c[IGEMM_MR_MAX];
    int ih0[IGEMM_MR_MAX], iw0[IGEMM_MR_MAX];
    int img = 0, oh = 0, ow = 0;
    for (size_t p0 = 0; p0 < P; p0 += MR) {
        int m = 0;
        for (; m < MR && p0 + m < P; m++) {
            a[m] = dy + (p0 + m) * OC;
            ih0[m] = oh * st - s->pad;
            iw0[m] = ow * st - s->pad;
            /* dx at the window's corner; may point outside dx when padded, it
             * is only dereferenced after the bounds check below */
            base[m] = dx + (size_t)img * s->ih * s->iw * IC;
            if (++ow == s->ow) {
                ow = 0;
                if (++oh == s->oh) oh = 0, img++;
            }
        }
        const int mv = m;
        for (; m < MR; m++) a[m] = a[mv - 1];
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                for (m = 0; m < MR; m++) {
                    const int ih = ih0[m < mv ? m : 0] + kh, iw = iw0[m < mv ? m : 0] + kw;
                    c[m] = m < mv && (inside || (ih >= 0 && ih < s->ih && iw >= 0 && iw < s->iw))
                               ? base[m] + ((size_t)ih * s->iw + iw) * IC
                               : dummy;
                }
                int any = 0;
                for (m = 0; m < MR; m++) any |= c[m] != dummy;
                if (!any) continue; /* the tap misses the image for the whole tile */
                const size_t tap = (size_t)kh * KW + kw;
                for (int v0 = 0; v0 < icv; v0 += NR0) {
                    igemm_args g = {1, 0, (size_t)OC, wt + tap * IC + (size_t)v0 * VL, Np,
                                    NULL, VL, 1};
                    float *cb[IGEMM_MR_MAX];
                    for (m = 0; m < MR; m++) cb[m] = c[m] == dummy ? dummy : c[m] + (size_t)v0 * VL;
                    igemm_fns[NR0](a, cb, &g);
                }
            }
    }
}

/* Gather form: each input pixel sums the dy pixels whose windows cover it.
 * The input pixels split into stride x stride phases (ih % s, iw % s); in a
 * phase the taps that reach dy are kh = r + s*j (r = (phase + pad) % s) and
 * the dy row is q0 + y - j, so each phase is a stride-1 forward convolution
 * of dy, zero-padded, with that phase's sub-kernel flipped and ic/oc
 * swapped: wf[a][b][oc][ic] = w[r_h + s*(Jh-1-a)][r_w + s*(Jw-1-b)][ic][oc].
 * Every phase runs on the forward engine (reductions of Jw*oc, plain
 * stores); the price is the zero border. For stride 1 there is one phase
 * and the kernel is just flipped. See bwd_data_use_gather. */
typedef struct gather_dim {
    int r, J, q0, Y; /* first tap, taps, first dy index, pixels of the phase */
} gather_dim;

static gather_dim gather_phase(int ph, int pad, int st, int k, int in) {
    gather_dim d;
    d.r = (ph + pad) % st;
    d.J = d.r < k ? (k - d.r + st - 1) / st : 0;
    d.q0 = (ph + pad - d.r) / st;
    d.Y = ph < in ? (in - ph + st - 1) / st : 0;
    return d;
}

/* The dy rows [loh, loh + SH) and columns [low, low + SW) that some phase
 * reads, and the images per padded group (about 256 KB of scratch). */
typedef struct gather_win {
    int loh, low, SH, SW, group;
    size_t img_floats;
} gather_win;

static gather_win gather_window(const dacc_conv_shape *s) {
    const int st = s->stride;
    int loh = 0, hih = 0, low = 0, hiw = 0;
    for (int ph = 0; ph < st; ph++) {
        gather_dim h = gather_phase(ph, s->pad, st, s->kh, s->ih);
        gather_dim v = gather_phase(ph, s->pad, st, s->kw, s->iw);
        if (h.J && h.Y) {
            if (h.q0 - (h.J - 1) < loh) loh = h.q0 - (h.J - 1);
            if (h.q0 + h.Y - 1 > hih) hih = h.q0 + h.Y - 1;
        }
        if (v.J && v.Y) {
            if (v.q0 - (v.J - 1) < low) low = v.q0 - (v.J - 1);
            if (v.q0 + v.Y - 1 > hiw) hiw = v.q0 + v.Y - 1;
        }
    }
    gather_win g = {loh, low, hih - loh + 1, hiw - low + 1, 0, 0};
    g.img_floats = (size_t)g.SH * g.SW * s->oc;
    g.group = (int)(65536 / g.img_floats);
    if (g.group < 1) g.group = 1;
    if (g.group > s->n) g.group = s->n;
    return g;
}

/* The sub-kernels of every phase, one after another in packed (their taps
 * partition w): wf[a][b][oc][ic] with ic padded to ICp; woff[ph][pw] = the
 * offset of phase (ph, pw). Returns the floats written (or that would be,
 * with packed NULL). Stride <= 8 takes this path (bwd_data_use_gather). */
static size_t gather_pack(const dacc_conv_shape *s, const float *w, float *packed,
                          size_t woff[8][8]) {
    const int IC = s->ic, OC = s->oc, KW = s->kw, st = s->stride;
    const size_t ICp = round_up((size_t)IC, VL);
    size_t off = 0;
    for (int ph = 0; ph < st; ph++)
        for (int pw = 0; pw < st; pw++) {
            gather_dim h = gather_phase(ph, s->pad, st, s->kh, s->ih);
            gather_dim v = gather_phase(pw, s->pad, st, KW, s->iw);
            woff[ph][pw] = off;
            for (int a = 0; packed && a < h.J; a++)
                for (int b = 0; b < v.J; b++) {
                    const int kh = h.r + st * (h.J - 1 - a), kw = v.r + st * (v.J - 1 - b);
                    const float *src = w + ((size_t)kh * KW + kw) * IC * OC;
                    float *dst = packed + off + ((size_t)a * v.J + b) * OC * ICp;
                    for (int o = 0; o < OC; o++)
                        memset(dst + (size_t)o * ICp + IC, 0, sizeof(float) * (ICp - IC));
                    for (int i0 = 0; i0 < IC; i0 += 16) /* blocked transpose */
                        for (int o0 = 0; o0 < OC; o0 += 16) {
                            const int i1 = i0 + 16 < IC ? i0 + 16 : IC;
                            const int o1 = o0 + 16 < OC ? o0 + 16 : OC;
                            for (int o = o0; o < o1; o++)
                                for (int i = i0; i < i1; i++)
                                    dst[(size_t)o * ICp + i] = src[(size_t)i * OC + o];
                        }
                }
            off += (size_t)h.J * v.J * OC * ICp;
        }
    return off;
}

/* Copies images [i0, i0 + cnt) of dy into dyp as SH x SW windows with zero
 * borders. */
static void gather_pad_dy(const dacc_conv_shape *s, const gather_win *g, const float *dy, int i0,
                          int cnt, float *dyp) {
    const int OC = s->oc, SH = g->SH, SW = g->SW, low = g->low;
    for (int i = 0; i < cnt; i++)
        for (int r = 0; r < SH; r++) {
            float *dst = dyp + ((size_t)i * SH + r) * SW * OC;
            const int oh = r + g->loh;
            if (oh < 0 || oh >= s->oh) {
                memset(dst, 0, sizeof(float) * SW * OC);
                continue;
            }
            /* columns c with 0 <= c + low < ow */
            int c0 = -low < 0 ? 0 : -low > SW ? SW : -low;
            int c1 = s->ow - low < SW ? s->ow - low : SW;
            if (c1 < c0) c1 = c0;
            memset(dst, 0, sizeof(float) * c0 * OC);
            memcpy(dst + (size_t)c0 * OC,
                   dy + (((size_t)(i0 + i) * s->oh + oh) * s->ow + (c0 + low)) * OC,
                   sizeof(float) * (c1 - c0) * OC);
            memset(dst + (size_t)c1 * OC, 0, sizeof(float) * (SW - c1) * OC);
        }
}

static void bwd_data_gather(const dacc_conv_shape *s, const float *dy, const float *wf,
                            float *dx, float *dyp) {
    const int IC = s->ic, OC = s->oc, st = s->stride;
    const size_t ICp = round_up((size_t)IC, VL);
    const gather_win g = gather_window(s);
    size_t woff[8][8];
    gather_pack(s, NULL, NULL, woff);
    for (int i0 = 0; i0 < s->n; i0 += g.group) {
        const int cnt = s->n - i0 < g.group ? s->n - i0 : g.group;
        gather_pad_dy(s, &g, dy, i0, cnt, dyp);
        float *dxg = dx + (size_t)i0 * s->ih * s->iw * IC;
        for (int ph = 0; ph < st; ph++)
            for (int pw = 0; pw < st; pw++) {
                gather_dim h = gather_phase(ph, s->pad, st, s->kh, s->ih);
                gather_dim v = gather_phase(pw, s->pad, st, s->kw, s->iw);
                if (!h.Y || !v.Y) continue;
                float *out = dxg + ((size_t)ph * s->iw + pw) * IC;
                if (!h.J || !v.J) { /* no tap reaches this phase: zero */
                    for (int i = 0; i < cnt; i++)
                        for (int y = 0; y < h.Y; y++)
                            for (int x = 0; x < v.Y; x++)
                                memset(out + (((size_t)i * s->ih + (size_t)y * st) * s->iw +
                                              (size_t)x * st) * IC,
                                       0, sizeof(float) * IC);
                    continue;
                }
                igemm_pixels px = {dyp + ((size_t)(h.q0 - (h.J - 1) - g.loh) * g.SW +
                                          (size_t)(v.q0 - (v.J - 1) - g.low)) * OC,
                                   g.img_floats, cnt, h.Y, v.Y, g.SW, 1, OC, out,
                                   (size_t)st * IC, (size_t)st * s->iw * IC,
                                   (size_t)s->ih * s->iw * IC};
                igemm_run(&px, (size_t)h.J, (size_t)v.J * OC, wf + woff[ph][pw], ICp, IC, NULL, 0);
            }
    }
}

/* MAC-steps of each form, weighted by what the engine achieves: gather runs
 * every phase's padded border at the forward engine's ~90% of peak; scatter
 * does only the real taps (padded layers skip the rest), but its reduction
 * is only oc long, which costs about 20 MAC-steps of set-up and accumulator
 * traffic per tile. conv32_2 (26x26 from 24x24, oc 32) and the stride-2
 * ConvPool layers gather; conv64_1/conv64_2 (12x12 from 10x10, 10x10 from
 * 8x8) scatter. */
static int bwd_data_use_gather(const dacc_conv_shape *s) {
    const int st = s->stride;
    if (st < 1 || st > 8) return 0;
    const double lanes = (double)s->ic / (double)round_up((size_t)s->ic, VL);
    double gather = 0;
    for (int ph = 0; ph < st; ph++)
        for (int pw = 0; pw < st; pw++) {
            gather_dim h = gather_phase(ph, s->pad, st, s->kh, s->ih);
            gather_dim v = gather_phase(pw, s->pad, st, s->kw, s->iw);
            gather += (double)h.Y * v.Y * h.J * v.J;
        }
    gather /= 0.92 * lanes;
    /* real taps of the scatter: rows x columns that land in the image */
    double th = 0, tw = 0;
    for (int oh = 0; oh < s->oh; oh++)
        for (int kh = 0; kh < s->kh; kh++) th += oh * st - s->pad + kh >= 0 && oh * st - s->pad + kh < s->ih;
    for (int ow = 0; ow < s->ow; ow++)
        for (int kw = 0; kw < s->kw; kw++) tw += ow * st - s->pad + kw >= 0 && ow * st - s->pad + kw < s->iw;
    const double scatter = th * tw * (s->oc + 20.0) / s->oc / (s->ic % VL == 0 ? 1.0 : 0.5);
    return gather < scatter;
}

/* The same, tap by tap, for windows that can leave the image (padding): each
 * tile holds only pixels whose tap hits the image, so padded taps cost
 * nothing. Pixels go in chunks of about 256 so that their dy rows stay in
 * cache across taps. */
static void bwd_data_accumulate_taps(const dacc_conv_shape *s, const float *dy, const float *wt,
                                size_t Np, float *dx) {
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t P = (size_t)s->n * s->oh * s->ow;
    const int icv = IC / VL, nr_max = igemm_nr_max((size_t)OC);
    float dummy[IGEMM_NR_MAX * VL] __attribute__((aligned(64)));
    memset(dummy, 0, sizeof dummy);
    for (size_t c0 = 0; c0 < P; c0 += 256) {
        const size_t c1 = c0 + 256 < P ? c0 + 256 : P;
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                const size_t tap = (size_t)kh * KW + kw;
                for (int v0 = 0; v0 < icv;) {
                    const int NR = igemm_block_nr(icv - v0, nr_max), MR = igemm_mr[NR];
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

/* F(4x4) in transposed form wherever it fits (unpadded, dx = dy + 2 per
 * side): its tiles are dy's, never more than the flipped form's (dx's),
 * and it needs no padded copy of dy. AVX2, batch 64, 1 thread, medians
 * against the flipped form, per interleaved round: conv32_2 (36 tiles per
 * image against 49) 0.64-0.81x, conv64_2 (4 against 9) 0.44-0.50x,
 * conv64_1 (9 against 9; best of 9 samples) 0.92-0.98x. AVX-512, the
 * same way (3 rounds): conv32_2 0.62-0.64x, conv64_2 (against F(2x2)
 * flipped, which the rule picked there) 0.40-0.42x, conv64_1 0.83-0.84x. */
static int bwd_data_use_transposed(const dacc_conv_shape *s, dacc_conv_algo algo) {
    return algo == DACC_CONV_WINO4 && wbt_fits(s);
}

typedef enum { BD_WINOGRAD, BD_WINOGRAD_T, BD_LINEAR, BD_GATHER, BD_SCATTER } bd_route;

static bd_route bwd_data_route(const dacc_conv_shape *s, dacc_conv_algo algo) {
    if (algo != DACC_CONV_DIRECT) return bwd_data_use_transposed(s, algo) ? BD_WINOGRAD_T : BD_WINOGRAD;
    if (s->kh == 1 && s->kw == 1 && s->stride == 1 && s->pad == 0 && s->oh == s->ih &&
        s->ow == s->iw)
        return BD_LINEAR;
    return bwd_data_use_gather(s) ? BD_GATHER : BD_SCATTER;
}

/* Scatter: pixels per dcol chunk, dcol about 32 KB (L1), a multiple of
 * every tile height. */
static size_t scatter_chunk(const dacc_conv_shape *s, size_t Np) {
    const size_t P = (size_t)s->n * s->oh * s->ow;
    size_t chunk = 8192 / Np;
    chunk = chunk < 24 ? 24 : round_up(chunk, 24);
    return chunk > P ? P : chunk;
}

int CONV_SYM(dacc_f32_conv_bwd_data_query__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                             dacc_conv_need *need) {
    need->lanes = VL;
    dacc_conv_shape f;
    if (bwd_data_route(s, algo) == BD_WINOGRAD_T) {
        need->packed_size = wbt_packed_floats(s);
        need->scratch_size = wbt_scratch_floats(s);
        return 0;
    }
    if (algo != DACC_CONV_DIRECT) {
        dacc_conv_need fn;
        if (!bwd_data_flipped(s, &f) || CONV_SYM(dacc_f32_conv_fwd_query__)(&f, algo, &fn))
            return -1;
        need->packed_size = fn.packed_size + (size_t)9 * s->ic * s->oc; /* + the flip */
        need->scratch_size = fn.scratch_size;
        return 0;
    }
    need->packed_size = need->scratch_size = 0;
    if (s->oc <= 0 || s->kh <= 0 || s->kw <= 0 || s->ic <= 0) return 0;
    const size_t N = (size_t)s->kh * s->kw * s->ic, Np = round_up(N, VL);
    switch (bwd_data_route(s, algo)) {
    case BD_GATHER: {
        size_t woff[8][8];
        need->packed_size = gather_pack(s, NULL, NULL, woff);
        const gather_win g = gather_window(s);
        need->scratch_size = g.group > 0 ? (size_t)g.group * g.img_floats : 0;
        break;
    }
    case BD_SCATTER:
        need->packed_size = (size_t)s->oc * Np;
        if (s->ic % VL) need->scratch_size = scatter_chunk(s, Np) * Np;
        break;
    default:
        need->packed_size = (size_t)s->oc * Np;
        break;
    }
    return 0;
}

void CONV_SYM(dacc_f32_conv_bwd_data_pack__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                             const float *w, float *packed) {
    const int IC = s->ic, OC = s->oc;
    if (OC <= 0 || s->kh <= 0 || s->kw <= 0 || IC <= 0) return;
    const bd_route route = bwd_data_route(s, algo);
    if (route == BD_WINOGRAD_T) {
        wbt_pack(s, w, packed);
        return;
    }
    if (route == BD_WINOGRAD) {
        dacc_conv_shape f;
        dacc_conv_need fn;
        bwd_data_flipped(s, &f);
        CONV_SYM(dacc_f32_conv_fwd_query__)(&f, algo, &fn);
        float *wf = packed + fn.packed_size; /* wf[kh][kw][oc][ic] = w[2-kh][2-kw][ic][oc] */
        for (int t = 0; t < 9; t++) {
            const float *src = w + (size_t)(8 - t) * IC * OC;
            float *dst = wf + (size_t)t * OC * IC;
            for (int i = 0; i < IC; i++)
                for (int o = 0; o < OC; o++) dst[(size_t)o * IC + i] = src[(size_t)i * OC + o];
        }
        CONV_SYM(dacc_f32_conv_fwd_pack__)(&f, algo, wf, NULL, packed);
        return;
    }
    if (route == BD_GATHER) {
        size_t woff[8][8];
        gather_pack(s, w, packed, woff);
        return;
    }
    /* wt[oc][tap][ic] = w[tap][ic][oc], columns past N zero; in 16x16 blocks
     * (a row-at-a-time transpose writes with a 4 KB stride for conv128 and
     * thrashes L1) */
    const size_t N = (size_t)s->kh * s->kw * IC, Np = round_up(N, VL);
    float *wt = packed;
    for (int o = 0; o < OC; o++) memset(wt + (size_t)o * Np + N, 0, sizeof(float) * (Np - N));
    for (size_t r0 = 0; r0 < N; r0 += 16)
        for (int o0 = 0; o0 < OC; o0 += 16) {
            const size_t r1 = r0 + 16 < N ? r0 + 16 : N;
            const int o1 = o0 + 16 < OC ? o0 + 16 : OC;
            for (int o = o0; o < o1; o++) /* o outer: each wt line written whole */
                for (size_t r = r0; r < r1; r++) wt[(size_t)o * Np + r] = w[r * OC + o];
        }
}

/* Scatter through a dcol chunk (ic not a multiple of the vector width). */
static void bwd_data_scatter_dcol(const dacc_conv_shape *s, const float *dy, const float *wt,
                                  size_t Np, float *dx, float *dcol) {
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t P = (size_t)s->n * s->oh * s->ow, N = (size_t)KH * KW * IC;
    const size_t chunk = scatter_chunk(s, Np);
    int img = 0, oh = 0, ow = 0;
    for (size_t p0 = 0; p0 < P; p0 += chunk) {
        const size_t cnt = P - p0 < chunk ? P - p0 : chunk;
        igemm_pixels px = {dy + p0 * OC, 0, 1, 1, (int)cnt, (int)cnt, 1, OC, dcol, Np, 0, 0};
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
}

void CONV_SYM(dacc_f32_conv_bwd_data__)(const dacc_conv_shape *s, dacc_conv_algo algo,
                                        const float *dy, const float *packed, float *dx,
                                        float *scratch) {
    const int IC = s->ic, OC = s->oc, KH = s->kh, KW = s->kw, st = s->stride;
    const size_t nx = (size_t)s->n * s->ih * s->iw * IC;
    if (nx == 0) return;
    const size_t P = (size_t)s->n * s->oh * s->ow;
    if (P == 0 || OC <= 0 || KH <= 0 || KW <= 0) {
        memset(dx, 0, sizeof(float) * nx);
        return;
    }
    const size_t N = (size_t)KH * KW * IC, Np = round_up(N, VL);
    switch (bwd_data_route(s, algo)) {
    case BD_WINOGRAD: {
        dacc_conv_shape f;
        bwd_data_flipped(s, &f);
        CONV_SYM(dacc_f32_conv_fwd__)(&f, algo, dy, packed, dx, scratch);
        return;
    }
    case BD_WINOGRAD_T: wbt_run(s, dy, packed, dx, scratch); return;
    case BD_GATHER: bwd_data_gather(s, dy, packed, dx, scratch); return;
    case BD_LINEAR: {
        igemm_pixels px = {dy, 0, 1, 1, (int)P, (int)P, 1, OC, dx, (size_t)IC, 0, 0};
        igemm_run(&px, 1, (size_t)OC, packed, Np, IC, NULL, 0);
        return;
    }
    case BD_SCATTER: break;
    }
    memset(dx, 0, sizeof(float) * nx);
    if (IC % VL != 0)
        bwd_data_scatter_dcol(s, dy, packed, Np, dx, scratch);
    else if (s->pad == 0 && (s->oh - 1) * st + KH <= s->ih && (s->ow - 1) * st + KW <= s->iw)
        bwd_data_accumulate(s, dy, packed, Np, dx);
    else
        bwd_data_accumulate_taps(s, dy, packed, Np, dx);
}
