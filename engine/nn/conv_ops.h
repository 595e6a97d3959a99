/* The convolution ops as the engine calls them: the kernel table's, or a
 * strided 5x5 convolution in polyphase form.
 *
 * Polyphase form: a 5x5 stride-2 convolution equals a 3x3 stride-1 one of
 * its padded input's four phases (even/odd rows x even/odd columns), laid
 * side by side as 4 x ic channels, with the 5x5 kernel split the same way
 * (the 3x3 taps past the 5x5 edge are zero). That puts ConvPool's pooling
 * convolutions on the kernels' 3x3 Winograd ops: F(4x4) takes 36 products
 * per 16 outputs for each of 4 x ic channels, 9 per output and input
 * channel against the direct sum's 25. The engine rearranges the data
 * around the kernels (portable C, conv_ops.c); the kernels never see the
 * DACC_CONV_POLY flag, which the engine ors into its algorithm choice
 * (conv_algo.c) on top of the kernels' algorithm for the 3x3 form. */
#ifndef DACC_NN_CONV_OPS_H
#define DACC_NN_CONV_OPS_H
#include "dacc/kernels.h"

#define DACC_CONV_POLY 0x100
static inline int dacc_conv_is_poly(dacc_conv_algo a) { return (a & DACC_CONV_POLY) != 0; }
/* The kernels' algorithm (without the flag). */
static inline dacc_conv_algo dacc_conv_inner(dacc_conv_algo a) {
    return (dacc_conv_algo)(a & ~DACC_CONV_POLY);
}
static inline dacc_conv_algo dacc_conv_poly(dacc_conv_algo inner) {
    return (dacc_conv_algo)(inner | DACC_CONV_POLY);
}

/* Can s run in polyphase form (5x5, stride 2, padding below 5)? */
int dacc_conv_poly_fits(const dacc_conv_shape *s);
/* The 3x3 stride-1 form of s: n x (oh+2) x (ow+2) x 4ic in, the same
 * output. */
dacc_conv_shape dacc_conv_poly_shape(const dacc_conv_shape *s);

/* The kernel table's convolution ops (kernels.h), for any algorithm the
 * engine chooses, DACC_CONV_POLY included. The pack ops take the op's
 * scratch too (its query's scratch_size floats, unused but by the
 * polyphase form, which splits the weights there first). */
int dacc_conv_fwd_query(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                        dacc_conv_need *need);
void dacc_conv_fwd_pack(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                        const float *w, const float *bias, float *packed, float *scratch);
void dacc_conv_fwd(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                   const float *x, const float *packed, float *y, float *scratch);
int dacc_conv_bwd_data_query(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                             dacc_conv_need *need);
void dacc_conv_bwd_data_pack(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                             const float *w, float *packed, float *scratch);
void dacc_conv_bwd_data(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                        const float *dy, const float *packed, float *dx, float *scratch);
int dacc_conv_bwd_filter_query(const dacc_kernels *k, const dacc_conv_shape *s,
                               dacc_conv_algo a, dacc_conv_need *need);
void dacc_conv_bwd_filter(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo a,
                          const float *x, const float *dy, float *dw, float *db, float *scratch);
/* Backward-data and backward-weights in one pass (kernels.h:
 * conv_bwd_both): the query refuses (-1) where the kernels do not fuse the
 * pair, the polyphase form included; then call the two ops (the compute
 * op would too, given scratch for the larger need). packed is
 * conv_bwd_data's for data_algo. */
int dacc_conv_bwd_both_query(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo data_algo,
                             dacc_conv_algo wgt_algo, dacc_conv_need *need);
void dacc_conv_bwd_both(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo data_algo,
                        dacc_conv_algo wgt_algo, const float *x, const float *dy,
                        const float *packed, float *dx, float *dw, float *db, float *scratch);

#endif
