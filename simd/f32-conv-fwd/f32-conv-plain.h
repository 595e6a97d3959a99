/* The plain weight layout, for the kernels that read the weights as stored
 * ([kh][kw][ic][oc], then for the forward the oc biases): scalar, NEON and
 * Highway. Their pack is a copy and they take no scratch and no Winograd,
 * so the engine drives every ISA the same way. Each macro defines one
 * family's query (and pack) for an ISA suffix. */
#ifndef DACC_F32_CONV_PLAIN_H
#define DACC_F32_CONV_PLAIN_H
#include "dacc/kernels.h"
#include <string.h>

static inline size_t conv_plain_weights(const dacc_conv_shape *s) {
    return (size_t)s->kh * s->kw * s->ic * s->oc;
}

static inline int conv_plain_query(const dacc_conv_shape *s, dacc_conv_algo algo,
                                   dacc_conv_need *need, int lanes, size_t packed) {
    need->lanes = lanes;
    if (algo != DACC_CONV_DIRECT) return -1;
    need->packed_size = s->oc > 0 ? packed : 0;
    need->scratch_size = 0;
    return 0;
}

#define CONV_PLAIN_FWD(ISA, LANES)                                                        \
    int dacc_f32_conv_fwd_query__##ISA(const dacc_conv_shape *s, dacc_conv_algo algo,     \
                                       dacc_conv_need *need) {                            \
        return conv_plain_query(s, algo, need, LANES, conv_plain_weights(s) + s->oc);    \
    }                                                                                     \
    void dacc_f32_conv_fwd_pack__##ISA(const dacc_conv_shape *s, dacc_conv_algo algo,     \
                                       const float *w, const float *bias, float *packed) { \
        (void)algo;                                                                       \
        if (s->oc <= 0) return;                                                           \
        const size_t nw = conv_plain_weights(s);                                          \
        memcpy(packed, w, sizeof(float) * nw);                                            \
        if (bias) memcpy(packed + nw, bias, sizeof(float) * s->oc);                       \
        else memset(packed + nw, 0, sizeof(float) * s->oc);                               \
    }

#define CONV_PLAIN_BWD_DATA(ISA, LANES)                                                   \
    int dacc_f32_conv_bwd_data_query__##ISA(const dacc_conv_shape *s, dacc_conv_algo algo, \
                                            dacc_conv_need *need) {                       \
        return conv_plain_query(s, algo, need, LANES, conv_plain_weights(s));             \
    }                                                                                     \
    void dacc_f32_conv_bwd_data_pack__##ISA(const dacc_conv_shape *s, dacc_conv_algo algo, \
                                            const float *w, float *packed) {              \
        (void)algo;                                                                       \
        if (s->oc > 0) memcpy(packed, w, sizeof(float) * conv_plain_weights(s));          \
    }

#define CONV_PLAIN_BWD_FILTER(ISA, LANES)                                                 \
    int dacc_f32_conv_bwd_filter_query__##ISA(const dacc_conv_shape *s,                   \
                                              dacc_conv_algo algo, dacc_conv_need *need) { \
        return conv_plain_query(s, algo, need, LANES, 0);                                 \
    }

#endif
