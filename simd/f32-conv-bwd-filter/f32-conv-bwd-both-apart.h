/* The fused backward op (kernels.h: conv_bwd_both) of an ISA that does not
 * fuse the two backward convolutions: its query refuses every pair, so
 * the engine calls the two ops itself; the compute op, should it be
 * called, runs them in turn (scratch: the larger of their needs). */
#ifndef DACC_F32_CONV_BWD_BOTH_APART_H
#define DACC_F32_CONV_BWD_BOTH_APART_H
#include "dacc/kernels.h"

#define CONV_BWD_BOTH_APART(isa, vl)                                                          \
    dacc_conv_bwd_data_t dacc_f32_conv_bwd_data__##isa;                                       \
    dacc_conv_bwd_filter_t dacc_f32_conv_bwd_filter__##isa;                                   \
    int dacc_f32_conv_bwd_both_query__##isa(const dacc_conv_shape *s, dacc_conv_algo data_algo, \
                                            dacc_conv_algo wgt_algo, dacc_conv_need *need) {  \
        (void)s, (void)data_algo, (void)wgt_algo;                                             \
        need->lanes = (vl);                                                                   \
        need->packed_size = need->scratch_size = 0;                                           \
        return -1;                                                                            \
    }                                                                                         \
    void dacc_f32_conv_bwd_both__##isa(const dacc_conv_shape *s, dacc_conv_algo data_algo,    \
                                       dacc_conv_algo wgt_algo, const float *x,               \
                                       const float *dy, const float *packed, float *dx,       \
                                       float *dw, float *db, float *scratch) {                \
        dacc_f32_conv_bwd_data__##isa(s, data_algo, dy, packed, dx, scratch);                 \
        dacc_f32_conv_bwd_filter__##isa(s, wgt_algo, x, dy, dw, db, scratch);                 \
    }

#endif
