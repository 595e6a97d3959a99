/* Which algorithm each convolution uses (direct, Winograd F(2x2,3x3),
 * F(4x4,3x3), and in the forward F(5x5,3x3) or F(6x6,3x3)): the engine's choice, passed to the kernels' query, pack and
 * compute ops. Also one-shot helpers that pack and run a single call, for
 * tests and benchmarks (the engine packs once per weight change instead). */
#ifndef DACC_NN_CONV_ALGO_H
#define DACC_NN_CONV_ALGO_H
#include "dacc/kernels.h"

/* The rule, a pure function of the shape, the kernel's vector width and
 * whether the caller asks for precise rounding (no F(4x4); the engine never
 * does, tests compare). */
dacc_conv_algo dacc_conv_rule(const dacc_conv_shape *s, int lanes, int precise);
/* The rule's choice for the forward op of table k if k has it, else direct
 * (training's forward). */
dacc_conv_algo dacc_conv_fwd_algo(const dacc_kernels *k, const dacc_conv_shape *s, int precise);
/* The forward of evaluation: as dacc_conv_fwd_algo without precise, and
 * F(5x5) or F(6x6) where they fit (conv_algo.c). */
dacc_conv_algo dacc_conv_eval_fwd_algo(const dacc_kernels *k, const dacc_conv_shape *s);
/* Backward-data: the rule on the equivalent forward shape (stride-1 3x3
 * layers: dy convolved with the flipped kernel) if k has it, else direct. */
dacc_conv_algo dacc_conv_bwd_data_algo(const dacc_kernels *k, const dacc_conv_shape *s,
                                       int precise);
/* Backward-weights: direct, F(2x2) or F(4x4) by dacc_conv_wgrad_rule (a
 * pure function of the shape, vector width and precise) if k has it (F(2x2)
 * where k lacks F(4x4)), else direct. */
dacc_conv_algo dacc_conv_wgrad_rule(const dacc_conv_shape *s, int lanes, int precise);
dacc_conv_algo dacc_conv_bwd_filter_algo(const dacc_kernels *k, const dacc_conv_shape *s,
                                         int precise);

/* Query, allocate, pack, run and free for one call. 0, or -1 when memory
 * is short (nothing written). */
int dacc_conv_fwd_once(const dacc_kernels *k, const dacc_conv_shape *s, dacc_conv_algo algo,
                       const float *x, const float *w, const float *bias, float *y);
int dacc_conv_bwd_data_once(const dacc_kernels *k, const dacc_conv_shape *s,
                            dacc_conv_algo algo, const float *dy, const float *w, float *dx);
int dacc_conv_bwd_filter_once(const dacc_kernels *k, const dacc_conv_shape *s,
                              dacc_conv_algo algo, const float *x, const float *dy, float *dw,
                              float *db);

/* Floats rounded up to whole 64-byte lines (packed regions stay aligned). */
static inline size_t dacc_conv_lines(size_t floats) { return (floats + 15) / 16 * 16; }
/* 64-byte aligned floats (at least one line); free with free(). */
float *dacc_conv_alloc(size_t floats);

#endif
